package bench

import (
	"encoding/json"
	"math"
	"os"
	"reflect"
	"strings"
	"testing"
)

func tinyConfig(t *testing.T) IndexConfig {
	t.Helper()
	d, err := Synthetic(SyntheticConfig{N: 3000, Dim: 32, Queries: 200, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	return IndexConfig{Data: d, Source: "test", K: 10, M: 16, EfConstruction: 64, EfSearch: []int{8, 256},
		Threads: 2, Dir: t.TempDir() + "/data"}
}

// TestRunIndexEndToEnd runs the whole benchmark small, through the path `vigil bench index`
// takes (Prepare, Save, then LoadPrepared and Measure as a fresh process would), and checks
// every JSON field.
func TestRunIndexEndToEnd(t *testing.T) {
	cfg := tinyConfig(t)
	p, err := Prepare(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Save(); err != nil {
		t.Fatal(err)
	}
	p, err = LoadPrepared(p.Dir)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := p.Measure()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Cleanup(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(cfg.Dir); !os.IsNotExist(err) {
		t.Fatalf("data directory left behind: %v", err)
	}
	if len(rows) != 2 || rows[0].EfSearch != 8 || rows[1].EfSearch != 256 {
		t.Fatalf("rows: %+v", rows)
	}
	hi := rows[1]
	if hi.Recall < 0.99 || hi.RawRecall != hi.Recall || hi.MateRecall < 0.99 {
		t.Errorf("efSearch 256 on 3000 vectors: recall %.4f, raw %.4f, mates %.4f; want ≈ 1", hi.Recall, hi.RawRecall, hi.MateRecall)
	}
	if rows[0].Recall > hi.Recall {
		t.Errorf("recall fell with efSearch: %.4f at 8, %.4f at 256", rows[0].Recall, hi.Recall)
	}

	// Every field of the JSON form is present and sane.
	var want []string
	for f := range reflect.TypeFor[IndexResult]().Fields() {
		want = append(want, strings.Split(f.Tag.Get("json"), ",")[0])
	}
	for _, r := range rows {
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		for _, k := range want {
			v, ok := m[k]
			if !ok {
				t.Errorf("JSON lacks %q", k)
				continue
			}
			switch x := v.(type) {
			case string:
				if x == "" {
					t.Errorf("%s is empty", k)
				}
			case float64:
				if math.IsNaN(x) || math.IsInf(x, 0) {
					t.Errorf("%s = %v", k, x)
				}
				switch {
				case strings.HasPrefix(k, "others_cpu"):
					if x < 0 || x > float64(r.CPUs) {
						t.Errorf("%s = %v", k, x)
					}
				case strings.HasPrefix(k, "ingest_search_"):
					if x < 0 || x > 60_000 {
						t.Errorf("%s = %v", k, x)
					}
				case k == "rss_mb" || k == "mem_ratio":
					// Measured in this process, after the ingest: the C allocator may reuse
					// memory it kept, so growth can be ~0 (the CLI measures in a fresh one).
				case strings.Contains(k, "recall"):
					if x < 0 || x > 1 {
						t.Errorf("%s = %v", k, x)
					}
				case x <= 0:
					t.Errorf("%s = %v, want > 0", k, x)
				}
			default:
				t.Errorf("%s has type %T", k, v)
			}
		}
		if r.N != 3000 || r.Dim != 32 || r.NQ != 200 || r.K != 10 || r.M != 16 || r.EfConstr != 64 || r.Threads != 2 || r.ExactMax != 1500 {
			t.Errorf("config fields: %+v", r)
		}
		if r.BuildS < r.IngestS || r.P99ms < r.P50ms || r.BytesPerVector < 4*32 {
			t.Errorf("inconsistent: build %.2fs < ingest %.2fs, p50 %.3f p99 %.3f, %.0f B/vector",
				r.BuildS, r.IngestS, r.P50ms, r.P99ms, r.BytesPerVector)
		}
		if math.Abs(r.RatioSingle-r.QPSSingle/r.RawQPSSingle) > 1e-9 {
			t.Errorf("ratio_single %v", r.RatioSingle)
		}
	}
	var sb strings.Builder
	if err := WriteTable(&sb, rows); err != nil || !strings.Contains(sb.String(), "efSearch") {
		t.Errorf("table: %v\n%s", err, sb.String())
	}
}

// TestRunIndexGivenTruth runs in one process with ground truth supplied (as from --gt) and no
// identity labels (as from files), keeping the data directory.
func TestRunIndexGivenTruth(t *testing.T) {
	cfg := tinyConfig(t)
	truth, err := GroundTruth(cfg.Data, 20)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Data.BaseID, cfg.Data.QueryID = nil, nil
	cfg.Truth, cfg.TruthK, cfg.Keep, cfg.EfSearch = truth, 20, true, []int{256}
	rows, err := RunIndex(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if r := rows[0]; r.Recall < 0.99 || r.MateRecall != -1 {
		t.Errorf("recall %.4f, mates %v", r.Recall, r.MateRecall)
	}
	if _, err := os.Stat(cfg.Dir + "/db"); err != nil {
		t.Errorf("--keep: %v", err)
	}
}

func TestRunIndexRejects(t *testing.T) {
	for name, mod := range map[string]func(*IndexConfig){
		"exact-max not below n": func(c *IndexConfig) { c.ExactMax = 3000 },
		"k above n":             func(c *IndexConfig) { c.K = 5000 },
		"short ground truth":    func(c *IndexConfig) { c.Truth, c.TruthK = make([]int32, 10), 5 },
		"truth out of range":    func(c *IndexConfig) { c.Truth, c.TruthK = make([]int32, 2000), 10; c.Truth[7] = 3000 },
		"bad efSearch":          func(c *IndexConfig) { c.EfSearch = []int{16, 0} },
		"no queries":            func(c *IndexConfig) { c.Data.Queries = nil },
	} {
		cfg := tinyConfig(t)
		mod(&cfg)
		if _, err := RunIndex(cfg); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	cfg := tinyConfig(t)
	os.MkdirAll(cfg.Dir, 0o750)
	os.WriteFile(cfg.Dir+"/x", nil, 0o600)
	if _, err := RunIndex(cfg); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("non-empty dir: %v", err)
	}
}
