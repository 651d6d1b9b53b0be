package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"

	benchmarks "vigil/bench"
	"vigil/embed"
	"vigil/embed/attributes"
)

// floatList is a flag of comma-separated positive numbers.
type floatList []float64

func (l *floatList) String() string {
	s := make([]string, len(*l))
	for i, v := range *l {
		s[i] = strconv.FormatFloat(v, 'g', -1, 64)
	}
	return strings.Join(s, ",")
}

func (l *floatList) Set(v string) error {
	var out floatList
	for _, f := range strings.Split(v, ",") {
		x, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil || !(x > 0) {
			return fmt.Errorf("%q is not a positive number", f)
		}
		out = append(out, x)
	}
	*l = out
	return nil
}

func benchAge(args []string, stdout, stderr io.Writer) error {
	cfg := defaultConfig()
	fs := flag.NewFlagSet("bench age", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		labels  = fs.String("labels", "", "labels CSV with the columns file,age,gender (file relative to --root); # starts a comment")
		root    = fs.String("root", "", "directory the labels' files are relative to")
		threads = fs.Int("threads", runtime.NumCPU(), "photos in flight at once")
		asJSON  = fs.Bool("json", false, "one JSON object per crop scale instead of a table")
		scales  floatList
		shrink  floatList
	)
	fs.Var(&scales, "scales", "crop scales to compare, comma-separated, e.g. 0.9,1,1.1,1.2 (default: the model's)")
	fs.Var(&shrink, "shrink", "also shrink each photo by these factors in (0,1), e.g. 0.6,0.45,0.35, to see how small faces drift")
	cfg.modelFlags(fs)
	fs.StringVar(&cfg.Engine.Attributes.Model, "attributes.model", cfg.Engine.Attributes.Model, "age/gender model (manifest name; default: the manifest's)")
	fs.Usage = func() {
		fmt.Fprint(stderr, `usage: vigil bench age --labels CSV --root DIR [flags]

Estimates age and gender on every labelled photo (decode, detect, the face nearest the photo's
centre, the attributes model) and reports the mean absolute error in years overall, per half of
the identities and per true-age band, gender accuracy, the error of flagged and unflagged faces,
and throughput. With several --scales, each crop scale gets a row and the one with the lowest
error on the selection half (identities at even positions in name order) is marked; the other
half is held out. Progress goes to stderr, results to stdout.

`)
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args, os.Getenv); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("bench age: unexpected argument %q", fs.Arg(0))
	}
	if *labels == "" || *root == "" {
		fs.Usage()
		return errors.New("bench age: give --labels and --root")
	}
	if *threads <= 0 {
		return fmt.Errorf("bench age: --threads %d", *threads)
	}
	ls, err := benchmarks.ReadAgeLabelsFile(*labels)
	if err != nil {
		return err
	}
	p, manifest, err := cfg.openPipeline(func(ec *embed.Config) { ec.Detectors = max(ec.Detectors, *threads) })
	if err != nil {
		return err
	}
	defer p.Close()
	if len(scales) == 0 {
		scales = floatList{0} // the model's own
	}
	var ests []*attributes.Estimator
	defer func() {
		for _, e := range ests {
			e.Close()
		}
	}()
	for _, s := range scales {
		ac := cfg.Engine.Attributes
		ac.ModelsDir, ac.Manifest, ac.CropScale = cfg.Engine.ModelsDir, manifest, s
		e, err := attributes.Open(ac)
		if err != nil {
			return err
		}
		ests = append(ests, e)
	}
	rows, err := benchmarks.RunAge(benchmarks.AgeConfig{Labels: ls, Root: *root, Pipeline: p, Estimators: ests,
		Shrink: shrink, Threads: *threads, Source: *labels, Log: stderr})
	if err != nil {
		return err
	}
	if !*asJSON {
		return benchmarks.WriteAgeTable(stdout, rows)
	}
	return writeJSONLines(stdout, rows)
}
