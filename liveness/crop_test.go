package liveness

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"testing"

	"vigil/models"
)

// golden is testdata/golden.json, made by testdata/gen_golden.py with OpenCV 4.6.
type golden struct {
	OpenCV string   `json:"opencv"`
	Models []string `json:"models"`
	Crops  []struct {
		W, H   int
		Box    [4]float32
		Scale  float64
		Rect   [4]int
		Planar string `json:"planar_zlib_b64"`
	} `json:"crops"`
	Photos []struct {
		Photo string
		W, H  int
		Box   [4]float32
		Rects [][4]int
		Probs [][3]float64
	} `json:"photos"`
}

func loadGolden(t testing.TB) *golden {
	t.Helper()
	b, err := os.ReadFile("testdata/golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var g golden
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	return &g
}

// synthImage must match synth() in testdata/gen_golden.py.
func synthImage(w, h int) *Image {
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

// identity makes fill write the resized bytes themselves, planar R, G, B.
var identity = models.Input{Color: "rgb", Scale: 1, Std: [3]float32{1, 1, 1}}

func unpack(t testing.TB, s string) []byte {
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

// TestCropMatchesOpenCV: CropRect against upstream's _get_new_box (run in Python), and the crop
// resize against cv2.resize INTER_LINEAR, on synthetic images whose every pixel phase differs:
// boxes at each edge and corner, tiny (enlarged), clamped, a 160×160 crop (OpenCV switches to
// INTER_AREA there; the bilinear arithmetic gives the same bytes) and a 20× shrink. OpenCV's
// fixed-point arithmetic is replicated, so the bytes must be identical.
func TestCropMatchesOpenCV(t *testing.T) {
	g := loadGolden(t)
	imgs := map[[2]int]*Image{}
	var c cropper
	for i, tc := range g.Crops {
		img := imgs[[2]int{tc.W, tc.H}]
		if img == nil {
			img = synthImage(tc.W, tc.H)
			imgs[[2]int{tc.W, tc.H}] = img
		}
		r, err := CropRect(tc.W, tc.H, tc.Box, tc.Scale)
		if err != nil {
			t.Fatalf("crop %d %v: %v", i, tc.Box, err)
		}
		if want := (Rect{tc.Rect[0], tc.Rect[1], tc.Rect[2], tc.Rect[3]}); r != want {
			t.Errorf("crop %d %v ×%.1f: rect %v, upstream %v", i, tc.Box, tc.Scale, r, want)
			continue
		}
		want := unpack(t, tc.Planar)
		c.fill(img, r, 80, 80, identity)
		diff, maxd := 0, 0
		for k, v := range c.in {
			if d := int(v) - int(want[k]); d != 0 {
				diff++
				maxd = max(maxd, d, -d)
			}
		}
		if diff != 0 {
			t.Errorf("crop %d %v ×%.1f (%dx%d from %dx%d): %d of %d bytes differ from cv2.resize, max %d",
				i, tc.Box, tc.Scale, r.W(), r.H(), tc.W, tc.H, diff, len(want), maxd)
		}
	}
	t.Logf("%d crops identical to OpenCV %s", len(g.Crops), g.OpenCV)
}

// TestFillChannelOrder: BGR models get B first, and the manifest's scale/mean/std apply.
func TestFillChannelOrder(t *testing.T) {
	img := &Image{W: 2, H: 2, Pix: []uint8{10, 20, 30, 10, 20, 30, 10, 20, 30, 10, 20, 30}}
	var c cropper
	r := Rect{0, 0, 1, 1}
	c.fill(img, r, 3, 3, models.Input{Color: "bgr", Scale: 1, Std: [3]float32{1, 1, 1}})
	if c.in[0] != 30 || c.in[9] != 20 || c.in[18] != 10 {
		t.Fatalf("bgr planes start %v %v %v, want 30 20 10", c.in[0], c.in[9], c.in[18])
	}
	c.fill(img, r, 3, 3, models.Input{Color: "rgb", Scale: 0.5, Mean: [3]float32{1, 2, 3}, Std: [3]float32{2, 2, 2}})
	if c.in[0] != 2 || c.in[9] != 4 || c.in[18] != 6 {
		t.Fatalf("rgb normalised planes start %v %v %v, want 2 4 6", c.in[0], c.in[9], c.in[18])
	}
}

// TestCropRectGeometry: the rules of upstream's crop, checked directly.
func TestCropRectGeometry(t *testing.T) {
	const W, H = 640, 480
	for _, tc := range []struct {
		name string
		box  [4]float32
		s    float64
		want Rect
	}{
		// centre (320, 240), 2.7 × (100, 120) = 270 × 324: [185, 505] × [78, 402]
		{"centred", [4]float32{270, 180, 100, 120}, 2.7, Rect{185, 78, 455, 402}},
		// runs past the left edge by 85: shifted right, width kept
		{"left edge", [4]float32{0, 180, 100, 120}, 2.7, Rect{0, 78, 270, 402}},
		{"right edge", [4]float32{560, 180, 100, 120}, 2.7, Rect{369, 78, 639, 402}},
		{"top edge", [4]float32{270, 0, 100, 120}, 2.7, Rect{185, 0, 455, 324}},
		{"bottom edge", [4]float32{270, 400, 100, 120}, 2.7, Rect{185, 155, 455, 479}},
		{"top-left outside", [4]float32{-50, -40, 100, 120}, 2.7, Rect{0, 0, 270, 324}},
		{"bottom-right outside", [4]float32{600, 430, 100, 120}, 2.7, Rect{369, 155, 639, 479}},
		// 4 × 150 = 600 wide fits, 4 × 200 = 800 tall does not: scale = 479/200 = 2.395 on both
		// axes (the crop keeps the box's aspect): 359.25 × 479
		{"clamped by height", [4]float32{245, 140, 150, 200}, 4.0, Rect{140, 0, 499, 479}},
		// clamped by width: 639/300 = 2.13; 639 × 340.8, centred at y 240
		{"clamped by width", [4]float32{170, 160, 300, 160}, 4.0, Rect{0, 69, 639, 410}},
		// larger than the image: scale = 479/680 < 1, a 591.7 × 479 crop centred at x 320
		{"box over the image", [4]float32{-100, -100, 840, 680}, 2.7, Rect{24, 0, 615, 479}},
	} {
		r, err := CropRect(W, H, tc.box, tc.s)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if r != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, r, tc.want)
		}
	}
}

// TestCropRectAlwaysInside: random boxes, including ones far outside or larger than the image,
// always give a non-empty rectangle inside the image whose size follows the clamped scale.
func TestCropRectAlwaysInside(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 200000; i++ {
		W, H := 1+rng.IntN(3000), 1+rng.IntN(3000)
		w := float32(0.5 + rng.Float64()*float64(2*W))
		h := float32(0.5 + rng.Float64()*float64(2*H))
		x := float32(rng.Float64()*float64(W+int(w))) - w + 0.01
		y := float32(rng.Float64()*float64(H+int(h))) - h + 0.01
		s := []float64{1, 2.7, 4}[rng.IntN(3)]
		box := [4]float32{x, y, w, h}
		r, err := CropRect(W, H, box, s)
		if err != nil {
			if fx, fy := float64(x), float64(y); fx >= float64(W) || fy >= float64(H) || fx+float64(w) <= 0 || fy+float64(h) <= 0 {
				continue // outside the image: rejected, as it should be
			}
			t.Fatalf("%dx%d %v ×%v: %v", W, H, box, s, err)
		}
		if r.X1 < 0 || r.Y1 < 0 || r.X2 >= W || r.Y2 >= H || r.X1 > r.X2 || r.Y1 > r.Y2 {
			t.Fatalf("%dx%d %v ×%v: %v outside the image", W, H, box, s, r)
		}
		sc := math.Min(s, math.Min(float64(H-1)/float64(h), float64(W-1)/float64(w)))
		if dw := float64(r.X2-r.X1) - float64(w)*sc; dw < -1.001 || dw > 1.001 {
			t.Fatalf("%dx%d %v ×%v: %v spans %d, want %.2f", W, H, box, s, r, r.X2-r.X1, float64(w)*sc)
		}
		if dh := float64(r.Y2-r.Y1) - float64(h)*sc; dh < -1.001 || dh > 1.001 {
			t.Fatalf("%dx%d %v ×%v: %v spans %d, want %.2f", W, H, box, s, r, r.Y2-r.Y1, float64(h)*sc)
		}
	}
}

func TestCropRectRejects(t *testing.T) {
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	for _, box := range [][4]float32{
		{nan, 0, 10, 10}, {0, 0, inf, 10}, {0, 0, 0, 10}, {0, 0, 10, -1},
		{100, 0, 10, 10}, {0, 100, 10, 10}, {-10, 0, 10, 10}, {0, -20, 10, 20},
	} {
		if r, err := CropRect(100, 100, box, 2.7); err == nil {
			t.Errorf("%v: got %v, want an error", box, r)
		}
	}
	if _, err := CropRect(100, 100, [4]float32{10, 10, 10, 10}, 0); err == nil {
		t.Error("scale 0 accepted")
	}
}

// TestFillAllocs: a warm cropper crops and resizes without allocating.
func TestFillAllocs(t *testing.T) {
	img := synthImage(1617, 2160)
	r, err := CropRect(img.W, img.H, [4]float32{625, 626, 405, 523}, 2.7)
	if err != nil {
		t.Fatal(err)
	}
	var c cropper
	c.fill(img, r, 80, 80, identity)
	if n := testing.AllocsPerRun(100, func() { c.fill(img, r, 80, 80, identity) }); n != 0 {
		t.Fatalf("fill allocates %v times per crop", n)
	}
}

// BenchmarkFill: crop and resize alone. The 20× shrink of a 10 MB photo reads ~13,000
// scattered cache lines and is bound by memory latency; a 480×640 photo stays in cache.
func BenchmarkFill(b *testing.B) {
	for _, tc := range []struct {
		w, h int
		box  [4]float32
	}{
		{480, 640, [4]float32{118, 113, 170, 240}},
		{1617, 2160, [4]float32{625, 626, 405, 523}},
	} {
		b.Run(fmt.Sprintf("%dx%d", tc.w, tc.h), func(b *testing.B) {
			img := synthImage(tc.w, tc.h)
			r, _ := CropRect(img.W, img.H, tc.box, 4.0)
			var c cropper
			for b.Loop() {
				c.fill(img, r, 80, 80, identity)
			}
		})
	}
}
