package store

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/dgraph-io/badger/v4/options"
)

// benchVariants are the option sets the ingest and scan benchmarks compare. The first one is
// the production default (DefaultOptions).
var benchVariants = []struct {
	name string
	opts func(dir string) Options
}{
	{"default", DefaultOptions},
	{"lsm-embeddings", func(dir string) Options {
		o := DefaultOptions(dir)
		o.ValueThreshold = 1 << 20 // embeddings in the LSM tree, not the value log
		return o
	}},
	{"snappy", func(dir string) Options {
		o := DefaultOptions(dir)
		o.compression = options.Snappy
		return o
	}},
	{"no-sync", func(dir string) Options {
		o := DefaultOptions(dir)
		o.SyncWrites = false
		return o
	}},
}

// benchBatches returns n batches of MaxBatch 128-d faces, each face of its own person (the
// enrolment case, and the most work per face: a person counter each).
func benchBatches(n int) [][]Face {
	rng := rand.New(rand.NewPCG(1, 1))
	embs := make([][]float32, MaxBatch)
	for i := range embs {
		embs[i] = randVec(rng, 128)
	}
	out := make([][]Face, n)
	for j := range out {
		out[j] = make([]Face, MaxBatch)
		for i := range out[j] {
			out[j][i] = Face{PersonID: fmt.Sprintf("person-%d", j*MaxBatch+i), Embedding: embs[i], DetScore: 0.99, Quality: 0.8}
		}
	}
	return out
}

// diskWrites returns the bytes this process caused to be written to storage so far (Linux
// /proc/self/io write_bytes), or -1 where that is not available.
func diskWrites() int64 {
	b, err := os.ReadFile("/proc/self/io")
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "write_bytes: "); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return -1
			}
			return n
		}
	}
	return -1
}

func benchStore(b *testing.B, opts Options) *Store {
	b.Helper()
	s, err := Open(opts, nil)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := s.CreateCollection("org", Collection{ID: "c", Kind: KindGallery, ModelID: "m", Dimension: 128}); err != nil {
		b.Fatal(err)
	}
	return s
}

// BenchmarkAddFaces128 measures bulk ingest: one AddFaces of MaxBatch (1000) 128-d faces per
// op, commit (and fsync, unless no-sync) included.
func BenchmarkAddFaces128(b *testing.B) {
	for _, v := range benchVariants {
		b.Run(v.name, func(b *testing.B) {
			s := benchStore(b, v.opts(filepath.Join(b.TempDir(), "db")))
			defer s.Close()
			batches := benchBatches(b.N)
			b.ReportAllocs()
			w0 := diskWrites()
			b.ResetTimer()
			for i := range b.N {
				if _, _, err := s.AddFaces("org", "c", batches[i]); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N*MaxBatch)/b.Elapsed().Seconds(), "faces/s")
			if w0 >= 0 {
				// Bytes this process had written to disk (WAL, value log, tables, compactions)
				// when the last commit returned, per face: the write amplification ingest pays.
				b.ReportMetric(float64(diskWrites()-w0)/float64(b.N*MaxBatch), "disk-B/face")
			}
		})
	}
}

// BenchmarkScanFaces measures a full-rebuild scan of a 200,000-face 128-d collection (about
// 125 MiB, past the 64 MiB memtable), with embeddings in the value log (default) and in the
// LSM tree. The page cache is warm.
func BenchmarkScanFaces(b *testing.B) {
	const total = 200_000
	for _, v := range benchVariants[:2] {
		dir := filepath.Join(b.TempDir(), "db")
		opts := v.opts(dir)
		opts.SyncWrites = false
		s := benchStore(b, opts)
		for _, batch := range benchBatches(total / MaxBatch) {
			if _, _, err := s.AddFaces("org", "c", batch); err != nil {
				b.Fatal(err)
			}
		}
		s.Close()
		if s, err := Open(opts, nil); err != nil {
			b.Fatal(err)
		} else {
			b.Run(v.name, func(b *testing.B) {
				b.ReportAllocs()
				var sum float32
				for range b.N {
					n := 0
					_, err := s.ScanFaces("org", "c", func(f Face) error {
						sum += f.Embedding[0]
						n++
						return nil
					})
					if err != nil || n != total {
						b.Fatalf("scanned %d faces: %v", n, err)
					}
				}
				b.ReportMetric(float64(b.N*total)/b.Elapsed().Seconds(), "faces/s")
			})
			s.Close()
		}
	}
}
