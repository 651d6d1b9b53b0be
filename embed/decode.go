package embed

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"strings"

	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"
	"golang.org/x/image/webp"

	"vigil/embed/turbojpeg"
)

// Image is a decoded photo as every later stage (detector resize, alignment warp, liveness crops)
// reads it: packed 8-bit RGB, row-major, no padding, len(Pix) == 3*W*H, already turned upright
// by its EXIF orientation. The caller that receives an Image owns it. It has no locking: any
// number of goroutines may read it, but not while one of them mutates it.
type Image struct {
	W, H int
	Pix  []uint8
}

// Limits bounds what Decode and DecodeString accept. A zero field means the DefaultLimits value,
// so a zero Limits is never "unlimited". It is a plain value, safe to copy and share.
type Limits struct {
	MaxBytes  int // encoded image size in bytes (after base64 decoding)
	MaxPixels int // W*H as stored in the file's header
}

// DefaultLimits returns 5 MiB and 40 megapixels, a fresh value the caller owns.
//
// 5 MiB holds a 12–24 MP phone JPEG; a face needs far less, the detector works on a ~640 px
// resize. The pixel cap is what bounds memory, since a small file can declare a huge image; it
// admits phone photos (12–24 MP; 48 MP sensors usually bin down) and most DSLRs. A JPEG that
// libjpeg-turbo decodes takes 3 B/pixel of Go heap (6 with an EXIF rotation: 240 MB at the cap),
// plus C memory: a few rows for a baseline file, the whole DCT coefficients for a progressive one
// (2 B per sample, 6 B/pixel at 4:4:4). Through image/jpeg (other formats, CMYK, files
// libjpeg-turbo refused) peak heap is about 4.5 B/pixel for a baseline 4:2:0 JPEG (7.5 with an
// EXIF rotation) and up to ~20 B/pixel for a progressive 4:4:4 one, whose DCT coefficients
// image/jpeg keeps whole (800 MB at the cap), plus the 3 B/pixel a refused libjpeg-turbo attempt
// left for the collector. Callers should bound how many decodes run at once.
func DefaultLimits() Limits { return Limits{MaxBytes: 5 << 20, MaxPixels: 40_000_000} }

// maxSide caps either dimension whatever MaxPixels says: it keeps W*H far from overflowing int
// even on 32-bit platforms, and no face photo is a 1×40M-pixel strip.
const maxSide = 1 << 15

func (l Limits) orDefault() Limits {
	d := DefaultLimits()
	if l.MaxBytes <= 0 {
		l.MaxBytes = d.MaxBytes
	}
	if l.MaxPixels <= 0 {
		l.MaxPixels = d.MaxPixels
	}
	return l
}

// Sentinel errors. Every error from Decode and DecodeString wraps exactly one of them (test with
// errors.Is); the text after it is context for logs, not for matching. They are immutable and safe
// for concurrent use.
//
// There is no separate "not an image" error: sniffing magic bytes cannot tell text or random bytes
// from an image format we do not know (HEIC, AVIF, JPEG XL), and the client's remedy is the same
// (send JPEG, PNG, WebP, TIFF or BMP), so both are ErrUnsupportedFormat.
var (
	// ErrEmpty: no bytes, or a string of only whitespace (HTTP 400).
	ErrEmpty = errors.New("empty image")
	// ErrTooLarge: the encoded image is over Limits.MaxBytes (HTTP 413).
	ErrTooLarge = errors.New("image too large")
	// ErrTooManyPixels: the header declares more than Limits.MaxPixels pixels or a side over
	// 32768, a decompression bomb or just too big; rejected before any pixel memory is
	// allocated (HTTP 413).
	ErrTooManyPixels = errors.New("image has too many pixels")
	// ErrBadBase64: DecodeString input is not valid base64, or is a data URI that is not
	// base64-encoded (HTTP 400).
	ErrBadBase64 = errors.New("invalid base64 image")
	// ErrUnsupportedFormat: the bytes are not JPEG, PNG, WebP, TIFF or BMP (GIF, HEIC, text,
	// random bytes), or use a feature of one of them that the decoder lacks (arithmetic-coded
	// or 12-bit JPEG, animated WebP, compressed BMP), or a JPEG of over 500 scans (HTTP 400,
	// or 415).
	ErrUnsupportedFormat = errors.New("unsupported image format")
	// ErrCorrupt: a supported format whose data is truncated or damaged (HTTP 400).
	ErrCorrupt = errors.New("corrupt image")
)

