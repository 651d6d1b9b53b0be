package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"vigil/models/modeltest"
)

// TestMain lets the test binary stand in for vigil in child processes (with -race on).
func TestMain(m *testing.M) {
	if os.Getenv("VIGIL_TEST_AS_MAIN") == "1" {
		os.Args = append([]string{"vigil"}, strings.Fields(os.Getenv("VIGIL_TEST_ARGS"))...)
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// child starts `vigil args...` as a separate process and returns it with its stderr lines.
func child(t *testing.T, args ...string) (*exec.Cmd, <-chan map[string]any) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "VIGIL_TEST_AS_MAIN=1", "VIGIL_TEST_ARGS="+strings.Join(args, " "))
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	lines := make(chan map[string]any, 100)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			var rec map[string]any
			if json.Unmarshal(sc.Bytes(), &rec) != nil {
				rec = map[string]any{"msg": sc.Text()}
			}
			lines <- rec
		}
	}()
	return cmd, lines
}

// waitLog returns the first log record whose msg is msg.
func waitLog(t *testing.T, lines <-chan map[string]any, msg string) map[string]any {
	t.Helper()
	timeout := time.After(90 * time.Second)
	for {
		select {
		case rec, ok := <-lines:
			if !ok {
				t.Fatalf("process ended before logging %q", msg)
			}
			if rec["msg"] == msg {
				return rec
			}
			if rec["level"] == "ERROR" {
				t.Logf("child: %v", rec)
			}
		case <-timeout:
			t.Fatalf("no %q log within 90s", msg)
		}
	}
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestServeLifecycle runs `vigil serve` as a child process on a loopback port with the real models
// and a real badger directory: /healthz answers, /readyz turns 200 once the engine is open,
// /metrics speaks Prometheus text, and SIGTERM shuts it down cleanly.
func TestServeLifecycle(t *testing.T) {
	cmd, lines := child(t, "serve", "--http.addr=127.0.0.1:0", "--data.dir="+t.TempDir(),
		"--models.dir="+modeltest.ModelsDir(t), "--ort.library="+modeltest.ORTLibrary(t))
	base := "http://" + waitLog(t, lines, "listening")["addr"].(string)

	if code, body := get(t, base+"/healthz"); code != 200 || body != "ok\n" {
		t.Fatalf("/healthz = %d %q", code, body)
	}
	waitLog(t, lines, "ready")
	if code, body := get(t, base+"/readyz"); code != 200 {
		t.Fatalf("/readyz after ready = %d %q", code, body)
	}
	code, body := get(t, base+"/metrics")
	if code != 200 || !strings.Contains(body, `vigil_http_requests_total{route="/readyz",code="200"} 1`) ||
		!strings.Contains(body, "go_goroutines") {
		t.Fatalf("/metrics = %d, body lacks request counters or go metrics:\n%.600s", code, body)
	}
	if code, body := get(t, base+"/nope"); code != 404 || !strings.Contains(body, `"code":"not_found"`) {
		t.Fatalf("/nope = %d %q", code, body)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitLog(t, lines, "stopped")
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("still running 20s after SIGTERM")
	}
}

// TestServeFailsClearlyWithoutModels: a server that can never become ready must exit non-zero
// and say why, not hang unready.
func TestServeFailsClearlyWithoutModels(t *testing.T) {
	cmd, lines := child(t, "serve", "--http.addr=127.0.0.1:0", "--data.dir="+t.TempDir(),
		"--models.dir="+t.TempDir(), "--ort.library="+modeltest.ORTLibrary(t), "--log.format=text")
	var out strings.Builder
	for rec := range lines {
		out.WriteString(rec["msg"].(string) + "\n")
	}
	err := cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Fatalf("exit = %v, want status 1", err)
	}
	if !strings.Contains(out.String(), "engine: model yunet-2023mar") {
		t.Fatalf("error output does not name the missing model:\n%s", out.String())
	}
}

func TestVersion(t *testing.T) {
	var b strings.Builder
	if err := printVersion(&b, modeltest.ORTLibrary(t)); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"faiss 1.7.3 built for simd=", "offers simd=", "onnxruntime 1.", "go go1."} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("version output lacks %q:\n%s", want, b.String())
		}
	}
}

func TestFlagsFromEnv(t *testing.T) {
	env := map[string]string{"VIGIL_HTTP_ADDR": "127.0.0.1:9999", "VIGIL_DATA_DIR": "/from/env", "VIGIL_ORT_THREADS": "3"}
	parse := func(args ...string) (config, error) {
		c := defaultConfig()
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		c.flags(fs)
		return c, parseFlags(fs, args, func(k string) string { return env[k] })
	}
	c, err := parse("--data.dir=/from/flag")
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTP.Addr != "127.0.0.1:9999" || c.Engine.DataDir != "/from/flag" || c.Engine.ORT.IntraOpThreads != 3 {
		t.Fatalf("got addr %q dir %q threads %d; want env addr, flag dir, env threads",
			c.HTTP.Addr, c.Engine.DataDir, c.Engine.ORT.IntraOpThreads)
	}
	env["VIGIL_ORT_THREADS"] = "many"
	if _, err := parse(); err == nil || !strings.Contains(err.Error(), "VIGIL_ORT_THREADS") {
		t.Fatalf("bad env value: err = %v, want one naming VIGIL_ORT_THREADS", err)
	}
	if got := envName("http.max-body-bytes"); got != "VIGIL_HTTP_MAX_BODY_BYTES" {
		t.Fatalf("envName = %s", got)
	}
}

// TestAnalyze runs `vigil analyze --json --embedding` on a real photo and a photo without a face.
func TestAnalyze(t *testing.T) {
	faces := modeltest.FacesDir(t)
	var out strings.Builder
	err := analyze([]string{"--json", "--embedding", "--models.dir=" + modeltest.ModelsDir(t), "--ort.library=" + modeltest.ORTLibrary(t),
		faces + "/_special/multi_face/multiface.jpg", faces + "/_special/no_face/brick.png"}, &out)
	if err == nil || !strings.Contains(err.Error(), "1 of 2 files") {
		t.Fatalf("err = %v, want one failed file", err)
	}
	dec := json.NewDecoder(strings.NewReader(out.String()))
	var multi, none analyzeResult
	if err := dec.Decode(&multi); err != nil {
		t.Fatal(err)
	}
	if err := dec.Decode(&none); err != nil {
		t.Fatal(err)
	}
	if len(multi.Faces) != 6 || multi.Width != 1200 || len(multi.Faces[0].Embedding) != 128 {
		t.Fatalf("multiface.jpg: %d faces, width %d, embedding %d; want 6, 1200, 128", len(multi.Faces), multi.Width, len(multi.Faces[0].Embedding))
	}
	if none.Error == "" || len(none.Faces) != 0 {
		t.Fatalf("brick.png: %+v, want an error and no faces", none)
	}
}
