package vec

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// Each benchmark runs every level the CPU offers; compare levels within one run.

func BenchmarkDot(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	for _, dim := range []int{128, 512} {
		q, x := make([]float32, dim), make([]float32, dim)
		fillNormal(r, q)
		fillNormal(r, x)
		for _, l := range levels(b) {
			b.Run(fmt.Sprintf("dim=%d/%s", dim, l), func(b *testing.B) {
				b.SetBytes(int64(8 * dim))
				var out [1]float32
				for b.Loop() {
					dotBatch(l, q, x, out[:])
				}
			})
		}
	}
}

// BenchmarkDotBatch: one query against 10,000 rows (5 or 20 MB: beyond L2, so partly memory
// bound), the exact search a Flat index or a ground-truth pass does.
func BenchmarkDotBatch(b *testing.B) {
	const rows = 10000
	r := rand.New(rand.NewPCG(2, 2))
	for _, dim := range []int{128, 512} {
		q, base, out := make([]float32, dim), make([]float32, rows*dim), make([]float32, rows)
		fillNormal(r, q)
		fillNormal(r, base)
		for _, l := range levels(b) {
			b.Run(fmt.Sprintf("dim=%d/%s", dim, l), func(b *testing.B) {
				b.SetBytes(int64(4 * rows * dim))
				for b.Loop() {
					dotBatch(l, q, base, out)
				}
			})
		}
	}
}

func BenchmarkNormalize(b *testing.B) {
	r := rand.New(rand.NewPCG(3, 3))
	for _, dim := range []int{128, 512} {
		v := make([]float32, dim)
		fillNormal(r, v)
		for _, l := range levels(b) {
			b.Run(fmt.Sprintf("dim=%d/%s", dim, l), func(b *testing.B) {
				b.SetBytes(int64(4 * dim))
				for b.Loop() {
					normalize(l, v) // stays unit length: the work is the same every time
				}
			})
		}
	}
}

// BenchmarkPlanar: an aligned face for the embedder (112×112) and a detector input (640×640).
func BenchmarkPlanar(b *testing.B) {
	r := rand.New(rand.NewPCG(4, 4))
	for _, side := range []int{112, 640} {
		n := side * side
		pix, dst := make([]uint8, 3*n), make([]float32, 3*n)
		for i := range pix {
			pix[i] = uint8(r.Uint32())
		}
		coef := realCoefs[0]
		for _, l := range levels(b) {
			b.Run(fmt.Sprintf("%dx%d/%s", side, side, l), func(b *testing.B) {
				b.SetBytes(int64(3 * n))
				for b.Loop() {
					planar(l, dst, pix, n, coef[0], coef[1], true)
				}
			})
		}
	}
}

// BenchmarkSumRows: the resize's vertical pass over one row of a 1920-pixel photo, four rows.
func BenchmarkSumRows(b *testing.B) {
	const m = 3 * 1920
	var rows [4][]uint8
	for k := range rows {
		rows[k] = make([]uint8, m)
		for i := range rows[k] {
			rows[k][i] = uint8(i * (k + 1))
		}
	}
	acc := make([]uint32, m)
	for _, l := range levels(b) {
		b.Run(l.String(), func(b *testing.B) {
			b.SetBytes(4 * m)
			for b.Loop() {
				sumRows(l, acc, rows, [4]uint32{500, 700, 600, 248}, 4, false)
			}
		})
	}
}

// BenchmarkSumTaps: the resize's horizontal pass over one row of a 1920-pixel photo shrunk to
// 640 (area, 3 or 4 taps per output).
func BenchmarkSumTaps(b *testing.B) {
	const sn, dw = 1920, 640
	var start, n, off []int32
	var w []uint32
	for i := range dw {
		start, n, off = append(start, int32(3*i)), append(n, 3), append(off, int32(len(w)))
		w = append(w, 683, 682, 683)
	}
	acc := make([]uint32, 3*sn)
	for i := range acc {
		acc[i] = uint32(i%256) * 2048
	}
	out := make([]uint8, 3*dw)
	for _, l := range levels(b) {
		b.Run(l.String(), func(b *testing.B) {
			b.SetBytes(4 * 3 * sn)
			for b.Loop() {
				sumTaps(l, out, acc, start, n, off, w, 22)
			}
		})
	}
}
