package ort

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/VictoriaMetrics/metrics"
)

// ErrOverloaded is returned when a Batcher's queue is full; the API answers 429.
var ErrOverloaded = errors.New("model queue full")

// BatcherConfig sizes a Batcher.
type BatcherConfig struct {
	Name      string // metrics label, e.g. the model's manifest name
	Sessions  int    // worker goroutines, each with its own session (default 1)
	MaxBatch  int    // largest batch per model call (default 32)
	QueueSize int    // jobs waiting beyond those being run (default 256)
}

// Batcher runs a model whose input and outputs all have a leading batch dimension, batching
// concurrent requests: each worker owns one session, takes one job from a bounded queue, drains
// whatever else is already queued (up to MaxBatch) and makes one model call for all of them. A
// lone request never waits for a timer, and batches grow with load. Safe for concurrent use;
// caller must Close.
type Batcher struct {
	cfg      BatcherConfig
	item     []int64 // shape of one input item, without the batch dimension
	itemLen  int
	in       chan *job
	sessions []*Session
	wg       sync.WaitGroup
	closeMu  sync.RWMutex
	closed   bool
	batches  *metrics.Histogram
	calls    atomic.Int64 // model calls made
	items    atomic.Int64 // items run in them
}

type job struct {
	input []float32   // itemLen floats, owned by the caller until done
	out   [][]float32 // per model output, this item's slice (copied out of the batch)
	err   error
	done  chan struct{}
}

var jobPool = sync.Pool{New: func() any { return &job{done: make(chan struct{}, 1)} }}

// NewBatcher opens cfg.Sessions sessions of the model at path (via open) and starts the workers.
// item is the shape of one input item without the batch dimension, e.g. {3, 112, 112}.
func NewBatcher(cfg BatcherConfig, item []int64, open func() (*Session, error)) (*Batcher, error) {
	cfg.Sessions = max(cfg.Sessions, 1)
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = 32
	}
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = 256
	}
	n := 1
	for _, d := range item {
		n *= int(d)
	}
	b := &Batcher{cfg: cfg, item: item, itemLen: n, in: make(chan *job, cfg.QueueSize)}
	for i := 0; i < cfg.Sessions; i++ {
		s, err := open()
		if err != nil {
			b.Close()
			return nil, err
		}
		b.sessions = append(b.sessions, s)
	}
	b.batches = metrics.GetOrCreateHistogram(fmt.Sprintf(`vigil_model_batch_size{model=%q}`, cfg.Name))
	metrics.GetOrCreateGauge(fmt.Sprintf(`vigil_model_queue_length{model=%q}`, cfg.Name), func() float64 { return float64(len(b.in)) })
	metrics.GetOrCreateGauge(fmt.Sprintf(`vigil_model_queue_capacity{model=%q}`, cfg.Name), func() float64 { return float64(cfg.QueueSize) })
	for _, s := range b.sessions {
		b.wg.Add(1)
		go b.work(s)
	}
	return b, nil
}

// Device reports where the sessions run.
func (b *Batcher) Device() string { return b.sessions[0].Device() }

// Run submits one item of ItemLen floats and returns its outputs, one slice per model output.
// The worker reads the item: do not reuse it until Run returns, nor ever after Run returned
// ctx.Err(), since the worker may still read it. It returns ErrOverloaded at once when the
// queue is full. When ctx ends first, Run returns ctx.Err(); the worker finishes the job alone.
func (b *Batcher) Run(ctx context.Context, input []float32) ([][]float32, error) {
	if len(input) != b.itemLen {
		return nil, fmt.Errorf("model input of %d floats, want %d", len(input), b.itemLen)
	}
	b.closeMu.RLock()
	if b.closed {
		b.closeMu.RUnlock()
		return nil, errors.New("model batcher closed")
	}
	j := jobPool.Get().(*job)
	j.input, j.out, j.err = input, nil, nil
	select {
	case b.in <- j:
		b.closeMu.RUnlock()
	default:
		b.closeMu.RUnlock()
		jobPool.Put(j)
		return nil, ErrOverloaded
	}
	select {
	case <-j.done:
		out, err := j.out, j.err
		j.input, j.out = nil, nil
		jobPool.Put(j)
		return out, err
	case <-ctx.Done():
		// The worker still owns j and will signal done into its buffer; j is not reused.
		return nil, ctx.Err()
	}
}

// MeanBatch is the mean number of items per model call so far.
func (b *Batcher) MeanBatch() float64 {
	c := b.calls.Load()
	if c == 0 {
		return 0
	}
	return float64(b.items.Load()) / float64(c)
}

// Stats returns the model calls made and the items they carried so far.
func (b *Batcher) Stats() (calls, items int64) { return b.calls.Load(), b.items.Load() }

// ItemLen is the number of floats of one input item.
func (b *Batcher) ItemLen() int { return b.itemLen }

func (b *Batcher) work(s *Session) {
	defer b.wg.Done()
	batch := make([]*job, 0, b.cfg.MaxBatch)
	buf := make([]float32, 0, b.cfg.MaxBatch*b.itemLen)
	for j := range b.in {
		batch = append(batch[:0], j)
	fill:
		for len(batch) < b.cfg.MaxBatch {
			select {
			case next, ok := <-b.in:
				if !ok {
					break fill
				}
				batch = append(batch, next)
			default:
				break fill
			}
		}
		buf = buf[:0]
		for _, j := range batch {
			buf = append(buf, j.input...)
		}
		shape := append([]int64{int64(len(batch))}, b.item...)
		outs, err := s.Run([]Tensor{{Shape: shape, Data: buf}})
		b.batches.Update(float64(len(batch)))
		b.calls.Add(1)
		b.items.Add(int64(len(batch)))
		for i, j := range batch {
			if err != nil {
				j.err = fmt.Errorf("model batch of %d: %w", len(batch), err)
			} else {
				j.out = make([][]float32, len(outs))
				for o, t := range outs {
					per := len(t.Data) / len(batch)
					j.out[o] = t.Data[i*per : (i+1)*per : (i+1)*per]
				}
			}
			j.done <- struct{}{}
		}
	}
}

// Close stops accepting jobs, lets the workers finish what is queued, and frees the sessions.
func (b *Batcher) Close() error {
	b.closeMu.Lock()
	if !b.closed {
		b.closed = true
		if b.in != nil {
			close(b.in)
		}
	}
	b.closeMu.Unlock()
	b.wg.Wait()
	var err error
	for _, s := range b.sessions {
		err = errors.Join(err, s.Close())
	}
	b.sessions = nil
	return err
}
