package liveness

import (
	"fmt"
	"math"

	"vigil/models"
	"vigil/models/prep"
)

// Image is a decoded photo: packed 8-bit RGB, row-major, no padding, len(Pix) == 3*W*H, already
// upright. It has the same fields as embed.Image and prep.Image, so a caller holding one converts
// with liveness.Image(*img) without copying pixels (this package does not import embed). Only
// read.
type Image struct {
	W, H int
	Pix  []uint8
}

func (img *Image) check() error {
	if err := (*prep.Image)(img).Check(); err != nil {
		return fmt.Errorf("liveness: %w", err)
	}
	return nil
}

// Rect is an inclusive pixel rectangle [X1..X2] × [Y1..Y2], convertible to and from prep.Rect.
type Rect struct{ X1, Y1, X2, Y2 int }

// W and H are the rectangle's size in pixels.
func (r Rect) W() int { return r.X2 - r.X1 + 1 }
func (r Rect) H() int { return r.Y2 - r.Y1 + 1 }

// CropRect is the region a liveness model with crop scale s sees for the face box (x, y, w, h),
// computed exactly as upstream Silent-Face-Anti-Spoofing's CropImage._get_new_box (and
// shared/peers/opencv_peer.py's fas_box): scale = min(s, (H-1)/h, (W-1)/w); a box of w·scale ×
// h·scale centred on the face box's centre (x+w/2, y+h/2); moved back inside the image when it
// runs past an edge; corners truncated to integers. Because scale never exceeds (W-1)/w and
// (H-1)/h the result always lies inside the image, whatever the box. The box must have positive,
// finite size and overlap the image.
func CropRect(imgW, imgH int, box [4]float32, s float64) (Rect, error) {
	x, y, w, h := float64(box[0]), float64(box[1]), float64(box[2]), float64(box[3])
	for _, v := range box {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return Rect{}, fmt.Errorf("liveness: face box %v not finite", box)
		}
	}
	switch {
	case imgW <= 0 || imgH <= 0:
		return Rect{}, fmt.Errorf("liveness: empty image %dx%d", imgW, imgH)
	case !(w > 0 && h > 0):
		return Rect{}, fmt.Errorf("liveness: face box %v has no area", box)
	case x >= float64(imgW) || y >= float64(imgH) || x+w <= 0 || y+h <= 0:
		return Rect{}, fmt.Errorf("liveness: face box %v outside the %dx%d image", box, imgW, imgH)
	case !(s > 0):
		return Rect{}, fmt.Errorf("liveness: crop scale %v", s)
	}
	W1, H1 := float64(imgW-1), float64(imgH-1)
	scale := min(s, H1/h, W1/w)
	nw, nh := w*scale, h*scale
	cx, cy := x+w/2, y+h/2
	x1, y1, x2, y2 := cx-nw/2, cy-nh/2, cx+nw/2, cy+nh/2
	if x1 < 0 {
		x2 -= x1
		x1 = 0
	}
	if y1 < 0 {
		y2 -= y1
		y1 = 0
	}
	if x2 > W1 {
		x1 -= x2 - W1
		x2 = W1
	}
	if y2 > H1 {
		y1 -= y2 - H1
		y2 = H1
	}
	// Python's int() and Go's conversion both truncate toward zero. The clamps only absorb a
	// last-bit rounding excess (w·((W-1)/w) can exceed W-1 by an ulp).
	r := Rect{X1: int(x1), Y1: int(y1), X2: int(x2), Y2: int(y2)}
	r.X1, r.Y1 = min(max(r.X1, 0), imgW-1), min(max(r.Y1, 0), imgH-1)
	r.X2, r.Y2 = min(max(r.X2, r.X1), imgW-1), min(max(r.Y2, r.Y1), imgH-1)
	return r, nil
}

// cropper is one pooled crop: the resize tables (models/prep, whose arithmetic is OpenCV's
// cv::resize INTER_LINEAR byte for byte) and the model input item they fill.
type cropper struct {
	rs prep.Resizer
	in []float32 // the model input item, NCHW
}

// fill crops r out of img, resizes it to dw×dh with OpenCV's INTER_LINEAR arithmetic (what
// upstream's cv2.resize(img[y1:y2+1, x1:x2+1], (80, 80)) does) and writes the model input into
// c.in: value = (pixel*Scale - Mean[c]) / Std[c], channels in the input's colour order, NCHW.
// r must lie inside img, as CropRect's always do.
func (c *cropper) fill(img *Image, r Rect, dw, dh int, in models.Input) error {
	var err error
	c.in, err = c.rs.Planar(c.in, (*prep.Image)(img), prep.Rect(r), dw, dh, in)
	return err
}
