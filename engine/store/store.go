// Package store is Vigil's durable source of truth: a badger database under the data directory
// holding organisations, collections, persons, faces (with embeddings), KYC sessions, request
// records and jobs, every key namespaced by organisation. It imports nothing of Vigil's above it.
// A Store is safe for concurrent use.
package store

import (
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/dgraph-io/badger/v4"
)

// Options configures Open.
type Options struct {
	Dir      string // database directory; created if missing
	InMemory bool   // tests only: nothing touches disk
}

// Store owns one badger database. Caller must Close.
type Store struct {
	db *badger.DB
}

// Open opens (or creates) the database.
func Open(opts Options, log *slog.Logger) (*Store, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	bo := badger.DefaultOptions(opts.Dir).WithLogger(badgerLogger{log.With("op", "badger")})
	if opts.InMemory {
		bo = bo.WithInMemory(true).WithDir("").WithValueDir("")
	} else {
		if opts.Dir == "" {
			return nil, errors.New("store: no data directory")
		}
		if err := os.MkdirAll(opts.Dir, 0o750); err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
	}
	db, err := badger.Open(bo)
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", opts.Dir, err)
	}
	return &Store{db: db}, nil
}

// Close flushes and closes the database. Idempotent.
func (s *Store) Close() error {
	if s == nil || s.db == nil {
		return nil
	}
	err := s.db.Close()
	s.db = nil
	return err
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
