package embed

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/color/palette"
	"image/draw"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"math"
	"math/rand/v2"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"

	"vigil/models/modeltest"
)

// Real photos are read in place from the shared faces directory, never copied into the repo.
const (
	powell = "Colin_Powell/Colin_Powell_0153.jpg"
	arnold = "Arnold_Schwarzenegger/Arnold_Schwarzenegger_0011.jpg"
)

var sentinels = []error{ErrEmpty, ErrTooLarge, ErrTooManyPixels, ErrBadBase64, ErrUnsupportedFormat, ErrCorrupt}

func mustDecode(t testing.TB, data []byte) *Image {
	t.Helper()
	img, err := Decode(data, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	checkImage(t, img, DefaultLimits())
	return img
}

// checkImage asserts the invariants every successful decode promises.
func checkImage(t testing.TB, img *Image, lim Limits) {
	t.Helper()
	if img == nil || img.W <= 0 || img.H <= 0 || len(img.Pix) != 3*img.W*img.H || img.W*img.H > lim.MaxPixels {
		t.Fatalf("bad image: %s", describe(img))
	}
}

func describe(img *Image) string {
	if img == nil {
		return "<nil>"
	}
	return fmt.Sprintf("%dx%d with %d bytes", img.W, img.H, len(img.Pix))
}

// diff returns the mean and max absolute per-channel difference; +Inf if the sizes differ.
func diff(a, b *Image) (mean float64, maxAbs int) {
	if a.W != b.W || a.H != b.H {
		return math.Inf(1), 256
	}
	s := 0
	for i := range a.Pix {
		d := int(a.Pix[i]) - int(b.Pix[i])
		d = max(d, -d)
		s += d
		maxAbs = max(maxAbs, d)
	}
	return float64(s) / float64(len(a.Pix)), maxAbs
}

// luma is the gray an encoder derives from RGB (JFIF Y'), for comparing a gray JPEG with its source.
func luma(img *Image) *Image {
	out := &Image{W: img.W, H: img.H, Pix: make([]uint8, len(img.Pix))}
	for i := 0; i < len(img.Pix); i += 3 {
		y, _, _ := color.RGBToYCbCr(img.Pix[i], img.Pix[i+1], img.Pix[i+2])
		out.Pix[i], out.Pix[i+1], out.Pix[i+2] = y, y, y
	}
	return out
}

// toNRGBA wraps an Image as an opaque image.Image for the encoders.
func toNRGBA(img *Image) *image.NRGBA {
	m := image.NewNRGBA(image.Rect(0, 0, img.W, img.H))
	for i := 0; i < img.W*img.H; i++ {
		copy(m.Pix[4*i:], img.Pix[3*i:3*i+3])
		m.Pix[4*i+3] = 255
	}
	return m
}

func TestDecodeRealPhotos(t *testing.T) {
	ids := map[string]string{"Colin_Powell_0153": powell, "Arnold_Schwarzenegger_0011": arnold}
	for id, src := range ids {
		ref := mustDecode(t, modeltest.ReadFace(t, src))
		pngRef := mustDecode(t, modeltest.ReadFace(t, "_special/derived/"+id+"__png.png"))
		for _, tc := range []struct {
			sfx    string
			ref    *Image
			orient int     // orientation applied to ref before comparing
			mean   float64 // bound on the mean abs difference
		}{
			// PNG was decoded by libjpeg (fancy chroma upsampling), we decode with image/jpeg.
			{"__png.png", ref, 1, 1},
			{"__rgba.png", pngRef, 1, 0},
			{"__webp.webp", pngRef, 1, 2.5}, // lossy; ~11 without the video-range fix
			{"__cmyk.jpg", ref, 1, 1.5},     // Adobe-inverted CMYK; a missed inversion is ~128
			{"__exif6.jpg", ref, 1, 2},      // rotated pixels + Orientation=6 must come out upright
			{"__rot90cw.jpg", ref, 6, 2},    // files rotated by a third-party tool pin orient()
			{"__rot90ccw.jpg", ref, 8, 2},
			{"__rot180.jpg", ref, 3, 2},
			{"__mirror.jpg", ref, 2, 2},
			{"__gray.jpg", luma(ref), 1, 2},
		} {
			t.Run(id+tc.sfx, func(t *testing.T) {
				t.Parallel()
				got := mustDecode(t, modeltest.ReadFace(t, "_special/derived/"+id+tc.sfx))
				mean, mx := diff(got, orient(tc.ref, tc.orient))
				if mean > tc.mean {
					t.Errorf("mean abs diff %.2f (max %d), want <= %.2f", mean, mx, tc.mean)
				}
				t.Logf("mean abs diff %.2f, max %d", mean, mx)
			})
		}
	}

	for _, tc := range []struct {
		rel    string
		w, h   int
		orient int
		gray   bool
	}{
		{"_special/format/32bit_rgba.png", 626, 1200, 1, false},
		{"_special/no_face/brick.png", 512, 512, 1, true},
		{"_spoof/live/image_T1.jpg", 480, 640, 6, false},               // stored 640x480
		{"_spoof/live/image_T1_v2020-06-28.jpg", 1560, 2166, 8, false}, // stored 2166x1560
		{"_special/resolution/obama-1080p.jpg", 1920, 1080, 1, false},  // 4:4:4
	} {
		t.Run(filepath.Base(tc.rel), func(t *testing.T) {
			t.Parallel()
			data := modeltest.ReadFace(t, tc.rel)
			img := mustDecode(t, data)
			if img.W != tc.w || img.H != tc.h {
				t.Fatalf("decoded %dx%d, want %dx%d", img.W, img.H, tc.w, tc.h)
			}
			if o := jpegOrientation(data); strings.HasSuffix(tc.rel, ".jpg") && o != tc.orient {
				t.Errorf("orientation %d, want %d", o, tc.orient)
			}
			if tc.gray {
				for i := 0; i < len(img.Pix); i += 3 {
					if img.Pix[i] != img.Pix[i+1] || img.Pix[i] != img.Pix[i+2] {
						t.Fatalf("gray source gave colour at pixel %d", i/3)
					}
				}
			}
		})
	}

	// A PNG with an alpha channel: RGB must be the file's stored colour, byte for byte.
	data := modeltest.ReadFace(t, "_special/format/32bit_rgba.png")
	m, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	n := m.(*image.NRGBA)
	img := mustDecode(t, data)
	for i := 0; i < img.W*img.H; i++ {
		if !bytes.Equal(img.Pix[3*i:3*i+3], n.Pix[4*i:4*i+3]) {
			t.Fatalf("pixel %d: %v, want %v", i, img.Pix[3*i:3*i+3], n.Pix[4*i:4*i+3])
		}
	}
}

// Every supported format, cut short anywhere past its magic bytes (sniffing needs up to 12), must
// be ErrCorrupt: never a success, a panic or an error the API would map to another status.
func TestDecodeTruncated(t *testing.T) {
	for _, rel := range []string{"Colin_Powell_0153__truncated.jpg", "Arnold_Schwarzenegger_0011__truncated.jpg"} {
		if _, err := Decode(modeltest.ReadFace(t, "_special/derived/"+rel), Limits{}); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: %v, want ErrCorrupt", rel, err)
		}
	}
	src := mustDecode(t, modeltest.ReadFace(t, powell))
	files := map[string][]byte{
		"jpeg": modeltest.ReadFace(t, powell),
		"webp": modeltest.ReadFace(t, "_special/derived/Colin_Powell_0153__webp.webp"),
		"png":  encode(t, "png", toNRGBA(src)),
		"tiff": encode(t, "tiff", toNRGBA(src)),
		"bmp":  encode(t, "bmp", toNRGBA(src)),
	}
	for name, data := range files {
		for _, n := range []int{12, 30, 100, len(data) / 3, len(data) / 2, len(data) * 9 / 10} {
			_, err := Decode(data[:n], Limits{})
			if !errors.Is(err, ErrCorrupt) {
				t.Errorf("%s cut to %d of %d bytes: %v, want ErrCorrupt", name, n, len(data), err)
			}
		}
	}
	// What image/jpeg itself says, so a change in the stdlib's errors shows up here first.
	_, err := jpeg.Decode(bytes.NewReader(files["jpeg"][:len(files["jpeg"])/2]))
	var fe jpeg.FormatError
	if !errors.As(err, &fe) && !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("image/jpeg on a truncated file: %T %v", err, err)
	}
}

