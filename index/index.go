// Package index defines Vigil's vector index contract and its pure-Go exact implementation, Flat,
// which is the ground truth for recall and the fake for unit tests. Vectors are L2-normalised
// float32, scored by inner product (cosine); ids are the store's int64 record ids. The FAISS-backed
// implementation lives in index/faiss; index never imports engine or store.
package index

import (
	"errors"
	"io"
)

// Hit is one search result: a record id and its inner-product score, higher is closer.
type Hit struct {
	ID    int64
	Score float32
}

// Sentinel errors.
var (
	ErrDim    = errors.New("index: vector dimension mismatch")
	ErrK      = errors.New("index: k must be positive")
	ErrClosed = errors.New("index: closed")
)

// Index is a searchable set of vectors. Implementations document their concurrency; all of
// Vigil's allow concurrent searches alongside one writer.
type Index interface {
	Dim() int
	// Len is the number of live (not deleted) vectors.
	Len() int
	// Add inserts len(ids) vectors held in vecs (len(ids)*Dim floats). Ids must be new.
	Add(ids []int64, vecs []float32) error
	// Delete removes ids; unknown ids are ignored.
	Delete(ids ...int64) error
	// Search returns up to k hits for one query, best first.
	Search(q []float32, k int) ([]Hit, error)
	// SearchBatch runs len(qs)/Dim queries in one call.
	SearchBatch(qs []float32, k int) ([][]Hit, error)
	// WriteTo serialises the index.
	io.WriterTo
	Close() error
}

// Recall returns |got ∩ truth| / |truth| over ids, the usual recall@k when both hold k ids.
func Recall(got, truth []Hit) float64 {
	if len(truth) == 0 {
		return 1
	}
	in := make(map[int64]struct{}, len(truth))
	for _, h := range truth {
		in[h.ID] = struct{}{}
	}
	n := 0
	for _, h := range got {
		if _, ok := in[h.ID]; ok {
			n++
		}
	}
	return float64(n) / float64(len(truth))
}
