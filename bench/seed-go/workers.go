package main

import (
	"sync"
	"time"
)

func worker(store *JobStore, queue <-chan *Job, work time.Duration, wg *sync.WaitGroup) {
	defer wg.Done()
	for j := range queue {
		store.setStatus(j.ID, Processing)
		time.Sleep(work)
		store.setStatus(j.ID, Completed)
	}
}
