// Package catalog keeps one live vector index per stored collection in step with the store,
// which stays the source of truth. Writes commit to the store first and are acknowledged only
// after the commit; the index is then updated in the same order as the store's change log.
// Index snapshots are saved in the background with the change sequence number they include;
// on open each collection loads its snapshot and replays later changes, or rebuilds from a full
// scan when the snapshot is missing, stale or corrupt. It imports index and engine/store only.
package catalog

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"vigil/engine/store"
	"vigil/index"
)

// Options configures a Catalog.
type Options struct {
	SnapshotDir   string        // where index snapshots live
	SnapshotEvery time.Duration // how often changed indexes are saved (0: only on Close)
}

// DefaultOptions returns the defaults for a data directory.
func DefaultOptions(dataDir string) Options {
	return Options{SnapshotDir: filepath.Join(dataDir, "index"), SnapshotEvery: 30 * time.Second}
}

// ErrNotFound is returned for an unknown collection (also another organisation's).
var ErrNotFound = store.ErrNotFound

// Catalog owns every collection's index. Safe for concurrent use; Close once at the end.
type Catalog struct {
	st   *store.Store
	opt  Options
	log  *slog.Logger
	mu   sync.RWMutex
	cols map[key]*collection
	stop chan struct{}
	done sync.WaitGroup
}

type key struct{ org, id string }

// collection pairs a stored collection with its index. wmu serialises writers: each commits to
// the store and queues the change for the applier under it, so the index applies changes in
// commit order; searches take only the index's own read lock.
type collection struct {
	meta    store.Collection
	wmu     sync.Mutex
	idx     *index.Managed
	app     *applier
	snapSeq uint64 // sequence number of the last saved snapshot; guarded by snapMu
	snapMu  sync.Mutex
}

// Open loads every collection of every organisation in st.
func Open(st *store.Store, opt Options, log *slog.Logger) (*Catalog, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(opt.SnapshotDir, 0o750); err != nil {
		return nil, fmt.Errorf("catalog: %w", err)
	}
	c := &Catalog{st: st, opt: opt, log: log, cols: map[key]*collection{}, stop: make(chan struct{})}
	orgs, err := st.ListOrgs()
	if err != nil {
		return nil, err
	}
	for _, o := range orgs {
		metas, err := st.ListCollections(o.ID)
		if err != nil {
			c.Close()
			return nil, err
		}
		for _, m := range metas {
			col, err := c.load(m)
			if err != nil {
				c.Close()
				return nil, fmt.Errorf("catalog: collection %s/%s: %w", m.OrgID, m.ID, err)
			}
			c.cols[key{m.OrgID, m.ID}] = col
		}
	}
	if opt.SnapshotEvery > 0 {
		c.done.Add(1)
		go c.snapshotLoop()
	}
	return c, nil
}

// Params maps a stored collection's settings onto index parameters.
func Params(m store.Collection) index.Params {
	return index.Params{Dim: m.Dimension, M: m.Index.M, EfConstruction: m.Index.EfConstruction,
		EfSearch: m.Index.EfSearch, HNSWThreshold: m.Index.ExactMax}
}

// snapPath names a collection's snapshot; the generation keeps a re-created collection from
// loading its predecessor's index.
func (c *Catalog) snapPath(m store.Collection) string {
	return filepath.Join(c.opt.SnapshotDir, m.OrgID, fmt.Sprintf("%s.%d.idx", m.ID, m.Generation))
}

// load restores a collection's index from its snapshot plus the change log, or from a scan.
func (c *Catalog) load(m store.Collection) (*collection, error) {
	start := time.Now()
	p := Params(m)
	how := "snapshot"
	idx, err := index.Load(c.snapPath(m), p)
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			c.log.Warn("index snapshot unusable; rebuilding from the store", "op", "load", "org", m.OrgID, "collection", m.ID, "err", err)
		}
		how = "rebuild"
		if idx, err = c.rebuild(m, p); err != nil {
			return nil, err
		}
	}
	snapSeq := idx.Seq()
	if how == "rebuild" {
		snapSeq = 0
	}
	replayed, err := c.catchUp(m, idx)
	if errors.Is(err, store.ErrTrimmed) && how == "snapshot" {
		// The snapshot is older than the trimmed log: only a full rebuild is correct.
		idx.Close()
		how = "rebuild"
		if idx, err = c.rebuild(m, p); err == nil {
			replayed, err = c.catchUp(m, idx)
		}
	}
	if err != nil {
		idx.Close()
		return nil, err
	}
	if err := c.checkCount(m, idx); err != nil {
		idx.Close()
		return nil, err
	}
	c.log.Info("collection loaded", "op", "load", "org", m.OrgID, "collection", m.ID, "from", how,
		"faces", idx.Len(), "replayed", replayed, "dur", time.Since(start).String())
	return &collection{meta: m, idx: idx, app: newApplier(idx, c.log), snapSeq: snapSeq}, nil
}

