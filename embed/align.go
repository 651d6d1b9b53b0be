package embed

import "math"

// AlignSize is the side of the square crop Align produces, the embedding model's input.
const AlignSize = 112

// alignTemplate is where the five landmarks (YuNet order) land in the 112×112 crop: the
// ArcFace/InsightFace template, which OpenCV's FaceRecognizerSF and our MobileFaceNet use
// (models/MANIFEST.md §4: the looser foamliu template costs ~10 points of accuracy).
var alignTemplate = [5][2]float64{
	{38.2946, 51.6963}, {73.5318, 51.5014}, {56.0252, 71.7366}, {41.5493, 92.3655}, {70.7299, 92.2041},
}

// Align warps the face with landmarks lm (YuNet order, in img's pixels with centres at integers,
// as Detect returns them) onto the 112×112 template and returns the similarity transform used,
// mapping img to crop coordinates: crop = m · (x, y, 1). m is the exact least-squares fit, within
// 1e-5 of cv2.estimateAffinePartial2D(method=LMEDS) when that keeps all five points; given the
// same matrix the pixels are cv2.warpAffine(INTER_LINEAR, BORDER_CONSTANT 0)'s bit for bit, and
// end to end all but ~1 byte in 10^4 equal OpenCV's (align_test.go). Degenerate landmarks give a
// meaningless crop, never a panic.
//
// img must be well formed (len(Pix) == 3*W*H, as Decode returns it). dst is resized to 112×112,
// reusing dst.Pix when it has the capacity, so a worker that keeps one dst per slot aligns
// without allocating. img is only read: Align is safe for concurrent use on distinct dsts.
func Align(img *Image, lm [5][2]float32, dst *Image) (m [2][3]float32) {
	m64 := similarity(lm)
	warpAffine(img, m64, dst)
	for i := range m {
		for j := range m[i] {
			m[i][j] = float32(m64[i][j])
		}
	}
	return m
}

// similarity returns the least-squares rotation + uniform scale + translation (no reflection)
// taking lm onto alignTemplate: Umeyama's solution, which in 2-D is linear least squares in
// (a, b) of m = [[a, -b, tx], [b, a, ty]]. Coincident landmarks give a zero scale.
func similarity(lm [5][2]float32) [2][3]float64 {
	var sx, sy, dx, dy float64
	for i, p := range lm {
		sx += float64(p[0])
		sy += float64(p[1])
		dx += alignTemplate[i][0]
		dy += alignTemplate[i][1]
	}
	sx, sy, dx, dy = sx/5, sy/5, dx/5, dy/5
	var num, cross, den float64
	for i, p := range lm {
		px, py := float64(p[0])-sx, float64(p[1])-sy
		qx, qy := alignTemplate[i][0]-dx, alignTemplate[i][1]-dy
		num += px*qx + py*qy
		cross += px*qy - py*qx
		den += px*px + py*py
	}
	var a, b float64
	if den > 0 {
		a, b = num/den, cross/den
	}
	return [2][3]float64{
		{a, -b, dx - (a*sx - b*sy)},
		{b, a, dy - (b*sx + a*sy)},
	}
}

// OpenCV's fixed-point warp constants (imgproc/imgwarp.cpp): source positions are kept with
// AB_BITS fractional bits, rounded to 1/32 pixel (INTER_BITS), and the four bilinear weights
// are 15-bit integers (INTER_REMAP_COEF_BITS).
const (
	abBits    = 10
	interBits = 5
	interTab  = 1 << interBits
	coefBits  = 15
)

