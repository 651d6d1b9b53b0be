package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"vigil/embed"
	"vigil/models/vec"
)

// Pick chooses which detected face of a photo stands for it.
type Pick string

// The picks: the face nearest the image centre (the LFW convention: its photos are centred on
// the named person, and 18 % of them show others too), the largest box, the best score.
const (
	PickCenter  Pick = "center"
	PickLargest Pick = "largest"
	PickScore   Pick = "score"
)

// ParsePick checks s names a Pick.
func ParsePick(s string) (Pick, error) {
	switch p := Pick(s); p {
	case PickCenter, PickLargest, PickScore:
		return p, nil
	}
	return "", fmt.Errorf("pick %q: want center, largest or score", s)
}

// PickFace returns the index of the face p chooses among faces of a w×h photo, or -1 if none.
func PickFace(faces []embed.Face, w, h int, p Pick) int {
	best, bestV := -1, 0.0
	for i, f := range faces {
		var v float64
		switch p {
		case PickLargest:
			v = float64(f.Box[2]) * float64(f.Box[3])
		case PickScore:
			v = float64(f.Score)
		default: // nearest the centre: the largest negative squared distance
			dx := float64(f.Box[0]+f.Box[2]/2) - float64(w)/2
			dy := float64(f.Box[1]+f.Box[3]/2) - float64(h)/2
			v = -(dx*dx + dy*dy)
		}
		if best < 0 || v > bestV {
			best, bestV = i, v
		}
	}
	return best
}

// PhotoEmbedder turns one encoded photo into the embedding of the face that pick chooses.
// *embed.Pipeline does it through EmbedPhoto; tests may substitute their own.
type PhotoEmbedder func(ctx context.Context, data []byte, pick Pick) ([]float32, error)

// EmbedPhoto is the PhotoEmbedder of a real pipeline: decode (default limits), detect with the
// pipeline's options, pick, align, embed.
func EmbedPhoto(p *embed.Pipeline) PhotoEmbedder {
	return func(ctx context.Context, data []byte, pick Pick) ([]float32, error) {
		img, err := embed.Decode(data, embed.Limits{})
		if err != nil {
			return nil, err
		}
		faces, err := p.Detect(ctx, img, nil)
		if err != nil {
			return nil, err
		}
		i := PickFace(faces, img.W, img.H, pick)
		if i < 0 {
			return nil, embed.ErrNoFace
		}
		return p.Embed(ctx, img, faces[i])
	}
}

// AccuracyConfig is one `vigil bench accuracy` run.
type AccuracyConfig struct {
	Pairs   []Pair
	Root    string // pair paths are relative to it
	Pick    Pick
	Workers int // photos in flight at once (default 2 per CPU, so the embedder can batch)

	// Thresholds for the table (default 0.15, 0.20, ..., 0.60).
	Thresholds []float64

	// AllPairs also scores every pair of photos of different people among the photos the pairs
	// name, when the layout tells people apart (Root/<person>/<photo>, as LFW is): millions of
	// impostor pairs instead of a few thousand, so false-match rates down to ~1e-6 are measured
	// rather than extrapolated.
	AllPairs bool
}

// AccuracyResult is what `vigil bench accuracy` reports.
type AccuracyResult struct {
	Date   string `json:"date"`
	Pick   Pick   `json:"pick"`
	Pairs  int    `json:"pairs"`
	Images int    `json:"images"`

	DetectFailures   int      `json:"detect_failures"`
	FailedImages     []string `json:"failed_images,omitempty"` // up to 20, with the error
	PairsWithFailure int      `json:"pairs_with_failure"`      // scored -1: a failed photo never matches

	Verification
	Thresholds []ThresholdRow `json:"thresholds"`

	// From every cross-person pair (AllPairs): the threshold for each false-match target and
	// the genuine pairs' acceptance there.
	AllImpostors int        `json:"all_impostors,omitempty"`
	AllGenuine   int        `json:"all_genuine,omitempty"`
	AtFMR        []FMRPoint `json:"at_fmr,omitempty"`

	Seconds    float64 `json:"seconds"`
	ImagesPerS float64 `json:"images_per_s"`
}

// FMRPoint is the threshold that holds the false-match rate to FMR on the all-pairs impostors,
// with the genuine acceptance (TAR) there, measured on every same-person pair.
type FMRPoint struct {
	FMR       float64 `json:"fmr"`
	Threshold float64 `json:"threshold"`
	TAR       float64 `json:"tar"`
}

