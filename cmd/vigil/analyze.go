package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"vigil/embed"
	"vigil/embed/attributes"
	"vigil/liveness"
)

// analyzeResult is what `vigil analyze` reports per image.
type analyzeResult struct {
	File   string         `json:"file"`
	Width  int            `json:"width,omitempty"`
	Height int            `json:"height,omitempty"`
	Faces  []analyzedFace `json:"faces"`
	Error  string         `json:"error,omitempty"`
}

type analyzedFace struct {
	Box       [4]float32    `json:"box"` // x, y, w, h in pixels of the upright image
	Landmarks [5][2]float32 `json:"landmarks"`
	Score     float32       `json:"score"`
	Angle     int           `json:"angle,omitempty"`
	Liveness  float32       `json:"liveness"` // P(live) in [0,1]
	Live      bool          `json:"live"`     // liveness >= the scorer's threshold
	Embedding []float32     `json:"embedding,omitempty"`
	// Attributes: coarse age (adults 18–75 only) and gender; absent when no model is configured.
	Attributes *attributes.Result `json:"attributes,omitempty"`
}

func analyze(args []string, w io.Writer) error {
	cfg := defaultConfig()
	fs := flag.NewFlagSet("analyze", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: vigil analyze [flags] FILE...\n\nDetects faces in each photo; prints boxes, landmarks, scores, age and gender (and embeddings).")
		fs.PrintDefaults()
	}
	asJSON := fs.Bool("json", false, "one JSON object per file")
	withEmb := fs.Bool("embedding", false, "include each face's embedding")
	rotations := fs.Bool("rotate", false, "also try the photo turned by 90/180/270 degrees")
	cfg.modelFlags(fs)
	if err := parseFlags(fs, args, os.Getenv); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return errors.New("no files")
	}
	p, man, err := cfg.openPipeline(func(ec *embed.Config) { ec.Detect.TryRotations = *rotations })
	if err != nil {
		return err
	}
	defer p.Close()
	lc := cfg.Engine.Liveness
	lc.ModelsDir, lc.Manifest = cfg.Engine.ModelsDir, man
	live, err := liveness.Open(lc)
	if err != nil {
		return err
	}
	defer live.Close()
	ac := cfg.Engine.Attributes
	ac.ModelsDir, ac.Manifest = cfg.Engine.ModelsDir, man
	attr, err := attributes.Open(ac)
	if err != nil && !errors.Is(err, attributes.ErrNotConfigured) {
		return err
	}
	defer attr.Close()
	enc := json.NewEncoder(w)
	failed := 0
	for _, file := range fs.Args() {
		r := analyzeFile(p, live, attr, file, *withEmb)
		if r.Error != "" {
			failed++
		}
		if *asJSON {
			if err := enc.Encode(r); err != nil {
				return err
			}
			continue
		}
		printAnalysis(w, r)
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d files had no usable face or could not be read", failed, fs.NArg())
	}
	return nil
}

func analyzeFile(p *embed.Pipeline, live *liveness.Scorer, attr *attributes.Estimator, file string, withEmb bool) analyzeResult {
	r := analyzeResult{File: file, Faces: []analyzedFace{}}
	b, err := os.ReadFile(file)
	if err == nil {
		var img *embed.Image
		if img, err = embed.Decode(b, embed.DefaultLimits()); err == nil {
			r.Width, r.Height = img.W, img.H
			var faces []embed.Face
			if faces, err = p.Detect(context.Background(), img, nil); err == nil {
				boxes := make([][4]float32, len(faces))
				for i, f := range faces {
					boxes[i] = f.Box
				}
				var scores []liveness.Result
				if scores, err = live.ScoreMany(context.Background(), (*liveness.Image)(img), boxes); err != nil {
					faces = nil
				}
				var ages []attributes.Result // nil when no model is configured
				if attr != nil && err == nil {
					if ages, err = attr.EstimateMany(context.Background(), img, boxes); err != nil {
						faces = nil
					}
				}
				for i, f := range faces {
					af := analyzedFace{Box: f.Box, Landmarks: f.Landmarks, Score: f.Score, Angle: f.Angle,
						Liveness: scores[i].Live, Live: scores[i].IsLive}
					if ages != nil {
						af.Attributes = &ages[i]
					}
					if withEmb {
						if af.Embedding, err = p.Embed(context.Background(), img, f); err != nil {
							break
						}
					}
					r.Faces = append(r.Faces, af)
				}
			}
		}
	}
	if err != nil {
		r.Error = err.Error()
	}
	return r
}

func printAnalysis(w io.Writer, r analyzeResult) {
	if r.Error != "" {
		fmt.Fprintf(w, "%s: %s\n", r.File, r.Error)
		return
	}
	fmt.Fprintf(w, "%s: %dx%d, %d face(s)\n", r.File, r.Width, r.Height, len(r.Faces))
	for i, f := range r.Faces {
		fmt.Fprintf(w, "  face %d: box %.0f,%.0f %.0fx%.0f score %.3f liveness %.3f", i, f.Box[0], f.Box[1], f.Box[2], f.Box[3], f.Score, f.Liveness)
		if f.Angle != 0 {
			fmt.Fprintf(w, " angle %d", f.Angle)
		}
		fmt.Fprintf(w, " eyes (%.0f,%.0f) (%.0f,%.0f)\n", f.Landmarks[0][0], f.Landmarks[0][1], f.Landmarks[1][0], f.Landmarks[1][1])
		if a := f.Attributes; a != nil {
			band := a.Band
			if band == "" {
				band = "no band"
			}
			fmt.Fprintf(w, "    age %.0f (%s) %s %.3f", a.Age, band, a.Gender, a.GenderProb)
			if fl := a.Flags(); len(fl) > 0 {
				fmt.Fprintf(w, " [%s]", strings.Join(fl, ", "))
			}
			fmt.Fprintln(w, "  (coarse estimate, adults 18-75 only)")
		}
		if len(f.Embedding) > 0 {
			fmt.Fprintf(w, "    embedding[%d] %.4f %.4f %.4f ...\n", len(f.Embedding), f.Embedding[0], f.Embedding[1], f.Embedding[2])
		}
	}
}