func encode(t testing.TB, format string, m image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	var err error
	switch format {
	case "png":
		err = (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(&b, m)
	case "jpeg":
		err = jpeg.Encode(&b, m, &jpeg.Options{Quality: 100})
	case "tiff":
		err = tiff.Encode(&b, m, nil)
	case "tiff-deflate":
		err = tiff.Encode(&b, m, &tiff.Options{Compression: tiff.Deflate, Predictor: true})
	case "bmp":
		err = bmp.Encode(&b, m)
	case "gif":
		err = gif.Encode(&b, m, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// Lossless encodes of a real photo, in every pixel layout the decoders hand back, must decode
// to exactly the source's RGB.
func TestDecodeGeneratedFormats(t *testing.T) {
	src := mustDecode(t, modeltest.ReadFace(t, powell))
	opaque := toNRGBA(src)
	b := opaque.Bounds()

	// Straight alpha varying over the whole range, 0 included: the colour must survive as stored.
	translucent := image.NewNRGBA(b)
	copy(translucent.Pix, opaque.Pix)
	for i := 3; i < len(translucent.Pix); i += 4 {
		translucent.Pix[i] = uint8(i / 4 % 256)
	}
	wide := func(alpha bool) image.Image { // 16-bit: v*257 keeps v as the high byte
		m := image.NewNRGBA64(b)
		for i, v := range opaque.Pix {
			if i%4 == 3 && alpha {
				v = uint8(i)
			}
			m.Pix[2*i], m.Pix[2*i+1] = v, v
		}
		return m
	}
	gray, gray16 := image.NewGray(b), image.NewGray16(b)
	draw.Draw(gray, b, opaque, b.Min, draw.Src)
	draw.Draw(gray16, b, gray, b.Min, draw.Src)
	grayRGB := &Image{W: src.W, H: src.H, Pix: make([]uint8, len(src.Pix))}
	for i, v := range gray.Pix {
		grayRGB.Pix[3*i], grayRGB.Pix[3*i+1], grayRGB.Pix[3*i+2] = v, v, v
	}
	// Paletted, once opaque and once with translucent NRGBA entries (PNG tRNS).
	pal := image.NewPaletted(b, palette.WebSafe)
	draw.Draw(pal, b, opaque, b.Min, draw.Src)
	palA := image.NewPaletted(b, make(color.Palette, 256))
	for i := range palA.Palette {
		palA.Palette[i] = color.NRGBA{uint8(i), uint8(255 - i), uint8(i * 7), uint8(i)}
	}
	for i := range palA.Pix {
		palA.Pix[i] = uint8(i * 13)
	}
	lookup := func(p *image.Paletted) *Image {
		out := &Image{W: src.W, H: src.H, Pix: make([]uint8, len(src.Pix))}
		for i, v := range p.Pix {
			c := color.NRGBAModel.Convert(p.Palette[v]).(color.NRGBA)
			out.Pix[3*i], out.Pix[3*i+1], out.Pix[3*i+2] = c.R, c.G, c.B
		}
		return out
	}

	for _, tc := range []struct {
		name, format string
		m            image.Image
		want         *Image
	}{
		{"png-rgb", "png", opaque, src},
		{"png-nrgba", "png", translucent, src},
		{"png-rgb16", "png", wide(false), src},
		{"png-nrgba16", "png", wide(true), src},
		{"png-gray", "png", gray, grayRGB},
		{"png-gray16", "png", gray16, grayRGB},
		{"png-paletted", "png", pal, lookup(pal)},
		{"png-paletted-trns", "png", palA, lookup(palA)},
		{"tiff", "tiff", opaque, src},
		{"tiff-deflate", "tiff-deflate", opaque, src},
		{"tiff-nrgba", "tiff", translucent, src},
		{"tiff-rgb16", "tiff", wide(false), src},
		{"tiff-gray", "tiff", gray, grayRGB},
		{"tiff-paletted", "tiff", pal, lookup(pal)},
		{"bmp", "bmp", opaque, src},
		{"bmp-nrgba", "bmp", translucent, src},
		{"bmp-paletted", "bmp", pal, lookup(pal)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := mustDecode(t, encode(t, tc.format, tc.m))
			if mean, mx := diff(got, tc.want); mx != 0 {
				t.Errorf("differs from source: mean %.3f max %d", mean, mx)
			}
		})
	}
}

// The fast paths must agree bit for bit with the stdlib's own conversion, for every chroma
// subsampling ratio, odd sizes and odd sub-image origins (chroma sample boundaries).
func TestImageConversionMatchesStdlib(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	fill := func(b []uint8) {
		for i := range b {
			b[i] = uint8(rng.Uint32())
		}
	}
	check := func(t *testing.T, m image.Image, want func(x, y int) (r, g, b uint8)) {
		t.Helper()
		got := toRGB(m, false)
		b := m.Bounds()
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				i := 3 * ((y-b.Min.Y)*got.W + x - b.Min.X)
				r, g, bb := want(x, y)
				if got.Pix[i] != r || got.Pix[i+1] != g || got.Pix[i+2] != bb {
					t.Fatalf("(%d,%d): got %v, want %v", x, y, got.Pix[i:i+3], []uint8{r, g, bb})
				}
			}
		}
	}
	ratios := []image.YCbCrSubsampleRatio{
		image.YCbCrSubsampleRatio444, image.YCbCrSubsampleRatio422, image.YCbCrSubsampleRatio420,
		image.YCbCrSubsampleRatio440, image.YCbCrSubsampleRatio411, image.YCbCrSubsampleRatio410,
	}
	for _, ratio := range ratios {
		for _, r := range []image.Rectangle{image.Rect(0, 0, 37, 23), image.Rect(-3, -5, 20, 11)} {
			m := image.NewYCbCr(r, ratio)
			fill(m.Y)
			fill(m.Cb)
			fill(m.Cr)
			ycc := func(x, y int) (uint8, uint8, uint8) {
				c := m.YCbCrAt(x, y)
				return color.YCbCrToRGB(c.Y, c.Cb, c.Cr)
			}
			t.Run(ratio.String()+r.String(), func(t *testing.T) {
				check(t, m, ycc)
				sub := m.SubImage(image.Rect(r.Min.X+3, r.Min.Y+5, r.Max.X-1, r.Max.Y-2))
				check(t, sub, ycc)
				a := image.NewNYCbCrA(r, ratio)
				a.YCbCr = *m
				fill(a.A)
				check(t, a, ycc)
			})
		}
	}
	cmyk := image.NewCMYK(image.Rect(0, 0, 31, 17))
	fill(cmyk.Pix)
	t.Run("cmyk", func(t *testing.T) {
		check(t, cmyk, func(x, y int) (uint8, uint8, uint8) {
			c := cmyk.CMYKAt(x, y)
			return color.CMYKToRGB(c.C, c.M, c.Y, c.K)
		})
	})
	rgba := image.NewRGBA(image.Rect(2, 3, 19, 29)) // premultiplied: stored values are kept
	fill(rgba.Pix)
	t.Run("rgba", func(t *testing.T) {
		check(t, rgba, func(x, y int) (uint8, uint8, uint8) {
			p := rgba.Pix[rgba.PixOffset(x, y):]
			return p[0], p[1], p[2]
		})
	})
}

// allYCbCr is a 4:4:4 image holding every (Y, Cb) pair with every fifth Cr, 0 and 255 included:
// all the clamping corners, at a fifth of the 2^24 cost (which -race makes felt).
func allYCbCr() *image.YCbCr {
	m := image.NewYCbCr(image.Rect(0, 0, 256*256, 52), image.YCbCrSubsampleRatio444)
	for i := range m.Y {
		m.Y[i], m.Cb[i], m.Cr[i] = uint8(i), uint8(i>>8), uint8((i>>16)*5)
	}
	return m
}

// clip16 and the inlined formula must equal color.YCbCrToRGB.
func TestImageYCbCrFormula(t *testing.T) {
	t.Parallel()
	m := allYCbCr()
	got := toRGB(m, false).Pix
	for i := range m.Y {
		r, g, b := color.YCbCrToRGB(m.Y[i], m.Cb[i], m.Cr[i])
		if got[3*i] != r || got[3*i+1] != g || got[3*i+2] != b {
			t.Fatalf("ycbcr %d %d %d: got %v, want %d %d %d", m.Y[i], m.Cb[i], m.Cr[i], got[3*i:3*i+3], r, g, b)
		}
	}
}

// WebP's limited range: libwebp's formulas, written out as in dsp/yuv.h, and the range ends.
func TestImageWebPRange(t *testing.T) {
	t.Parallel()
	clip := func(v int) uint8 { return uint8(min(max(v>>6, 0), 255)) }
	mh := func(v, c int) int { return v * c >> 8 }
	m := allYCbCr()
	got := toRGB(m, true).Pix
	for i := range m.Y {
		y, u, v := int(m.Y[i]), int(m.Cb[i]), int(m.Cr[i])
		want := [3]uint8{
			clip(mh(y, 19077) + mh(v, 26149) - 14234),
			clip(mh(y, 19077) - mh(u, 6419) - mh(v, 13320) + 8708),
			clip(mh(y, 19077) + mh(u, 33050) - 17685),
		}
		if [3]uint8(got[3*i:3*i+3]) != want {
			t.Fatalf("yuv %d %d %d: got %v, want %v", y, u, v, got[3*i:3*i+3], want)
		}
	}
	for _, tc := range []struct{ y, want uint8 }{{16, 0}, {235, 255}, {0, 0}, {255, 255}} {
		gray := image.NewYCbCr(image.Rect(0, 0, 1, 1), image.YCbCrSubsampleRatio444)
		gray.Y[0], gray.Cb[0], gray.Cr[0] = tc.y, 128, 128
		if p := toRGB(gray, true).Pix; p[0] != tc.want || p[1] != tc.want || p[2] != tc.want {
			t.Errorf("Y=%d: %v, want %d", tc.y, p, tc.want)
		}
	}
}

// pngHeader is a PNG signature and IHDR declaring w x h, 8-bit RGB, with a valid CRC and no data.
func pngHeader(w, h uint32) []byte {
	chunk := []byte("IHDR")
	chunk = binary.BigEndian.AppendUint32(chunk, w)
	chunk = binary.BigEndian.AppendUint32(chunk, h)
	chunk = append(chunk, 8, 2, 0, 0, 0)
	out := []byte("\x89PNG\r\n\x1a\n")
	out = binary.BigEndian.AppendUint32(out, 13)
	out = append(out, chunk...)
	return binary.BigEndian.AppendUint32(out, crc32.ChecksumIEEE(chunk))
}

// smallJPEG encodes a w x h gradient; the fuzz seeds and the header patches start from it.
func smallJPEG(t testing.TB, w, h int) []byte {
	m := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := range m.Pix {
		m.Pix[i] = uint8(i * 3)
	}
	return encode(t, "jpeg", m)
}

// setJPEGSize rewrites the frame size in the SOF0 segment.
func setJPEGSize(t testing.TB, data []byte, w, h uint16) []byte {
	data = bytes.Clone(data)
	i := bytes.Index(data, []byte{0xff, 0xc0})
	if i < 0 {
		t.Fatal("no SOF0")
	}
	binary.BigEndian.PutUint16(data[i+5:], h)
	binary.BigEndian.PutUint16(data[i+7:], w)
	return data
}

// setTIFFSize rewrites ImageWidth and ImageLength in IFD0 of a little-endian TIFF.
func setTIFFSize(t testing.TB, data []byte, w, h uint32) []byte {
	data = bytes.Clone(data)
	off := binary.LittleEndian.Uint32(data[4:])
	n := int(binary.LittleEndian.Uint16(data[off:]))
	for e := int(off) + 2; e < int(off)+2+12*n; e += 12 {
		v := map[uint16]uint32{256: w, 257: h}[binary.LittleEndian.Uint16(data[e:])]
		if v == 0 {
			continue
		}
		binary.LittleEndian.PutUint16(data[e+2:], 4) // LONG
		binary.LittleEndian.PutUint32(data[e+8:], v)
	}
	return data
}

// vp8lHeader is a lossless WebP whose header declares w x h (1..16384) and no pixel data.
func vp8lHeader(w, h uint32) []byte {
	bits := (w - 1) | (h-1)<<14
	body := append([]byte{0x2f}, binary.LittleEndian.AppendUint32(nil, bits)...)
	out := append([]byte("RIFF"), binary.LittleEndian.AppendUint32(nil, uint32(12+len(body)))...)
	out = append(out, "WEBPVP8L"...)
	out = binary.LittleEndian.AppendUint32(out, uint32(len(body)))
	return append(out, body...)
}

func TestDecodeLimits(t *testing.T) {
	jpg := smallJPEG(t, 16, 16)
	tif := encode(t, "tiff", image.NewGray(image.Rect(0, 0, 16, 16)))
	bomb := func(w, h uint32) []byte { // BMP: 24-bit, header only
		b := []byte("BM\x00\x00\x00\x00\x00\x00\x00\x00\x36\x00\x00\x00\x28\x00\x00\x00")
		b = binary.LittleEndian.AppendUint32(b, w)
		b = binary.LittleEndian.AppendUint32(b, h)
		return append(b, 1, 0, 24, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
	}
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"png-60000x60000", pngHeader(60000, 60000)},
		{"png-1x2^31", pngHeader(1, 1<<31-1)},
		{"jpeg-60000x60000", setJPEGSize(t, jpg, 60000, 60000)},
		{"jpeg-side-40000x1", setJPEGSize(t, jpg, 40000, 1)},
		{"tiff-60000x60000", setTIFFSize(t, tif, 60000, 60000)},
		{"bmp-60000x60000", bomb(60000, 60000)},
		{"webp-16384x16384", vp8lHeader(16384, 16384)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			for range 10 {
				_, err = Decode(tc.data, Limits{})
			}
			runtime.ReadMemStats(&after)
			if !errors.Is(err, ErrTooManyPixels) {
				t.Fatalf("%v, want ErrTooManyPixels", err)
			}
			// A full-size buffer would be gigabytes; the header parse is a few KB per call.
			if perCall := (after.TotalAlloc - before.TotalAlloc) / 10; perCall > 256<<10 {
				t.Errorf("allocated %d bytes per rejected call", perCall)
			}
		})
	}

	// Exact boundaries, on both limits.
	ten := encode(t, "png", image.NewGray(image.Rect(0, 0, 10, 10)))
	if _, err := Decode(ten, Limits{MaxPixels: 100}); err != nil {
		t.Errorf("100 pixels at limit 100: %v", err)
	}
	if _, err := Decode(ten, Limits{MaxPixels: 99}); !errors.Is(err, ErrTooManyPixels) {
		t.Errorf("100 pixels at limit 99: %v", err)
	}
	if _, err := Decode(ten, Limits{MaxBytes: len(ten)}); err != nil {
		t.Errorf("%d bytes at limit %d: %v", len(ten), len(ten), err)
	}
	if _, err := Decode(ten, Limits{MaxBytes: len(ten) - 1}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("%d bytes at limit %d: %v", len(ten), len(ten)-1, err)
	}
	// A zero Limits means the defaults, never "unlimited".
	big := append(bytes.Clone(jpg), make([]byte, DefaultLimits().MaxBytes)...)
	if _, err := Decode(big, Limits{}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("over 5 MiB with zero Limits: %v", err)
	}
	if _, err := Decode(nil, Limits{}); !errors.Is(err, ErrEmpty) {
		t.Errorf("nil: %v", err)
	}
}

