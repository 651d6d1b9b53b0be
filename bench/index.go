package bench

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"vigil/engine/catalog"
	"vigil/engine/store"
	"vigil/index"
	"vigil/index/faiss"
	"vigil/index/simd"
)

// IndexConfig configures RunIndex. Zero fields take the defaults shown.
type IndexConfig struct {
	Data   *Dataset // base and query vectors, normalised
	Source string   // what the data is, for the record ("synthetic seed=1", file names)

	// Truth holds, per query, TruthK base positions (0-based, best first) of its exact nearest
	// neighbours by inner product, TruthK >= K. Nil: RunIndex computes them exactly (FAISS Flat).
	Truth  []int32
	TruthK int

	K              int   // neighbours per query (10)
	M              int   // HNSW links per node (index.DefaultParams)
	EfConstruction int   // HNSW build beam (index.DefaultParams)
	EfSearch       []int // one result per value (16, 32, 64, 128)
	ExactMax       int   // the collection's exact-search limit; must be < N (min(default, N/2))
	Threads        int   // goroutines of the parallel measurement (runtime.NumCPU())
	Repeat         int   // passes per throughput figure, best kept; engine and raw alternate (1)

	Dir  string    // data directory, must be empty or absent; "": a temporary one
	Keep bool      // keep Dir afterwards (a temporary Dir is removed unless Keep)
	Log  io.Writer // progress lines; nil: none
}

// IndexResult is one efSearch value's figures; the run-level ones repeat on every row so each
// JSON line stands alone. Durations are seconds, latencies milliseconds, rates per second.
type IndexResult struct {
	Date       string `json:"date"`
	Data       string `json:"data"`
	CPU        string `json:"cpu"`
	CPUs       int    `json:"cpus"`
	SIMD       string `json:"simd"`
	N          int    `json:"n"`
	Dim        int    `json:"dim"`
	NQ         int    `json:"nq"`
	K          int    `json:"k"`
	M          int    `json:"m"`
	EfConstr   int    `json:"ef_construction"`
	ExactMax   int    `json:"exact_max"`
	Threads    int    `json:"threads"`
	OMPThreads int    `json:"omp_threads"` // while measuring search
	// OpenMP threads of the ingest (differs from omp_threads only when a kept collection is
	// measured again with another count).
	BuildOMPThreads int `json:"build_omp_threads"`

	// Ingest: durable BulkAdd of all N faces (badger commit and index add), then the wait until
	// the index is complete and searchable (build_s includes ingest_s).
	IngestS    float64 `json:"ingest_s"`
	IngestPerS float64 `json:"ingest_per_s"`
	BuildS     float64 `json:"build_s"`
	// BuildCPUS is this process's CPU time over build_s (all threads): on a shared machine
	// build_cpu_s / cpus estimates the build time of an idle one.
	BuildCPUS float64 `json:"build_cpu_s"`
	// Searches issued every 2 s from another goroutine while ingest_s and build_s run: how
	// long one took at worst (and at p99). Writers that hold the index's write lock stall them.
	IngestSearchP99ms float64 `json:"ingest_search_p99_ms"`
	IngestSearchMaxms float64 `json:"ingest_search_max_ms"`
	SnapshotS         float64 `json:"snapshot_s"`
	// Cold start: store open, then catalog open (snapshot load + catch-up), then raw FAISS's own
	// read of the same snapshot file.
	StoreOpenS float64 `json:"store_open_s"`
	LoadS      float64 `json:"load_s"`
	RawLoadS   float64 `json:"raw_load_s"`
	// Memory: FAISS's index bytes, process RSS (VmRSS) just before and after the catalog load,
	// and the growth over FAISS bytes plus Vigil's 8-byte id record per vector.
	IndexBytes     uint64  `json:"index_bytes"`
	BytesPerVector float64 `json:"bytes_per_vector"`
	RSSBeforeMB    float64 `json:"rss_before_mb"`
	RSSAfterMB     float64 `json:"rss_after_mb"`
	RSSMB          float64 `json:"rss_mb"`
	MemRatio       float64 `json:"mem_ratio"`
	// Cores busy with other processes while building and while measuring this row (from
	// /proc/stat minus this process; -1 if unknown): figures taken with this near 0 are the
	// trustworthy ones.
	OthersCPUBuild float64 `json:"others_cpu_build"`
	OthersCPU      float64 `json:"others_cpu"`

	EfSearch int     `json:"ef_search"`
	Recall   float64 `json:"recall_at_k"`
	// MateRecall is the share of the true top-k that belong to the query's own identity (its
	// enrolled samples, what a 1:N face search is for) that the engine found; synthetic data
	// only (-1 without identity labels).
	MateRecall  float64 `json:"mate_recall_at_k"`
	QPSSingle   float64 `json:"qps_single"`
	QPSParallel float64 `json:"qps_parallel"`
	QPSBatch    float64 `json:"qps_batch"`
	P50ms       float64 `json:"p50_ms"`
	P99ms       float64 `json:"p99_ms"`

	RawRecall      float64 `json:"raw_recall_at_k"`
	RawQPSSingle   float64 `json:"raw_qps_single"`
	RawQPSParallel float64 `json:"raw_qps_parallel"`
	RawQPSBatch    float64 `json:"raw_qps_batch"`
	RawP50ms       float64 `json:"raw_p50_ms"`
	RawP99ms       float64 `json:"raw_p99_ms"`

	// Engine throughput over raw FAISS throughput.
	RatioSingle   float64 `json:"ratio_single"`
	RatioParallel float64 `json:"ratio_parallel"`
	RatioBatch    float64 `json:"ratio_batch"`
}

