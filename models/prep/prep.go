package prep

import (
	"errors"
	"fmt"
	"math"

	"vigil/models"
)

// Image is a decoded photo: packed 8-bit RGB, row-major, no padding, len(Pix) == 3*W*H, already
// upright. It has the same fields as embed.Image, so a caller holding one converts with
// prep.Image(*img) or (*prep.Image)(img) without copying pixels (this package does not import
// embed). Only read.
type Image struct {
	W, H int
	Pix  []uint8
}

// Check reports whether img is a well-formed Image of at most 32768 pixels a side.
func (img *Image) Check() error {
	switch {
	case img == nil:
		return errors.New("prep: nil image")
	case img.W <= 0 || img.H <= 0 || img.W > 1<<15 || img.H > 1<<15 || len(img.Pix) != 3*img.W*img.H:
		return fmt.Errorf("prep: malformed image %dx%d with %d bytes", img.W, img.H, len(img.Pix))
	}
	return nil
}

// Rect is an inclusive pixel rectangle [X1..X2] × [Y1..Y2].
type Rect struct{ X1, Y1, X2, Y2 int }

// W and H are the rectangle's size in pixels.
func (r Rect) W() int { return r.X2 - r.X1 + 1 }
func (r Rect) H() int { return r.Y2 - r.Y1 + 1 }

// OpenCV's fixed-point bilinear resize for 8-bit images (INTER_RESIZE_COEF_BITS).
const (
	coefBits = 11
	coefOne  = 1 << coefBits
)

// Resizer cuts a rectangle out of an Image and resizes it with cv::resize INTER_LINEAR's
// fixed-point arithmetic for 8-bit images, byte for byte (what upstream Silent-Face-Anti-Spoofing's
// cv2.resize(img[y1:y2+1, x1:x2+1], (80, 80)) does), for every face stage that needs its own crop
// of the decoded photo: Planar writes a normalised NCHW model input (liveness), Resize packed RGB
// bytes (embed/attributes, whose crops may run past the image). The zero value is ready to use and
// keeps its tables between calls, so a warm Resizer does not allocate. Not safe for concurrent
// use: give each goroutine its own (or pool them).
type Resizer struct {
	xofs  []int32 // per output column: first source column (absolute pixel index)
	alpha []int16 // per output column: two horizontal weights in 1/2048ths
	yofs  []int32 // per output row: first source row (absolute; may lie one outside the crop)
	beta  []int16 // per output row: two vertical weights
	row0  []int32 // horizontal pass of the first source row of an output row, 3 per column
	row1  []int32
}

// Planar cuts r out of img, resizes it to dw×dh and writes the model input into dst, resliced to
// 3·dw·dh (reallocated only when its capacity is short) and returned: value = (pixel*in.Scale -
// in.Mean[c]) / in.Std[c], channels in in.Color's order ("bgr" or RGB), NCHW. in's Width and
// Height are not read: dw and dh give the size. r must lie inside img (as liveness.CropRect's
// rectangles do); img is only read. On an error dst is returned unchanged.
func (z *Resizer) Planar(dst []float32, img *Image, r Rect, dw, dh int, in models.Input) ([]float32, error) {
	if err := img.Check(); err != nil {
		return dst, err
	}
	switch {
	case dw <= 0 || dh <= 0 || dw > 4096 || dh > 4096:
		return dst, fmt.Errorf("prep: resize to an empty or oversized %dx%d input", dw, dh)
	case r.X2 < r.X1 || r.Y2 < r.Y1:
		return dst, fmt.Errorf("prep: empty rectangle %v", r)
	case r.X1 < 0 || r.Y1 < 0 || r.X2 >= img.W || r.Y2 >= img.H:
		return dst, fmt.Errorf("prep: rectangle %v not inside the %dx%d image", r, img.W, img.H)
	}
	dst = grow(dst, 3*dw*dh)
	z.fill(dst, img, r, dw, dh, in)
	return dst, nil
}

// linearTaps fills ofs/w for resizing a line of sn samples starting at src index base to dn
// samples, the way cv::resize INTER_LINEAR sets up its tables (imgproc/resize.cpp): scale =
// 1/(dn/sn) in double; f = float((d+0.5)*scale - 0.5); s = floor(f); f -= s; weights
// saturate_cast<short>((1-f)*2048) and (f*2048), each rounded on its own (so they may sum to
// 2047 or 2049, as OpenCV's do). OpenCV clamps only the horizontal table (s < 0 or s >= sn-1
// gives f = 0); the vertical one keeps s = -1 and its fraction, and the row fetch clips both
// rows into the source, so the first and last rows are weighted (1-f)+f split in two: that
// rounds differently in the vertical pass, and must be copied to get OpenCV's bytes when a crop
// is enlarged.
func linearTaps(ofs []int32, w []int16, base, sn, dn int, clamp bool) {
	inv := float64(dn) / float64(sn)
	scale := 1 / inv
	for d := 0; d < dn; d++ {
		f := float32((float64(d)+0.5)*scale - 0.5)
		s := int(math.Floor(float64(f)))
		f -= float32(s)
		if clamp && s < 0 {
			s, f = 0, 0
		}
		if clamp && s >= sn-1 {
			s, f = sn-1, 0
		}
		ofs[d] = int32(base + s)
		w[2*d] = int16(math.RoundToEven(float64((1 - f) * coefOne)))
		w[2*d+1] = int16(math.RoundToEven(float64(f * coefOne)))
	}
}

