package attributes

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"

	"vigil/embed"
	"vigil/models"
	"vigil/models/ort"
	"vigil/models/prep"
)

// ErrNotConfigured is returned by Open when no attributes model is configured (none named and
// none in the manifest), and by callers (engine) that hold no Estimator. The API answers 501.
var ErrNotConfigured = errors.New("age/gender model not configured")

// ErrClosed is returned by Estimate and EstimateMany after Close.
var ErrClosed = errors.New("attributes: estimator closed")

// The model's stated range (its model card: "not applicable for children").
const (
	MinAge = 18
	MaxAge = 75
)

// Config selects the attributes model and sizes its batcher.
type Config struct {
	ModelsDir string
	Manifest  *models.Manifest // nil means models.Default()
	// Model is the manifest name (role attributes); "" takes the manifest's first attributes
	// model, and Open returns ErrNotConfigured when it has none.
	Model string
	// Batch sizes the batcher: sessions, the largest batch per model call, the jobs that may
	// wait. Zero fields take the ort.Batcher defaults (1, 32, 256).
	Batch ort.BatcherConfig
	// CropScale is the side of the square crop relative to the box's longer side; 0 takes the
	// manifest entry's crop_scale (1.0 if it has none).
	CropScale float64
	// MinFaceSize: faces whose box's longer side is under this many pixels get SmallFace;
	// 0 means DefaultMinFaceSize.
	MinFaceSize int
}

// DefaultMinFaceSize is where SmallFace starts. Measured (bench/RESULTS.md, "small faces"):
// the 719 labelled LFW photos shrunk (area averaging) until the median face box was 99 down to
// 23 px. An estimate moves by about 2 years on average with any resampling (99 px: 2.0), and
// that drift grows slowly down to 45 px (2.7), then faster: 41 px 3.1, 37 px 3.4, 34 px 3.8,
// 30 px 4.3, 27 px 5.0; gender flips rise from about 2 % below 37 px (34 px 2.9 %, 30 px 4.2 %).
// The MAE itself grows only from 10.9 to 11.9 years at 34 px: the model's own error dominates.
// Under 40 px the drift passes 1.5× the full-size jitter, so the estimate is flagged. Faces under
// the detector's 32 px never reach this stage.
const DefaultMinFaceSize = 40

// DefaultConfig returns the shipped choice: the manifest's attributes model, its crop scale.
func DefaultConfig() Config {
	return Config{ModelsDir: "models", Batch: ort.BatcherConfig{Sessions: 1, MaxBatch: 32, QueueSize: 256},
		MinFaceSize: DefaultMinFaceSize}
}

// Result is one face's estimate. Only Age, Band, Gender and GenderProb are meant for clients,
// always with the flags; RawAge and Female are the model's outputs, for benchmarks and tests.
type Result struct {
	// Age is the estimate in whole years (the error is many years: finer would be noise).
	Age float32 `json:"age"`
	// Band is Age's band: 18-24, 25-34, 35-44, 45-54, 55-64 or 65+; "" under 18 (out of range:
	// the model cannot tell minors from adults).
	Band       string  `json:"age_band"`
	Gender     string  `json:"gender"`      // "female" or "male"
	GenderProb float32 `json:"gender_prob"` // the model's probability of Gender, in [0.5, 1]
	// OutOfRange: the estimate is outside the model's 18–75, or at the ends of its outputs where
	// it saturates (under SaturatedBelow, or SaturatedAbove and over).
	OutOfRange bool `json:"out_of_range"`
	// SmallFace: the face box is under MinFaceSize pixels, where estimates drift.
	SmallFace bool `json:"small_face"`

	RawAge float32 `json:"-"` // age_conv3 × 100, unrounded
	Female float32 `json:"-"` // P(female), prob[0]
}

// Flags lists the set flags by their JSON names, for text output.
func (r Result) Flags() []string {
	var f []string
	if r.OutOfRange {
		f = append(f, "out_of_range")
	}
	if r.SmallFace {
		f = append(f, "small_face")
	}
	return f
}

// The model saturates at both ends (bench/RESULTS.md): on 719 LFW faces of people aged 20–80
// its estimates ran only from 20.07 to 69.5. At the floor an estimate says no more than "looks
// young": under 21 the true ages were 20–60, and a minor would land there too. Near the ceiling
// it says no more than "looks old": at 65 and over the true ages were 60–80, mostly over 75 (the
// model's range). Such estimates are flagged OutOfRange, as are any outside 18–75. Both limits
// come from where the model's outputs end, not from fitting the labels.
const (
	SaturatedBelow = 21 // estimates under this are at the model's floor
	SaturatedAbove = 65 // estimates at or over this are at its ceiling
)

