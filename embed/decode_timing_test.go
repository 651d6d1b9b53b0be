package embed

import (
	"bytes"
	"encoding/base64"
	"image"
	"image/jpeg"
	"testing"

	"vigil/models/modeltest"
)

func benchDecode(b *testing.B, rel string) {
	data := modeltest.ReadFace(b, rel)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(data, Limits{}); err != nil {
			b.Fatal(err)
		}
	}
}

// An LFW crop: the enrolment-sized case.
func BenchmarkDecodeJPEG250(b *testing.B) { benchDecode(b, powell) }

// A 1920x1080 4:4:4 frame: the camera-sized case.
func BenchmarkDecodeJPEG1080p(b *testing.B) { benchDecode(b, "_special/resolution/obama-1080p.jpg") }

// Orientation 8 on a 3.4 MP phone photo: the rotation pass on top of decoding.
func BenchmarkDecodeJPEGPhoneExif8(b *testing.B) {
	benchDecode(b, "_spoof/live/image_T1_v2020-06-28.jpg")
}

// image/jpeg (go) against libjpeg-turbo (turbo), each through the whole of Decode (checks,
// decode, RGB, EXIF rotation): an LFW crop (4:2:0), the 1080p frame and the largest _special
// photo (4:4:4), and the rotated phone photo (4:2:0, orientation 8).
func BenchmarkDecodeGoVsTurbo(b *testing.B) {
	for _, tc := range []struct{ name, rel string }{
		{"250", powell},
		{"1080p", "_special/resolution/obama-1080p.jpg"},
		{"1434x2333", "_special/hires_obama_biden/obama3.jpg"},
		{"phone-exif8", "_spoof/live/image_T1_v2020-06-28.jpg"},
	} {
		data := modeltest.ReadFace(b, tc.rel)
		for _, turbo := range []bool{false, true} {
			b.Run(tc.name+map[bool]string{false: "/go", true: "/turbo"}[turbo], func(b *testing.B) {
				if turbo {
					skipWithoutTurbo(b)
				}
				b.SetBytes(int64(len(data)))
				b.ReportAllocs()
				for b.Loop() {
					if _, err := decode(data, Limits{}, turbo); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// image/jpeg alone, to see what the RGB conversion adds.
func BenchmarkDecodeJPEG1080pStdlibOnly(b *testing.B) {
	data := modeltest.ReadFace(b, "_special/resolution/obama-1080p.jpg")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := jpeg.Decode(bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
	}
}

// The YCbCr fast path against the per-pixel At() it replaces, on the 1080p frame.
func BenchmarkDecodeToRGB1080p(b *testing.B) {
	m, err := jpeg.Decode(bytes.NewReader(modeltest.ReadFace(b, "_special/resolution/obama-1080p.jpg")))
	if err != nil {
		b.Fatal(err)
	}
	b.Run("fast", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			toRGB(m, false)
		}
	})
	b.Run("at", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			toRGB(struct{ image.Image }{m}, false) // hides the concrete type: generic path
		}
	})
}

func BenchmarkDecodeOrient1080p(b *testing.B) {
	img := mustDecode(b, modeltest.ReadFace(b, "_special/resolution/obama-1080p.jpg"))
	for _, o := range []int{3, 6} {
		b.Run(string(rune('0'+o)), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				orient(img, o)
			}
		})
	}
}

func BenchmarkDecodeString250(b *testing.B) {
	s := "data:image/jpeg;base64," + base64.StdEncoding.EncodeToString(modeltest.ReadFace(b, powell))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeString(s, Limits{}); err != nil {
			b.Fatal(err)
		}
	}
}
