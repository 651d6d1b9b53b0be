package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	benchmarks "vigil/bench"
	"vigil/embed"
	"vigil/models"
)

// faceFlags are the face benchmarks' flags: serve's model and runtime flags (config.modelFlags)
// plus their own.
type faceFlags struct {
	cfg        config
	peer       *string
	peerPython *string
}

func newFaceFlags(fs *flag.FlagSet) *faceFlags {
	f := &faceFlags{cfg: defaultConfig()}
	f.cfg.modelFlags(fs)
	c := &f.cfg.Engine
	fs.Func("detect.score", "lowest face score kept (default: embed.DefaultDetectOptions)", func(v string) error {
		x, err := strconv.ParseFloat(v, 32)
		if err != nil || x <= 0 || x > 1 {
			return fmt.Errorf("want a score in (0, 1]")
		}
		c.Embed.Detect.ScoreThreshold = float32(x)
		return nil
	})
	fs.BoolVar(&c.Embed.Flip, "embed.flip", c.Embed.Flip, "also embed each face mirrored and sum the two")
	f.peer = fs.String("peer", "", "also run this reference script (shared/peers/opencv_peer.py) on the same input and report Vigil's figures as ratios to it")
	f.peerPython = fs.String("peer-python", "/usr/bin/python3", "interpreter for --peer (Debian's, which has python3-opencv)")
	return f
}

// open starts ONNX Runtime and the detection + embedding pipeline.
func (f *faceFlags) open() (*embed.Pipeline, *models.Manifest, error) {
	return f.cfg.openPipeline(nil)
}

// runPeer runs the reference script with args and decodes the JSON it prints.
func (f *faceFlags) runPeer(ctx context.Context, stderr io.Writer, args ...string) (map[string]any, error) {
	cmd := exec.CommandContext(ctx, *f.peerPython, append([]string{*f.peer}, args...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, stderr
	fmt.Fprintf(stderr, "bench: running the peer: %s\n", strings.Join(cmd.Args, " "))
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("peer %s: %w", *f.peer, err)
	}
	var m map[string]any
	if err := json.Unmarshal(out.Bytes(), &m); err != nil {
		return nil, fmt.Errorf("peer output: %w", err)
	}
	return m, nil
}

func signalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

func benchAccuracy(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench accuracy", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: vigil bench accuracy --pairs CSV --root DIR [flags]\n\n1:1 verification accuracy on a pairs file (left,right,same): accuracy at the best threshold,\nTAR at FAR 1e-2 and 1e-3, EER, detection failures and a threshold table.")
		fs.PrintDefaults()
	}
	ff := newFaceFlags(fs)
	pairsFile := fs.String("pairs", "", "pairs file: header left,right,same; paths relative to --root")
	root := fs.String("root", "", "folder the pair paths are relative to (default: the pairs file's)")
	pick := fs.String("pick", "center", "face that stands for a photo with several: center (LFW convention), largest or score")
	workers := fs.Int("workers", 0, "photos in flight (default 2 per CPU)")
	allPairs := fs.Bool("all-pairs", true, "also score every cross-person pair of the photos (Root/<person>/<photo> layouts) to measure thresholds down to FMR 1e-6")
	asJSON := fs.Bool("json", false, "print one JSON object")
	if err := parseFlags(fs, args, os.Getenv); err != nil {
		return err
	}
	if *pairsFile == "" {
		fs.Usage()
		return errors.New("bench accuracy: --pairs is required")
	}
	if *root == "" {
		*root = filepath.Dir(*pairsFile)
	}
	pk, err := benchmarks.ParsePick(*pick)
	if err != nil {
		return err
	}
	fh, err := os.Open(*pairsFile)
	if err != nil {
		return err
	}
	pairs, err := benchmarks.ReadPairs(fh)
	fh.Close()
	if err != nil {
		return err
	}
	ctx, cancel := signalContext()
	defer cancel()
	p, _, err := ff.open()
	if err != nil {
		return err
	}
	defer p.Close()
	fmt.Fprintf(stderr, "bench: %d pairs, embedding on %s\n", len(pairs), p.Device())
	r, err := benchmarks.RunAccuracy(ctx, benchmarks.AccuracyConfig{Pairs: pairs, Root: *root, Pick: pk, Workers: *workers, AllPairs: *allPairs},
		benchmarks.EmbedPhoto(p))
	if err != nil {
		return err
	}
	out := struct {
		*benchmarks.AccuracyResult
		Peer map[string]any `json:"peer,omitempty"`
	}{AccuracyResult: r}
	if *ff.peer != "" {
		if out.Peer, err = ff.runPeer(ctx, stderr, "accuracy", *pairsFile, *root, "--pick", string(pk)); err != nil {
			return err
		}
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(out)
	}
	fmt.Fprint(stdout, r.Table())
	if out.Peer != nil {
		fmt.Fprintf(stdout, "\npeer (%s): accuracy %s %%, TAR@FAR1e-2 %s %%, TAR@FAR1e-3 %s %%, EER %s %%, detection failures %v, %v s\n",
			filepath.Base(*ff.peer), pct(out.Peer["accuracy"]), pct(out.Peer["tar_at_far_1e-02"]), pct(out.Peer["tar_at_far_1e-03"]),
			pct(out.Peer["eer"]), out.Peer["detect_failures"], out.Peer["seconds"])
		if s, ok := out.Peer["seconds"].(float64); ok && s > 0 {
			fmt.Fprintf(stdout, "Vigil embedded the photos %.2f× as fast\n", s/r.Seconds)
		}
	}
	return nil
}