func TestDecodeUnsupported(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	random := make([]byte, 4096)
	for i := range random {
		random[i] = uint8(rng.Uint32())
	}
	gifData := encode(t, "gif", image.NewPaletted(image.Rect(0, 0, 8, 8), palette.Plan9))
	jpg := smallJPEG(t, 16, 16)
	twelveBit := bytes.Clone(jpg)
	twelveBit[bytes.Index(twelveBit, []byte{0xff, 0xc0})+4] = 12
	arithmetic := bytes.Clone(jpg)
	arithmetic[bytes.Index(arithmetic, []byte{0xff, 0xc0})+1] = 0xc9
	animated := []byte("RIFF\x00\x00\x00\x00WEBPVP8X\x0a\x00\x00\x00\x12\x00\x00\x00\x00\x00\x00\x00\x00\x00")

	for _, tc := range []struct {
		name, data, msg string
	}{
		{"random", string(random), "unrecognised"},
		{"text", "Hello, this is not an image.\n", "unrecognised"},
		{"json", `{"image": "/9j/4AAQ"}`, "unrecognised"},
		{"gif", string(gifData), "gif"},
		{"heic", "\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic", "heic"},
		{"avif", "\x00\x00\x00\x1cftypavif\x00\x00\x00\x00", "avif"},
		{"jpeg-soi-only", "\xff\xd8", "unrecognised"},
		{"bmp-like-text", "BMW owners club", "unrecognised"},
		{"jpeg-12bit", string(twelveBit), "precision"},
		{"jpeg-arithmetic", string(arithmetic), "jpeg"},
		{"webp-animated", string(animated), "animated"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode([]byte(tc.data), Limits{})
			if !errors.Is(err, ErrUnsupportedFormat) || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("%v, want ErrUnsupportedFormat mentioning %q", err, tc.msg)
			}
		})
	}
}