// rebuild builds a collection's index from a full store scan, adding in large batches.
func (c *Catalog) rebuild(m store.Collection, p index.Params) (*index.Managed, error) {
	idx, err := index.NewManaged(p)
	if err != nil {
		return nil, err
	}
	const batch = 20_000
	ids := make([]int64, 0, batch)
	vecs := make([]float32, 0, batch*p.Dim)
	flush := func() error {
		err := idx.Add(0, ids, vecs)
		ids, vecs = ids[:0], vecs[:0]
		return err
	}
	seq, err := c.st.ScanFaces(m.OrgID, m.ID, func(f store.Face) error {
		ids = append(ids, f.RecordID)
		vecs = append(vecs, f.Embedding...)
		if len(ids) == batch {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err == nil {
		err = idx.WaitRebuild()
	}
	if err != nil {
		idx.Close()
		return nil, err
	}
	idx.MarkApplied(seq)
	return idx, nil
}

// catchUp applies the change log after the index's sequence number, batching runs of adds.
func (c *Catalog) catchUp(m store.Collection, idx *index.Managed) (int, error) {
	var (
		n       int
		runSeq  uint64
		runIDs  []int64
		runVecs []float32
	)
	flush := func() error {
		if len(runIDs) == 0 {
			return nil
		}
		err := idx.Add(runSeq, runIDs, runVecs)
		runIDs, runVecs = runIDs[:0], runVecs[:0]
		return err
	}
	err := c.st.Changes(m.OrgID, m.ID, idx.Seq(), func(ch store.Change) error {
		n++
		switch ch.Op {
		case store.OpAdd:
			f, err := c.st.GetFace(m.OrgID, m.ID, ch.RecordID)
			if errors.Is(err, store.ErrNotFound) {
				return nil // deleted later in the log; its delete change follows
			}
			if err != nil {
				return err
			}
			runSeq = ch.Seq
			runIDs = append(runIDs, f.RecordID)
			runVecs = append(runVecs, f.Embedding...)
			return nil
		case store.OpDelete:
			if err := flush(); err != nil {
				return err
			}
			return idx.Delete(ch.Seq, ch.RecordID)
		}
		return fmt.Errorf("unknown change op %v", ch.Op)
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		return n, err
	}
	last, err := c.st.LastSeq(m.OrgID, m.ID)
	if err == nil {
		idx.MarkApplied(last)
	}
	return n, err
}

// checkCount verifies the invariant every load must end in: index count == store count.
func (c *Catalog) checkCount(m store.Collection, idx *index.Managed) error {
	n, err := c.st.CountFaces(m.OrgID, m.ID)
	if err != nil {
		return err
	}
	if n != idx.Len() {
		return fmt.Errorf("index holds %d faces, store %d", idx.Len(), n)
	}
	return nil
}

func (c *Catalog) get(org, id string) (*collection, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	col, ok := c.cols[key{org, id}]
	if !ok {
		return nil, fmt.Errorf("collection %q: %w", id, ErrNotFound)
	}
	return col, nil
}

// CreateCollection stores a new collection and gives it an empty index.
func (c *Catalog) CreateCollection(org string, m store.Collection) (store.Collection, error) {
	m, err := c.st.CreateCollection(org, m)
	if err != nil {
		return m, err
	}
	idx, err := index.NewManaged(Params(m))
	if err != nil {
		return m, err
	}
	c.mu.Lock()
	c.cols[key{org, m.ID}] = &collection{meta: m, idx: idx, app: newApplier(idx, c.log)}
	c.mu.Unlock()
	return m, nil
}

// DeleteCollection removes a collection, its faces and its index.
func (c *Catalog) DeleteCollection(org, id string) error {
	col, err := c.get(org, id)
	if err != nil {
		return err
	}
	col.wmu.Lock()
	defer col.wmu.Unlock()
	if err := c.st.DeleteCollection(org, id); err != nil {
		return err
	}
	c.mu.Lock()
	delete(c.cols, key{org, id})
	c.mu.Unlock()
	col.app.close()
	col.snapMu.Lock()
	defer col.snapMu.Unlock()
	return errors.Join(col.idx.Close(), index.RemoveSnapshot(c.snapPath(col.meta)))
}

// Collection returns a collection's stored description.
func (c *Catalog) Collection(org, id string) (store.Collection, error) {
	col, err := c.get(org, id)
	if err != nil {
		return store.Collection{}, err
	}
	return col.meta, nil
}

// AddFaces commits up to store.MaxBatch faces in one transaction and returns once they are
// searchable too. The returned faces (with their RecordIDs) are durable.
func (c *Catalog) AddFaces(org, id string, faces []store.Face) ([]store.Face, error) {
	col, err := c.get(org, id)
	if err != nil {
		return nil, err
	}
	col.wmu.Lock()
	out, seq, err := c.st.AddFaces(org, id, faces)
	var applied <-chan struct{}
	if err == nil {
		applied = col.app.enqueue(addChange(col, seq, out), true)
	}
	col.wmu.Unlock()
	if err != nil {
		return nil, err
	}
	<-applied
	return out, nil
}

// addChange packs committed faces for the applier. An index error cannot lose data (the store
// has the faces and a restart replays them), so the applier logs it rather than failing an
// acknowledged write.
func addChange(col *collection, seq uint64, faces []store.Face) change {
	ids := make([]int64, len(faces))
	vecs := make([]float32, 0, len(faces)*col.meta.Dimension)
	for i, f := range faces {
		ids[i] = f.RecordID
		vecs = append(vecs, f.Embedding...)
	}
	return change{seq: seq, ids: ids, vecs: vecs}
}

// BulkAdd commits any number of faces in store.MaxBatch transactions and returns once all are
// durable; they become searchable as the collection's applier indexes them in the background
// (WaitIndexed waits for that). Commits run at the store's speed, not the index's. On error, the
// faces committed so far stay (and get indexed); their count is returned with the error.
func (c *Catalog) BulkAdd(org, id string, faces []store.Face) (int, error) {
	col, err := c.get(org, id)
	if err != nil {
		return 0, err
	}
	col.wmu.Lock()
	defer col.wmu.Unlock()
	n := 0
	for i := 0; i < len(faces); i += store.MaxBatch {
		out, seq, err := c.st.AddFaces(org, id, faces[i:min(i+store.MaxBatch, len(faces))])
		if err != nil {
			return n, err
		}
		col.app.enqueue(addChange(col, seq, out), false)
		n += len(out)
	}
	return n, nil
}

// DeleteFace removes one face.
func (c *Catalog) DeleteFace(org, id string, recordID int64) error {
	col, err := c.get(org, id)
	if err != nil {
		return err
	}
	col.wmu.Lock()
	seq, err := c.st.DeleteFace(org, id, recordID)
	var applied <-chan struct{}
	if err == nil {
		applied = col.app.enqueue(change{seq: seq, del: true, ids: []int64{recordID}}, true)
	}
	col.wmu.Unlock()
	if err != nil {
		return err
	}
	<-applied
	return nil
}

// DeletePerson erases a person: every face of theirs in every collection of org, at once.
func (c *Catalog) DeletePerson(org, personID string) ([]store.FaceRef, error) {
	// Hold every writer lock of the org (in id order) so each index applies the erasure's
	// deletes in log order relative to other writes.
	c.mu.RLock()
	var cols []*collection
	for k, col := range c.cols {
		if k.org == org {
			cols = append(cols, col)
		}
	}
	c.mu.RUnlock()
	slices.SortFunc(cols, func(a, b *collection) int { return cmp.Compare(a.meta.ID, b.meta.ID) })
	for _, col := range cols {
		col.wmu.Lock()
	}
	refs, err := c.st.DeletePerson(org, personID)
	if err != nil {
		for _, col := range cols {
			col.wmu.Unlock()
		}
		return nil, err
	}
	var waits []<-chan struct{}
	for _, r := range refs {
		for _, col := range cols {
			if col.meta.ID == r.CollectionID {
				waits = append(waits, col.app.enqueue(change{seq: r.Seq, del: true, ids: []int64{r.RecordID}}, true))
			}
		}
	}
	for _, col := range cols {
		col.wmu.Unlock()
	}
	for _, w := range waits {
		<-w
	}
	return refs, nil
}

// Search returns up to k nearest faces of one collection for each of len(qs)/Dim queries, in
// one index call.
func (c *Catalog) Search(org, id string, qs []float32, k int) ([][]index.Hit, error) {
	col, err := c.get(org, id)
	if err != nil {
		return nil, err
	}
	return col.idx.SearchBatch(qs, k)
}

// Stats describes a collection's index.
func (c *Catalog) Stats(org, id string) (index.Stats, error) {
	col, err := c.get(org, id)
	if err != nil {
		return index.Stats{}, err
	}
	return col.idx.Stats(), nil
}

// SetEfSearch changes a collection's HNSW search beam width until restart (benchmarks sweep it).
func (c *Catalog) SetEfSearch(org, id string, ef int) error {
	col, err := c.get(org, id)
	if err != nil {
		return err
	}
	return col.idx.SetEfSearch(ef)
}

// SnapshotPath is where a collection's index snapshot lives (FAISS part: path + ".faiss").
func (c *Catalog) SnapshotPath(org, id string) (string, error) {
	col, err := c.get(org, id)
	if err != nil {
		return "", err
	}
	return c.snapPath(col.meta), nil
}

// WaitIndexed blocks until every committed change of a collection is in its index and no
// background rebuild runs.
func (c *Catalog) WaitIndexed(org, id string) error {
	col, err := c.get(org, id)
	if err != nil {
		return err
	}
	col.app.wait()
	return col.idx.WaitRebuild()
}

// Pending is the number of committed changes of a collection not yet in its index.
func (c *Catalog) Pending(org, id string) (int, error) {
	col, err := c.get(org, id)
	if err != nil {
		return 0, err
	}
	return col.app.pending(), nil
}

// SnapshotAll saves every index changed since its last snapshot and trims the change log it
// covers. The background loop calls it; Close calls it once more.
func (c *Catalog) SnapshotAll() error {
	c.mu.RLock()
	cols := make([]*collection, 0, len(c.cols))
	for _, col := range c.cols {
		cols = append(cols, col)
	}
	c.mu.RUnlock()
	var errs error
	for _, col := range cols {
		errs = errors.Join(errs, c.snapshot(col))
	}
	return errs
}

func (c *Catalog) snapshot(col *collection) error {
	col.snapMu.Lock()
	defer col.snapMu.Unlock()
	if col.idx.Seq() == col.snapSeq {
		return nil
	}
	path := c.snapPath(col.meta)
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return err
	}
	start := time.Now()
	seq, err := col.idx.Save(path)
	if errors.Is(err, index.ErrClosed) {
		return nil // deleted meanwhile
	}
	if err != nil {
		c.log.Error("index snapshot failed", "op", "snapshot", "org", col.meta.OrgID, "collection", col.meta.ID, "err", err)
		return err
	}
	col.snapSeq = seq
	c.log.Debug("index snapshot saved", "op", "snapshot", "org", col.meta.OrgID, "collection", col.meta.ID,
		"seq", seq, "dur", time.Since(start).String())
	if err := c.st.TrimChanges(col.meta.OrgID, col.meta.ID, seq); err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	return nil
}

func (c *Catalog) snapshotLoop() {
	defer c.done.Done()
	t := time.NewTicker(c.opt.SnapshotEvery)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
			_ = c.SnapshotAll()
		}
	}
}

// Close stops the snapshot loop, saves changed indexes and frees them. The store stays open.
func (c *Catalog) Close() error {
	select {
	case <-c.stop:
		return nil
	default:
		close(c.stop)
	}
	c.done.Wait()
	c.mu.RLock()
	for _, col := range c.cols {
		col.app.close() // apply what is queued, so the final snapshot holds it
	}
	c.mu.RUnlock()
	err := c.SnapshotAll()
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, col := range c.cols {
		err = errors.Join(err, col.idx.Close())
		delete(c.cols, k)
	}
	return err
}