// fill is Planar's arithmetic, for a checked r inside img and len(dst) == 3·dw·dh.
func (c *Resizer) fill(dst []float32, img *Image, r Rect, dw, dh int, in models.Input) {
	c.xofs, c.alpha = grow(c.xofs, dw), grow(c.alpha, 2*dw)
	c.yofs, c.beta = grow(c.yofs, dh), grow(c.beta, 2*dh)
	c.row0, c.row1 = grow(c.row0, 3*dw), grow(c.row1, 3*dw)
	linearTaps(c.xofs, c.alpha, r.X1, r.W(), dw, true)
	linearTaps(c.yofs, c.beta, r.Y1, r.H(), dh, false)

	var mul, add [3]float32 // value = pixel*mul + add, per source channel R, G, B
	for ch := 0; ch < 3; ch++ {
		mc := ch // the manifest's channel index, in the model's order
		if in.Color == "bgr" {
			mc = 2 - ch
		}
		mul[ch] = in.Scale / in.Std[mc]
		add[ch] = -in.Mean[mc] / in.Std[mc]
	}
	n := dw * dh
	pr, pg, pb := dst[:n], dst[n:2*n], dst[2*n:3*n]
	if in.Color == "bgr" {
		pr, pb = pb, pr
	}

	stride := 3 * img.W
	prevY := math.MinInt
	for dy := 0; dy < dh; dy++ {
		sy := int(c.yofs[dy])
		if sy != prevY { // rows repeat when enlarging; the horizontal pass is then reused
			// clip both rows into the crop, as resizeGeneric_ does
			y0, y1 := min(max(sy, r.Y1), r.Y2), min(max(sy+1, r.Y1), r.Y2)
			c.hpass(img.Pix[stride*y0:stride*(y0+1)], img.Pix[stride*y1:stride*(y1+1)], dw, r.X2)
			prevY = sy
		}
		b0, b1 := int32(c.beta[2*dy]), int32(c.beta[2*dy+1])
		o := dy * dw
		r0, r1 := c.row0[:3*dw], c.row1[:3*dw]
		for dx := 0; dx < dw; dx++ {
			p0 := r0[3*dx : 3*dx+3 : 3*dx+3]
			p1 := r1[3*dx : 3*dx+3 : 3*dx+3]
			pr[o+dx] = float32(vmix(p0[0], p1[0], b0, b1))*mul[0] + add[0]
			pg[o+dx] = float32(vmix(p0[1], p1[1], b0, b1))*mul[1] + add[1]
			pb[o+dx] = float32(vmix(p0[2], p1[2], b0, b1))*mul[2] + add[2]
		}
	}
}

// hpass is OpenCV's HResizeLinear for 8-bit RGB, on two source rows at once (a big shrink reads
// scattered pixels, bound by memory latency: both rows' loads then overlap): two taps per output,
// integer weights, no rounding (the values keep a factor of 2048). Columns past the crop's right
// edge are never read: linearTaps clamps the last column to weight (2048, 0).
func (c *Resizer) hpass(row0, row1 []uint8, dw, lastCol int) {
	d0, d1 := c.row0[:3*dw], c.row1[:3*dw]
	for dx := 0; dx < dw; dx++ {
		sx := int(c.xofs[dx])
		a0, a1 := int32(c.alpha[2*dx]), int32(c.alpha[2*dx+1])
		sx1 := min(sx+1, lastCol)
		p, q := row0[3*sx:3*sx+3:3*sx+3], row0[3*sx1:3*sx1+3:3*sx1+3]
		u, v := row1[3*sx:3*sx+3:3*sx+3], row1[3*sx1:3*sx1+3:3*sx1+3]
		e, f := d0[3*dx:3*dx+3:3*dx+3], d1[3*dx:3*dx+3:3*dx+3]
		e[0] = int32(p[0])*a0 + int32(q[0])*a1
		e[1] = int32(p[1])*a0 + int32(q[1])*a1
		e[2] = int32(p[2])*a0 + int32(q[2])*a1
		f[0] = int32(u[0])*a0 + int32(v[0])*a1
		f[1] = int32(u[1])*a0 + int32(v[1])*a1
		f[2] = int32(u[2])*a0 + int32(v[2])*a1
	}
}

