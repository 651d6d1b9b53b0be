package vec

import (
	"math"
	"math/rand/v2"
	"testing"

	"vigil/index/simd"
)

// levels returns every level this CPU and build can run, generic first.
func levels(t testing.TB) []simd.Level {
	t.Helper()
	top := min(simd.CPU(), built)
	var ls []simd.Level
	for l := simd.Generic; l <= top; l++ {
		ls = append(ls, l)
	}
	if top < simd.AVX512 {
		t.Logf("levels above %s not tested: this CPU (or build) lacks them", top)
	}
	return ls
}

// sizes covers empty, single, every tail length around the 4/8/16/32/64-float steps, and
// embedding sizes.
var sizes = func() []int {
	var s []int
	for n := 0; n <= 80; n++ {
		s = append(s, n)
	}
	return append(s, 95, 127, 128, 129, 255, 256, 257, 511, 512, 513, 1000)
}()

// guarded returns n floats starting off floats into a buffer whose floats before and after them
// are NaN, so a kernel that reads outside its slice gets a NaN into its result, and one that
// writes outside it changes a guard (see checkGuards).
func guarded(n, off int) (v, buf []float32) {
	buf = make([]float32, off+n+32)
	for i := range buf {
		buf[i] = float32(math.NaN())
	}
	return buf[off : off+n : off+n], buf
}

func checkGuards(t *testing.T, buf []float32, off, n int) {
	t.Helper()
	for i, x := range buf {
		if (i < off || i >= off+n) && !math.IsNaN(float64(x)) {
			t.Fatalf("float %d outside the %d-float slice at offset %d was written: %v", i, n, off, x)
		}
	}
}

func fillNormal(r *rand.Rand, v []float32) {
	for i := range v {
		v[i] = float32(r.NormFloat64())
	}
}

// fillSmallInts fills v with integers in [-8, 8]: every partial sum of products is then an
// integer below 2^24, exact in float32, so any order of addition gives the same bits.
func fillSmallInts(r *rand.Rand, v []float32) {
	for i := range v {
		v[i] = float32(r.IntN(17) - 8)
	}
}

// exactDot is the inner product in float64 (exact products, 53-bit sums) and Σ|aᵢbᵢ|.
func exactDot(a, b []float32) (dot, abs float64) {
	for i := range a {
		p := float64(a[i]) * float64(b[i])
		dot += p
		abs += math.Abs(p)
	}
	return dot, abs
}

func TestDotBatchLevels(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, l := range levels(t) {
		for _, dim := range sizes {
			for _, rows := range []int{1, 3} {
				off := r.IntN(8)
				q, qbuf := guarded(dim, off)
				base, bbuf := guarded(rows*dim, (off+3)%8)
				out, obuf := guarded(rows, off)
				for _, ints := range []bool{true, false} {
					if ints {
						fillSmallInts(r, q)
						fillSmallInts(r, base)
					} else {
						fillNormal(r, q)
						fillNormal(r, base)
					}
					dotBatch(l, q, base, out)
					checkGuards(t, obuf, off, rows)
					checkGuards(t, qbuf, off, dim)
					checkGuards(t, bbuf, (off+3)%8, rows*dim)
					want := make([]float32, rows)
					dotBatchGeneric(q, base, want)
					for i := range rows {
						row := base[i*dim : (i+1)*dim]
						exact, abs := exactDot(q, row)
						// The textbook bound on a float32 sum of dim products: dim·2⁻²⁴·Σ|aᵢbᵢ|.
						tol := float64(dim) * 0x1p-24 * abs
						if math.IsNaN(float64(out[i])) || ints && out[i] != want[i] || math.Abs(float64(out[i])-exact) > tol ||
							math.Abs(float64(out[i]-want[i])) > 2*tol {
							t.Fatalf("%s dim %d row %d: got %v, generic %v, exact %v (tolerance %g)",
								l, dim, i, out[i], want[i], exact, tol)
						}
						var one [1]float32
						dotBatch(l, q, row, one[:])
						if math.Float32bits(one[0]) != math.Float32bits(out[i]) {
							t.Fatalf("%s dim %d row %d: alone %v, in a batch %v", l, dim, i, one[0], out[i])
						}
					}
				}
			}
		}
	}
}

