package bench

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"vigil/embed"
	"vigil/embed/attributes"
)

// AgeLabel is one labelled photo of an age/gender labels file.
type AgeLabel struct {
	File   string  // slash-separated, relative to the photo root; its directory names the identity
	Age    float64 // years
	Gender string  // "female" or "male"
}

// Identity is the label's identity: the file's directory (LFW's layout), or the file itself.
func (l AgeLabel) Identity() string {
	if d := path.Dir(l.File); d != "." {
		return d
	}
	return l.File
}

// ReadAgeLabels parses a labels CSV: a header naming the columns file, age and gender (any
// order, other columns ignored), then one photo per row. Lines starting with # are comments.
// Ages must be in [0, 130]; gender is female or male (f/m, any case). A file listed twice is an
// error.
func ReadAgeLabels(r io.Reader) ([]AgeLabel, error) {
	cr := csv.NewReader(r)
	cr.Comment = '#'
	cr.TrimLeadingSpace = true
	head, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("age labels: header: %w", err)
	}
	col := map[string]int{}
	for i, h := range head {
		col[strings.ToLower(strings.TrimSpace(h))] = i
	}
	fi, okF := col["file"]
	ai, okA := col["age"]
	gi, okG := col["gender"]
	if !okF || !okA || !okG {
		return nil, fmt.Errorf("age labels: header %q needs the columns file, age and gender", head)
	}
	cr.FieldsPerRecord = len(head)
	var out []AgeLabel
	seen := map[string]bool{}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("age labels: %w", err)
		}
		line, _ := cr.FieldPos(0)
		f := filepath.ToSlash(strings.TrimSpace(rec[fi]))
		if f == "" || path.IsAbs(f) || strings.HasPrefix(path.Clean(f), "..") {
			return nil, fmt.Errorf("age labels: line %d: file %q must be a relative path inside the root", line, rec[fi])
		}
		if seen[f] {
			return nil, fmt.Errorf("age labels: line %d: %s listed twice", line, f)
		}
		seen[f] = true
		age, err := strconv.ParseFloat(strings.TrimSpace(rec[ai]), 64)
		if err != nil || !(age >= 0 && age <= 130) {
			return nil, fmt.Errorf("age labels: line %d: age %q is not a number of years in [0, 130]", line, rec[ai])
		}
		var g string
		switch strings.ToLower(strings.TrimSpace(rec[gi])) {
		case "female", "f":
			g = "female"
		case "male", "m":
			g = "male"
		default:
			return nil, fmt.Errorf("age labels: line %d: gender %q is not female or male", line, rec[gi])
		}
		out = append(out, AgeLabel{File: f, Age: age, Gender: g})
	}
	if len(out) == 0 {
		return nil, errors.New("age labels: no rows")
	}
	return out, nil
}