func TestDecodeString(t *testing.T) {
	raw := modeltest.ReadFace(t, powell)
	want := mustDecode(t, raw)
	std := base64.StdEncoding.EncodeToString(raw)
	url := base64.URLEncoding.EncodeToString(raw)
	if !strings.ContainsAny(std, "+/") || !strings.ContainsAny(url, "-_") {
		t.Fatal("photo does not exercise the alphabet difference")
	}
	lines := func(s string, n int, sep string) string {
		var b strings.Builder
		for len(s) > n {
			b.WriteString(s[:n] + sep)
			s = s[n:]
		}
		return b.String() + s
	}
	for name, s := range map[string]string{
		"std":            std,
		"std-raw":        base64.RawStdEncoding.EncodeToString(raw),
		"url":            url,
		"url-raw":        base64.RawURLEncoding.EncodeToString(raw),
		"mime-crlf":      lines(std, 76, "\r\n"),
		"pem-lf":         lines(std, 64, "\n") + "\n",
		"spaces-tabs":    lines(url, 10, " \t"),
		"surrounding-ws": "\n\t  " + std + "  \n",
		"data-uri":       "data:image/jpeg;base64," + std,
		"data-uri-upper": "DATA:IMAGE/JPEG;BASE64," + std,
		"data-uri-param": "data:image/jpeg;name=face.jpg;base64," + lines(std, 76, "\n"),
		"data-uri-bare":  "data:;base64," + base64.RawURLEncoding.EncodeToString(raw),
		"data-uri-lies":  "data:image/png;base64," + std, // the declared type is not trusted
	} {
		t.Run(name, func(t *testing.T) {
			got, err := DecodeString(s, Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if _, mx := diff(got, want); mx != 0 {
				t.Errorf("differs from decoding the raw bytes (max %d)", mx)
			}
		})
	}

	for _, tc := range []struct {
		name, s string
		want    error
		msg     string
	}{
		{"empty", "", ErrEmpty, ""},
		{"whitespace", " \r\n\t ", ErrEmpty, ""},
		{"data-uri-empty", "data:image/jpeg;base64,", ErrEmpty, ""},
		{"not-base64", "this is not base64!", ErrBadBase64, ""},
		{"one-symbol-over", std + "A", ErrBadBase64, ""},
		{"mixed-alphabets", "ab+/cd-_", ErrBadBase64, ""},
		{"data-after-padding", std[:8] + "==" + std[8:16], ErrBadBase64, "padding"},
		{"too-much-padding", std[:6] + "===", ErrBadBase64, "padding"},
		{"data-uri-percent", "data:image/jpeg,%FF%D8%FF%E0", ErrBadBase64, "not base64"},
		{"data-uri-no-comma", "data:image/jpeg;base64" + std, ErrBadBase64, "comma"},
		{"base64-of-text", base64.StdEncoding.EncodeToString([]byte("just text")), ErrUnsupportedFormat, ""},
		{"base64-of-truncated", std[:len(std)/2], ErrCorrupt, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeString(tc.s, Limits{})
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("%v, want %v mentioning %q", err, tc.want, tc.msg)
			}
		})
	}

	// Over the byte limit is refused from the length alone, before the base64 is decoded.
	huge := strings.Repeat("QUJD", 1<<20) // 3 MiB once decoded
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := DecodeString(huge, Limits{MaxBytes: 1 << 20})
	runtime.ReadMemStats(&after)
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("%v, want ErrTooLarge", err)
	}
	if n := after.TotalAlloc - before.TotalAlloc; n > 64<<10 {
		t.Errorf("allocated %d bytes refusing an oversized string", n)
	}
	if _, err := DecodeString(std, Limits{MaxBytes: len(raw)}); err != nil {
		t.Errorf("exactly at the byte limit: %v", err)
	}
	if _, err := DecodeString(std, Limits{MaxBytes: len(raw) - 1}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("one byte over the limit: %v", err)
	}
}

