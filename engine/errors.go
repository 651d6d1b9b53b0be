package engine

import "errors"

// Errors a client can see. api/errors.go maps each to an HTTP status; wrap them with %w.
var (
	ErrNotReady   = errors.New("not ready")
	ErrBadRequest = errors.New("bad request")
	ErrNotFound   = errors.New("not found")
	ErrOverloaded = errors.New("overloaded")
)
