package embed

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"

	"vigil/models"
	"vigil/models/ort"
)

// Config selects the models the pipeline runs and how much runs at once.
type Config struct {
	ModelsDir string
	Manifest  *models.Manifest
	Detector  string // manifest name of the detector
	// Landmarker is the manifest name of a second detector whose landmarks align the faces the
	// Detector finds ("" or the Detector's name: its own). See DefaultConfig.
	Landmarker string
	Embedder   string // manifest name of the embedding model
	Detectors  int    // detector sessions (images detected at once)
	Batch      ort.BatcherConfig
	Detect     DetectOptions
	// Flip also embeds the mirrored crop and sums the two (the "flip test" of face recognition
	// evaluations): steadier embeddings for twice the embedding work.
	Flip bool
}

// DefaultConfig returns the shipped model choice: YuNet 2023mar finds the faces and YuNet
// 2022mar places their landmarks (Landmarker), then MobileFaceNet embeds them.
//
// Two detectors because each is better at one job. 2023mar is the better detector: it scores
// no-face photos at most 0.63 where 2022mar takes a cat for a face at 0.78, it ranks the
// orientations of the rotation search by its own score, and it runs faster (~2.1 against ~2.9 ms
// for a 250×250 photo, BenchmarkDetect250). But the embedding model was validated on 2022mar's
// landmarks (models/MANIFEST.md §4), which sit 4 px from 2023mar's on average on LFW faces
// (eyes 43 px apart), and it separates people markedly better on them. `vigil bench accuracy`
// on shared/faces, MobileFaceNet, centred face, 0 detection failures in every row:
//
//	                                  pairs.csv (5,982)       all 2.9 M cross-person pairs of its photos:
//	                                  acc. / TAR@1e-2 / EER   genuine accepted at FMR 1e-3 / 1e-4 / 1e-5 / 1e-6
//	2023mar + 2022mar landmarks       99.25 / 98.96 / 1.00    97.8 / 95.2 / 91.0 / 71.5
//	2023mar alone                     99.08 / 98.73 / 1.20    96.9 / 93.5 / 88.1 / 62.3
//
// (The OpenCV reference pipeline, 2022mar alone: 99.25 / 99.00 / 1.00.) On the 600 pairs of
// lfw_pairs_fold1.csv alone 2023mar's own landmarks do better, 99.50 against 99.00 % (3 pairs);
// the larger sets above decide. The cost is a second detector run on each photo with a face:
// Config{Landmarker: ""} skips it.
func DefaultConfig() Config {
	// A detector and an embedding session per core (up to 8): with one ORT thread per call
	// (engine.DefaultConfig) that keeps every core busy without oversubscribing them.
	n := min(max(runtime.NumCPU(), 1), 8)
	return Config{ModelsDir: "models", Detector: "yunet-2023mar", Landmarker: "yunet-2022mar", Embedder: "mobilefacenet-128", Detectors: n,
		Batch: ort.BatcherConfig{Sessions: n, MaxBatch: 32, QueueSize: 256}, Detect: DefaultDetectOptions()}
}

// Pipeline owns a pool of detectors and the batched embedder: photo in, faces and embeddings
// out. Safe for concurrent use; caller must Close.
type Pipeline struct {
	cfg  Config
	dets chan *Detector
	all  []*Detector
	emb  *Embedder
}

// Open verifies the configured model files against the manifest and loads them. ort.Init must
// have been called.
func Open(cfg Config) (*Pipeline, error) {
	if cfg.Manifest == nil {
		cfg.Manifest = models.Default()
	}
	if err := cfg.Detect.Validate(); err != nil {
		return nil, err
	}
	cfg.Detectors = max(cfg.Detectors, 1)
	p := &Pipeline{cfg: cfg, dets: make(chan *Detector, cfg.Detectors)}
	for i := 0; i < cfg.Detectors; i++ {
		d, err := openDetector(cfg, cfg.Detector)
		if err != nil {
			p.Close()
			return nil, err
		}
		if cfg.Landmarker != "" && cfg.Landmarker != cfg.Detector {
			if d.marks, err = openDetector(cfg, cfg.Landmarker); err != nil {
				d.Close()
				p.Close()
				return nil, err
			}
		}
		p.all = append(p.all, d)
		p.dets <- d
	}
	var err error
	if p.emb, err = OpenEmbedder(cfg.Manifest, cfg.ModelsDir, cfg.Embedder, cfg.Batch); err != nil {
		p.Close()
		return nil, err
	}
	return p, nil
}

