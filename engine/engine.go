// Package engine holds Vigil's use cases (enrol, match, search, screen, liveness, KYC re-verify,
// re-screen jobs) over the face pipeline, the liveness scorer, the vector indexes and the store,
// which it owns. It never imports api.
package engine

import (
	"cmp"
	"errors"
	"log/slog"
	"path/filepath"
	"time"

	"vigil/embed"
	"vigil/embed/attributes"
	"vigil/engine/catalog"
	"vigil/engine/store"
	"vigil/liveness"
	"vigil/models"
	"vigil/models/ort"
)

// Config wires the engine's parts. Each part has its own DefaultConfig.
type Config struct {
	DataDir       string
	SyncWrites    bool          // fsync every commit (see store.Options.SyncWrites)
	SnapshotEvery time.Duration // how often changed indexes are saved
	ModelsDir     string
	ManifestPath  string // empty: the embedded manifest
	ORT           ort.Config
	Embed         embed.Config
	Liveness      liveness.Config
	Attributes    attributes.Config // age/gender; off when the manifest has no attributes model
}

// DefaultConfig returns the embedded defaults: data under ./data, models from ./models.
func DefaultConfig() Config {
	return Config{
		DataDir:       "data",
		SyncWrites:    true,
		SnapshotEvery: 30 * time.Second,
		ModelsDir:     "models",
		// One thread per model call, with a detector and an embedding session per core: on
		// 2 cores `vigil bench pipeline` measured 175 faces/s concurrent (114 one image at a
		// time) against 98 (94) with ORT's default of a spinning thread per core per session,
		// whose sessions then fight over the cores (bench/RESULTS.md).
		ORT:        ort.Config{Device: ort.DeviceCPU, IntraOpThreads: 1},
		Embed:      embed.DefaultConfig(),
		Liveness:   liveness.DefaultConfig(),
		Attributes: attributes.DefaultConfig(),
	}
}

// Engine owns the store and the model sessions. Its methods are safe for concurrent use; Close
// must be called once, after all calls returned.
type Engine struct {
	log   *slog.Logger
	store *store.Store
	cat   *catalog.Catalog
	pipe  *embed.Pipeline
	live  *liveness.Scorer
	attr  *attributes.Estimator // nil when no attributes model is configured
}

// Open opens the store and loads every model. On error nothing stays open.
func Open(cfg Config, log *slog.Logger) (e *Engine, err error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	manifest, err := models.Load(cfg.ManifestPath)
	if err != nil {
		return nil, err
	}
	e = &Engine{log: log}
	defer func() {
		if err != nil {
			e.Close()
			e = nil
		}
	}()
	so := store.DefaultOptions(filepath.Join(cfg.DataDir, "db"))
	so.SyncWrites = cfg.SyncWrites
	if e.store, err = store.Open(so, log); err != nil {
		return nil, err
	}
	co := catalog.DefaultOptions(cfg.DataDir)
	co.SnapshotEvery = cfg.SnapshotEvery
	if e.cat, err = catalog.Open(e.store, co, log); err != nil {
		return nil, err
	}
	if err = ort.Init(cfg.ORT); err != nil {
		return nil, err
	}
	cfg.Embed.ModelsDir, cfg.Embed.Manifest = cfg.ModelsDir, manifest
	if e.pipe, err = embed.Open(cfg.Embed); err != nil {
		return nil, err
	}
	cfg.Liveness.ModelsDir, cfg.Liveness.Manifest = cfg.ModelsDir, manifest
	if e.live, err = liveness.Open(cfg.Liveness); err != nil {
		return nil, err
	}
	cfg.Attributes.ModelsDir, cfg.Attributes.Manifest = cfg.ModelsDir, manifest
	if e.attr, err = attributes.Open(cfg.Attributes); errors.Is(err, attributes.ErrNotConfigured) {
		log.Info("age/gender estimation off: no attributes model in the manifest", "op", "open")
		err = nil
	} else if err != nil {
		return nil, err
	}
	log.Info("engine ready", "op", "open", "onnxruntime", ort.Version(), "device", e.pipe.Device(),
		"detector", cfg.Embed.Detector, "landmarker", cmp.Or(cfg.Embed.Landmarker, cfg.Embed.Detector), "embedder", cfg.Embed.Embedder, "dim", e.pipe.Dim())
	return e, nil
}

// Attributes returns the age/gender stage, or attributes.ErrNotConfigured when the manifest has
// no attributes model (the API answers 501).
func (e *Engine) Attributes() (*attributes.Estimator, error) {
	if e.attr == nil {
		return nil, attributes.ErrNotConfigured
	}
	return e.attr, nil
}

// Close releases everything the engine owns. Idempotent.
func (e *Engine) Close() error {
	if e == nil {
		return nil
	}
	var err error
	if e.cat != nil { // indexes snapshot into the store's data dir: close them first
		err = e.cat.Close()
	}
	err = errors.Join(err, e.attr.Close(), e.live.Close(), e.pipe.Close(), e.store.Close())
	e.attr, e.live, e.pipe, e.cat, e.store = nil, nil, nil, nil, nil
	return err
}
