// Package faiss is the thin cgo boundary to FAISS (through go-faiss, over FAISS 1.7.3 and the
// C API extension in cext/): indexes of float32 vectors with int64 ids under the inner-product
// metric, and their serialisation. Callers see Go slices, ids and errors, never C types. It is the
// only package that imports go-faiss.
package faiss

/*
#include <vigil_faiss.h>
*/
import "C"

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"

	gf "github.com/blevesearch/go-faiss"

	"vigil/index/simd"
)

// Version is the FAISS release the native library is built from.
const Version = "1.7.3"

// BuiltLevel returns the SIMD level the linked FAISS objects were compiled for.
func BuiltLevel() simd.Level {
	l, err := simd.Parse(C.GoString(C.vigil_faiss_simd_level()))
	if err != nil {
		panic("BUG: native library reports " + err.Error())
	}
	return l
}

// ErrClosed is returned by calls on a closed index.
var ErrClosed = errors.New("faiss: index closed")

// Index owns one FAISS index. Safe for concurrent use: searches run in parallel, while Add,
// SetParam and Close are exclusive. Caller must Close.
type Index struct {
	mu  sync.RWMutex
	idx *gf.IndexImpl
	dim int
}

// New builds an empty index from a FAISS factory description such as "IDMap2,Flat" or
// "IDMap2,HNSW32,Flat", with the inner-product metric.
func New(dim int, description string) (*Index, error) {
	if dim <= 0 {
		return nil, fmt.Errorf("faiss: dimension %d", dim)
	}
	idx, err := gf.IndexFactory(dim, description, gf.MetricInnerProduct)
	if err != nil {
		return nil, fmt.Errorf("faiss: index_factory(%q): %w", description, err)
	}
	return &Index{idx: idx, dim: dim}, nil
}

// Dim is the vector dimension.
func (x *Index) Dim() int { return x.dim }

// Len returns the number of vectors held.
func (x *Index) Len() int64 {
	x.mu.RLock()
	defer x.mu.RUnlock()
	if x.idx == nil {
		return 0
	}
	return x.idx.Ntotal()
}

// Add inserts len(ids) vectors; vecs holds len(ids)*Dim floats.
func (x *Index) Add(ids []int64, vecs []float32) error {
	if len(vecs) != len(ids)*x.dim {
		return fmt.Errorf("faiss: %d ids but %d floats (dim %d)", len(ids), len(vecs), x.dim)
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.idx == nil {
		return ErrClosed
	}
	if len(ids) == 0 {
		return nil
	}
	return x.idx.AddWithIDs(vecs, ids)
}

// Search runs len(queries)/Dim queries in one call and returns, per query, k scores (inner
// products, best first) and ids; id -1 pads when fewer than k vectors exist.
func (x *Index) Search(queries []float32, k int) (scores []float32, ids []int64, err error) {
	if k <= 0 || len(queries) == 0 || len(queries)%x.dim != 0 {
		return nil, nil, fmt.Errorf("faiss: search of %d floats (dim %d), k %d", len(queries), x.dim, k)
	}
	x.mu.RLock()
	defer x.mu.RUnlock()
	if x.idx == nil {
		return nil, nil, ErrClosed
	}
	if len(queries) == x.dim {
		return x.searchOne(queries, k)
	}
	return x.idx.Search(queries, int64(k))
}

// searchOne runs a single query on the calling thread alone. FAISS parallelises a search over
// its queries, but still starts an OpenMP team for one: every thread of it wakes, and idle ones
// spin, taking cores from concurrent searches and index builds. OpenMP's thread count is per OS
// thread, so the goroutine stays on its thread while the count is 1.
func (x *Index) searchOne(q []float32, k int) ([]float32, []int64, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	gf.SetOMPThreads(1)
	defer gf.SetOMPThreads(uint(ompThreads()))
	return x.idx.Search(q, int64(k))
}

// ompThreads is OpenMP's default thread count for this process: OMP_NUM_THREADS's first value,
// else the CPUs the process may use, as libgomp computes it.
var ompThreads = sync.OnceValue(func() int {
	if v, _, _ := strings.Cut(os.Getenv("OMP_NUM_THREADS"), ","); v != "" {
		if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n > 0 {
			return n
		}
	}
	return runtime.NumCPU()
})

// SetParam sets an index parameter by name through FAISS's ParameterSpace, e.g. "efSearch".
func (x *Index) SetParam(name string, v float64) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.idx == nil {
		return ErrClosed
	}
	ps, err := gf.NewParameterSpace()
	if err != nil {
		return err
	}
	defer ps.Delete()
	return ps.SetIndexParameter(x.idx, name, v)
}

// Marshal serialises the index in FAISS's own format.
func (x *Index) Marshal() ([]byte, error) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	if x.idx == nil {
		return nil, ErrClosed
	}
	return gf.WriteIndexIntoBuffer(x.idx)
}

// Unmarshal reads an index written by Marshal.
func Unmarshal(b []byte) (*Index, error) {
	if len(b) == 0 {
		return nil, errors.New("faiss: empty index buffer")
	}
	idx, err := gf.ReadIndexFromBuffer(b, 0)
	if err != nil {
		return nil, fmt.Errorf("faiss: read index: %w", err)
	}
	return &Index{idx: idx, dim: idx.D()}, nil
}

// Close frees the index. Idempotent.
func (x *Index) Close() {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.idx != nil {
		x.idx.Close()
		x.idx = nil
	}
}

// Remove deletes ids from an index that supports it (Flat does; HNSW in FAISS 1.7.3 does not and
// returns an error). It returns how many were removed.
func (x *Index) Remove(ids []int64) (int, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.idx == nil {
		return 0, ErrClosed
	}
	sel, err := gf.NewIDSelectorBatch(ids)
	if err != nil {
		return 0, err
	}
	defer sel.Delete()
	return x.idx.RemoveIDs(sel.(*gf.IDSelector))
}

// Reconstruct copies the stored vectors of ids (which must all be present) into a new slice of
// len(ids)*Dim floats.
func (x *Index) Reconstruct(ids []int64) ([]float32, error) {
	out := make([]float32, len(ids)*x.dim)
	if len(ids) == 0 {
		return out, nil
	}
	x.mu.RLock()
	defer x.mu.RUnlock()
	if x.idx == nil {
		return nil, ErrClosed
	}
	return x.idx.ReconstructBatch(ids, out)
}

// Bytes is the index's serialised size, a close measure of its memory.
func (x *Index) Bytes() uint64 {
	x.mu.RLock()
	defer x.mu.RUnlock()
	if x.idx == nil {
		return 0
	}
	return x.idx.Size()
}

// WriteFile writes the index to path in FAISS's own format, streaming from FAISS's memory (no
// serialised copy in Go memory).
func (x *Index) WriteFile(path string) error {
	x.mu.RLock()
	defer x.mu.RUnlock()
	if x.idx == nil {
		return ErrClosed
	}
	return gf.WriteIndex(x.idx, path)
}

// ReadFile reads an index written by WriteFile.
func ReadFile(path string) (*Index, error) {
	idx, err := gf.ReadIndex(path, 0)
	if err != nil {
		return nil, fmt.Errorf("faiss: read %s: %w", path, err)
	}
	return &Index{idx: idx, dim: idx.D()}, nil
}