// exifTIFF is a TIFF structure whose IFD0 holds only Orientation (SHORT) = o.
func exifTIFF(o uint16, bigEndian bool) []byte {
	var bo binary.AppendByteOrder = binary.LittleEndian
	out := []byte("II*\x00")
	if bigEndian {
		bo, out = binary.BigEndian, []byte("MM\x00*")
	}
	out = bo.AppendUint32(out, 8)
	out = bo.AppendUint16(out, 1)
	out = bo.AppendUint16(out, tagOrientation)
	out = bo.AppendUint16(out, 3)
	out = bo.AppendUint32(out, 1)
	out = bo.AppendUint16(out, o)
	out = bo.AppendUint16(out, 0)
	return bo.AppendUint32(out, 0) // no next IFD
}

// withExif inserts an APP1 Exif segment right after the JPEG's SOI.
func withExif(jpg []byte, o uint16, bigEndian bool) []byte {
	payload := append([]byte("Exif\x00\x00"), exifTIFF(o, bigEndian)...)
	seg := binary.BigEndian.AppendUint16([]byte{0xff, 0xe1}, uint16(2+len(payload)))
	return append(append(append([]byte{}, jpg[:2]...), append(seg, payload...)...), jpg[2:]...)
}

// exifSides is the EXIF 2.32 Orientation table verbatim: the visual side on which the stored
// 0th row lies and the side of the stored 0th column. The test derives corners from it alone,
// independently of the index arithmetic in orient.
var exifSides = [9][2]string{
	1: {"top", "left"}, 2: {"top", "right"}, 3: {"bottom", "right"}, 4: {"bottom", "left"},
	5: {"left", "top"}, 6: {"right", "top"}, 7: {"right", "bottom"}, 8: {"left", "bottom"},
}