func (c IndexConfig) withDefaults() IndexConfig {
	d := index.DefaultParams(c.Data.Dim)
	if c.K <= 0 {
		c.K = 10
	}
	if c.M <= 0 {
		c.M = d.M
	}
	if c.EfConstruction <= 0 {
		c.EfConstruction = d.EfConstruction
	}
	if len(c.EfSearch) == 0 {
		c.EfSearch = []int{16, 32, 64, 128}
	}
	if c.ExactMax <= 0 {
		c.ExactMax = min(d.HNSWThreshold, c.Data.NBase()/2)
	}
	if c.Threads <= 0 {
		c.Threads = runtime.NumCPU()
	}
	if c.Repeat <= 0 {
		c.Repeat = 1
	}
	return c
}

func (c IndexConfig) validate() error {
	d := c.Data
	switch {
	case d == nil || d.Dim <= 0 || d.NBase() == 0 || d.NQueries() == 0:
		return errors.New("bench: no base or query vectors")
	case c.K > d.NBase():
		return fmt.Errorf("bench: k %d > %d base vectors", c.K, d.NBase())
	case c.ExactMax >= d.NBase() || c.ExactMax < 1:
		return fmt.Errorf("bench: exact-max %d must be in [1, n=%d) for the collection to use HNSW", c.ExactMax, d.NBase())
	case d.Dim > store.MaxDimension:
		return fmt.Errorf("bench: dimension %d > %d", d.Dim, store.MaxDimension)
	case c.Truth != nil && (c.TruthK < c.K || len(c.Truth) != c.TruthK*d.NQueries()):
		return fmt.Errorf("bench: ground truth holds %d ids for %d queries with %d each; need %d each",
			len(c.Truth), d.NQueries(), c.TruthK, c.K)
	}
	for _, ef := range c.EfSearch {
		if ef <= 0 {
			return fmt.Errorf("bench: efSearch %d", ef)
		}
	}
	if c.Truth != nil {
		for _, p := range c.Truth {
			if p < 0 || int(p) >= d.NBase() {
				return fmt.Errorf("bench: ground truth names base vector %d of %d", p, d.NBase())
			}
		}
	}
	return nil
}

const (
	benchOrg  = "bench"
	benchColl = "faces"
)

// RunIndex stores cfg.Data's base vectors through the server's own store and catalog, reopens
// them cold from the index snapshot, and measures search at each efSearch against exact ground
// truth and against raw FAISS on the same index file; see IndexResult. It runs in this process:
// the memory figures then include whatever the ingest left in the C allocator (glibc keeps freed
// FAISS memory for reuse), so for true cold-start figures run Prepare, Save, and LoadPrepared and
// Measure in a fresh process, as `vigil bench index` does.
func RunIndex(cfg IndexConfig) (rows []IndexResult, err error) {
	p, err := Prepare(cfg)
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, p.Cleanup()) }()
	return p.Measure()
}

// Prepared is a benchmark collection stored, indexed and snapshotted in Dir (store and catalog
// closed), with what Measure needs: the queries, their ground truth and the record ids.
type Prepared struct {
	Dir    string
	Config IndexConfig // Data holds the queries only
	Result IndexResult // the run-level figures so far
	Truth  []int32     // TruthK per query
	TruthK int
	Mates  []int32 // per query K flags: 1 where Truth's entry is of the query's identity; nil without labels
	IDs    []int64 // record id of each base vector, ascending
}

func (p *Prepared) logf(format string, args ...any) {
	if p.Config.Log != nil {
		fmt.Fprintf(p.Config.Log, "bench: "+format+"\n", args...)
	}
}

// Prepare computes ground truth if cfg has none, then creates the collection in cfg.Dir (or a
// temporary directory), bulk-adds every base vector durably, waits until the index is complete,
// snapshots it and closes. On error nothing is left behind unless cfg.Keep.
func Prepare(cfg IndexConfig) (p *Prepared, err error) {
	if cfg.Data == nil {
		return nil, errors.New("bench: no data")
	}
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	d := cfg.Data
	n, nq := d.NBase(), d.NQueries()
	p = &Prepared{Config: cfg, Truth: cfg.Truth, TruthK: cfg.TruthK}
	p.Config.Data = &Dataset{Dim: d.Dim, Queries: d.Queries, QueryID: d.QueryID}
	p.Config.Truth = nil
	p.Result = IndexResult{
		Date: time.Now().UTC().Format(time.RFC3339), Data: cfg.Source, CPU: cpuModel(), CPUs: runtime.NumCPU(),
		SIMD: fmt.Sprintf("faiss %s, cpu %s", faiss.BuiltLevel(), simd.CPU()),
		N:    n, Dim: d.Dim, NQ: nq, K: cfg.K, M: cfg.M, EfConstr: cfg.EfConstruction, ExactMax: cfg.ExactMax,
		Threads: cfg.Threads, OMPThreads: ompThreads(), BuildOMPThreads: ompThreads(),
	}
	if p.Truth == nil {
		t0 := time.Now()
		if p.Truth, err = GroundTruth(d, cfg.K); err != nil {
			return nil, err
		}
		p.TruthK = cfg.K
		p.logf("exact ground truth of %d queries over %d vectors in %.1fs", nq, n, time.Since(t0).Seconds())
	}
	if d.BaseID != nil && d.QueryID != nil {
		p.Mates = make([]int32, nq*cfg.K)
		for q := range nq {
			for j := range cfg.K {
				if d.BaseID[p.Truth[q*p.TruthK+j]] == d.QueryID[q] {
					p.Mates[q*cfg.K+j] = 1
				}
			}
		}
	}
	if p.Dir = cfg.Dir; p.Dir == "" {
		if p.Dir, err = os.MkdirTemp("", "vigil-bench-"); err != nil {
			return nil, err
		}
	} else if err := emptyDir(p.Dir); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, p.Cleanup())
		}
	}()
	cpu := newCPUMeter()
	if p.IDs, err = ingest(cfg, p.storeOptions(), p.catalogOptions(), &p.Result, p.logf); err != nil {
		return nil, err
	}
	p.Result.OthersCPUBuild = cpu.others()
	return p, nil
}

