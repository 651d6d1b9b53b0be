//go:build !amd64

package vec

import "vigil/index/simd"

// built is the widest level this build has kernels for: only generic off amd64.
const built = simd.Generic

// Never called: Level is never above built. They exist so vec.go's dispatch compiles.

func dotBatchAVX2(q, base, out []float32) { panic("BUG: vec: no AVX2 kernels on this architecture") }
func dotBatchAVX512(q, base, out []float32) {
	panic("BUG: vec: no AVX-512 kernels on this architecture")
}
func sumSquaresAVX2(v []float32) float64 { panic("BUG: vec: no AVX2 kernels on this architecture") }
func sumSquaresAVX512(v []float32) float64 {
	panic("BUG: vec: no AVX-512 kernels on this architecture")
}
func scaleAVX2(v []float32, s float32)   { panic("BUG: vec: no AVX2 kernels on this architecture") }
func scaleAVX512(v []float32, s float32) { panic("BUG: vec: no AVX-512 kernels on this architecture") }
func splitAVX2(r, g, b []float32, pix []uint8, mul, add *[3]float32) {
	panic("BUG: vec: no AVX2 kernels on this architecture")
}
func splitAVX512(r, g, b []float32, pix []uint8, mul, add *[3]float32) {
	panic("BUG: vec: no AVX-512 kernels on this architecture")
}
func sumRowsAVX2(acc []uint32, r0, r1, r2, r3 *uint8, w *[4]uint32, four, add bool) {
	panic("BUG: vec: no AVX2 kernels on this architecture")
}
func sumRowsAVX512(acc []uint32, r0, r1, r2, r3 *uint8, w *[4]uint32, four, add bool) {
	panic("BUG: vec: no AVX-512 kernels on this architecture")
}
func sumTapsAVX2(out []uint8, acc []uint32, start, n, off []int32, w []uint32, shift uint) int {
	panic("BUG: vec: no AVX2 kernels on this architecture")
}
