package embed

import (
	"context"
	"fmt"
	"sync"

	"vigil/models"
	"vigil/models/ort"
	"vigil/models/vec"
)

// Embedder turns aligned faces into L2-normalised embeddings with the manifest's preprocessing,
// batching concurrent requests into one model call. Safe for concurrent use; caller must Close.
type Embedder struct {
	b    *ort.Batcher
	m    models.Model
	bufs sync.Pool // *[]float32 input buffers of one item
}

// OpenEmbedder loads the manifest's embedding model name from dir behind a Batcher.
func OpenEmbedder(m *models.Manifest, dir, name string, bc ort.BatcherConfig) (*Embedder, error) {
	e, err := m.Get(name)
	if err != nil {
		return nil, err
	}
	if e.Input.Width != AlignSize || e.Input.Height != AlignSize {
		return nil, fmt.Errorf("%w %s: input %dx%d, the aligner makes %dx%d crops", models.ErrModel, name,
			e.Input.Width, e.Input.Height, AlignSize, AlignSize)
	}
	bc.Name = name
	b, err := ort.NewBatcher(bc, []int64{3, int64(e.Input.Height), int64(e.Input.Width)}, func() (*ort.Session, error) {
		s, _, err := ort.OpenModel(m, dir, name, models.RoleEmbedder)
		return s, err
	})
	if err != nil {
		return nil, err
	}
	return &Embedder{b: b, m: e}, nil
}

// Model returns the embedding model's manifest entry.
func (e *Embedder) Model() models.Model { return e.m }

// Device reports where the model runs.
func (e *Embedder) Device() string { return e.b.Device() }

// MeanBatch is the mean number of faces per model call so far.
func (e *Embedder) MeanBatch() float64 { return e.b.MeanBatch() }

// BatchStats returns the model calls made and the faces they carried so far.
func (e *Embedder) BatchStats() (calls, faces int64) { return e.b.Stats() }

// Embed returns the unit-length embedding of an aligned AlignSize×AlignSize face.
func (e *Embedder) Embed(ctx context.Context, aligned *Image) ([]float32, error) {
	if aligned.W != e.m.Input.Width || aligned.H != e.m.Input.Height {
		return nil, fmt.Errorf("embed: face crop %dx%d, model takes %dx%d", aligned.W, aligned.H, e.m.Input.Width, e.m.Input.Height)
	}
	bp, _ := e.bufs.Get().(*[]float32)
	if bp == nil {
		b := make([]float32, e.b.ItemLen())
		bp = &b
	}
	Planar(*bp, aligned, e.m.Input)
	out, err := e.b.Run(ctx, *bp)
	if ctx.Err() == nil { // on cancel the worker may still read the buffer: let it go
		e.bufs.Put(bp)
	}
	if err != nil {
		return nil, err
	}
	v := append([]float32(nil), out[0]...)
	if len(v) != e.m.Dim {
		return nil, fmt.Errorf("embed: model gave %d values, manifest says dim %d", len(v), e.m.Dim)
	}
	if !Normalize(v) {
		return nil, fmt.Errorf("embed: model gave a zero or non-finite embedding")
	}
	return v, nil
}

// Planar writes img as an NCHW float item for a model input: value = (pixel*Scale - Mean[c]) /
// Std[c], channels in the input's colour order. dst holds 3*W*H floats. The conversion runs in
// vec's SIMD kernel, which gives the same bits at every level.
func Planar(dst []float32, img *Image, in models.Input) {
	var mul, add [3]float32 // value = pixel*mul + add, per source channel R, G, B
	for c := 0; c < 3; c++ {
		mc := c // manifest channel index in the model's order
		if in.Color == "bgr" {
			mc = 2 - c
		}
		mul[c] = in.Scale / in.Std[mc]
		add[c] = -in.Mean[mc] / in.Std[mc]
	}
	vec.Planar(dst, img.Pix, img.W*img.H, mul, add, in.Color == "bgr")
}

// Normalize scales v to unit L2 length in place; false if v is zero or not finite (v is then
// left as it was). See vec.Normalize.
func Normalize(v []float32) bool { return vec.Normalize(v) }

// Close stops the batcher and frees its sessions.
func (e *Embedder) Close() error {
	if e == nil || e.b == nil {
		return nil
	}
	err := e.b.Close()
	e.b = nil
	return err
}
