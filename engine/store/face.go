package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// MaxBatch is the most faces one AddFaces call takes. A batch is one transaction, so it is
// atomic: all its faces are committed or none. Bulk importers send batches of at most MaxBatch.
const MaxBatch = 1000

// Face is one enrolled face: an L2-normalised embedding in a collection, optionally of a person.
type Face struct {
	RecordID     int64  // assigned by the store: unique in the database, never reused, > 0; the index id
	ReferenceID  string // assigned by the store: random UUID v4, the id clients see
	PersonID     string // optional ("" = no person)
	CollectionID string
	Embedding    []float32 // Dimension floats, unit L2 norm
	DetScore     float32   // detector confidence
	Quality      float32
	CreatedAt    time.Time // assigned by the store unless set (imports keep theirs)
}

// FaceRef names a face removed by DeletePerson, with the Seq of its delete change (0 when its
// collection was itself being deleted and so has no log).
type FaceRef struct {
	CollectionID string
	RecordID     int64
	Seq          uint64
}

// Op is a change log operation.
type Op uint8

// Change log operations.
const (
	OpAdd    Op = 1
	OpDelete Op = 2
)

func (o Op) String() string {
	switch o {
	case OpAdd:
		return "add"
	case OpDelete:
		return "delete"
	}
	return fmt.Sprintf("Op(%d)", uint8(o))
}

// Change is one entry of a collection's change log.
type Change struct {
	Seq      uint64
	Op       Op
	RecordID int64
}

// addBatch is an AddFaces batch encoded for one collection generation: everything but the
// change log entry, whose key depends on the seq the transaction reads.
type addBatch struct {
	gen     uint64
	out     []Face
	keys    [][3][]byte // face, ref, person->face (nil without a person)
	vals    [][]byte    // face records
	refVals [][]byte
	collVal []byte // person->face value
	changes []byte // the batch's change log value: n x (op, rid)
}

// AddFaces adds faces to collection coll of organisation org in one transaction, with one add
// change each, and returns them with RecordID, ReferenceID, CollectionID, CreatedAt and the
// normalised Embedding set (the inputs are not modified) plus the Seq of the batch's last
// change (the batch has the len(faces) seqs ending there, in order). It returns only after the
// commit, so returned faces are durable (see Options.SyncWrites). On any error nothing was
// written. Each embedding must have the collection's dimension and be finite and non-zero
// (ErrBadEmbedding); more than MaxBatch faces is ErrBatchTooLarge. A face's CollectionID must
// be empty or coll, its PersonID empty or an id; the person record need not exist.
func (s *Store) AddFaces(org, coll string, faces []Face) ([]Face, uint64, error) {
	if err := checkIDs(org, coll); err != nil {
		return nil, 0, err
	}
	if len(faces) > MaxBatch {
		return nil, 0, fmt.Errorf("store: add %d faces (max %d): %w", len(faces), MaxBatch, ErrBatchTooLarge)
	}
	for i := range faces {
		f := &faces[i]
		if f.PersonID != "" {
			if err := checkID("person", f.PersonID); err != nil {
				return nil, 0, fmt.Errorf("face %d: %w", i, err)
			}
		}
		if f.CollectionID != "" && f.CollectionID != coll {
			return nil, 0, fmt.Errorf("store: face %d: collection %q in a batch for %q: %w", i, f.CollectionID, coll, ErrInvalidID)
		}
	}
	if len(faces) == 0 {
		seq, err := s.LastSeq(org, coll)
		return []Face{}, seq, err
	}
	if err := s.acquire(); err != nil {
		return nil, 0, err
	}
	defer s.release()
	mu := s.collLock(org, coll)
	mu.Lock()
	defer mu.Unlock()

	var b *addBatch
	var last uint64
	err := s.update(func(txn *badger.Txn) error {
		rec, err := getColl(txn, org, coll)
		if err != nil {
			return err
		}
		if b == nil || b.gen != rec.Gen {
			if b, err = s.prepareAdd(org, coll, rec, faces); err != nil {
				return err
			}
		}
		for i := range b.out {
			k := b.keys[i]
			if err := txn.Set(k[0], b.vals[i]); err != nil {
				return err
			}
			if err := txn.Set(k[1], b.refVals[i]); err != nil {
				return err
			}
			if k[2] != nil {
				if err := txn.Set(k[2], b.collVal); err != nil {
					return err
				}
			}
		}
		last, err = appendChanges(txn, org, rec.Gen, b.changes, len(b.out), len(b.out))
		return err
	})
	if err != nil {
		return nil, 0, fmt.Errorf("store: add faces: %w", err)
	}
	return b.out, last, nil
}

