// The seed's Phase 1 server (shared/seed/phase1-readme.md), written from its
// description for one purpose: the reference row of jobq's HTTP benchmark.
// In memory: a map under a sync.RWMutex, a buffered channel, a worker pool of
// goroutines that mark jobs processing, sleep, then completed. The channel is
// raised (-queue, default 10,000,000) so that POST /enqueue never blocks on a
// full queue during a benchmark. Graceful shutdown on SIGINT/SIGTERM: stop
// HTTP, close the queue, wait for the workers.
//
//	go build -o /tmp/seed-go . && /tmp/seed-go -addr 127.0.0.1:8090
package main

import (
	"context"
	"flag"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8090", "listen address")
	workers := flag.Int("workers", 5, "worker goroutines")
	queue := flag.Int("queue", 10_000_000, "channel capacity")
	work := flag.Duration("work", time.Second, "simulated work per job")
	flag.Parse()

	store := &JobStore{jobs: make(map[string]*Job)}
	jobQueue := make(chan *Job, *queue)
	var wg sync.WaitGroup
	for i := 0; i < *workers; i++ {
		wg.Add(1)
		go worker(store, jobQueue, *work, &wg)
	}

	mux := http.NewServeMux()
	api := &API{store: store, queue: jobQueue}
	mux.HandleFunc("/enqueue", api.enqueue)
	mux.HandleFunc("/status/", api.status)
	srv := &http.Server{Handler: mux}

	// Bind before saying so: the benchmark starts its load at the "listening" line.
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	go func() {
		if err := srv.Serve(ln); err != nil && err != http.ErrServerClosed {
			log.Fatal(err)
		}
	}()
	log.Printf("seed server listening on %s", *addr)

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	<-sig
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(ctx)
	api.closeQueue()
	wg.Wait()
}
