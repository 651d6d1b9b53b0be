package vec

import (
	"math"
	"testing"

	"vigil/index/simd"
)

// FuzzDot compares every level's Dot and DotBatch with generic on small-integer vectors (exact
// in float32 whatever the order of addition, so the bits must agree) cut from the input at an
// arbitrary offset, and Normalize on the same vector within 2 ulps.
func FuzzDot(f *testing.F) {
	f.Add([]byte{1, 2, 3, 4, 5, 6}, uint8(0), uint8(1))
	f.Add(make([]byte, 130), uint8(3), uint8(2))
	f.Add([]byte("the quick brown fox jumps over the lazy dog, twice: the quick brown fox"), uint8(5), uint8(3))
	f.Fuzz(func(t *testing.T, data []byte, off, rows uint8) {
		if len(data) > 4096 {
			data = data[:4096]
		}
		nrows := int(rows%4) + 1
		o := int(off % 16)
		fl := make([]float32, o+len(data))
		for i, b := range data {
			fl[o+i] = float32(int8(b) / 16) // -8..7: sums of up to 4096 products stay exact
		}
		all := fl[o:]
		dim := len(all) / (nrows + 1)
		q, base := all[:dim], all[dim:dim*(nrows+1)]
		want := make([]float32, nrows)
		dotBatchGeneric(q, base, want)
		for _, l := range levels(t) {
			got := make([]float32, nrows)
			dotBatch(l, q, base, got)
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("%s dim %d row %d: %v, generic %v", l, dim, i, got[i], want[i])
				}
			}
			v, w := append([]float32(nil), q...), append([]float32(nil), q...)
			if normalize(l, v) != normalize(simd.Generic, w) {
				t.Fatalf("%s: Normalize accepts differently", l)
			}
			for i := range v {
				if math.Abs(float64(v[i]-w[i])) > 0x1p-22*math.Abs(float64(w[i])) {
					t.Fatalf("%s: Normalize [%d] %v, generic %v", l, i, v[i], w[i])
				}
			}
		}
	})
}

// FuzzPlanar compares every level's Planar with generic, bit for bit, on arbitrary pixels and
// coefficients (NaN and infinite ones included: the rounding steps are the same).
func FuzzPlanar(f *testing.F) {
	f.Add([]byte{10, 20, 30, 200, 100, 0}, float32(1), float32(0), float32(1.0/255), float32(-0.5), false, uint8(0))
	f.Add(make([]byte, 3*40), float32(1.0/128), float32(-127.5/128), float32(2), float32(3), true, uint8(5))
	f.Fuzz(func(t *testing.T, pix []byte, m0, a0, m1, a1 float32, bgr bool, off uint8) {
		n := len(pix) / 3
		back := make([]uint8, int(off%8)+3*n)
		copy(back[off%8:], pix)
		c := planarCase{pix: back[off%8:], mul: [3]float32{m0, m1, m0 * m1}, add: [3]float32{a0, a1, a0 - a1}, bgr: bgr}
		for _, l := range levels(t) {
			checkPlanarNaN(t, l, c, n, int(off%5))
		}
	})
}

// checkPlanarNaN is checkPlanar for coefficients that may make NaNs: NaN results compare equal
// whatever their payload (the hardware's default NaN and Go's may differ).
func checkPlanarNaN(t *testing.T, l simd.Level, c planarCase, n, off int) {
	t.Helper()
	dst := make([]float32, off+3*n)[off:]
	want := make([]float32, 3*n)
	planar(simd.Generic, want, c.pix[:3*n], n, c.mul, c.add, c.bgr)
	planar(l, dst, c.pix[:3*n], n, c.mul, c.add, c.bgr)
	for i := range want {
		same := math.Float32bits(dst[i]) == math.Float32bits(want[i]) ||
			math.IsNaN(float64(dst[i])) && math.IsNaN(float64(want[i]))
		if !same {
			t.Fatalf("%s n %d: [%d] = %v, generic %v", l, n, i, dst[i], want[i])
		}
	}
}
