package turbojpeg

import (
	"bytes"
	"errors"
	"image"
	"image/jpeg"
	"strings"
	"sync"
	"testing"

	"vigil/models/modeltest"
)

var sentinels = []error{ErrUnavailable, ErrColorspace, ErrShortBuffer, ErrDecode}

func needCgo(t testing.TB) {
	t.Helper()
	if !Available {
		if _, _, err := DecodeRGB([]byte{0xff, 0xd8}, nil); !errors.Is(err, ErrUnavailable) {
			t.Fatalf("without cgo: %v, want ErrUnavailable", err)
		}
		t.Skip("built without cgo")
	}
}

// tinyJPEG encodes a w x h gradient with image/jpeg.
func tinyJPEG(t testing.TB, w, h int) []byte {
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := range m.Pix {
		m.Pix[i] = uint8(i * 5)
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, m, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// guarded returns a buffer of n bytes with a guard band after its end (same backing array), and
// a check that nothing was written there: C writes are invisible to the race detector.
func guarded(n int) (dst []byte, intact func() bool) {
	buf := bytes.Repeat([]byte{0xa5}, n+4096)
	return buf[:n], func() bool { return bytes.Count(buf[n:], []byte{0xa5}) == 4096 }
}

func TestDecodeRGB(t *testing.T) {
	needCgo(t)
	for _, tc := range []struct {
		rel  string
		w, h int
		gray bool
	}{
		{"Colin_Powell/Colin_Powell_0153.jpg", 250, 250, false},
		{"_special/derived/Colin_Powell_0153__gray.jpg", 250, 250, true},
		{"_special/multi_face/multiface.jpg", 1200, 630, false},            // progressive
		{"_spoof/live/image_T1.jpg", 640, 480, false},                      // EXIF 6: stored size, not turned
		{"_special/derived/Colin_Powell_0153__small24.jpg", 24, 24, false}, // width not a multiple of 16
		{"_special/derived/Arnold_Schwarzenegger_0011__tilt30.jpg", 342, 342, false},
	} {
		dst, intact := guarded(3 * tc.w * tc.h)
		w, h, err := DecodeRGB(modeltest.ReadFace(t, tc.rel), dst)
		if err != nil || w != tc.w || h != tc.h {
			t.Errorf("%s: %dx%d, %v; want %dx%d", tc.rel, w, h, err, tc.w, tc.h)
			continue
		}
		if !intact() {
			t.Errorf("%s: wrote past 3*w*h bytes", tc.rel)
		}
		if bytes.Count(dst, []byte{0xa5}) > len(dst)/4 {
			t.Errorf("%s: most of dst left unwritten", tc.rel)
		}
		for i := 0; tc.gray && i < len(dst); i += 3 {
			if dst[i] != dst[i+1] || dst[i] != dst[i+2] {
				t.Fatalf("%s: gray JPEG gave colour at pixel %d", tc.rel, i/3)
			}
		}
	}
	if n := live.Load(); n != 0 {
		t.Errorf("%d handles left", n)
	}
}

func TestDecodeRGBErrors(t *testing.T) {
	needCgo(t)
	jpg := tinyJPEG(t, 16, 8)
	tablesOnly := jpg[:bytes.Index(jpg, []byte{0xff, 0xc0})] // SOI, DQT; no frame
	tablesOnly = append(bytes.Clone(tablesOnly), 0xff, 0xd9)
	truncated := modeltest.ReadFace(t, "_special/derived/Colin_Powell_0153__truncated.jpg")
	for _, tc := range []struct {
		name string
		data []byte
		dst  int
		want error
		msg  string
	}{
		{"empty", nil, 3 * 16 * 8, ErrDecode, "no data"},
		{"not-jpeg", []byte("GIF89a, not a JPEG at all"), 3 * 16 * 8, ErrDecode, "header"},
		{"soi-only", jpg[:2], 3 * 16 * 8, ErrDecode, "header"},
		{"tables-only", tablesOnly, 3 * 16 * 8, ErrDecode, "no image"},
		{"short-buffer", jpg, 3*16*8 - 1, ErrShortBuffer, "16x8 needs 384 bytes, have 383"},
		{"nil-buffer", jpg, 0, ErrShortBuffer, ""},
		{"cut-in-scan", jpg[:len(jpg)-20], 3 * 16 * 8, ErrDecode, "Premature end"},
		{"truncated-photo", truncated, 3 * 250 * 250, ErrDecode, "Premature end"},
		{"cmyk", modeltest.ReadFace(t, "_special/derived/Colin_Powell_0153__cmyk.jpg"), 3 * 250 * 250, ErrColorspace, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dst, intact := guarded(tc.dst)
			w, h, err := DecodeRGB(tc.data, dst)
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.msg) || w != 0 || h != 0 {
				t.Errorf("%dx%d, %v; want %v mentioning %q", w, h, err, tc.want, tc.msg)
			}
			if !intact() {
				t.Error("wrote past the end of dst")
			}
			if tc.want != ErrDecode && bytes.Count(dst, []byte{0xa5}) != len(dst) {
				t.Error("wrote to dst before refusing")
			}
		})
	}
	if n := live.Load(); n != 0 {
		t.Errorf("%d handles left", n)
	}
}

