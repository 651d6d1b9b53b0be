package embed

import (
	"slices"
	"testing"
	"time"
)

// benchDetect reports what a request feels: per-photo latency of Detect (resize, ORT, decode,
// NMS), median and 99th percentile. ORT uses its default thread count.
func benchDetect(b *testing.B, rel string, opt DetectOptions) {
	d := newTestDetector(b)
	img := photo(b, rel)
	if _, err := d.Detect(img, opt); err != nil { // also lets ORT plan this input shape
		b.Fatal(err)
	}
	b.ReportAllocs()
	lat := make([]time.Duration, 0, b.N)
	for b.Loop() {
		t0 := time.Now()
		if _, err := d.Detect(img, opt); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}

// BenchmarkDetect250: an LFW photo (250×250, run at 256×256).
func BenchmarkDetect250(b *testing.B) {
	benchDetect(b, "Colin_Powell/Colin_Powell_0153.jpg", DefaultDetectOptions())
}

// BenchmarkDetect1080p: a 1920×1080 photo, shrunk to 640×360 (run at 640×384).
func BenchmarkDetect1080p(b *testing.B) { benchDetect(b, obama1080p, DefaultDetectOptions()) }

// BenchmarkDetect250Rotations: TryRotations runs four orientations.
func BenchmarkDetect250Rotations(b *testing.B) {
	opt := DefaultDetectOptions()
	opt.TryRotations = true
	benchDetect(b, "Colin_Powell/Colin_Powell_0153.jpg", opt)
}

// BenchmarkDetectTinyFace1600: a 1600×1200 photo whose only face is too small at 640, so it
// pays for the second look at full size (the worst case of the rule).
func BenchmarkDetectTinyFace1600(b *testing.B) {
	opt := DefaultDetectOptions()
	opt.MinFaceSize = 0
	benchDetect(b, derived+"Colin_Powell_0153__tinyface_in_1600x1200.jpg", opt)
}

func BenchmarkAlign(b *testing.B) {
	img := synthImage(300, 260)
	lm := [5][2]float32{{120, 110}, {170, 108}, {146, 140}, {125, 168}, {165, 166}}
	var dst Image
	b.ReportAllocs()
	for b.Loop() {
		Align(img, lm, &dst)
	}
}

func benchResize(b *testing.B, rel string, side int) {
	img := photo(b, rel)
	s := float64(side) / float64(max(img.W, img.H))
	dw, dh := int(float64(img.W)*s+0.5), int(float64(img.H)*s+0.5)
	var rs resizer
	var dst Image
	rs.resize(img, dw, dh, &dst)
	b.ReportAllocs()
	for b.Loop() {
		rs.resize(img, dw, dh, &dst)
	}
}

// BenchmarkResize1080p: the detector's shrink of a 1920×1080 photo to 640×360 (3×: area).
func BenchmarkResize1080p(b *testing.B) { benchResize(b, obama1080p, 640) }

// BenchmarkResize1080pBilinear: the same with plain bilinear, the alternative measured against.
func BenchmarkResize1080pBilinear(b *testing.B) {
	defer func(a float64) { areaAbove = a }(areaAbove)
	areaAbove = 1e9
	benchResize(b, obama1080p, 640)
}
