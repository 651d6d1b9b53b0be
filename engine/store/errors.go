package store

import "errors"

// Errors a caller can act on. They are wrapped with context; test them with errors.Is.
var (
	// ErrNotFound: no such record in this organisation. Another organisation's records and
	// collections being deleted are not found either.
	ErrNotFound = errors.New("not found")
	// ErrExists: a record with that id (or API key hash, or person externalId) already exists.
	ErrExists = errors.New("already exists")
	// ErrInvalidID: an id is empty, longer than MaxIDLen bytes or has a byte outside
	// [A-Za-z0-9_.:@-]; also a malformed referenceID, kind or other field that keys are built from.
	ErrInvalidID = errors.New("invalid id")
	// ErrBadEmbedding: an embedding's length differs from the collection's dimension, or it holds
	// NaN or Inf, or it is all zeros (it cannot be L2-normalised).
	ErrBadEmbedding = errors.New("bad embedding")
	// ErrBatchTooLarge: more than MaxBatch faces in one AddFaces call, or a transaction (such as
	// erasing a person with a great many faces) outgrew badger's transaction size. Nothing was written.
	ErrBatchTooLarge = errors.New("batch too large")
	// ErrClosed: the Store was closed.
	ErrClosed = errors.New("store: closed")
	// ErrTrimmed: Changes was asked for entries the log no longer holds (TrimChanges dropped
	// them); the caller must rebuild from ScanFaces.
	ErrTrimmed = errors.New("change log trimmed past the requested sequence")
	// ErrConflict: a write kept conflicting with concurrent writes to the same records and gave up
	// after a bounded number of retries; nothing was written. Retrying later is safe.
	ErrConflict = errors.New("too many write conflicts")
)
