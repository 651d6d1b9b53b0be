package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// Kind is what a collection is for.
type Kind string

// Collection kinds.
const (
	KindGallery   Kind = "gallery"   // enrolled customers
	KindWatchlist Kind = "watchlist" // screening lists
)

// MaxDimension is the largest embedding dimension a collection may have. It keeps a MaxBatch of
// faces inside one badger transaction (about 8 MiB at 2048-d).
const MaxDimension = 2048

// IndexParams tune a collection's vector index; the store keeps them, the engine applies them.
// Zero means "the engine's default".
type IndexParams struct {
	M              int `json:"m,omitempty"`              // HNSW neighbours per node
	EfConstruction int `json:"efConstruction,omitempty"` // HNSW build beam width
	EfSearch       int `json:"efSearch,omitempty"`       // HNSW search beam width
	ExactMax       int `json:"exactMax,omitempty"`       // searched exactly (Flat) up to this many faces, HNSW past it
}

// Collection is a set of faces searched together, all embedded by one model.
type Collection struct {
	ID        string
	OrgID     string
	Kind      Kind
	ModelID   string // embedding model id, as in the models manifest
	Dimension int    // embedding length
	Index     IndexParams
	CreatedAt time.Time
	// Generation is assigned by the store, unique per database and never reused: a collection
	// deleted and created again under the same id gets a new one. Index snapshots must record
	// it and be discarded when it differs.
	Generation uint64
}

type collRecord struct {
	ID        string      `json:"id"`
	Kind      Kind        `json:"kind"`
	ModelID   string      `json:"modelId"`
	Dimension int         `json:"dimension"`
	Index     IndexParams `json:"index"`
	CreatedAt time.Time   `json:"createdAt"`
	Gen       uint64      `json:"gen"`
}

func (r collRecord) collection(org string) Collection {
	return Collection{ID: r.ID, OrgID: org, Kind: r.Kind, ModelID: r.ModelID, Dimension: r.Dimension,
		Index: r.Index, CreatedAt: r.CreatedAt, Generation: r.Gen}
}

func (c *Collection) validate(org string) error {
	if err := checkIDs(org, c.ID); err != nil {
		return err
	}
	if c.Kind != KindGallery && c.Kind != KindWatchlist {
		return fmt.Errorf("store: collection kind %q: %w", c.Kind, ErrInvalidID)
	}
	if err := checkID("model", c.ModelID); err != nil {
		return err
	}
	if c.Dimension < 1 || c.Dimension > MaxDimension {
		return fmt.Errorf("store: collection dimension %d not in [1, %d]: %w", c.Dimension, MaxDimension, ErrBadEmbedding)
	}
	p := c.Index
	if p.M < 0 || p.EfConstruction < 0 || p.EfSearch < 0 || p.ExactMax < 0 {
		return fmt.Errorf("store: negative index parameter %+v: %w", p, ErrInvalidID)
	}
	return nil
}

// getColl reads a live collection's record inside txn (the read guards against a concurrent delete).
func getColl(txn *badger.Txn, org, coll string) (collRecord, error) {
	var rec collRecord
	v, err := get(txn, collKey(org, coll))
	if err != nil {
		return rec, fmt.Errorf("collection %q: %w", coll, err)
	}
	if err := json.Unmarshal(v, &rec); err != nil {
		return rec, fmt.Errorf("collection %q: %w", coll, err)
	}
	return rec, nil
}

func getState(txn *badger.Txn, org string, gen uint64) (collState, error) {
	item, err := txn.Get(stateKey(org, gen))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return collState{}, nil
	}
	if err != nil {
		return collState{}, err
	}
	var st collState
	err = item.Value(func(v []byte) (err error) {
		st, err = decodeState(v)
		return err
	})
	return st, err
}

// CreateCollection creates collection c.ID in organisation org and returns it with OrgID,
// CreatedAt and Generation set. ErrExists if the id is taken.
func (s *Store) CreateCollection(org string, c Collection) (Collection, error) {
	if err := c.validate(org); err != nil {
		return Collection{}, err
	}
	if err := s.acquire(); err != nil {
		return Collection{}, err
	}
	defer s.release()
	rec := collRecord{ID: c.ID, Kind: c.Kind, ModelID: c.ModelID, Dimension: c.Dimension, Index: c.Index,
		CreatedAt: time.Now().UTC()}
	err := s.update(func(txn *badger.Txn) error {
		ok, err := exists(txn, collKey(org, c.ID))
		if err != nil {
			return err
		}
		if ok {
			return fmt.Errorf("collection %q: %w", c.ID, ErrExists)
		}
		// The generation counter is read and rewritten here, so concurrent creates serialise.
		var gen uint64
		v, err := get(txn, globalKey(gGen))
		switch {
		case err == nil && len(v) == 8:
			gen = binary.LittleEndian.Uint64(v)
		case err == nil:
			return fmt.Errorf("corrupt generation counter")
		case !errors.Is(err, ErrNotFound):
			return err
		}
		rec.Gen = gen + 1
		val, err := json.Marshal(rec)
		if err != nil {
			return err
		}
		if err := txn.Set(globalKey(gGen), binary.LittleEndian.AppendUint64(nil, rec.Gen)); err != nil {
			return err
		}
		if err := txn.Set(collKey(org, c.ID), val); err != nil {
			return err
		}
		return txn.Set(stateKey(org, rec.Gen), collState{}.encode())
	})
	if err != nil {
		return Collection{}, fmt.Errorf("store: create collection: %w", err)
	}
	return rec.collection(org), nil
}

