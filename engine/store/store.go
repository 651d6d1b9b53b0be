package store

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"
	"github.com/google/uuid"
)

// schemaVersion is written on first Open; a database with a newer one is refused.
const schemaVersion = 1

// defaultValueThreshold puts faces of 128 or more dimensions in the value log. See Options.
const defaultValueThreshold = 512

// maxAttempts bounds retries of a transaction that hit badger.ErrConflict.
const maxAttempts = 20

// Options configures Open. Start from DefaultOptions: the zero value has SyncWrites off.
type Options struct {
	Dir      string // database directory; created if missing
	InMemory bool   // tests only: nothing touches disk

	// SyncWrites makes every commit fsync the write-ahead log (and value log) before it
	// returns, so an acknowledged face survives power loss and kernel crashes, not just a crash
	// of the process. Off, a commit returns once it is in the OS page cache: a process crash
	// loses nothing, but power loss can lose the last seconds of acknowledged writes. The cost
	// is per commit, not per face (concurrent commits even share one fsync), so batch ingest
	// through AddFaces loses little by it; single-face enrolments pay a few milliseconds each.
	// Default true.
	SyncWrites bool

	// ValueThreshold: values of at least this many bytes go to badger's value log and the LSM
	// tree keeps a 12-byte pointer; smaller ones live in the LSM tree. Default 512, so faces
	// (548 bytes at 128-d) go to the value log and keys, links and small records stay in the
	// LSM tree. Embeddings never change, so this spares compactions from rewriting them:
	// measured over 2M 128-d faces it ingests twice as fast as embeddings in the LSM tree and
	// scans at least as fast (see README.md). The price is value log GC (see
	// ValueLogGCInterval). At most 1 MiB.
	ValueThreshold int64

	// ValueLogGCInterval is how often the value log is garbage-collected, reclaiming the space
	// of deleted faces. Default 10 minutes; negative disables it.
	ValueLogGCInterval time.Duration

	compression options.CompressionType // benchmarks only: embeddings don't compress
}

// DefaultOptions returns the production options for a database in dir.
func DefaultOptions(dir string) Options {
	return Options{
		Dir:                dir,
		SyncWrites:         true,
		ValueThreshold:     defaultValueThreshold,
		ValueLogGCInterval: 10 * time.Minute,
	}
}

// Validate reports options Open would reject.
func (o Options) Validate() error {
	switch {
	case o.InMemory && o.Dir != "":
		return errors.New("store: both a directory and in-memory")
	case !o.InMemory && o.Dir == "":
		return errors.New("store: no data directory")
	case o.ValueThreshold < 0 || o.ValueThreshold > 1<<20:
		return fmt.Errorf("store: value threshold %d not in [0, 1 MiB]", o.ValueThreshold)
	}
	return nil
}

// Store owns one badger database: every record of every organisation. Safe for concurrent use.
// Caller must Close.
type Store struct {
	log            *slog.Logger
	valueThreshold int64

	// mu guards db: every method holds it for reading while it uses the database; Close takes it
	// for writing, so Close waits for running calls and later calls see ErrClosed.
	mu     sync.RWMutex
	db     *badger.DB
	faceID *badger.Sequence

	// collLocks serialise face writers per collection within this process, so they queue
	// instead of conflicting and retrying; badger's conflict detection on the state key still
	// guards correctness (and DeletePerson, which spans collections, relies on it).
	collLocks [64]sync.Mutex

	stop     chan struct{} // closed by Close: sweeps stop between transactions
	stopOnce sync.Once
	sweeps   sync.WaitGroup // the sweeps resumed by Open
	gc       sync.WaitGroup // the value log GC loop
}

