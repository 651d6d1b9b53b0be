package index

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"sync"

	"vigil/models/vec"
)

// Flat is an exact, brute-force index in Go memory. Safe for concurrent use: searches share a
// read lock, Add and Delete take the write lock.
type Flat struct {
	mu   sync.RWMutex
	dim  int
	ids  []int64
	vecs []float32
	pos  map[int64]int // id -> row
}

// NewFlat returns an empty exact index.
func NewFlat(dim int) *Flat { return &Flat{dim: dim, pos: map[int64]int{}} }

func (f *Flat) Dim() int { return f.dim }

func (f *Flat) Len() int {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return len(f.ids)
}

func (f *Flat) Add(ids []int64, vecs []float32) error {
	if len(vecs) != len(ids)*f.dim {
		return fmt.Errorf("%w: %d ids, %d floats, dim %d", ErrDim, len(ids), len(vecs), f.dim)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, id := range ids {
		if _, dup := f.pos[id]; dup {
			return fmt.Errorf("index: id %d already present", id)
		}
		f.pos[id] = len(f.ids)
		f.ids = append(f.ids, id)
		f.vecs = append(f.vecs, vecs[i*f.dim:(i+1)*f.dim]...)
	}
	return nil
}

// Delete swaps each removed row with the last one.
func (f *Flat) Delete(ids ...int64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, id := range ids {
		row, ok := f.pos[id]
		if !ok {
			continue
		}
		last := len(f.ids) - 1
		if row != last {
			f.ids[row] = f.ids[last]
			copy(f.vecs[row*f.dim:(row+1)*f.dim], f.vecs[last*f.dim:])
			f.pos[f.ids[row]] = row
		}
		f.ids, f.vecs = f.ids[:last], f.vecs[:last*f.dim]
		delete(f.pos, id)
	}
	return nil
}

func (f *Flat) Search(q []float32, k int) ([]Hit, error) {
	res, err := f.SearchBatch(q, k)
	if err != nil {
		return nil, err
	}
	return res[0], nil
}

func (f *Flat) SearchBatch(qs []float32, k int) ([][]Hit, error) {
	if k <= 0 {
		return nil, ErrK
	}
	if len(qs) == 0 || len(qs)%f.dim != 0 {
		return nil, fmt.Errorf("%w: %d floats, dim %d", ErrDim, len(qs), f.dim)
	}
	f.mu.RLock()
	defer f.mu.RUnlock()
	out := make([][]Hit, len(qs)/f.dim)
	var scores [flatBlock]float32
	for qi := range out {
		q := qs[qi*f.dim : (qi+1)*f.dim]
		hits := make([]Hit, 0, min(k, len(f.ids))+1)
		for lo := 0; lo < len(f.ids); lo += flatBlock {
			ids := f.ids[lo:min(lo+flatBlock, len(f.ids))]
			vec.DotBatch(q, f.vecs[lo*f.dim:(lo+len(ids))*f.dim], f.dim, scores[:len(ids)])
			for row, id := range ids {
				s := scores[row]
				if len(hits) == k && s <= hits[k-1].Score {
					continue
				}
				i, _ := slices.BinarySearchFunc(hits, s, func(h Hit, s float32) int { return cmp.Compare(s, h.Score) })
				hits = slices.Insert(hits, i, Hit{ID: id, Score: s})
				if len(hits) > k {
					hits = hits[:k]
				}
			}
		}
		out[qi] = hits
	}
	return out, nil
}

// flatBlock is how many rows SearchBatch scores per vec.DotBatch call: the scores stay in L1.
const flatBlock = 1024

const flatMagic = "VGFLAT01"

// WriteTo writes magic, dim, n, then n ids and n*dim floats, little-endian.
func (f *Flat) WriteTo(w io.Writer) (int64, error) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	buf := make([]byte, 0, 24+8*len(f.ids)+4*len(f.vecs))
	buf = append(buf, flatMagic...)
	buf = binary.LittleEndian.AppendUint32(buf, uint32(f.dim))
	buf = binary.LittleEndian.AppendUint64(buf, uint64(len(f.ids)))
	for _, id := range f.ids {
		buf = binary.LittleEndian.AppendUint64(buf, uint64(id))
	}
	for _, v := range f.vecs {
		buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(v))
	}
	n, err := w.Write(buf)
	return int64(n), err
}

// ReadFlat reads an index written by Flat.WriteTo.
func ReadFlat(b []byte) (*Flat, error) {
	bad := errors.New("index: corrupt flat snapshot")
	if len(b) < 20 || string(b[:8]) != flatMagic {
		return nil, bad
	}
	dim := int(binary.LittleEndian.Uint32(b[8:]))
	n := binary.LittleEndian.Uint64(b[12:])
	if dim <= 0 || n > uint64(len(b)) || uint64(len(b)-20) != n*8+n*uint64(dim)*4 {
		return nil, bad
	}
	f := NewFlat(dim)
	b = b[20:]
	ids := make([]int64, n)
	for i := range ids {
		ids[i] = int64(binary.LittleEndian.Uint64(b[8*i:]))
	}
	b = b[8*n:]
	vecs := make([]float32, int(n)*dim)
	for i := range vecs {
		vecs[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	if err := f.Add(ids, vecs); err != nil {
		return nil, bad
	}
	return f, nil
}

func (f *Flat) Close() error { return nil }
