package embed

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"encoding/json"
	"io"
	"math"
	"os"
	"testing"
)

// alignGolden is testdata/align_golden.json, written by testdata/gen_align_golden.py (OpenCV).
type alignGolden struct {
	Image      struct{ W, H int }
	Template   [5][2]float64
	Similarity []struct {
		Landmarks [5][2]float32
		M         [2][3]float64
		Inliers   int
	}
	Warps []struct {
		Set        int
		RGBZlibB64 string `json:"rgb_zlib_b64"`
	}
	Detect struct {
		ScoreThreshold float32 `json:"score_threshold"`
		NMSThreshold   float32 `json:"nms_threshold"`
		Photos         []struct {
			Photo string
			Faces [][15]float32
		}
	}
}

func loadAlignGolden(t testing.TB) *alignGolden {
	t.Helper()
	b, err := os.ReadFile("testdata/align_golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var g alignGolden
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	return &g
}

// synthImage is gen_align_golden.py's synth(): integer formulas, so both sides get the same bytes.
func synthImage(w, h int) *Image {
	img := &Image{W: w, H: h, Pix: make([]uint8, 3*w*h)}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			b := 40
			if (x/23+y/17)%2 == 0 {
				b = 220
			}
			if d := x - 2*y + 100; d > -4 && d < 4 {
				b = 255 - b
			}
			p := img.Pix[3*(y*w+x):]
			p[0] = uint8((2*x + y) % 256)
			p[1] = uint8(((x-150)*(x-150) + (y-130)*(y-130)) / 90 % 256)
			p[2] = uint8(b)
		}
	}
	return img
}

func unpackWarp(t *testing.T, s string) []uint8 {
	t.Helper()
	z, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	r, err := zlib.NewReader(bytes.NewReader(z))
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(r)
	if err != nil || len(b) != 3*AlignSize*AlignSize {
		t.Fatalf("golden warp: %d bytes, %v", len(b), err)
	}
	return b
}

func pixDiff(a, b []uint8) (mean float64, maxAbs int) {
	s := 0
	for i := range a {
		d := int(a[i]) - int(b[i])
		d = max(d, -d)
		s += d
		maxAbs = max(maxAbs, d)
	}
	return float64(s) / float64(len(a)), maxAbs
}

func TestAlignTemplateMatchesGolden(t *testing.T) {
	g := loadAlignGolden(t)
	if g.Template != alignTemplate {
		t.Fatalf("template %v, golden %v", alignTemplate, g.Template)
	}
}

// TestAlignSimilarityMatchesOpenCV: our closed-form Umeyama against cv2.estimateAffinePartial2D
// (LMEDS, all five points inliers, then Levenberg–Marquardt refinement in float32).
func TestAlignSimilarityMatchesOpenCV(t *testing.T) {
	g := loadAlignGolden(t)
	worst := 0.0
	for i, s := range g.Similarity {
		if s.Inliers != 5 {
			t.Fatalf("set %d: OpenCV kept %d inliers; the golden data should use sets it fits whole", i, s.Inliers)
		}
		m := similarity(s.Landmarks)
		for r := range m {
			for c := range m[r] {
				d := math.Abs(m[r][c] - s.M[r][c])
				worst = max(worst, d)
				if d > 1e-3 {
					t.Errorf("set %d: m[%d][%d] = %.6f, OpenCV %.6f", i, r, c, m[r][c], s.M[r][c])
				}
			}
		}
	}
	t.Logf("%d sets: max |m - OpenCV| = %.2g", len(g.Similarity), worst)
}

// TestAlignWarpMatchesOpenCV feeds OpenCV's own matrices to our warp: the fixed-point
// arithmetic is replicated, so the bytes must be identical.
func TestAlignWarpMatchesOpenCV(t *testing.T) {
	g := loadAlignGolden(t)
	src := synthImage(g.Image.W, g.Image.H)
	var dst Image
	for _, w := range g.Warps {
		want := unpackWarp(t, w.RGBZlibB64)
		warpAffine(src, g.Similarity[w.Set].M, &dst)
		if mean, mx := pixDiff(dst.Pix, want); mx != 0 {
			t.Errorf("set %d: mean |diff| %.4f, max %d; want identical", w.Set, mean, mx)
		}
	}
}

