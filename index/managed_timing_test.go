package index_test

// Micro-benchmarks of index.Managed on face-like data (bench.Synthetic: 100k × 128-d, seed 1,
// 1000 probes that are new samples of enrolled identities) with index.DefaultParams. The HNSW
// index is built once per process (about a minute on 2 cores) and shared; recall@10 is against
// exact ground truth. Compare runs with benchstat over -count 10:
//
//	go test -run '^$' -bench . -count 10 ./index/ | tee new.txt

import (
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"vigil/bench"
	"vigil/index"
)

const (
	benchN   = 100_000
	benchDim = 128
	benchNQ  = 1000
	benchK   = 10
)

// benchEfs are the efSearch values the search benchmarks sweep (the default among them).
func benchEfs() []int {
	efs := []int{16, 32, 64, 128}
	if d := index.DefaultParams(benchDim).EfSearch; !slices.Contains(efs, d) {
		efs = append(efs, d)
		slices.Sort(efs)
	}
	return efs
}

var fixture struct {
	once  sync.Once
	d     *bench.Dataset
	truth []int32 // benchK base positions per query; ids in the index are positions
	idx   *index.Managed
	err   error
}

// hnsw returns the shared face-like data, its ground truth and an HNSW Managed index of all of
// it with the default parameters.
func hnsw(b *testing.B) (*bench.Dataset, []int32, *index.Managed) {
	b.Helper()
	fixture.once.Do(func() {
		t0 := time.Now()
		f := &fixture
		if f.d, f.err = bench.Synthetic(bench.SyntheticConfig{N: benchN, Dim: benchDim, Queries: benchNQ, Seed: 1}); f.err != nil {
			return
		}
		if f.truth, f.err = bench.GroundTruth(f.d, benchK); f.err != nil {
			return
		}
		f.idx, f.err = buildHNSW(f.d.Base, 0)
		b.Logf("fixture: %d × %d-d face-like vectors, HNSW %+v built in %.1fs", benchN, benchDim, index.DefaultParams(benchDim), time.Since(t0).Seconds())
	})
	if fixture.err != nil {
		b.Fatal(fixture.err)
	}
	return fixture.d, fixture.truth, fixture.idx
}

// buildHNSW returns a default-parameter Managed index holding vecs (ids from firstID on),
// already switched to HNSW: added in one call it starts exact, and the background switch
// builds the HNSW graph over all of it.
func buildHNSW(vecs []float32, firstID int64) (*index.Managed, error) {
	m, err := index.NewManaged(index.Params{Dim: benchDim, HNSWThreshold: 1})
	if err != nil {
		return nil, err
	}
	ids := make([]int64, len(vecs)/benchDim)
	for i := range ids {
		ids[i] = firstID + int64(i)
	}
	if err := m.Add(0, ids, vecs); err == nil {
		err = m.WaitRebuild()
	}
	if st := m.Stats(); err == nil && st.Kind != "hnsw" {
		err = fmt.Errorf("index is %s after the switch", st.Kind)
	}
	if err != nil {
		m.Close()
		return nil, err
	}
	return m, nil
}

// hits counts the ids of got among truth.
func hits(got []index.Hit, truth []int32) int {
	n := 0
	for _, h := range got {
		if slices.Contains(truth, int32(h.ID)) {
			n++
		}
	}
	return n
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// BenchmarkSearchSingle: one query per call, one goroutine, per efSearch.
func BenchmarkSearchSingle(b *testing.B) {
	d, truth, idx := hnsw(b)
	for _, ef := range benchEfs() {
		b.Run(fmt.Sprintf("ef=%d", ef), func(b *testing.B) {
			if err := idx.SetEfSearch(ef); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			lat := make([]time.Duration, 0, b.N)
			found := 0
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				q := i % benchNQ
				t0 := time.Now()
				got, err := idx.Search(d.QueryVec(q), benchK)
				lat = append(lat, time.Since(t0))
				if err != nil {
					b.Fatal(err)
				}
				found += hits(got, truth[q*benchK:(q+1)*benchK])
			}
			b.StopTimer()
			slices.Sort(lat)
			b.ReportMetric(float64(found)/float64(benchK*b.N), "recall@10")
			b.ReportMetric(ms(lat[len(lat)/2]), "p50-ms")
			b.ReportMetric(ms(lat[len(lat)*99/100]), "p99-ms")
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "QPS")
		})
	}
}

// BenchmarkSearchBatch: all 1000 queries in one SearchBatch call (FAISS spreads them over its
// OpenMP threads), per efSearch.
func BenchmarkSearchBatch(b *testing.B) {
	d, truth, idx := hnsw(b)
	for _, ef := range benchEfs() {
		b.Run(fmt.Sprintf("ef=%d", ef), func(b *testing.B) {
			if err := idx.SetEfSearch(ef); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			found := 0
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				res, err := idx.SearchBatch(d.Queries, benchK)
				if err != nil {
					b.Fatal(err)
				}
				for q, got := range res {
					found += hits(got, truth[q*benchK:(q+1)*benchK])
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(found)/float64(benchK*benchNQ*b.N), "recall@10")
			b.ReportMetric(float64(benchNQ*b.N)/b.Elapsed().Seconds(), "QPS")
		})
	}
}

// BenchmarkAdd: adding 1000 new face-like vectors per op to an HNSW index of 20k (growing as
// it runs), the steady state of enrolment into a large collection.
func BenchmarkAdd(b *testing.B) {
	const start, batch = 20_000, 1000
	d, _, _ := hnsw(b)
	m, err := buildHNSW(d.Base[:start*benchDim], 0)
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	next := int64(start)
	b.Run(fmt.Sprintf("start=%d/batch=%d", start, batch), func(b *testing.B) {
		// Fresh identities for each run: new vectors, never re-adds.
		more, err := bench.Synthetic(bench.SyntheticConfig{N: b.N * batch, Dim: benchDim, Seed: uint64(next)})
		if err != nil {
			b.Fatal(err)
		}
		ids := make([]int64, batch)
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			for j := range ids {
				ids[j] = next
				next++
			}
			if err := m.Add(0, ids, more.Base[i*batch*benchDim:(i+1)*batch*benchDim]); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "vectors/s")
	})
}

// BenchmarkSnapshotLoad: index.Load of the 100k HNSW snapshot (checksums, FAISS read, id list).
func BenchmarkSnapshotLoad(b *testing.B) {
	_, _, idx := hnsw(b)
	path := filepath.Join(b.TempDir(), "snap")
	if _, err := idx.Save(path); err != nil {
		b.Fatal(err)
	}
	p := idx.Params()
	b.Run(fmt.Sprintf("n=%d", benchN), func(b *testing.B) {
		b.SetBytes(int64(idx.Stats().Bytes))
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			m, err := index.Load(path, p)
			if err != nil {
				b.Fatal(err)
			}
			if m.Len() != benchN {
				b.Fatalf("loaded %d vectors", m.Len())
			}
			m.Close()
		}
	})
}