func TestDotPublic(t *testing.T) {
	if got := Dot([]float32{1, 2, 3}, []float32{4, 5, 6}); got != 32 {
		t.Fatalf("Dot = %v, want 32", got)
	}
	if got := Dot(nil, nil); got != 0 {
		t.Fatalf("Dot of empty = %v, want 0", got)
	}
	out := []float32{-1, -1}
	DotBatch(nil, nil, 0, out)
	if out[0] != 0 || out[1] != 0 {
		t.Fatalf("DotBatch with dim 0 = %v, want zeros", out)
	}
	DotBatch([]float32{1, 2}, []float32{1, 0, 0, 1}, 2, out)
	if out[0] != 1 || out[1] != 2 {
		t.Fatalf("DotBatch = %v, want [1 2]", out)
	}
	mustPanic(t, "Dot of different lengths", func() { Dot([]float32{1}, []float32{1, 2}) })
	mustPanic(t, "DotBatch with a short base", func() { DotBatch([]float32{1, 2}, []float32{1, 2, 3}, 2, out) })
	mustPanic(t, "DotBatch with the wrong dim", func() { DotBatch([]float32{1, 2}, []float32{1, 2}, 1, out[:1]) })
	mustPanic(t, "Split with a short plane", func() {
		Split(make([]float32, 2), make([]float32, 1), make([]float32, 2), make([]uint8, 6), [3]float32{}, [3]float32{})
	})
}

func mustPanic(t *testing.T, what string, f func()) {
	t.Helper()
	defer func() {
		if recover() == nil {
			t.Fatalf("%s did not panic", what)
		}
	}()
	f()
}

func TestNormalizeLevels(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	inf, nan := float32(math.Inf(1)), float32(math.NaN())
	for _, l := range levels(t) {
		for _, n := range sizes {
			off := r.IntN(8)
			for trial := range 4 {
				v, buf := guarded(n, off)
				fillNormal(r, v)
				switch trial {
				case 1: // huge and tiny components: their squares leave float32's range, not float64's
					for i := range v {
						v[i] *= float32([]float64{1e30, 1e-30, 1e-42}[i%3])
					}
				case 2: // all subnormal: 1/|v| is beyond float32
					for i := range v {
						v[i] = float32(r.IntN(5)-2) * 1e-44
					}
				case 3: // small integers: the sum of squares is exact in any order, so every level
					// gives generic's bits (checked below)
					for i := range v {
						v[i] = float32(r.IntN(3) - 1)
					}
				}
				want := append([]float32(nil), v...)
				wantOK := normalize(simd.Generic, want)
				if !(wantOK || n == 0 || allZero(v)) {
					t.Fatalf("generic rejected %v", v)
				}
				ok := normalize(l, v)
				checkGuards(t, buf, off, n)
				if ok != wantOK {
					t.Fatalf("%s n %d trial %d: ok %v, generic %v", l, n, trial, ok, wantOK)
				}
				var norm float64
				for i := range v {
					if trial == 3 && math.Float32bits(v[i]) != math.Float32bits(want[i]) {
						t.Fatalf("%s n %d [%d]: %v, generic %v (exact sum of squares)", l, n, i, v[i], want[i])
					}
					// Two float32 ulps: the scale factor may round the other way, then the product.
					if d := math.Abs(float64(v[i] - want[i])); d > 0x1p-22*math.Abs(float64(want[i])) {
						t.Fatalf("%s n %d trial %d [%d]: %v, generic %v", l, n, trial, i, v[i], want[i])
					}
					norm += float64(v[i]) * float64(v[i])
				}
				if ok && math.Abs(norm-1) > 1e-6 {
					t.Fatalf("%s n %d trial %d: norm² %v after Normalize", l, n, trial, norm)
				}
			}
			// Rejected vectors are left as they were.
			for _, bad := range []float32{0, nan, inf, -inf} {
				if n == 0 {
					break
				}
				v, _ := guarded(n, off)
				fillNormal(r, v)
				if bad == 0 {
					clear(v)
				} else {
					v[r.IntN(n)] = bad
				}
				before := append([]float32(nil), v...)
				if normalize(l, v) {
					t.Fatalf("%s n %d: Normalize accepted a vector with %v", l, n, bad)
				}
				for i := range v {
					if math.Float32bits(v[i]) != math.Float32bits(before[i]) {
						t.Fatalf("%s n %d: rejected vector changed at %d", l, n, i)
					}
				}
			}
		}
	}
}

