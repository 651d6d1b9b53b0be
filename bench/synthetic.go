package bench

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
)

// SyntheticConfig describes face-like embeddings: identities, each with a few samples, each
// sample = normalise(centre + noise). Zero fields take the defaults shown.
type SyntheticConfig struct {
	N       int    // base (enrolled) vectors
	Dim     int    // dimension
	Queries int    // probes: new samples of enrolled identities, never copies of base vectors
	Seed    uint64 // same seed, same data

	MinSamples, MaxSamples int // samples per identity, uniform in [MinSamples, MaxSamples] (2, 8)

	// SameCos is the mean cosine of two samples of one identity (0.64, MobileFaceNet's on LFW-like
	// data); the noise scale follows from it. Samples of different identities have cosine ≈ 0.
	SameCos float64

	// Spectrum shapes where identity centres lie: component j of a centre has variance
	// ∝ exp(-j/(Spectrum·Dim)) before normalising. 0 means 0.39, the fit to MobileFaceNet
	// embeddings of LFW photos (see RESULTS.md: the top 10/32/64 of 128 principal components
	// carry 19/49/76 % of the variance); negative means isotropic (uniform on the sphere).
	Spectrum float64
}

func (c SyntheticConfig) withDefaults() SyntheticConfig {
	if c.MinSamples <= 0 {
		c.MinSamples = 2
	}
	if c.MaxSamples <= 0 {
		c.MaxSamples = 8
	}
	if c.SameCos == 0 {
		c.SameCos = 0.64
	}
	if c.Spectrum == 0 {
		c.Spectrum = 0.39
	}
	return c
}

// Dataset is a benchmark's vectors, all L2-normalised, back to back.
type Dataset struct {
	Dim     int
	Base    []float32 // NBase()*Dim
	Queries []float32 // NQueries()*Dim

	// Identity labels, for synthetic data only (nil for files): the identity of each base vector
	// and each query.
	BaseID, QueryID []int32
}

// NBase is the number of base vectors.
func (d *Dataset) NBase() int { return len(d.Base) / d.Dim }

// NQueries is the number of queries.
func (d *Dataset) NQueries() int { return len(d.Queries) / d.Dim }

// BaseVec returns base vector i (aliasing Base).
func (d *Dataset) BaseVec(i int) []float32 { return d.Base[i*d.Dim : (i+1)*d.Dim : (i+1)*d.Dim] }

// QueryVec returns query i (aliasing Queries).
func (d *Dataset) QueryVec(i int) []float32 {
	return d.Queries[i*d.Dim : (i+1)*d.Dim : (i+1)*d.Dim]
}

// jitter is the relative spread of the per-sample noise scale: some captures are better than
// others, which widens the same-identity score distribution as real ones are.
const jitter = 0.3

// noiseScale returns the mean noise norm s0 for which two samples normalise(c+e1), normalise(c+e2)
// of a unit centre c, with |e| = s0·u, u uniform in [1-jitter, 1+jitter], have mean cosine
// E[1/sqrt((1+s1²)(1+s2²))] = same (the cross terms vanish in high dimension). Bisection; the
// mean is decreasing in s0.
func noiseScale(same float64) float64 {
	mean := func(s0 float64) float64 {
		// E over u of 1/sqrt(1+s²), squared (independent samples), by midpoint quadrature.
		const steps = 200
		var e float64
		for i := range steps {
			u := 1 - jitter + 2*jitter*(float64(i)+0.5)/steps
			s := s0 * u
			e += 1 / math.Sqrt(1+s*s)
		}
		e /= steps
		return e * e
	}
	lo, hi := 0.0, 100.0
	for range 100 {
		mid := (lo + hi) / 2
		if mean(mid) > same {
			lo = mid
		} else {
			hi = mid
		}
	}
	return (lo + hi) / 2
}

