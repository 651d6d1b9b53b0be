package vec

import "vigil/index/simd"

// built is the widest level this build has kernels for.
const built = simd.AVX512

// The assembly kernels (kernels_amd64.s). Each runs only at its level, chosen from cpuid.

//go:noescape
func dotBatchAVX2(q, base, out []float32)

//go:noescape
func dotBatchAVX512(q, base, out []float32)

//go:noescape
func sumSquaresAVX2(v []float32) float64

//go:noescape
func sumSquaresAVX512(v []float32) float64

//go:noescape
func scaleAVX2(v []float32, s float32)

//go:noescape
func scaleAVX512(v []float32, s float32)

// splitAVX2 converts len(r) pixels, a multiple of 8.
//
//go:noescape
func splitAVX2(r, g, b []float32, pix []uint8, mul, add *[3]float32)

// splitAVX512 converts len(r) pixels, a multiple of 16.
//
//go:noescape
func splitAVX512(r, g, b []float32, pix []uint8, mul, add *[3]float32)

// sumRowsAVX2 computes len(acc) sums, a multiple of 8, from two rows (r0, r1) unless four.
//
//go:noescape
func sumRowsAVX2(acc []uint32, r0, r1, r2, r3 *uint8, w *[4]uint32, four, add bool)

// sumRowsAVX512 computes len(acc) sums, a multiple of 16, from two rows (r0, r1) unless four.
//
//go:noescape
func sumRowsAVX512(acc []uint32, r0, r1, r2, r3 *uint8, w *[4]uint32, four, add bool)

// sumTapsAVX2 runs outputs in order and returns how many it did: it stops before the first
// output with a negative start, count or offset, taps past w's end, or taps that do not leave
// acc at least one element beyond the last one read (it loads 4 lanes per tap). len(n),
// len(off) and len(out)/3 are at least len(start).
//
//go:noescape
func sumTapsAVX2(out []uint8, acc []uint32, start, n, off []int32, w []uint32, shift uint) int
