package ort

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestFanOutRunsAll: every job runs once, and no class ever has more than inflight at once.
func TestFanOutRunsAll(t *testing.T) {
	const n, classes, inflight = 40, 3, 2
	var ran [n]atomic.Int32
	var mu sync.Mutex
	running, peak := make([]int, classes), make([]int, classes)
	err := FanOut(context.Background(), n, classes, inflight, func(_ context.Context, j int) error {
		c := j % classes
		mu.Lock()
		running[c]++
		peak[c] = max(peak[c], running[c])
		mu.Unlock()
		time.Sleep(time.Millisecond) // let jobs overlap
		mu.Lock()
		running[c]--
		mu.Unlock()
		ran[j].Add(1)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for j := range ran {
		if got := ran[j].Load(); got != 1 {
			t.Errorf("job %d ran %d times", j, got)
		}
	}
	for c, p := range peak {
		if p > inflight || p < 1 {
			t.Errorf("class %d: %d jobs at once, bound %d", c, p, inflight)
		}
	}
}

// TestFanOutFirstError: a failing job's error comes back, the others see a cancelled context,
// and jobs not yet started never start.
func TestFanOutFirstError(t *testing.T) {
	boom := errors.New("boom")
	var started atomic.Int32
	err := FanOut(context.Background(), 100, 1, 1, func(ctx context.Context, j int) error {
		started.Add(1)
		if j == 3 {
			return boom
		}
		return ctx.Err()
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err %v, want boom", err)
	}
	if s := started.Load(); s < 4 || s > 5 { // job 4 may have taken the slot as job 3 failed
		t.Errorf("%d jobs started after job 3 failed with one in flight", s)
	}
}

// TestFanOutCancelled: a cancelled context runs nothing and says so.
func TestFanOutCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var started atomic.Int32
	err := FanOut(ctx, 10, 2, 0, func(context.Context, int) error { started.Add(1); return nil })
	if !errors.Is(err, context.Canceled) || started.Load() != 0 {
		t.Errorf("err %v, %d started; want context.Canceled and none", err, started.Load())
	}
	if err := FanOut(context.Background(), 0, 1, 1, nil); err != nil {
		t.Errorf("no jobs: %v", err)
	}
}
