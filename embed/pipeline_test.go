package embed

import (
	"cmp"
	"context"
	"encoding/csv"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"

	"vigil/models"
	"vigil/models/modeltest"
	"vigil/models/ort"
)

func openPipeline(t *testing.T) *Pipeline {
	t.Helper()
	if err := ort.Init(ort.Config{Library: modeltest.ORTLibrary(t), IntraOpThreads: 1}); err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.ModelsDir = modeltest.ModelsDir(t)
	p, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// central returns the face nearest the image centre (LFW labels the central face).
func central(img *Image, faces []Face) Face {
	best, bd := faces[0], math.Inf(1)
	for _, f := range faces {
		dx := float64(f.Box[0] + f.Box[2]/2 - float32(img.W)/2)
		dy := float64(f.Box[1] + f.Box[3]/2 - float32(img.H)/2)
		if d := dx*dx + dy*dy; d < bd {
			best, bd = f, d
		}
	}
	return best
}

func embedFile(t *testing.T, p *Pipeline, path string) []float32 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	img, err := Decode(b, DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	faces, err := p.Detect(context.Background(), img, nil)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	v, err := p.Embed(context.Background(), img, central(img, faces))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func dot(a, b []float32) float64 {
	var s float64
	for i := range a {
		s += float64(a[i]) * float64(b[i])
	}
	return s
}

// TestVerificationOnLFW embeds real LFW pairs (the first 60 genuine and 60 impostor pairs of
// fold 1, concurrently so the embedder batches) and checks they separate at the reference
// threshold.
func TestVerificationOnLFW(t *testing.T) {
	p := openPipeline(t)
	faces := modeltest.FacesDir(t)
	f, err := os.Open(filepath.Join(faces, "lfw_pairs_fold1.csv"))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	var pairs [][]string
	genuine, impostor := 0, 0
	for _, r := range rows[1:] {
		if r[2] == "1" && genuine < 60 {
			genuine++
			pairs = append(pairs, r)
		} else if r[2] == "0" && impostor < 60 {
			impostor++
			pairs = append(pairs, r)
		}
	}
	scores := make([]float64, len(pairs))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i, r := range pairs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			a := embedFile(t, p, filepath.Join(faces, r[0]))
			b := embedFile(t, p, filepath.Join(faces, r[1]))
			if n := dot(a, a); math.Abs(n-1) > 1e-4 {
				t.Errorf("embedding norm² %v", n)
			}
			scores[i] = dot(a, b)
		}()
	}
	wg.Wait()
	right := 0
	var same, diff float64
	for i, r := range pairs {
		isSame, _ := strconv.Atoi(r[2])
		if (scores[i] >= 0.28) == (isSame == 1) {
			right++
		}
		if isSame == 1 {
			same += scores[i] / 60
		} else {
			diff += scores[i] / 60
		}
	}
	acc := float64(right) / float64(len(pairs))
	t.Logf("accuracy %.3f at cos >= 0.28; mean cosine same %.3f, different %.3f; mean batch %.2f", acc, same, diff, p.Embedder().MeanBatch())
	if acc < 0.95 || same < 0.5 || diff > 0.15 {
		t.Fatalf("accuracy %.3f, mean same %.3f, mean different %.3f: the pipeline lost accuracy", acc, same, diff)
	}
	if p.Embedder().MeanBatch() <= 1 {
		t.Errorf("8 concurrent workers never batched (mean %.2f)", p.Embedder().MeanBatch())
	}
}

func TestPlanarMatchesFormula(t *testing.T) {
	img := &Image{W: 2, H: 1, Pix: []uint8{10, 20, 30, 200, 100, 0}}
	in := models.Input{Color: "rgb", Scale: 1.0 / 255, Mean: [3]float32{0.485, 0.456, 0.406}, Std: [3]float32{0.229, 0.224, 0.225}}
	dst := make([]float32, 6)
	Planar(dst, img, in)
	want := func(p uint8, c int) float32 { return (float32(p)/255 - in.Mean[c]) / in.Std[c] }
	for i, w := range []float32{want(10, 0), want(200, 0), want(20, 1), want(100, 1), want(30, 2), want(0, 2)} {
		if math.Abs(float64(dst[i]-w)) > 1e-5 {
			t.Fatalf("rgb [%d] = %v, want %v", i, dst[i], w)
		}
	}
	bgr := models.Input{Color: "bgr", Scale: 1, Std: [3]float32{1, 1, 1}}
	Planar(dst, img, bgr)
	for i, w := range []float32{30, 0, 20, 100, 10, 200} {
		if dst[i] != w {
			t.Fatalf("bgr [%d] = %v, want %v", i, dst[i], w)
		}
	}
	if Normalize([]float32{0, 0}) || Normalize([]float32{float32(math.NaN()), 1}) {
		t.Fatal("Normalize accepted a zero or NaN vector")
	}
}