// Open opens (or creates) the database. Pending collection sweeps left by a crash resume in the
// background. opts.Dir must be set unless opts.InMemory. log may be nil.
func Open(opts Options, log *slog.Logger) (*Store, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if opts.ValueThreshold == 0 {
		opts.ValueThreshold = defaultValueThreshold
	}
	if opts.ValueLogGCInterval == 0 {
		opts.ValueLogGCInterval = 10 * time.Minute
	}
	// Compression stays off: embeddings are incompressible float32s (measured: snappy bought
	// no ingest speed). Everything else is badger's default: the 64 MiB memtable bounds a
	// transaction to ~9.6 MB, which MaxBatch x MaxDimension respects even with embeddings in
	// the LSM tree.
	bo := badger.DefaultOptions(opts.Dir).
		WithLogger(badgerLogger{log.With("op", "badger")}).
		WithSyncWrites(opts.SyncWrites).
		WithValueThreshold(opts.ValueThreshold).
		WithCompression(opts.compression)
	if opts.InMemory {
		bo = bo.WithInMemory(true).WithDir("").WithValueDir("")
	} else if err := os.MkdirAll(opts.Dir, 0o750); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	db, err := badger.Open(bo)
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", opts.Dir, err)
	}
	s := &Store{log: log, valueThreshold: opts.ValueThreshold, db: db, stop: make(chan struct{})}
	if err := s.checkSchema(); err != nil {
		db.Close()
		return nil, err
	}
	// A lease of 1<<16 ids costs one small write per 65536 faces; a crash skips the rest of the
	// lease, which is what "never reused" needs anyway.
	if s.faceID, err = db.GetSequence(globalKey(gFaceSeq), 1<<16); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: face id sequence: %w", err)
	}
	s.sweeps.Add(1)
	go func() {
		defer s.sweeps.Done()
		s.resumeSweeps()
	}()
	if opts.ValueLogGCInterval > 0 && !opts.InMemory {
		s.gc.Add(1)
		go func() {
			defer s.gc.Done()
			s.valueLogGC(opts.ValueLogGCInterval)
		}()
	}
	return s, nil
}

// valueLogGC reclaims value log space of deleted values every interval until Close.
func (s *Store) valueLogGC(interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
		// Each successful run rewrites one value log file; keep going while files qualify.
		for n := 0; !s.stopping(); n++ {
			err := s.db.RunValueLogGC(0.5)
			if err == nil {
				continue
			}
			if !errors.Is(err, badger.ErrNoRewrite) && !errors.Is(err, badger.ErrRejected) {
				s.log.Warn("value log gc", "op", "vlog-gc", "err", err)
			} else if n > 0 {
				s.log.Info("value log gc", "op", "vlog-gc", "n", n)
			}
			break
		}
	}
}

func (s *Store) checkSchema() error {
	return s.db.Update(func(txn *badger.Txn) error {
		item, err := txn.Get(globalKey(gVersion))
		if errors.Is(err, badger.ErrKeyNotFound) {
			return txn.Set(globalKey(gVersion), binary.LittleEndian.AppendUint32(nil, schemaVersion))
		}
		if err != nil {
			return fmt.Errorf("store: schema version: %w", err)
		}
		return item.Value(func(v []byte) error {
			if len(v) != 4 {
				return fmt.Errorf("store: corrupt schema version")
			}
			if got := binary.LittleEndian.Uint32(v); got > schemaVersion {
				return fmt.Errorf("store: database schema version %d is newer than this binary's %d", got, schemaVersion)
			}
			return nil
		})
	})
}

// Close stops sweeps (they resume on the next Open), waits for running calls, releases the
// unused face ids and closes the database. Idempotent.
func (s *Store) Close() error {
	if s == nil {
		return nil
	}
	s.stopOnce.Do(func() { close(s.stop) })
	s.sweeps.Wait()
	s.gc.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.db == nil {
		return nil
	}
	var err error
	if s.faceID != nil {
		err = s.faceID.Release()
	}
	err = errors.Join(err, s.db.Close())
	s.db, s.faceID = nil, nil
	if err != nil {
		return fmt.Errorf("store: close: %w", err)
	}
	return nil
}

// acquire holds the Store open for one call; the caller must release. It fails once closed.
func (s *Store) acquire() error {
	s.mu.RLock()
	if s.db == nil {
		s.mu.RUnlock()
		return ErrClosed
	}
	return nil
}

func (s *Store) release() { s.mu.RUnlock() }

