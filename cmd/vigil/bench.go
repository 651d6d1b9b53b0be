package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	benchmarks "vigil/bench"
	"vigil/index"
)

const benchUsage = `usage: vigil bench <benchmark> [flags]

benchmarks:
  index     1:N search through Vigil's store and index vs raw FAISS: ingest, cold start,
            memory, recall@k, latency and QPS per efSearch (vigil bench index -h)
  accuracy  1:1 verification on a pairs file: accuracy, TAR@FAR, EER, threshold table
  pipeline  photos → faces → embeddings: faces/s single and concurrent, p50/p99, batch size
  age       age/gender on a labelled CSV: MAE by band, gender accuracy, crop scales (vigil bench age -h)
`

// bench runs one of the benchmarks of package bench; args[0] names it.
func bench(args []string) error {
	if len(args) == 0 {
		fmt.Fprint(os.Stderr, benchUsage)
		return errors.New("bench: name a benchmark")
	}
	switch args[0] {
	case "index":
		return benchIndex(args[1:], os.Stdout, os.Stderr)
	case "accuracy":
		return benchAccuracy(args[1:], os.Stdout, os.Stderr)
	case "pipeline":
		return benchPipeline(args[1:], os.Stdout, os.Stderr)
	case "age":
		return benchAge(args[1:], os.Stdout, os.Stderr)
	case "help", "-h", "--help":
		fmt.Fprint(os.Stderr, benchUsage)
		return nil
	}
	fmt.Fprint(os.Stderr, benchUsage)
	return fmt.Errorf("bench: unknown benchmark %q", args[0])
}

// intList is a flag of comma-separated positive integers.
type intList []int

func (l *intList) String() string {
	s := make([]string, len(*l))
	for i, v := range *l {
		s[i] = strconv.Itoa(v)
	}
	return strings.Join(s, ",")
}

func (l *intList) Set(v string) error {
	var out intList
	for _, f := range strings.Split(v, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			return fmt.Errorf("%q is not a positive integer", f)
		}
		out = append(out, n)
	}
	*l = out
	return nil
}