func (p *Prepared) storeOptions() store.Options {
	return store.DefaultOptions(filepath.Join(p.Dir, "db"))
}

// catalogOptions: snapshots only when asked (SnapshotAll, Close).
func (p *Prepared) catalogOptions() catalog.Options {
	return catalog.Options{SnapshotDir: filepath.Join(p.Dir, "index")}
}

// Cleanup removes Dir unless the config says to keep it.
func (p *Prepared) Cleanup() error {
	if p.Config.Keep {
		p.logf("data kept in %s", p.Dir)
		return nil
	}
	return os.RemoveAll(p.Dir)
}

// state is what Save writes besides the vector files.
type state struct {
	Config struct {
		Source         string
		K, M           int
		EfConstruction int
		EfSearch       []int
		ExactMax       int
		Threads        int
		Repeat         int
		Keep           bool
	}
	Result IndexResult
	Dim    int
	TruthK int
}

const (
	stateFile   = "bench-state.json"
	queriesFile = "bench-queries.fvecs"
	truthFile   = "bench-truth.ivecs"
	matesFile   = "bench-mates.ivecs"
	idsFile     = "bench-ids.bin"
)

// Save writes p's state into p.Dir, for LoadPrepared.
func (p *Prepared) Save() error {
	var st state
	c := p.Config
	st.Config.Source, st.Config.K, st.Config.M, st.Config.EfConstruction = c.Source, c.K, c.M, c.EfConstruction
	st.Config.EfSearch, st.Config.ExactMax, st.Config.Threads, st.Config.Repeat, st.Config.Keep = c.EfSearch, c.ExactMax, c.Threads, c.Repeat, c.Keep
	st.Result, st.Dim, st.TruthK = p.Result, c.Data.Dim, p.TruthK
	js, err := json.Marshal(st)
	if err != nil {
		return err
	}
	ids := make([]byte, 0, 8*len(p.IDs))
	for _, id := range p.IDs {
		ids = binary.LittleEndian.AppendUint64(ids, uint64(id))
	}
	var qs, truth bytes.Buffer
	if err := WriteFvecs(&qs, c.Data.Queries, c.Data.Dim); err != nil {
		return err
	}
	if err := WriteIvecs(&truth, p.Truth, p.TruthK); err != nil {
		return err
	}
	files := map[string][]byte{stateFile: js, queriesFile: qs.Bytes(), truthFile: truth.Bytes(), idsFile: ids}
	if p.Mates != nil {
		var mates bytes.Buffer
		if err := WriteIvecs(&mates, p.Mates, c.K); err != nil {
			return err
		}
		files[matesFile] = mates.Bytes()
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(p.Dir, name), b, 0o640); err != nil {
			return err
		}
	}
	return nil
}

// LoadPrepared reads what Save wrote in dir. Set Config.Log to see progress.
func LoadPrepared(dir string) (*Prepared, error) {
	js, err := os.ReadFile(filepath.Join(dir, stateFile))
	if err != nil {
		return nil, err
	}
	var st state
	if err := json.Unmarshal(js, &st); err != nil {
		return nil, fmt.Errorf("bench: %s: %w", stateFile, err)
	}
	qs, dim, err := ReadFvecsFile(filepath.Join(dir, queriesFile))
	if err != nil {
		return nil, err
	}
	truth, truthK, err := ReadIvecsFile(filepath.Join(dir, truthFile))
	if err != nil {
		return nil, err
	}
	raw, err := os.ReadFile(filepath.Join(dir, idsFile))
	if err != nil {
		return nil, err
	}
	if dim != st.Dim || truthK != st.TruthK || len(raw) != 8*st.Result.N || len(truth) != truthK*len(qs)/dim {
		return nil, fmt.Errorf("bench: %s: files do not match %s", dir, stateFile)
	}
	ids := make([]int64, st.Result.N)
	for i := range ids {
		ids[i] = int64(binary.LittleEndian.Uint64(raw[8*i:]))
	}
	mates, matesK, err := ReadIvecsFile(filepath.Join(dir, matesFile))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		mates = nil
	case err != nil:
		return nil, err
	case matesK != st.Config.K || len(mates) != matesK*len(qs)/dim:
		return nil, fmt.Errorf("bench: %s: %s does not match %s", dir, matesFile, stateFile)
	}
	c := st.Config
	p := &Prepared{Dir: dir, Result: st.Result, Truth: truth, TruthK: truthK, Mates: mates, IDs: ids,
		Config: IndexConfig{Data: &Dataset{Dim: dim, Queries: qs}, Source: c.Source, K: c.K, M: c.M,
			EfConstruction: c.EfConstruction, EfSearch: c.EfSearch, ExactMax: c.ExactMax, Threads: c.Threads,
			Repeat: c.Repeat, Dir: dir, Keep: c.Keep}}
	return p, nil
}