var opposite = map[string]string{"top": "bottom", "bottom": "top", "left": "right", "right": "left"}

// visualCorner says where the stored corner (last row?, last column?) appears once upright.
func visualCorner(o int, lastRow, lastCol bool) (right, bottom bool) {
	row, col := exifSides[o][0], exifSides[o][1]
	if lastRow {
		row = opposite[row]
	}
	if lastCol {
		col = opposite[col]
	}
	return row == "right" || col == "right", row == "bottom" || col == "bottom"
}

// checkCorners checks that each stored corner colour lands where the EXIF table says.
func checkCorners(t *testing.T, img *Image, o, sw, sh int, corner func(lastRow, lastCol bool) [3]uint8) {
	t.Helper()
	if o >= 5 {
		sw, sh = sh, sw
	}
	if img.W != sw || img.H != sh {
		t.Fatalf("decoded %dx%d, want %dx%d", img.W, img.H, sw, sh)
	}
	for _, lr := range []bool{false, true} {
		for _, lc := range []bool{false, true} {
			right, bottom := visualCorner(o, lr, lc)
			x, y := 2, 2 // sample inside the corner, away from JPEG ringing at the quadrant edges
			if right {
				x = img.W - 3
			}
			if bottom {
				y = img.H - 3
			}
			got := img.Pix[3*(y*img.W+x):][:3]
			want := corner(lr, lc)
			for c := range 3 {
				if d := int(got[c]) - int(want[c]); d < -8 || d > 8 {
					t.Errorf("stored corner row-last=%v col-last=%v: at (%d,%d) got %v, want %v", lr, lc, x, y, got, want)
					break
				}
			}
		}
	}
}

func TestExifOrientationAllEight(t *testing.T) {
	const w, h = 48, 32 // not square, so transposes show in the size
	colours := map[[2]bool][3]uint8{
		{false, false}: {255, 0, 0}, {false, true}: {0, 255, 0},
		{true, false}: {0, 0, 255}, {true, true}: {255, 255, 255},
	}
	corner := func(lastRow, lastCol bool) [3]uint8 { return colours[[2]bool{lastRow, lastCol}] }
	stored := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			c := corner(y >= h/2, x >= w/2)
			stored.SetNRGBA(x, y, color.NRGBA{c[0], c[1], c[2], 255})
		}
	}
	jpg := encode(t, "jpeg", stored)
	for o := 1; o <= 8; o++ {
		for _, be := range []bool{false, true} {
			t.Run(exifSides[o][0]+"-"+exifSides[o][1]+map[bool]string{false: "-II", true: "-MM"}[be], func(t *testing.T) {
				data := withExif(jpg, uint16(o), be)
				if got := jpegOrientation(data); got != o {
					t.Fatalf("parsed orientation %d, want %d", got, o)
				}
				checkCorners(t, mustDecode(t, data), o, w, h, corner)
			})
		}
	}
}