// TestEmbedFlip: with Flip the embedding is the normalised sum of the crop's and its mirror's: unit
// length, close to the plain one but not equal.
func TestEmbedFlip(t *testing.T) {
	plain := openPipeline(t)
	cfg := DefaultConfig()
	cfg.ModelsDir, cfg.Flip = modeltest.ModelsDir(t), true
	flip, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer flip.Close()
	data, err := os.ReadFile(filepath.Join(modeltest.FacesDir(t), "Adam_Sandler", "Adam_Sandler_0001.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	img, err := Decode(data, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	emb := func(p *Pipeline, im *Image) []float32 {
		faces, err := p.Detect(ctx, im, nil)
		if err != nil {
			t.Fatal(err)
		}
		v, err := p.Embed(ctx, im, central(im, faces))
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	dot := func(a, b []float32) (s float64) {
		for i := range a {
			s += float64(a[i]) * float64(b[i])
		}
		return s
	}
	f, p := emb(flip, img), emb(plain, img)
	if n := dot(f, f); math.Abs(n-1) > 1e-4 {
		t.Errorf("|flip|² = %v", n)
	}
	if c := dot(f, p); c < 0.9 || c > 0.9999 {
		t.Errorf("cos(flip, plain) = %.4f, want close to but not 1", c)
	}
}

// TestMeasureLandmarkerWindows: how well faces small in a large photo verify with the landmarker
// looking at windows around them, at the whole view, or not at all (2023mar's own landmarks).
// Every pairs.csv photo is placed in a 1280×960 brick wall (a ~55 px face in the detector's
// 640×480 view), embedded, and every pair of the photos is scored; prints the share of genuine
// pairs accepted at false-match rates 1e-3 to 1e-5. About 5 minutes on 2 cores.
func TestMeasureLandmarkerWindows(t *testing.T) {
	measuring(t)
	if err := ort.Init(ort.Config{Library: modeltest.ORTLibrary(t), IntraOpThreads: 1}); err != nil {
		t.Fatal(err)
	}
	wall := photo(t, "_special/no_face/brick.png")
	photos := pairsPhotos(t)
	for _, c := range []struct {
		name       string
		landmarker string
		share      float64
	}{
		{"windows", "yunet-2022mar", landmarkWindowShare},
		{"whole view", "yunet-2022mar", 0},
		{"2023mar's own", "", landmarkWindowShare},
	} {
		defer func(v float64) { landmarkWindowShare = v }(landmarkWindowShare)
		landmarkWindowShare = c.share
		cfg := DefaultConfig()
		cfg.ModelsDir, cfg.Landmarker = modeltest.ModelsDir(t), c.landmarker
		p, err := Open(cfg)
		if err != nil {
			t.Fatal(err)
		}
		emb := make([][]float32, len(photos))
		err = ort.FanOut(context.Background(), len(photos), 1, 4, func(ctx context.Context, i int) error {
			x, y := 100+(i*211)%800, 100+(i*157)%550
			img := inScene(photo(t, photos[i]), wall, 1280, 960, x, y)
			faces, err := p.Detect(ctx, img, nil)
			if err != nil {
				return err
			}
			lfw := slices.MinFunc(faces, func(a, b Face) int { // the face of the placed photo
				da := math.Hypot(float64(a.Box[0]+a.Box[2]/2)-float64(x+125), float64(a.Box[1]+a.Box[3]/2)-float64(y+125))
				db := math.Hypot(float64(b.Box[0]+b.Box[2]/2)-float64(x+125), float64(b.Box[1]+b.Box[3]/2)-float64(y+125))
				return cmp.Compare(da, db)
			})
			emb[i], err = p.Embed(ctx, img, lfw)
			return err
		})
		p.Close()
		if err != nil {
			t.Fatal(err)
		}
		var genuine, impostor []float64
		for i := range photos {
			for j := i + 1; j < len(photos); j++ {
				s := dot(emb[i], emb[j])
				if filepath.Dir(photos[i]) == filepath.Dir(photos[j]) {
					genuine = append(genuine, s)
				} else {
					impostor = append(impostor, s)
				}
			}
		}
		slices.Sort(impostor)
		line := fmt.Sprintf("%-14s %d genuine, %d impostor pairs; genuine accepted at FMR", c.name, len(genuine), len(impostor))
		for _, fmr := range []float64{1e-3, 1e-4, 1e-5} {
			thr := impostor[len(impostor)-1-int(fmr*float64(len(impostor)))]
			n := 0
			for _, g := range genuine {
				if g > thr {
					n++
				}
			}
			line += fmt.Sprintf("  %.0e %.2f%%", fmr, 100*float64(n)/float64(len(genuine)))
		}
		t.Log(line)
	}
}
