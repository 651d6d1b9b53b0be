package main

import (
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"vigil/api"
	"vigil/embed"
	"vigil/engine"
	"vigil/models"
	"vigil/models/ort"
)

// config is every setting of `vigil serve`, built from the packages' defaults, then flags, then
// VIGIL_* environment variables for flags not given on the command line.
type config struct {
	HTTP            api.Config
	Engine          engine.Config
	LogFormat       string
	LogLevel        string
	ShutdownTimeout time.Duration
}

// defaultORTLibrary is set at link time by the Makefile to the library it fetched.
var defaultORTLibrary = ""

func defaultConfig() config {
	c := config{
		HTTP:            api.DefaultConfig(),
		Engine:          engine.DefaultConfig(),
		LogFormat:       "json",
		LogLevel:        "info",
		ShutdownTimeout: 15 * time.Second,
	}
	c.Engine.ORT.Library = ortLibrary()
	return c
}

// ortLibrary finds libonnxruntime: the path linked in by make, else beside the executable.
func ortLibrary() string {
	if defaultORTLibrary != "" {
		if _, err := os.Stat(defaultORTLibrary); err == nil {
			return defaultORTLibrary
		}
	}
	if exe, err := os.Executable(); err == nil {
		for _, rel := range []string{"libonnxruntime.so.1", "../ort/libonnxruntime.so.1", "../lib/libonnxruntime.so.1"} {
			p := filepath.Join(filepath.Dir(exe), rel)
			if _, err := os.Stat(p); err == nil {
				return p
			}
		}
	}
	return defaultORTLibrary
}

func (c *config) flags(fs *flag.FlagSet) {
	fs.StringVar(&c.HTTP.Addr, "http.addr", c.HTTP.Addr, "listen address")
	fs.IntVar(&c.HTTP.MaxBodyBytes, "http.max-body-bytes", c.HTTP.MaxBodyBytes, "largest request body")
	fs.DurationVar(&c.ShutdownTimeout, "http.shutdown-timeout", c.ShutdownTimeout, "how long SIGTERM waits for in-flight requests")
	fs.StringVar(&c.Engine.DataDir, "data.dir", c.Engine.DataDir, "data directory (badger database, index snapshots)")
	fs.BoolVar(&c.Engine.SyncWrites, "data.sync-writes", c.Engine.SyncWrites, "fsync each commit (an acknowledged face survives power loss)")
	fs.DurationVar(&c.Engine.SnapshotEvery, "index.snapshot-every", c.Engine.SnapshotEvery, "how often changed indexes are saved (0: only at shutdown)")
	c.modelFlags(fs)
	fs.StringVar(&c.LogFormat, "log.format", c.LogFormat, "json or text")
	fs.StringVar(&c.LogLevel, "log.level", c.LogLevel, "debug, info, warn or error")
}

// modelFlags registers the flags that choose the models and how they run: serve's, and the face
// benchmarks' (bench_face.go).
func (c *config) modelFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.Engine.ModelsDir, "models.dir", c.Engine.ModelsDir, "directory holding the model files")
	fs.StringVar(&c.Engine.ManifestPath, "models.manifest", c.Engine.ManifestPath, "model manifest JSON (default: the embedded one)")
	fs.StringVar(&c.Engine.Embed.Detector, "embed.detector", c.Engine.Embed.Detector, "detector model (manifest name)")
	fs.StringVar(&c.Engine.Embed.Landmarker, "embed.landmarker", c.Engine.Embed.Landmarker, "detector model whose landmarks align the faces (manifest name; \"\": the detector's own)")
	fs.StringVar(&c.Engine.Embed.Embedder, "embed.embedder", c.Engine.Embed.Embedder, "embedding model (manifest name)")
	fs.StringVar(&c.Engine.ORT.Library, "ort.library", c.Engine.ORT.Library, "path to libonnxruntime.so (a GPU build for CUDA)")
	fs.StringVar(&c.Engine.ORT.Device, "ort.device", c.Engine.ORT.Device, "execution provider: cpu, cuda or auto")
	fs.IntVar(&c.Engine.ORT.CUDADevice, "ort.cuda-device", c.Engine.ORT.CUDADevice, "CUDA device id")
	fs.IntVar(&c.Engine.ORT.IntraOpThreads, "ort.threads", c.Engine.ORT.IntraOpThreads, "threads per model call (0: ORT decides)")
	fs.BoolVar(&c.Engine.ORT.NoSpin, "ort.no-spin", c.Engine.ORT.NoSpin, "idle model threads sleep instead of spinning (with --ort.threads > 1)")
	fs.IntVar(&c.Engine.Embed.Detectors, "embed.detectors", c.Engine.Embed.Detectors, "detector sessions (photos detected at once)")
	fs.IntVar(&c.Engine.Embed.Batch.Sessions, "embed.sessions", c.Engine.Embed.Batch.Sessions, "embedding model sessions")
	fs.IntVar(&c.Engine.Embed.Batch.MaxBatch, "embed.max-batch", c.Engine.Embed.Batch.MaxBatch, "most faces per embedding call")
}

// openPipeline loads the manifest, starts ONNX Runtime and opens the detection + embedding
// pipeline c configures, once adjust (when non-nil) has tuned its settings: what serve's engine
// does, for the commands that run the pipeline on their own (analyze, the face benchmarks).
func (c *config) openPipeline(adjust func(*embed.Config)) (*embed.Pipeline, *models.Manifest, error) {
	man, err := models.Load(c.Engine.ManifestPath)
	if err != nil {
		return nil, nil, err
	}
	if err := ort.Init(c.Engine.ORT); err != nil {
		return nil, nil, err
	}
	ec := c.Engine.Embed
	ec.ModelsDir, ec.Manifest = c.Engine.ModelsDir, man
	if adjust != nil {
		adjust(&ec)
	}
	p, err := embed.Open(ec)
	return p, man, err
}

// envName maps a flag name to its environment variable: http.addr -> VIGIL_HTTP_ADDR.
func envName(flagName string) string {
	return "VIGIL_" + strings.ToUpper(strings.NewReplacer(".", "_", "-", "_").Replace(flagName))
}

// parseFlags parses args, then fills every flag not set on the command line from its env var.
func parseFlags(fs *flag.FlagSet, args []string, getenv func(string) string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if set[f.Name] || err != nil {
			return
		}
		if v := getenv(envName(f.Name)); v != "" {
			if e := fs.Set(f.Name, v); e != nil {
				err = fmt.Errorf("%s=%q: %w", envName(f.Name), v, e)
			}
		}
	})
	return err
}

func newLogger(format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log.level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "json":
		return slog.New(slog.NewJSONHandler(os.Stderr, opts)), nil
	case "text":
		return slog.New(slog.NewTextHandler(os.Stderr, opts)), nil
	}
	return nil, fmt.Errorf("log.format %q: want json or text", format)
}