// format is one accepted container. config and decode are the package-level functions of its
// decoder, called directly rather than through image.Decode so that whatever else the binary
// registers (e.g. image/gif) cannot widen what we accept.
type format struct {
	name   string
	config func(io.Reader) (image.Config, error)
	decode func(io.Reader) (image.Image, error)
	orient func([]byte) int // EXIF orientation, 1–8; nil: format carries none we read
}

var (
	fmtJPEG = &format{"jpeg", jpeg.DecodeConfig, jpeg.Decode, jpegOrientation}
	fmtPNG  = &format{"png", png.DecodeConfig, png.Decode, nil}
	fmtWebP = &format{"webp", webp.DecodeConfig, webp.Decode, webpOrientation}
	fmtTIFF = &format{"tiff", tiff.DecodeConfig, tiff.Decode, tiffOrientation}
	fmtBMP  = &format{"bmp", bmp.DecodeConfig, bmp.Decode, nil}
)

// sniff picks the decoder from magic bytes; the declared content type is never trusted.
func sniff(b []byte) (*format, error) {
	has := func(off int, magic string) bool {
		return len(b) >= off+len(magic) && string(b[off:off+len(magic)]) == magic
	}
	switch {
	case has(0, "\xff\xd8\xff"):
		return fmtJPEG, nil
	case has(0, "\x89PNG\r\n\x1a\n"):
		return fmtPNG, nil
	case has(0, "RIFF") && has(8, "WEBP"):
		// x/image/webp decodes only the first frame's bitstream and fails on ANIM/ANMF
		// chunks, so name the real problem rather than report corruption.
		if has(12, "VP8X") && len(b) > 20 && b[20]&0x02 != 0 {
			return nil, fmt.Errorf("%w: animated webp", ErrUnsupportedFormat)
		}
		return fmtWebP, nil
	case has(0, "II*\x00"), has(0, "MM\x00*"):
		return fmtTIFF, nil
	case has(0, "BM") && has(6, "\x00\x00\x00\x00"): // reserved header bytes, as image/bmp registers
		return fmtBMP, nil
	}
	name := "unrecognised data"
	switch {
	case has(0, "GIF87a"), has(0, "GIF89a"):
		name = "gif"
	case has(4, "ftypheic"), has(4, "ftypheix"), has(4, "ftypmif1"), has(4, "ftypmsf1"):
		name = "heic"
	case has(4, "ftypavif"), has(4, "ftypavis"):
		name = "avif"
	case has(0, "\xff\x0a"), has(0, "\x00\x00\x00\x0cJXL "):
		name = "jpeg xl"
	case has(0, "%PDF-"):
		name = "pdf"
	}
	return nil, fmt.Errorf("%w: %s", ErrUnsupportedFormat, name)
}

// classify maps a decoder error to our sentinels: the decoders' own "unsupported feature" types
// become ErrUnsupportedFormat, everything else (FormatError, io.ErrUnexpectedEOF from truncation,
// jpeg's "short Huffman data", webp's plain errors.New) is ErrCorrupt. The original stays wrapped.
func (f *format) classify(err error) error {
	var ju jpeg.UnsupportedError
	var pu png.UnsupportedError
	var tu tiff.UnsupportedError
	if errors.As(err, &ju) || errors.As(err, &pu) || errors.As(err, &tu) || errors.Is(err, bmp.ErrUnsupported) {
		return fmt.Errorf("%w: %s: %w", ErrUnsupportedFormat, f.name, err)
	}
	return fmt.Errorf("%w: %s: %w", ErrCorrupt, f.name, err)
}