func allZero(v []float32) bool {
	for _, x := range v {
		if x != 0 {
			return false
		}
	}
	return true
}

func TestSumSquaresLevels(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, l := range levels(t) {
		for _, n := range sizes {
			v, _ := guarded(n, r.IntN(8))
			fillNormal(r, v)
			got, want := sumSquares(l, v), sumSquaresGeneric(v)
			// Exact squares, so only the float64 sum's order differs: n·2⁻⁵³ relative at most.
			if math.Abs(got-want) > float64(n)*0x1p-52*want {
				t.Fatalf("%s n %d: %v, generic %v", l, n, got, want)
			}
		}
	}
}

// planarCase is one random Planar input: pixels, coefficients and the colour order.
type planarCase struct {
	pix      []uint8
	mul, add [3]float32
	bgr      bool
}

// realCoefs are the manifest's preprocessing forms: ArcFace-style (x-127.5)/128, ImageNet
// mean/std on [0, 1], and the detector's raw pixels.
var realCoefs = [][2][3]float32{
	{{1 / 128.0, 1 / 128.0, 1 / 128.0}, {-127.5 / 128, -127.5 / 128, -127.5 / 128}},
	{{1 / 255.0 / 0.229, 1 / 255.0 / 0.224, 1 / 255.0 / 0.225}, {-0.485 / 0.229, -0.456 / 0.224, -0.406 / 0.225}},
	{{1, 1, 1}, {0, 0, 0}},
}

// checkPlanar runs Planar at level l on c with n pixels and compares every bit with generic.
func checkPlanar(t *testing.T, l simd.Level, c planarCase, n, off int) {
	t.Helper()
	dst, buf := guarded(3*n, off)
	want := make([]float32, 3*n)
	pix := c.pix[:3*n]
	planar(simd.Generic, want, pix, n, c.mul, c.add, c.bgr)
	planar(l, dst, pix, n, c.mul, c.add, c.bgr)
	checkGuards(t, buf, off, 3*n)
	for i := range want {
		if math.Float32bits(dst[i]) != math.Float32bits(want[i]) {
			t.Fatalf("%s n %d bgr %v: [%d] = %v, generic %v", l, n, c.bgr, i, dst[i], want[i])
		}
	}
}

func TestPlanarLevels(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, l := range levels(t) {
		for _, n := range append(sizes, 112*112, 640*640+5) {
			back := make([]uint8, 3*n+7)
			off := r.IntN(7)
			c := planarCase{pix: back[off : off+3*n], bgr: r.IntN(2) == 0}
			for i := range c.pix {
				c.pix[i] = uint8(r.IntN(256))
			}
			coef := realCoefs[r.IntN(len(realCoefs))]
			c.mul, c.add = coef[0], coef[1]
			if n%2 == 1 {
				for ch := range 3 {
					c.mul[ch], c.add[ch] = float32(r.NormFloat64()), float32(r.NormFloat64())
				}
			}
			checkPlanar(t, l, c, n, r.IntN(8))
		}
	}
}

// TestPlanarChannels pins the layout: R, G, B planes (B, G, R for bgr), each value from its own
// pixel channel's coefficients.
func TestPlanarChannels(t *testing.T) {
	for _, l := range levels(t) {
		const n = 37 // two AVX-512 blocks, four AVX2 blocks and a tail
		pix := make([]uint8, 3*n)
		for i := range n {
			pix[3*i], pix[3*i+1], pix[3*i+2] = uint8(i), uint8(100+i), uint8(200+i%50)
		}
		mul, add := [3]float32{1, 2, 4}, [3]float32{0, 1000, 10000}
		for _, bgr := range []bool{false, true} {
			dst := make([]float32, 3*n)
			planar(l, dst, pix, n, mul, add, bgr)
			rp, gp, bp := dst[:n], dst[n:2*n], dst[2*n:]
			if bgr {
				rp, bp = bp, rp
			}
			for i := range n {
				want := [3]float32{float32(i), 2*float32(100+i) + 1000, 4*float32(200+i%50) + 10000}
				if rp[i] != want[0] || gp[i] != want[1] || bp[i] != want[2] {
					t.Fatalf("%s bgr %v pixel %d: %v %v %v, want %v", l, bgr, i, rp[i], gp[i], bp[i], want)
				}
			}
		}
	}
}