// prepareAdd validates, normalises and encodes faces for collection rec and assigns their ids.
func (s *Store) prepareAdd(org, coll string, rec collRecord, faces []Face) (*addBatch, error) {
	n, dim := len(faces), rec.Dimension
	b := &addBatch{gen: rec.Gen, out: make([]Face, n), keys: make([][3][]byte, n), vals: make([][]byte, n),
		refVals: make([][]byte, n), collVal: []byte(coll), changes: make([]byte, n*changeSize)}
	embs := make([]float32, n*dim)
	valSize := 0
	keySize := 0
	kp := len(org) + 3 // "O" org 00 tag
	for i := range faces {
		f := &faces[i]
		if len(f.Embedding) != dim {
			return nil, fmt.Errorf("face %d: %d floats for dimension %d: %w", i, len(f.Embedding), dim, ErrBadEmbedding)
		}
		if err := normalize(embs[i*dim:(i+1)*dim], f.Embedding); err != nil {
			return nil, fmt.Errorf("face %d: %w", i, err)
		}
		valSize += faceSize(len(f.PersonID), dim)
		keySize += 2 * (kp + 16)
		if f.PersonID != "" {
			keySize += kp + len(f.PersonID) + 17
		}
	}
	refs, err := newRefs(n)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	// One allocation each for all values, reference values and keys of the batch.
	vals := make([]byte, valSize)
	refVals := make([]byte, 0, n*(16+len(coll)))
	keys := make([]byte, 0, keySize)
	cut := func(start int) []byte { return keys[start:len(keys):len(keys)] }
	for i := range faces {
		o := &b.out[i]
		*o = faces[i]
		o.CollectionID = coll
		o.Embedding = embs[i*dim : (i+1)*dim : (i+1)*dim]
		o.ReferenceID = formatUUID(refs[i])
		if o.CreatedAt.IsZero() {
			o.CreatedAt = now
		}
		o.CreatedAt = time.Unix(0, o.CreatedAt.UnixNano()).UTC() // exactly what a read returns
		id, err := s.nextFaceID()
		if err != nil {
			return nil, err
		}
		o.RecordID = id
		putChange(b.changes[i*changeSize:], OpAdd, id)

		sz := faceSize(len(o.PersonID), dim)
		encodeFace(vals[:sz:sz], refs[i], o)
		b.vals[i], vals = vals[:sz:sz], vals[sz:]
		start := len(refVals)
		refVals = binary.LittleEndian.AppendUint64(refVals, rec.Gen)
		refVals = binary.LittleEndian.AppendUint64(refVals, uint64(id))
		refVals = append(refVals, coll...)
		b.refVals[i] = refVals[start:len(refVals):len(refVals)]

		start = len(keys)
		keys = appendOrgPrefix(keys, org, tFace)
		keys = be64(be64(keys, rec.Gen), uint64(id))
		b.keys[i][0] = cut(start)
		start = len(keys)
		keys = append(appendOrgPrefix(keys, org, tRef), refs[i][:]...)
		b.keys[i][1] = cut(start)
		if o.PersonID != "" {
			start = len(keys)
			keys = append(append(appendOrgPrefix(keys, org, tPersonFce), o.PersonID...), 0)
			keys = be64(be64(keys, rec.Gen), uint64(id))
			b.keys[i][2] = cut(start)
		}
	}
	return b, nil
}