// Measure opens the prepared collection cold (store, then catalog from the snapshot), then raw
// FAISS from the same snapshot file, and measures each efSearch value. It returns one result per
// value. Call Cleanup afterwards.
func (p *Prepared) Measure() (rows []IndexResult, err error) {
	cfg, d, n := p.Config, p.Config.Data, p.Result.N
	base := p.Result
	base.OMPThreads, base.Threads = ompThreads(), cfg.Threads
	runtime.GC()
	debug.FreeOSMemory()
	t0 := time.Now()
	st, err := store.Open(p.storeOptions(), nil)
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, st.Close()) }()
	base.StoreOpenS = time.Since(t0).Seconds()
	rss0 := rssMB()
	t0 = time.Now()
	cat, err := catalog.Open(st, p.catalogOptions(), nil)
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, cat.Close()) }()
	base.LoadS = time.Since(t0).Seconds()
	runtime.GC()
	base.RSSBeforeMB, base.RSSAfterMB = rss0, rssMB()
	base.RSSMB = base.RSSAfterMB - base.RSSBeforeMB
	stats, err := cat.Stats(benchOrg, benchColl)
	if err != nil {
		return nil, err
	}
	if stats.Kind != "hnsw" || stats.Live != n {
		return nil, fmt.Errorf("bench: reopened index is %s with %d vectors, want hnsw with %d", stats.Kind, stats.Live, n)
	}
	base.IndexBytes = stats.Bytes
	base.BytesPerVector = float64(stats.Bytes) / float64(n)
	base.MemRatio = base.RSSMB * (1 << 20) / float64(stats.Bytes+8*uint64(n))
	p.logf("cold start: store open %.2fs, catalog load %.2fs; RSS %.0f → %.0f MB (+%.0f MB) for %.0f MB of FAISS index (%.0f B/vector)",
		base.StoreOpenS, base.LoadS, base.RSSBeforeMB, base.RSSAfterMB, base.RSSMB, float64(stats.Bytes)/(1<<20), base.BytesPerVector)

	snap, err := cat.SnapshotPath(benchOrg, benchColl)
	if err != nil {
		return nil, err
	}
	t0 = time.Now()
	raw, err := faiss.ReadFile(snap + ".faiss")
	if err != nil {
		return nil, err
	}
	defer raw.Close()
	base.RawLoadS = time.Since(t0).Seconds()
	p.logf("raw FAISS read of the same snapshot: %.2fs", base.RawLoadS)

	m := &measurer{cfg: cfg, d: d, truth: p.Truth, truthK: p.TruthK, mates: p.Mates, pos: p.IDs,
		engine: func(qs []float32) (results, error) {
			hits, err := cat.Search(benchOrg, benchColl, qs, cfg.K)
			return results{hits: hits}, err
		},
		raw: func(qs []float32) (results, error) {
			_, ids, err := raw.Search(qs, cfg.K)
			return results{ids: ids, k: cfg.K}, err
		}}
	for _, ef := range cfg.EfSearch {
		if err := cat.SetEfSearch(benchOrg, benchColl, ef); err != nil {
			return nil, err
		}
		if err := raw.SetParam("efSearch", float64(ef)); err != nil {
			return nil, err
		}
		row := base
		row.EfSearch = ef
		cpu := newCPUMeter()
		if err := m.run(&row); err != nil {
			return nil, err
		}
		row.OthersCPU = cpu.others()
		p.logf("efSearch %d: recall@%d %.4f (raw %.4f, mates %s); QPS single %.0f (raw %.0f), parallel %.0f (raw %.0f), batch %.0f (raw %.0f); p50 %.3f ms, p99 %.3f ms; other processes %.2f cores",
			ef, cfg.K, row.Recall, row.RawRecall, mateCell(row.MateRecall), row.QPSSingle, row.RawQPSSingle, row.QPSParallel, row.RawQPSParallel,
			row.QPSBatch, row.RawQPSBatch, row.P50ms, row.P99ms, row.OthersCPU)
		rows = append(rows, row)
	}
	return rows, nil
}

