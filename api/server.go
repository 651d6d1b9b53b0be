package api

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/valyala/fasthttp"

	"vigil/engine"
)

// Config holds the HTTP server settings.
type Config struct {
	Addr         string
	MaxBodyBytes int
	ReadTimeout  time.Duration
	WriteTimeout time.Duration
	IdleTimeout  time.Duration
}

// DefaultConfig returns the embedded defaults.
func DefaultConfig() Config {
	return Config{
		Addr:         ":8080",
		MaxBodyBytes: 8 << 20, // a 5 MB image as base64 plus JSON
		ReadTimeout:  30 * time.Second,
		WriteTimeout: 30 * time.Second,
		IdleTimeout:  2 * time.Minute,
	}
}

// Server serves the HTTP API. It answers /healthz at once and /readyz with 200 only after
// SetEngine; safe for concurrent use.
type Server struct {
	log *slog.Logger
	eng atomic.Pointer[engine.Engine]
	srv *fasthttp.Server
}

// New builds a server; nothing listens until Serve.
func New(cfg Config, log *slog.Logger) *Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{log: log}
	s.srv = &fasthttp.Server{
		Handler:               s.Handler,
		Name:                  "vigil",
		MaxRequestBodySize:    cfg.MaxBodyBytes,
		ReadTimeout:           cfg.ReadTimeout,
		WriteTimeout:          cfg.WriteTimeout,
		IdleTimeout:           cfg.IdleTimeout,
		NoDefaultServerHeader: true,
		Logger:                fasthttpLogger{log.With("op", "fasthttp")},
	}
	return s
}

// SetEngine marks the server ready: the engine's stores are open and models loaded.
func (s *Server) SetEngine(e *engine.Engine) { s.eng.Store(e) }

// Serve accepts connections on ln until Shutdown.
func (s *Server) Serve(ln net.Listener) error { return s.srv.Serve(ln) }

// Shutdown stops accepting, waits for in-flight requests until ctx ends, and returns.
func (s *Server) Shutdown(ctx context.Context) error { return s.srv.ShutdownWithContext(ctx) }

// route names the endpoint for metrics, so unknown paths don't grow label sets.
func route(path string) string {
	switch path {
	case "/healthz", "/readyz", "/metrics":
		return path
	}
	return "other"
}

// Handler serves one request. It recovers panics into 500s.
func (s *Server) Handler(ctx *fasthttp.RequestCtx) {
	start := time.Now()
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("panic in handler", "req_id", ctx.ID(), "path", string(ctx.Path()), "err", r)
			s.writeError(ctx, fmt.Errorf("panic: %v", r))
		}
		rt := route(string(ctx.Path()))
		metrics.GetOrCreateCounter(fmt.Sprintf(`vigil_http_requests_total{route=%q,code="%d"}`, rt, ctx.Response.StatusCode())).Inc()
		metrics.GetOrCreateHistogram(fmt.Sprintf(`vigil_http_request_duration_seconds{route=%q}`, rt)).UpdateDuration(start)
	}()
	switch string(ctx.Path()) {
	case "/healthz":
		ctx.SetContentType("text/plain; charset=utf-8")
		ctx.SetBodyString("ok\n")
	case "/readyz":
		if s.eng.Load() == nil {
			s.writeError(ctx, fmt.Errorf("%w: loading models and opening stores", engine.ErrNotReady))
			return
		}
		ctx.SetContentType("text/plain; charset=utf-8")
		ctx.SetBodyString("ready\n")
	case "/metrics":
		ctx.SetContentType("text/plain; version=0.0.4; charset=utf-8")
		metrics.WritePrometheus(ctx, true)
	default:
		s.writeError(ctx, fmt.Errorf("%w: no route %s %s", engine.ErrNotFound, ctx.Method(), ctx.Path()))
	}
}

type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// writeError answers err as JSON with its status. 5xx details go to the log, not the client.
func (s *Server) writeError(ctx *fasthttp.RequestCtx, err error) {
	status, code := statusOf(err)
	var body errorBody
	body.Error.Code, body.Error.Message = code, err.Error()
	if status >= 500 && status != fasthttp.StatusServiceUnavailable {
		s.log.Error("request failed", "req_id", ctx.ID(), "path", string(ctx.Path()), "err", err)
		body.Error.Message = "internal error"
	}
	ctx.ResetBody()
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json")
	_ = json.NewEncoder(ctx).Encode(&body)
}

type fasthttpLogger struct{ l *slog.Logger }

func (f fasthttpLogger) Printf(format string, args ...any) { f.l.Warn(fmt.Sprintf(format, args...)) }
