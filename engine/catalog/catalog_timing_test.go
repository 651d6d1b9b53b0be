package catalog_test

// Micro-benchmarks of the engine's search path (Catalog.Search over index.Managed) and of
// durable ingest and cold start, on face-like data (bench.Synthetic: 100k × 128-d, seed 1, 1000
// probes that are new samples of enrolled identities) with the index defaults. vigil bench index
// measures the same end to end at any size. Compare runs with benchstat over -count 10:
//
//	go test -run '^$' -bench . -count 10 ./engine/catalog/ | tee new.txt

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"vigil/bench"
	"vigil/engine/catalog"
	"vigil/engine/store"
	"vigil/index"
)

const (
	benchN   = 100_000
	benchDim = 128
	benchNQ  = 1000
	benchK   = 10
	org      = "bench"
	coll     = "faces"
)

func benchEfs() []int {
	efs := []int{16, 32, 64, 128}
	if d := index.DefaultParams(benchDim).EfSearch; !slices.Contains(efs, d) {
		efs = append(efs, d)
		slices.Sort(efs)
	}
	return efs
}

func benchData() (*bench.Dataset, error) {
	return bench.Synthetic(bench.SyntheticConfig{N: benchN, Dim: benchDim, Queries: benchNQ, Seed: 1})
}

// faces wraps vectors (aliased) as faces of their identities.
func faces(d *bench.Dataset, lo, hi int) []store.Face {
	out := make([]store.Face, hi-lo)
	for i := range out {
		out[i] = store.Face{Embedding: d.BaseVec(lo + i)}
		if d.BaseID != nil {
			out[i].PersonID = "p" + strconv.Itoa(int(d.BaseID[lo+i]))
		}
	}
	return out
}

// fill creates the benchmark collection (HNSW past exactMax, default parameters) and
// bulk-adds faces, waiting until the index is complete.
func fill(c *catalog.Catalog, st *store.Store, exactMax int, fs []store.Face) error {
	if _, err := st.CreateOrg(org, "bench", store.OrgSettings{}); err != nil {
		return err
	}
	_, err := c.CreateCollection(org, store.Collection{ID: coll, Kind: store.KindGallery, ModelID: "bench",
		Dimension: benchDim, Index: store.IndexParams{ExactMax: exactMax}})
	if err != nil {
		return err
	}
	if n, err := c.BulkAdd(org, coll, fs); err != nil || n != len(fs) {
		return fmt.Errorf("bulk add: %d of %d: %v", n, len(fs), err)
	}
	return c.WaitIndexed(org, coll)
}

var fixture struct {
	once  sync.Once
	d     *bench.Dataset
	truth []int32
	pos   []int64 // record id of each base position, ascending
	cat   *catalog.Catalog
	err   error
}

// searchFixture returns a catalog holding the 100k faces, with their ground truth. It lives
// for the whole process: its store is in memory and it is never closed, so it never writes a
// snapshot (its snapshot directory is the system temp dir, left untouched).
func searchFixture(b *testing.B) (*bench.Dataset, []int32, []int64, *catalog.Catalog) {
	b.Helper()
	fixture.once.Do(func() {
		t0 := time.Now()
		f := &fixture
		if f.d, f.err = benchData(); f.err != nil {
			return
		}
		if f.truth, f.err = bench.GroundTruth(f.d, benchK); f.err != nil {
			return
		}
		opts := store.DefaultOptions("")
		opts.InMemory = true
		// In memory badger has no value log: every value must fit under the threshold (a
		// 128-d face record is 550 bytes; the default 512 makes badger panic).
		opts.ValueThreshold = 1 << 20
		st, err := store.Open(opts, nil)
		if err != nil {
			f.err = err
			return
		}
		if f.cat, f.err = catalog.Open(st, catalog.Options{SnapshotDir: os.TempDir()}, nil); f.err != nil {
			return
		}
		if f.err = fill(f.cat, st, 1000, faces(f.d, 0, benchN)); f.err != nil {
			return
		}
		f.pos, f.err = bench.RecordIDs(st, org, coll, f.d)
		b.Logf("fixture: %d faces bulk-added and indexed in %.1fs", benchN, time.Since(t0).Seconds())
	})
	if fixture.err != nil {
		b.Fatal(fixture.err)
	}
	return fixture.d, fixture.truth, fixture.pos, fixture.cat
}