// Synthetic generates face-like data. Identity centres are Gaussian with the variance spectrum
// of SyntheticConfig.Spectrum, normalised (so different identities score ≈ 0, with a spread a
// little above the isotropic 1/sqrt(Dim)); each sample adds isotropic Gaussian noise of norm ≈
// s0·u to its centre and is normalised, s0 chosen so same-identity pairs score SameCos on
// average. Queries pick an enrolled identity uniformly and draw a fresh sample of it. The output
// depends only on the config (generation runs on all cores but each identity and each query has
// its own random stream).
func Synthetic(cfg SyntheticConfig) (*Dataset, error) {
	cfg = cfg.withDefaults()
	switch {
	case cfg.N <= 0 || cfg.Dim <= 0 || cfg.Queries < 0:
		return nil, fmt.Errorf("bench: synthetic n=%d dim=%d queries=%d", cfg.N, cfg.Dim, cfg.Queries)
	case cfg.MinSamples > cfg.MaxSamples:
		return nil, fmt.Errorf("bench: synthetic samples per identity %d..%d", cfg.MinSamples, cfg.MaxSamples)
	case cfg.SameCos <= 0 || cfg.SameCos >= 1:
		return nil, errors.New("bench: synthetic SameCos must be in (0, 1)")
	}
	s0 := noiseScale(cfg.SameCos)
	scale := make([]float32, cfg.Dim) // per-component standard deviation of centres
	for j := range scale {
		scale[j] = 1
		if cfg.Spectrum > 0 {
			scale[j] = float32(math.Exp(-float64(j) / (2 * cfg.Spectrum * float64(cfg.Dim))))
		}
	}
	// Sequential pass: how many samples each identity has, and which identity each query probes.
	master := rand.New(rand.NewPCG(cfg.Seed, 0x5eed))
	var starts []int // identity i owns base vectors starts[i]..starts[i+1]-1
	for n := 0; n < cfg.N; {
		starts = append(starts, n)
		n += cfg.MinSamples + master.IntN(cfg.MaxSamples-cfg.MinSamples+1)
	}
	starts = append(starts, cfg.N)
	ids := len(starts) - 1
	d := &Dataset{Dim: cfg.Dim, Base: make([]float32, cfg.N*cfg.Dim), Queries: make([]float32, cfg.Queries*cfg.Dim),
		BaseID: make([]int32, cfg.N), QueryID: make([]int32, cfg.Queries)}
	for q := range d.QueryID {
		d.QueryID[q] = int32(master.IntN(ids))
	}

	// centre draws identity i's centre from its own stream; samples follow in the same stream.
	centre := func(i int, c []float32) *rand.Rand {
		r := rand.New(rand.NewPCG(cfg.Seed, uint64(i)+1))
		gauss(r, c)
		for j := range c {
			c[j] *= scale[j]
		}
		normalize(c)
		return r
	}
	sample := func(r *rand.Rand, c, dst []float32) {
		s := s0 * (1 - jitter + 2*jitter*r.Float64()) / math.Sqrt(float64(cfg.Dim))
		gauss(r, dst)
		for j := range dst {
			dst[j] = c[j] + float32(s)*dst[j]
		}
		normalize(dst)
	}
	parallel(ids, func(lo, hi int) {
		c := make([]float32, cfg.Dim)
		for i := lo; i < hi; i++ {
			r := centre(i, c)
			for v := starts[i]; v < starts[i+1]; v++ {
				d.BaseID[v] = int32(i)
				sample(r, c, d.BaseVec(v))
			}
		}
	})
	parallel(cfg.Queries, func(lo, hi int) {
		c := make([]float32, cfg.Dim)
		for q := lo; q < hi; q++ {
			centre(int(d.QueryID[q]), c)
			sample(rand.New(rand.NewPCG(cfg.Seed^0x9e3779b97f4a7c15, uint64(q))), c, d.QueryVec(q))
		}
	})
	return d, nil
}

func gauss(r *rand.Rand, v []float32) {
	for j := range v {
		v[j] = float32(r.NormFloat64())
	}
}

// normalize scales v to unit L2 norm in place; false (v untouched) when v is zero.
func normalize(v []float32) bool {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	if s == 0 {
		return false
	}
	inv := float32(1 / math.Sqrt(s))
	for j := range v {
		v[j] *= inv
	}
	return true
}

// NormalizeAll normalises every dim-float vector of v in place and reports how many were not
// unit length already (|norm-1| > 1e-3); an all-zero vector is an error.
func NormalizeAll(v []float32, dim int) (changed int, err error) {
	for i := 0; i+dim <= len(v); i += dim {
		row := v[i : i+dim]
		var s float64
		for _, x := range row {
			s += float64(x) * float64(x)
		}
		if math.Abs(math.Sqrt(s)-1) > 1e-3 {
			changed++
		}
		if !normalize(row) {
			return changed, fmt.Errorf("bench: vector %d is all zeros", i/dim)
		}
	}
	return changed, nil
}

// parallel splits [0, n) into chunks run on all cores.
func parallel(n int, fn func(lo, hi int)) {
	workers := min(runtime.GOMAXPROCS(0), max(1, n/256))
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(n*w/workers, n*(w+1)/workers)
		}()
	}
	wg.Wait()
}