// ingest creates the collection, bulk-adds every base vector durably, waits for the index,
// snapshots and closes. It returns the record ids in base order.
func ingest(cfg IndexConfig, sopt store.Options, copt catalog.Options, r *IndexResult, logf func(string, ...any)) (ids []int64, err error) {
	d := cfg.Data
	n := d.NBase()
	st, err := store.Open(sopt, nil)
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, st.Close()) }()
	cat, err := catalog.Open(st, copt, nil)
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, cat.Close()) }()
	if _, err := st.CreateOrg(benchOrg, "vigil bench", store.OrgSettings{}); err != nil {
		return nil, err
	}
	_, err = cat.CreateCollection(benchOrg, store.Collection{ID: benchColl, Kind: store.KindGallery, ModelID: "bench",
		Dimension: d.Dim, Index: store.IndexParams{M: cfg.M, EfConstruction: cfg.EfConstruction,
			EfSearch: cfg.EfSearch[0], ExactMax: cfg.ExactMax}})
	if err != nil {
		return nil, err
	}
	faces := make([]store.Face, n)
	for i := range faces {
		faces[i].Embedding = d.BaseVec(i)
		if d.BaseID != nil {
			faces[i].PersonID = "p" + strconv.Itoa(int(d.BaseID[i]))
		}
	}
	// BulkAdd in a few chunks, for progress lines; each chunk is itself pipelined.
	chunk := max(50_000, (n/20+store.MaxBatch-1)/store.MaxBatch*store.MaxBatch)
	logf("ingest: %d faces of %d-d, M %d, efConstruction %d, exact up to %d, OpenMP threads %d",
		n, d.Dim, cfg.M, cfg.EfConstruction, cfg.ExactMax, r.BuildOMPThreads)
	cpu := newCPUMeter()
	probe := startProbe(cat, d.QueryVec(0), cfg.K)
	t0 := time.Now()
	for i := 0; i < n; i += chunk {
		part := faces[i:min(i+chunk, n)]
		got, err := cat.BulkAdd(benchOrg, benchColl, part)
		if err != nil {
			return nil, err
		}
		if got != len(part) {
			return nil, fmt.Errorf("bench: BulkAdd stored %d of %d faces", got, len(part))
		}
		if el := time.Since(t0).Seconds(); i+chunk < n {
			done := i + len(part)
			logf("ingest: %d/%d durable (%.0f/s)", done, n, float64(done)/el)
		}
	}
	r.IngestS = time.Since(t0).Seconds()
	r.IngestPerS = float64(n) / r.IngestS
	logf("ingest: %d faces durable in %.1fs (%.0f/s); waiting for the index", n, r.IngestS, r.IngestPerS)
	stop := make(chan struct{})
	go func() {
		t := time.NewTicker(30 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				pending, _ := cat.Pending(benchOrg, benchColl)
				st, _ := cat.Stats(benchOrg, benchColl)
				state := st.Kind
				switch {
				case st.Rebuilding && st.Kind == "flat":
					state += ", switching to HNSW in the background (searches stay exact meanwhile)"
				case st.Rebuilding:
					state += ", rebuilding in the background"
				}
				logf("ingest: indexing, %d batches queued, index %s; %.0fs since the start", pending, state, time.Since(t0).Seconds())
			}
		}
	}()
	err = cat.WaitIndexed(benchOrg, benchColl)
	close(stop)
	if err != nil {
		return nil, err
	}
	r.BuildS = time.Since(t0).Seconds()
	r.BuildCPUS = cpu.selfCPU()
	r.IngestSearchP99ms, r.IngestSearchMaxms = probe.stop()
	stats, err := cat.Stats(benchOrg, benchColl)
	if err != nil {
		return nil, err
	}
	if stats.Kind != "hnsw" || stats.Live != n {
		return nil, fmt.Errorf("bench: index is %s with %d vectors after ingest, want hnsw with %d", stats.Kind, stats.Live, n)
	}
	logf("ingest: index complete and searchable %.1fs after the start (%.0f faces/s; %.0f CPU-seconds, other processes %.2f cores); searches meanwhile: p99 %.1f ms, max %.1f ms",
		r.BuildS, float64(n)/r.BuildS, r.BuildCPUS, cpu.others(), r.IngestSearchP99ms, r.IngestSearchMaxms)

	if ids, err = recordIDs(st, benchOrg, benchColl, d); err != nil {
		return nil, err
	}
	t0 = time.Now()
	if err := cat.SnapshotAll(); err != nil {
		return nil, err
	}
	r.SnapshotS = time.Since(t0).Seconds()
	logf("snapshot written in %.2fs", r.SnapshotS)
	return ids, nil
}

// probe searches one query every 2 s until stopped, timing each call. A light load on purpose:
// while the collection switches to HNSW its searches are exact over everything ingested so far
// (~50 ms each at 1M × 128-d), and at 5 per second they slowed the 1M build by over 20 %.
type probe struct {
	done chan struct{}
	lat  chan []time.Duration
}

func startProbe(cat *catalog.Catalog, q []float32, k int) probe {
	p := probe{done: make(chan struct{}), lat: make(chan []time.Duration, 1)}
	go func() {
		var lat []time.Duration
		t := time.NewTicker(2 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-p.done:
				p.lat <- lat
				return
			case <-t.C:
				t0 := time.Now()
				if _, err := cat.Search(benchOrg, benchColl, q, k); err == nil {
					lat = append(lat, time.Since(t0))
				}
			}
		}
	}()
	return p
}

// stop ends the probe and returns the p99 and maximum latency in milliseconds (0 if none ran).
func (p probe) stop() (p99, worst float64) {
	close(p.done)
	lat := <-p.lat
	if len(lat) == 0 {
		return 0, 0
	}
	slices.Sort(lat)
	return ms(lat[len(lat)*99/100]), ms(lat[len(lat)-1])
}

