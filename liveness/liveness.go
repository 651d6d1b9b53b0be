// Package liveness scores passive anti-spoofing on face crops cut from the decoded image, with the
// MiniFASNet pair (minivision Silent-Face-Anti-Spoofing) run through models/ort. It must not
// import engine, api or embed (or any sibling): it takes the photo as an Image (models/prep's,
// same layout as embed.Image) and face boxes as [4]float32 (x, y, w, h), as embed.Face.Box gives
// them.
//
// Per model (shared/models/MANIFEST.md section 3): crop the face box enlarged by the model's
// crop_scale (CropRect), resize it to 80×80 with OpenCV's INTER_LINEAR arithmetic (models/prep,
// shared with embed/attributes), feed it raw
// BGR 0–255 NCHW, softmax the 3 logits. The per-model probabilities are averaged: class 1 is
// live, classes 0 and 2 are two kinds of spoof.
package liveness

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"

	"vigil/models"
	"vigil/models/ort"
)

// DefaultThreshold is the lowest Result.Live called live. It is a rule, not a fitted value:
// at 0.5 a live verdict is always also the argmax of the averaged probabilities (the two spoof
// classes share less than half), so IsLive never contradicts Label. The converse does not hold,
// and it matters: Label can be LabelLive with Live in (1/3, 0.5], and upstream's argmax rule
// passes _spoof/print/image_F1_v2020-06-28.jpg (Live 0.4965, label live) where 0.5 rejects it.
// The seven _spoof samples (TestSpoofSamples) cannot fit a threshold: live T1s score ≥ 0.9999,
// live T2 0.518, spoofs 0.004–0.4965, so 0.5 separates them by 0.02 on each side. Upstream's
// Android demo defaults to 0.78 on the same kind of score (mean P(live) over its two models, a
// different pair); that is stricter and would reject T2.
const DefaultThreshold = 0.5

// Config selects the liveness models and sizes their batchers.
type Config struct {
	ModelsDir string
	Manifest  *models.Manifest // nil means models.Default()
	Models    []string         // manifest names (role liveness); their probabilities are averaged
	// Batchers, one per model: sessions (worker goroutines), the largest batch per model call,
	// and the jobs that may wait. Zero means the ort.Batcher default (1, 32, 256).
	Sessions, MaxBatch, QueueSize int
	// Threshold is the lowest Result.Live called live, in (0, 1]; zero means DefaultThreshold.
	Threshold float32
}

// DefaultConfig returns the shipped pair.
func DefaultConfig() Config {
	return Config{
		ModelsDir: "models",
		Models:    []string{"minifasnet-v2-2.7", "minifasnet-v1se-4.0"},
		Sessions:  1, MaxBatch: 32, QueueSize: 256,
		Threshold: DefaultThreshold,
	}
}

// Label is the argmax class of the averaged probabilities. Upstream names only class 1 (live);
// 0 and 2 are two spoof kinds it does not name (its print and replay samples both come out 2).
type Label uint8

const (
	LabelSpoof0 Label = 0
	LabelLive   Label = 1
	LabelSpoof2 Label = 2
)

func (l Label) String() string {
	switch l {
	case LabelSpoof0:
		return "spoof_0"
	case LabelLive:
		return "live"
	case LabelSpoof2:
		return "spoof_2"
	}
	return fmt.Sprintf("label(%d)", uint8(l))
}

// Result is one face's liveness.
type Result struct {
	// Live is P(live) averaged over the models (summed[1]/models), in [0, 1].
	Live float32
	// IsLive is Live >= the Scorer's threshold.
	IsLive bool
	// Label is the argmax of the averaged probabilities; Probs[Label] is upstream's "score".
	Label Label
	Probs [3]float32 // averaged softmax, classes 0 (spoof), 1 (live), 2 (spoof)
	// PerModel is each model's P(live), in Config.Models order.
	PerModel []float32
}

// ErrClosed is returned by Score and ScoreMany after Close.
var ErrClosed = errors.New("liveness: scorer closed")

type model struct {
	name  string
	entry models.Model
	b     *ort.Batcher
}

// Scorer runs the configured models, each behind an ort.Batcher so that concurrent faces share
// model calls. Safe for concurrent use; caller must Close.
type Scorer struct {
	models    []model
	threshold float32
	inflight  int    // ScoreMany's cap on its own jobs in flight, per model
	device    string // where the models run, kept so Device works after Close
	closed    atomic.Bool
	pool      sync.Pool // *cropper
}

