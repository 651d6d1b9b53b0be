package bench

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"vigil/embed"
)

// ListImages returns the image files under src in name order, skipping folders whose name
// starts with "_" (shared/faces keeps its special cases there), or, when src is a file, the
// paths it lists one per line (relative to its folder; '#' starts a comment).
func ListImages(src string) ([]string, error) {
	st, err := os.Stat(src)
	if err != nil {
		return nil, err
	}
	var out []string
	if !st.IsDir() {
		b, err := os.ReadFile(src)
		if err != nil {
			return nil, err
		}
		base := filepath.Dir(src)
		for _, ln := range strings.Split(string(b), "\n") {
			ln = strings.TrimSpace(ln)
			if ln == "" || strings.HasPrefix(ln, "#") {
				continue
			}
			if !filepath.IsAbs(ln) {
				ln = filepath.Join(base, ln)
			}
			out = append(out, ln)
		}
		return out, nil
	}
	err = filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != src && strings.HasPrefix(d.Name(), "_") {
				return filepath.SkipDir
			}
			return nil
		}
		switch strings.ToLower(filepath.Ext(p)) {
		case ".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff":
			out = append(out, p)
		}
		return nil
	})
	slices.Sort(out)
	return out, err
}

// PipelineConfig is one `vigil bench pipeline` run.
type PipelineConfig struct {
	Files   []string
	Workers int // images in flight in the concurrent pass (default 2 per CPU)
	Repeat  int // passes over the files per measurement (default 1)

	// For the utilisation figure: the embedding model's compute per face (manifest gflops) and
	// the CPU's peak (0: PeakGFLOPS's estimate).
	EmbedGFLOPs float64
	PeakGFLOPS  float64
}

// PipelineResult is what `vigil bench pipeline` reports.
type PipelineResult struct {
	Date     string         `json:"date"`
	CPU      string         `json:"cpu"`
	CPUs     int            `json:"cpus"`
	Device   string         `json:"device"`
	Images   int            `json:"images"`
	Faces    int            `json:"faces"` // per pass
	Failures int            `json:"failures"`
	Sizes    map[string]int `json:"sizes"` // image sizes seen, WxH → count
	Repeat   int            `json:"repeat"`

	Single     PassResult `json:"single"`     // one image at a time
	Concurrent PassResult `json:"concurrent"` // Workers images at a time

	EmbedGFLOPs float64 `json:"embed_gflops_per_face,omitempty"`
	PeakGFLOPS  float64 `json:"peak_gflops,omitempty"`
}

// PassResult is one pass's figures. Latency is per image, from encoded bytes to every face's
// embedding.
type PassResult struct {
	Workers    int     `json:"workers"`
	ImagesPerS float64 `json:"images_per_s"`
	FacesPerS  float64 `json:"faces_per_s"`
	P50ms      float64 `json:"p50_ms"`
	P99ms      float64 `json:"p99_ms"`
	MeanMs     float64 `json:"mean_ms"`
	MeanBatch  float64 `json:"mean_batch"` // faces per embedding-model call
	// Where the time goes, per image summed over workers, in ms: decode, detect (with its
	// resizing), embed (align + model).
	SplitMs map[string]float64 `json:"split_ms_per_image"`
	// Embedding compute reached: FacesPerS × the model's GFLOPs, and its share of the peak.
	EmbedGFLOPS  float64 `json:"embed_gflops,omitempty"`
	PeakFraction float64 `json:"embed_peak_fraction,omitempty"`
}

// RunPipeline measures decode → detect → align → embed of every face, over files held in
// memory: a warm-up, then one pass with one image at a time, then one with Workers at a time.
func RunPipeline(ctx context.Context, cfg PipelineConfig, p *embed.Pipeline) (*PipelineResult, error) {
	if len(cfg.Files) == 0 {
		return nil, errors.New("pipeline: no images")
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 2 * runtime.NumCPU()
	}
	cfg.Repeat = max(cfg.Repeat, 1)
	if cfg.PeakGFLOPS <= 0 {
		cfg.PeakGFLOPS = PeakGFLOPS()
	}
	data := make([][]byte, len(cfg.Files))
	r := &PipelineResult{Date: time.Now().UTC().Format(time.RFC3339), CPU: cpuModel(), CPUs: runtime.NumCPU(),
		Device: p.Device(), Images: len(cfg.Files), Sizes: map[string]int{}, Repeat: cfg.Repeat,
		EmbedGFLOPs: cfg.EmbedGFLOPs, PeakGFLOPS: cfg.PeakGFLOPS}
	for i, f := range cfg.Files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		data[i] = b
		if img, err := embed.Decode(b, embed.Limits{}); err == nil {
			r.Sizes[fmt.Sprintf("%dx%d", img.W, img.H)]++
		}
	}
	// Warm-up: sessions allocate their buffers on first use, per input size.
	warm := data[:min(len(data), 20)]
	if _, err := pass(ctx, p, warm, 1, 1); err != nil {
		return nil, err
	}
	one, err := pass(ctx, p, data, 1, cfg.Repeat)
	if err != nil {
		return nil, err
	}
	many, err := pass(ctx, p, data, cfg.Workers, cfg.Repeat)
	if err != nil {
		return nil, err
	}
	r.Faces, r.Failures = one.faces/cfg.Repeat, one.failures/cfg.Repeat
	r.Single, r.Concurrent = one.result(cfg), many.result(cfg)
	return r, nil
}

