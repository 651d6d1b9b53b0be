package index

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// faceLike returns n unit vectors as identities × samples: per samples around each centre.
func faceLike(r *rand.Rand, n, per, dim int) []float32 {
	out := make([]float32, 0, n*dim)
	var c []float32
	for i := 0; i < n; i++ {
		if i%per == 0 {
			c = unit(r, dim)
		}
		v := unit(r, dim)
		for j := range v {
			v[j] = c[j] + 0.5*v[j]
		}
		out = append(out, normed(v)...)
	}
	return out
}

func normed(v []float32) []float32 {
	var s float32
	for _, x := range v {
		s += x * x
	}
	s = float32(1 / sqrt64(float64(s)))
	for i := range v {
		v[i] *= s
	}
	return v
}

func sqrt64(x float64) float64 {
	z := x
	for i := 0; i < 30; i++ {
		z = (z + x/z) / 2
	}
	return z
}

func seqIDs(from, n int) []int64 {
	ids := make([]int64, n)
	for i := range ids {
		ids[i] = int64(from + i)
	}
	return ids
}

// TestManagedLifecycle drives an index through Flat, the switch to HNSW, tombstoned deletes, a
// rebuild and a snapshot round trip, comparing every search with an exact Flat oracle.
func TestManagedLifecycle(t *testing.T) {
	const dim, k = 32, 10
	r := rand.New(rand.NewPCG(5, 5))
	p := Params{Dim: dim, M: 16, EfConstruction: 64, EfSearch: 128, HNSWThreshold: 1500, RebuildAt: 0.25}
	m, err := NewManaged(p)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	oracle := NewFlat(dim)
	vecs := faceLike(r, 3000, 5, dim)
	var seq uint64
	add := func(from, n int) {
		t.Helper()
		seq++
		ids := seqIDs(from, n)
		if err := m.Add(seq, ids, vecs[from*dim:(from+n)*dim]); err != nil {
			t.Fatal(err)
		}
		oracle.Add(ids, vecs[from*dim:(from+n)*dim])
	}
	del := func(ids ...int64) {
		t.Helper()
		seq++
		if err := m.Delete(seq, ids...); err != nil {
			t.Fatal(err)
		}
		oracle.Delete(ids...)
	}
	check := func(stage string, minRecall float64) {
		t.Helper()
		if m.Len() != oracle.Len() {
			t.Fatalf("%s: Len %d, oracle %d", stage, m.Len(), oracle.Len())
		}
		qs := faceLike(r, 40, 1, dim)
		got, err := m.SearchBatch(qs, k)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := oracle.SearchBatch(qs, k)
		var rec float64
		for i := range got {
			if len(got[i]) != k {
				t.Fatalf("%s: query %d got %d hits, want %d", stage, i, len(got[i]), k)
			}
			for _, h := range got[i] {
				if _, err := oracle.Search(vecs[h.ID*dim:(h.ID+1)*dim], 1); err != nil || !oracleHas(oracle, h.ID) {
					t.Fatalf("%s: deleted id %d returned", stage, h.ID)
				}
			}
			rec += Recall(got[i], want[i])
		}
		if rec /= float64(len(got)); rec < minRecall {
			t.Fatalf("%s: recall@%d %.3f < %.2f", stage, k, rec, minRecall)
		}
	}

	add(0, 1000)
	del(3, 5, 7, 99999)
	if s := m.Stats(); s.Kind != "flat" || s.Tombstones != 0 {
		t.Fatalf("small index: %+v, want flat without tombstones", s)
	}
	check("flat", 1)

	add(1000, 1000) // passes the threshold: background switch to HNSW
	del(10, 11, 1500)
	if err := m.WaitRebuild(); err != nil {
		t.Fatal(err)
	}
	if s := m.Stats(); s.Kind != "hnsw" {
		t.Fatalf("after threshold: %+v, want hnsw", s)
	}
	check("hnsw", 0.9)

	for id := int64(100); id < 500; id++ { // 400 deletes: tombstones pass 25 %? not yet
		del(id)
	}
	if s := m.Stats(); s.Tombstones == 0 {
		t.Fatalf("hnsw deletes left no tombstones: %+v", s)
	}
	check("tombstones", 0.9)
	for id := int64(600); id < 900; id++ {
		del(id)
	}
	if err := m.WaitRebuild(); err != nil {
		t.Fatal(err)
	}
	if s := m.Stats(); s.Tombstones > int(0.25*float64(s.Live+s.Tombstones)) {
		t.Fatalf("rebuild did not clear tombstones: %+v", s)
	}
	check("rebuilt", 0.9)

	// Snapshot round trip, then replaying an old change must be a no-op.
	path := filepath.Join(t.TempDir(), "c.idx")
	snapSeq, err := m.Save(path)
	if err != nil || snapSeq != seq {
		t.Fatalf("Save seq %d err %v, want %d", snapSeq, err, seq)
	}
	back, err := Load(path, p)
	if err != nil {
		t.Fatal(err)
	}
	defer back.Close()
	if back.Seq() != seq || back.Len() != m.Len() || back.Stats().Kind != m.Stats().Kind {
		t.Fatalf("loaded %+v, want %+v", back.Stats(), m.Stats())
	}
	q := vecs[2500*dim : 2501*dim]
	a, _ := m.Search(q, k)
	b, _ := back.Search(q, k)
	if len(a) != len(b) || a[0] != b[0] {
		t.Fatalf("loaded index answers %v, original %v", b, a)
	}
	if err := back.Add(1, seqIDs(0, 1), vecs[:dim]); err != nil || back.Len() != m.Len() {
		t.Fatalf("replay of an applied change: err %v, Len %d want %d", err, back.Len(), m.Len())
	}
	// Damage each file in turn: Load must refuse, never return a wrong index.
	for _, victim := range []string{path, path + ".faiss"} {
		orig, _ := os.ReadFile(victim)
		for _, bad := range [][]byte{orig[:len(orig)-10], flip(orig, len(orig)/2), nil} {
			os.WriteFile(victim, bad, 0o644)
			if _, err := Load(path, p); err == nil {
				t.Fatalf("damaged %s loaded", filepath.Base(victim))
			}
		}
		os.WriteFile(victim, orig, 0o644)
	}
	if _, err := Load(path, p); err != nil {
		t.Fatalf("restored snapshot: %v", err)
	}
	if err := RemoveSnapshot(path); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path, p); err == nil {
		t.Fatal("removed snapshot loaded")
	}
}