func TestChoose(t *testing.T) {
	for _, c := range []struct {
		env  string
		best simd.Level
		want simd.Level
		note bool
	}{
		{"", simd.AVX512, simd.AVX512, false},
		{"generic", simd.AVX512, simd.Generic, true},
		{"avx2", simd.AVX512, simd.AVX2, true},
		{"avx512", simd.AVX2, simd.AVX2, true}, // the CPU lacks it: ignored
		{"sse9", simd.AVX2, simd.AVX2, true},   // unknown: ignored
	} {
		got, note := choose(c.env, c.best)
		if got != c.want || (note != "") != c.note {
			t.Errorf("choose(%q, %s) = %s, %q; want %s (note: %v)", c.env, c.best, got, note, c.want, c.note)
		}
	}
	if Level() > simd.CPU() {
		t.Fatalf("Level %s above the CPU's %s", Level(), simd.CPU())
	}
	t.Logf("kernels: %s", Describe())
}

func TestSumRowsLevels(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for _, l := range levels(t) {
		for _, m := range append(sizes, 3*1920) {
			for n := 1; n <= 4; n++ {
				for _, add := range []bool{false, true} {
					var rows [4][]uint8
					var w [4]uint32
					for k := range n {
						back := make([]uint8, m+r.IntN(9)+1)
						rows[k] = back[r.IntN(len(back)-m+1):][:m]
						for i := range rows[k] {
							rows[k][i] = uint8(r.Uint32())
						}
						w[k] = uint32(r.IntN(2049))
						if m%5 == 0 { // any uint32: products and sums wrap the same way
							w[k] = r.Uint32()
						}
					}
					init := make([]uint32, m)
					for i := range init {
						init[i] = r.Uint32()
					}
					off := r.IntN(4)
					gotBack := make([]uint32, off+m+4)
					for i := range gotBack {
						gotBack[i] = 0xdeadbeef
					}
					got, want := gotBack[off:off+m], append([]uint32(nil), init...)
					copy(got, init)
					sumRows(simd.Generic, want, rows, w, n, add)
					sumRows(l, got, rows, w, n, add)
					for i, x := range gotBack {
						if (i < off || i >= off+m) && x != 0xdeadbeef {
							t.Fatalf("%s m %d: wrote outside acc at %d", l, m, i)
						}
					}
					for x := range m {
						var s uint32
						for k := range n {
							s += w[k] * uint32(rows[k][x])
						}
						if add {
							s += init[x]
						}
						if got[x] != want[x] || want[x] != s {
							t.Fatalf("%s m %d n %d add %v [%d]: %d, generic %d, want %d", l, m, n, add, x, got[x], want[x], s)
						}
					}
				}
			}
		}
	}
	mustPanic(t, "SumRows with a short row", func() {
		SumRows(make([]uint32, 4), [4][]uint8{make([]uint8, 4), make([]uint8, 3)}, [4]uint32{}, 2, false)
	})
}

// randomTaps returns a tap table for dw outputs over a row of sn pixels: sorted starts like a
// resize's, or anywhere, with 0 to 6 taps each and random weights.
func randomTaps(r *rand.Rand, dw, sn int, sorted bool) (start, n, off []int32, w []uint32) {
	for i := range dw {
		c := r.IntN(min(7, sn+1))
		s := r.IntN(sn - c + 1)
		if sorted {
			s = min(i*sn/max(dw, 1), sn-c)
		}
		start, n, off = append(start, int32(s)), append(n, int32(c)), append(off, int32(len(w)))
		for range c {
			if r.IntN(4) == 0 {
				w = append(w, r.Uint32()) // wraps: the levels must wrap alike
			} else {
				w = append(w, uint32(r.IntN(2049)))
			}
		}
	}
	return start, n, off, w
}