func (s *Store) stopping() bool {
	select {
	case <-s.stop:
		return true
	default:
		return false
	}
}

// collLock returns the lock serialising face writes to collection coll of org.
func (s *Store) collLock(org, coll string) *sync.Mutex {
	return &s.collLocks[s.collLockIndex(org, coll)]
}

func (s *Store) collLockIndex(org, coll string) int {
	h := fnv.New32a()
	h.Write([]byte(org))
	h.Write([]byte{0})
	h.Write([]byte(coll))
	return int(h.Sum32() % uint32(len(s.collLocks)))
}

// update runs fn in a read-write transaction and commits it, retrying from scratch on
// badger.ErrConflict up to maxAttempts times. fn must be safe to run again.
func (s *Store) update(fn func(txn *badger.Txn) error) error {
	for attempt := 1; ; attempt++ {
		txn := s.db.NewTransaction(true)
		err := fn(txn)
		if err == nil {
			err = txn.Commit()
		}
		txn.Discard()
		switch {
		case err == nil:
			return nil
		case errors.Is(err, badger.ErrTxnTooBig):
			return fmt.Errorf("%w: %w", ErrBatchTooLarge, err)
		case !errors.Is(err, badger.ErrConflict):
			return err
		case attempt == maxAttempts:
			return fmt.Errorf("%d attempts: %w", attempt, ErrConflict)
		}
		// Spread the retries of the losers so they don't collide again.
		time.Sleep(time.Duration(attempt*attempt) * 100 * time.Microsecond)
	}
}

// view runs fn in a read-only transaction.
func (s *Store) view(fn func(txn *badger.Txn) error) error { return s.db.View(fn) }

// get returns a copy of key's value, or ErrNotFound.
func get(txn *badger.Txn, key []byte) ([]byte, error) {
	item, err := txn.Get(key)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	return item.ValueCopy(nil)
}

// exists reports whether key is present (and records the read for conflict detection).
func exists(txn *badger.Txn, key []byte) (bool, error) {
	_, err := txn.Get(key)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return false, nil
	}
	return err == nil, err
}

// newRefs returns n random (version 4) UUIDs from one read of the system CSPRNG.
func newRefs(n int) ([][16]byte, error) {
	buf := make([]byte, 16*n)
	if _, err := rand.Read(buf); err != nil {
		return nil, fmt.Errorf("store: random reference ids: %w", err)
	}
	refs := make([][16]byte, n)
	for i := range refs {
		copy(refs[i][:], buf[16*i:])
		refs[i][6] = refs[i][6]&0x0f | 0x40 // version 4
		refs[i][8] = refs[i][8]&0x3f | 0x80 // RFC 4122 variant
	}
	return refs, nil
}

func formatUUID(b [16]byte) string { return uuid.UUID(b).String() }

// parseRef accepts a canonical 36-character UUID (either case).
func parseRef(s string) ([16]byte, error) {
	if len(s) != 36 {
		return [16]byte{}, fmt.Errorf("reference id: %w", ErrInvalidID)
	}
	u, err := uuid.Parse(s)
	if err != nil {
		return [16]byte{}, fmt.Errorf("reference id: %w", ErrInvalidID)
	}
	return u, nil
}

// badgerLogger routes badger's printf-style logging to slog; its info chatter goes to debug.
type badgerLogger struct{ l *slog.Logger }

func (b badgerLogger) Errorf(f string, a ...any)   { b.l.Error(trim(fmt.Sprintf(f, a...))) }
func (b badgerLogger) Warningf(f string, a ...any) { b.l.Warn(trim(fmt.Sprintf(f, a...))) }
func (b badgerLogger) Infof(f string, a ...any)    { b.l.Debug(trim(fmt.Sprintf(f, a...))) }
func (b badgerLogger) Debugf(f string, a ...any)   { b.l.Debug(trim(fmt.Sprintf(f, a...))) }

func trim(s string) string {
	for len(s) > 0 && s[len(s)-1] == '\n' {
		s = s[:len(s)-1]
	}
	return s
}

func isNotFound(err error) bool { return errors.Is(err, ErrNotFound) }
