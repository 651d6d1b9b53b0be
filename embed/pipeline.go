package embed

import (
	"errors"

	"vigil/models"
	"vigil/models/ort"
)

// Config selects the models the pipeline runs.
type Config struct {
	ModelsDir string
	Manifest  *models.Manifest
	Detector  string // manifest name of the detector
	Embedder  string // manifest name of the embedding model
}

// DefaultConfig returns the shipped model choice.
func DefaultConfig() Config {
	return Config{ModelsDir: "models", Detector: "yunet-2023mar", Embedder: "mobilefacenet-128"}
}

// Pipeline owns the detector and embedder sessions. Caller must Close.
type Pipeline struct {
	det, emb *ort.Session
	embModel models.Model
}

// Open verifies the configured model files against the manifest and loads them. ort.Init must
// have been called.
func Open(cfg Config) (*Pipeline, error) {
	if cfg.Manifest == nil {
		cfg.Manifest = models.Default()
	}
	det, _, err := ort.OpenModel(cfg.Manifest, cfg.ModelsDir, cfg.Detector, models.RoleDetector)
	if err != nil {
		return nil, err
	}
	p := &Pipeline{det: det}
	if p.emb, p.embModel, err = ort.OpenModel(cfg.Manifest, cfg.ModelsDir, cfg.Embedder, models.RoleEmbedder); err != nil {
		p.Close()
		return nil, err
	}
	return p, nil
}

// Device reports where the embedder runs.
func (p *Pipeline) Device() string { return p.emb.Device() }

// Dim is the embedding dimension.
func (p *Pipeline) Dim() int { return p.embModel.Dim }

// Close frees the sessions. Idempotent.
func (p *Pipeline) Close() error {
	if p == nil {
		return nil
	}
	err := errors.Join(p.det.Close(), p.emb.Close())
	p.det, p.emb = nil, nil
	return err
}