// grayTIFF builds an uncompressed 8-bit gray TIFF by hand, with an Orientation tag.
func grayTIFF(pix []uint8, w, h int, o uint16) []byte {
	le := binary.LittleEndian
	type entry struct{ tag, typ, val uint32 }
	entries := []entry{{256, 4, uint32(w)}, {257, 4, uint32(h)}, {258, 3, 8}, {259, 3, 1}, {262, 3, 1},
		{273, 4, 0}, {274, 3, uint32(o)}, {277, 3, 1}, {278, 4, uint32(h)}, {279, 4, uint32(len(pix))}}
	ifdLen := 2 + 12*len(entries) + 4
	entries[5].val = uint32(8 + ifdLen) // pixels follow the IFD
	out := le.AppendUint32([]byte("II*\x00"), 8)
	out = le.AppendUint16(out, uint16(len(entries)))
	for _, e := range entries {
		out = le.AppendUint16(out, uint16(e.tag))
		out = le.AppendUint16(out, uint16(e.typ))
		out = le.AppendUint32(out, 1)
		out = le.AppendUint32(out, e.val) // little-endian: a SHORT lands left-justified, as it must
	}
	out = le.AppendUint32(out, 0)
	return append(out, pix...)
}

func TestExifOrientationTIFFAndWebP(t *testing.T) {
	const w, h = 12, 8
	levels := map[[2]bool]uint8{{false, false}: 30, {false, true}: 90, {true, false}: 150, {true, true}: 210}
	corner := func(lastRow, lastCol bool) [3]uint8 {
		v := levels[[2]bool{lastRow, lastCol}]
		return [3]uint8{v, v, v}
	}
	pix := make([]uint8, w*h)
	for y := range h {
		for x := range w {
			pix[y*w+x] = levels[[2]bool{y >= h/2, x >= w/2}]
		}
	}
	for o := 1; o <= 8; o++ {
		t.Run("tiff-"+exifSides[o][0]+"-"+exifSides[o][1], func(t *testing.T) {
			checkCorners(t, mustDecode(t, grayTIFF(pix, w, h, uint16(o))), o, w, h, corner)
		})
	}

	// A real lossy WebP rewrapped as extended WebP (VP8X) with an EXIF chunk, with and without
	// the "Exif\0\0" prefix some writers keep, must come out as the plain file turned upright.
	simple := modeltest.ReadFace(t, "_special/derived/Colin_Powell_0153__webp.webp")
	upright := mustDecode(t, simple)
	vp8 := simple[12:] // the VP8 chunk, header included
	for _, prefix := range []string{"", "Exif\x00\x00"} {
		for _, o := range []int{3, 6, 8} {
			exif := append([]byte(prefix), exifTIFF(uint16(o), o == 6)...)
			x := []byte("VP8X\x0a\x00\x00\x00\x08\x00\x00\x00")
			x = append(x, uint8(upright.W-1), uint8((upright.W-1)>>8), 0, uint8(upright.H-1), uint8((upright.H-1)>>8), 0)
			x = append(x, vp8...)
			x = append(x, "EXIF"...)
			x = binary.LittleEndian.AppendUint32(x, uint32(len(exif)))
			x = append(x, exif...)
			if len(exif)%2 == 1 {
				x = append(x, 0)
			}
			data := append(binary.LittleEndian.AppendUint32([]byte("RIFF"), uint32(4+len(x))), "WEBP"...)
			data = append(data, x...)
			if got := webpOrientation(data); got != o {
				t.Fatalf("prefix %q: parsed %d, want %d", prefix, got, o)
			}
			if _, mx := diff(mustDecode(t, data), orient(upright, o)); mx != 0 {
				t.Errorf("prefix %q orientation %d: differs from the plain file turned (max %d)", prefix, o, mx)
			}
		}
	}
}

