package prep

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"encoding/json"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"vigil/models"
	"vigil/models/modeltest"
)

// synth must match synthImage in liveness/crop_test.go and synth() in
// liveness/testdata/gen_golden.py.
func synth(w, h int) *Image {
	img := &Image{W: w, H: h, Pix: make([]uint8, 3*w*h)}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			p := img.Pix[3*(y*w+x):]
			p[0] = uint8((7*x + 3*y) % 256)
			p[1] = uint8(((x/5)*11 + (y/7)*29) % 256)
			p[2] = uint8((3*x + 11*y) % 256)
		}
	}
	return img
}

// identity makes Planar write the resized bytes themselves, planar R, G, B.
var identity = models.Input{Color: "rgb", Scale: 1, Std: [3]float32{1, 1, 1}}

// TestResizeMatchesOpenCV: Resize and Planar give cv2.resize's INTER_LINEAR bytes on the crops of
// liveness/testdata/golden.json (made by liveness/testdata/gen_golden.py with OpenCV 4.6: shrinks
// up to 20×, a 12×15 crop enlarged, crops at every edge, a 160×160 crop where OpenCV switches to
// INTER_AREA). The golden file stays with liveness, whose own crop test reads it too.
func TestResizeMatchesOpenCV(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(modeltest.RepoRoot(), "liveness", "testdata", "golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	var g struct {
		OpenCV string `json:"opencv"`
		Crops  []struct {
			W, H   int
			Rect   [4]int
			Planar string `json:"planar_zlib_b64"`
		} `json:"crops"`
	}
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	var rs Resizer
	dst := &Image{W: 80, H: 80}
	var in []float32
	for i, c := range g.Crops {
		img := synth(c.W, c.H)
		r := Rect{X1: c.Rect[0], Y1: c.Rect[1], X2: c.Rect[2], Y2: c.Rect[3]}
		if err := rs.Resize(dst, img, r); err != nil {
			t.Fatal(err)
		}
		if in, err = rs.Planar(in, img, r, 80, 80, identity); err != nil {
			t.Fatal(err)
		}
		want := unpack(t, c.Planar)
		n := 80 * 80
		diff, pdiff := 0, 0
		for p := 0; p < n; p++ {
			for ch := 0; ch < 3; ch++ {
				if dst.Pix[3*p+ch] != want[ch*n+p] {
					diff++
				}
				if in[ch*n+p] != float32(want[ch*n+p]) {
					pdiff++
				}
			}
		}
		if diff != 0 || pdiff != 0 {
			t.Errorf("crop %d %v of %dx%d: %d bytes (Resize) and %d values (Planar) differ from cv2.resize",
				i, r, c.W, c.H, diff, pdiff)
		}
	}
	t.Logf("%d crops identical to OpenCV %s", len(g.Crops), g.OpenCV)
}

func unpack(t *testing.T, s string) []byte {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zlib.NewReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// pad returns img with p pixels added on every side, copies of the nearest edge pixel
// (cv::copyMakeBorder BORDER_REPLICATE).
func pad(img *Image, p int) *Image {
	out := &Image{W: img.W + 2*p, H: img.H + 2*p}
	out.Pix = make([]uint8, 3*out.W*out.H)
	for y := 0; y < out.H; y++ {
		sy := min(max(y-p, 0), img.H-1)
		for x := 0; x < out.W; x++ {
			sx := min(max(x-p, 0), img.W-1)
			copy(out.Pix[3*(y*out.W+x):3*(y*out.W+x)+3], img.Pix[3*(sy*img.W+sx):])
		}
	}
	return out
}

// TestResizePadsAtBorders: a crop running past the image equals, byte for byte, the same crop
// of a replicate-padded copy of the image (inside which it lies); shrunk, enlarged and near 1:1,
// at every edge and corner, and larger than the image.
func TestResizePadsAtBorders(t *testing.T) {
	img := synth(97, 83)
	const p = 150
	padded := pad(img, p)
	var rs Resizer
	rng := rand.New(rand.NewPCG(5, 6))
	for i := 0; i < 3000; i++ {
		n := 1 + rng.IntN(200)
		x1 := -n + 1 + rng.IntN(img.W+n-1)
		y1 := -n + 1 + rng.IntN(img.H+n-1)
		if i%10 == 0 { // bigger than the image
			n = 100 + rng.IntN(140)
			x1, y1 = -rng.IntN(n-img.W+1), -rng.IntN(n-img.H+1)
		}
		r := Rect{X1: x1, Y1: y1, X2: x1 + n - 1, Y2: y1 + n - 1}
		side := []int{62, 17, 200}[rng.IntN(3)]
		got := &Image{W: side, H: side}
		if err := rs.Resize(got, img, r); err != nil {
			t.Fatalf("%v: %v", r, err)
		}
		want := &Image{W: side, H: side}
		if err := rs.Resize(want, padded, Rect{X1: r.X1 + p, Y1: r.Y1 + p, X2: r.X2 + p, Y2: r.Y2 + p}); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Pix, want.Pix) {
			t.Fatalf("%v → %d²: differs from the same crop of the padded image", r, side)
		}
	}
	if err := rs.Resize(&Image{W: 62, H: 62}, img, Rect{X1: 97, Y1: 0, X2: 120, Y2: 23}); err == nil {
		t.Error("a rectangle right of the image was accepted")
	}
	if err := rs.Resize(&Image{W: 62, H: 62}, img, Rect{X1: 5, Y1: 5, X2: 4, Y2: 20}); err == nil {
		t.Error("an empty rectangle was accepted")
	}
}

