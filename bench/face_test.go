package bench

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"vigil/embed"
	"vigil/models"
	"vigil/models/modeltest"
	"vigil/models/ort"
)

type faceBox struct{ x, y, w, h, score float32 }

func toFaces(b []faceBox) []embed.Face {
	out := make([]embed.Face, len(b))
	for i, f := range b {
		out[i] = embed.Face{Box: [4]float32{f.x, f.y, f.w, f.h}, Score: f.score}
	}
	return out
}

func openPipeline(t *testing.T) *embed.Pipeline {
	t.Helper()
	if err := ort.Init(ort.Config{Library: modeltest.ORTLibrary(t)}); err != nil {
		t.Fatal(err)
	}
	cfg := embed.DefaultConfig()
	cfg.ModelsDir, cfg.Manifest = modeltest.ModelsDir(t), models.Default()
	p, err := embed.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// TestAccuracyOnLFWFold1 runs the accuracy bench on the first 40 pairs of LFW fold 1 (20 same,
// 20 different) with the real models, plus one unreadable photo.
func TestAccuracyOnLFWFold1(t *testing.T) {
	faces := modeltest.FacesDir(t)
	f, err := os.Open(filepath.Join(faces, "lfw_pairs_fold1.csv"))
	if err != nil {
		t.Fatal(err)
	}
	all, err := ReadPairs(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	var pairs []Pair
	var nSame, nDiff int
	for _, p := range all {
		if p.Same && nSame < 20 {
			pairs, nSame = append(pairs, p), nSame+1
		} else if !p.Same && nDiff < 20 {
			pairs, nDiff = append(pairs, p), nDiff+1
		}
	}
	pairs = append(pairs, Pair{Left: pairs[0].Left, Right: "missing/none.jpg", Same: false})
	p := openPipeline(t)
	r, err := RunAccuracy(context.Background(), AccuracyConfig{Pairs: pairs, Root: faces, AllPairs: true}, EmbedPhoto(p))
	if err != nil {
		t.Fatal(err)
	}
	if r.DetectFailures != 1 || r.PairsWithFailure != 1 {
		t.Errorf("failures: %d photos, %d pairs; want the missing photo only", r.DetectFailures, r.PairsWithFailure)
	}
	// MobileFaceNet gets ~99 % of LFW right; on 41 pairs allow one miss.
	if r.Accuracy < 0.97 {
		t.Errorf("accuracy %.3f on %d pairs", r.Accuracy, r.Pairs)
	}
	if r.MeanGenuine < 0.4 || r.MeanImpostor > 0.15 {
		t.Errorf("mean cosine genuine %.3f, impostor %.3f", r.MeanGenuine, r.MeanImpostor)
	}
	if r.AllImpostors < 1000 || r.AllGenuine < nSame {
		t.Errorf("all pairs: %d impostor, %d genuine", r.AllImpostors, r.AllGenuine)
	}
	if len(r.Thresholds) == 0 || r.Table() == "" {
		t.Error("no threshold table")
	}
}

// TestPipelineBench runs the throughput bench over a few LFW photos and a no-face photo.
func TestPipelineBench(t *testing.T) {
	faces := modeltest.FacesDir(t)
	files := []string{
		filepath.Join(faces, "Adam_Sandler", "Adam_Sandler_0001.jpg"),
		filepath.Join(faces, "Adam_Sandler", "Adam_Sandler_0002.jpg"),
		filepath.Join(faces, "_special", "no_face", "brick.png"),
	}
	for _, f := range files {
		if _, err := os.Stat(f); err != nil {
			t.Fatal(err)
		}
	}
	p := openPipeline(t)
	r, err := RunPipeline(context.Background(), PipelineConfig{Files: files, Workers: 3, Repeat: 2, EmbedGFLOPs: 0.5, PeakGFLOPS: 100}, p)
	if err != nil {
		t.Fatal(err)
	}
	if r.Faces < 2 || r.Failures != 1 || r.Images != 3 {
		t.Errorf("faces %d, failures %d, images %d", r.Faces, r.Failures, r.Images)
	}
	for _, pr := range []PassResult{r.Single, r.Concurrent} {
		if pr.FacesPerS <= 0 || pr.P50ms <= 0 || pr.P99ms < pr.P50ms || pr.MeanBatch < 1 {
			t.Errorf("pass: %+v", pr)
		}
		if want := pr.FacesPerS * 0.5 / 100; pr.PeakFraction != want {
			t.Errorf("peak fraction %v, want %v", pr.PeakFraction, want)
		}
	}
	if r.Table() == "" {
		t.Error("empty table")
	}
}

func TestListImages(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"a/1.jpg", "a/2.PNG", "a/notes.txt", "_skip/3.jpg", "b/4.webp"} {
		p := filepath.Join(dir, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := ListImages(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"a/1.jpg", "a/2.PNG", "b/4.webp"}
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for i := range want {
		if got[i] != filepath.Join(dir, want[i]) {
			t.Errorf("%d: %s, want %s", i, got[i], want[i])
		}
	}
	list := filepath.Join(dir, "list.txt")
	os.WriteFile(list, []byte("# photos\na/1.jpg\n\n/abs/x.jpg\n"), 0o644)
	got, err = ListImages(list)
	if err != nil || len(got) != 2 || got[0] != filepath.Join(dir, "a/1.jpg") || got[1] != "/abs/x.jpg" {
		t.Errorf("list: %v %v", got, err)
	}
}
