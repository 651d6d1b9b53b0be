package attributes

import (
	"fmt"
	"math"

	"vigil/models/prep"
)

// Rect is an inclusive pixel rectangle; for CropRect it may run past the image.
type Rect = prep.Rect

// CropRect is the square the model sees for the face box (x, y, w, h): side scale·max(w, h)
// pixels (rounded, at least 1), centred on the box's centre (x+w/2, y+h/2), with pixel i
// covering [i, i+1). The manifest (shared/models/MANIFEST.md section 5) asks for a square around
// the box; OMZ's demo uses 1.2× its own detector's boxes, and with YuNet's smaller boxes
// 0.9–1.2× were measured (bench/RESULTS.md). At a border the square is not shifted or
// clipped, which would move or stretch the face: it may run past the image, and the resize
// repeats the edge pixels there. The box must be finite, have positive size and overlap the
// image.
func CropRect(imgW, imgH int, box [4]float32, scale float64) (Rect, error) {
	for _, v := range box {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return Rect{}, fmt.Errorf("attributes: face box %v not finite", box)
		}
	}
	x, y, w, h := float64(box[0]), float64(box[1]), float64(box[2]), float64(box[3])
	switch {
	case imgW <= 0 || imgH <= 0:
		return Rect{}, fmt.Errorf("attributes: empty image %dx%d", imgW, imgH)
	case !(w > 0 && h > 0) || w > 1<<16 || h > 1<<16:
		return Rect{}, fmt.Errorf("attributes: face box %v has no area or is implausibly large", box)
	case x >= float64(imgW) || y >= float64(imgH) || x+w <= 0 || y+h <= 0:
		return Rect{}, fmt.Errorf("attributes: face box %v outside the %dx%d image", box, imgW, imgH)
	case !(scale > 0 && scale <= 16):
		return Rect{}, fmt.Errorf("attributes: crop scale %v", scale)
	}
	n := max(1, int(math.Round(scale*max(w, h))))
	half := float64(n) / 2
	x1 := int(math.Round(x + w/2 - half))
	y1 := int(math.Round(y + h/2 - half))
	return Rect{X1: x1, Y1: y1, X2: x1 + n - 1, Y2: y1 + n - 1}, nil
}