// TestPlanarMatchesResize: for rectangles inside the image, Planar with an identity
// normalisation gives Resize's bytes, plane by plane; the two share one Resizer's tables in turn.
func TestPlanarMatchesResize(t *testing.T) {
	img := synth(211, 157)
	var rs Resizer
	var in []float32
	rng := rand.New(rand.NewPCG(7, 8))
	for i := 0; i < 500; i++ {
		x1, y1 := rng.IntN(img.W), rng.IntN(img.H)
		r := Rect{X1: x1, Y1: y1, X2: x1 + rng.IntN(img.W-x1), Y2: y1 + rng.IntN(img.H-y1)}
		dw, dh := 1+rng.IntN(120), 1+rng.IntN(120)
		dst := &Image{W: dw, H: dh}
		if err := rs.Resize(dst, img, r); err != nil {
			t.Fatalf("%v: %v", r, err)
		}
		var err error
		if in, err = rs.Planar(in, img, r, dw, dh, identity); err != nil {
			t.Fatalf("%v: %v", r, err)
		}
		n := dw * dh
		for p := 0; p < n; p++ {
			for ch := 0; ch < 3; ch++ {
				if in[ch*n+p] != float32(dst.Pix[3*p+ch]) {
					t.Fatalf("%v → %dx%d: pixel %d channel %d: Planar %v, Resize %d", r, dw, dh, p, ch, in[ch*n+p], dst.Pix[3*p+ch])
				}
			}
		}
	}
}

// TestPlanarChannelOrder: BGR models get B first, and the manifest's scale/mean/std apply.
func TestPlanarChannelOrder(t *testing.T) {
	img := &Image{W: 2, H: 2, Pix: []uint8{10, 20, 30, 10, 20, 30, 10, 20, 30, 10, 20, 30}}
	var rs Resizer
	r := Rect{X1: 0, Y1: 0, X2: 1, Y2: 1}
	in, err := rs.Planar(nil, img, r, 3, 3, models.Input{Color: "bgr", Scale: 1, Std: [3]float32{1, 1, 1}})
	if err != nil {
		t.Fatal(err)
	}
	if len(in) != 27 || in[0] != 30 || in[9] != 20 || in[18] != 10 {
		t.Fatalf("bgr planes (%d values) start %v %v %v, want 30 20 10", len(in), in[0], in[9], in[18])
	}
	in, err = rs.Planar(in, img, r, 3, 3, models.Input{Color: "rgb", Scale: 0.5, Mean: [3]float32{1, 2, 3}, Std: [3]float32{2, 2, 2}})
	if err != nil {
		t.Fatal(err)
	}
	if in[0] != 2 || in[9] != 4 || in[18] != 6 {
		t.Fatalf("rgb normalised planes start %v %v %v, want 2 4 6", in[0], in[9], in[18])
	}
}

// TestPlanarRejects: Planar takes only rectangles inside a well-formed image, and leaves dst as
// it was when it refuses.
func TestPlanarRejects(t *testing.T) {
	img := synth(40, 30)
	var rs Resizer
	dst := make([]float32, 5)
	for _, tc := range []struct {
		name   string
		img    *Image
		r      Rect
		dw, dh int
	}{
		{"nil image", nil, Rect{X1: 0, Y1: 0, X2: 9, Y2: 9}, 8, 8},
		{"short pixels", &Image{W: 40, H: 30, Pix: img.Pix[:100]}, Rect{X1: 0, Y1: 0, X2: 9, Y2: 9}, 8, 8},
		{"empty rectangle", img, Rect{X1: 5, Y1: 5, X2: 4, Y2: 9}, 8, 8},
		{"left of the image", img, Rect{X1: -1, Y1: 0, X2: 9, Y2: 9}, 8, 8},
		{"below the image", img, Rect{X1: 0, Y1: 20, X2: 9, Y2: 30}, 8, 8},
		{"zero width", img, Rect{X1: 0, Y1: 0, X2: 9, Y2: 9}, 0, 8},
		{"oversized", img, Rect{X1: 0, Y1: 0, X2: 9, Y2: 9}, 8, 5000},
	} {
		got, err := rs.Planar(dst, tc.img, tc.r, tc.dw, tc.dh, identity)
		if err == nil {
			t.Errorf("%s: accepted", tc.name)
		}
		if len(got) != len(dst) || &got[0] != &dst[0] {
			t.Errorf("%s: dst changed on error", tc.name)
		}
	}
}

// TestPlanarAllocs: a warm Resizer crops and resizes into a big enough dst without allocating.
func TestPlanarAllocs(t *testing.T) {
	img := synth(1617, 2160)
	r := Rect{X1: 281, Y1: 181, X2: 1374, Y2: 1594}
	var rs Resizer
	in, err := rs.Planar(nil, img, r, 80, 80, identity)
	if err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(100, func() { in, _ = rs.Planar(in, img, r, 80, 80, identity) }); n != 0 {
		t.Fatalf("Planar allocates %v times per crop", n)
	}
	dst := &Image{W: 62, H: 62}
	if err := rs.Resize(dst, img, r); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(100, func() { _ = rs.Resize(dst, img, r) }); n != 0 {
		t.Fatalf("Resize allocates %v times per crop", n)
	}
}
