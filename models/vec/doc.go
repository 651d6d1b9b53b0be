// Package vec owns Vigil's own vector maths: dot products of float32 embeddings (one pair, or one
// query against many rows), L2 normalisation, the interleaved-RGB to planar float conversion of
// every model input (Split, Planar), and the two passes of the integer resize that scales photos
// for the detector (SumRows, SumTaps), which dominated the Go side of a 1080p detection's
// profile. Each kernel has a generic Go version, the reference and what other architectures run,
// and on amd64 AVX2+FMA and AVX-512 versions in Go assembly (kernels_amd64.s; SumTaps has one
// AVX2 kernel for both). The widest level the CPU offers is picked once, when the package
// initialises (Level, Describe). vec is a leaf beside models/ort: it imports only index/simd and
// cpuid, so embed, index and anything above them may use it; it must not import anything else of
// Vigil's (cmd/vigilbuild/imports.go checks).
//
// VIGIL_SIMD=generic|avx2|avx512 in the environment forces a lower level, to compare or to rule
// the kernels out when chasing a bug; a level the CPU lacks, or an unknown name, is ignored and
// Describe says so. It is the one setting read from the environment here rather than passed in
// by main, because the kernels are chosen before main runs.
//
// Results. Split, Planar, SumRows, SumTaps and Normalize's scaling are exact: every level gives
// the generic version's bits. Sums of floats are not: Dot and DotBatch add float32 products in
// float32, in a different order per level, each level within dim·2⁻²⁴·Σ|aᵢbᵢ| of the exact sum
// (the textbook bound; about 1e-7 relative on 128-d embeddings in practice). Normalize adds
// squares in float64, where each is exact, so levels differ only in the last bits of a float64
// sum; every output is within 2 float32 ulps of generic (nearly always equal). At one level,
// DotBatch's row i equals Dot(q, row i) bit for bit. The tests check all of this for every level
// the CPU offers. All functions are safe for concurrent use: they touch only their arguments.
package vec