func pct(v any) string {
	f, ok := v.(float64)
	if !ok {
		return "?"
	}
	return strconv.FormatFloat(100*f, 'f', 2, 64)
}

func benchPipeline(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench pipeline", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: vigil bench pipeline --images DIR|LIST [flags]\n\nThroughput of decode → detect → align → embed (every face): one image at a time, then\nmany at once; faces/s, images/s, p50/p99 per image, mean embedding batch, share of the CPU peak.")
		fs.PrintDefaults()
	}
	ff := newFaceFlags(fs)
	images := fs.String("images", "", "folder of photos (folders named _* skipped) or a file listing paths")
	limit := fs.Int("limit", 0, "use only the first N photos")
	workers := fs.Int("workers", 0, "images in flight in the concurrent pass (default 2 per CPU)")
	repeat := fs.Int("repeat", 1, "passes over the photos per figure")
	peak := fs.Float64("peak-gflops", 0, "the CPU's FP32 peak in GFLOP/s (default: estimated from cores, clock and SIMD width)")
	asJSON := fs.Bool("json", false, "print one JSON object")
	if err := parseFlags(fs, args, os.Getenv); err != nil {
		return err
	}
	if *images == "" {
		fs.Usage()
		return errors.New("bench pipeline: --images is required")
	}
	files, err := benchmarks.ListImages(*images)
	if err != nil {
		return err
	}
	if *limit > 0 && len(files) > *limit {
		files = files[:*limit]
	}
	ctx, cancel := signalContext()
	defer cancel()
	p, man, err := ff.open()
	if err != nil {
		return err
	}
	defer p.Close()
	var gflops float64
	if m, err := man.Get(ff.cfg.Engine.Embed.Embedder); err == nil {
		gflops = m.GFLOPs
	}
	fmt.Fprintf(stderr, "bench: %d photos, models on %s\n", len(files), p.Device())
	r, err := benchmarks.RunPipeline(ctx, benchmarks.PipelineConfig{Files: files, Workers: *workers, Repeat: *repeat,
		EmbedGFLOPs: gflops, PeakGFLOPS: *peak}, p)
	if err != nil {
		return err
	}
	out := struct {
		*benchmarks.PipelineResult
		Peer      map[string]any `json:"peer,omitempty"`
		PeerRatio float64        `json:"faces_per_s_vs_peer,omitempty"`  // concurrent faces/s over the peer's best
		PeerImgs  float64        `json:"images_per_s_vs_peer,omitempty"` // the same for images/s
	}{PipelineResult: r}
	if *ff.peer != "" {
		// Hand the peer the very same files, and the same cores.
		list, err := os.CreateTemp("", "vigil-peer-*.txt")
		if err != nil {
			return err
		}
		defer os.Remove(list.Name())
		for _, f := range files {
			abs, _ := filepath.Abs(f)
			fmt.Fprintln(list, abs)
		}
		list.Close()
		threads := strconv.Itoa(r.CPUs)
		if out.Peer, err = ff.runPeer(ctx, stderr, "throughput", list.Name(), "--repeat", strconv.Itoa(*repeat),
			"--threads", "1,"+threads, "--procs2"); err != nil {
			return err
		}
		if best := peerBest(out.Peer, "faces_per_s"); best > 0 {
			out.PeerRatio = r.Concurrent.FacesPerS / best
		}
		if best := peerBest(out.Peer, "images_per_s"); best > 0 {
			out.PeerImgs = r.Concurrent.ImagesPerS / best
		}
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(out)
	}
	fmt.Fprint(stdout, r.Table())
	if out.Peer != nil {
		for _, k := range []string{"threads_1", "threads_" + strconv.Itoa(r.CPUs), "procs_2_threads_1"} {
			if m, ok := out.Peer[k].(map[string]any); ok {
				fmt.Fprintf(stdout, "peer %-18s  images/s %v  faces/s %v  p50 %v ms  p99 %v ms\n", k, m["images_per_s"], m["faces_per_s"], m["p50_ms"], m["p99_ms"])
			}
		}
		fmt.Fprintf(stdout, "Vigil concurrent = %.2f× the peer's best faces/s, %.2f× its best images/s\n", out.PeerRatio, out.PeerImgs)
	}
	return nil
}

// peerBest is the best value of key among the peer's configurations.
func peerBest(m map[string]any, key string) float64 {
	best := 0.0
	for _, v := range m {
		if sub, ok := v.(map[string]any); ok {
			if f, ok := sub[key].(float64); ok && f > best {
				best = f
			}
		}
	}
	return best
}