// guard runs a third-party decoder step and turns a panic into ErrCorrupt. x/image decoders have
// shipped panics on crafted input before, and a panic in a request goroutine would take the whole
// server down. Only the decoders run under it, so the fuzz tests still see panics of our own code.
func guard[T any](f *format, step func(io.Reader) (T, error), data []byte) (v T, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %s: decoder panic: %v", ErrCorrupt, f.name, r)
		}
	}()
	if v, err = step(bytes.NewReader(data)); err != nil {
		err = f.classify(err)
	}
	return v, err
}

// Decode decodes a JPEG, PNG, WebP, TIFF or BMP image into upright RGB. Cheap checks come first:
// byte size, magic bytes, then the header's dimensions and a JPEG's scan count, so an oversized
// or bomb image is refused before the pixel buffers are allocated. JPEGs are decoded with
// libjpeg-turbo where it can (see decodeTurbo), else with image/jpeg like the other formats.
// Safe for concurrent use; data is only read.
func Decode(data []byte, lim Limits) (*Image, error) {
	return decode(data, lim, turbojpeg.Available)
}

// decode is Decode, with libjpeg-turbo for JPEG only if turbo: the tests and benchmarks compare
// both ways.
func decode(data []byte, lim Limits, turbo bool) (*Image, error) {
	lim = lim.orDefault()
	if len(data) == 0 {
		return nil, ErrEmpty
	}
	if len(data) > lim.MaxBytes {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(data), lim.MaxBytes)
	}
	f, err := sniff(data)
	if err != nil {
		return nil, err
	}
	cfg, err := guard(f, f.config, data)
	if err != nil {
		return nil, err
	}
	w, h := cfg.Width, cfg.Height
	if w <= 0 || h <= 0 {
		return nil, fmt.Errorf("%w: %s: %dx%d image", ErrCorrupt, f.name, w, h)
	}
	if w > maxSide || h > maxSide || w*h > lim.MaxPixels {
		return nil, fmt.Errorf("%w: %s: %dx%d, limit %d pixels and %d per side", ErrTooManyPixels, f.name, w, h, lim.MaxPixels, maxSide)
	}
	if f == fmtJPEG {
		if jpegScans(data, maxScans) > maxScans {
			return nil, fmt.Errorf("%w: jpeg: more than %d scans", ErrUnsupportedFormat, maxScans)
		}
		if turbo && cfg.ColorModel != color.CMYKModel {
			if img := decodeTurbo(data, w, h); img != nil {
				return orient(img, jpegOrientation(data)), nil
			}
		}
	}
	m, err := guard(f, f.decode, data)
	if err != nil {
		return nil, err
	}
	// The decoders size their buffers from the same header DecodeConfig read; this only keeps
	// the promise above honest should one ever disagree.
	if b := m.Bounds(); b.Dx() != w || b.Dy() != h {
		return nil, fmt.Errorf("%w: %s: decoded %dx%d, header says %dx%d", ErrCorrupt, f.name, b.Dx(), b.Dy(), w, h)
	}
	img := toRGB(m, f == fmtWebP) // only lossy WebP yields YCbCr there, see fromYCbCr
	if f.orient != nil {
		img = orient(img, f.orient(data))
	}
	return img, nil
}

// maxScans is libjpeg-turbo's TJFLAG_LIMITSCANS bound. Each scan costs a pass over the whole
// image, so scans are a CPU bomb that the pixel limit does not catch: a 100 KB progressive
// 4096x4096 gray JPEG of 2,000 empty AC scans kept image/jpeg busy for 24 s on the 2-core dev
// machine (libjpeg-turbo stops it at scan 501 after 1 s). Real files have about 10 (libjpeg's
// default progressive script) and a baseline JPEG one per component at most.
const maxScans = 500

