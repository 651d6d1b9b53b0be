package attributes

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"encoding/json"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"vigil/liveness"
	"vigil/models/modeltest"
)

func rect(x1, y1, x2, y2 int) Rect { return Rect{X1: x1, Y1: y1, X2: x2, Y2: y2} }

// TestCropRectGeometry: the crop is a square of side scale·max(w, h), centred on the box, and
// at a border it runs past the image instead of moving or shrinking.
func TestCropRectGeometry(t *testing.T) {
	const W, H = 250, 250
	for _, tc := range []struct {
		name  string
		box   [4]float32
		scale float64
		want  Rect
	}{
		// centre (125, 125), side 100: [75, 175)
		{"centred square box", [4]float32{75, 75, 100, 100}, 1, rect(75, 75, 174, 174)},
		// a tall box: the side follows its height; centre (125, 130), side 120: [65, 185) × [70, 190)
		{"tall box", [4]float32{85, 70, 80, 120}, 1, rect(65, 70, 184, 189)},
		// 1.2 × 120 = 144 around (125, 130): [53, 197) × [58, 202)
		{"tall box 1.2", [4]float32{85, 70, 80, 120}, 1.2, rect(53, 58, 196, 201)},
		// 0.9 × 101 = 90.9 → 91 around (125.5, 125.5): 125.5 - 45.5 = 80
		{"odd side 0.9", [4]float32{75, 75, 101, 101}, 0.9, rect(80, 80, 170, 170)},
		// fractional box: centre (100.25, 110.75), side 60: x1 = round(70.25) = 70, y1 = round(80.75) = 81
		{"fractional", [4]float32{70.25, 80.75, 60, 60}, 1, rect(70, 81, 129, 140)},
		// past the left and top edges: not shifted; centre (20, 15), side 80
		{"top-left corner", [4]float32{-10, -25, 60, 80}, 1, rect(-20, -25, 59, 54)},
		// past the right and bottom edges: centre (230, 240), side 100
		{"bottom-right corner", [4]float32{190, 200, 80, 80}, 1.25, rect(180, 190, 279, 289)},
		// larger than the image: still square and centred
		{"box over the image", [4]float32{-50, -20, 350, 300}, 1, rect(-50, -45, 299, 304)},
		{"one pixel", [4]float32{10, 10, 0.3, 0.3}, 1, rect(10, 10, 10, 10)},
	} {
		r, err := CropRect(W, H, tc.box, tc.scale)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if r != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, r, tc.want)
		}
		if r.W() != r.H() {
			t.Errorf("%s: %v is not square", tc.name, r)
		}
	}
}

// TestCropRectRandom: on random boxes the crop is square, its side is the scaled longer side
// to a pixel, and its centre is the box's to half a pixel.
func TestCropRectRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 100000; i++ {
		W, H := 1+rng.IntN(2000), 1+rng.IntN(2000)
		w, h := float32(0.5+rng.Float64()*float64(W)), float32(0.5+rng.Float64()*float64(H))
		x := float32(rng.Float64()*float64(W+int(w))) - w + 0.01
		y := float32(rng.Float64()*float64(H+int(h))) - h + 0.01
		s := 0.9 + 0.1*float64(rng.IntN(4))
		box := [4]float32{x, y, w, h}
		r, err := CropRect(W, H, box, s)
		if err != nil {
			t.Fatalf("%dx%d %v ×%v: %v", W, H, box, s, err)
		}
		side := s * float64(max(w, h))
		if r.W() != r.H() || math.Abs(float64(r.W())-side) > 0.5001 && r.W() != 1 {
			t.Fatalf("%v ×%v: %v, side %d want %.2f", box, s, r, r.W(), side)
		}
		cx, cy := float64(r.X1)+float64(r.W())/2, float64(r.Y1)+float64(r.H())/2
		if math.Abs(cx-float64(x+w/2)) > 0.5001 || math.Abs(cy-float64(y+h/2)) > 0.5001 {
			t.Fatalf("%v ×%v: %v centred at (%.2f, %.2f)", box, s, r, cx, cy)
		}
	}
}

func TestCropRectRejects(t *testing.T) {
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	for _, box := range [][4]float32{
		{nan, 0, 10, 10}, {0, 0, inf, 10}, {0, 0, 0, 10}, {0, 0, 10, -1},
		{100, 0, 10, 10}, {0, 100, 10, 10}, {-10, 0, 10, 10}, {0, -20, 10, 20},
	} {
		if r, err := CropRect(100, 100, box, 1); err == nil {
			t.Errorf("%v: got %v, want an error", box, r)
		}
	}
	for _, s := range []float64{0, -1, math.NaN(), 100} {
		if _, err := CropRect(100, 100, [4]float32{10, 10, 10, 10}, s); err == nil {
			t.Errorf("scale %v accepted", s)
		}
	}
}

