package catalog

import (
	"log/slog"
	"sync"

	"vigil/index"
)

// applier applies committed changes to one collection's index in commit order, on its own
// goroutine, so a store commit never waits for an index insert (HNSW inserts are far slower
// than badger commits). Writers enqueue while holding the collection's write lock, which makes
// queue order the change log's order. Safe for concurrent use.
type applier struct {
	idx  *index.Managed
	log  *slog.Logger
	mu   sync.Mutex
	cond *sync.Cond
	q    []change
	busy bool
	stop bool
	done chan struct{} // closed when the goroutine exits
}

// change is one committed write: an add (vecs set) or a delete, with the seq it ends at.
type change struct {
	seq  uint64
	del  bool
	ids  []int64
	vecs []float32
	done chan struct{} // closed once applied; nil when nobody waits
}

func newApplier(idx *index.Managed, log *slog.Logger) *applier {
	a := &applier{idx: idx, log: log, done: make(chan struct{})}
	a.cond = sync.NewCond(&a.mu)
	go a.run()
	return a
}

// enqueue queues ch; wait reports whether the caller wants to wait for it.
func (a *applier) enqueue(ch change, wait bool) <-chan struct{} {
	if wait {
		ch.done = make(chan struct{})
	}
	a.mu.Lock()
	a.q = append(a.q, ch)
	a.cond.Broadcast()
	a.mu.Unlock()
	return ch.done
}

func (a *applier) run() {
	defer close(a.done)
	a.mu.Lock()
	defer a.mu.Unlock()
	for {
		for len(a.q) == 0 && !a.stop {
			a.cond.Wait()
		}
		if len(a.q) == 0 {
			return
		}
		ch := a.q[0]
		a.q[0] = change{}
		a.q = a.q[1:]
		a.busy = true
		a.mu.Unlock()
		var err error
		if ch.del {
			err = a.idx.Delete(ch.seq, ch.ids...)
		} else {
			err = a.idx.Add(ch.seq, ch.ids, ch.vecs)
		}
		if err != nil {
			// The store has the change and a restart replays it; keep going.
			a.log.Error("index update failed; a restart replays it from the store", "op", "apply", "n", len(ch.ids), "err", err)
		}
		if ch.done != nil {
			close(ch.done)
		}
		a.mu.Lock()
		a.busy = false
		a.cond.Broadcast()
	}
}

// wait blocks until everything queued so far has been applied.
func (a *applier) wait() {
	a.mu.Lock()
	for len(a.q) > 0 || a.busy {
		a.cond.Wait()
	}
	a.mu.Unlock()
}

// pending is the number of queued changes not yet applied.
func (a *applier) pending() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := len(a.q)
	if a.busy {
		n++
	}
	return n
}

// close applies what is queued, then stops the goroutine.
func (a *applier) close() {
	a.mu.Lock()
	a.stop = true
	a.cond.Broadcast()
	a.mu.Unlock()
	<-a.done
}