// openDetector opens the manifest's detector name for a Detector that owns its session.
func openDetector(cfg Config, name string) (*Detector, error) {
	s, e, err := ort.OpenModel(cfg.Manifest, cfg.ModelsDir, name, models.RoleDetector)
	if err != nil {
		return nil, err
	}
	d, err := NewDetectorWith(s, e.DetectorDecoder())
	if outs, _ := DetectorOutputs(e.DetectorDecoder()); err == nil && !slices.Equal(outs, e.Outputs) {
		err = fmt.Errorf("%w %s: outputs %v, the %s decoder reads %v", models.ErrModel, e.Name, e.Outputs, e.DetectorDecoder(), outs)
	}
	if err != nil {
		s.Close()
		return nil, err
	}
	d.own = true
	return d, nil
}

// Device reports where the embedder runs.
func (p *Pipeline) Device() string { return p.emb.Device() }

// Dim is the embedding dimension.
func (p *Pipeline) Dim() int { return p.emb.Model().Dim }

// Embedder returns the pipeline's embedder.
func (p *Pipeline) Embedder() *Embedder { return p.emb }

// Detect finds faces with the pipeline's detect options (opt overrides them when non-nil),
// waiting for a free detector or ctx.
func (p *Pipeline) Detect(ctx context.Context, img *Image, opt *DetectOptions) ([]Face, error) {
	o := p.cfg.Detect
	if opt != nil {
		o = *opt
	}
	select {
	case d := <-p.dets:
		defer func() { p.dets <- d }()
		return d.Detect(img, o)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Embed aligns one detected face and returns its unit-length embedding.
func (p *Pipeline) Embed(ctx context.Context, img *Image, f Face) ([]float32, error) {
	crop := &Image{W: AlignSize, H: AlignSize, Pix: make([]uint8, 3*AlignSize*AlignSize)}
	Align(img, f.alignLandmarks(), crop)
	if !p.cfg.Flip {
		return p.emb.Embed(ctx, crop)
	}
	mirror := &Image{W: AlignSize, H: AlignSize, Pix: make([]uint8, 3*AlignSize*AlignSize)}
	for y := range AlignSize {
		src := crop.Pix[3*AlignSize*y : 3*AlignSize*(y+1)]
		dst := mirror.Pix[3*AlignSize*y : 3*AlignSize*(y+1)]
		for x := range AlignSize {
			copy(dst[3*x:3*x+3], src[3*(AlignSize-1-x):3*(AlignSize-x)])
		}
	}
	var b []float32
	var errB error
	done := make(chan struct{})
	go func() { // both in flight at once: the batcher runs them in one call
		defer close(done)
		b, errB = p.emb.Embed(ctx, mirror)
	}()
	a, err := p.emb.Embed(ctx, crop)
	<-done
	if err = errors.Join(err, errB); err != nil {
		return nil, err
	}
	for i := range a {
		a[i] += b[i]
	}
	if !Normalize(a) {
		return nil, fmt.Errorf("embed: zero embedding after the flip sum")
	}
	return a, nil
}

// EmbedFaces aligns and embeds every face of img at once, so the batched embedder can run them
// in one model call; out[i] belongs to faces[i]. The first error cancels the rest and is returned.
func (p *Pipeline) EmbedFaces(ctx context.Context, img *Image, faces []Face) ([][]float32, error) {
	out := make([][]float32, len(faces))
	if len(faces) == 1 {
		v, err := p.Embed(ctx, img, faces[0])
		out[0] = v
		return out, err
	}
	err := ort.FanOut(ctx, len(faces), 1, 0, func(ctx context.Context, i int) (err error) {
		out[i], err = p.Embed(ctx, img, faces[i])
		return err
	})
	return out, err
}

// Close frees every session. Idempotent.
func (p *Pipeline) Close() error {
	if p == nil {
		return nil
	}
	var err error
	for _, d := range p.all {
		err = errors.Join(err, d.Close())
	}
	p.all = nil
	err = errors.Join(err, p.emb.Close())
	p.emb = nil
	return err
}
