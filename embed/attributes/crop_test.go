package attributes

import (
	"math"
	"math/rand/v2"
	"testing"

	"vigil/models/prep"
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

// TestCropCentredAtBorder: a face box in a corner still lands in the middle of the model's
// input: a white box drawn at the image's corner on black comes out as the centre of the crop,
// with the replicated edge around it. (models/prep tests the resize itself against OpenCV.)
func TestCropCentredAtBorder(t *testing.T) {
	img := &prep.Image{W: 200, H: 150, Pix: make([]uint8, 3*200*150)}
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
	var rs prep.Resizer
	dst := &prep.Image{W: 62, H: 62}
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