// recordIDs returns the store's record id of each base vector of d, in base order. The store
// assigns increasing ids in commit order and scans in id order; every embedding is checked
// against the base vector it is matched with, so a mismatch fails loudly instead of skewing
// recall.
func recordIDs(st *store.Store, org, coll string, d *Dataset) ([]int64, error) {
	ids := make([]int64, 0, d.NBase())
	_, err := st.ScanFaces(org, coll, func(f store.Face) error {
		i := len(ids)
		if i >= d.NBase() {
			return errors.New("bench: more faces stored than added")
		}
		var dot float32
		for j, x := range d.BaseVec(i) {
			dot += x * f.Embedding[j]
		}
		if dot < 0.9999 {
			return fmt.Errorf("bench: stored face %d (record %d) is not base vector %d", i, f.RecordID, i)
		}
		ids = append(ids, f.RecordID)
		return nil
	})
	if err == nil && len(ids) != d.NBase() {
		err = fmt.Errorf("bench: %d faces stored, %d added", len(ids), d.NBase())
	}
	return ids, err
}

// RecordIDs is recordIDs for callers holding a store with a collection filled with d's base
// vectors, in order (the catalog benchmarks).
func RecordIDs(st *store.Store, org, coll string, d *Dataset) ([]int64, error) {
	return recordIDs(st, org, coll, d)
}

// GroundTruth returns, for each query of d, the base positions of its k exact nearest
// neighbours by inner product, best first (nq×k), computed by FAISS's exact Flat index in one
// batched search.
func GroundTruth(d *Dataset, k int) ([]int32, error) {
	x, err := faiss.New(d.Dim, "IDMap2,Flat")
	if err != nil {
		return nil, err
	}
	defer x.Close()
	ids := make([]int64, d.NBase())
	for i := range ids {
		ids[i] = int64(i)
	}
	if err := x.Add(ids, d.Base); err != nil {
		return nil, err
	}
	_, got, err := x.Search(d.Queries, k)
	if err != nil {
		return nil, err
	}
	out := make([]int32, len(got))
	for i, id := range got {
		out[i] = int32(id)
	}
	return out, nil
}

// measurer runs the search passes of one efSearch value against the engine and raw FAISS.
type measurer struct {
	cfg         IndexConfig
	d           *Dataset
	truth       []int32
	truthK      int
	mates       []int32 // nil: no identity labels
	pos         []int64 // record id of each base position, ascending
	engine, raw searchFn
}

// searchFn runs len(qs)/Dim queries in one call.
type searchFn func(qs []float32) (results, error)

// results are either the engine's hits or raw FAISS's k ids per query (-1 padded); converting
// is left out of the timed calls.
type results struct {
	hits [][]index.Hit
	ids  []int64
	k    int
}

// of appends query q's result ids to dst.
func (r results) of(q int, dst []int64) []int64 {
	if r.hits != nil {
		for _, h := range r.hits[q] {
			dst = append(dst, h.ID)
		}
		return dst
	}
	for _, id := range r.ids[q*r.k : (q+1)*r.k] {
		if id >= 0 {
			dst = append(dst, id)
		}
	}
	return dst
}

type passResult struct {
	qps      float64
	lat      []time.Duration // single only, sorted
	recall   float64         // single and batch
	mate     float64         // single only; -1 without labels
	p50, p99 float64
}

func (m *measurer) run(row *IndexResult) error {
	// Warm both paths (caches, OpenMP pools; the first calls from a new OS thread start its
	// OpenMP team, so the parallel pass's goroutines too) before timing.
	warm := min(200, m.d.NQueries())
	for q := range warm {
		if _, err := m.engine(m.d.QueryVec(q)); err != nil {
			return err
		}
		if _, err := m.raw(m.d.QueryVec(q)); err != nil {
			return err
		}
	}
	if _, _, err := m.parallelPair(warm); err != nil {
		return err
	}
	// Engine and raw alternate query by query (single) or chunk by chunk (parallel), so both see
	// the same machine: on a shared VM throughput drifts ±10 % within a minute, which would
	// otherwise land in the ratio.
	var es, rs, ep, rp, eb, rb passResult
	for rep := range m.cfg.Repeat {
		e, r, err := m.singlePair()
		if err != nil {
			return err
		}
		keepBest(&es, e)
		keepBest(&rs, r)
		if e, r, err = m.parallelPair(m.d.NQueries()); err != nil {
			return err
		}
		keepBest(&ep, e)
		keepBest(&rp, r)
		first, second := m.engine, m.raw
		if rep%2 == 1 {
			first, second = second, first
		}
		b1, err := m.batch(first)
		if err != nil {
			return err
		}
		b2, err := m.batch(second)
		if err != nil {
			return err
		}
		if rep%2 == 1 {
			b1, b2 = b2, b1
		}
		keepBest(&eb, b1)
		keepBest(&rb, b2)
	}
	row.Recall, row.MateRecall, row.QPSSingle, row.P50ms, row.P99ms = es.recall, es.mate, es.qps, es.p50, es.p99
	row.QPSParallel, row.QPSBatch = ep.qps, eb.qps
	row.RawRecall, row.RawQPSSingle, row.RawP50ms, row.RawP99ms = rs.recall, rs.qps, rs.p50, rs.p99
	row.RawQPSParallel, row.RawQPSBatch = rp.qps, rb.qps
	row.RatioSingle, row.RatioParallel, row.RatioBatch = es.qps/rs.qps, ep.qps/rp.qps, eb.qps/rb.qps
	return nil
}

func keepBest(best *passResult, got passResult) {
	if got.qps > best.qps {
		*best = got
	}
}

