package index

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sync"

	"vigil/index/faiss"
)

// Params configures a collection's index. Zero fields take DefaultParams' values.
type Params struct {
	Dim            int
	M              int     // HNSW links per node
	EfConstruction int     // HNSW build-time beam width
	EfSearch       int     // HNSW search-time beam width
	HNSWThreshold  int     // switch from exact Flat to HNSW once this many vectors are held
	RebuildAt      float64 // rebuild HNSW once tombstones exceed this fraction of stored vectors
}

// DefaultParams returns the defaults measured in bench/RESULTS.md for face embeddings: on 1M
// face-like 128-d vectors, M 64 / efConstruction 60 builds at ~1.4k vectors/s on 2 cores and
// efSearch 384 gives recall@10 ≥ 0.95 (the probe's own samples: 0.999 already at 128). Exact
// search up to 20k faces costs under a millisecond, and exact is exact.
func DefaultParams(dim int) Params {
	return Params{Dim: dim, M: 64, EfConstruction: 60, EfSearch: 384, HNSWThreshold: 20_000, RebuildAt: 0.2}
}

func (p Params) withDefaults() Params {
	d := DefaultParams(p.Dim)
	if p.M <= 0 {
		p.M = d.M
	}
	if p.EfConstruction <= 0 {
		p.EfConstruction = d.EfConstruction
	}
	if p.EfSearch <= 0 {
		p.EfSearch = d.EfSearch
	}
	if p.HNSWThreshold <= 0 {
		p.HNSWThreshold = d.HNSWThreshold
	}
	if p.RebuildAt <= 0 || p.RebuildAt >= 1 {
		p.RebuildAt = d.RebuildAt
	}
	return p
}

// Managed is one collection's FAISS index: exact (IDMap2,Flat) while small, HNSW
// (IDMap2,HNSW<M>,Flat) past Params.HNSWThreshold. FAISS HNSW cannot remove, so deletes there
// become tombstones, filtered out of results by over-fetching, and a background rebuild drops
// them once they pass Params.RebuildAt. Every Add and Delete carries the store's change
// sequence number; the index records the highest applied, skips changes it has already
// applied, and its snapshots include that number, so a restart loads a snapshot and replays
// only later changes.
//
// Safe for concurrent use: searches run in parallel with each other; Add, Delete and the swap
// at the end of a rebuild are exclusive. Caller must Close.
type Managed struct {
	p Params

	mu         sync.RWMutex
	cur        *faiss.Index
	hnsw       bool
	ids        []int64 // ids in FAISS's internal order, tombstoned ones included
	tomb       map[int64]struct{}
	seq        uint64
	rebuilding bool
	pending    []change // applied while a rebuild runs, replayed onto its result
	closed     bool
	rebuildErr error
	wg         sync.WaitGroup
}

type change struct {
	del  bool
	ids  []int64
	vecs []float32
}

// NewManaged returns an empty index.
func NewManaged(p Params) (*Managed, error) {
	if p.Dim <= 0 {
		return nil, fmt.Errorf("%w: dimension %d", ErrDim, p.Dim)
	}
	p = p.withDefaults()
	cur, err := faiss.New(p.Dim, "IDMap2,Flat")
	if err != nil {
		return nil, err
	}
	return &Managed{p: p, cur: cur, tomb: map[int64]struct{}{}}, nil
}

func (m *Managed) newHNSW() (*faiss.Index, error) {
	x, err := faiss.New(m.p.Dim, fmt.Sprintf("IDMap2,HNSW%d,Flat", m.p.M))
	if err != nil {
		return nil, err
	}
	if err := x.SetParam("efConstruction", float64(m.p.EfConstruction)); err != nil {
		x.Close()
		return nil, err
	}
	if err := x.SetParam("efSearch", float64(m.p.EfSearch)); err != nil {
		x.Close()
		return nil, err
	}
	return x, nil
}

// Params returns the index's parameters.
func (m *Managed) Params() Params {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.p
}

func (m *Managed) Dim() int { return m.p.Dim }

// Len is the number of live vectors.
func (m *Managed) Len() int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return len(m.ids) - len(m.tomb)
}