// Band returns the age band of an age in years; "" under MinAge.
func Band(age float32) string {
	switch {
	case !(age >= MinAge):
		return ""
	case age < 25:
		return "18-24"
	case age < 35:
		return "25-34"
	case age < 45:
		return "35-44"
	case age < 55:
		return "45-54"
	case age < 65:
		return "55-64"
	}
	return "65+"
}

// Bands lists the bands in order.
var Bands = []string{"18-24", "25-34", "35-44", "45-54", "55-64", "65+"}

// Estimator runs the attributes model behind an ort.Batcher so that concurrent faces share model
// calls. It owns the batcher's sessions and a pool of crop buffers. Safe for concurrent use;
// caller must Close.
type Estimator struct {
	name     string
	entry    models.Model
	scale    float64
	minFace  int
	b        *ort.Batcher
	inflight int // EstimateMany's cap on its own jobs in flight
	device   string
	closed   atomic.Bool
	pool     sync.Pool // *crop
}

// crop is one face's scratch: the resized pixels and the model input item made from them.
type crop struct {
	rs  prep.Resizer
	pix prep.Image
	in  []float32
}

// Open verifies and loads the model. ort.Init must have been called. With no model named and
// none in the manifest it returns ErrNotConfigured.
func Open(cfg Config) (*Estimator, error) {
	if cfg.Manifest == nil {
		cfg.Manifest = models.Default()
	}
	if cfg.Model == "" {
		for _, m := range cfg.Manifest.Models {
			if m.Role == models.RoleAttributes {
				cfg.Model = m.Name
				break
			}
		}
		if cfg.Model == "" {
			return nil, ErrNotConfigured
		}
	}
	e, err := cfg.Manifest.Get(cfg.Model)
	if err != nil {
		return nil, err
	}
	if err := checkEntry(e); err != nil {
		return nil, err
	}
	if cfg.CropScale == 0 {
		cfg.CropScale = float64(e.CropScale)
		if cfg.CropScale == 0 {
			cfg.CropScale = 1
		}
	}
	if !(cfg.CropScale >= 0.5 && cfg.CropScale <= 4) {
		return nil, fmt.Errorf("attributes: crop scale %v not in [0.5, 4]", cfg.CropScale)
	}
	if cfg.MinFaceSize < 0 {
		return nil, fmt.Errorf("attributes: negative min face size %d", cfg.MinFaceSize)
	}
	if cfg.MinFaceSize == 0 {
		cfg.MinFaceSize = DefaultMinFaceSize
	}
	// Hash the file once here; the sessions then open the verified path.
	if err := e.Verify(cfg.ModelsDir); err != nil {
		return nil, err
	}
	bc := cfg.Batch
	bc.Name = e.Name
	path := e.Path(cfg.ModelsDir)
	b, err := ort.NewBatcher(bc, []int64{3, int64(e.Input.Height), int64(e.Input.Width)}, func() (*ort.Session, error) {
		return ort.Open(path, []string{e.Input.Name}, e.Outputs)
	})
	if err != nil {
		return nil, fmt.Errorf("attributes %s: %w", e.Name, err)
	}
	// As liveness.Scorer: one call keeps at most a full batch per session in flight, and never
	// more than the queue holds, so a crowd photo cannot overload an idle estimator by itself.
	mb, qs := bc.MaxBatch, bc.QueueSize
	if mb <= 0 {
		mb = 32 // ort.Batcher's defaults
	}
	if qs <= 0 {
		qs = 256
	}
	return &Estimator{name: e.Name, entry: e, scale: cfg.CropScale, minFace: cfg.MinFaceSize, b: b,
		inflight: min(mb*max(bc.Sessions, 1), qs), device: b.Device()}, nil
}

func checkEntry(e models.Model) error {
	switch {
	case e.Role != models.RoleAttributes:
		return fmt.Errorf("%w %s: is a %s model, want %s", models.ErrModel, e.Name, e.Role, models.RoleAttributes)
	case len(e.Outputs) != 2:
		return fmt.Errorf("%w %s: an attributes model has 2 outputs (age, gender probabilities), manifest lists %d",
			models.ErrModel, e.Name, len(e.Outputs))
	case e.Input.Width > 1024 || e.Input.Height > 1024:
		return fmt.Errorf("%w %s: input %dx%d too large for a face crop", models.ErrModel, e.Name, e.Input.Width, e.Input.Height)
	}
	return nil
}

// Model returns the manifest name in use.
func (e *Estimator) Model() string { return e.name }

// CropScale is the crop's side relative to the face box's longer side.
func (e *Estimator) CropScale() float64 { return e.scale }

// MinFaceSize is the smallest face box side (pixels) estimated without SmallFace.
func (e *Estimator) MinFaceSize() int { return e.minFace }

// Device reports where the model runs.
func (e *Estimator) Device() string { return e.device }

