package vec

import "fmt"

// The generic kernels are the reference every other level is tested against, and what runs on
// other architectures. Arguments are checked by the exported functions.

// dotBatchGeneric adds each row's products in four float32 partial sums (i mod 4) so the loop is
// not one long dependency chain; the assembly levels do the same with wider vectors.
func dotBatchGeneric(q, base, out []float32) {
	dim := len(q)
	for i := range out {
		out[i] = dotGeneric(q, base[i*dim:(i+1)*dim])
	}
}

func dotGeneric(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	for len(a) >= 4 && len(b) >= 4 { // both tests let the compiler drop the bounds checks
		s0 += a[0] * b[0]
		s1 += a[1] * b[1]
		s2 += a[2] * b[2]
		s3 += a[3] * b[3]
		a, b = a[4:], b[4:]
	}
	for i := range a {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}

// sumSquaresGeneric adds the squares in float64: a float32's square is exact there, and the sum
// cannot overflow for any vector that fits in memory.
func sumSquaresGeneric(v []float32) float64 {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	return s
}

func scaleGeneric(v []float32, s float32) {
	for i := range v {
		v[i] *= s
	}
}

// splitGeneric rounds each product to float32 before adding (the conversion forbids a fused
// multiply-add, which Go may use on arm64 and amd64 v3), as the assembly does.
func splitGeneric(r, g, b []float32, pix []uint8, mul, add *[3]float32) {
	n := len(r)
	g, b, pix = g[:n], b[:n], pix[:3*n]
	m0, m1, m2 := mul[0], mul[1], mul[2]
	a0, a1, a2 := add[0], add[1], add[2]
	for i := range r {
		p := pix[3*i : 3*i+3 : 3*i+3]
		r[i] = float32(float32(p[0])*m0) + a0
		g[i] = float32(float32(p[1])*m1) + a1
		b[i] = float32(float32(p[2])*m2) + a2
	}
}

// sumRowsGeneric is SumRows on rows already padded: two rows when !four (setting only), else four.
func sumRowsGeneric(acc []uint32, rows *[4][]uint8, w *[4]uint32, four, add bool) {
	n := len(acc)
	r0, r1, r2, r3 := rows[0][:n], rows[1][:n], rows[2][:n], rows[3][:n]
	w0, w1, w2, w3 := w[0], w[1], w[2], w[3]
	switch {
	case !four:
		for x := range acc {
			acc[x] = w0*uint32(r0[x]) + w1*uint32(r1[x])
		}
	case !add:
		for x := range acc {
			acc[x] = w0*uint32(r0[x]) + w1*uint32(r1[x]) + w2*uint32(r2[x]) + w3*uint32(r3[x])
		}
	default:
		for x := range acc {
			acc[x] += w0*uint32(r0[x]) + w1*uint32(r1[x]) + w2*uint32(r2[x]) + w3*uint32(r3[x])
		}
	}
}

func sumTapsGeneric(out []uint8, acc []uint32, start, n, off []int32, w []uint32, shift uint) {
	half := uint32(1) << (shift - 1)
	for i := range start {
		st, c, wi := 3*int(start[i]), int(n[i]), w[off[i]:]
		if c < 0 {
			panic(fmt.Sprintf("vec: SumTaps output %d has %d taps", i, c))
		}
		var a, b, d uint32
		for k := 0; k < c; k++ {
			p := acc[st+3*k : st+3*k+3 : st+3*k+3]
			a += wi[k] * p[0]
			b += wi[k] * p[1]
			d += wi[k] * p[2]
		}
		o := out[3*i : 3*i+3 : 3*i+3]
		o[0], o[1], o[2] = uint8((a+half)>>shift), uint8((b+half)>>shift), uint8((d+half)>>shift)
	}
}
