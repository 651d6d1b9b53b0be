package embed

import (
	"math"

	"vigil/models/vec"
)

// taps is a 1-D resampling table: output i reads src[start[i]+k] with weight w[off[i]+k] for
// k < n[i], weights in 1/2048ths (OpenCV's INTER_RESIZE_COEF_BITS) summing to exactly 2048 per
// output, so flat areas stay flat. Pixel centres sit at i+0.5 in both grids (OpenCV's
// convention), so a resize neither shifts nor mirrors the picture.
type taps struct {
	start, n, off []int32
	w             []uint32
	fw            []float64 // one output's weights before quantising
}

const (
	coefBitsResize = 11
	coefOne        = 1 << coefBitsResize
)

// build fills t for scaling a line of sn samples to dn. Shrinking by more than 2× averages each
// output pixel's whole footprint (area, as cv2.INTER_AREA); otherwise bilinear (cv2.INTER_LINEAR,
// edge samples replicated). Measured (TestDetectMeasureResize): both find the same faces in LFW
// mosaics shrunk 4–6×, and area's landmarks on 12 hi-res photos are 3% closer to a detection at
// twice the resolution, for twice the time (a 1080p photo: ~17 vs ~8 ms on 2 busy cores). Area
// stays for its guarantee: bilinear reads 2 of every f rows, so a 12-MP photo's fine texture
// (hair, fabric) would alias into the detector's input.
func (t *taps) build(sn, dn int) {
	t.start, t.n, t.off, t.w = t.start[:0], t.n[:0], t.off[:0], t.w[:0]
	f := float64(sn) / float64(dn)
	for i := 0; i < dn; i++ {
		var a int
		t.fw = t.fw[:0]
		if f > areaAbove {
			lo, hi := float64(i)*f, float64(i+1)*f
			a = int(lo)
			for j := a; j < min(int(math.Ceil(hi)), sn); j++ {
				t.fw = append(t.fw, (min(hi, float64(j+1))-max(lo, float64(j)))/f)
			}
		} else {
			x := (float64(i)+0.5)*f - 0.5
			a = int(math.Floor(x))
			fr := x - float64(a)
			switch {
			case a < 0:
				a, fr = 0, 0
			case a >= sn-1:
				a, fr = sn-1, 0
			}
			t.fw = append(t.fw, 1-fr)
			if fr > 0 {
				t.fw = append(t.fw, fr)
			}
		}
		t.off = append(t.off, int32(len(t.w)))
		t.start, t.n = append(t.start, int32(a)), append(t.n, int32(len(t.fw)))
		sum, big := uint32(0), len(t.w)
		for _, v := range t.fw {
			q := uint32(math.Round(v * coefOne))
			if len(t.w) > big && q > t.w[big] {
				big = len(t.w)
			}
			t.w = append(t.w, q)
			sum += q
		}
		t.w[big] += coefOne - sum // the rounding residue (a few units at most) goes to the largest weight
	}
}

// areaAbove is the shrink factor above which taps.build averages areas instead of
// interpolating (a variable so the measurement in detect_test.go can compare the two).
var areaAbove = 2.0

// resizer holds the tables and the intermediate row of a separable resize; reused across
// calls so the detector's steady state does not allocate. Not safe for concurrent use.
type resizer struct {
	tx, ty taps
	acc    []uint32 // one source-width row of RGB sums: the vertical pass
}

// resize scales src to dw×dh into dst, reusing dst.Pix when it is large enough. Each axis picks
// area or bilinear on its own factor (see taps.build); integer arithmetic, rounded to uint8. The
// vertical pass runs first, over whole rows, so the source is read once, in order, and bilinear
// skips the rows it does not need. Both passes run in vec's SIMD kernels (SumRows, SumTaps).
func (r *resizer) resize(src *Image, dw, dh int, dst *Image) {
	dst.W, dst.H = dw, dh
	dst.Pix = scratch(dst.Pix, 3*dw*dh)
	if dw == src.W && dh == src.H {
		copy(dst.Pix, src.Pix)
		return
	}
	r.tx.build(src.W, dw)
	r.ty.build(src.H, dh)
	sw := 3 * src.W
	r.acc = scratch(r.acc, sw)
	acc := r.acc
	for j := 0; j < dh; j++ {
		st, n, w := int(r.ty.start[j]), int(r.ty.n[j]), r.ty.w[r.ty.off[j]:]
		// Up to four source rows per sweep over acc (missing ones get weight 0): the pass is
		// bound by acc's loads and stores, so a 3× shrink takes one sweep, not three.
		for k := 0; k < n; k += 4 {
			var rows [4][]uint8
			var ws [4]uint32
			m := min(4, n-k)
			for q := range m {
				rows[q], ws[q] = src.Pix[sw*(st+k+q):sw*(st+k+q+1)], w[k+q]
			}
			vec.SumRows(acc[:sw], rows, ws, m, k > 0) // two rows (bilinear) read only two
		}
		// acc ≤ 255·2048 and weights sum to 2048: the sums stay under 2^31.
		vec.SumTaps(dst.Pix[3*dw*j:3*dw*(j+1)], acc, r.tx.start, r.tx.n, r.tx.off, r.tx.w, 2*coefBitsResize)
	}
}

// scratch returns b resliced to n, reallocating only when its capacity is short.
func scratch[T any](b []T, n int) []T {
	if cap(b) < n {
		return make([]T, n)
	}
	return b[:n]
}

// rotateCW writes src turned clockwise by deg (90, 180 or 270) into dst, reusing dst.Pix.
// The detector searches rotated photos this way on its small resized copy, not the original.
func rotateCW(src *Image, deg int, dst *Image) {
	w, h := src.W, src.H
	dst.Pix = scratch(dst.Pix, len(src.Pix))
	dst.W, dst.H = w, h
	if deg != 180 {
		dst.W, dst.H = h, w
	}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			var dx, dy int
			switch deg {
			case 90:
				dx, dy = h-1-y, x
			case 180:
				dx, dy = w-1-x, h-1-y
			default: // 270
				dx, dy = y, w-1-x
			}
			copy(dst.Pix[3*(dy*dst.W+dx):3*(dy*dst.W+dx)+3], src.Pix[3*(y*w+x):3*(y*w+x)+3])
		}
	}
}