func TestExifParserEdgeCases(t *testing.T) {
	le := exifTIFF(6, false)
	patched := func(b []byte, at int, v ...byte) []byte {
		b = bytes.Clone(b)
		copy(b[at:], v)
		return b
	}
	for _, tc := range []struct {
		name string
		tiff []byte
		want int
	}{
		{"ok-le", le, 6},
		{"ok-be", exifTIFF(8, true), 8},
		{"empty", nil, 1},
		{"header-only", le[:8], 1},
		{"entry-cut", le[:15], 1},
		{"value-0", exifTIFF(0, false), 1},
		{"value-9", exifTIFF(9, true), 1},
		{"bad-magic", patched(le, 0, 'I', 'X'), 1},
		{"ifd-offset-past-end", patched(le, 4, 0xff, 0xff, 0xff, 0xff), 1},
		{"ifd-offset-at-end", patched(le, 4, byte(len(le)-1)), 1},
		{"entry-count-huge", patched(le, 8, 0xff, 0xff), 6},
		{"type-long", patched(le, 12, 4, 0, 1, 0, 0, 0, 5, 0, 0, 0), 5},
		{"type-byte", patched(le, 12, 1), 1},
		{"count-2", patched(le, 14, 2), 1},
		{"other-tag", patched(le, 10, 0x13), 1},
	} {
		if got := tiffOrientation(tc.tiff); got != tc.want {
			t.Errorf("tiff %s: %d, want %d", tc.name, got, tc.want)
		}
	}

	jpg := smallJPEG(t, 8, 8)
	exif := withExif(jpg, 6, false)
	xmp := append([]byte{0xff, 0xd8, 0xff, 0xe1, 0, 6}, "http"...) // an APP1 that is not Exif
	for _, tc := range []struct {
		name string
		data []byte
		want int
	}{
		{"exif", exif, 6},
		{"none", jpg, 1},
		{"xmp-first", append(bytes.Clone(xmp), exif[2:]...), 6},
		{"fill-bytes", append([]byte{0xff, 0xd8, 0xff, 0xff}, exif[2:]...), 6},
		{"after-sos", append(append(bytes.Clone(jpg[:len(jpg)-2]), exif[2:2+4+6+26]...), 0xff, 0xd9), 1},
		{"segment-cut", exif[:2+4+6+22], 6}, // entry complete, next-IFD offset missing
		{"segment-cut-in-entry", exif[:2+4+6+20], 1},
		{"segment-length-1", []byte{0xff, 0xd8, 0xff, 0xe1, 0, 1, 'E', 'x'}, 1},
		{"not-jpeg", le, 1},
	} {
		if got := jpegOrientation(tc.data); got != tc.want {
			t.Errorf("jpeg %s: %d, want %d", tc.name, got, tc.want)
		}
	}

	riff := func(chunks ...string) []byte {
		return append(append([]byte("RIFF\x00\x00\x00\x00WEBP"), strings.Join(chunks, "")...), 0)
	}
	chunk := func(id string, body []byte) string {
		s := id + string(binary.LittleEndian.AppendUint32(nil, uint32(len(body)))) + string(body)
		if len(body)%2 == 1 {
			s += "\x00"
		}
		return s
	}
	for _, tc := range []struct {
		name string
		data []byte
		want int
	}{
		{"exif", riff(chunk("EXIF", exifTIFF(7, false))), 7},
		{"after-odd-chunk", riff(chunk("ICCP", []byte("abc")), chunk("EXIF", exifTIFF(2, true))), 2},
		{"no-exif", riff(chunk("VP8 ", []byte("abcd"))), 1},
		{"chunk-size-huge", riff("ICCP\xff\xff\xff\xff", chunk("EXIF", exifTIFF(7, false))), 1},
		{"exif-cut", riff(chunk("EXIF", exifTIFF(7, false)))[:30], 1},
	} {
		if got := webpOrientation(tc.data); got != tc.want {
			t.Errorf("webp %s: %d, want %d", tc.name, got, tc.want)
		}
	}
}

// vp8l1x1 is a complete 1x1 lossless WebP.
var vp8l1x1 = []byte("RIFF\x1a\x00\x00\x00WEBPVP8L\x0d\x00\x00\x00\x2f\x00\x00\x00\x10\x07\x10\x11\x11\x88\x88\xfe\x07\x00")

func fuzzSeeds(t testing.TB) [][]byte {
	small := image.NewNRGBA(image.Rect(0, 0, 7, 5))
	for i := range small.Pix {
		small.Pix[i] = uint8(i * 37)
	}
	jpg := smallJPEG(t, 9, 7)
	return [][]byte{
		jpg,
		[]byte("data:image/jpeg;base64," + base64.StdEncoding.EncodeToString(jpg)),
		[]byte(base64.RawURLEncoding.EncodeToString(vp8l1x1)),
		withExif(jpg, 6, false),
		withExif(jpg, 5, true),
		encode(t, "png", small),
		encode(t, "png", image.NewGray16(image.Rect(0, 0, 3, 4))),
		encode(t, "png", image.NewPaletted(image.Rect(0, 0, 4, 4), palette.Plan9)),
		encode(t, "bmp", small),
		encode(t, "tiff", small),
		encode(t, "tiff-deflate", small),
		grayTIFF(make([]uint8, 12), 4, 3, 8),
		vp8l1x1,
		vp8lHeader(300, 200),
		[]byte("RIFF\x00\x00\x00\x00WEBPVP8X\x0a\x00\x00\x00\x10\x00\x00\x00\x03\x00\x00\x02\x00\x00ALPH\x01\x00\x00\x00\x00"),
		[]byte("RIFF\x00\x00\x00\x00WEBPVP8 \x10\x00\x00\x00\x50\x01\x00\x9d\x01\x2a\x08\x00\x06\x00\x00\x00\x00\x00"),
		pngHeader(3, 2),
		encode(t, "gif", image.NewPaletted(image.Rect(0, 0, 2, 2), palette.Plan9)),
	}
}

var fuzzLimits = Limits{MaxBytes: 1 << 20, MaxPixels: 1 << 20}

func FuzzDecode(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	check := func(t *testing.T, img *Image, err error) {
		if err == nil {
			checkImage(t, img, fuzzLimits)
			return
		}
		if img != nil {
			t.Fatal("image and error")
		}
		for _, s := range sentinels {
			if errors.Is(err, s) {
				return
			}
		}
		t.Fatalf("error wraps no sentinel: %v", err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		img, err := Decode(data, fuzzLimits)
		check(t, img, err)
		img, err = DecodeString(string(data), fuzzLimits) // mostly the base64 and data-URI parsing
		check(t, img, err)
	})
}

func FuzzExifOrientation(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	for o := uint16(0); o <= 9; o++ {
		f.Add(exifTIFF(o, o%2 == 0))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, o := range []int{tiffOrientation(data), jpegOrientation(data), webpOrientation(data)} {
			if o < 1 || o > 8 {
				t.Fatalf("orientation %d", o)
			}
		}
	})
}

// The hand-made 1x1 lossless WebP seed must really decode (plain go test also runs every fuzz
// seed through the FuzzDecode invariants).
func TestDecodeTinyWebP(t *testing.T) {
	if img, err := Decode(vp8l1x1, Limits{}); err != nil || img.W != 1 || img.H != 1 {
		t.Fatalf("1x1 webp: %v %v", img, err)
	}
}
