package faiss

import (
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"vigil/index/simd"
)

// clustered returns n unit vectors around n/per identities, like face embeddings.
func clustered(n, per, dim int, seed uint64) []float32 {
	r := rand.New(rand.NewPCG(seed, 1))
	out := make([]float32, 0, n*dim)
	var centre []float32
	for i := 0; i < n; i++ {
		if i%per == 0 {
			centre = randUnit(r, dim, nil, 0)
		}
		out = append(out, randUnit(r, dim, centre, 0.35)...)
	}
	return out
}

func randUnit(r *rand.Rand, dim int, around []float32, noise float64) []float32 {
	v := make([]float32, dim)
	var n float64
	for i := range v {
		x := r.NormFloat64()
		if around != nil {
			x = float64(around[i]) + noise*x/math.Sqrt(float64(dim))
		}
		v[i] = float32(x)
		n += x * x
	}
	for i := range v {
		v[i] /= float32(math.Sqrt(n))
	}
	return v
}

// TestHNSWRoundTrip builds a real HNSW inner-product index, searches it, serialises it, reads it
// back and checks the copy answers identically; the exact Flat index is the ground truth.
func TestHNSWRoundTrip(t *testing.T) {
	const dim, n, nq, k = 64, 5000, 50, 10
	base := clustered(n, 5, dim, 1)
	ids := make([]int64, n)
	for i := range ids {
		ids[i] = int64(1_000_000 + 7*i) // non-contiguous ids must survive IDMap2
	}
	queries := clustered(nq, 1, dim, 2)
	for i := 0; i < nq; i++ { // queries near stored vectors
		copy(queries[i*dim:(i+1)*dim], randUnit(rand.New(rand.NewPCG(uint64(i), 3)), dim, base[i*97*dim:(i*97+1)*dim], 0.2))
	}

	flat, err := New(dim, "IDMap2,Flat")
	if err != nil {
		t.Fatal(err)
	}
	defer flat.Close()
	hnsw, err := New(dim, "IDMap2,HNSW32,Flat")
	if err != nil {
		t.Fatal(err)
	}
	defer hnsw.Close()
	for _, x := range []*Index{flat, hnsw} {
		if err := x.Add(ids, base); err != nil {
			t.Fatal(err)
		}
		if x.Len() != n {
			t.Fatalf("Len = %d, want %d", x.Len(), n)
		}
	}
	if err := hnsw.SetParam("efSearch", 64); err != nil {
		t.Fatal(err)
	}
	_, truth, err := flat.Search(queries, k)
	if err != nil {
		t.Fatal(err)
	}
	scores, got, err := hnsw.Search(queries, k)
	if err != nil {
		t.Fatal(err)
	}
	hits := 0
	for q := 0; q < nq; q++ {
		for _, id := range got[q*k : (q+1)*k] {
			if slices.Contains(truth[q*k:(q+1)*k], id) {
				hits++
			}
		}
		if !slices.IsSortedFunc(scores[q*k:(q+1)*k], func(a, b float32) int { return -cmpF(a, b) }) {
			t.Fatalf("query %d: scores not best-first: %v", q, scores[q*k:(q+1)*k])
		}
		if got[q*k] != ids[q*97] {
			t.Errorf("query %d: top id %d, want its source %d", q, got[q*k], ids[q*97])
		}
	}
	if recall := float64(hits) / (nq * k); recall < 0.9 {
		t.Fatalf("HNSW recall@%d = %.3f, want >= 0.9", k, recall)
	}

	buf, err := hnsw.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	back, err := Unmarshal(buf)
	if err != nil {
		t.Fatal(err)
	}
	defer back.Close()
	if back.Len() != n || back.Dim() != dim {
		t.Fatalf("read back %d x %d, want %d x %d", back.Len(), back.Dim(), n, dim)
	}
	if err := back.SetParam("efSearch", 64); err != nil {
		t.Fatal(err)
	}
	scores2, got2, err := back.Search(queries, k)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, got2) || !slices.Equal(scores, scores2) {
		t.Fatal("index read back from its serialisation answers differently")
	}
}

func cmpF(a, b float32) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func TestConcurrentSearchAndAdd(t *testing.T) {
	const dim = 32
	x, err := New(dim, "IDMap2,HNSW16,Flat")
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	vecs := clustered(2000, 4, dim, 9)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < 20; i++ {
			ids := make([]int64, 100)
			for j := range ids {
				ids[j] = int64(i*100 + j)
			}
			if err := x.Add(ids, vecs[i*100*dim:(i+1)*100*dim]); err != nil {
				t.Error(err)
			}
		}
	}()
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				if _, _, err := x.Search(vecs[i*dim:(i+1)*dim], 5); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	if x.Len() != 2000 {
		t.Fatalf("Len = %d after concurrent adds, want 2000", x.Len())
	}
}

func TestBadInput(t *testing.T) {
	if _, err := New(0, "Flat"); err == nil {
		t.Error("dim 0 accepted")
	}
	if _, err := New(8, "NoSuchIndex"); err == nil {
		t.Error("bad factory string accepted")
	}
	x, err := New(8, "IDMap2,Flat")
	if err != nil {
		t.Fatal(err)
	}
	if err := x.Add([]int64{1}, make([]float32, 7)); err == nil {
		t.Error("short vector accepted")
	}
	if _, _, err := x.Search(make([]float32, 9), 1); err == nil {
		t.Error("ragged query accepted")
	}
	if _, err := Unmarshal([]byte("garbage")); err == nil {
		t.Error("garbage index buffer accepted")
	}
	x.Close()
	x.Close()
	if err := x.Add([]int64{1}, make([]float32, 8)); err != ErrClosed {
		t.Errorf("Add after Close = %v, want ErrClosed", err)
	}
}

func TestBuiltLevelRunsHere(t *testing.T) {
	l := BuiltLevel()
	if err := simd.CheckCPU(l); err != nil {
		t.Fatal(err)
	}
	t.Logf("FAISS built for %v; CPU offers %v", l, simd.CPU())
}