// hits counts the record ids of got among the true neighbours' positions.
func hits(got []index.Hit, truth []int32, pos []int64) int {
	n := 0
	for _, h := range got {
		if p, ok := slices.BinarySearch(pos, h.ID); ok && slices.Contains(truth, int32(p)) {
			n++
		}
	}
	return n
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// BenchmarkSearchSingle: Catalog.Search with one query per call, one goroutine, per efSearch.
func BenchmarkSearchSingle(b *testing.B) {
	d, truth, pos, c := searchFixture(b)
	for _, ef := range benchEfs() {
		b.Run(fmt.Sprintf("ef=%d", ef), func(b *testing.B) {
			if err := c.SetEfSearch(org, coll, ef); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			lat := make([]time.Duration, 0, b.N)
			found := 0
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				q := i % benchNQ
				t0 := time.Now()
				got, err := c.Search(org, coll, d.QueryVec(q), benchK)
				lat = append(lat, time.Since(t0))
				if err != nil {
					b.Fatal(err)
				}
				found += hits(got[0], truth[q*benchK:(q+1)*benchK], pos)
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

// BenchmarkSearchBatch: all 1000 queries in one Catalog.Search call, per efSearch.
func BenchmarkSearchBatch(b *testing.B) {
	d, truth, pos, c := searchFixture(b)
	for _, ef := range benchEfs() {
		b.Run(fmt.Sprintf("ef=%d", ef), func(b *testing.B) {
			if err := c.SetEfSearch(org, coll, ef); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			found := 0
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				res, err := c.Search(org, coll, d.Queries, benchK)
				if err != nil {
					b.Fatal(err)
				}
				for q, got := range res {
					found += hits(got, truth[q*benchK:(q+1)*benchK], pos)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(found)/float64(benchK*benchNQ*b.N), "recall@10")
			b.ReportMetric(float64(benchNQ*b.N)/b.Elapsed().Seconds(), "QPS")
		})
	}
}

// BenchmarkAdd: durable ingest, one BulkAdd of 1000 faces per op (badger commit with fsync,
// then HNSW add) into an on-disk collection already past its exact limit (20k faces, growing as
// it runs).
func BenchmarkAdd(b *testing.B) {
	const start, batch = 20_000, 1000
	d, err := benchData()
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	st, err := store.Open(store.DefaultOptions(filepath.Join(dir, "db")), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	c, err := catalog.Open(st, catalog.Options{SnapshotDir: filepath.Join(dir, "index")}, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	if err := fill(c, st, 1000, faces(d, 0, start)); err != nil {
		b.Fatal(err)
	}
	seed := uint64(2)
	b.Run(fmt.Sprintf("start=%d/batch=%d", start, batch), func(b *testing.B) {
		more, err := bench.Synthetic(bench.SyntheticConfig{N: b.N * batch, Dim: benchDim, Seed: seed})
		if err != nil {
			b.Fatal(err)
		}
		seed++
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if n, err := c.BulkAdd(org, coll, faces(more, i*batch, (i+1)*batch)); err != nil || n != batch {
				b.Fatalf("added %d: %v", n, err)
			}
		}
		b.StopTimer()
		b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "faces/s")
	})
}

// BenchmarkSnapshotLoad: cold start of a 100k-face collection from its snapshot: store open,
// catalog open (snapshot load, log catch-up, count check), then close both. The page cache is
// warm. Setup (durable ingest and HNSW build of 100k) takes about a minute on 2 cores.
func BenchmarkSnapshotLoad(b *testing.B) {
	d, err := benchData()
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	sopt := store.DefaultOptions(filepath.Join(dir, "db"))
	copt := catalog.Options{SnapshotDir: filepath.Join(dir, "index")}
	st, err := store.Open(sopt, nil)
	if err != nil {
		b.Fatal(err)
	}
	c, err := catalog.Open(st, copt, nil)
	if err == nil {
		err = fill(c, st, 1000, faces(d, 0, benchN))
	}
	var bytes uint64
	if err == nil {
		var s index.Stats
		s, err = c.Stats(org, coll)
		bytes = s.Bytes
	}
	if c != nil {
		err = errors.Join(err, c.Close()) // saves the snapshot
	}
	if err = errors.Join(err, st.Close()); err != nil {
		b.Fatal(err)
	}
	b.Run(fmt.Sprintf("n=%d", benchN), func(b *testing.B) {
		b.SetBytes(int64(bytes))
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			st, err := store.Open(sopt, nil)
			if err != nil {
				b.Fatal(err)
			}
			c, err := catalog.Open(st, copt, nil)
			if err != nil {
				b.Fatal(err)
			}
			if s, err := c.Stats(org, coll); err != nil || s.Live != benchN || s.Kind != "hnsw" {
				b.Fatalf("loaded %+v: %v", s, err)
			}
			if err := errors.Join(c.Close(), st.Close()); err != nil {
				b.Fatal(err)
			}
		}
	})
}