// singlePair runs every query alone from one goroutine through both paths, alternating which
// goes first, timing each call; QPS is queries over the summed call times.
func (m *measurer) singlePair() (engine, raw passResult, err error) {
	nq := m.d.NQueries()
	type acc struct {
		lat                   []time.Duration
		total                 time.Duration
		hits, mates, mateHits int
	}
	var accs [2]acc
	paths := [2]searchFn{m.engine, m.raw}
	ids := make([]int64, 0, m.cfg.K)
	for q := range nq {
		for i := range 2 {
			p := (q + i) % 2 // alternate the order
			t := time.Now()
			res, err := paths[p](m.d.QueryVec(q))
			d := time.Since(t)
			if err != nil {
				return engine, raw, err
			}
			a := &accs[p]
			a.lat = append(a.lat, d)
			a.total += d
			h, mh, mn := m.overlap(q, res.of(0, ids[:0]))
			a.hits, a.mateHits, a.mates = a.hits+h, a.mateHits+mh, a.mates+mn
		}
	}
	var out [2]passResult
	for p, a := range accs {
		slices.Sort(a.lat)
		mate := -1.0
		if m.mates != nil && a.mates > 0 {
			mate = float64(a.mateHits) / float64(a.mates)
		}
		out[p] = passResult{qps: float64(nq) / a.total.Seconds(), lat: a.lat, recall: float64(a.hits) / float64(nq*m.cfg.K),
			mate: mate, p50: ms(a.lat[nq/2]), p99: ms(a.lat[min(nq-1, nq*99/100)])}
	}
	return out[0], out[1], nil
}

// parallelPair runs the first nq queries alone per call, Threads goroutines at a time, through
// both paths in alternating chunks; QPS is queries over each path's summed chunk times.
func (m *measurer) parallelPair(nq int) (engine, raw passResult, err error) {
	const chunk = 50
	var total [2]time.Duration
	paths := [2]searchFn{m.engine, m.raw}
	for c0 := 0; c0 < nq; c0 += chunk {
		c1 := min(c0+chunk, nq)
		for i := range 2 {
			p := (c0/chunk + i) % 2
			d, err := m.parallelRange(paths[p], c0, c1)
			if err != nil {
				return engine, raw, err
			}
			total[p] += d
		}
	}
	return passResult{qps: float64(nq) / total[0].Seconds()}, passResult{qps: float64(nq) / total[1].Seconds()}, nil
}

// parallelRange runs queries [q0, q1) alone per call, Threads goroutines at a time.
func (m *measurer) parallelRange(search searchFn, q0, q1 int) (time.Duration, error) {
	var next atomic.Int64
	next.Store(int64(q0))
	var wg sync.WaitGroup
	errs := make([]error, m.cfg.Threads)
	t0 := time.Now()
	for w := range m.cfg.Threads {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				q := int(next.Add(1) - 1)
				if q >= q1 {
					return
				}
				if _, err := search(m.d.QueryVec(q)); err != nil {
					errs[w] = err
					return
				}
			}
		}()
	}
	wg.Wait()
	return time.Since(t0), errors.Join(errs...)
}

// batch runs all queries in one call.
func (m *measurer) batch(search searchFn) (passResult, error) {
	t0 := time.Now()
	res, err := search(m.d.Queries)
	el := time.Since(t0)
	if err != nil {
		return passResult{}, err
	}
	nq := m.d.NQueries()
	hits := 0
	ids := make([]int64, 0, m.cfg.K)
	for q := range nq {
		h, _, _ := m.overlap(q, res.of(q, ids[:0]))
		hits += h
	}
	return passResult{qps: float64(nq) / el.Seconds(), recall: float64(hits) / float64(nq*m.cfg.K)}, nil
}