func TestSumTapsLevels(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for _, l := range levels(t) {
		for _, dw := range []int{0, 1, 2, 3, 7, 16, 100, 640} {
			for _, sn := range []int{1, 2, 5, 50, 1920} {
				for _, sorted := range []bool{true, false} {
					start, n, off, w := randomTaps(r, dw, sn, sorted)
					acc := make([]uint32, 3*sn)
					for i := range acc {
						acc[i] = r.Uint32() >> r.IntN(32)
					}
					shift := uint(1 + r.IntN(31))
					if r.IntN(2) == 0 {
						shift = 22
					}
					want := make([]uint8, 3*dw)
					sumTaps(simd.Generic, want, acc, start, n, off, w, shift)
					gotBack := make([]uint8, 3*dw+8)
					for i := range gotBack {
						gotBack[i] = 0xa5
					}
					got := gotBack[1 : 1+3*dw]
					sumTaps(l, got, acc, start, n, off, w, shift)
					if gotBack[0] != 0xa5 || gotBack[1+3*dw] != 0xa5 {
						t.Fatalf("%s dw %d: wrote outside out", l, dw)
					}
					for i := range dw {
						for c := range 3 {
							var s uint32
							for k := range int(n[i]) {
								s += w[int(off[i])+k] * acc[3*(int(start[i])+k)+c]
							}
							ref := uint8((s + 1<<(shift-1)) >> shift)
							if got[3*i+c] != want[3*i+c] || want[3*i+c] != ref {
								t.Fatalf("%s dw %d sn %d output %d channel %d: %d, generic %d, want %d",
									l, dw, sn, i, c, got[3*i+c], want[3*i+c], ref)
							}
						}
					}
				}
			}
		}
	}
	for _, l := range levels(t) {
		f := func(what string, accLen int, start, n, off []int32, w []uint32, shift uint) {
			t.Helper()
			mustPanic(t, l.String()+" SumTaps "+what, func() {
				sumTaps(l, make([]uint8, 3*len(start)), make([]uint32, accLen), start, n, off, w, shift)
			})
		}
		f("past acc's end", 6, []int32{0, 1}, []int32{1, 2}, []int32{0, 0}, []uint32{1, 1}, 22)
		f("past w's end", 6, []int32{0, 0}, []int32{1, 2}, []int32{0, 1}, []uint32{1, 1}, 22)
		f("with a negative start", 6, []int32{0, -1}, []int32{1, 1}, []int32{0, 0}, []uint32{1}, 22)
		f("with a negative count", 6, []int32{0, 0}, []int32{1, -1}, []int32{0, 0}, []uint32{1}, 22)
		f("with a negative offset", 6, []int32{0, 0}, []int32{1, 1}, []int32{0, -1}, []uint32{1}, 22)
		f("with shift 0", 6, []int32{0}, []int32{1}, []int32{0}, []uint32{1}, 0)
	}
	// The kernel stops before the first output it must not run, and runs every one before it.
	if min(simd.CPU(), built) >= simd.AVX2 {
		for _, c := range []struct {
			start, n, off []int32
			want          int
		}{
			{[]int32{0, 0, 0}, []int32{1, 1, 1}, []int32{0, 0, 0}, 3},
			{[]int32{0, 1, 0}, []int32{1, 1, 1}, []int32{0, 0, 0}, 1},  // start 1: its load reaches acc[6], past the end
			{[]int32{0, 0, 0}, []int32{1, 2, 1}, []int32{0, 0, 0}, 1},  // 2 taps: the same
			{[]int32{0, 0, 0}, []int32{1, 1, 1}, []int32{0, 1, 0}, 1},  // w[1:2] of 1
			{[]int32{0, 0, -1}, []int32{1, 1, 1}, []int32{0, 0, 0}, 2}, // negative start
			{[]int32{0, 0, 0}, []int32{1, 1, -1}, []int32{0, 0, 0}, 2}, // negative count
			{[]int32{0, 0, 0}, []int32{1, 0, 1}, []int32{0, 0, -1}, 2}, // negative offset
			{[]int32{0, 1, 0}, []int32{1, 0, 1}, []int32{0, 0, 0}, 3},  // no taps: 3*(1+0) < 6
		} {
			if got := sumTapsAVX2(make([]uint8, 9), make([]uint32, 6), c.start, c.n, c.off, []uint32{7}, 22); got != c.want {
				t.Errorf("sumTapsAVX2 %v %v %v ran %d outputs, want %d", c.start, c.n, c.off, got, c.want)
			}
		}
	}
}