// Open verifies and loads the configured models. ort.Init must have been called.
func Open(cfg Config) (*Scorer, error) {
	if cfg.Manifest == nil {
		cfg.Manifest = models.Default()
	}
	if len(cfg.Models) == 0 {
		return nil, errors.New("liveness: no models configured")
	}
	if cfg.Threshold == 0 {
		cfg.Threshold = DefaultThreshold
	}
	if !(cfg.Threshold > 0 && cfg.Threshold <= 1) {
		return nil, fmt.Errorf("liveness: threshold %v not in (0, 1]", cfg.Threshold)
	}
	s := &Scorer{threshold: cfg.Threshold}
	for _, name := range cfg.Models {
		e, err := cfg.Manifest.Get(name)
		if err != nil {
			s.Close()
			return nil, err
		}
		if err := checkEntry(e); err != nil {
			s.Close()
			return nil, err
		}
		// Hash the file once here; the sessions then open the verified path.
		if err := e.Verify(cfg.ModelsDir); err != nil {
			s.Close()
			return nil, err
		}
		bc := ort.BatcherConfig{Name: name, Sessions: cfg.Sessions, MaxBatch: cfg.MaxBatch, QueueSize: cfg.QueueSize}
		path := e.Path(cfg.ModelsDir)
		b, err := ort.NewBatcher(bc, []int64{3, int64(e.Input.Height), int64(e.Input.Width)}, func() (*ort.Session, error) {
			return ort.Open(path, []string{e.Input.Name}, e.Outputs[:1])
		})
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("liveness %s: %w", name, err)
		}
		s.models = append(s.models, model{name: name, entry: e, b: b})
	}
	// One call keeps at most a full batch per session of each model in flight, and never more
	// than the queue holds, so that on an idle scorer a crowd photo cannot overload itself.
	mb, qs := cfg.MaxBatch, cfg.QueueSize
	if mb <= 0 {
		mb = 32 // ort.Batcher's defaults
	}
	if qs <= 0 {
		qs = 256
	}
	s.inflight = min(mb*max(cfg.Sessions, 1), qs)
	s.device = s.models[0].b.Device()
	return s, nil
}

func checkEntry(e models.Model) error {
	switch {
	case e.Role != models.RoleLiveness:
		return fmt.Errorf("%w %s: is a %s model, want %s", models.ErrModel, e.Name, e.Role, models.RoleLiveness)
	case !(e.CropScale > 0) || math.IsInf(float64(e.CropScale), 0):
		return fmt.Errorf("%w %s: a liveness model needs crop_scale > 0", models.ErrModel, e.Name)
	case e.Input.Width > 1024 || e.Input.Height > 1024:
		return fmt.Errorf("%w %s: input %dx%d too large for a liveness crop", models.ErrModel, e.Name, e.Input.Width, e.Input.Height)
	}
	return nil
}

// Models returns the manifest names in use, in Result.PerModel order.
func (s *Scorer) Models() []string {
	out := make([]string, len(s.models))
	for i, m := range s.models {
		out[i] = m.name
	}
	return out
}

// Threshold is the lowest Live called live.
func (s *Scorer) Threshold() float32 { return s.threshold }

// Device reports where the models run.
func (s *Scorer) Device() string { return s.device }

// MeanBatch is the mean number of crops per model call so far, over all models.
func (s *Scorer) MeanBatch() float64 {
	var sum float64
	for _, m := range s.models {
		sum += m.b.MeanBatch()
	}
	return sum / float64(len(s.models))
}

// Score rates one face of img; box is (x, y, w, h) in img's pixels, as embed.Face.Box. The
// models run concurrently. img is only read.
func (s *Scorer) Score(ctx context.Context, img *Image, box [4]float32) (Result, error) {
	r, err := s.ScoreMany(ctx, img, [][4]float32{box})
	if err != nil {
		return Result{}, err
	}
	return r[0], nil
}