// jpegScans counts a JPEG's SOS markers, stopping once past limit. It follows marker segments by
// their lengths, as the decoders do (an EXIF thumbnail's own scans stay inside its APP1), and
// skips entropy-coded data and stray bytes up to the next marker: image/jpeg ignores stray bytes
// between segments too, so stopping there could under-count what it decodes.
func jpegScans(b []byte, limit int) int {
	n := 0
	for i := 2; n <= limit; { // past SOI
		j := bytes.IndexByte(b[min(i, len(b)):], 0xff)
		if j < 0 {
			return n
		}
		i += j + 1
		for i < len(b) && b[i] == 0xff { // fill bytes
			i++
		}
		if i >= len(b) {
			return n
		}
		switch m := b[i]; {
		case m == 0x00 || m == 0x01 || m >= 0xd0 && m <= 0xd8: // stuffed 0xff, TEM, RSTn, SOI: no length
			i++
		case m == 0xd9: // EOI
			return n
		default:
			if i+2 >= len(b) {
				return n
			}
			if m == 0xda {
				n++
			}
			i += 1 + (int(b[i+1])<<8 | int(b[i+2])) // the length counts its own two bytes
		}
	}
	return n
}

// decodeTurbo decodes a JPEG with libjpeg-turbo (4-6x faster than image/jpeg) straight into the
// Image, whose size Decode has already checked against the limits. It returns nil whenever
// libjpeg-turbo cannot give exactly that image: a CMYK/YCCK file, a size that disagrees with
// image/jpeg's header read, or any error or warning from libjpeg (truncated or damaged data).
// Decode then runs image/jpeg, so broken files get the errors they always got, bar two kinds
// that libjpeg-turbo decodes and image/jpeg calls corrupt (FuzzDecodeTurbo): a file without
// Huffman tables (a Motion-JPEG frame; libjpeg supplies the standard ones) and some damaged
// entropy-coded data, which its fast Huffman decoder reads through without a warning.
//
// The pixels differ slightly from image/jpeg's: libjpeg upsamples subsampled chroma smoothly
// ("fancy" upsampling) where image/jpeg replicates it, and rounds its colour conversion its own
// way (see TestDecodeTurboMatchesStdlib for the figures).
func decodeTurbo(data []byte, w, h int) *Image {
	img := &Image{W: w, H: h, Pix: make([]uint8, 3*w*h)}
	tw, th, err := turbojpeg.DecodeRGB(data, img.Pix)
	if err != nil || tw != w || th != h {
		return nil
	}
	return img
}

// DecodeString decodes an image sent as text: base64 (standard or URL-safe alphabet, padded or
// not, with any embedded whitespace such as MIME line breaks) or a data URI
// ("data:image/jpeg;base64,..."). A data URI's media type is ignored, the bytes are sniffed as in
// Decode. The size limit is checked on the base64 length before anything is decoded. Safe for
// concurrent use.
func DecodeString(s string, lim Limits) (*Image, error) {
	lim = lim.orDefault()
	s = strings.TrimSpace(s)
	if len(s) >= 5 && strings.EqualFold(s[:5], "data:") {
		meta, payload, ok := strings.Cut(s[5:], ",")
		if !ok {
			return nil, fmt.Errorf("%w: data uri has no comma", ErrBadBase64)
		}
		params := strings.Split(meta, ";")
		if !strings.EqualFold(strings.TrimSpace(params[len(params)-1]), "base64") {
			return nil, fmt.Errorf("%w: data uri is not base64-encoded (no ;base64)", ErrBadBase64)
		}
		s = payload
	}
	// Count the base64 symbols first: the size check must not cost a copy of a huge input.
	n, pad := 0, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case isSpace(c):
		case c == '=':
			pad++
		case pad > 0:
			return nil, fmt.Errorf("%w: data after '=' padding at byte %d", ErrBadBase64, i)
		default:
			n++
		}
	}
	if n == 0 && pad == 0 {
		return nil, ErrEmpty
	}
	if size := n/4*3 + n%4*3/4; size > lim.MaxBytes { // n*3/4 without overflow
		return nil, fmt.Errorf("%w: %d bytes once decoded, limit %d", ErrTooLarge, size, lim.MaxBytes)
	}
	if pad > 2 {
		return nil, fmt.Errorf("%w: %d padding characters", ErrBadBase64, pad)
	}
	sym := make([]byte, 0, n)
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isSpace(c) && c != '=' {
			sym = append(sym, c)
		}
	}
	enc := base64.RawStdEncoding
	if bytes.ContainsAny(sym, "-_") {
		enc = base64.RawURLEncoding
	}
	data := make([]byte, enc.DecodedLen(len(sym)))
	k, err := enc.Decode(data, sym)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadBase64, err)
	}
	return Decode(data[:k], lim)
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'
}