func benchIndex(args []string, stdout, stderr io.Writer) error {
	def := index.DefaultParams(128)
	fs := flag.NewFlagSet("bench index", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		baseFile  = fs.String("base", "", "base vectors (.fvecs)")
		queryFile = fs.String("query", "", "query vectors (.fvecs)")
		gtFile    = fs.String("gt", "", "ground truth (.ivecs: per query the base positions of its nearest neighbours by inner product on normalised vectors); default: computed exactly")
		synthetic = fs.Bool("synthetic", false, "generate face-like data instead of reading files")
		n         = fs.Int("n", 100_000, "synthetic: base vectors")
		dim       = fs.Int("dim", 128, "synthetic: dimension")
		seed      = fs.Uint64("seed", 1, "synthetic: random seed")
		nq        = fs.Int("nq", 0, "queries (synthetic: default 1000; files: default all)")
		k         = fs.Int("k", 10, "neighbours per query (recall@k)")
		m         = fs.Int("m", def.M, "HNSW links per node")
		efc       = fs.Int("ef-construction", def.EfConstruction, "HNSW build beam width")
		exactMax  = fs.Int("exact-max", 0, "collection's exact-search limit, < n so HNSW is used (default min(index default, n/2))")
		threads   = fs.Int("threads", runtime.NumCPU(), "goroutines for parallel QPS and OpenMP threads for FAISS")
		omp       = fs.Int("omp-threads", 0, "OpenMP threads for FAISS, if not --threads (the process restarts itself with OMP_NUM_THREADS)")
		repeat    = fs.Int("repeat", 1, "passes per QPS figure, best kept")
		asJSON    = fs.Bool("json", false, "one JSON object per efSearch value instead of a table")
		keep      = fs.String("keep", "", "keep the data directory here (must be empty or absent)")
		fresh     = fs.Bool("fresh-process", true, "measure in a fresh process (a true cold start; memory figures free of the ingest's leftovers)")
		resume    = fs.String("resume", "", "measure the collection an earlier run prepared (and --keep kept) in this directory again; --ef-search, --threads, --omp-threads and --repeat may differ")
		efs       = intList{128, 256}
	)
	if d := def.EfSearch; !slices.Contains(efs, d) {
		efs = append(efs, d)
		slices.Sort(efs)
	}
	fs.Var(&efs, "ef-search", "efSearch values, comma-separated: one result each")
	fs.Usage = func() {
		fmt.Fprint(stderr, `usage: vigil bench index (--synthetic [--n N --dim D --seed S] | --base F.fvecs --query F.fvecs [--gt F.ivecs]) [flags]

Stores the base vectors through Vigil's store and index (durable bulk ingest, HNSW build),
snapshots, reopens cold, then per efSearch measures recall@k against exact ground truth, latency
and QPS (one query per call from 1 and from --threads goroutines, and all queries in one batch),
beside raw FAISS on the same snapshot file. Progress goes to stderr, results to stdout.

`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("bench index: unexpected argument %q", fs.Arg(0))
	}
	if *threads <= 0 {
		return fmt.Errorf("bench index: --threads %d", *threads)
	}
	if *omp <= 0 {
		*omp = *threads
	}
	if err := ensureOpenMP(*omp, stderr); err != nil {
		return err
	}

	if *resume != "" {
		p, err := benchmarks.LoadPrepared(*resume)
		if err != nil {
			return err
		}
		p.Config.Log = stderr
		fs.Visit(func(f *flag.Flag) {
			switch f.Name {
			case "ef-search":
				p.Config.EfSearch = efs
			case "threads":
				p.Config.Threads = *threads
			case "repeat":
				p.Config.Repeat = *repeat
			}
		})
		rows, err := p.Measure()
		if err = errors.Join(err, p.Cleanup()); err != nil {
			return err
		}
		return writeRows(stdout, rows, *asJSON)
	}

	var (
		d      *benchmarks.Dataset
		src    string
		truth  []int32
		truthK int
		err    error
	)
	t0 := time.Now()
	switch {
	case *synthetic:
		if *baseFile != "" || *queryFile != "" || *gtFile != "" {
			return errors.New("bench index: --synthetic excludes --base, --query and --gt")
		}
		if *nq <= 0 {
			*nq = 1000
		}
		d, err = benchmarks.Synthetic(benchmarks.SyntheticConfig{N: *n, Dim: *dim, Queries: *nq, Seed: *seed})
		if err != nil {
			return err
		}
		src = fmt.Sprintf("synthetic face-like, seed %d", *seed)
		fmt.Fprintf(stderr, "bench: generated %d base vectors and %d queries of %d-d in %.1fs\n", d.NBase(), d.NQueries(), d.Dim, time.Since(t0).Seconds())
	case *baseFile != "" && *queryFile != "":
		if d, truth, truthK, err = loadFiles(*baseFile, *queryFile, *gtFile, *nq, stderr); err != nil {
			return err
		}
		src = *baseFile + " / " + *queryFile
		if *gtFile != "" {
			src += " / " + *gtFile
		}
		fmt.Fprintf(stderr, "bench: read %d base vectors and %d queries of %d-d in %.1fs\n", d.NBase(), d.NQueries(), d.Dim, time.Since(t0).Seconds())
	default:
		fs.Usage()
		return errors.New("bench index: give --synthetic, or --base and --query")
	}

	cfg := benchmarks.IndexConfig{Data: d, Source: src, Truth: truth, TruthK: truthK, K: *k, M: *m,
		EfConstruction: *efc, EfSearch: efs, ExactMax: *exactMax, Threads: *threads, Repeat: *repeat,
		Dir: *keep, Keep: *keep != "", Log: stderr}
	if !*fresh {
		rows, err := benchmarks.RunIndex(cfg)
		if err != nil {
			return err
		}
		return writeRows(stdout, rows, *asJSON)
	}
	p, err := benchmarks.Prepare(cfg)
	if err != nil {
		return err
	}
	if err := p.Save(); err != nil {
		return errors.Join(err, p.Cleanup())
	}
	// Measure in a fresh process: the same command with --resume (flags as given; the data
	// flags are ignored there).
	exe, err := os.Executable()
	if err != nil {
		return errors.Join(err, p.Cleanup())
	}
	fmt.Fprintf(stderr, "bench: restarting to measure a cold start in a fresh process\n")
	args = append(slices.Clip(os.Args), "--resume", p.Dir)
	return errors.Join(syscall.Exec(exe, args, os.Environ()), p.Cleanup())
}

func writeRows(w io.Writer, rows []benchmarks.IndexResult, asJSON bool) error {
	if !asJSON {
		return benchmarks.WriteTable(w, rows)
	}
	return writeJSONLines(w, rows)
}

// writeJSONLines writes each row as one JSON object per line.
func writeJSONLines[T any](w io.Writer, rows []T) error {
	enc := json.NewEncoder(w)
	for _, r := range rows {
		if err := enc.Encode(r); err != nil {
			return err
		}
	}
	return nil
}

// loadFiles reads and normalises the base and query vectors, and the ground truth if given,
// keeping the first nq queries when nq > 0.
func loadFiles(baseFile, queryFile, gtFile string, nq int, stderr io.Writer) (*benchmarks.Dataset, []int32, int, error) {
	base, dim, err := benchmarks.ReadFvecsFile(baseFile)
	if err != nil {
		return nil, nil, 0, err
	}
	qs, qdim, err := benchmarks.ReadFvecsFile(queryFile)
	if err != nil {
		return nil, nil, 0, err
	}
	if qdim != dim {
		return nil, nil, 0, fmt.Errorf("bench index: base vectors are %d-d, queries %d-d", dim, qdim)
	}
	if nq > 0 && nq*dim < len(qs) {
		qs = qs[:nq*dim]
	}
	d := &benchmarks.Dataset{Dim: dim, Base: base, Queries: qs}
	changedB, err := benchmarks.NormalizeAll(d.Base, dim)
	if err != nil {
		return nil, nil, 0, err
	}
	changedQ, err := benchmarks.NormalizeAll(d.Queries, dim)
	if err != nil {
		return nil, nil, 0, err
	}
	if changedB+changedQ > 0 {
		fmt.Fprintf(stderr, "bench: normalised %d base vectors and %d queries that were not unit length (Vigil scores by cosine)\n", changedB, changedQ)
	}
	if gtFile == "" {
		return d, nil, 0, nil
	}
	gt, gtK, err := benchmarks.ReadIvecsFile(gtFile)
	if err != nil {
		return nil, nil, 0, err
	}
	if len(gt)/gtK < d.NQueries() {
		return nil, nil, 0, fmt.Errorf("bench index: %s holds ground truth for %d queries, %s has %d", gtFile, len(gt)/gtK, queryFile, d.NQueries())
	}
	if changedB+changedQ > 0 {
		fmt.Fprintf(stderr, "bench: warning: the vectors were not normalised, so %s must be inner-product ground truth on the normalised vectors (an L2 one gives wrong recall); leave --gt out to compute it\n", gtFile)
	}
	return d, gt[:d.NQueries()*gtK], gtK, nil
}

// ensureOpenMP makes FAISS run with n OpenMP threads. libgomp reads OMP_NUM_THREADS once, when
// the process starts, and omp_set_num_threads (go-faiss SetOMPThreads) changes only the calling
// OS thread, which goroutines hop between, so the only reliable way is to restart this process
// with the variable set. OpenBLAS is kept single-threaded so it does not oversubscribe the cores
// under FAISS's own threads.
func ensureOpenMP(n int, stderr io.Writer) error {
	want := strconv.Itoa(n)
	if os.Getenv("OMP_NUM_THREADS") == want && os.Getenv("OPENBLAS_NUM_THREADS") != "" {
		return nil
	}
	if os.Getenv("VIGIL_BENCH_REEXEC") == want {
		return fmt.Errorf("bench: OMP_NUM_THREADS=%s still not in effect after a restart", want)
	}
	// The first of duplicate variables wins (in libc and Go alike): drop the ones replaced.
	env := slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, "OMP_NUM_THREADS=") || strings.HasPrefix(kv, "VIGIL_BENCH_REEXEC=")
	})
	env = append(env, "OMP_NUM_THREADS="+want, "VIGIL_BENCH_REEXEC="+want)
	if os.Getenv("OPENBLAS_NUM_THREADS") == "" {
		env = append(env, "OPENBLAS_NUM_THREADS=1")
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "bench: restarting with OMP_NUM_THREADS=%s (OpenMP reads it only at start)\n", want)
	return syscall.Exec(exe, os.Args, env)
}
