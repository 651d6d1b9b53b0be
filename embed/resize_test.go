package embed

import (
	"bytes"
	"math"
	"testing"
)

// TestResizeFlat: weights sum to exactly 1, so a flat photo stays flat at any size, shrinking
// (area and bilinear) and enlarging.
func TestResizeFlat(t *testing.T) {
	var r resizer
	var dst Image
	for _, sz := range [][4]int{{250, 250, 83, 83}, {1920, 1080, 640, 360}, {1601, 1199, 640, 479}, {7, 5, 640, 457}, {300, 3, 1, 1}, {3, 300, 2, 250}} {
		src := &Image{W: sz[0], H: sz[1], Pix: bytes.Repeat([]uint8{7, 128, 255}, sz[0]*sz[1])}
		r.resize(src, sz[2], sz[3], &dst)
		if dst.W != sz[2] || dst.H != sz[3] || !bytes.Equal(dst.Pix, bytes.Repeat([]uint8{7, 128, 255}, sz[2]*sz[3])) {
			t.Errorf("%v: flat colour not kept", sz)
		}
	}
}

// TestResizeMatchesFloat checks both kernels against a direct float computation of the same
// definition (area: the mean over each output pixel's footprint; bilinear: half-pixel centres,
// edges replicated), within 1 level after the 11-bit fixed-point weights.
func TestResizeMatchesFloat(t *testing.T) {
	src := synthImage(300, 260)
	var r resizer
	var dst Image
	for _, sz := range [][2]int{{100, 87}, {37, 29}, {200, 180}, {450, 390}} {
		r.resize(src, sz[0], sz[1], &dst)
		fx, fy := float64(src.W)/float64(sz[0]), float64(src.H)/float64(sz[1])
		worst := 0.0
		for y := 0; y < sz[1]; y++ {
			for x := 0; x < sz[0]; x++ {
				for c := 0; c < 3; c++ {
					want := axisRef(fy, src.H, y, func(j int, wy float64) float64 {
						return wy * axisRef(fx, src.W, x, func(i int, wx float64) float64 {
							return wx * float64(src.Pix[3*(j*src.W+i)+c])
						})
					})
					worst = max(worst, math.Abs(float64(dst.Pix[3*(y*sz[0]+x)+c])-want))
				}
			}
		}
		if worst > 1 {
			t.Errorf("%v: max |diff| from the float reference %.2f, want <= 1", sz, worst)
		}
	}
}

// axisRef sums f(source index, weight) over output i's taps along one axis of factor f.
func axisRef(f float64, n, i int, sum func(int, float64) float64) float64 {
	s := 0.0
	if f > 2 {
		lo, hi := float64(i)*f, float64(i+1)*f
		for j := int(lo); float64(j) < hi && j < n; j++ {
			s += sum(j, (math.Min(hi, float64(j+1))-math.Max(lo, float64(j)))/f)
		}
		return s
	}
	x := math.Max(0, math.Min(float64(n-1), (float64(i)+0.5)*f-0.5))
	j := int(x)
	if fr := x - float64(j); fr > 0 {
		return sum(j, 1-fr) + sum(j+1, fr)
	}
	return sum(j, 1)
}

// TestResizeRotateCW checks the detector's rotation against the EXIF orientation code, an independent
// implementation: orientation 6 is a 90° clockwise turn, 3 is 180°, 8 is 270°.
func TestResizeRotateCW(t *testing.T) {
	src := synthImage(31, 17)
	var dst Image
	for deg, o := range map[int]int{90: 6, 180: 3, 270: 8} {
		rotateCW(src, deg, &dst)
		want := orient(src, o)
		if dst.W != want.W || dst.H != want.H || !bytes.Equal(dst.Pix, want.Pix) {
			t.Errorf("rotate %d: %dx%d differs from EXIF orientation %d", deg, dst.W, dst.H, o)
		}
	}
}
