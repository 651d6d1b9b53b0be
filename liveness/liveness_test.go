package liveness_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"vigil/embed"
	"vigil/liveness"
	"vigil/models"
	"vigil/models/modeltest"
	"vigil/models/ort"
)

func initORT(t testing.TB) {
	t.Helper()
	if err := ort.Init(ort.Config{Library: modeltest.ORTLibrary(t), IntraOpThreads: 1}); err != nil {
		t.Fatal(err)
	}
}

func openScorer(t testing.TB, mod func(*liveness.Config)) *liveness.Scorer {
	t.Helper()
	initORT(t)
	cfg := liveness.DefaultConfig()
	cfg.ModelsDir = modeltest.ModelsDir(t)
	if mod != nil {
		mod(&cfg)
	}
	s, err := liveness.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// photo decodes a file under shared/ (rel starts with faces/ or models/), read in place.
func photo(t testing.TB, rel string) *liveness.Image {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(modeltest.SharedDir(t), rel))
	if err != nil {
		t.Fatal(err)
	}
	img, err := embed.Decode(b, embed.DefaultLimits())
	if err != nil {
		t.Fatalf("%s: %v", rel, err)
	}
	li := liveness.Image(*img) // same fields: no copy
	return &li
}

func openDetector(t testing.TB) *embed.Detector {
	t.Helper()
	initORT(t)
	e, err := models.Default().Get("yunet-2023mar")
	if err != nil {
		t.Fatal(err)
	}
	d, err := embed.OpenDetector(e.Path(modeltest.ModelsDir(t)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// detect returns the boxes of img's faces, best first.
func detect(t testing.TB, d *embed.Detector, img *liveness.Image) [][4]float32 {
	t.Helper()
	ei := embed.Image(*img)
	faces, err := d.Detect(&ei, embed.DefaultDetectOptions())
	if err != nil {
		t.Fatal(err)
	}
	out := make([][4]float32, len(faces))
	for i, f := range faces {
		out[i] = f.Box
	}
	return out
}

// largest is the biggest box (the subject of a selfie or an attack photo).
func largest(boxes [][4]float32) [4]float32 {
	best := boxes[0]
	for _, b := range boxes {
		if b[2]*b[3] > best[2]*best[3] {
			best = b
		}
	}
	return best
}

// TestSpoofSamples classifies the 10 anti-spoofing samples in shared/ (models/testdata and
// faces/_spoof; image_T1 and F1/F2 appear in both) end to end: embed.Decode (EXIF orientation
// applied), YuNet 2023mar via embed's Detector, the largest face, Score. It fails on any sample
// the OpenCV reference (shared/peers, YuNet 2022mar) gets right. Where the reference errs too
// (live/image_T2_v2020-06-28.jpg: P(live) 0.30 there, 0.52 here with YuNet 2023mar's box) a
// miss is logged, not failed: that photo's score swings 0.28–0.96 with the box alone
// (TestMeasureBoxSensitivity).
func TestSpoofSamples(t *testing.T) {
	s := openScorer(t, nil)
	d := openDetector(t)
	for _, tc := range []struct {
		rel      string
		live     bool
		refWrong bool // the OpenCV reference misclassifies it too
	}{
		{"models/testdata/image_T1.jpg", true, false},
		{"models/testdata/image_F1.jpg", false, false},
		{"models/testdata/image_F2.jpg", false, false},
		{"faces/_spoof/live/image_T1.jpg", true, false},
		{"faces/_spoof/live/image_T1_v2020-06-28.jpg", true, false},
		{"faces/_spoof/live/image_T2_v2020-06-28.jpg", true, true},
		{"faces/_spoof/print/image_F1.jpg", false, false},
		{"faces/_spoof/print/image_F1_v2020-06-28.jpg", false, false},
		{"faces/_spoof/replay/image_F2.jpg", false, false},
		{"faces/_spoof/replay/image_F2_v2020-06-28.jpg", false, false},
	} {
		img := photo(t, tc.rel)
		box := largest(detect(t, d, img))
		r, err := s.Score(context.Background(), img, box)
		if err != nil {
			t.Fatalf("%s: %v", tc.rel, err)
		}
		if r.Live < 0 || r.Live > 1 || math.Abs(float64(r.Probs[0]+r.Probs[1]+r.Probs[2])-1) > 1e-5 {
			t.Errorf("%s: probabilities %v out of range", tc.rel, r.Probs)
		}
		msg := fmt.Sprintf("%-44s %4dx%-4d box %6.1f %6.1f %6.1f %6.1f  live %.4f (v2 %.4f, v1se %.4f)  %-7s IsLive=%v",
			tc.rel, img.W, img.H, box[0], box[1], box[2], box[3], r.Live, r.PerModel[0], r.PerModel[1], r.Label, r.IsLive)
		switch {
		case r.IsLive == tc.live:
			t.Log(msg)
		case tc.refWrong:
			t.Log(msg + "  <- misclassified, as by the OpenCV reference")
		default:
			t.Error(msg + "  <- misclassified")
		}
	}
}

// TestPhotosMatchOpenCV feeds OpenCV's own face boxes (testdata/golden.json) to Score: the crop
// rectangles must be identical and each model's P(live) close to cv2.dnn's. Not identical: Go's
// JPEG decoder and libjpeg differ (on the 1617×2160 T2 photo by 0.8 levels on average, up to 39,
// in half the pixels), and the big shrinks (13–20×, INTER_LINEAR reads 2 of every 13–20 rows)
// carry that into the crops. cv2.dnn run on Go's decoded pixels gives Vigil's numbers to 4
// decimals (checked by hand when this test was written), so the whole gap is decoding: up to
// 0.041 on T2's 2.7× crop, ≤ 0.02 elsewhere.
func TestPhotosMatchOpenCV(t *testing.T) {
	s := openScorer(t, nil)
	b, err := os.ReadFile("testdata/golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var g struct {
		Models []string
		Photos []struct {
			Photo string
			W, H  int
			Box   [4]float32
			Rects [][4]int
			Probs [][3]float64
		}
	}
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(g.Models) != fmt.Sprint(s.Models()) {
		t.Fatalf("golden models %v, scorer %v", g.Models, s.Models())
	}
	scales := []float64{2.7, 4.0}
	worst := 0.0
	for _, p := range g.Photos {
		img := photo(t, p.Photo)
		if img.W != p.W || img.H != p.H {
			t.Fatalf("%s: decoded %dx%d, OpenCV %dx%d", p.Photo, img.W, img.H, p.W, p.H)
		}
		for m, sc := range scales {
			r, err := liveness.CropRect(img.W, img.H, p.Box, sc)
			if err != nil {
				t.Fatal(err)
			}
			if got := [4]int{r.X1, r.Y1, r.X2, r.Y2}; got != p.Rects[m] {
				t.Errorf("%s ×%.1f: rect %v, OpenCV %v", p.Photo, sc, got, p.Rects[m])
			}
		}
		res, err := s.Score(context.Background(), img, p.Box)
		if err != nil {
			t.Fatal(err)
		}
		for m := range scales {
			d := math.Abs(float64(res.PerModel[m]) - p.Probs[m][1])
			worst = max(worst, d)
			if d > 0.05 {
				t.Errorf("%s %s: P(live) %.4f, OpenCV %.4f", p.Photo, g.Models[m], res.PerModel[m], p.Probs[m][1])
			}
		}
		t.Logf("%-44s P(live) v2 %.4f (OpenCV %.4f)  v1se %.4f (OpenCV %.4f)", p.Photo,
			res.PerModel[0], p.Probs[0][1], res.PerModel[1], p.Probs[1][1])
	}
	t.Logf("max |P(live) - OpenCV| = %.4f", worst)
}

// multiFace returns a photo with several faces and their boxes.
func multiFace(t testing.TB) (*liveness.Image, [][4]float32) {
	t.Helper()
	d := openDetector(t)
	img := photo(t, "faces/_special/multi_face/multiface.jpg")
	boxes := detect(t, d, img)
	if len(boxes) < 4 {
		t.Fatalf("multiface.jpg: %d faces", len(boxes))
	}
	return img, boxes
}

// TestScoreManyMatchesScore: batched results (ScoreMany, and many concurrent Score calls) equal
// one-at-a-time Score within 1e-4, and the batchers did batch.
func TestScoreManyMatchesScore(t *testing.T) {
	s := openScorer(t, nil)
	img, boxes := multiFace(t)
	ctx := context.Background()
	single := make([]liveness.Result, len(boxes))
	for i, b := range boxes {
		r, err := s.Score(ctx, img, b)
		if err != nil {
			t.Fatal(err)
		}
		single[i] = r
	}
	var mu sync.Mutex
	worst := 0.0
	check := func(what string, got []liveness.Result) {
		t.Helper()
		for i := range got {
			d := math.Abs(float64(got[i].Live - single[i].Live))
			mu.Lock()
			worst = max(worst, d)
			mu.Unlock()
			if d > 1e-4 || got[i].Label != single[i].Label {
				t.Errorf("%s face %d: live %.6f %v, one at a time %.6f %v", what, i, got[i].Live, got[i].Label, single[i].Live, single[i].Label)
			}
			for m := range got[i].PerModel {
				if d := math.Abs(float64(got[i].PerModel[m] - single[i].PerModel[m])); d > 1e-4 {
					t.Errorf("%s face %d model %d: %.6f, one at a time %.6f", what, i, m, got[i].PerModel[m], single[i].PerModel[m])
				}
			}
		}
	}
	before := s.MeanBatch()
	many, err := s.ScoreMany(ctx, img, boxes)
	if err != nil {
		t.Fatal(err)
	}
	check("ScoreMany", many)
	// 8 goroutines each scoring every face: crops of different requests share model calls.
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got := make([]liveness.Result, len(boxes))
			for i, b := range boxes {
				r, err := s.Score(ctx, img, b)
				if err != nil {
					errs <- err
					return
				}
				got[i] = r
			}
			check("concurrent Score", got)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for i, r := range many {
		t.Logf("face %d box %v: live %.4f %v", i, boxes[i], r.Live, r.Label)
	}
	t.Logf("max |batched - one at a time| = %.2g", worst)
	if mb := s.MeanBatch(); mb <= before {
		t.Errorf("mean batch %.2f after concurrent scoring, %.2f before: nothing was batched", mb, before)
	} else {
		t.Logf("%d faces × 2 models; mean batch %.2f", len(boxes), mb)
	}
}

// TestScoreManyBatches: one ScoreMany of many faces makes few model calls.
func TestScoreManyBatches(t *testing.T) {
	s := openScorer(t, nil)
	img, boxes := multiFace(t)
	var all [][4]float32
	for len(all) < 40 {
		all = append(all, boxes...)
	}
	if _, err := s.ScoreMany(context.Background(), img, all); err != nil {
		t.Fatal(err)
	}
	// The first job of each model runs alone while the rest queue; the rest drain in batches.
	if mb := s.MeanBatch(); mb < 4 {
		t.Errorf("%d faces in one ScoreMany: mean batch %.2f", len(all), mb)
	} else {
		t.Logf("%d faces in one ScoreMany: mean batch %.2f", len(all), mb)
	}
}

func TestScoreErrors(t *testing.T) {
	s := openScorer(t, nil)
	ctx := context.Background()
	img := &liveness.Image{W: 64, H: 48, Pix: make([]uint8, 3*64*48)}
	if _, err := s.Score(ctx, img, [4]float32{10, 10, 0, 20}); err == nil {
		t.Error("empty box accepted")
	}
	if _, err := s.Score(ctx, img, [4]float32{100, 10, 10, 20}); err == nil {
		t.Error("box outside the image accepted")
	}
	if _, err := s.Score(ctx, &liveness.Image{W: 64, H: 48, Pix: make([]uint8, 10)}, [4]float32{1, 1, 5, 5}); err == nil {
		t.Error("malformed image accepted")
	}
	if _, err := s.Score(ctx, nil, [4]float32{1, 1, 5, 5}); err == nil {
		t.Error("nil image accepted")
	}
	if _, err := s.ScoreMany(ctx, img, [][4]float32{{1, 1, 5, 5}, {1, 1, float32(math.NaN()), 5}}); err == nil {
		t.Error("NaN box accepted")
	}
	if r, err := s.ScoreMany(ctx, img, nil); err != nil || len(r) != 0 {
		t.Errorf("no boxes: %v, %v", r, err)
	}
	// A blank image still scores: a finite result in range.
	r, err := s.Score(ctx, img, [4]float32{20, 10, 20, 25})
	if err != nil || !(r.Live >= 0 && r.Live <= 1) {
		t.Errorf("blank image: %+v, %v", r, err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.ScoreMany(cctx, img, [][4]float32{{1, 1, 5, 5}, {2, 2, 5, 5}}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := s.Score(ctx, img, [4]float32{20, 10, 20, 25}); !errors.Is(err, liveness.ErrClosed) {
		t.Errorf("after Close: %v", err)
	}
	var nilScorer *liveness.Scorer
	if err := nilScorer.Close(); err != nil {
		t.Error(err)
	}
}

// TestScoreDeadline: a deadline that ends while crops wait returns promptly with its error, and
// the scorer keeps working (the cancelled crops' buffers are not reused while queued).
func TestScoreDeadline(t *testing.T) {
	s := openScorer(t, nil)
	img, boxes := multiFace(t)
	var all [][4]float32
	for len(all) < 60 {
		all = append(all, boxes...)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
	defer cancel()
	if _, err := s.ScoreMany(ctx, img, all); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("deadline: %v", err)
	}
	if _, err := s.ScoreMany(context.Background(), img, boxes); err != nil {
		t.Fatalf("after a deadline: %v", err)
	}
}

// TestOverloaded: more concurrent crops than the queue holds fail with ort.ErrOverloaded rather
// than block; one call alone never overloads the scorer.
func TestOverloaded(t *testing.T) {
	s := openScorer(t, func(c *liveness.Config) { c.MaxBatch, c.QueueSize = 1, 1 })
	img, boxes := multiFace(t)
	// Alone, even a crowd photo does not overload a 1-slot queue: ScoreMany paces its own crops.
	var crowd [][4]float32
	for len(crowd) < 30 {
		crowd = append(crowd, boxes...)
	}
	if _, err := s.ScoreMany(context.Background(), img, crowd); err != nil {
		t.Fatalf("%d faces alone on a 1-slot queue: %v", len(crowd), err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	over := 0
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := s.ScoreMany(context.Background(), img, boxes); errors.Is(err, ort.ErrOverloaded) {
				mu.Lock()
				over++
				mu.Unlock()
			} else if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if over == 0 {
		t.Error("16 concurrent ScoreMany calls on a 1-slot queue: none overloaded")
	}
}

func TestOpenErrors(t *testing.T) {
	initORT(t)
	dir := modeltest.ModelsDir(t)
	for name, cfg := range map[string]liveness.Config{
		"no models":     {ModelsDir: dir},
		"unknown model": {ModelsDir: dir, Models: []string{"nope"}},
		"wrong role":    {ModelsDir: dir, Models: []string{"mobilefacenet-128"}},
		"bad threshold": {ModelsDir: dir, Models: []string{"minifasnet-v2-2.7"}, Threshold: 1.5},
		"missing file":  {ModelsDir: t.TempDir(), Models: []string{"minifasnet-v2-2.7"}},
	} {
		if s, err := liveness.Open(cfg); err == nil {
			s.Close()
			t.Errorf("%s: opened", name)
		}
	}
	// One model alone works; its result is that model's.
	s := openScorer(t, func(c *liveness.Config) { c.Models = c.Models[:1]; c.Threshold = 0.9 })
	img := photo(t, "models/testdata/image_T1.jpg")
	r, err := s.Score(context.Background(), img, [4]float32{116, 122, 181, 231})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.PerModel) != 1 || r.Live != r.PerModel[0] || s.Threshold() != 0.9 || r.IsLive != (r.Live >= 0.9) {
		t.Errorf("single model: %+v, threshold %v", r, s.Threshold())
	}
}

// Benchmarks: faces/s and crops/s (a face is one crop per model) for one caller scoring faces
// one at a time, for concurrent callers (the batchers merge their crops), and for ScoreMany;
// plus CPU ms per crop (process user+system time), which other load on the machine disturbs
// less than wall time does.
func benchImage(b *testing.B) (*liveness.Image, [][4]float32) {
	b.Helper()
	return multiFace(b)
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func report(b *testing.B, faces int, s *liveness.Scorer, cpu0 time.Duration) {
	sec := b.Elapsed().Seconds()
	crops := faces * len(s.Models())
	b.ReportMetric(float64(faces)/sec, "faces/s")
	b.ReportMetric(float64(crops)/sec, "crops/s")
	b.ReportMetric(s.MeanBatch(), "batch")
	if crops > 0 {
		b.ReportMetric(float64(cpuTime()-cpu0)/1e6/float64(crops), "cpu-ms/crop")
	}
}

func BenchmarkScoreSingle(b *testing.B) {
	s := openScorer(b, nil)
	img, boxes := benchImage(b)
	ctx := context.Background()
	n, cpu0 := 0, cpuTime()
	for b.Loop() {
		if _, err := s.Score(ctx, img, boxes[n%len(boxes)]); err != nil {
			b.Fatal(err)
		}
		n++
	}
	report(b, n, s, cpu0)
}

func BenchmarkScoreConcurrent(b *testing.B) {
	s := openScorer(b, nil)
	img, boxes := benchImage(b)
	ctx := context.Background()
	b.SetParallelism(8) // 8 × GOMAXPROCS callers
	var mu sync.Mutex
	n := 0
	b.ResetTimer()
	cpu0 := cpuTime()
	b.RunParallel(func(pb *testing.PB) {
		k := 0
		for pb.Next() {
			if _, err := s.Score(ctx, img, boxes[k%len(boxes)]); err != nil {
				b.Error(err)
				return
			}
			k++
		}
		mu.Lock()
		n += k
		mu.Unlock()
	})
	report(b, n, s, cpu0)
}

func BenchmarkScoreMany(b *testing.B) {
	s := openScorer(b, nil)
	img, boxes := benchImage(b)
	ctx := context.Background()
	n, cpu0 := 0, cpuTime()
	for b.Loop() {
		if _, err := s.ScoreMany(ctx, img, boxes); err != nil {
			b.Fatal(err)
		}
		n += len(boxes)
	}
	report(b, n, s, cpu0)
}

// TestMeasureBoxSensitivity (VIGIL_LIVENESS_MEASURE=1) shows how much each _spoof sample's score
// depends on the exact face box: moved by up to ±2 px (the sampling phase of the INTER_LINEAR
// shrink), and scaled 0.9–1.1× and shifted ±10% of its height (the spread between detectors).
func TestMeasureBoxSensitivity(t *testing.T) {
	if os.Getenv("VIGIL_LIVENESS_MEASURE") == "" {
		t.Skip("set VIGIL_LIVENESS_MEASURE=1 to measure")
	}
	s := openScorer(t, nil)
	d := openDetector(t)
	ctx := context.Background()
	for _, rel := range []string{
		"faces/_spoof/live/image_T1.jpg", "faces/_spoof/live/image_T1_v2020-06-28.jpg",
		"faces/_spoof/live/image_T2_v2020-06-28.jpg", "faces/_spoof/print/image_F1.jpg",
		"faces/_spoof/print/image_F1_v2020-06-28.jpg", "faces/_spoof/replay/image_F2.jpg",
		"faces/_spoof/replay/image_F2_v2020-06-28.jpg",
	} {
		img := photo(t, rel)
		b := largest(detect(t, d, img))
		var jit, geo [][4]float32
		for dx := float32(-2); dx <= 2; dx++ {
			for dy := float32(-2); dy <= 2; dy += 2 {
				jit = append(jit, [4]float32{b[0] + dx, b[1] + dy, b[2], b[3]})
			}
		}
		for _, g := range []float32{0.9, 1, 1.1} {
			for _, sh := range []float32{-0.1, 0, 0.1} {
				w, h := b[2]*g, b[3]*g
				cx, cy := b[0]+b[2]/2, b[1]+b[3]/2+sh*b[3]
				geo = append(geo, [4]float32{cx - w/2, cy - h/2, w, h})
			}
		}
		span := func(boxes [][4]float32) (lo, hi float32) {
			r, err := s.ScoreMany(ctx, img, boxes)
			if err != nil {
				t.Fatal(err)
			}
			lo, hi = 1, 0
			for _, x := range r {
				lo, hi = min(lo, x.Live), max(hi, x.Live)
			}
			return lo, hi
		}
		base, err := s.Score(ctx, img, b)
		if err != nil {
			t.Fatal(err)
		}
		jl, jh := span(jit)
		gl, gh := span(geo)
		t.Logf("%-44s live %.3f  ±2 px %.3f–%.3f  0.9–1.1×, ±10%% shift %.3f–%.3f", rel, base.Live, jl, jh, gl, gh)
	}
}