// vmix is the vertical pass as OpenCV's x86 SIMD VResizeLinearVec_32s8u computes it (every
// output byte of an 80-pixel RGB row goes through it): each row sum shifted right by 4, a 16×16
// high multiply by its weight, the two added, then rounded by 2 bits and saturated to 0–255.
// (The scalar formula, (s0*b0 + s1*b1 + 2^21) >> 22, differs from it by one level now and then.)
func vmix(s0, s1, b0, b1 int32) int32 {
	v := ((s0>>4)*b0)>>16 + ((s1>>4)*b1)>>16
	return min(max((v+2)>>2, 0), 255)
}

// grow returns b resliced to n, reallocating only when its capacity is short.
func grow[T any](b []T, n int) []T {
	if cap(b) < n {
		return make([]T, n)
	}
	return b[:n]
}

// Resize writes r of img, resized to dst.W×dst.H, into dst.Pix as packed RGB (reallocated only
// when shorter than 3·W·H bytes). Unlike Planar's, r may run past the image (it must be non-empty
// and overlap it): pixels outside it repeat the nearest edge pixel (cv::BORDER_REPLICATE), so a
// crop keeps its shape and centre at a border. img is only read.
func (z *Resizer) Resize(dst, img *Image, r Rect) error {
	if err := img.Check(); err != nil {
		return err
	}
	switch {
	case dst == nil || dst.W <= 0 || dst.H <= 0 || dst.W > 4096 || dst.H > 4096:
		return errors.New("prep: resize to an empty or oversized image")
	case r.X2 < r.X1 || r.Y2 < r.Y1:
		return fmt.Errorf("prep: empty rectangle %v", r)
	case r.X2 < 0 || r.Y2 < 0 || r.X1 >= img.W || r.Y1 >= img.H:
		return fmt.Errorf("prep: rectangle %v outside the %dx%d image", r, img.W, img.H)
	}
	dst.Pix = grow(dst.Pix, 3*dst.W*dst.H)
	z.resize(dst.Pix, img, r, dst.W, dst.H)
	return nil
}

// resize is fill's arithmetic writing bytes, for a rectangle that may run past the image. For
// one inside the image both give the same values (before fill's normalisation). Outside it, both taps of an output column or
// row are clamped to the edge pixel (a rectangle over a replicate-padded copy of img would read
// exactly those pixels, with the same weights).
func (c *Resizer) resize(dst []uint8, img *Image, r Rect, dw, dh int) {
	c.xofs, c.alpha = grow(c.xofs, dw), grow(c.alpha, 2*dw)
	c.yofs, c.beta = grow(c.yofs, dh), grow(c.beta, 2*dh)
	c.row0, c.row1 = grow(c.row0, 3*dw), grow(c.row1, 3*dw)
	linearTaps(c.xofs, c.alpha, r.X1, r.W(), dw, true)
	linearTaps(c.yofs, c.beta, r.Y1, r.H(), dh, false)
	// hpass reads columns sx and min(sx+1, lastCol). Left of the image both taps are column 0:
	// one weight holds them both. Right of it, lastCol = W-1 already folds the second tap.
	lastCol := min(r.X2, img.W-1)
	for d := 0; d < dw; d++ {
		if c.xofs[d] < 0 {
			c.xofs[d] = 0
			c.alpha[2*d] += c.alpha[2*d+1]
			c.alpha[2*d+1] = 0
		} else if int(c.xofs[d]) > img.W-1 {
			c.xofs[d] = int32(img.W - 1)
		}
	}
	stride := 3 * img.W
	prevY := math.MinInt
	for dy := 0; dy < dh; dy++ {
		sy := int(c.yofs[dy])
		if sy != prevY {
			// clip both rows into the rectangle, as fill does, then into the image
			y0 := min(max(min(max(sy, r.Y1), r.Y2), 0), img.H-1)
			y1 := min(max(min(max(sy+1, r.Y1), r.Y2), 0), img.H-1)
			c.hpass(img.Pix[stride*y0:stride*(y0+1)], img.Pix[stride*y1:stride*(y1+1)], dw, lastCol)
			prevY = sy
		}
		b0, b1 := int32(c.beta[2*dy]), int32(c.beta[2*dy+1])
		out := dst[3*dy*dw : 3*(dy+1)*dw]
		r0, r1 := c.row0[:len(out)], c.row1[:len(out)]
		for i := range out {
			out[i] = uint8(vmix(r0[i], r1[i], b0, b1))
		}
	}
}
