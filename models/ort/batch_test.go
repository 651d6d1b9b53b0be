package ort

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"sync"
	"testing"

	"vigil/models"
	"vigil/models/modeltest"
)

func embedBatcher(t *testing.T, cfg BatcherConfig) (*Batcher, models.Model) {
	t.Helper()
	initORT(t)
	dir := modeltest.ModelsDir(t)
	var e models.Model
	b, err := NewBatcher(cfg, []int64{3, 112, 112}, func() (*Session, error) {
		s, m, err := OpenModel(models.Default(), dir, "mobilefacenet-128", models.RoleEmbedder)
		e = m
		return s, err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b, e
}

func randomItems(n, size int, seed uint64) [][]float32 {
	r := rand.New(rand.NewPCG(seed, 1))
	out := make([][]float32, n)
	for i := range out {
		out[i] = make([]float32, size)
		for j := range out[i] {
			out[i][j] = float32(r.NormFloat64())
		}
	}
	return out
}

// TestBatcherMatchesSingleCalls runs concurrent requests through the real embedding model and
// checks that batches formed (mean batch > 1) and every answer equals a one-item call.
func TestBatcherMatchesSingleCalls(t *testing.T) {
	b, _ := embedBatcher(t, BatcherConfig{Name: "test-embed", MaxBatch: 8, QueueSize: 64})
	items := randomItems(24, b.ItemLen(), 1)
	want := make([][]float32, len(items))
	for i, it := range items {
		out, err := b.Run(context.Background(), it)
		if err != nil {
			t.Fatal(err)
		}
		want[i] = out[0]
	}
	if mb := b.MeanBatch(); mb != 1 {
		t.Fatalf("sequential calls batched: mean %v", mb)
	}
	var wg sync.WaitGroup
	got := make([][]float32, len(items))
	for i := range items {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := b.Run(context.Background(), items[i])
			if err != nil {
				t.Error(err)
				return
			}
			got[i] = out[0]
		}()
	}
	wg.Wait()
	if b.MeanBatch() <= 1 {
		t.Fatalf("24 concurrent requests never batched (mean %.2f)", b.MeanBatch())
	}
	for i := range items {
		if len(got[i]) != 128 {
			t.Fatalf("item %d: %d floats", i, len(got[i]))
		}
		for j := range got[i] {
			if d := math.Abs(float64(got[i][j] - want[i][j])); d > 1e-4*math.Max(1, math.Abs(float64(want[i][j]))) {
				t.Fatalf("item %d [%d]: batched %g, alone %g", i, j, got[i][j], want[i][j])
			}
		}
	}
}

func TestBatcherOverloadAndClose(t *testing.T) {
	b, _ := embedBatcher(t, BatcherConfig{Name: "test-overload", MaxBatch: 1, QueueSize: 1})
	items := randomItems(1, b.ItemLen(), 2)
	var wg sync.WaitGroup
	var mu sync.Mutex
	overloaded := 0
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := b.Run(context.Background(), items[0])
			if errors.Is(err, ErrOverloaded) {
				mu.Lock()
				overloaded++
				mu.Unlock()
			} else if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if overloaded == 0 {
		t.Fatal("40 simultaneous requests on a queue of 1 were never refused")
	}
	if _, err := b.Run(context.Background(), make([]float32, 5)); err == nil {
		t.Fatal("wrong-sized input accepted")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := b.Run(ctx, items[0]); err != nil && !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled context: %v", err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Run(context.Background(), items[0]); err == nil {
		t.Fatal("Run after Close succeeded")
	}
}