// toRGB converts any decoded image to packed RGB. The common decoder outputs get loops over their
// Pix slices: going through m.At costs an interface call and an allocation per pixel.
//
// Alpha is dropped and the stored colour kept, as OpenCV's imread(IMREAD_COLOR) does (no
// compositing onto a background): PNG and WebP give straight (non-premultiplied) colour, so a
// half-transparent pixel keeps its full colour. Only TIFF with associated alpha stores
// premultiplied colour, and that is what its pixels then hold. 16-bit samples keep their high
// byte, as Go's colour models and libpng's strip_16 do. limited: see fromYCbCr.
func toRGB(m image.Image, limited bool) *Image {
	if a, ok := m.(*image.NYCbCrA); ok {
		m = &a.YCbCr // WebP alpha is straight: the colour planes are the colour
	}
	b := m.Bounds()
	img := &Image{W: b.Dx(), H: b.Dy(), Pix: make([]uint8, 3*b.Dx()*b.Dy())}
	switch m := m.(type) {
	case *image.YCbCr:
		if fromYCbCr(img.Pix, m, limited) {
			return img
		}
	case *image.Gray:
		fromPacked(img, m.Pix, m.Stride, 1, 0, 0, 0)
		return img
	case *image.RGBA:
		fromPacked(img, m.Pix, m.Stride, 4, 0, 1, 2)
		return img
	case *image.NRGBA:
		fromPacked(img, m.Pix, m.Stride, 4, 0, 1, 2)
		return img
	case *image.Gray16:
		fromPacked(img, m.Pix, m.Stride, 2, 0, 0, 0)
		return img
	case *image.RGBA64:
		fromPacked(img, m.Pix, m.Stride, 8, 0, 2, 4)
		return img
	case *image.NRGBA64:
		fromPacked(img, m.Pix, m.Stride, 8, 0, 2, 4)
		return img
	case *image.Paletted:
		fromPaletted(img, m)
		return img
	}
	// Everything else (JPEG CMYK, whose Adobe inversion image/jpeg has already undone) is opaque,
	// so the premultiplied RGBA() is the colour; for CMYK it equals color.CMYKToRGB.
	d := img.Pix
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bb, _ := m.At(x, y).RGBA()
			d[0], d[1], d[2] = uint8(r>>8), uint8(g>>8), uint8(bb>>8)
			d = d[3:]
		}
	}
	return img
}

// fromPacked copies the channels at byte offsets o0, o1, o2 of each bpp-byte pixel. Every Pix-based
// image type starts at Pix[0] for Rect.Min, so rows are plain stride steps.
func fromPacked(img *Image, pix []uint8, stride, bpp, o0, o1, o2 int) {
	w := img.W
	for y := 0; y < img.H; y++ {
		src := pix[y*stride : y*stride+w*bpp]
		dst := img.Pix[3*w*y : 3*w*(y+1)]
		if bpp == 4 { // RGBA/NRGBA: the PNG and BMP hot case, kept free of offset arithmetic
			for i := 0; i < w; i++ {
				s, d := src[4*i:4*i+3:4*i+3], dst[3*i:3*i+3:3*i+3]
				d[0], d[1], d[2] = s[0], s[1], s[2]
			}
			continue
		}
		for i := 0; i < w; i++ {
			s, d := src[bpp*i:bpp*i+bpp], dst[3*i:3*i+3:3*i+3]
			d[0], d[1], d[2] = s[o0], s[o1], s[o2]
		}
	}
}