func (s *Store) nextFaceID() (int64, error) {
	for {
		id, err := s.faceID.Next()
		if err != nil {
			return 0, fmt.Errorf("face id: %w", err)
		}
		if id > 0 && id <= 1<<62 { // 0 is "unset"; the cap keeps ids far from FAISS's -1 and overflow
			return int64(id), nil
		}
		if id > 1<<62 {
			return 0, errors.New("BUG: face id sequence exhausted")
		}
	}
}

// deleteFaceKeys deletes face rid of generation gen, its reference and its person link.
func deleteFaceKeys(txn *badger.Txn, org string, gen uint64, rid int64, h faceHeader) error {
	if err := txn.Delete(faceKey(org, gen, rid)); err != nil {
		return err
	}
	if err := txn.Delete(refKey(org, h.ref)); err != nil {
		return err
	}
	if len(h.pid) > 0 {
		return txn.Delete(personFaceKey(org, string(h.pid), gen, rid))
	}
	return nil
}

// readFaceHeader reads face rid's header (copying what it keeps), or ErrNotFound.
func readFaceHeader(txn *badger.Txn, org string, gen uint64, rid int64) (faceHeader, error) {
	var h faceHeader
	item, err := txn.Get(faceKey(org, gen, rid))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return h, fmt.Errorf("face %d: %w", rid, ErrNotFound)
	}
	if err != nil {
		return h, err
	}
	err = item.Value(func(v []byte) (err error) {
		h, err = decodeFaceHeader(v)
		h.pid = append([]byte(nil), h.pid...)
		return err
	})
	return h, err
}

// appendChanges appends the n changes encoded in group (n x changeSize bytes) to the log of
// generation gen as one entry keyed by its last seq, and updates the collection state: count
// grows by added (negative for deletes). It returns the last seq. Reading and rewriting the
// state key makes concurrent writers of the collection conflict, so commit order is seq order.
func appendChanges(txn *badger.Txn, org string, gen uint64, group []byte, n, added int) (uint64, error) {
	st, err := getState(txn, org, gen)
	if err != nil {
		return 0, err
	}
	if int64(st.count)+int64(added) < 0 {
		return 0, errors.New("BUG: face count would go negative")
	}
	st.count = uint64(int64(st.count) + int64(added))
	st.lastSeq += uint64(n)
	if err := txn.Set(logKey(org, gen, st.lastSeq), group); err != nil {
		return 0, err
	}
	return st.lastSeq, txn.Set(stateKey(org, gen), st.encode())
}

// DeleteFace deletes face recordID of collection coll with its reference and person link, and
// appends a delete change; it returns that change's seq. ErrNotFound if there is no such face.
func (s *Store) DeleteFace(org, coll string, recordID int64) (uint64, error) {
	if err := checkIDs(org, coll); err != nil {
		return 0, err
	}
	if err := s.acquire(); err != nil {
		return 0, err
	}
	defer s.release()
	mu := s.collLock(org, coll)
	mu.Lock()
	defer mu.Unlock()
	var seq uint64
	err := s.update(func(txn *badger.Txn) error {
		rec, err := getColl(txn, org, coll)
		if err != nil {
			return err
		}
		h, err := readFaceHeader(txn, org, rec.Gen, recordID)
		if err != nil {
			return err
		}
		if err := deleteFaceKeys(txn, org, rec.Gen, recordID, h); err != nil {
			return err
		}
		seq, err = appendChanges(txn, org, rec.Gen, encodeChange(OpDelete, recordID), 1, -1)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("store: delete face: %w", err)
	}
	return seq, nil
}

// GetFace returns face recordID of collection coll, or ErrNotFound.
func (s *Store) GetFace(org, coll string, recordID int64) (Face, error) {
	if err := checkIDs(org, coll); err != nil {
		return Face{}, err
	}
	if err := s.acquire(); err != nil {
		return Face{}, err
	}
	defer s.release()
	var f Face
	err := s.view(func(txn *badger.Txn) error {
		rec, err := getColl(txn, org, coll)
		if err != nil {
			return err
		}
		return readFace(txn, org, rec, recordID, &f)
	})
	if err != nil {
		return Face{}, fmt.Errorf("store: get face: %w", err)
	}
	return f, nil
}

func readFace(txn *badger.Txn, org string, rec collRecord, rid int64, f *Face) error {
	item, err := txn.Get(faceKey(org, rec.Gen, rid))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return fmt.Errorf("face %d: %w", rid, ErrNotFound)
	}
	if err != nil {
		return err
	}
	f.RecordID, f.CollectionID = rid, rec.ID
	return item.Value(func(v []byte) error { return decodeFace(f, v, make([]float32, rec.Dimension)) })
}

