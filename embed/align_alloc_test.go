//go:build !race

package embed

import "testing"

// TestAlignAllocs: aligning into a reused crop must not allocate (the embed hot path aligns
// every face of every request).
func TestAlignAllocs(t *testing.T) {
	src := synthImage(300, 260)
	lm := [5][2]float32{{120, 110}, {170, 108}, {146, 140}, {125, 168}, {165, 166}}
	var dst Image
	Align(src, lm, &dst)
	if n := testing.AllocsPerRun(50, func() { Align(src, lm, &dst) }); n != 0 {
		t.Fatalf("Align allocates %.1f times per call with a reused dst", n)
	}
}