type passStats struct {
	workers                   int
	images, faces, failures   int
	wall                      time.Duration
	lat                       []time.Duration
	decode, detect, embedTime time.Duration
	calls, items              int64
}

func (s *passStats) result(cfg PipelineConfig) PassResult {
	slices.Sort(s.lat)
	q := func(f float64) float64 {
		return float64(s.lat[min(len(s.lat)-1, int(f*float64(len(s.lat))))]) / 1e6
	}
	var sum time.Duration
	for _, l := range s.lat {
		sum += l
	}
	n := float64(s.images)
	pr := PassResult{Workers: s.workers, ImagesPerS: n / s.wall.Seconds(), FacesPerS: float64(s.faces) / s.wall.Seconds(),
		P50ms: q(0.50), P99ms: q(0.99), MeanMs: float64(sum) / 1e6 / n,
		SplitMs: map[string]float64{"decode": ms(s.decode) / n, "detect": ms(s.detect) / n, "embed": ms(s.embedTime) / n}}
	if s.calls > 0 {
		pr.MeanBatch = float64(s.items) / float64(s.calls)
	}
	if cfg.EmbedGFLOPs > 0 {
		pr.EmbedGFLOPS = pr.FacesPerS * cfg.EmbedGFLOPs
		if cfg.PeakGFLOPS > 0 {
			pr.PeakFraction = pr.EmbedGFLOPS / cfg.PeakGFLOPS
		}
	}
	return pr
}

// pass runs every image repeat times with workers goroutines. Photos without a face count as
// failures, not errors: a bench directory may hold some.
func pass(ctx context.Context, p *embed.Pipeline, data [][]byte, workers, repeat int) (*passStats, error) {
	st := &passStats{workers: workers, lat: make([]time.Duration, 0, len(data)*repeat)}
	c0, i0 := p.Embedder().BatchStats()
	var mu sync.Mutex
	var firstErr error
	next := make(chan []byte)
	var wg sync.WaitGroup
	t0 := time.Now()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var local passStats
			for b := range next {
				ta := time.Now()
				img, err := embed.Decode(b, embed.Limits{})
				tb := time.Now()
				var faces []embed.Face
				if err == nil {
					faces, err = p.Detect(ctx, img, nil)
				}
				tc := time.Now()
				if err == nil {
					_, err = p.EmbedFaces(ctx, img, faces)
				}
				td := time.Now()
				local.lat = append(local.lat, td.Sub(ta))
				local.decode += tb.Sub(ta)
				local.detect += tc.Sub(tb)
				local.embedTime += td.Sub(tc)
				local.images++
				switch {
				case err == nil:
					local.faces += len(faces)
				case errors.Is(err, embed.ErrNoFace), errors.Is(err, embed.ErrFaceTooSmall):
					local.failures++
				default:
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
				}
			}
			mu.Lock()
			st.lat = append(st.lat, local.lat...)
			st.images += local.images
			st.faces += local.faces
			st.failures += local.failures
			st.decode += local.decode
			st.detect += local.detect
			st.embedTime += local.embedTime
			mu.Unlock()
		}()
	}
feed:
	for range repeat {
		for _, b := range data {
			select {
			case next <- b:
			case <-ctx.Done():
				break feed
			}
		}
	}
	close(next)
	wg.Wait()
	st.wall = time.Since(t0)
	c1, i1 := p.Embedder().BatchStats()
	st.calls, st.items = c1-c0, i1-i0
	if firstErr != nil {
		return nil, firstErr
	}
	return st, ctx.Err()
}

// Table writes r for people.
func (r *PipelineResult) Table() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d images (%s), %d faces, %d without a usable face; %s, %d CPUs, models on %s\n",
		r.Images, topSizes(r.Sizes, 3), r.Faces, r.Failures, r.CPU, r.CPUs, r.Device)
	b.WriteString("pass        workers  images/s  faces/s  p50 ms  p99 ms  batch  decode/detect/embed ms per image")
	if r.EmbedGFLOPs > 0 {
		b.WriteString("  embed GFLOP/s (of peak)")
	}
	b.WriteByte('\n')
	for _, x := range []struct {
		name string
		p    PassResult
	}{{"single", r.Single}, {"concurrent", r.Concurrent}} {
		fmt.Fprintf(&b, "%-10s  %7d  %8.1f  %7.1f  %6.1f  %6.1f  %5.2f  %.1f/%.1f/%.1f", x.name, x.p.Workers, x.p.ImagesPerS,
			x.p.FacesPerS, x.p.P50ms, x.p.P99ms, x.p.MeanBatch, x.p.SplitMs["decode"], x.p.SplitMs["detect"], x.p.SplitMs["embed"])
		if r.EmbedGFLOPs > 0 {
			fmt.Fprintf(&b, "  %.1f (%.1f %% of %.0f)", x.p.EmbedGFLOPS, 100*x.p.PeakFraction, r.PeakGFLOPS)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

func topSizes(m map[string]int, n int) string {
	type kv struct {
		k string
		v int
	}
	var all []kv
	for k, v := range m {
		all = append(all, kv{k, v})
	}
	slices.SortFunc(all, func(a, b kv) int {
		if a.v != b.v {
			return b.v - a.v
		}
		return strings.Compare(a.k, b.k)
	})
	var parts []string
	for i, x := range all {
		if i == n {
			parts = append(parts, fmt.Sprintf("+%d more sizes", len(all)-n))
			break
		}
		parts = append(parts, fmt.Sprintf("%s×%d", x.k, x.v))
	}
	return strings.Join(parts, ", ")
}
