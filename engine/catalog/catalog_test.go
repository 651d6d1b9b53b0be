package catalog

import (
	"bufio"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"vigil/engine/store"
	"vigil/index"
)

const dim = 32

func randUnit(r *rand.Rand) []float32 {
	v := make([]float32, dim)
	var n float64
	for i := range v {
		x := r.NormFloat64()
		v[i] = float32(x)
		n += x * x
	}
	for i := range v {
		v[i] /= float32(math.Sqrt(n))
	}
	return v
}

func openAll(t testing.TB, dir string, every time.Duration) (*store.Store, *Catalog) {
	t.Helper()
	st, err := store.Open(store.DefaultOptions(filepath.Join(dir, "db")), nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := Open(st, Options{SnapshotDir: filepath.Join(dir, "index"), SnapshotEvery: every}, nil)
	if err != nil {
		st.Close()
		t.Fatal(err)
	}
	return st, c
}

func ensureCollection(t testing.TB, st *store.Store, c *Catalog) {
	t.Helper()
	if _, err := st.CreateOrg("o1", "org one", store.OrgSettings{}); err != nil && !errors.Is(err, store.ErrExists) {
		t.Fatal(err)
	}
	_, err := c.CreateCollection("o1", store.Collection{ID: "c1", Kind: store.KindGallery, ModelID: "test", Dimension: dim,
		Index: store.IndexParams{M: 16, EfConstruction: 40, EfSearch: 64, ExactMax: 300}})
	if err != nil && !errors.Is(err, store.ErrExists) {
		t.Fatal(err)
	}
}

// TestMain lets the test binary act as the writer child of TestCrashRecovery.
func TestMain(m *testing.M) {
	if dir := os.Getenv("VIGIL_CRASH_CHILD"); dir != "" {
		crashChild(dir)
		return
	}
	os.Exit(m.Run())
}

// crashChild streams acknowledged adds and deletes, printing each acknowledgement only after
// the call returned, until it is killed.
func crashChild(dir string) {
	t := &testing.T{}
	st, c := openAll(t, dir, 15*time.Millisecond)
	ensureCollection(t, st, c)
	seed, _ := strconv.Atoi(os.Getenv("VIGIL_CRASH_SEED"))
	r := rand.New(rand.NewPCG(uint64(seed), 1))
	out := bufio.NewWriter(os.Stdout)
	var mine []int64
	for {
		if len(mine) > 10 && r.IntN(2) == 0 {
			i := r.IntN(len(mine))
			rid := mine[i]
			mine = append(mine[:i], mine[i+1:]...)
			if err := c.DeleteFace("o1", "c1", rid); err != nil {
				fmt.Fprintln(os.Stderr, "delete:", err)
				os.Exit(2)
			}
			fmt.Fprintf(out, "D %d\n", rid)
			out.Flush()
			continue
		}
		faces := make([]store.Face, 1+r.IntN(40))
		for i := range faces {
			faces[i] = store.Face{Embedding: randUnit(r), DetScore: 0.9}
		}
		done, err := c.AddFaces("o1", "c1", faces)
		if err != nil {
			fmt.Fprintln(os.Stderr, "add:", err)
			os.Exit(2)
		}
		for _, f := range done {
			mine = append(mine, f.RecordID)
			fmt.Fprintf(out, "A %d\n", f.RecordID)
		}
		out.Flush()
	}
}

// TestCrashRecovery SIGKILLs a writer in the middle of a stream of acknowledged inserts and
// deletes (with snapshots being saved every few ms), several times, then reopens: every
// acknowledged face must be found, no acknowledged delete returned, and index count == store
// count.
func TestCrashRecovery(t *testing.T) {
	dir := t.TempDir()
	added := map[int64]bool{}
	deleted := map[int64]bool{}
	for round := 0; round < 4; round++ {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "VIGIL_CRASH_CHILD="+dir, fmt.Sprintf("VIGIL_CRASH_SEED=%d", round+1))
		cmd.Stderr = os.Stderr
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Kill after a set amount of acknowledged traffic, not after a set time, so a loaded
		// machine still gets enough of it; the deadline only guards a stuck child.
		killAfter, deadline := 400+round*250, time.Now().Add(2*time.Minute)
		lines := 0
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			rid, _ := strconv.ParseInt(f[1], 10, 64)
			if f[0] == "A" {
				added[rid] = true
			} else {
				deleted[rid] = true
			}
			if lines++; lines >= killAfter || time.Now().After(deadline) {
				cmd.Process.Signal(syscall.SIGKILL)
				break
			}
		}
		for sc.Scan() { // acknowledgements already written before the kill still count
			f := strings.Fields(sc.Text())
			rid, _ := strconv.ParseInt(f[1], 10, 64)
			if f[0] == "A" {
				added[rid] = true
			} else {
				deleted[rid] = true
			}
		}
		err = cmd.Wait()
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() {
			t.Fatalf("round %d: child ended on its own: %v", round, err)
		}
	}
	if len(added) < 500 || len(deleted) < 50 {
		t.Fatalf("too little traffic to mean anything: %d adds, %d deletes", len(added), len(deleted))
	}

	st, c := openAll(t, dir, 0)
	defer st.Close()
	defer c.Close()
	stats, _ := c.Stats("o1", "c1")
	n, _ := st.CountFaces("o1", "c1")
	if stats.Live != n {
		t.Fatalf("index count %d != store count %d", stats.Live, n)
	}
	if stats.Kind != "hnsw" {
		t.Fatalf("index kind %s after %d faces; the test should exercise HNSW", stats.Kind, n)
	}
	for rid := range added {
		f, err := st.GetFace("o1", "c1", rid)
		if deleted[rid] {
			if !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("acknowledged delete of %d not durable: %v", rid, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("acknowledged face %d lost: %v", rid, err)
		}
		hits, err := c.Search("o1", "c1", f.Embedding, 3)
		if err != nil {
			t.Fatal(err)
		}
		if !containsID(hits[0], rid) {
			t.Fatalf("acknowledged face %d not found by its own embedding: %v", rid, hits[0])
		}
	}
	// Deleted faces must never come back, even as near neighbours of themselves.
	for rid := range deleted {
		r := rand.New(rand.NewPCG(uint64(rid), 9))
		hits, _ := c.Search("o1", "c1", randUnit(r), 50)
		if containsID(hits[0], rid) {
			t.Fatalf("deleted face %d returned", rid)
		}
	}
	t.Logf("%d acknowledged adds, %d deletes, %d faces, index %+v", len(added), len(deleted), n, stats)
}