// GetFaceByRef returns the face with ReferenceID ref in any collection of organisation org, or
// ErrNotFound. A malformed ref is ErrInvalidID.
func (s *Store) GetFaceByRef(org, ref string) (Face, error) {
	if err := checkID("org", org); err != nil {
		return Face{}, err
	}
	r, err := parseRef(ref)
	if err != nil {
		return Face{}, fmt.Errorf("store: %w", err)
	}
	if err := s.acquire(); err != nil {
		return Face{}, err
	}
	defer s.release()
	var f Face
	err = s.view(func(txn *badger.Txn) error {
		v, err := get(txn, refKey(org, r))
		if err != nil {
			return fmt.Errorf("reference: %w", err)
		}
		gen, rid, coll, err := decodeRef(v)
		if err != nil {
			return err
		}
		rec, err := getColl(txn, org, coll)
		if err != nil {
			return err
		}
		if rec.Gen != gen { // the face's collection was deleted (and maybe created again)
			return fmt.Errorf("reference: %w", ErrNotFound)
		}
		return readFace(txn, org, rec, rid, &f)
	})
	if err != nil {
		return Face{}, fmt.Errorf("store: get face by reference: %w", err)
	}
	return f, nil
}

// scanArena is how many embeddings ScanFaces allocates at once.
const scanArena = 1024

