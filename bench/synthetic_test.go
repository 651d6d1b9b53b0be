package bench

import (
	"math"
	"slices"
	"testing"
)

func dot(a, b []float32) float64 {
	var s float64
	for i := range a {
		s += float64(a[i]) * float64(b[i])
	}
	return s
}

// meanStd returns the mean and standard deviation of xs.
func meanStd(xs []float64) (float64, float64) {
	var m, v float64
	for _, x := range xs {
		m += x
	}
	m /= float64(len(xs))
	for _, x := range xs {
		v += (x - m) * (x - m)
	}
	return m, math.Sqrt(v / float64(len(xs)))
}

func TestSyntheticStatistics(t *testing.T) {
	for _, dim := range []int{128, 512} {
		cfg := SyntheticConfig{N: 20_000, Dim: dim, Queries: 500, Seed: 7}
		d, err := Synthetic(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if d.NBase() != cfg.N || d.NQueries() != cfg.Queries || len(d.BaseID) != cfg.N {
			t.Fatalf("sizes: base %d queries %d", d.NBase(), d.NQueries())
		}
		for i := range cfg.N {
			if n := dot(d.BaseVec(i), d.BaseVec(i)); math.Abs(n-1) > 1e-4 {
				t.Fatalf("base %d has squared norm %v", i, n)
			}
		}
		// Samples per identity in [2, 8]; base vectors of one identity are contiguous.
		per := map[int32]int{}
		for _, id := range d.BaseID {
			per[id]++
		}
		for id, n := range per {
			if (n < 2 || n > 8) && int(id) != len(per)-1 { // the last identity may be cut short
				t.Fatalf("identity %d has %d samples", id, n)
			}
		}
		var same, diff, probe []float64
		for i := 1; i < cfg.N; i++ {
			c := dot(d.BaseVec(i), d.BaseVec(i-1))
			if d.BaseID[i] == d.BaseID[i-1] {
				same = append(same, c)
			}
			if j := (i * 7919) % cfg.N; d.BaseID[j] != d.BaseID[i] {
				diff = append(diff, dot(d.BaseVec(i), d.BaseVec(j)))
			}
		}
		// A query is a new sample of an enrolled identity: close to that identity's base vectors
		// (like any other sample), never a copy of one.
		for q := range cfg.Queries {
			for i := range cfg.N {
				if d.BaseID[i] == d.QueryID[q] {
					c := dot(d.QueryVec(q), d.BaseVec(i))
					if c > 0.99 {
						t.Fatalf("query %d is a copy of base %d", q, i)
					}
					probe = append(probe, c)
				}
			}
		}
		sm, ss := meanStd(same)
		dm, ds := meanStd(diff)
		pm, _ := meanStd(probe)
		t.Logf("dim %d: same %.3f±%.3f, different %.3f±%.3f, probe-to-enrolled %.3f", dim, sm, ss, dm, ds, pm)
		if sm < 0.6 || sm > 0.7 || pm < 0.6 || pm > 0.7 {
			t.Errorf("same-identity cosine %.3f, probe %.3f; want 0.6–0.7", sm, pm)
		}
		if math.Abs(dm) > 0.01 || ds > 2/math.Sqrt(float64(dim)) {
			t.Errorf("different-identity cosine %.3f±%.3f; want ≈ 0", dm, ds)
		}
		slices.Sort(same)
		if same[len(same)/100] < 0.4 {
			t.Errorf("1st percentile of same-identity cosine %.3f: too spread", same[len(same)/100])
		}
	}
}

func TestSyntheticDeterministic(t *testing.T) {
	cfg := SyntheticConfig{N: 3000, Dim: 64, Queries: 100, Seed: 42}
	a, err := Synthetic(cfg)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Synthetic(cfg)
	if !slices.Equal(a.Base, b.Base) || !slices.Equal(a.Queries, b.Queries) || !slices.Equal(a.QueryID, b.QueryID) {
		t.Fatal("same seed, different data")
	}
	cfg.Seed++
	c, _ := Synthetic(cfg)
	if slices.Equal(a.Base[:64], c.Base[:64]) || slices.Equal(a.Queries[:64], c.Queries[:64]) {
		t.Fatal("different seeds, same data")
	}
	// A longer base with the same seed starts with the same identities.
	cfg.Seed--
	cfg.N = 6000
	e, _ := Synthetic(cfg)
	if !slices.Equal(a.Base[:64*2000], e.Base[:64*2000]) {
		t.Fatal("prefix changed with N")
	}
}

func TestSyntheticRejects(t *testing.T) {
	for _, cfg := range []SyntheticConfig{
		{N: 0, Dim: 8}, {N: 10, Dim: 0}, {N: 10, Dim: 8, Queries: -1},
		{N: 10, Dim: 8, MinSamples: 5, MaxSamples: 3}, {N: 10, Dim: 8, SameCos: 1.5},
	} {
		if _, err := Synthetic(cfg); err == nil {
			t.Errorf("%+v: no error", cfg)
		}
	}
}