// MeanBatch is the mean number of faces per model call so far.
func (e *Estimator) MeanBatch() float64 { return e.b.MeanBatch() }

// Estimate rates one face of img; box is (x, y, w, h) in img's pixels, as embed.Face.Box. img is
// only read.
func (e *Estimator) Estimate(ctx context.Context, img *embed.Image, box [4]float32) (Result, error) {
	r, err := e.EstimateMany(ctx, img, [][4]float32{box})
	if err != nil {
		return Result{}, err
	}
	return r[0], nil
}

// EstimateMany rates several faces of one photo, submitting every crop at once so the batcher
// runs them in as few model calls as possible (at most min(MaxBatch·Sessions, QueueSize) in
// flight from one call). Results are in boxes' order. It fails as a whole: a bad box (the error
// names its index), ort.ErrOverloaded when other requests fill the queue (wrapped; the API
// answers 429), or ctx ending.
func (e *Estimator) EstimateMany(ctx context.Context, img *embed.Image, boxes [][4]float32) ([]Result, error) {
	if e == nil || e.closed.Load() {
		return nil, ErrClosed
	}
	if img == nil || img.W <= 0 || img.H <= 0 || len(img.Pix) != 3*img.W*img.H {
		return nil, errors.New("attributes: malformed image")
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	rects := make([]Rect, len(boxes))
	for i, box := range boxes {
		r, err := CropRect(img.W, img.H, box, e.scale)
		if err != nil {
			return nil, fmt.Errorf("face %d: %w", i, err)
		}
		rects[i] = r
	}
	out := make([]Result, len(boxes))
	if len(rects) == 1 {
		if err := e.run(ctx, img, rects[0], &out[0]); err != nil {
			return nil, err
		}
	} else if err := e.runAll(ctx, img, rects, out); err != nil {
		return nil, err
	}
	for i, box := range boxes {
		out[i].SmallFace = max(box[2], box[3]) < float32(e.minFace)
	}
	return out, nil
}

// runAll runs every face in its own goroutine, at most e.inflight at once; the first error
// cancels the rest.
func (e *Estimator) runAll(ctx context.Context, img *embed.Image, rects []Rect, out []Result) error {
	return ort.FanOut(ctx, len(rects), 1, e.inflight, func(ctx context.Context, j int) error {
		return e.run(ctx, img, rects[j], &out[j])
	})
}

// run crops r into a pooled input, runs the model and decodes its outputs into res.
func (e *Estimator) run(ctx context.Context, img *embed.Image, r Rect, res *Result) error {
	in := e.entry.Input
	c, _ := e.pool.Get().(*crop)
	if c == nil {
		c = &crop{pix: prep.Image{W: in.Width, H: in.Height}, in: make([]float32, e.b.ItemLen())}
	}
	if err := c.rs.Resize(&c.pix, (*prep.Image)(img), r); err != nil {
		e.pool.Put(c)
		return err
	}
	embed.Planar(c.in, (*embed.Image)(&c.pix), in)
	outs, err := e.b.Run(ctx, c.in)
	if ctx.Err() == nil { // on cancel the batcher's worker may still read c.in: let it go
		e.pool.Put(c)
	}
	if err != nil {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return err
		}
		return fmt.Errorf("attributes %s: %w", e.name, err)
	}
	return decode(outs, res, e.name)
}

// decode turns the model's outputs (age/100; P(female), P(male)) into a Result.
func decode(outs [][]float32, res *Result, name string) error {
	if len(outs) != 2 || len(outs[0]) != 1 || len(outs[1]) != 2 {
		return fmt.Errorf("attributes %s: model gave outputs of %d values, want 1 (age) and 2 (gender)", name, sizes(outs))
	}
	age, pf, pm := outs[0][0]*100, outs[1][0], outs[1][1]
	for _, v := range []float32{age, pf, pm} {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return fmt.Errorf("attributes %s: model gave non-finite outputs %v", name, outs)
		}
	}
	*res = Result{RawAge: age, Female: pf, Age: float32(math.Round(float64(age)))}
	res.Band = Band(res.Age)
	res.OutOfRange = age < SaturatedBelow || age >= SaturatedAbove || age < MinAge || age > MaxAge
	res.Gender, res.GenderProb = "male", pm
	if pf > pm {
		res.Gender, res.GenderProb = "female", pf
	}
	return nil
}

func sizes(outs [][]float32) []int {
	n := make([]int, len(outs))
	for i, o := range outs {
		n[i] = len(o)
	}
	return n
}

// Close stops the batcher (letting queued crops finish) and frees its sessions. Idempotent;
// Estimate and EstimateMany return ErrClosed afterwards.
func (e *Estimator) Close() error {
	if e == nil || e.closed.Swap(true) {
		return nil
	}
	return e.b.Close()
}