func flip(b []byte, i int) []byte {
	c := append([]byte(nil), b...)
	c[i] ^= 0x40
	return c
}

func oracleHas(f *Flat, id int64) bool {
	f.mu.RLock()
	defer f.mu.RUnlock()
	_, ok := f.pos[id]
	return ok
}

func TestManagedConcurrent(t *testing.T) {
	const dim = 16
	r := rand.New(rand.NewPCG(8, 8))
	m, err := NewManaged(Params{Dim: dim, M: 8, EfConstruction: 32, HNSWThreshold: 800, RebuildAt: 0.1})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	vecs := faceLike(r, 4000, 4, dim)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // one writer: adds in chunks, deleting some earlier ones
		defer wg.Done()
		var seq uint64
		for i := 0; i < 40; i++ {
			seq++
			if err := m.Add(seq, seqIDs(i*100, 100), vecs[i*100*dim:(i+1)*100*dim]); err != nil {
				t.Error(err)
				return
			}
			seq++
			if err := m.Delete(seq, int64(i*100+1), int64(i*100+2)); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	for g := 0; g < 3; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				hits, err := m.Search(vecs[(i%4000)*dim:(i%4000+1)*dim], 5)
				if err != nil {
					t.Error(err)
					return
				}
				for j := 1; j < len(hits); j++ {
					if hits[j].Score > hits[j-1].Score {
						t.Errorf("hits not best-first: %v", hits)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	if err := m.WaitRebuild(); err != nil {
		t.Fatal(err)
	}
	if m.Len() != 4000-80 {
		t.Fatalf("Len %d, want %d", m.Len(), 4000-80)
	}
	for i := 0; i < 40; i++ {
		hits, _ := m.Search(vecs[(i*100+1)*dim:(i*100+2)*dim], 20)
		for _, h := range hits {
			if h.ID == int64(i*100+1) {
				t.Fatalf("deleted id %d returned", h.ID)
			}
		}
	}
}

// TestManagedRebuildCatchUp switches to HNSW while a writer keeps adding and deleting far more
// than the rebuild can replay under the lock, so the catch-up rounds run; afterwards the index
// holds exactly the live ids, each findable by its own vector.
func TestManagedRebuildCatchUp(t *testing.T) {
	const dim, n = 16, 12_000
	r := rand.New(rand.NewPCG(9, 9))
	m, err := NewManaged(Params{Dim: dim, M: 8, EfConstruction: 40, EfSearch: 200, HNSWThreshold: 2000, RebuildAt: 0.9})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	vecs := faceLike(r, n, 4, dim)
	deleted := map[int64]bool{}
	var seq uint64
	for i := 0; i < n/500; i++ { // the rebuild starts at 2000; 10,000 more follow at once
		seq++
		if err := m.Add(seq, seqIDs(i*500, 500), vecs[i*500*dim:(i+1)*500*dim]); err != nil {
			t.Fatal(err)
		}
		if i > 0 {
			seq++
			id := int64(i*500 - 7) // one of the previous batch
			if err := m.Delete(seq, id); err != nil {
				t.Fatal(err)
			}
			deleted[id] = true
		}
	}
	if err := m.WaitRebuild(); err != nil {
		t.Fatal(err)
	}
	if m.Stats().Kind != "hnsw" {
		t.Fatal("not HNSW after the rebuild")
	}
	if want := n - len(deleted); m.Len() != want {
		t.Fatalf("Len %d, want %d", m.Len(), want)
	}
	for i := 0; i < n; i += 37 {
		hits, err := m.Search(vecs[i*dim:(i+1)*dim], 3)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, h := range hits {
			if deleted[h.ID] {
				t.Fatalf("deleted id %d returned", h.ID)
			}
			found = found || h.ID == int64(i)
		}
		if !found && !deleted[int64(i)] {
			t.Errorf("id %d not found by its own vector: %v", i, hits)
		}
	}
}
