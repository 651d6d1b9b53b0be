package api

import (
	"context"
	"errors"

	"github.com/valyala/fasthttp"

	"vigil/engine"
)

// statusOf is the one place that maps an error to an HTTP status and a stable machine code.
func statusOf(err error) (int, string) {
	switch {
	case errors.Is(err, engine.ErrBadRequest):
		return fasthttp.StatusBadRequest, "bad_request"
	case errors.Is(err, engine.ErrNotFound):
		return fasthttp.StatusNotFound, "not_found"
	case errors.Is(err, engine.ErrOverloaded):
		return fasthttp.StatusTooManyRequests, "overloaded"
	case errors.Is(err, engine.ErrNotReady):
		return fasthttp.StatusServiceUnavailable, "not_ready"
	case errors.Is(err, context.DeadlineExceeded):
		return fasthttp.StatusGatewayTimeout, "timeout"
	}
	return fasthttp.StatusInternalServerError, "internal"
}