// synth must match synthImage in liveness/crop_test.go and synth() in
// liveness/testdata/gen_golden.py.
func synth(w, h int) *liveness.Image {
	img := &liveness.Image{W: w, H: h, Pix: make([]uint8, 3*w*h)}
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

// TestResizeMatchesOpenCV: the resize the crops go through (liveness.Resizer) gives
// cv2.resize's INTER_LINEAR bytes on the crops of liveness/testdata/golden.json (made with
// OpenCV 4.6: shrinks up to 20×, a 12×15 crop enlarged, crops at every edge).
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
	var rs liveness.Resizer
	dst := &liveness.Image{W: 80, H: 80}
	for i, c := range g.Crops {
		img := synth(c.W, c.H)
		r := Rect{X1: c.Rect[0], Y1: c.Rect[1], X2: c.Rect[2], Y2: c.Rect[3]}
		if err := rs.Resize(dst, img, r); err != nil {
			t.Fatal(err)
		}
		want := unpack(t, c.Planar)
		n := 80 * 80
		diff := 0
		for p := 0; p < n; p++ {
			for ch := 0; ch < 3; ch++ {
				if dst.Pix[3*p+ch] != want[ch*n+p] {
					diff++
				}
			}
		}
		if diff != 0 {
			t.Errorf("crop %d %v of %dx%d: %d bytes differ from cv2.resize", i, r, c.W, c.H, diff)
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
func pad(img *liveness.Image, p int) *liveness.Image {
	out := &liveness.Image{W: img.W + 2*p, H: img.H + 2*p}
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
	var rs liveness.Resizer
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
		got := &liveness.Image{W: side, H: side}
		if err := rs.Resize(got, img, r); err != nil {
			t.Fatalf("%v: %v", r, err)
		}
		want := &liveness.Image{W: side, H: side}
		if err := rs.Resize(want, padded, Rect{X1: r.X1 + p, Y1: r.Y1 + p, X2: r.X2 + p, Y2: r.Y2 + p}); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Pix, want.Pix) {
			t.Fatalf("%v → %d²: differs from the same crop of the padded image", r, side)
		}
	}
	if err := rs.Resize(&liveness.Image{W: 62, H: 62}, img, Rect{X1: 97, Y1: 0, X2: 120, Y2: 23}); err == nil {
		t.Error("a rectangle right of the image was accepted")
	}
	if err := rs.Resize(&liveness.Image{W: 62, H: 62}, img, Rect{X1: 5, Y1: 5, X2: 4, Y2: 20}); err == nil {
		t.Error("an empty rectangle was accepted")
	}
}

// TestCropCentredAtBorder: a face box in a corner still lands in the middle of the model's
// input: a white box drawn at the image's corner on black comes out as the centre of the crop,
// with the replicated edge around it.
func TestCropCentredAtBorder(t *testing.T) {
	img := &liveness.Image{W: 200, H: 150, Pix: make([]uint8, 3*200*150)}
	box := [4]float32{0, 0, 40, 40} // the white square [0, 40)²
	for y := 0; y < 40; y++ {
		for x := 0; x < 40; x++ {
			copy(img.Pix[3*(y*img.W+x):], []uint8{255, 255, 255})
		}
	}
	r, err := CropRect(img.W, img.H, box, 2) // an 80-px square centred at (20, 20)
	if err != nil {
		t.Fatal(err)
	}
	if r != (Rect{X1: -20, Y1: -20, X2: 59, Y2: 59}) {
		t.Fatalf("rect %v", r)
	}
	var rs liveness.Resizer
	dst := &liveness.Image{W: 62, H: 62}
	if err := rs.Resize(dst, img, r); err != nil {
		t.Fatal(err)
	}
	at := func(x, y int) uint8 { return dst.Pix[3*(y*62+x)] }
	// the first three quarters of each axis are white (box plus its replicated edge), the rest black
	for _, p := range [][2]int{{0, 0}, {30, 30}, {44, 10}, {10, 44}} {
		if at(p[0], p[1]) != 255 {
			t.Errorf("pixel %v = %d, want white", p, at(p[0], p[1]))
		}
	}
	for _, p := range [][2]int{{50, 50}, {61, 0}, {0, 61}} {
		if at(p[0], p[1]) != 0 {
			t.Errorf("pixel %v = %d, want black", p, at(p[0], p[1]))
		}
	}
}
