package vec

import (
	"fmt"
	"math"
	"os"

	"vigil/index/simd"
)

// level is the kernel set every call uses, chosen once at start-up.
var level, note = choose(os.Getenv("VIGIL_SIMD"), min(simd.CPU(), built))

// choose returns the level to run at: best (the widest the CPU and this build offer) unless env
// names a lower one, and a note on what env did.
func choose(env string, best simd.Level) (simd.Level, string) {
	if env == "" {
		return best, ""
	}
	want, err := simd.Parse(env)
	switch {
	case err != nil:
		return best, fmt.Sprintf("VIGIL_SIMD=%q ignored: %v", env, err)
	case want > best:
		return best, fmt.Sprintf("VIGIL_SIMD=%s ignored: this CPU (or build) offers %s", env, best)
	}
	return want, "VIGIL_SIMD=" + env
}

// Level returns the SIMD level of the kernels in use.
func Level() simd.Level { return level }

// Describe names the level in use for logs and `vigil version`, with what VIGIL_SIMD did if set.
func Describe() string {
	if note == "" {
		return level.String()
	}
	return level.String() + " (" + note + ")"
}

// Dot returns the inner product of a and b, which must have the same length (it panics
// otherwise). For unit vectors it is their cosine.
func Dot(a, b []float32) float32 {
	if len(a) != len(b) {
		panic(fmt.Sprintf("vec: Dot of %d and %d floats", len(a), len(b)))
	}
	var out [1]float32
	dotBatch(level, a, b, out[:])
	return out[0]
}

// DotBatch writes the inner product of q with each row of base into out: base holds len(out)
// rows of dim floats, row-major, and q holds dim floats (it panics otherwise). Row i's score is
// bit for bit Dot(q, base[i*dim:(i+1)*dim]).
func DotBatch(q, base []float32, dim int, out []float32) {
	if dim < 0 || len(q) != dim || len(base) != dim*len(out) {
		panic(fmt.Sprintf("vec: DotBatch of a %d-float query, %d base floats, dim %d, %d outputs",
			len(q), len(base), dim, len(out)))
	}
	dotBatch(level, q, base, out)
}

// Normalize scales v to unit L2 length in place and reports true; it leaves v as it is and
// reports false if v is zero or has a NaN or infinite component. The sum of squares is taken in
// float64, where each square is exact, so neither long vectors nor large or tiny components lose
// precision; the result's norm is 1 within a few float32 ulps.
func Normalize(v []float32) bool { return normalize(level, v) }

func normalize(l simd.Level, v []float32) bool {
	s := sumSquares(l, v)
	if s == 0 || math.IsInf(s, 0) || math.IsNaN(s) {
		return false
	}
	inv := 1 / math.Sqrt(s)
	if inv > math.MaxFloat32 {
		// |v| < 2⁻¹²⁸ (only subnormal components): 1/|v| has no float32; scale in float64.
		for i := range v {
			v[i] = float32(float64(v[i]) * inv)
		}
		return true
	}
	scale(l, v, float32(inv))
	return true
}

// Split converts n = len(r) interleaved 8-bit RGB pixels to three float planes: for pixel i,
// r[i] = pix[3i]·mul[0] + add[0], g[i] = pix[3i+1]·mul[1] + add[1], b[i] = pix[3i+2]·mul[2] +
// add[2], each product rounded to float32 before the sum (no fused multiply-add, so every level
// and architecture gives the same bits). g and b must hold n floats and pix 3n bytes (it panics
// otherwise). Swap r and b for a BGR model.
func Split(r, g, b []float32, pix []uint8, mul, add [3]float32) {
	splitChecked(level, r, g, b, pix, mul, add)
}

func splitChecked(l simd.Level, r, g, b []float32, pix []uint8, mul, add [3]float32) {
	if len(g) != len(r) || len(b) != len(r) || len(pix) != 3*len(r) {
		panic(fmt.Sprintf("vec: Split of %d bytes into planes of %d, %d and %d floats", len(pix), len(r), len(g), len(b)))
	}
	split(l, r, g, b, pix, &mul, &add)
}

// Planar writes n interleaved RGB pixels as an NCHW model input item: dst holds three planes of
// n floats, R, G, B (B, G, R if bgr), value = pixel·mul[c] + add[c] where c is the pixel's own
// channel (0 = R). It is Split on dst's three planes; pix holds at least 3n bytes.
func Planar(dst []float32, pix []uint8, n int, mul, add [3]float32, bgr bool) {
	planar(level, dst, pix, n, mul, add, bgr)
}

func planar(l simd.Level, dst []float32, pix []uint8, n int, mul, add [3]float32, bgr bool) {
	r, g, b := dst[:n], dst[n:2*n], dst[2*n:3*n]
	if bgr {
		r, b = b, r
	}
	splitChecked(l, r, g, b, pix[:3*n], mul, add)
}

