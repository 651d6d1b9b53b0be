// Package liveness scores passive anti-spoofing on face crops cut from the decoded image, with the
// MiniFASNet pair run through models/ort. It must not import engine, api or embed.
package liveness

import (
	"errors"

	"vigil/models"
	"vigil/models/ort"
)

// Config selects the liveness models.
type Config struct {
	ModelsDir string
	Manifest  *models.Manifest
	Models    []string // manifest names; their softmaxed outputs are summed
}

// DefaultConfig returns the shipped pair.
func DefaultConfig() Config {
	return Config{ModelsDir: "models", Models: []string{"minifasnet-v2-2.7", "minifasnet-v1se-4.0"}}
}

// Scorer owns one session per liveness model. Caller must Close.
type Scorer struct {
	sessions []*ort.Session
}

// Open verifies and loads the configured models. ort.Init must have been called.
func Open(cfg Config) (*Scorer, error) {
	if cfg.Manifest == nil {
		cfg.Manifest = models.Default()
	}
	if len(cfg.Models) == 0 {
		return nil, errors.New("liveness: no models configured")
	}
	s := &Scorer{}
	for _, name := range cfg.Models {
		sess, _, err := ort.OpenModel(cfg.Manifest, cfg.ModelsDir, name, models.RoleLiveness)
		if err != nil {
			s.Close()
			return nil, err
		}
		s.sessions = append(s.sessions, sess)
	}
	return s, nil
}

// Close frees the sessions. Idempotent.
func (s *Scorer) Close() error {
	if s == nil {
		return nil
	}
	var err error
	for _, x := range s.sessions {
		err = errors.Join(err, x.Close())
	}
	s.sessions = nil
	return err
}