// overlap counts how many of got (record ids) are among query q's k true neighbours (hits),
// and, with identity labels, how many of those true neighbours are the query's mates and how
// many of the mates were found.
func (m *measurer) overlap(q int, got []int64) (hits, mateHits, mates int) {
	k := m.cfg.K
	truth := m.truth[q*m.truthK : q*m.truthK+k]
	for _, id := range got[:min(k, len(got))] {
		p, ok := slices.BinarySearch(m.pos, id)
		if !ok {
			continue
		}
		if j := slices.Index(truth, int32(p)); j >= 0 {
			hits++
			if m.mates != nil && m.mates[q*k+j] == 1 {
				mateHits++
			}
		}
	}
	if m.mates != nil {
		for _, f := range m.mates[q*k : (q+1)*k] {
			mates += int(f)
		}
	}
	return hits, mateHits, mates
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// WriteTable prints rows as a table: run-level figures once, then one line per efSearch.
func WriteTable(w io.Writer, rows []IndexResult) error {
	if len(rows) == 0 {
		return nil
	}
	r := rows[0]
	fmt.Fprintf(w, "vigil bench index  %s  %s\n", r.Date, r.Data)
	fmt.Fprintf(w, "cpu %s, %d cores, simd %s; threads %d (OpenMP %d)\n", r.CPU, r.CPUs, r.SIMD, r.Threads, r.OMPThreads)
	fmt.Fprintf(w, "n %d  dim %d  queries %d  k %d  M %d  efConstruction %d  exact-max %d\n",
		r.N, r.Dim, r.NQ, r.K, r.M, r.EfConstr, r.ExactMax)
	fmt.Fprintf(w, "ingest %.1fs (%.0f faces/s durable)  searchable after %.1fs (%.0f CPU-s)  snapshot %.2fs  (other processes: %.2f cores)\n",
		r.IngestS, r.IngestPerS, r.BuildS, r.BuildCPUS, r.SnapshotS, r.OthersCPUBuild)
	fmt.Fprintf(w, "searches during ingest: p99 %.1f ms, max %.1f ms\n", r.IngestSearchP99ms, r.IngestSearchMaxms)
	fmt.Fprintf(w, "cold start: store %.2fs + index load %.2fs (raw FAISS read %.2fs)\n", r.StoreOpenS, r.LoadS, r.RawLoadS)
	fmt.Fprintf(w, "memory: FAISS index %.1f MB (%.0f B/vector); RSS %.0f → %.0f MB (+%.0f MB, %.2f× index+ids)\n\n",
		float64(r.IndexBytes)/(1<<20), r.BytesPerVector, r.RSSBeforeMB, r.RSSAfterMB, r.RSSMB, r.MemRatio)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "efSearch\trecall@%d\tmates\tQPS 1\tQPS %d\tQPS batch\tp50 ms\tp99 ms\traw QPS 1\traw QPS %d\traw batch\tratio 1\tratio %d\tratio batch\tothers\t\n",
		r.K, r.Threads, r.Threads, r.Threads)
	for _, r := range rows {
		fmt.Fprintf(tw, "%d\t%.4f\t%s\t%.0f\t%.0f\t%.0f\t%.3f\t%.3f\t%.0f\t%.0f\t%.0f\t%.2f\t%.2f\t%.2f\t%.2f\t\n",
			r.EfSearch, r.Recall, mateCell(r.MateRecall), r.QPSSingle, r.QPSParallel, r.QPSBatch, r.P50ms, r.P99ms,
			r.RawQPSSingle, r.RawQPSParallel, r.RawQPSBatch, r.RatioSingle, r.RatioParallel, r.RatioBatch, r.OthersCPU)
	}
	return tw.Flush()
}

func mateCell(v float64) string {
	if v < 0 {
		return "-"
	}
	return strconv.FormatFloat(v, 'f', 4, 64)
}

// emptyDir makes sure dir exists and holds nothing.
func emptyDir(dir string) error {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	if len(ents) > 0 {
		return fmt.Errorf("bench: %s is not empty", dir)
	}
	return nil
}

// ompThreads is the OpenMP thread count FAISS runs with: OMP_NUM_THREADS as read when the
// process started, else libgomp's default, one per CPU.
func ompThreads() int {
	if n, err := strconv.Atoi(strings.TrimSpace(strings.Split(os.Getenv("OMP_NUM_THREADS"), ",")[0])); err == nil && n > 0 {
		return n
	}
	return runtime.NumCPU()
}

func cpuModel() string {
	if m := cpuinfo("model name"); m != "" {
		return m
	}
	return runtime.GOARCH
}

// cpuinfo is the first value of key in /proc/cpuinfo, or "".
func cpuinfo(key string) string {
	b, _ := os.ReadFile("/proc/cpuinfo")
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// rssMB is the process's resident set (VmRSS), in MiB; -1 if unknown.
func rssMB() float64 {
	b, _ := os.ReadFile("/proc/self/status")
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb / 1024
		}
	}
	return -1
}

// cpuMeter measures how many cores other processes kept busy: all busy time in /proc/stat
// minus this process's own CPU time, over wall time.
type cpuMeter struct {
	t0         time.Time
	busy, self float64 // seconds
}

func newCPUMeter() cpuMeter {
	busy, self := cpuTimes()
	return cpuMeter{t0: time.Now(), busy: busy, self: self}
}

// selfCPU is this process's CPU seconds since the meter started.
func (c cpuMeter) selfCPU() float64 {
	_, self := cpuTimes()
	return math.Round((self-c.self)*100) / 100
}

func (c cpuMeter) others() float64 {
	busy, self := cpuTimes()
	el := time.Since(c.t0).Seconds()
	if el <= 0 || math.IsNaN(busy) || math.IsNaN(self) {
		return -1 // unknown (no /proc); JSON has no NaN
	}
	return math.Round(max(0, (busy-c.busy)-(self-c.self))/el*100) / 100
}

// cpuTimes returns the system's busy CPU seconds (user, nice, system, irq, softirq, steal) and
// this process's (utime + stime). Linux's /proc counts in USER_HZ = 100 ticks per second.
func cpuTimes() (busy, self float64) {
	const hz = 100
	busy, self = math.NaN(), math.NaN()
	if b, err := os.ReadFile("/proc/stat"); err == nil {
		line, _, _ := strings.Cut(string(b), "\n")
		f := strings.Fields(line)
		if len(f) >= 9 && f[0] == "cpu" {
			busy = 0
			for _, i := range []int{1, 2, 3, 6, 7, 8} {
				v, _ := strconv.ParseFloat(f[i], 64)
				busy += v / hz
			}
		}
	}
	if b, err := os.ReadFile("/proc/self/stat"); err == nil {
		// Fields after the command name (which may hold spaces) start after the last ')'.
		s := string(b)
		if i := strings.LastIndexByte(s, ')'); i >= 0 {
			f := strings.Fields(s[i+1:])
			if len(f) > 12 {
				u, _ := strconv.ParseFloat(f[11], 64)
				k, _ := strconv.ParseFloat(f[12], 64)
				self = (u + k) / hz
			}
		}
	}
	return busy, self
}