// SumRows sets acc[x] = w[0]·rows[0][x] + … + w[n-1]·rows[n-1][x] for every x < len(acc), over
// the first n (1 to 4) rows, or adds that sum to acc[x] when add is true: the vertical pass of a
// separable resize. Each of those rows holds at least len(acc) bytes (it panics otherwise).
// Arithmetic is uint32 and wraps as Go's does, so every level gives the same values.
func SumRows(acc []uint32, rows [4][]uint8, w [4]uint32, n int, add bool) {
	if n < 1 || n > 4 {
		panic(fmt.Sprintf("vec: SumRows of %d rows", n))
	}
	for k := range n {
		if len(rows[k]) < len(acc) {
			panic(fmt.Sprintf("vec: SumRows row %d has %d bytes for %d sums", k, len(rows[k]), len(acc)))
		}
	}
	sumRows(level, acc, rows, w, n, add)
}

// SumTaps is the horizontal pass of a separable resize on packed 3-channel rows: for each output
// pixel i < len(start) and channel c, out[3i+c] = uint8((Σₖ w[off[i]+k]·acc[3(start[i]+k)+c] +
// 2^(shift-1)) >> shift) over k < n[i], in uint32 arithmetic that wraps as Go's does (the same
// bytes at every level). start, n and off have one entry per output, out holds 3·len(start)
// bytes, every tap lies inside acc and w, and 1 ≤ shift ≤ 31 (it panics otherwise).
func SumTaps(out []uint8, acc []uint32, start, n, off []int32, w []uint32, shift uint) {
	sumTaps(level, out, acc, start, n, off, w, shift)
}

// The dispatchers below call each level's kernel directly (not through a function value), so
// escape analysis sees the assembly's //go:noescape and callers' buffers stay on their stacks.
// Arguments are already checked. Tests call them with every level the CPU offers.

func dotBatch(l simd.Level, q, base, out []float32) {
	switch l {
	case simd.AVX512:
		dotBatchAVX512(q, base, out)
	case simd.AVX2:
		dotBatchAVX2(q, base, out)
	default:
		dotBatchGeneric(q, base, out)
	}
}

func sumSquares(l simd.Level, v []float32) float64 {
	switch l {
	case simd.AVX512:
		return sumSquaresAVX512(v)
	case simd.AVX2:
		return sumSquaresAVX2(v)
	}
	return sumSquaresGeneric(v)
}

func scale(l simd.Level, v []float32, s float32) {
	switch l {
	case simd.AVX512:
		scaleAVX512(v, s)
	case simd.AVX2:
		scaleAVX2(v, s)
	default:
		scaleGeneric(v, s)
	}
}

// split runs the level's kernel on whole blocks of pixels (16 for AVX-512, 8 for AVX2) and the
// generic loop on the rest.
func split(l simd.Level, r, g, b []float32, pix []uint8, mul, add *[3]float32) {
	n := len(r)
	var done int
	switch l {
	case simd.AVX512:
		done = n &^ 15
		if done > 0 {
			splitAVX512(r[:done], g[:done], b[:done], pix[:3*done], mul, add)
		}
	case simd.AVX2:
		done = n &^ 7
		if done > 0 {
			splitAVX2(r[:done], g[:done], b[:done], pix[:3*done], mul, add)
		}
	}
	if done < n {
		splitGeneric(r[done:], g[done:], b[done:], pix[3*done:], mul, add)
	}
}

// sumRows pads the rows to two (setting) or four with zero-weight copies of row 0, then runs the
// level's kernel on whole blocks (16 or 8 sums) and the generic loop on the rest.
func sumRows(l simd.Level, acc []uint32, rows [4][]uint8, w [4]uint32, n int, add bool) {
	four := n > 2 || add
	for k := n; k < 4; k++ {
		rows[k], w[k] = rows[0], 0
	}
	m := len(acc)
	var done int
	switch l {
	case simd.AVX512:
		done = m &^ 15
		if done > 0 {
			sumRowsAVX512(acc[:done], &rows[0][0], &rows[1][0], &rows[2][0], &rows[3][0], &w, four, add)
		}
	case simd.AVX2:
		done = m &^ 7
		if done > 0 {
			sumRowsAVX2(acc[:done], &rows[0][0], &rows[1][0], &rows[2][0], &rows[3][0], &w, four, add)
		}
	}
	if done < m {
		for k := range rows {
			rows[k] = rows[k][done:m]
		}
		sumRowsGeneric(acc[done:], &rows, &w, four, add)
	}
}

// sumTaps runs the level's kernel, which checks each output's taps itself and stops at the first
// that is out of range or whose 4-lane loads would read acc's last element or beyond (at most
// the last pixels of a row); the generic loop, with Go's bounds checks, does the rest. AVX-512
// has no kernel of its own: one pixel's three channels fill only part of an XMM register.
func sumTaps(l simd.Level, out []uint8, acc []uint32, start, n, off []int32, w []uint32, shift uint) {
	dw := len(start)
	if len(n) != dw || len(off) != dw || len(out) != 3*dw || shift < 1 || shift > 31 {
		panic(fmt.Sprintf("vec: SumTaps of %d starts, %d counts, %d offsets into %d bytes, shift %d",
			dw, len(n), len(off), len(out), shift))
	}
	done := 0
	if l >= simd.AVX2 && dw > 0 {
		done = sumTapsAVX2(out, acc, start, n, off, w, shift)
	}
	if done < dw {
		sumTapsGeneric(out[3*done:], acc, start[done:], n[done:], off[done:], w, shift)
	}
}
