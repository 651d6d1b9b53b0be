package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"

	"github.com/valyala/fasthttp"

	"vigil/engine"
)

func do(s *Server, method, path string) *fasthttp.RequestCtx {
	var ctx fasthttp.RequestCtx
	ctx.Request.Header.SetMethod(method)
	ctx.Request.SetRequestURI(path)
	s.Handler(&ctx)
	return &ctx
}

func TestReadyzBeforeEngine(t *testing.T) {
	s := New(DefaultConfig(), nil)
	if ctx := do(s, "GET", "/healthz"); ctx.Response.StatusCode() != 200 {
		t.Fatalf("/healthz = %d", ctx.Response.StatusCode())
	}
	ctx := do(s, "GET", "/readyz")
	if ctx.Response.StatusCode() != fasthttp.StatusServiceUnavailable {
		t.Fatalf("/readyz before engine = %d, want 503", ctx.Response.StatusCode())
	}
	var body errorBody
	if err := json.Unmarshal(ctx.Response.Body(), &body); err != nil || body.Error.Code != "not_ready" {
		t.Fatalf("body %q (%v), want code not_ready", ctx.Response.Body(), err)
	}
	s.SetEngine(&engine.Engine{})
	if ctx := do(s, "GET", "/readyz"); ctx.Response.StatusCode() != 200 {
		t.Fatalf("/readyz after SetEngine = %d", ctx.Response.StatusCode())
	}
}

func TestStatusOf(t *testing.T) {
	for err, want := range map[error]int{
		fmt.Errorf("x: %w", engine.ErrBadRequest): 400,
		fmt.Errorf("x: %w", engine.ErrNotFound):   404,
		fmt.Errorf("x: %w", engine.ErrOverloaded): 429,
		engine.ErrNotReady:                        503,
		errors.New("disk on fire"):                500,
	} {
		if got, _ := statusOf(err); got != want {
			t.Errorf("statusOf(%v) = %d, want %d", err, got, want)
		}
	}
}

func TestInternalErrorsHideDetails(t *testing.T) {
	s := New(DefaultConfig(), nil)
	var ctx fasthttp.RequestCtx
	s.writeError(&ctx, errors.New("secret path /var/lib/x"))
	if ctx.Response.StatusCode() != 500 || string(ctx.Response.Body()) != `{"error":{"code":"internal","message":"internal error"}}`+"\n" {
		t.Fatalf("got %d %s", ctx.Response.StatusCode(), ctx.Response.Body())
	}
}

func TestMetricsFormat(t *testing.T) {
	s := New(DefaultConfig(), nil)
	do(s, "GET", "/healthz")
	ctx := do(s, "GET", "/metrics")
	if ctx.Response.StatusCode() != 200 {
		t.Fatal(ctx.Response.StatusCode())
	}
	if ct := string(ctx.Response.Header.ContentType()); ct != "text/plain; version=0.0.4; charset=utf-8" {
		t.Fatalf("content type %q", ct)
	}
}

// FuzzHandler feeds arbitrary raw requests through a real server connection.
func FuzzHandler(f *testing.F) {
	for _, seed := range []string{
		"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n",
		"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc",
		"GET /%zz HTTP/1.1\r\n\r\n",
	} {
		f.Add([]byte(seed))
	}
	s := New(DefaultConfig(), nil)
	f.Fuzz(func(t *testing.T, raw []byte) {
		c := &memConn{in: raw}
		_ = s.srv.ServeConn(c)
	})
}
