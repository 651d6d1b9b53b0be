package index

import (
	"bytes"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"vigil/models/vec"
)

func unit(r *rand.Rand, dim int) []float32 {
	v := make([]float32, dim)
	var n float64
	for i := range v {
		x := r.NormFloat64()
		v[i] = float32(x)
		n += x * x
	}
	for i := range v {
		v[i] /= float32(math.Sqrt(n))
	}
	return v
}

// bruteTop is an independent oracle: sort every score.
func bruteTop(ids []int64, vecs, q []float32, dim, k int) []Hit {
	var all []Hit
	for i, id := range ids {
		all = append(all, Hit{id, vec.Dot(q, vecs[i*dim:(i+1)*dim])})
	}
	slices.SortFunc(all, func(a, b Hit) int {
		if a.Score > b.Score {
			return -1
		}
		if a.Score < b.Score {
			return 1
		}
		return 0
	})
	return all[:min(k, len(all))]
}

func TestFlatMatchesOracleAndDeletes(t *testing.T) {
	const dim, n, k = 16, 300, 7
	r := rand.New(rand.NewPCG(1, 2))
	f := NewFlat(dim)
	var ids []int64
	var vecs []float32
	for i := 0; i < n; i++ {
		ids = append(ids, int64(i*3+1))
		vecs = append(vecs, unit(r, dim)...)
	}
	if err := f.Add(ids, vecs); err != nil {
		t.Fatal(err)
	}
	if err := f.Add(ids[:1], vecs[:dim]); err == nil {
		t.Fatal("duplicate id accepted")
	}
	// Delete every third vector, then compare with the oracle over the survivors.
	var keepIDs []int64
	var keepVecs []float32
	for i, id := range ids {
		if i%3 == 0 {
			if err := f.Delete(id); err != nil {
				t.Fatal(err)
			}
			continue
		}
		keepIDs = append(keepIDs, id)
		keepVecs = append(keepVecs, vecs[i*dim:(i+1)*dim]...)
	}
	f.Delete(999999) // unknown: ignored
	if f.Len() != len(keepIDs) {
		t.Fatalf("Len = %d, want %d", f.Len(), len(keepIDs))
	}
	for qi := 0; qi < 20; qi++ {
		q := unit(r, dim)
		got, err := f.Search(q, k)
		if err != nil {
			t.Fatal(err)
		}
		want := bruteTop(keepIDs, keepVecs, q, dim, k)
		if !slices.Equal(got, want) {
			t.Fatalf("query %d: got %v, want %v", qi, got, want)
		}
	}

	var buf bytes.Buffer
	if _, err := f.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	g, err := ReadFlat(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	q := unit(r, dim)
	a, _ := f.Search(q, k)
	b, _ := g.Search(q, k)
	if !slices.Equal(a, b) {
		t.Fatal("read-back index answers differently")
	}
	if _, err := ReadFlat(buf.Bytes()[:buf.Len()-1]); err == nil {
		t.Fatal("truncated snapshot accepted")
	}
}

func TestFlatBadInput(t *testing.T) {
	f := NewFlat(4)
	if _, err := f.Search(make([]float32, 4), 0); err != ErrK {
		t.Errorf("k=0: %v", err)
	}
	if _, err := f.SearchBatch(make([]float32, 5), 1); err == nil {
		t.Error("ragged batch accepted")
	}
	if err := f.Add([]int64{1, 2}, make([]float32, 4)); err == nil {
		t.Error("short vectors accepted")
	}
	if got, err := f.Search(make([]float32, 4), 3); err != nil || len(got) != 0 {
		t.Errorf("empty index: %v, %v", got, err)
	}
}

func TestRecall(t *testing.T) {
	truth := []Hit{{1, 0}, {2, 0}, {3, 0}, {4, 0}}
	if r := Recall([]Hit{{2, 0}, {9, 0}, {4, 0}}, truth); r != 0.5 {
		t.Fatalf("Recall = %v, want 0.5", r)
	}
}