// TestAlignMatchesOpenCV runs the whole of Align (our matrix, our warp) against OpenCV's
// estimate + warp. OpenCV refines its matrix in float32 and lands ~1e-5 from the exact least
// squares; that can move a source position across a 1/32-px rounding step, which changes a pixel
// by up to 1 on smooth content but by up to 255/32 on the synthetic image's hard edges. So: mean
// under 0.1, and at most 0.05% of bytes more than 1 apart.
func TestAlignMatchesOpenCV(t *testing.T) {
	g := loadAlignGolden(t)
	src := synthImage(g.Image.W, g.Image.H)
	var dst Image
	for _, w := range g.Warps {
		want := unpackWarp(t, w.RGBZlibB64)
		Align(src, g.Similarity[w.Set].Landmarks, &dst)
		mean, mx := pixDiff(dst.Pix, want)
		over := 0
		for i := range want {
			if d := int(dst.Pix[i]) - int(want[i]); d > 1 || d < -1 {
				over++
			}
		}
		if dst.W != AlignSize || dst.H != AlignSize || mean >= 0.1 || over > len(want)/2000 {
			t.Errorf("set %d: %dx%d, mean |diff| %.4f, %d bytes off by more than 1", w.Set, dst.W, dst.H, mean, over)
		}
		t.Logf("set %d: mean |diff| %.4f, max %d, %d of %d bytes off by more than 1", w.Set, mean, mx, over, len(want))
	}
}

// TestAlignDegenerate: coincident or non-finite landmarks must not panic; OpenCV's singular
// inverse samples pixel (0,0) everywhere.
func TestAlignDegenerate(t *testing.T) {
	src := synthImage(40, 30)
	var dst Image
	for _, lm := range [][5][2]float32{
		{},
		{{5, 5}, {5, 5}, {5, 5}, {5, 5}, {5, 5}},
		{{float32(math.NaN()), 1}, {2, 2}, {3, 3}, {4, 4}, {5, 5}},
		{{1e30, 1e30}, {-1e30, 1e30}, {0, 0}, {1e30, -1e30}, {-1e30, -1e30}},
	} {
		Align(src, lm, &dst)
		if len(dst.Pix) != 3*AlignSize*AlignSize {
			t.Fatalf("%v: %d bytes", lm, len(dst.Pix))
		}
	}
}

// TestAlignLandmarks: the pipeline's landmarks are Face's plus half a pixel along the face's own
// axes: exactly (0.5, 0.5) for an upright face, and turned with the face, so a photo turned by a
// quarter turn gets the landmarks (hence the crop) of its upright twin, turned.
func TestAlignLandmarks(t *testing.T) {
	up := Face{Landmarks: [5][2]float32{{40, 50}, {80, 52}, {60, 70}, {45, 90}, {76, 91}}}
	got := up.alignLandmarks()
	for k := range got {
		if got[k] != [2]float32{up.Landmarks[k][0] + 0.5, up.Landmarks[k][1] + 0.5} {
			t.Fatalf("upright landmark %d: %v from %v, want +0.5 each way", k, got[k], up.Landmarks[k])
		}
	}
	const W, H = 200, 150 // the upright photo; pixel centres at integers, as Face has them
	for _, c := range []struct {
		angle int
		turn  func(p [2]float32) [2]float32 // upright photo → the photo turned clockwise by angle
	}{
		{90, func(p [2]float32) [2]float32 { return [2]float32{H - 1 - p[1], p[0]} }},
		{180, func(p [2]float32) [2]float32 { return [2]float32{W - 1 - p[0], H - 1 - p[1]} }},
		{270, func(p [2]float32) [2]float32 { return [2]float32{p[1], W - 1 - p[0]} }},
	} {
		var turned Face
		for k, p := range up.Landmarks {
			turned.Landmarks[k] = c.turn(p)
		}
		a := turned.alignLandmarks()
		for k := range a {
			if want := c.turn(got[k]); math.Abs(float64(a[k][0]-want[0])) > 1e-4 || math.Abs(float64(a[k][1]-want[1])) > 1e-4 {
				t.Errorf("turned %d°: landmark %d at %v, want the upright one turned, %v", c.angle, k, a[k], want)
			}
		}
	}
	var zero Face // coincident landmarks: treated as upright, no NaN
	if z := zero.alignLandmarks(); z[0] != [2]float32{0.5, 0.5} {
		t.Errorf("coincident landmarks: %v", z[0])
	}
}