// GetCollection returns collection coll of organisation org, or ErrNotFound.
func (s *Store) GetCollection(org, coll string) (Collection, error) {
	if err := checkIDs(org, coll); err != nil {
		return Collection{}, err
	}
	if err := s.acquire(); err != nil {
		return Collection{}, err
	}
	defer s.release()
	var rec collRecord
	err := s.view(func(txn *badger.Txn) (err error) {
		rec, err = getColl(txn, org, coll)
		return err
	})
	if err != nil {
		return Collection{}, fmt.Errorf("store: get collection: %w", err)
	}
	return rec.collection(org), nil
}

// ListCollections returns organisation org's collections ordered by id.
func (s *Store) ListCollections(org string) ([]Collection, error) {
	if err := checkID("org", org); err != nil {
		return nil, err
	}
	if err := s.acquire(); err != nil {
		return nil, err
	}
	defer s.release()
	var out []Collection
	err := s.view(func(txn *badger.Txn) error {
		recs, err := listColls(txn, org)
		for _, r := range recs {
			out = append(out, r.collection(org))
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: list collections: %w", err)
	}
	return out, nil
}

// listColls reads organisation org's live collections, ordered by id.
func listColls(txn *badger.Txn, org string) ([]collRecord, error) {
	it := txn.NewIterator(badger.IteratorOptions{Prefix: orgPrefix(org, tColl, 0), PrefetchValues: true, PrefetchSize: 64})
	defer it.Close()
	var out []collRecord
	for it.Rewind(); it.Valid(); it.Next() {
		var rec collRecord
		if err := it.Item().Value(func(v []byte) error { return json.Unmarshal(v, &rec) }); err != nil {
			return nil, err
		}
		out = append(out, rec)
	}
	return out, nil
}

// CountFaces returns the number of faces in a collection. O(1): a counter kept in the same
// transactions as the faces.
func (s *Store) CountFaces(org, coll string) (int, error) {
	st, _, err := s.collState(org, coll)
	if err != nil {
		return 0, fmt.Errorf("store: count faces: %w", err)
	}
	return int(st.count), nil
}

// LastSeq returns the sequence number of the collection's newest change (0 when none).
func (s *Store) LastSeq(org, coll string) (uint64, error) {
	st, _, err := s.collState(org, coll)
	if err != nil {
		return 0, fmt.Errorf("store: last seq: %w", err)
	}
	return st.lastSeq, nil
}

func (s *Store) collState(org, coll string) (st collState, rec collRecord, err error) {
	if err := checkIDs(org, coll); err != nil {
		return st, rec, err
	}
	if err := s.acquire(); err != nil {
		return st, rec, err
	}
	defer s.release()
	err = s.view(func(txn *badger.Txn) error {
		if rec, err = getColl(txn, org, coll); err != nil {
			return err
		}
		st, err = getState(txn, org, rec.Gen)
		return err
	})
	return st, rec, err
}

// DeleteCollection deletes collection coll with all its faces (their reference and person
// links) and its change log. The collection is gone, and its id free for CreateCollection, as
// soon as the first transaction commits: it removes the record and leaves a sweep marker. The
// faces are then swept in transactions of bounded size; a sweep cut short by a crash or Close
// resumes on the next Open. Sweep errors after the first commit are logged, not returned.
func (s *Store) DeleteCollection(org, coll string) error {
	if err := checkIDs(org, coll); err != nil {
		return err
	}
	if err := s.acquire(); err != nil {
		return err
	}
	defer s.release()
	gen, err := s.markDeleted(org, coll)
	if err != nil {
		return fmt.Errorf("store: delete collection: %w", err)
	}
	s.sweep(org, coll, gen)
	return nil
}

// markDeleted removes collection coll's record and leaves a sweep marker for its generation.
func (s *Store) markDeleted(org, coll string) (gen uint64, err error) {
	err = s.update(func(txn *badger.Txn) error {
		rec, err := getColl(txn, org, coll)
		if err != nil {
			return err
		}
		gen = rec.Gen
		if err := txn.Set(sweepKey(org, gen), []byte(coll)); err != nil {
			return err
		}
		return txn.Delete(collKey(org, coll))
	})
	return gen, err
}

// sweepChunk bounds the faces (three deletes each) or log entries one sweep transaction removes.
const sweepChunk = 2000

// sweep removes everything of collection generation gen, then its marker. It returns early,
// leaving the marker, when the store is closing or a transaction fails.
func (s *Store) sweep(org, coll string, gen uint64) {
	t0 := time.Now()
	var faces, changes int
	for !s.stopping() {
		n, done, err := s.sweepFaces(org, gen)
		faces += n
		if err != nil {
			s.log.Error("sweep faces", "op", "sweep", "org", org, "collection", coll, "err", err)
			return
		}
		if done {
			break
		}
	}
	for !s.stopping() {
		n, done, err := s.sweepLog(org, gen)
		changes += n
		if err != nil {
			s.log.Error("sweep change log", "op", "sweep", "org", org, "collection", coll, "err", err)
			return
		}
		if done {
			break
		}
	}
	if s.stopping() {
		return
	}
	err := s.update(func(txn *badger.Txn) error {
		if err := txn.Delete(stateKey(org, gen)); err != nil {
			return err
		}
		return txn.Delete(sweepKey(org, gen))
	})
	if err != nil {
		s.log.Error("sweep", "op", "sweep", "org", org, "collection", coll, "err", err)
		return
	}
	s.log.Info("collection swept", "op", "sweep", "org", org, "collection", coll, "n", faces,
		"changes", changes, "dur", time.Since(t0))
}

// sweepFaces deletes up to sweepChunk faces of generation gen with their reference and person
// links in one transaction. done reports there were none left.
func (s *Store) sweepFaces(org string, gen uint64) (n int, done bool, err error) {
	err = s.update(func(txn *badger.Txn) error {
		type victim struct {
			key []byte
			h   faceHeader
		}
		var vs []victim
		prefix := facePrefix(org, gen)
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
		for it.Rewind(); it.Valid() && len(vs) < sweepChunk; it.Next() {
			item := it.Item()
			v := victim{key: item.KeyCopy(nil)}
			err := item.Value(func(b []byte) (err error) {
				v.h, err = decodeFaceHeader(b)
				v.h.pid = bytes.Clone(v.h.pid)
				return err
			})
			if err != nil {
				it.Close()
				return err
			}
			vs = append(vs, v)
		}
		it.Close()
		n, done = len(vs), len(vs) == 0
		for _, v := range vs {
			rid := int64(binary.BigEndian.Uint64(v.key[len(prefix):]))
			if err := deleteFaceKeys(txn, org, gen, rid, v.h); err != nil {
				return err
			}
		}
		return nil
	})
	return n, done, err
}

// sweepLog deletes up to 5*sweepChunk change log entries of generation gen.
func (s *Store) sweepLog(org string, gen uint64) (n int, done bool, err error) {
	err = s.update(func(txn *badger.Txn) error {
		keys, err := collectKeys(txn, logPrefix(org, gen), 5*sweepChunk)
		if err != nil {
			return err
		}
		n, done = len(keys), len(keys) == 0
		for _, k := range keys {
			if err := txn.Delete(k); err != nil {
				return err
			}
		}
		return nil
	})
	return n, done, err
}

// collectKeys returns copies of up to max keys under prefix.
func collectKeys(txn *badger.Txn, prefix []byte, max int) ([][]byte, error) {
	it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
	defer it.Close()
	var keys [][]byte
	for it.Rewind(); it.Valid() && len(keys) < max; it.Next() {
		keys = append(keys, it.Item().KeyCopy(nil))
	}
	return keys, nil
}

// resumeSweeps finishes the collection deletes a crash (or Close) interrupted.
func (s *Store) resumeSweeps() {
	if err := s.acquire(); err != nil {
		return
	}
	defer s.release()
	type marker struct {
		org, coll string
		gen       uint64
	}
	var ms []marker
	err := s.view(func(txn *badger.Txn) error {
		prefix := globalKey(gSweep)
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: true})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			k := it.Item().Key()
			if len(k) < len(prefix)+9 || k[len(k)-9] != 0 {
				return fmt.Errorf("corrupt sweep marker %q", k)
			}
			v, err := it.Item().ValueCopy(nil)
			if err != nil {
				return err
			}
			ms = append(ms, marker{
				org:  string(k[len(prefix) : len(k)-9]),
				coll: string(v),
				gen:  binary.BigEndian.Uint64(k[len(k)-8:]),
			})
		}
		return nil
	})
	if err != nil {
		s.log.Error("list pending sweeps", "op", "sweep", "err", err)
		return
	}
	for _, m := range ms {
		if s.stopping() {
			return
		}
		s.log.Info("resuming collection sweep", "op", "sweep", "org", m.org, "collection", m.coll)
		s.sweep(m.org, m.coll, m.gen)
	}
}