func containsID(hits []index.Hit, id int64) bool {
	for _, h := range hits {
		if h.ID == id {
			return true
		}
	}
	return false
}

// TestSnapshotThenCatchUp checks the three ways a collection loads: from a snapshot plus the
// change log, from a scan when the snapshot is missing, and from a scan when it is damaged.
func TestSnapshotThenCatchUp(t *testing.T) {
	dir := t.TempDir()
	st, c := openAll(t, dir, 0)
	ensureCollection(t, st, c)
	r := rand.New(rand.NewPCG(3, 3))
	var all []store.Face
	for i := 0; i < 10; i++ {
		faces := make([]store.Face, 60)
		for j := range faces {
			faces[j] = store.Face{Embedding: randUnit(r)}
		}
		out, err := c.AddFaces("o1", "c1", faces)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, out...)
		if i == 5 {
			if err := c.SnapshotAll(); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, f := range all[:30] {
		if err := c.DeleteFace("o1", "c1", f.RecordID); err != nil {
			t.Fatal(err)
		}
	}
	abandon(c) // as a crash would: no final snapshot
	st.Close()

	check := func(stage string) {
		t.Helper()
		st, c := openAll(t, dir, 0)
		defer st.Close()
		defer abandon(c)
		if s, _ := c.Stats("o1", "c1"); s.Live != 570 {
			t.Fatalf("%s: %d live faces, want 570", stage, s.Live)
		}
		for i, f := range all {
			hits, _ := c.Search("o1", "c1", f.Embedding, 1)
			if found := len(hits[0]) > 0 && hits[0][0].ID == f.RecordID; found != (i >= 30) {
				t.Fatalf("%s: face %d found=%v, deleted=%v", stage, i, found, i < 30)
			}
		}
	}
	check("snapshot + change log")
	snaps, _ := filepath.Glob(filepath.Join(dir, "index", "o1", "c1.*.idx"))
	if len(snaps) != 1 {
		t.Fatalf("snapshots %v, want one", snaps)
	}
	os.WriteFile(snaps[0]+".faiss", []byte("damaged"), 0o644)
	check("damaged snapshot")
	index.RemoveSnapshot(snaps[0])
	check("no snapshot")
}

// abandon frees a catalog's indexes without the final snapshot Close would save.
func abandon(c *Catalog) {
	close(c.stop)
	c.done.Wait()
	for _, col := range c.cols {
		col.app.close()
		col.idx.Close()
	}
}

func TestIsolationAndErasure(t *testing.T) {
	dir := t.TempDir()
	st, c := openAll(t, dir, 0)
	defer st.Close()
	defer c.Close()
	ensureCollection(t, st, c)
	if _, err := c.Search("o2", "c1", make([]float32, dim), 1); !errors.Is(err, ErrNotFound) {
		t.Fatalf("another org's collection: %v, want ErrNotFound", err)
	}
	if _, err := st.CreatePerson("o1", store.Person{ID: "p1"}); err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(4, 4))
	faces := []store.Face{{PersonID: "p1", Embedding: randUnit(r)}, {PersonID: "p1", Embedding: randUnit(r)}, {Embedding: randUnit(r)}}
	out, err := c.AddFaces("o1", "c1", faces)
	if err != nil {
		t.Fatal(err)
	}
	refs, err := c.DeletePerson("o1", "p1")
	if err != nil || len(refs) != 2 {
		t.Fatalf("DeletePerson = %v, %v; want 2 faces", refs, err)
	}
	for i, f := range out {
		hits, _ := c.Search("o1", "c1", f.Embedding, 3)
		if containsID(hits[0], f.RecordID) != (i == 2) {
			t.Fatalf("after erasure face %d found=%v", i, !(i == 2))
		}
	}
}

