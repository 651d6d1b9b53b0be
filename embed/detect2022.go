package embed

import (
	"fmt"
	"math"

	"vigil/models/ort"
)

// YuNet 2022mar (models/MANIFEST.md §1): one row per anchor prior in three outputs, loc [N,14]
// (box and landmark offsets), conf [N,2] (softmax, column 1 is "face") and iou [N,1].
var yunet2022Outputs = []string{"loc", "conf", "iou"}

// yunet2022Levels are the prior levels OpenCV 4.5.4–4.7 FaceDetectorYN generates: feature maps
// f3..f6 with these steps and anchor sizes.
var yunet2022Levels = [4]struct {
	step     int
	minSizes []float32
}{
	{8, []float32{10, 16, 24}},
	{16, []float32{32, 48}},
	{32, []float32{64, 96}},
	{64, []float32{128, 192, 256}},
}

// yunet2022Min is the smallest side fed to 2022mar. The network halves its input six times
// (a stride-2 conv, then five floor-mode 2×2 max pools); under 63 px the last feature map is
// empty: OpenCV 4.6 FaceDetectorYN then throws, and ORT returns more rows than there are priors.
// Smaller views are zero-padded bottom/right to 64 px, as 2023mar's always are to multiples of 32.
const yunet2022Min = 64

// yunet2022Grid returns the (cols, rows) of the four prior levels for a w×h input, OpenCV 4.6's
// generatePriors: f2 = ((w+1)/2)/2, then each level halves the one before, f3 first.
func yunet2022Grid(w, h int) (g [4][2]int) {
	fw, fh := (w+1)/2/2, (h+1)/2/2
	for i := range g {
		fw, fh = fw/2, fh/2
		g[i] = [2]int{fw, fh}
	}
	return g
}

// yunet2022Priors is the number of priors, and so of output rows, for a w×h input.
func yunet2022Priors(w, h int) int {
	n := 0
	for i, f := range yunet2022Grid(w, h) {
		n += f[0] * f[1] * len(yunet2022Levels[i].minSizes)
	}
	return n
}

// run2022 feeds view to YuNet 2022mar at its own size (OpenCV 4.6 FaceDetectorYN runs the
// network on the image as it is, no padding; only views under yunet2022Min get zeros
// bottom/right, priors then laid over the padded size) and decodes every prior as
// FaceDetectorYN does: priors row, column, anchor size; variance 0.1 for centres, landmarks and
// width, 0.2 for height (OpenCV's, kept); score = sqrt(conf · clamp(iou, 0, 1)). Then the same
// NMS as 2023mar. Coordinates are in view pixels, centres at i+0.5 like 2023mar's.
//
// It also returns the highest conf (face-class probability) among the priors that pass
// opt.ScoreThreshold, which ranks the orientations of the rotation search: the score can't, as
// iou often exceeds 1 and clamps, so most faces score exactly 1 whichever way up (upright LFW
// faces and the same photos turned score alike; the best score picked the true orientation for
// 992 of 1,212 photos), while conf, never exactly 1 on these photos, picked it for all 1,212
// (303 pairs.csv photos each upright and turned three ways; TestDetectMeasureRotations).
func (d *Detector) run2022(view *Image, opt DetectOptions) ([]Face, float32, error) {
	pw, ph := max(view.W, yunet2022Min), max(view.H, yunet2022Min)
	d.fill(view, pw, ph)
	out, err := d.s.Run([]ort.Tensor{{Shape: []int64{1, 3, int64(ph), int64(pw)}, Data: d.in}})
	if err != nil {
		return nil, 0, fmt.Errorf("detect %dx%d: %w", pw, ph, err)
	}
	if len(out) != len(yunet2022Outputs) {
		return nil, 0, fmt.Errorf("detect: model gave %d outputs, want %d", len(out), len(yunet2022Outputs))
	}
	n := yunet2022Priors(pw, ph)
	loc, conf, iouOut := out[0].Data, out[1].Data, out[2].Data
	if len(loc) != 14*n || len(conf) != 2*n || len(iouOut) != n {
		return nil, 0, fmt.Errorf("detect: %dx%d outputs %d/%d/%d values, want %d priors (wrong model or output order?)",
			pw, ph, len(loc), len(conf), len(iouOut), n)
	}
	// float32 throughout, in OpenCV's order of operations.
	W, H := float32(pw), float32(ph)
	const v0, v1 = float32(0.1), float32(0.2)
	d.cand = d.cand[:0]
	var key float32
	i := 0
	for l, g := range yunet2022Grid(pw, ph) {
		lv := yunet2022Levels[l]
		step := float32(lv.step)
		for r := 0; r < g[1]; r++ {
			for c := 0; c < g[0]; c++ {
				for _, ms := range lv.minSizes {
					k := i
					i++
					score := float32(math.Sqrt(float64(conf[2*k+1] * clamp01(iouOut[k]))))
					if score < opt.ScoreThreshold {
						continue
					}
					key = max(key, conf[2*k+1])
					px, py := (float32(c)+0.5)*step/W, (float32(r)+0.5)*step/H
					sw, sh := ms/W, ms/H
					o := loc[14*k : 14*k+14 : 14*k+14]
					cx, cy := (px+o[0]*v0*sw)*W, (py+o[1]*v0*sh)*H
					w := sw * float32(math.Exp(float64(o[2]*v0))) * W
					h := sh * float32(math.Exp(float64(o[3]*v1))) * H
					f := Face{Box: [4]float32{cx - w/2, cy - h/2, w, h}, Score: score}
					for m := range f.Landmarks {
						f.Landmarks[m] = [2]float32{(px + o[4+2*m]*v0*sw) * W, (py + o[5+2*m]*v0*sh) * H}
					}
					d.cand = append(d.cand, f)
				}
			}
		}
	}
	return nms(d.cand, opt.NMSThreshold), key, nil
}