// ScanFaces calls fn with every face of collection coll in RecordID order, from one consistent
// snapshot, and returns the collection's LastSeq as of that snapshot: an index rebuilt from the
// scan then catches up with Changes(afterSeq = that seq). fn may keep the Face (its Embedding
// is not reused); an error from fn stops the scan and is returned. Meant for full rebuilds:
// embeddings are copied once, straight out of badger's buffers into arenas of 1024, and the
// only other per-face allocations are the PersonID and ReferenceID strings.
func (s *Store) ScanFaces(org, coll string, fn func(Face) error) (uint64, error) {
	if err := checkIDs(org, coll); err != nil {
		return 0, err
	}
	if err := s.acquire(); err != nil {
		return 0, err
	}
	defer s.release()
	var last uint64
	err := s.view(func(txn *badger.Txn) error {
		rec, err := getColl(txn, org, coll)
		if err != nil {
			return err
		}
		st, err := getState(txn, org, rec.Gen)
		if err != nil {
			return err
		}
		last = st.lastSeq
		prefix, dim := facePrefix(org, rec.Gen), rec.Dimension
		// No value prefetch: it copies every value into a fresh buffer from helper goroutines,
		// while Item.Value hands out the LSM block or the mmapped value log in place. Measured
		// on 200k 128-d faces, prefetching halves the scan rate with embeddings in the value log.
		opts := badger.IteratorOptions{Prefix: prefix}
		it := txn.NewIterator(opts)
		defer it.Close()
		var arena []float32
		for it.Rewind(); it.Valid(); it.Next() {
			item := it.Item()
			if len(arena) < dim {
				arena = make([]float32, scanArena*dim)
			}
			emb := arena[:dim:dim]
			arena = arena[dim:]
			f := Face{RecordID: int64(binary.BigEndian.Uint64(item.Key()[len(prefix):])), CollectionID: coll}
			if err := item.Value(func(v []byte) error { return decodeFace(&f, v, emb) }); err != nil {
				return err
			}
			if err := fn(f); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("store: scan faces: %w", err)
	}
	return last, nil
}

// Changes calls fn with each change of collection coll's log after afterSeq, in seq order, from
// one consistent snapshot. An error from fn stops it and is returned. ErrTrimmed if TrimChanges
// already dropped some of those changes: rebuild from ScanFaces instead.
func (s *Store) Changes(org, coll string, afterSeq uint64, fn func(Change) error) error {
	if err := checkIDs(org, coll); err != nil {
		return err
	}
	if err := s.acquire(); err != nil {
		return err
	}
	defer s.release()
	err := s.view(func(txn *badger.Txn) error {
		rec, err := getColl(txn, org, coll)
		if err != nil {
			return err
		}
		st, err := getState(txn, org, rec.Gen)
		if err != nil {
			return err
		}
		if afterSeq < st.trimmed {
			return fmt.Errorf("after %d, log starts after %d: %w", afterSeq, st.trimmed, ErrTrimmed)
		}
		// Entries hold groups of changes keyed by their last seq: the first entry at or after
		// afterSeq+1 is the one holding afterSeq+1.
		prefix := logPrefix(org, rec.Gen)
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
		defer it.Close()
		var buf []byte
		for it.Seek(logKey(org, rec.Gen, afterSeq+1)); it.Valid(); it.Next() {
			item := it.Item()
			last := binary.BigEndian.Uint64(item.Key()[len(prefix):])
			// Copy the group out: fn may be slow, and a value in the value log stays read-locked
			// (holding up value log GC) while Item.Value's callback runs.
			if buf, err = item.ValueCopy(buf[:0]); err != nil {
				return err
			}
			n := uint64(len(buf) / changeSize)
			if n == 0 || len(buf)%changeSize != 0 || n > last {
				return fmt.Errorf("corrupt change log entry %d", last)
			}
			for i, seq := uint64(0), last-n+1; i < n; i, seq = i+1, seq+1 {
				if seq <= afterSeq {
					continue
				}
				c := buf[i*changeSize:]
				if err := fn(Change{Seq: seq, Op: Op(c[0]), RecordID: int64(binary.LittleEndian.Uint64(c[1:]))}); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: changes: %w", err)
	}
	return nil
}

// TrimChanges drops collection coll's change log entries with seq <= uptoSeq (clamped to
// LastSeq), once an index snapshot covers them. Later Changes calls with an afterSeq below
// uptoSeq get ErrTrimmed. Large trims take several transactions; the cut-off is recorded first.
// (Changes are stored in groups, one per AddFaces batch; a group reaching past uptoSeq is kept
// whole until a later trim covers it.)
func (s *Store) TrimChanges(org, coll string, uptoSeq uint64) error {
	if err := checkIDs(org, coll); err != nil {
		return err
	}
	if err := s.acquire(); err != nil {
		return err
	}
	defer s.release()
	var gen, upto uint64
	mu := s.collLock(org, coll)
	mu.Lock()
	err := s.update(func(txn *badger.Txn) error {
		rec, err := getColl(txn, org, coll)
		if err != nil {
			return err
		}
		st, err := getState(txn, org, rec.Gen)
		if err != nil {
			return err
		}
		gen, upto = rec.Gen, max(st.trimmed, min(uptoSeq, st.lastSeq))
		if upto == st.trimmed {
			return nil
		}
		st.trimmed = upto
		return txn.Set(stateKey(org, rec.Gen), st.encode())
	})
	mu.Unlock()
	if err != nil {
		return fmt.Errorf("store: trim changes: %w", err)
	}
	// Nobody writes these keys any more: delete them outside the collection lock, from the
	// start of the log so entries an interrupted earlier trim left behind go too.
	prefix := logPrefix(org, gen)
	for done := false; !done; {
		err := s.update(func(txn *badger.Txn) error {
			keys, err := collectKeys(txn, prefix, 5*sweepChunk)
			if err != nil {
				return err
			}
			done = true
			for _, k := range keys {
				if binary.BigEndian.Uint64(k[len(prefix):]) > upto {
					break
				}
				if err := txn.Delete(k); err != nil {
					return err
				}
				done = false
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("store: trim changes: %w", err)
		}
	}
	return nil
}