// ScoreMany rates several faces of one photo, submitting every crop of every model at once so
// the batchers run them in as few model calls as possible (at most min(MaxBatch·Sessions,
// QueueSize) per model in flight from one call, so a crowd photo cannot fill the shared queue
// alone). Results are in boxes' order. It fails as a whole: a bad box (the error names its
// index), ort.ErrOverloaded when other requests fill the queue (wrapped; the API answers 429),
// or ctx ending.
func (s *Scorer) ScoreMany(ctx context.Context, img *Image, boxes [][4]float32) ([]Result, error) {
	if s == nil || s.closed.Load() {
		return nil, ErrClosed
	}
	if err := img.check(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	nm := len(s.models)
	rects := make([]Rect, len(boxes)*nm)
	for i, box := range boxes {
		for m := range s.models {
			r, err := CropRect(img.W, img.H, box, float64(s.models[m].entry.CropScale))
			if err != nil {
				return nil, fmt.Errorf("face %d: %w", i, err)
			}
			rects[i*nm+m] = r
		}
	}
	probs := make([][3]float64, len(rects))
	if len(rects) == 1 {
		if err := s.run(ctx, img, rects[0], 0, &probs[0]); err != nil {
			return nil, err
		}
	} else if err := s.runAll(ctx, img, rects, probs); err != nil {
		return nil, err
	}
	out := make([]Result, len(boxes))
	per := make([]float32, len(boxes)*nm) // one backing array for every PerModel
	for i := range out {
		var sum [3]float64
		for m := 0; m < nm; m++ {
			p := probs[i*nm+m]
			for k := range sum {
				sum[k] += p[k]
			}
			per[i*nm+m] = float32(p[1])
		}
		r := Result{PerModel: per[i*nm : (i+1)*nm : (i+1)*nm]}
		for k := range sum {
			r.Probs[k] = float32(sum[k] / float64(nm))
			if sum[k] > sum[r.Label] {
				r.Label = Label(k)
			}
		}
		r.Live = r.Probs[1]
		r.IsLive = r.Live >= s.threshold
		out[i] = r
	}
	return out, nil
}

// runAll runs every (face, model) job in its own goroutine, with at most s.inflight of each
// model's at once; the first error cancels the rest.
func (s *Scorer) runAll(ctx context.Context, img *Image, rects []Rect, probs [][3]float64) error {
	nm := len(s.models)
	return ort.FanOut(ctx, len(rects), nm, s.inflight, func(ctx context.Context, j int) error {
		return s.run(ctx, img, rects[j], j%nm, &probs[j])
	})
}

// run crops r for model m into a pooled input, runs it and softmaxes the logits into p.
func (s *Scorer) run(ctx context.Context, img *Image, r Rect, m int, p *[3]float64) error {
	md := &s.models[m]
	c, _ := s.pool.Get().(*cropper)
	if c == nil {
		c = new(cropper)
	}
	if err := c.fill(img, r, md.entry.Input.Width, md.entry.Input.Height, md.entry.Input); err != nil {
		s.pool.Put(c)
		return fmt.Errorf("liveness %s: %w", md.name, err)
	}
	out, err := md.b.Run(ctx, c.in)
	if ctx.Err() == nil { // on cancel the batcher's worker may still read c.in: let it go
		s.pool.Put(c)
	}
	if err != nil {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return err
		}
		return fmt.Errorf("liveness %s: %w", md.name, err)
	}
	if len(out) == 0 || len(out[0]) != 3 {
		return fmt.Errorf("liveness %s: model gave %d outputs, want 3 logits", md.name, len(out))
	}
	return softmax3(out[0], p, md.name)
}

func softmax3(l []float32, p *[3]float64, name string) error {
	mx := math.Inf(-1)
	for _, v := range l {
		mx = max(mx, float64(v))
	}
	var sum float64
	for k, v := range l {
		p[k] = math.Exp(float64(v) - mx)
		sum += p[k]
	}
	if math.IsNaN(sum) || math.IsInf(sum, 0) || sum == 0 {
		return fmt.Errorf("liveness %s: model gave non-finite logits %v", name, l)
	}
	for k := range p {
		p[k] /= sum
	}
	return nil
}

// Close stops the batchers (letting queued crops finish) and frees the sessions. Idempotent;
// Score and ScoreMany return ErrClosed afterwards.
func (s *Scorer) Close() error {
	if s == nil {
		return nil
	}
	s.closed.Store(true)
	var err error
	for _, m := range s.models {
		err = errors.Join(err, m.b.Close())
	}
	return err
}