// Concurrent decodes (each its own handle) give identical pixels; run with -race.
func TestDecodeRGBConcurrent(t *testing.T) {
	needCgo(t)
	data := modeltest.ReadFace(t, "Colin_Powell/Colin_Powell_0153.jpg")
	want := make([]byte, 3*250*250)
	if _, _, err := DecodeRGB(data, want); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			dst := make([]byte, len(want))
			for range 20 {
				if _, _, err := DecodeRGB(data, dst); err != nil || !bytes.Equal(dst, want) {
					t.Errorf("goroutine %d: %v or different pixels", g, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if n := live.Load(); n != 0 {
		t.Errorf("%d handles left", n)
	}
}

// FuzzDecodeRGB: libjpeg-turbo on any bytes, through this wrapper, returns (never crashes), writes
// nothing past 3*w*h bytes of dst, and every error wraps one sentinel. dst holds 256x256 pixels,
// so larger headers exercise ErrShortBuffer.
func FuzzDecodeRGB(f *testing.F) {
	for _, rel := range []string{
		"Colin_Powell/Colin_Powell_0153.jpg",
		"_special/derived/Colin_Powell_0153__gray.jpg",
		"_special/derived/Colin_Powell_0153__cmyk.jpg",
		"_special/derived/Colin_Powell_0153__truncated.jpg",
		"_special/derived/Colin_Powell_0153__small24.jpg",
		"_special/derived/Arnold_Schwarzenegger_0011__jpegq5.jpg",
	} {
		f.Add(modeltest.ReadFace(f, rel))
	}
	f.Add(tinyJPEG(f, 9, 7))
	f.Fuzz(func(t *testing.T, data []byte) {
		needCgo(t)
		const maxBytes = 3 * 256 * 256
		dst, intact := guarded(maxBytes)
		w, h, err := DecodeRGB(data, dst)
		if !intact() {
			t.Fatal("wrote past the end of dst")
		}
		if err == nil {
			if w < 1 || h < 1 || 3*w*h > maxBytes {
				t.Fatalf("%dx%d without error", w, h)
			}
			return
		}
		n := 0
		for _, s := range sentinels {
			if errors.Is(err, s) {
				n++
			}
		}
		if n != 1 || w != 0 || h != 0 {
			t.Fatalf("%dx%d, %v: wraps %d sentinels", w, h, err, n)
		}
	})
}

// The whole per-call cost on an 8x8 JPEG: handle create/destroy, two header reads, one block.
// It bounds what a handle pool could save per decode (see DecodeRGB).
func BenchmarkDecodeRGB8x8(b *testing.B) {
	needCgo(b)
	data := tinyJPEG(b, 8, 8)
	dst := make([]byte, 3*8*8)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := DecodeRGB(data, dst); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeRGB250(b *testing.B) {
	needCgo(b)
	data := modeltest.ReadFace(b, "Colin_Powell/Colin_Powell_0153.jpg")
	dst := make([]byte, 3*250*250)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := DecodeRGB(data, dst); err != nil {
			b.Fatal(err)
		}
	}
}