// ReadAgeLabelsFile reads a labels CSV file (ReadAgeLabels).
func ReadAgeLabelsFile(name string) ([]AgeLabel, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	l, err := ReadAgeLabels(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return l, nil
}

// AgeConfig configures RunAge.
type AgeConfig struct {
	Labels   []AgeLabel
	Root     string          // the directory the labels' files are relative to
	Pipeline *embed.Pipeline // detection (its detect options; the face nearest the photo's centre is taken)
	// Estimators, one per crop scale compared; one result each, in this order. The scale with
	// the lowest MAE on the selection half (identities at even positions in name order) is
	// marked Chosen; the other half is held out, so its figure is an honest one.
	Estimators []*attributes.Estimator
	// Shrink lists factors in (0, 1): each photo is also shrunk by each (area averaging) and
	// its face estimated again with the chosen scale's estimator, detected with no minimum
	// size, to see where small faces start to drift (AgeShrinkResult).
	Shrink  []float64
	Threads int       // photos in flight at once (runtime.NumCPU())
	Source  string    // what the labels are, for the record (the CSV's name)
	Log     io.Writer // progress and per-photo failures; nil: none
}

// AgeStats are the figures of one set of faces.
type AgeStats struct {
	Identities int     `json:"identities"`
	Faces      int     `json:"faces"`
	MAE        float64 `json:"mae"`         // mean |estimate - label|, years, on the unrounded estimate
	MeanError  float64 `json:"mean_error"`  // mean estimate - label: the bias
	GenderAcc  float64 `json:"gender_acc"`  // share of faces whose gender is right
	Within10   float64 `json:"within_10"`   // share within 10 years
	BandAcc    float64 `json:"band_acc"`    // share whose estimated band is the label's
	Flagged    int     `json:"flagged"`     // faces with out_of_range or small_face
	FlaggedMAE float64 `json:"flagged_mae"` // MAE of those (NaN → -1 when none)
	CleanMAE   float64 `json:"clean_mae"`   // MAE of the others
}

// AgeBandStats are one true-age band's figures.
type AgeBandStats struct {
	Band      string  `json:"band"`
	Faces     int     `json:"faces"`
	MAE       float64 `json:"mae"`
	MeanError float64 `json:"mean_error"`
	GenderAcc float64 `json:"gender_acc"`
}

// AgeResult is one crop scale's figures; the run-level ones repeat on every row so each JSON
// line stands alone.
type AgeResult struct {
	Date       string  `json:"date"`
	Labels     string  `json:"labels"`
	CPU        string  `json:"cpu"`
	CPUs       int     `json:"cpus"`
	Threads    int     `json:"threads"`
	Model      string  `json:"model"`
	Device     string  `json:"device"`
	CropScale  float64 `json:"crop_scale"`
	Chosen     bool    `json:"chosen"` // lowest MAE on the selection half
	MinFace    int     `json:"min_face"`
	Images     int     `json:"images"`
	Detected   int     `json:"detected"` // photos with a face estimated
	Failed     int     `json:"failed"`   // unreadable, or no face found
	OutOfRange int     `json:"out_of_range"`
	AtFloor    int     `json:"at_floor"`   // of those, estimates under attributes.SaturatedBelow
	AtCeiling  int     `json:"at_ceiling"` // and at or over attributes.SaturatedAbove
	SmallFace  int     `json:"small_face"`
	MedianFace float64 `json:"median_face_px"` // the estimated faces' box side

	All       AgeStats       `json:"all"`
	Selection AgeStats       `json:"selection"` // identities at even positions in name order
	HeldOut   AgeStats       `json:"held_out"`  // the odd ones
	InRange   AgeStats       `json:"in_range"`  // labels within the model's 18–75
	ByBand    []AgeBandStats `json:"by_band"`   // by the label's band, over all faces

	// Throughput of the pass (every photo decoded, detected and estimated at every scale, with
	// Threads photos in flight): photos per second, and per photo the mean milliseconds of each
	// step; EstimateMs is one face at this scale.
	ImagesPerS float64 `json:"images_per_s"`
	DecodeMs   float64 `json:"decode_ms"`
	DetectMs   float64 `json:"detect_ms"`
	EstimateMs float64 `json:"estimate_ms"`
	FacesPerS  float64 `json:"faces_per_s"` // 1000/EstimateMs × Threads: the age stage alone at this concurrency
	MeanBatch  float64 `json:"mean_batch"`
	// OthersCPU is how many cores other processes kept busy during the pass (-1 if unknown):
	// timings taken with this near 0 are the trustworthy ones.
	OthersCPU float64 `json:"others_cpu"`

	Shrink []AgeShrinkResult `json:"shrink,omitempty"` // only on the chosen row
}

// AgeShrinkResult is one shrink factor's figures, at the chosen crop scale.
type AgeShrinkResult struct {
	Factor     float64 `json:"factor"`
	MedianFace float64 `json:"median_face_px"`
	Detected   int     `json:"detected"`
	Failed     int     `json:"failed"`
	MAE        float64 `json:"mae"`
	// Drift is the mean |estimate - the same photo's full-size estimate|, years: what the
	// smaller face alone changes (the full-size estimate's own error left out).
	Drift     float64 `json:"drift"`
	GenderAcc float64 `json:"gender_acc"`
	// GenderFlip is the share of faces whose gender differs from the full-size estimate's.
	GenderFlip float64 `json:"gender_flip"`
}

// ageFace is one photo's outcome.
type ageFace struct {
	label   AgeLabel
	half    int // 0 selection, 1 held out
	ok      bool
	size    float64 // face box side, px
	res     []attributes.Result
	decode  time.Duration
	detect  time.Duration
	perEst  []time.Duration
	shrinks []shrunk
}

type shrunk struct {
	ok   bool
	size float64
	res  attributes.Result
}

// RunAge estimates every labelled photo's central face at every crop scale and reports, per
// scale, the error against the labels overall, per half, per true-age band and for flagged
// faces, with throughput.
func RunAge(cfg AgeConfig) ([]AgeResult, error) {
	if len(cfg.Labels) == 0 || cfg.Pipeline == nil || len(cfg.Estimators) == 0 {
		return nil, errors.New("bench age: labels, a pipeline and an estimator are required")
	}
	for _, f := range cfg.Shrink {
		if !(f > 0 && f < 1) {
			return nil, fmt.Errorf("bench age: shrink factor %v not in (0, 1)", f)
		}
	}
	if cfg.Threads <= 0 {
		cfg.Threads = runtime.NumCPU()
	}
	logf := func(format string, a ...any) {
		if cfg.Log != nil {
			fmt.Fprintf(cfg.Log, "bench: "+format+"\n", a...)
		}
	}
	halves := splitHalves(cfg.Labels)
	faces := make([]ageFace, len(cfg.Labels))
	for i, l := range cfg.Labels {
		faces[i] = ageFace{label: l, half: halves[l.Identity()]}
	}
	ctx := context.Background()
	logf("age: %d photos of %d identities, crop scales %v, %d threads", len(faces), len(halves), ageScales(cfg.Estimators), cfg.Threads)
	t0, cpu := time.Now(), newCPUMeter()
	err := ageEach(len(faces), cfg.Threads, func(i int) error {
		return measureFace(ctx, cfg, &faces[i], logf)
	})
	if err != nil {
		return nil, err
	}
	wall, others := time.Since(t0), cpu.others()
	rows := make([]AgeResult, len(cfg.Estimators))
	best := -1
	for k, e := range cfg.Estimators {
		rows[k] = summarize(cfg, faces, k, e)
		rows[k].ImagesPerS = float64(len(faces)) / wall.Seconds()
		rows[k].OthersCPU = others
		if best < 0 || rows[k].Selection.MAE < rows[best].Selection.MAE {
			best = k
		}
	}
	rows[best].Chosen = true
	if len(cfg.Shrink) > 0 {
		logf("age: shrinking each photo by %v and estimating at crop scale %.2f", cfg.Shrink, cfg.Estimators[best].CropScale())
		est := cfg.Estimators[best]
		err := ageEach(len(faces), cfg.Threads, func(i int) error {
			if !faces[i].ok {
				return nil
			}
			return shrinkFace(ctx, cfg, est, &faces[i])
		})
		if err != nil {
			return nil, err
		}
		for s, f := range cfg.Shrink {
			rows[best].Shrink = append(rows[best].Shrink, summarizeShrink(faces, s, f, best))
		}
	}
	return rows, nil
}

// splitHalves numbers the identities in name order: even positions are the selection half (0),
// odd ones the held-out half (1).
func splitHalves(labels []AgeLabel) map[string]int {
	var ids []string
	seen := map[string]bool{}
	for _, l := range labels {
		if id := l.Identity(); !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	out := make(map[string]int, len(ids))
	for i, id := range ids {
		out[id] = i % 2
	}
	return out
}

func ageScales(es []*attributes.Estimator) []float64 {
	s := make([]float64, len(es))
	for i, e := range es {
		s[i] = e.CropScale()
	}
	return s
}

// ageEach runs fn(0..n-1) on threads goroutines; the first error stops the rest.
func ageEach(n, threads int, fn func(i int) error) error {
	var (
		mu    sync.Mutex
		next  int
		first error
		wg    sync.WaitGroup
	)
	for range min(threads, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				i := next
				next++
				stop := first != nil
				mu.Unlock()
				if i >= n || stop {
					return
				}
				if err := fn(i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	return first
}

// ageCentral is the face nearest the photo's centre: LFW's labelled person.
func ageCentral(img *embed.Image, faces []embed.Face) embed.Face {
	best, bd := faces[0], math.Inf(1)
	for _, f := range faces {
		dx := float64(f.Box[0]+f.Box[2]/2) - float64(img.W)/2
		dy := float64(f.Box[1]+f.Box[3]/2) - float64(img.H)/2
		if d := dx*dx + dy*dy; d < bd {
			best, bd = f, d
		}
	}
	return best
}

// measureFace decodes, detects and estimates one photo at every scale. Unusable photos are
// logged and counted, not errors; an estimator failing is.
func measureFace(ctx context.Context, cfg AgeConfig, f *ageFace, logf func(string, ...any)) error {
	t := time.Now()
	b, err := os.ReadFile(filepath.Join(cfg.Root, filepath.FromSlash(f.label.File)))
	var img *embed.Image
	if err == nil {
		img, err = embed.Decode(b, embed.DefaultLimits())
	}
	f.decode = time.Since(t)
	if err != nil {
		logf("age: %s: %v", f.label.File, err)
		return nil
	}
	t = time.Now()
	found, err := cfg.Pipeline.Detect(ctx, img, nil)
	f.detect = time.Since(t)
	if err != nil {
		logf("age: %s: %v", f.label.File, err)
		return nil
	}
	face := ageCentral(img, found)
	f.size = float64(max(face.Box[2], face.Box[3]))
	f.res = make([]attributes.Result, len(cfg.Estimators))
	f.perEst = make([]time.Duration, len(cfg.Estimators))
	for k, e := range cfg.Estimators {
		t = time.Now()
		r, err := e.Estimate(ctx, img, face.Box)
		f.perEst[k] = time.Since(t)
		if err != nil {
			return fmt.Errorf("bench age: %s at crop scale %.2f: %w", f.label.File, e.CropScale(), err)
		}
		f.res[k] = r
	}
	f.ok = true
	return nil
}

// shrinkFace estimates f's photo shrunk by each factor.
func shrinkFace(ctx context.Context, cfg AgeConfig, est *attributes.Estimator, f *ageFace) error {
	b, err := os.ReadFile(filepath.Join(cfg.Root, filepath.FromSlash(f.label.File)))
	if err != nil {
		return err
	}
	img, err := embed.Decode(b, embed.DefaultLimits())
	if err != nil {
		return err
	}
	opt := embed.DefaultDetectOptions()
	opt.MinFaceSize = 0
	f.shrinks = make([]shrunk, len(cfg.Shrink))
	for s, factor := range cfg.Shrink {
		small := shrinkImage(img, factor)
		found, err := cfg.Pipeline.Detect(ctx, small, &opt)
		if err != nil {
			continue // not found at this size: counted as failed
		}
		face := ageCentral(small, found)
		r, err := est.Estimate(ctx, small, face.Box)
		if err != nil {
			return fmt.Errorf("bench age: %s shrunk ×%.2f: %w", f.label.File, factor, err)
		}
		f.shrinks[s] = shrunk{ok: true, size: float64(max(face.Box[2], face.Box[3])), res: r}
	}
	return nil
}

// shrinkImage scales img by f < 1 with area averaging (each output pixel the mean of its
// footprint, as cv2.INTER_AREA): what a camera farther away records, without aliasing.
func shrinkImage(img *embed.Image, f float64) *embed.Image {
	dw, dh := max(1, int(math.Round(float64(img.W)*f))), max(1, int(math.Round(float64(img.H)*f)))
	xs, ys := areaTaps(img.W, dw), areaTaps(img.H, dh)
	out := &embed.Image{W: dw, H: dh, Pix: make([]uint8, 3*dw*dh)}
	row := make([]float64, 3*img.W)
	for y := 0; y < dh; y++ {
		clear(row)
		for _, ty := range ys[y] {
			src := img.Pix[3*ty.i*img.W : 3*(ty.i+1)*img.W]
			for k, v := range src {
				row[k] += float64(v) * ty.w
			}
		}
		for x := 0; x < dw; x++ {
			var acc [3]float64
			for _, tx := range xs[x] {
				for c := 0; c < 3; c++ {
					acc[c] += row[3*tx.i+c] * tx.w
				}
			}
			for c := 0; c < 3; c++ {
				out.Pix[3*(y*dw+x)+c] = uint8(min(max(math.Round(acc[c]), 0), 255))
			}
		}
	}
	return out
}

type areaTap struct {
	i int
	w float64
}

// areaTaps gives, per output sample of a line of sn shrunk to dn, the source samples it covers
// and their weights (overlap over footprint, summing to 1).
func areaTaps(sn, dn int) [][]areaTap {
	scale := float64(sn) / float64(dn)
	out := make([][]areaTap, dn)
	for d := range out {
		lo, hi := float64(d)*scale, float64(d+1)*scale
		for s := int(lo); s < min(int(math.Ceil(hi)), sn); s++ {
			if w := (min(hi, float64(s+1)) - max(lo, float64(s))) / scale; w > 0 {
				out[d] = append(out[d], areaTap{s, w})
			}
		}
	}
	return out
}

// summarize computes scale k's row.
func summarize(cfg AgeConfig, faces []ageFace, k int, e *attributes.Estimator) AgeResult {
	r := AgeResult{Date: time.Now().UTC().Format(time.RFC3339), Labels: cfg.Source, CPU: cpuModel(), CPUs: runtime.NumCPU(),
		Threads: cfg.Threads, Model: e.Model(), Device: e.Device(), CropScale: e.CropScale(), MinFace: e.MinFaceSize(),
		Images: len(faces), MeanBatch: e.MeanBatch()}
	var sel, held, all, inRange []*ageFace
	var sizes []float64
	var dec, det, est time.Duration
	for i := range faces {
		f := &faces[i]
		dec += f.decode
		det += f.detect
		if !f.ok {
			r.Failed++
			continue
		}
		r.Detected++
		est += f.perEst[k]
		sizes = append(sizes, f.size)
		all = append(all, f)
		if f.label.Age >= attributes.MinAge && f.label.Age <= attributes.MaxAge {
			inRange = append(inRange, f)
		}
		if f.half == 0 {
			sel = append(sel, f)
		} else {
			held = append(held, f)
		}
		res := f.res[k]
		if res.OutOfRange {
			r.OutOfRange++
		}
		if res.RawAge < attributes.SaturatedBelow {
			r.AtFloor++
		}
		if res.RawAge >= attributes.SaturatedAbove {
			r.AtCeiling++
		}
		if res.SmallFace {
			r.SmallFace++
		}
	}
	r.All, r.Selection, r.HeldOut, r.InRange = ageStats(all, k), ageStats(sel, k), ageStats(held, k), ageStats(inRange, k)
	byBand := map[string][]*ageFace{}
	for _, f := range all {
		b := attributes.Band(float32(f.label.Age))
		if b == "" {
			b = "<18"
		}
		byBand[b] = append(byBand[b], f)
	}
	for _, b := range append([]string{"<18"}, attributes.Bands...) {
		if fs := byBand[b]; len(fs) > 0 {
			s := ageStats(fs, k)
			r.ByBand = append(r.ByBand, AgeBandStats{Band: b, Faces: s.Faces, MAE: s.MAE, MeanError: s.MeanError, GenderAcc: s.GenderAcc})
		}
	}
	r.MedianFace = ageMedian(sizes)
	r.DecodeMs = ms(dec) / float64(max(len(faces), 1))
	r.DetectMs = ms(det) / float64(max(len(faces), 1))
	if r.Detected > 0 {
		r.EstimateMs = ms(est) / float64(r.Detected)
		r.FacesPerS = 1000 / r.EstimateMs * float64(cfg.Threads)
	}
	return r
}

func ageStats(fs []*ageFace, k int) AgeStats {
	s := AgeStats{Faces: len(fs), FlaggedMAE: -1, CleanMAE: -1}
	if len(fs) == 0 {
		return s
	}
	ids := map[string]bool{}
	var abs, signed, flaggedAbs, cleanAbs float64
	var gender, within, band, clean int
	for _, f := range fs {
		ids[f.label.Identity()] = true
		res := f.res[k]
		d := float64(res.RawAge) - f.label.Age
		abs += math.Abs(d)
		signed += d
		if res.Gender == f.label.Gender {
			gender++
		}
		if math.Abs(d) <= 10 {
			within++
		}
		if res.Band == attributes.Band(float32(f.label.Age)) {
			band++
		}
		if res.OutOfRange || res.SmallFace {
			s.Flagged++
			flaggedAbs += math.Abs(d)
		} else {
			clean++
			cleanAbs += math.Abs(d)
		}
	}
	n := float64(len(fs))
	s.Identities = len(ids)
	s.MAE, s.MeanError = abs/n, signed/n
	s.GenderAcc, s.Within10, s.BandAcc = float64(gender)/n, float64(within)/n, float64(band)/n
	if s.Flagged > 0 {
		s.FlaggedMAE = flaggedAbs / float64(s.Flagged)
	}
	if clean > 0 {
		s.CleanMAE = cleanAbs / float64(clean)
	}
	return s
}

func summarizeShrink(faces []ageFace, s int, factor float64, k int) AgeShrinkResult {
	r := AgeShrinkResult{Factor: factor}
	var sizes []float64
	var abs, drift float64
	var gender, flip int
	for i := range faces {
		f := &faces[i]
		if !f.ok {
			continue
		}
		if len(f.shrinks) <= s || !f.shrinks[s].ok {
			r.Failed++
			continue
		}
		sh := f.shrinks[s]
		r.Detected++
		sizes = append(sizes, sh.size)
		abs += math.Abs(float64(sh.res.RawAge) - f.label.Age)
		drift += math.Abs(float64(sh.res.RawAge - f.res[k].RawAge))
		if sh.res.Gender == f.label.Gender {
			gender++
		}
		if sh.res.Gender != f.res[k].Gender {
			flip++
		}
	}
	if r.Detected > 0 {
		n := float64(r.Detected)
		r.MAE, r.Drift, r.GenderAcc, r.GenderFlip = abs/n, drift/n, float64(gender)/n, float64(flip)/n
	}
	r.MedianFace = ageMedian(sizes)
	return r
}

func ageMedian(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	v = slices.Clone(v)
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

// WriteAgeTable prints the crop-scale comparison, then the chosen scale's details.
func WriteAgeTable(w io.Writer, rows []AgeResult) error {
	if len(rows) == 0 {
		return nil
	}
	r := rows[0]
	fmt.Fprintf(w, "vigil bench age  %s  %s\n", r.Date, r.Labels)
	fmt.Fprintf(w, "cpu %s, %d cores; threads %d; model %s on %s\n", r.CPU, r.CPUs, r.Threads, r.Model, r.Device)
	fmt.Fprintf(w, "photos %d: faces estimated %d, failed %d (unreadable or no face); median face %.0f px\n\n",
		r.Images, r.Detected, r.Failed, r.MedianFace)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "crop scale\tMAE selection\tMAE held out\tMAE all\tbias\tgender sel\tgender held\tgender all\t\n")
	for _, r := range rows {
		mark := ""
		if r.Chosen {
			mark = " *"
		}
		fmt.Fprintf(tw, "%.2f%s\t%.2f\t%.2f\t%.2f\t%+.2f\t%.1f%%\t%.1f%%\t%.1f%%\t\n", r.CropScale, mark,
			r.Selection.MAE, r.HeldOut.MAE, r.All.MAE, r.All.MeanError,
			100*r.Selection.GenderAcc, 100*r.HeldOut.GenderAcc, 100*r.All.GenderAcc)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, c := range rows {
		if !c.Chosen {
			continue
		}
		if len(rows) > 1 {
			fmt.Fprintf(w, "* chosen: lowest MAE on the selection half (%d identities at even positions in name order); held out: the other %d\n",
				c.Selection.Identities, c.HeldOut.Identities)
		}
		fmt.Fprintf(w, "\ncrop scale %.2f: MAE %.2f years (selection %.2f, held out %.2f), bias %+.2f, within 10 years %.1f%%, band right %.1f%%, gender %.1f%%\n",
			c.CropScale, c.All.MAE, c.Selection.MAE, c.HeldOut.MAE, c.All.MeanError, 100*c.All.Within10, 100*c.All.BandAcc, 100*c.All.GenderAcc)
		fmt.Fprintf(w, "labels within the model's %d–%d: %d faces, MAE %.2f, bias %+.2f\n", attributes.MinAge, attributes.MaxAge,
			c.InRange.Faces, c.InRange.MAE, c.InRange.MeanError)
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintf(tw, "true age\tfaces\tMAE\tbias\tgender\t\n")
		for _, b := range c.ByBand {
			fmt.Fprintf(tw, "%s\t%d\t%.2f\t%+.2f\t%.1f%%\t\n", b.Band, b.Faces, b.MAE, b.MeanError, 100*b.GenderAcc)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		fmt.Fprintf(w, "flagged: %d faces (out_of_range %d: %d under %d, %d at %d or over; small_face %d, face under %d px), MAE %s; unflagged %d, MAE %s\n",
			c.All.Flagged, c.OutOfRange, c.AtFloor, attributes.SaturatedBelow, c.AtCeiling, attributes.SaturatedAbove,
			c.SmallFace, c.MinFace, maeCell(c.All.FlaggedMAE), c.All.Faces-c.All.Flagged, maeCell(c.All.CleanMAE))
		fmt.Fprintf(w, "throughput: %.1f photos/s (%d threads, every scale estimated; other processes %.2f cores); per photo decode %.2f ms, detect %.2f ms; estimate %.2f ms per face (≈ %.0f faces/s), mean batch %.2f\n",
			c.ImagesPerS, c.Threads, c.OthersCPU, c.DecodeMs, c.DetectMs, c.EstimateMs, c.FacesPerS, c.MeanBatch)
		if len(c.Shrink) > 0 {
			fmt.Fprintf(w, "\nsmall faces: each photo shrunk (area), detected with no minimum size, estimated at crop scale %.2f\n", c.CropScale)
			tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
			fmt.Fprintf(tw, "shrink\tmedian face px\tdetected\tmissed\tMAE\tdrift vs full size\tgender\tgender flips\t\n")
			fmt.Fprintf(tw, "1.00\t%.0f\t%d\t%d\t%.2f\t0.00\t%.1f%%\t0.0%%\t\n", c.MedianFace, c.Detected, 0, c.All.MAE, 100*c.All.GenderAcc)
			for _, s := range c.Shrink {
				fmt.Fprintf(tw, "%.2f\t%.0f\t%d\t%d\t%.2f\t%.2f\t%.1f%%\t%.1f%%\t\n", s.Factor, s.MedianFace, s.Detected, s.Failed,
					s.MAE, s.Drift, 100*s.GenderAcc, 100*s.GenderFlip)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
		}
	}
	return nil
}

func maeCell(v float64) string {
	if v < 0 {
		return "-"
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}
