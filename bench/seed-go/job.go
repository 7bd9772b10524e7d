package main

import (
	"encoding/json"
	"sync"
	"time"
)

type Status string

const (
	Pending    Status = "pending"
	Processing Status = "processing"
	Completed  Status = "completed"
)

type Job struct {
	ID        string          `json:"id"`
	Payload   json.RawMessage `json:"payload,omitempty"`
	Status    Status          `json:"status"`
	CreatedAt time.Time       `json:"created_at"`
}

type JobStore struct {
	mu   sync.RWMutex
	jobs map[string]*Job
}

func (s *JobStore) put(j *Job) {
	s.mu.Lock()
	s.jobs[j.ID] = j
	s.mu.Unlock()
}

func (s *JobStore) setStatus(id string, st Status) {
	s.mu.Lock()
	if j, ok := s.jobs[id]; ok {
		j.Status = st
	}
	s.mu.Unlock()
}

// get returns a copy, so the caller can encode it without holding the lock.
func (s *JobStore) get(id string) (Job, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	j, ok := s.jobs[id]
	if !ok {
		return Job{}, false
	}
	return *j, true
}