// RunAccuracy embeds every photo the pairs name (once each, Workers at a time), scores each
// pair by cosine, and computes the verification figures. A photo without a usable face counts
// as a failure: its pairs score -1, never a match, so failures cost accuracy as they would in
// production.
func RunAccuracy(ctx context.Context, cfg AccuracyConfig, emb PhotoEmbedder) (*AccuracyResult, error) {
	if len(cfg.Pairs) == 0 {
		return nil, errors.New("accuracy: no pairs")
	}
	if cfg.Pick == "" {
		cfg.Pick = PickCenter
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 2 * runtime.NumCPU()
	}
	if len(cfg.Thresholds) == 0 {
		for t := 15; t <= 60; t += 5 {
			cfg.Thresholds = append(cfg.Thresholds, float64(t)/100)
		}
	}
	t0 := time.Now()
	var files []string
	seen := map[string]bool{}
	for _, p := range cfg.Pairs {
		for _, f := range [...]string{p.Left, p.Right} {
			if !seen[f] {
				seen[f] = true
				files = append(files, f)
			}
		}
	}
	slices.Sort(files)
	vecs := make([][]float32, len(files))
	errs := make([]error, len(files))
	var wg sync.WaitGroup
	next := make(chan int)
	for range cfg.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				data, err := os.ReadFile(filepath.Join(cfg.Root, files[i]))
				if err == nil {
					vecs[i], err = emb(ctx, data, cfg.Pick)
				}
				errs[i] = err
			}
		}()
	}
	for i := range files {
		select {
		case next <- i:
		case <-ctx.Done():
		}
	}
	close(next)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	r := &AccuracyResult{Date: time.Now().UTC().Format(time.RFC3339), Pick: cfg.Pick, Pairs: len(cfg.Pairs), Images: len(files)}
	index := make(map[string]int, len(files))
	for i, f := range files {
		index[f] = i
		if errs[i] != nil {
			r.DetectFailures++
			if len(r.FailedImages) < 20 {
				r.FailedImages = append(r.FailedImages, f+": "+errs[i].Error())
			}
		}
	}
	scores := make([]float64, len(cfg.Pairs))
	same := make([]bool, len(cfg.Pairs))
	var gen, imp []float64
	for i, p := range cfg.Pairs {
		a, b := vecs[index[p.Left]], vecs[index[p.Right]]
		s := -1.0
		if a == nil || b == nil {
			r.PairsWithFailure++
		} else {
			s = cosine(a, b)
		}
		scores[i], same[i] = s, p.Same
		if p.Same {
			gen = append(gen, s)
		} else {
			imp = append(imp, s)
		}
	}
	v, err := Verify(scores, same)
	if err != nil {
		return nil, err
	}
	r.Verification = v
	r.Thresholds = ThresholdTable(gen, imp, cfg.Thresholds)
	if cfg.AllPairs {
		r.allPairs(files, vecs)
	}
	r.Seconds = time.Since(t0).Seconds()
	r.ImagesPerS = float64(len(files)) / r.Seconds
	return r, nil
}

// allPairs scores every pair of embedded photos, split into same and different person by the
// photo's folder; it does nothing if any photo lies directly in the root.
func (r *AccuracyResult) allPairs(files []string, vecs [][]float32) {
	person := make([]string, len(files))
	for i, f := range files {
		dir := filepath.Dir(filepath.ToSlash(f))
		if dir == "." || dir == "" {
			return
		}
		person[i] = dir
	}
	var gen, imp []float64
	for i := range files {
		if vecs[i] == nil {
			continue
		}
		for j := i + 1; j < len(files); j++ {
			if vecs[j] == nil {
				continue
			}
			s := cosine(vecs[i], vecs[j])
			if person[i] == person[j] {
				gen = append(gen, s)
			} else {
				imp = append(imp, s)
			}
		}
	}
	if len(gen) == 0 || len(imp) == 0 {
		return
	}
	r.AllGenuine, r.AllImpostors = len(gen), len(imp)
	slices.Sort(gen)
	for _, fmr := range []float64{1e-2, 1e-3, 1e-4, 1e-5, 1e-6} {
		t, ok := ThresholdAtFMR(imp, fmr)
		if !ok {
			break
		}
		tar := float64(len(gen)-lowerBound(gen, t)) / float64(len(gen))
		r.AtFMR = append(r.AtFMR, FMRPoint{FMR: fmr, Threshold: t, TAR: tar})
	}
}

// cosine of two unit vectors.
func cosine(a, b []float32) float64 { return float64(vec.Dot(a, b)) }

// Table writes r for people.
func (r *AccuracyResult) Table() string {
	var b strings.Builder
	fmt.Fprintf(&b, "pairs %d (%d genuine, %d impostor), photos %d, face pick %s\n", r.Pairs, r.Genuine, r.Impostor, r.Images, r.Pick)
	fmt.Fprintf(&b, "detection failures %d photos, %d pairs (scored as non-matches)\n", r.DetectFailures, r.PairsWithFailure)
	for _, f := range r.FailedImages {
		fmt.Fprintf(&b, "  %s\n", f)
	}
	fmt.Fprintf(&b, "accuracy %.2f %% at threshold %.4f (best on these pairs)\n", 100*r.Accuracy, r.BestThreshold)
	for _, t := range r.TARAtFAR {
		fmt.Fprintf(&b, "TAR %.2f %% at FAR %.0e (threshold %.4f, %d impostors allowed)\n", 100*t.TAR, t.FAR, t.Threshold, t.ImpostorsAllowed)
	}
	fmt.Fprintf(&b, "EER %.2f %% at %.4f; mean score genuine %.3f, impostor %.3f\n", 100*r.EER, r.EERThreshold, r.MeanGenuine, r.MeanImpostor)
	b.WriteString("\nthreshold  false-match rate        false-non-match rate\n")
	for _, t := range r.Thresholds {
		fmt.Fprintf(&b, "%9.2f  %-22s  %s\n", t.Threshold, formatRate(t.FMR, t.FalseMatch, t.Impostors), formatRate(t.FNMR, t.FalseReject, t.Genuine))
	}
	if len(r.AtFMR) > 0 {
		fmt.Fprintf(&b, "\nevery pair of these photos: %d impostor, %d genuine\n", r.AllImpostors, r.AllGenuine)
		b.WriteString("false-match rate  threshold  genuine accepted\n")
		for _, p := range r.AtFMR {
			fmt.Fprintf(&b, "%16.0e  %9.4f  %.2f %%\n", p.FMR, p.Threshold, 100*p.TAR)
		}
	}
	fmt.Fprintf(&b, "\n%.1f s, %.1f photos/s\n", r.Seconds, r.ImagesPerS)
	return b.String()
}