// SetEfSearch changes the HNSW search beam width, for this index and future rebuilds.
func (m *Managed) SetEfSearch(ef int) error {
	if ef <= 0 {
		return fmt.Errorf("index: efSearch %d", ef)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	m.p.EfSearch = ef
	if m.hnsw {
		return m.cur.SetParam("efSearch", float64(ef))
	}
	return nil
}

// MarkApplied records that every change up to seq is reflected, e.g. after loading all of a
// collection's faces from a store scan taken at seq.
func (m *Managed) MarkApplied(seq uint64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.seq = max(m.seq, seq)
}

// Seq is the highest change sequence number applied.
func (m *Managed) Seq() uint64 {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.seq
}

// Stats describes the index's state.
type Stats struct {
	Kind       string // "flat" or "hnsw"
	Live       int
	Tombstones int
	Rebuilding bool
	Bytes      uint64
	Seq        uint64
}

func (m *Managed) Stats() Stats {
	m.mu.RLock()
	defer m.mu.RUnlock()
	s := Stats{Kind: "flat", Live: len(m.ids) - len(m.tomb), Tombstones: len(m.tomb), Rebuilding: m.rebuilding, Seq: m.seq}
	if m.hnsw {
		s.Kind = "hnsw"
	}
	if m.cur != nil {
		s.Bytes = m.cur.Bytes()
	}
	return s
}

// Add inserts vectors as change seq (0: not from the change log, always applied). ids must be
// new; vecs holds len(ids)*Dim floats.
func (m *Managed) Add(seq uint64, ids []int64, vecs []float32) error {
	if len(vecs) != len(ids)*m.p.Dim {
		return fmt.Errorf("%w: %d ids, %d floats, dim %d", ErrDim, len(ids), len(vecs), m.p.Dim)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	if seq != 0 && seq <= m.seq {
		return nil
	}
	if err := m.cur.Add(ids, vecs); err != nil {
		return err
	}
	m.ids = append(m.ids, ids...)
	if m.rebuilding {
		m.pending = append(m.pending, change{ids: slices.Clone(ids), vecs: slices.Clone(vecs)})
	}
	m.seq = max(m.seq, seq)
	if !m.hnsw && !m.rebuilding && len(m.ids)-len(m.tomb) >= m.p.HNSWThreshold {
		m.startRebuild()
	}
	return nil
}

// Delete removes ids as change seq; ids not present are ignored.
func (m *Managed) Delete(seq uint64, ids ...int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	if seq != 0 && seq <= m.seq {
		return nil
	}
	// A rebuild reads the old index's vectors, so while it runs nothing is removed physically.
	if err := m.deleteLocked(m.cur, m.hnsw || m.rebuilding, ids); err != nil {
		return err
	}
	if m.rebuilding {
		m.pending = append(m.pending, change{del: true, ids: slices.Clone(ids)})
	}
	m.seq = max(m.seq, seq)
	if m.hnsw && !m.rebuilding && float64(len(m.tomb)) > m.p.RebuildAt*float64(len(m.ids)) {
		m.startRebuild()
	}
	return nil
}

// deleteLocked removes ids from x, physically or as tombstones.
func (m *Managed) deleteLocked(x *faiss.Index, tombstone bool, ids []int64) error {
	if !tombstone {
		if _, err := x.Remove(ids); err != nil {
			return err
		}
		gone := make(map[int64]struct{}, len(ids))
		for _, id := range ids {
			gone[id] = struct{}{}
		}
		// FAISS compacts IDMap2 keeping order; mirror it.
		m.ids = slices.DeleteFunc(m.ids, func(id int64) bool { _, ok := gone[id]; return ok })
		return nil
	}
	for _, id := range ids {
		if _, dead := m.tomb[id]; dead {
			continue
		}
		if _, err := x.Reconstruct([]int64{id}); err != nil {
			continue // not in the index
		}
		m.tomb[id] = struct{}{}
	}
	return nil
}

func (m *Managed) startRebuild() {
	m.rebuilding = true
	m.pending = nil
	live := make([]int64, 0, len(m.ids)-len(m.tomb))
	for _, id := range m.ids {
		if _, dead := m.tomb[id]; !dead {
			live = append(live, id)
		}
	}
	m.wg.Add(1)
	go m.rebuild(m.cur, live)
}

// rebuild builds a fresh HNSW index of live (read from old, which stays in service meanwhile).
// Changes made meanwhile queue in m.pending; it replays them onto the new index in rounds
// without the lock, so searches and writes go on against old during the catch-up, and only the
// last short round and the swap run under the write lock.
func (m *Managed) rebuild(old *faiss.Index, live []int64) {
	defer m.wg.Done()
	x, err := m.newHNSW()
	const chunk = 50_000
	for i := 0; err == nil && i < len(live); i += chunk {
		ids := live[i:min(i+chunk, len(live))]
		var vecs []float32
		if vecs, err = old.Reconstruct(ids); err == nil {
			err = x.Add(ids, vecs)
		}
	}
	ids, tomb := live, map[int64]struct{}{}
	// Catch up until what is left is small enough to replay under the lock; give up the
	// rounds if writers outpace the build (the last round then takes longer, never forever).
	const lockedReplay, maxRounds = 2048, 1000
	for round := 0; err == nil && round < maxRounds; round++ {
		m.mu.Lock()
		if m.closed || pendingLen(m.pending) <= lockedReplay {
			m.mu.Unlock()
			break
		}
		batch := m.pending
		m.pending = nil
		m.mu.Unlock()
		ids, err = replay(x, batch, ids, tomb)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.rebuilding = false
	pending := m.pending
	m.pending = nil
	if err == nil && !m.closed {
		ids, err = replay(x, pending, ids, tomb)
	}
	if err != nil || m.closed {
		m.rebuildErr = err
		if x != nil {
			x.Close()
		}
		return
	}
	m.cur.Close()
	m.cur, m.hnsw, m.ids, m.tomb, m.rebuildErr = x, true, ids, tomb, nil
}

// replay applies changes to x, an index no one else uses yet: adds go in, deletes of ids it
// holds become tombstones. It returns ids with the added ones appended.
func replay(x *faiss.Index, changes []change, ids []int64, tomb map[int64]struct{}) ([]int64, error) {
	for _, c := range changes {
		if c.del {
			for _, id := range c.ids {
				if _, err := x.Reconstruct([]int64{id}); err == nil {
					tomb[id] = struct{}{}
				}
			}
			continue
		}
		if err := x.Add(c.ids, c.vecs); err != nil {
			return ids, err
		}
		ids = append(ids, c.ids...)
	}
	return ids, nil
}

// pendingLen is the number of ids in changes.
func pendingLen(changes []change) int {
	n := 0
	for _, c := range changes {
		n += len(c.ids)
	}
	return n
}

// WaitRebuild blocks until no rebuild runs and returns the last rebuild's error.
func (m *Managed) WaitRebuild() error {
	m.wg.Wait()
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.rebuildErr
}

// Search returns up to k live hits for one query, best first.
func (m *Managed) Search(q []float32, k int) ([]Hit, error) {
	res, err := m.SearchBatch(q, k)
	if err != nil {
		return nil, err
	}
	return res[0], nil
}

// SearchBatch runs len(qs)/Dim queries in one FAISS call. With tombstones present it asks FAISS
// for more than k and doubles that until every query has k live hits or the index is exhausted.
func (m *Managed) SearchBatch(qs []float32, k int) ([][]Hit, error) {
	if k <= 0 {
		return nil, ErrK
	}
	if len(qs) == 0 || len(qs)%m.p.Dim != 0 {
		return nil, fmt.Errorf("%w: %d floats, dim %d", ErrDim, len(qs), m.p.Dim)
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.closed {
		return nil, ErrClosed
	}
	nq := len(qs) / m.p.Dim
	out := make([][]Hit, nq)
	if len(m.ids) == 0 {
		return out, nil
	}
	fetch := k
	if len(m.tomb) > 0 {
		frac := float64(len(m.tomb)) / float64(len(m.ids))
		fetch = int(math.Ceil(float64(k)/(1-frac))) + 8
	}
	for {
		fetch = min(fetch, len(m.ids))
		scores, ids, err := m.cur.Search(qs, fetch)
		if err != nil {
			return nil, err
		}
		short := false
		for q := range nq {
			hits := out[q][:0]
			for j := q * fetch; j < (q+1)*fetch && len(hits) < k; j++ {
				id := ids[j]
				if id < 0 {
					break
				}
				if _, dead := m.tomb[id]; dead {
					continue
				}
				hits = append(hits, Hit{ID: id, Score: scores[j]})
			}
			out[q] = hits
			short = short || len(hits) < min(k, len(m.ids)-len(m.tomb))
		}
		if !short || fetch == len(m.ids) {
			return out, nil
		}
		fetch *= 2
	}
}

const snapMagic = "VGIDX002"

// ErrCorrupt marks a snapshot that fails its checks; the caller rebuilds from the store.
var ErrCorrupt = errors.New("index: corrupt snapshot")

// Save writes a snapshot as two files: path+".faiss" (FAISS's own format, streamed by FAISS)
// and path (the metadata: applied sequence number, kind, ids, tombstones, and the size and
// CRC32 of the FAISS file; CRC-protected itself). Each is written to a temporary file, synced
// and renamed, the metadata last, so a crash at any point leaves either the old snapshot or a
// pair that fails its checks. It holds the read lock: searches go on, writers wait. It returns
// the sequence number the snapshot includes.
func (m *Managed) Save(path string) (uint64, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.closed {
		return 0, ErrClosed
	}
	blob := path + ".faiss"
	if err := m.cur.WriteFile(blob + ".tmp"); err != nil {
		return 0, err
	}
	size, sum, err := syncAndSum(blob + ".tmp")
	if err == nil {
		err = os.Rename(blob+".tmp", blob)
	}
	if err != nil {
		os.Remove(blob + ".tmp")
		return 0, err
	}
	le := binary.LittleEndian
	hnsw := uint64(0)
	if m.hnsw {
		hnsw = 1
	}
	b := make([]byte, 0, 64+8*(len(m.ids)+len(m.tomb)))
	b = append(b, snapMagic...)
	for _, v := range []uint64{m.seq, hnsw, uint64(m.p.Dim), uint64(len(m.ids)), uint64(len(m.tomb)), uint64(size), uint64(sum)} {
		b = le.AppendUint64(b, v)
	}
	for _, id := range m.ids {
		b = le.AppendUint64(b, uint64(id))
	}
	for id := range m.tomb {
		b = le.AppendUint64(b, uint64(id))
	}
	b = le.AppendUint32(b, crc32.ChecksumIEEE(b))
	if err := writeFileSync(path, b); err != nil {
		return 0, err
	}
	return m.seq, syncDir(filepath.Dir(path))
}

// Load restores an index saved by Save. p supplies the tuning parameters (M and
// efConstruction matter for future rebuilds; efSearch is applied now).
func Load(path string, p Params) (*Managed, error) {
	meta, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	le := binary.LittleEndian
	const hdr = 8 + 7*8
	if len(meta) < hdr+4 || string(meta[:8]) != snapMagic {
		return nil, fmt.Errorf("%w: %s: bad header", ErrCorrupt, path)
	}
	body := meta[:len(meta)-4]
	if crc32.ChecksumIEEE(body) != le.Uint32(meta[len(meta)-4:]) {
		return nil, fmt.Errorf("%w: %s: checksum", ErrCorrupt, path)
	}
	var h [7]uint64
	for i := range h {
		h[i] = le.Uint64(body[8+8*i:])
	}
	seq, hnsw, dim, nids, ntomb, size, sum := h[0], h[1], h[2], h[3], h[4], h[5], h[6]
	rest := body[hdr:]
	if int(dim) != p.Dim || uint64(len(rest)) != 8*(nids+ntomb) {
		return nil, fmt.Errorf("%w: %s: dimension %d (want %d) or length mismatch", ErrCorrupt, path, dim, p.Dim)
	}
	gotSize, gotSum, err := sumFile(path + ".faiss")
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	if uint64(gotSize) != size || uint64(gotSum) != sum {
		return nil, fmt.Errorf("%w: %s.faiss does not match its metadata", ErrCorrupt, path)
	}
	m := &Managed{p: p.withDefaults(), hnsw: hnsw == 1, seq: seq, ids: make([]int64, nids), tomb: make(map[int64]struct{}, ntomb)}
	for i := range m.ids {
		m.ids[i] = int64(le.Uint64(rest[8*i:]))
	}
	rest = rest[8*nids:]
	for i := uint64(0); i < ntomb; i++ {
		m.tomb[int64(le.Uint64(rest[8*i:]))] = struct{}{}
	}
	cur, err := faiss.ReadFile(path + ".faiss")
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	if cur.Len() != int64(nids) || cur.Dim() != p.Dim {
		cur.Close()
		return nil, fmt.Errorf("%w: index holds %d vectors, metadata says %d", ErrCorrupt, cur.Len(), nids)
	}
	if m.hnsw {
		if err := cur.SetParam("efSearch", float64(m.p.EfSearch)); err != nil {
			cur.Close()
			return nil, err
		}
	}
	m.cur = cur
	return m, nil
}

// RemoveSnapshot deletes the files Save wrote at path.
func RemoveSnapshot(path string) error {
	return errors.Join(ignoreMissing(os.Remove(path)), ignoreMissing(os.Remove(path+".faiss")))
}

func ignoreMissing(err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

func syncAndSum(path string) (int64, uint32, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return 0, 0, err
	}
	h := crc32.NewIEEE()
	n, err := io.Copy(h, bufio.NewReaderSize(f, 1<<20))
	return n, h.Sum32(), err
}

func sumFile(path string) (int64, uint32, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	h := crc32.NewIEEE()
	n, err := io.Copy(h, bufio.NewReaderSize(f, 1<<20))
	return n, h.Sum32(), err
}

func writeFileSync(path string, b []byte) error {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Close waits for a running rebuild to finish and frees the index. Idempotent.
func (m *Managed) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	m.mu.Unlock()
	m.wg.Wait()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.cur.Close()
	m.cur = nil
	return nil
}
