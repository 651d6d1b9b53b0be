package ort

import (
	"context"
	"sync"
)

// FanOut runs job(ctx, j) for j in [0, n), each in its own goroutine, so that concurrent jobs
// reach a Batcher together and share its model calls. Job j belongs to class j%classes (for
// example the model it runs), and at most inflight jobs of one class run at once (inflight < 1
// means no bound). The first error cancels the context the other jobs get and is returned once
// all of them have finished; a cancelled ctx stops jobs not yet started. classes < 1 counts as 1.
func FanOut(ctx context.Context, n, classes, inflight int, job func(ctx context.Context, j int) error) error {
	if n <= 0 {
		return ctx.Err()
	}
	classes = max(classes, 1)
	if inflight < 1 {
		inflight = n
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sems := make([]chan struct{}, classes)
	for c := range sems {
		sems[c] = make(chan struct{}, min(inflight, (n+classes-1)/classes))
	}
	var (
		wg    sync.WaitGroup
		once  sync.Once
		first error
	)
	fail := func(err error) {
		once.Do(func() { first = err; cancel() })
	}
	for j := range n {
		sem := sems[j%classes]
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if err := ctx.Err(); err != nil { // the caller's, or a failed job's cancel
			fail(err)
			break
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := job(ctx, j); err != nil {
				fail(err)
			}
		}()
	}
	wg.Wait()
	return first
}