// warpAffine fills dst (112×112 RGB) with src warped by m (source → destination), replicating
// cv2.warpAffine with INTER_LINEAR and a constant 0 border in OpenCV's integer arithmetic, so
// results agree bit for bit rather than within rounding: m is inverted in float64, each
// destination pixel's source position is computed in 1/1024 px and rounded to 1/32, and taps
// outside src read 0.
func warpAffine(src *Image, m [2][3]float64, dst *Image) {
	const n = AlignSize
	dst.W, dst.H = n, n
	dst.Pix = scratch(dst.Pix, 3*n*n)
	// Invert, exactly as OpenCV does, including its "singular → all zeros" rule.
	det := m[0][0]*m[1][1] - m[0][1]*m[1][0]
	if det != 0 {
		det = 1 / det
	}
	a11, a12, a21, a22 := m[1][1]*det, -m[0][1]*det, -m[1][0]*det, m[0][0]*det
	b1 := -a11*m[0][2] - a12*m[1][2]
	b2 := -a21*m[0][2] - a22*m[1][2]

	const abScale = 1 << abBits
	const roundDelta = abScale / interTab / 2
	// OpenCV's adelta/bdelta: the per-column terms, each rounded on its own.
	var adelta, bdelta [n]int
	for x := range adelta {
		adelta[x] = satInt(a11 * float64(x) * abScale)
		bdelta[x] = satInt(a21 * float64(x) * abScale)
	}
	sw, sh := src.W, src.H
	spix := src.Pix
	d := dst.Pix
	for y := 0; y < n; y++ {
		x0 := satInt((a12*float64(y)+b1)*abScale) + roundDelta
		y0 := satInt((a22*float64(y)+b2)*abScale) + roundDelta
		for x := 0; x < n; x++ {
			X := (x0 + adelta[x]) >> (abBits - interBits)
			Y := (y0 + bdelta[x]) >> (abBits - interBits)
			sx, sy := satShort(X>>interBits), satShort(Y>>interBits)
			fx, fy := int32(X&(interTab-1)), int32(Y&(interTab-1))
			// Weights sum to 1<<15: (32-f)·32 per axis product, exact in OpenCV's float table.
			w00 := (interTab - fy) * (interTab - fx) * 32
			w01 := (interTab - fy) * fx * 32
			w10 := fy * (interTab - fx) * 32
			w11 := fy * fx * 32
			o := d[3*(y*n+x) : 3*(y*n+x)+3 : 3*(y*n+x)+3]
			if sx >= 0 && sy >= 0 && sx < sw-1 && sy < sh-1 {
				i := 3 * (sy*sw + sx)
				p0, p1 := spix[i:i+6:i+6], spix[i+3*sw:i+3*sw+6:i+3*sw+6]
				for c := 0; c < 3; c++ {
					v := int32(p0[c])*w00 + int32(p0[c+3])*w01 + int32(p1[c])*w10 + int32(p1[c+3])*w11
					o[c] = uint8((v + 1<<(coefBits-1)) >> coefBits)
				}
				continue
			}
			for c := 0; c < 3; c++ {
				v := tap(spix, sw, sh, sx, sy, c)*w00 + tap(spix, sw, sh, sx+1, sy, c)*w01 +
					tap(spix, sw, sh, sx, sy+1, c)*w10 + tap(spix, sw, sh, sx+1, sy+1, c)*w11
				o[c] = uint8((v + 1<<(coefBits-1)) >> coefBits)
			}
		}
	}
}

// tap reads channel c of pixel (x, y), or the constant 0 border outside the image.
func tap(pix []uint8, w, h, x, y, c int) int32 {
	if x < 0 || y < 0 || x >= w || y >= h {
		return 0
	}
	return int32(pix[3*(y*w+x)+c])
}

// satInt is OpenCV's saturate_cast<int> of a double: round half to even (cvRound's SSE2
// conversion), clamp to int32, and NaN to INT_MIN as x86 converts it.
func satInt(v float64) int {
	if v != v {
		return math.MinInt32
	}
	return int(max(min(math.RoundToEven(v), math.MaxInt32), math.MinInt32))
}

// satShort is saturate_cast<short>: OpenCV stores the integer source position as int16.
func satShort(v int) int { return max(min(v, math.MaxInt16), math.MinInt16) }

// alignLandmarks returns f's landmarks as the embedding models expect them: in the convention
// they were validated in (models/MANIFEST.md §4), OpenCV FaceDetectorYN's raw output fed
// straight to warpAffine. FaceDetectorYN puts pixel (i, j)'s centre at (i+0.5, j+0.5) and
// warpAffine at (i, j), so its crops sit half a pixel up and left of the geometric ones that
// Face's coordinates would give. The half pixel is added along the face's own axes, read from its
// eye line and snapped to the nearest quarter turn: a photo the right way up gets exactly the
// reference pipeline's crop, and a photo turned by 90° the crop of its upright twin.
//
// Measured with `vigil bench accuracy` on shared/faces (2023mar landmarks, every one of the 2.9 M
// cross-person pairs): genuine pairs accepted at FMR 1e-3 / 1e-4 / 1e-5, 96.5 / 92.5 / 86.6 % with
// the geometric crop, 96.9 / 93.5 / 88.1 % with this one.
func (f Face) alignLandmarks() [5][2]float32 {
	ex := f.Landmarks[1][0] - f.Landmarks[0][0] // right eye → left eye: the face's +x
	ey := f.Landmarks[1][1] - f.Landmarks[0][1]
	ax, ay := float32(1), float32(0) // the face's +x in the photo, snapped; upright if undefined
	switch {
	case ey > abs32(ex):
		ax, ay = 0, 1
	case -ey > abs32(ex):
		ax, ay = 0, -1
	case ex < 0:
		ax = -1
	}
	// The face's +y (chin-wards) is its +x turned a quarter clockwise on screen: (-ay, ax).
	dx, dy := 0.5*(ax-ay), 0.5*(ay+ax)
	lm := f.Landmarks
	for k := range lm {
		lm[k][0] += dx
		lm[k][1] += dy
	}
	return lm
}

func abs32(v float32) float32 { return float32(math.Abs(float64(v))) }