// fromYCbCr converts JPEG's full-range Y'CbCr with color.YCbCrToRGB's exact integer formula
// (inlined below), so the result matches the stdlib (image/draw, YCbCr.At) bit for bit.
//
// limited selects BT.601 video range (Y 16–235) with libwebp's integer formulas (dsp/yuv.h
// VP8YUVToR etc.): lossy WebP (VP8) is coded that way, but x/image/webp hands the planes back as
// a plain image.YCbCr, which means full range, so the stdlib conversion would show them washed
// out (golang/go#40173, open). libwebp's "fancy" chroma upsampling is not reproduced: chroma is
// replicated as for JPEG, a difference of a level or two at colour edges only. Chroma is indexed
// with shifts, which equal COffset's divisions only for non-negative coordinates; it reports
// false for the others (never produced by a decoder) so the caller falls back.
func fromYCbCr(dst []uint8, m *image.YCbCr, limited bool) bool {
	var sx, sy uint
	switch m.SubsampleRatio {
	case image.YCbCrSubsampleRatio444:
	case image.YCbCrSubsampleRatio422:
		sx = 1
	case image.YCbCrSubsampleRatio420:
		sx, sy = 1, 1
	case image.YCbCrSubsampleRatio440:
		sy = 1
	case image.YCbCrSubsampleRatio411:
		sx = 2
	case image.YCbCrSubsampleRatio410:
		sx, sy = 2, 1
	default:
		return false
	}
	r := m.Rect
	if r.Min.X < 0 || r.Min.Y < 0 {
		return false
	}
	if r.Empty() {
		return true
	}
	w := r.Dx()
	cw := (r.Max.X-1)>>sx - r.Min.X>>sx + 1 // chroma samples a row spans
	for y := r.Min.Y; y < r.Max.Y; y++ {
		ys := m.Y[(y-r.Min.Y)*m.YStride:][:w]
		ci := (y>>sy - r.Min.Y>>sy) * m.CStride
		cbs, crs := m.Cb[ci:][:cw], m.Cr[ci:][:cw]
		d := dst[(y-r.Min.Y)*3*w:][: 3*w : 3*w]
		if limited {
			for i, yv := range ys {
				j := (r.Min.X+i)>>sx - r.Min.X>>sx
				yy := int32(yv) * 19077 >> 8
				cb, cr := int32(cbs[j]), int32(crs[j])
				p := d[3*i : 3*i+3 : 3*i+3]
				p[0] = clip6(yy + cr*26149>>8 - 14234)
				p[1] = clip6(yy - cb*6419>>8 - cr*13320>>8 + 8708)
				p[2] = clip6(yy + cb*33050>>8 - 17685)
			}
			continue
		}
		for i, yv := range ys {
			j := (r.Min.X+i)>>sx - r.Min.X>>sx
			yy := int32(yv) * 0x10101
			cb, cr := int32(cbs[j])-128, int32(crs[j])-128
			p := d[3*i : 3*i+3 : 3*i+3]
			p[0] = clip16(yy + 91881*cr)
			p[1] = clip16(yy - 22554*cb - 46802*cr)
			p[2] = clip16(yy + 116130*cb)
		}
	}
	return true
}

// clip16 is color.YCbCrToRGB's branch-light clamp of a 16.16 fixed-point value to a byte.
func clip16(v int32) uint8 {
	if uint32(v)&0xff000000 == 0 {
		return uint8(v >> 16)
	}
	return uint8(^(v >> 31))
}

// clip6 is libwebp's VP8Clip8: a value with 6 fraction bits clamped to a byte.
func clip6(v int32) uint8 {
	if v&^(256<<6-1) == 0 {
		return uint8(v >> 6)
	}
	if v < 0 {
		return 0
	}
	return 255
}

func fromPaletted(img *Image, m *image.Paletted) {
	// PNG palettes with transparency hold color.NRGBA: NRGBAModel passes those through
	// unchanged (straight colour, see toRGB); opaque entries convert exactly. Indices past the
	// palette, which the decoders reject anyway, stay black.
	var lut [256][3]uint8
	for i, c := range m.Palette {
		if i < len(lut) && c != nil {
			n := color.NRGBAModel.Convert(c).(color.NRGBA)
			lut[i] = [3]uint8{n.R, n.G, n.B}
		}
	}
	w := img.W
	for y := 0; y < img.H; y++ {
		src := m.Pix[y*m.Stride:][:w]
		dst := img.Pix[3*w*y:][: 3*w : 3*w]
		for i, v := range src {
			c := &lut[v]
			p := dst[3*i : 3*i+3 : 3*i+3]
			p[0], p[1], p[2] = c[0], c[1], c[2]
		}
	}
}