// TestBulkAddIsDurableThenIndexed: BulkAdd returns once every face is committed; the applier
// indexes them in the background, and a reopen without a snapshot finds all of them.
func TestBulkAddIsDurableThenIndexed(t *testing.T) {
	dir := t.TempDir()
	st, c := openAll(t, dir, 0)
	ensureCollection(t, st, c)
	r := rand.New(rand.NewPCG(6, 6))
	faces := make([]store.Face, 2500)
	for i := range faces {
		faces[i] = store.Face{Embedding: randUnit(r)}
	}
	n, err := c.BulkAdd("o1", "c1", faces)
	if err != nil || n != len(faces) {
		t.Fatalf("BulkAdd = %d, %v", n, err)
	}
	if got, _ := st.CountFaces("o1", "c1"); got != len(faces) {
		t.Fatalf("store holds %d faces after BulkAdd returned, want %d", got, len(faces))
	}
	if err := c.WaitIndexed("o1", "c1"); err != nil {
		t.Fatal(err)
	}
	if p, _ := c.Pending("o1", "c1"); p != 0 {
		t.Fatalf("%d changes pending after WaitIndexed", p)
	}
	if s, _ := c.Stats("o1", "c1"); s.Live != len(faces) || s.Kind != "hnsw" {
		t.Fatalf("index %+v, want %d live in hnsw", s, len(faces))
	}
	abandon(c)
	st.Close()
	st, c = openAll(t, dir, 0)
	defer st.Close()
	defer c.Close()
	if s, _ := c.Stats("o1", "c1"); s.Live != len(faces) {
		t.Fatalf("after reopen: %+v", s)
	}
}
