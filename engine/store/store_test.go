package store

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/google/uuid"
)

func TestOpenCloseReopen(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "db")
	s, err := Open(DefaultOptions(dir), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	s, err = Open(DefaultOptions(dir), nil)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	// A second process (here: a second handle) must not open a database that is in use.
	if _, err := Open(DefaultOptions(dir), nil); err == nil {
		t.Fatal("opened a locked database twice")
	}
	s.Close()
}

func TestOpenRejectsBadDir(t *testing.T) {
	if _, err := Open(Options{}, nil); err == nil {
		t.Fatal("Open without a directory succeeded")
	}
	f := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(f, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(Options{Dir: f}, nil); err == nil {
		t.Fatal("Open on a regular file succeeded")
	}
}

func TestOpenInMemory(t *testing.T) {
	s, err := Open(Options{InMemory: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	mustColl(t, s, "o", "c", 4)
	if _, _, err := s.AddFaces("o", "c", []Face{{Embedding: []float32{1, 2, 3, 4}}}); err != nil {
		t.Fatal(err)
	}
}

// ---- helpers ----

// openT opens a store in a fresh directory, without fsync (tests that need it say so), closed
// at the end of the test. mods adjust the options.
func openT(t *testing.T, mods ...func(*Options)) (*Store, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "db")
	opts := DefaultOptions(dir)
	opts.SyncWrites = false
	opts.ValueLogGCInterval = 20 * time.Millisecond // exercise it alongside everything else
	for _, m := range mods {
		m(&opts)
	}
	s, err := Open(opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, dir
}

func mustColl(t *testing.T, s *Store, org, id string, dim int) Collection {
	t.Helper()
	c, err := s.CreateCollection(org, Collection{ID: id, Kind: KindGallery, ModelID: "mobilefacenet-128", Dimension: dim})
	if err != nil {
		t.Fatalf("CreateCollection(%s, %s): %v", org, id, err)
	}
	return c
}

func randVec(rng *rand.Rand, dim int) []float32 {
	v := make([]float32, dim)
	for i := range v {
		v[i] = float32(rng.NormFloat64())
	}
	return v
}

// faces returns n faces of dimension dim; person(i) names face i's person.
func faces(rng *rand.Rand, n, dim int, person func(i int) string) []Face {
	fs := make([]Face, n)
	for i := range fs {
		fs[i] = Face{Embedding: randVec(rng, dim), DetScore: 0.9, Quality: float32(i) / float32(n)}
		if person != nil {
			fs[i].PersonID = person(i)
		}
	}
	return fs
}

func mustAdd(t *testing.T, s *Store, org, coll string, fs []Face) []Face {
	t.Helper()
	out, _, err := s.AddFaces(org, coll, fs)
	if err != nil {
		t.Fatalf("AddFaces(%s, %s, %d faces): %v", org, coll, len(fs), err)
	}
	return out
}

func allChanges(t *testing.T, s *Store, org, coll string, after uint64) []Change {
	t.Helper()
	var cs []Change
	if err := s.Changes(org, coll, after, func(c Change) error { cs = append(cs, c); return nil }); err != nil {
		t.Fatalf("Changes(%s, %s, %d): %v", org, coll, after, err)
	}
	return cs
}

func scanAll(t *testing.T, s *Store, org, coll string) ([]Face, uint64) {
	t.Helper()
	var fs []Face
	seq, err := s.ScanFaces(org, coll, func(f Face) error { fs = append(fs, f); return nil })
	if err != nil {
		t.Fatalf("ScanFaces(%s, %s): %v", org, coll, err)
	}
	return fs, seq
}

// countKeys counts raw keys under prefix.
func countKeys(t *testing.T, s *Store, prefix []byte) int {
	t.Helper()
	n := 0
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			n++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func sameFace(t *testing.T, got, want Face) {
	t.Helper()
	if got.RecordID != want.RecordID || got.ReferenceID != want.ReferenceID || got.PersonID != want.PersonID ||
		got.CollectionID != want.CollectionID || got.DetScore != want.DetScore || got.Quality != want.Quality ||
		!got.CreatedAt.Equal(want.CreatedAt) || !slices.Equal(got.Embedding, want.Embedding) {
		t.Fatalf("face differs:\n got %+v\nwant %+v", brief(got), brief(want))
	}
}

func brief(f Face) Face {
	if len(f.Embedding) > 4 {
		f.Embedding = f.Embedding[:4]
	}
	return f
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: got error %v, want %v", what, err, want)
	}
}

// ---- tests ----

func TestValidID(t *testing.T) {
	f := func(id string, want bool) {
		t.Helper()
		if got := validID(id); got != want {
			t.Errorf("validID(%q) = %v, want %v", id, got, want)
		}
	}
	f("a", true)
	f("Org_1.x:y@z-9", true)
	f(strings.Repeat("a", MaxIDLen), true)
	f("", false)
	f(strings.Repeat("a", MaxIDLen+1), false)
	f("a\x00b", false)
	f("a/b", false)
	f("a b", false)
	f("é", false)
	f("a\nb", false)
	f("a\xffb", false)
}

func TestInvalidIDsRejected(t *testing.T) {
	s, _ := openT(t)
	bad := "a\x00b"
	calls := []struct {
		name string
		fn   func() error
	}{
		{"CreateOrg", func() error { _, err := s.CreateOrg(bad, "x", OrgSettings{}); return err }},
		{"GetOrg", func() error { _, err := s.GetOrg(""); return err }},
		{"CreateAPIKey scope", func() error { _, err := s.CreateAPIKey("o", [32]byte{}, []string{"a b"}); return err }},
		{"CreateCollection", func() error { _, err := s.CreateCollection("o", Collection{ID: bad}); return err }},
		{"CreateCollection org", func() error {
			_, err := s.CreateCollection(bad, Collection{ID: "c", Kind: KindGallery, ModelID: "m", Dimension: 4})
			return err
		}},
		{"CreateCollection kind", func() error {
			_, err := s.CreateCollection("o", Collection{ID: "c", Kind: "other", ModelID: "m", Dimension: 4})
			return err
		}},
		{"GetCollection", func() error { _, err := s.GetCollection("o", "c/d"); return err }},
		{"AddFaces org", func() error { _, _, err := s.AddFaces("o\x00c", "c", nil); return err }},
		{"AddFaces person", func() error {
			_, _, err := s.AddFaces("o", "c", []Face{{PersonID: bad, Embedding: []float32{1}}})
			return err
		}},
		{"GetFaceByRef", func() error { _, err := s.GetFaceByRef("o", "not-a-uuid"); return err }},
		{"GetFaceByRef braces", func() error { _, err := s.GetFaceByRef("o", "{"+uuid.NewString()+"}"); return err }},
		{"CreatePerson", func() error { _, err := s.CreatePerson("o", Person{ID: bad}); return err }},
		{"DeletePerson", func() error { _, err := s.DeletePerson("o", strings.Repeat("p", 200)); return err }},
		{"Changes", func() error { return s.Changes("o", "", 0, nil) }},
	}
	for _, c := range calls {
		wantErr(t, c.name, c.fn(), ErrInvalidID)
	}
}

func TestOrgsAndAPIKeys(t *testing.T) {
	s, _ := openT(t)
	set := OrgSettings{MatchThreshold: 0.4, KYCBiometricEnabled: true, WebhookURL: "https://x"}
	o, err := s.CreateOrg("acme", "Acme", set)
	if err != nil {
		t.Fatal(err)
	}
	if o.ID != "acme" || o.Settings != set || o.CreatedAt.IsZero() {
		t.Fatalf("CreateOrg = %+v", o)
	}
	_, err = s.CreateOrg("acme", "again", OrgSettings{})
	wantErr(t, "CreateOrg twice", err, ErrExists)
	got, err := s.GetOrg("acme")
	if err != nil || got.Name != "Acme" || got.Settings != set || !got.CreatedAt.Equal(o.CreatedAt) {
		t.Fatalf("GetOrg = %+v, %v", got, err)
	}
	_, err = s.GetOrg("nobody")
	wantErr(t, "GetOrg unknown", err, ErrNotFound)
	set.SearchMinimum = 0.3
	if _, err := s.SetOrgSettings("acme", "", set); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetOrg("acme"); got.Settings != set || got.Name != "Acme" {
		t.Fatalf("after SetOrgSettings: %+v", got)
	}
	_, err = s.SetOrgSettings("nobody", "", set)
	wantErr(t, "SetOrgSettings unknown", err, ErrNotFound)
	if _, err := s.CreateOrg("beta", "Beta", OrgSettings{}); err != nil {
		t.Fatal(err)
	}
	orgs, err := s.ListOrgs()
	if err != nil || len(orgs) != 2 || orgs[0].ID != "acme" || orgs[1].ID != "beta" {
		t.Fatalf("ListOrgs = %+v, %v", orgs, err)
	}

	h := HashAPIKey("secret-1")
	if _, err := s.CreateAPIKey("acme", h, []string{"faces:write", "search"}); err != nil {
		t.Fatal(err)
	}
	_, err = s.CreateAPIKey("beta", h, nil)
	wantErr(t, "CreateAPIKey same hash", err, ErrExists)
	_, err = s.CreateAPIKey("nobody", HashAPIKey("x"), nil)
	wantErr(t, "CreateAPIKey unknown org", err, ErrNotFound)
	k, err := s.LookupAPIKey(h)
	if err != nil || k.OrgID != "acme" || !slices.Equal(k.Scopes, []string{"faces:write", "search"}) || k.Hash != h {
		t.Fatalf("LookupAPIKey = %+v, %v", k, err)
	}
	_, err = s.LookupAPIKey(HashAPIKey("secret-2"))
	wantErr(t, "LookupAPIKey unknown", err, ErrNotFound)
	if ks, err := s.ListAPIKeys("beta"); err != nil || len(ks) != 0 {
		t.Fatalf("ListAPIKeys(beta) = %v, %v", ks, err)
	}
	if ks, err := s.ListAPIKeys("acme"); err != nil || len(ks) != 1 || ks[0].Hash != h {
		t.Fatalf("ListAPIKeys(acme) = %v, %v", ks, err)
	}
	wantErr(t, "DeleteAPIKey by another org", s.DeleteAPIKey("beta", h), ErrNotFound)
	if err := s.DeleteAPIKey("acme", h); err != nil {
		t.Fatal(err)
	}
	_, err = s.LookupAPIKey(h)
	wantErr(t, "LookupAPIKey after delete", err, ErrNotFound)
	wantErr(t, "DeleteAPIKey twice", s.DeleteAPIKey("acme", h), ErrNotFound)
}

func TestCollections(t *testing.T) {
	s, _ := openT(t)
	in := Collection{ID: "wl-1", Kind: KindWatchlist, ModelID: "arcface-r50", Dimension: 512,
		Index: IndexParams{M: 48, EfConstruction: 200, EfSearch: 128, ExactMax: 50000}}
	c, err := s.CreateCollection("acme", in)
	if err != nil {
		t.Fatal(err)
	}
	if c.OrgID != "acme" || c.Generation == 0 || c.CreatedAt.IsZero() || c.Index != in.Index || c.Dimension != 512 {
		t.Fatalf("CreateCollection = %+v", c)
	}
	_, err = s.CreateCollection("acme", in)
	wantErr(t, "CreateCollection twice", err, ErrExists)
	got, err := s.GetCollection("acme", "wl-1")
	if err != nil || got != c {
		t.Fatalf("GetCollection = %+v, %v; want %+v", got, err, c)
	}
	for _, dim := range []int{0, -1, MaxDimension + 1} {
		_, err := s.CreateCollection("acme", Collection{ID: "d", Kind: KindGallery, ModelID: "m", Dimension: dim})
		wantErr(t, "dimension", err, ErrBadEmbedding)
	}
	mustColl(t, s, "acme", "a-gallery", 128)
	list, err := s.ListCollections("acme")
	if err != nil || len(list) != 2 || list[0].ID != "a-gallery" || list[1].ID != "wl-1" {
		t.Fatalf("ListCollections = %+v, %v", list, err)
	}
	if err := s.DeleteCollection("acme", "wl-1"); err != nil {
		t.Fatal(err)
	}
	_, err = s.GetCollection("acme", "wl-1")
	wantErr(t, "GetCollection after delete", err, ErrNotFound)
	wantErr(t, "DeleteCollection twice", s.DeleteCollection("acme", "wl-1"), ErrNotFound)
	again, err := s.CreateCollection("acme", in)
	if err != nil {
		t.Fatal(err)
	}
	if again.Generation <= c.Generation {
		t.Fatalf("recreated collection has generation %d, old one had %d", again.Generation, c.Generation)
	}
}

// TestOrgIsolation: organisation B names organisation A's records by every id it could learn
// and must get ErrNotFound everywhere, while A's data stays intact.
func TestOrgIsolation(t *testing.T) {
	s, _ := openT(t)
	rng := rand.New(rand.NewPCG(1, 2))
	mustColl(t, s, "A", "c", 8)
	if _, err := s.CreatePerson("A", Person{ID: "p", ExternalID: "alice"}); err != nil {
		t.Fatal(err)
	}
	fa := mustAdd(t, s, "A", "c", faces(rng, 3, 8, func(int) string { return "p" }))
	rid, ref := fa[0].RecordID, fa[0].ReferenceID

	calls := []struct {
		name string
		fn   func() error
	}{
		{"GetCollection", func() error { _, err := s.GetCollection("B", "c"); return err }},
		{"DeleteCollection", func() error { return s.DeleteCollection("B", "c") }},
		{"AddFaces", func() error { _, _, err := s.AddFaces("B", "c", faces(rng, 1, 8, nil)); return err }},
		{"GetFace", func() error { _, err := s.GetFace("B", "c", rid); return err }},
		{"GetFaceByRef", func() error { _, err := s.GetFaceByRef("B", ref); return err }},
		{"DeleteFace", func() error { _, err := s.DeleteFace("B", "c", rid); return err }},
		{"CountFaces", func() error { _, err := s.CountFaces("B", "c"); return err }},
		{"LastSeq", func() error { _, err := s.LastSeq("B", "c"); return err }},
		{"Changes", func() error { return s.Changes("B", "c", 0, func(Change) error { return nil }) }},
		{"TrimChanges", func() error { return s.TrimChanges("B", "c", 10) }},
		{"ScanFaces", func() error { _, err := s.ScanFaces("B", "c", func(Face) error { return nil }); return err }},
		{"GetPerson", func() error { _, err := s.GetPerson("B", "p"); return err }},
		{"GetPersonByExternalID", func() error { _, err := s.GetPersonByExternalID("B", "alice"); return err }},
		{"DeletePerson", func() error { _, err := s.DeletePerson("B", "p"); return err }},
	}
	for _, c := range calls {
		wantErr(t, "B "+c.name, c.fn(), ErrNotFound)
	}
	if l, err := s.ListCollections("B"); err != nil || len(l) != 0 {
		t.Fatalf("ListCollections(B) = %v, %v", l, err)
	}
	if refs, err := s.PersonFaces("B", "p"); err != nil || len(refs) != 0 {
		t.Fatalf("PersonFaces(B) = %v, %v", refs, err)
	}

	// B's own collection and person with the same ids see none of A's records either.
	mustColl(t, s, "B", "c", 8)
	if _, err := s.CreatePerson("B", Person{ID: "p", ExternalID: "alice"}); err != nil {
		t.Fatalf("B's person with A's ids: %v", err)
	}
	_, err := s.GetFace("B", "c", rid)
	wantErr(t, "B GetFace in own collection", err, ErrNotFound)
	_, err = s.GetFaceByRef("B", ref)
	wantErr(t, "B GetFaceByRef with own collection", err, ErrNotFound)
	_, err = s.DeleteFace("B", "c", rid)
	wantErr(t, "B DeleteFace in own collection", err, ErrNotFound)
	if n, _ := s.CountFaces("B", "c"); n != 0 {
		t.Fatalf("B count = %d", n)
	}
	if fs, _ := scanAll(t, s, "B", "c"); len(fs) != 0 {
		t.Fatalf("B scan found %d faces", len(fs))
	}
	removed, err := s.DeletePerson("B", "p")
	if err != nil || len(removed) != 0 {
		t.Fatalf("DeletePerson(B, p) = %v, %v", removed, err)
	}

	// A is untouched.
	if n, _ := s.CountFaces("A", "c"); n != 3 {
		t.Fatalf("A count = %d, want 3", n)
	}
	if got, err := s.GetFaceByRef("A", ref); err != nil || got.RecordID != rid {
		t.Fatalf("A GetFaceByRef = %+v, %v", brief(got), err)
	}
	if p, err := s.GetPersonByExternalID("A", "alice"); err != nil || p.ID != "p" {
		t.Fatalf("A person = %+v, %v", p, err)
	}
	if refs, _ := s.PersonFaces("A", "p"); len(refs) != 3 {
		t.Fatalf("A PersonFaces = %v", refs)
	}
}

func TestAddGetDeleteFaces(t *testing.T) {
	s, _ := openT(t)
	rng := rand.New(rand.NewPCG(3, 4))
	mustColl(t, s, "o", "c", 16)
	in := faces(rng, 5, 16, func(i int) string { return []string{"p1", "p2", ""}[i%3] })
	in[0].CreatedAt = time.Date(2020, 1, 2, 3, 4, 5, 6, time.FixedZone("x", 3600))
	orig := make([][]float32, len(in))
	for i := range in {
		orig[i] = slices.Clone(in[i].Embedding)
	}
	out, last, err := s.AddFaces("o", "c", in)
	if err != nil {
		t.Fatal(err)
	}
	if last != 5 {
		t.Fatalf("lastSeq = %d, want 5", last)
	}
	refs := map[string]bool{}
	for i, f := range out {
		if !slices.Equal(in[i].Embedding, orig[i]) || in[i].RecordID != 0 {
			t.Fatal("AddFaces modified its input")
		}
		if f.RecordID <= 0 || (i > 0 && f.RecordID <= out[i-1].RecordID) {
			t.Fatalf("RecordIDs not positive and increasing: %d after %d", f.RecordID, out[max(i-1, 0)].RecordID)
		}
		u, err := uuid.Parse(f.ReferenceID)
		if err != nil || u.Version() != 4 || u.Variant() != uuid.RFC4122 || refs[f.ReferenceID] {
			t.Fatalf("ReferenceID %q: %v (dup %v)", f.ReferenceID, err, refs[f.ReferenceID])
		}
		refs[f.ReferenceID] = true
		if f.CollectionID != "c" || f.PersonID != in[i].PersonID || f.Quality != in[i].Quality || f.CreatedAt.IsZero() {
			t.Fatalf("face %d = %+v", i, brief(f))
		}
		var n2, dot, o2 float64
		for j, v := range f.Embedding {
			n2 += float64(v) * float64(v)
			dot += float64(v) * float64(orig[i][j])
			o2 += float64(orig[i][j]) * float64(orig[i][j])
		}
		if math.Abs(n2-1) > 1e-5 || math.Abs(dot/math.Sqrt(o2)-1) > 1e-5 {
			t.Fatalf("face %d: norm² %v, cosine to input %v", i, n2, dot/math.Sqrt(o2))
		}
	}
	if !out[0].CreatedAt.Equal(in[0].CreatedAt) {
		t.Fatalf("given CreatedAt not kept: %v", out[0].CreatedAt)
	}
	for _, f := range out {
		got, err := s.GetFace("o", "c", f.RecordID)
		if err != nil {
			t.Fatal(err)
		}
		sameFace(t, got, f)
		got, err = s.GetFaceByRef("o", strings.ToUpper(f.ReferenceID))
		if err != nil {
			t.Fatal(err)
		}
		sameFace(t, got, f)
	}
	if refs, _ := s.PersonFaces("o", "p1"); len(refs) != 2 {
		t.Fatalf("PersonFaces(p1) = %v", refs)
	}
	seq, err := s.DeleteFace("o", "c", out[1].RecordID)
	if err != nil || seq != 6 {
		t.Fatalf("DeleteFace = %d, %v; want seq 6", seq, err)
	}
	_, err = s.GetFace("o", "c", out[1].RecordID)
	wantErr(t, "GetFace deleted", err, ErrNotFound)
	_, err = s.GetFaceByRef("o", out[1].ReferenceID)
	wantErr(t, "GetFaceByRef deleted", err, ErrNotFound)
	_, err = s.DeleteFace("o", "c", out[1].RecordID)
	wantErr(t, "DeleteFace twice", err, ErrNotFound)
	_, err = s.GetFaceByRef("o", uuid.NewString())
	wantErr(t, "GetFaceByRef unknown", err, ErrNotFound)
	if refs, _ := s.PersonFaces("o", "p2"); len(refs) != 1 {
		t.Fatalf("PersonFaces(p2) after delete = %v", refs)
	}
	if n, _ := s.CountFaces("o", "c"); n != 4 {
		t.Fatalf("CountFaces = %d, want 4", n)
	}
	scan, seq := scanAll(t, s, "o", "c")
	if seq != 6 || len(scan) != 4 {
		t.Fatalf("scan: %d faces at seq %d", len(scan), seq)
	}
	for i, f := range []Face{out[0], out[2], out[3], out[4]} {
		sameFace(t, scan[i], f)
	}
	_, _, err = s.AddFaces("o", "missing", faces(rng, 1, 16, nil))
	wantErr(t, "AddFaces to missing collection", err, ErrNotFound)
	if out, last, err := s.AddFaces("o", "c", nil); err != nil || len(out) != 0 || last != 6 {
		t.Fatalf("empty AddFaces = %v, %d, %v", out, last, err)
	}
}

// TestAddFacesAtomic: one bad face fails the batch and nothing at all is written.
func TestAddFacesAtomic(t *testing.T) {
	s, _ := openT(t)
	rng := rand.New(rand.NewPCG(5, 6))
	const dim = 8
	mustColl(t, s, "o", "c", dim)
	nan := float32(math.NaN())
	inf := float32(math.Inf(1))
	cases := []struct {
		name string
		bad  Face
		want error
	}{
		{"short", Face{Embedding: make([]float32, dim-1)}, ErrBadEmbedding},
		{"long", Face{Embedding: randVec(rng, dim+1)}, ErrBadEmbedding},
		{"empty", Face{}, ErrBadEmbedding},
		{"NaN", Face{Embedding: []float32{1, 2, nan, 4, 5, 6, 7, 8}}, ErrBadEmbedding},
		{"Inf", Face{Embedding: []float32{1, 2, 3, 4, 5, 6, 7, -inf}}, ErrBadEmbedding},
		{"overflowing norm", Face{Embedding: []float32{math.MaxFloat32, math.MaxFloat32, 0, 0, 0, 0, 0, 0}}, nil},
		{"zero", Face{Embedding: make([]float32, dim)}, ErrBadEmbedding},
		{"person", Face{PersonID: "p q", Embedding: randVec(rng, dim)}, ErrInvalidID},
		{"collection", Face{CollectionID: "other", Embedding: randVec(rng, dim)}, ErrInvalidID},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			batch := faces(rng, 10, dim, func(i int) string { return "p" })
			batch[7] = c.bad
			_, _, err := s.AddFaces("o", "c", batch)
			if c.want == nil { // float64 accumulation normalises it fine
				if err != nil {
					t.Fatalf("AddFaces: %v", err)
				}
				return
			}
			wantErr(t, "AddFaces", err, c.want)
		})
	}
	// Only the "overflowing norm" batch went in.
	if n, _ := s.CountFaces("o", "c"); n != 10 {
		t.Fatalf("CountFaces = %d, want 10", n)
	}
	if last, _ := s.LastSeq("o", "c"); last != 10 {
		t.Fatalf("LastSeq = %d, want 10", last)
	}
	if refs, _ := s.PersonFaces("o", "p"); len(refs) != 9 { // face 7 had no person
		t.Fatalf("PersonFaces = %d, want 9", len(refs))
	}
	_, _, err := s.AddFaces("o", "c", faces(rng, MaxBatch+1, dim, nil))
	wantErr(t, "AddFaces over MaxBatch", err, ErrBatchTooLarge)
	if n, _ := s.CountFaces("o", "c"); n != 10 {
		t.Fatalf("CountFaces = %d after oversized batch", n)
	}
	if fs, _ := scanAll(t, s, "o", "c"); len(fs) != 10 {
		t.Fatalf("scan found %d faces", len(fs))
	}
	if n := countKeys(t, s, orgPrefix("o", tRef, 0)); n != 10 {
		t.Fatalf("%d reference keys, want 10", n)
	}
}

// TestMaxBatchFitsOneTransaction: the largest batch fits badger's transaction limit even with
// embeddings kept in the LSM tree (where they count fully against it).
func TestMaxBatchFitsOneTransaction(t *testing.T) {
	s, _ := openT(t, func(o *Options) { o.ValueThreshold = 1 << 20 })
	rng := rand.New(rand.NewPCG(7, 8))
	mustColl(t, s, "o", "c", MaxDimension)
	person := func(i int) string { return strings.Repeat("p", MaxIDLen-4) + string(rune('a'+i%26)) }
	if _, _, err := s.AddFaces("o", "c", faces(rng, MaxBatch, MaxDimension, person)); err != nil {
		t.Fatalf("a MaxBatch of %d-d faces: %v", MaxDimension, err)
	}
}

func TestChangeLog(t *testing.T) {
	s, _ := openT(t)
	rng := rand.New(rand.NewPCG(9, 10))
	mustColl(t, s, "o", "c", 4)
	if last, _ := s.LastSeq("o", "c"); last != 0 {
		t.Fatalf("LastSeq of a new collection = %d", last)
	}
	a := mustAdd(t, s, "o", "c", faces(rng, 3, 4, nil))
	if _, err := s.DeleteFace("o", "c", a[1].RecordID); err != nil {
		t.Fatal(err)
	}
	b := mustAdd(t, s, "o", "c", faces(rng, 2, 4, nil))
	want := []Change{
		{1, OpAdd, a[0].RecordID}, {2, OpAdd, a[1].RecordID}, {3, OpAdd, a[2].RecordID},
		{4, OpDelete, a[1].RecordID}, {5, OpAdd, b[0].RecordID}, {6, OpAdd, b[1].RecordID},
	}
	if got := allChanges(t, s, "o", "c", 0); !slices.Equal(got, want) {
		t.Fatalf("changes:\n got %v\nwant %v", got, want)
	}
	if got := allChanges(t, s, "o", "c", 4); !slices.Equal(got, want[4:]) {
		t.Fatalf("changes after 4: %v", got)
	}
	if got := allChanges(t, s, "o", "c", 6); len(got) != 0 {
		t.Fatalf("changes after 6: %v", got)
	}
	stop := errors.New("stop")
	n := 0
	err := s.Changes("o", "c", 0, func(Change) error { n++; return stop })
	if !errors.Is(err, stop) || n != 1 {
		t.Fatalf("Changes with failing fn: %v after %d calls", err, n)
	}

	if err := s.TrimChanges("o", "c", 3); err != nil {
		t.Fatal(err)
	}
	err = s.Changes("o", "c", 2, func(Change) error { return nil })
	wantErr(t, "Changes before the trim", err, ErrTrimmed)
	if got := allChanges(t, s, "o", "c", 3); !slices.Equal(got, want[3:]) {
		t.Fatalf("changes after trim: %v", got)
	}
	if got := allChanges(t, s, "o", "c", 5); !slices.Equal(got, want[5:]) { // from inside a group
		t.Fatalf("changes after 5: %v", got)
	}
	if n := countKeys(t, s, logPrefix("o", 1)); n != 2 { // groups [1-3] [4] [5-6]
		t.Fatalf("%d log entries after trimming the first of 3", n)
	}
	if err := s.TrimChanges("o", "c", 5); err != nil { // [5-6] stays whole
		t.Fatal(err)
	}
	if n := countKeys(t, s, logPrefix("o", 1)); n != 1 {
		t.Fatalf("%d log entries after trimming to 5", n)
	}
	err = s.Changes("o", "c", 4, func(Change) error { return nil })
	wantErr(t, "Changes before the second trim", err, ErrTrimmed)
	if got := allChanges(t, s, "o", "c", 5); !slices.Equal(got, want[5:]) {
		t.Fatalf("changes after second trim: %v", got)
	}
	if err := s.TrimChanges("o", "c", 1); err != nil { // going back is a no-op
		t.Fatal(err)
	}
	if err := s.TrimChanges("o", "c", 100); err != nil { // clamped to LastSeq
		t.Fatal(err)
	}
	if n := countKeys(t, s, logPrefix("o", 1)); n != 0 {
		t.Fatalf("%d log keys after trimming all", n)
	}
	if last, _ := s.LastSeq("o", "c"); last != 6 {
		t.Fatalf("LastSeq after trim = %d", last)
	}
	if got := allChanges(t, s, "o", "c", 6); len(got) != 0 {
		t.Fatalf("changes after 6: %v", got)
	}
	c := mustAdd(t, s, "o", "c", faces(rng, 1, 4, nil))
	if got := allChanges(t, s, "o", "c", 6); !slices.Equal(got, []Change{{7, OpAdd, c[0].RecordID}}) {
		t.Fatalf("changes after trim and add: %v", got)
	}
	if n, _ := s.CountFaces("o", "c"); n != 5 {
		t.Fatalf("CountFaces = %d, want 5", n)
	}
}

// TestConcurrentAddFaces: 8 writers on one collection (and a deleter) get dense, distinct seqs
// whose log order is commit order, and counts stay exact.
func TestConcurrentAddFaces(t *testing.T) {
	s, _ := openT(t)
	mustColl(t, s, "o", "c", 16)
	mustColl(t, s, "o", "other", 16)
	const writers, batches, size = 8, 20, 10
	type batch struct {
		faces []Face
		last  uint64
	}
	results := make([][]batch, writers)
	deleted := make(chan Change, writers*batches)
	var wg sync.WaitGroup
	errc := make(chan error, writers*2+1)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 99))
			for range batches {
				coll := "c"
				fs, last, err := s.AddFaces("o", coll, faces(rng, size, 16, func(i int) string { return "p" }))
				if err != nil {
					errc <- err
					return
				}
				results[w] = append(results[w], batch{fs, last})
				// Interleave a delete and a write to another collection.
				if rng.IntN(3) == 0 {
					seq, err := s.DeleteFace("o", coll, fs[0].RecordID)
					if err != nil {
						errc <- err
						return
					}
					deleted <- Change{seq, OpDelete, fs[0].RecordID}
				}
				if _, _, err := s.AddFaces("o", "other", faces(rng, 2, 16, nil)); err != nil {
					errc <- err
					return
				}
			}
		}()
	}
	// A tailing reader, like an index catching up, must never see a seq before all smaller
	// ones are visible: commit order is seq order.
	tailDone := make(chan struct{})
	var tailed uint64
	go func() {
		defer close(tailDone)
		for {
			finished := false
			select {
			case <-doneAdding(&wg):
				finished = true
			default:
			}
			err := s.Changes("o", "c", tailed, func(c Change) error {
				if c.Seq != tailed+1 {
					return fmt.Errorf("tail saw seq %d after %d", c.Seq, tailed)
				}
				tailed = c.Seq
				return nil
			})
			if err != nil {
				errc <- err
				return
			}
			if finished {
				return
			}
		}
	}()
	wg.Wait()
	<-tailDone
	close(errc)
	close(deleted)
	for err := range errc {
		t.Fatal(err)
	}
	want := map[uint64]Change{}
	for _, rs := range results {
		for _, b := range rs {
			for i, f := range b.faces {
				seq := b.last - uint64(len(b.faces)-1-i)
				if _, dup := want[seq]; dup {
					t.Fatalf("seq %d handed out twice", seq)
				}
				want[seq] = Change{seq, OpAdd, f.RecordID}
			}
		}
	}
	dels := 0
	for c := range deleted {
		if _, dup := want[c.Seq]; dup {
			t.Fatalf("seq %d handed out twice", c.Seq)
		}
		want[c.Seq] = c
		dels++
	}
	got := allChanges(t, s, "o", "c", 0)
	if len(got) != len(want) || len(got) != writers*batches*size+dels {
		t.Fatalf("%d changes, %d seqs handed out, want %d", len(got), len(want), writers*batches*size+dels)
	}
	rids := map[int64]bool{}
	for i, c := range got {
		if c.Seq != uint64(i+1) {
			t.Fatalf("change %d has seq %d: not dense", i, c.Seq)
		}
		if want[c.Seq] != c {
			t.Fatalf("change %v, but the writer was told %v", c, want[c.Seq])
		}
		if c.Op == OpAdd {
			if rids[c.RecordID] {
				t.Fatalf("record id %d added twice", c.RecordID)
			}
			rids[c.RecordID] = true
		}
	}
	if last, _ := s.LastSeq("o", "c"); last != uint64(len(got)) || tailed != last {
		t.Fatalf("LastSeq = %d, tail reached %d, want %d", last, tailed, len(got))
	}
	n, _ := s.CountFaces("o", "c")
	scan, _ := scanAll(t, s, "o", "c")
	if n != writers*batches*size-dels || len(scan) != n {
		t.Fatalf("CountFaces = %d, scan %d, want %d", n, len(scan), writers*batches*size-dels)
	}
	if n, _ := s.CountFaces("o", "other"); n != writers*batches*2 {
		t.Fatalf("CountFaces(other) = %d", n)
	}
	if refs, _ := s.PersonFaces("o", "p"); len(refs) != n {
		t.Fatalf("PersonFaces = %d, want %d", len(refs), n)
	}
}

func TestDeletePerson(t *testing.T) {
	s, _ := openT(t)
	rng := rand.New(rand.NewPCG(11, 12))
	for _, c := range []string{"c1", "c2", "c3"} {
		mustColl(t, s, "A", c, 8)
	}
	mustColl(t, s, "B", "c1", 8)
	if _, err := s.CreatePerson("A", Person{ID: "p1", ExternalID: "alice@example.com", Metadata: map[string]string{"k": "v"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreatePerson("A", Person{ID: "p2", ExternalID: "bob"}); err != nil {
		t.Fatal(err)
	}
	_, err := s.CreatePerson("A", Person{ID: "p3", ExternalID: "bob"})
	wantErr(t, "CreatePerson with a taken externalId", err, ErrExists)
	_, err = s.CreatePerson("A", Person{ID: "p2"})
	wantErr(t, "CreatePerson twice", err, ErrExists)
	alternate := func(i int) string { return []string{"p1", "p2"}[i%2] }
	c1 := mustAdd(t, s, "A", "c1", faces(rng, 6, 8, alternate))
	c2 := mustAdd(t, s, "A", "c2", faces(rng, 4, 8, func(int) string { return "p1" }))
	c3 := mustAdd(t, s, "A", "c3", faces(rng, 3, 8, func(int) string { return "p2" }))
	b1 := mustAdd(t, s, "B", "c1", faces(rng, 2, 8, func(int) string { return "p1" })) // B's own p1

	removed, err := s.DeletePerson("A", "p1")
	if err != nil {
		t.Fatal(err)
	}
	var wantRemoved []FaceRef
	for _, f := range c1 {
		if f.PersonID == "p1" {
			wantRemoved = append(wantRemoved, FaceRef{CollectionID: "c1", RecordID: f.RecordID})
		}
	}
	for _, f := range c2 {
		wantRemoved = append(wantRemoved, FaceRef{CollectionID: "c2", RecordID: f.RecordID})
	}
	gotRemoved := slices.Clone(removed)
	for i := range gotRemoved {
		gotRemoved[i].Seq = 0
	}
	sortRefs := func(r []FaceRef) {
		slices.SortFunc(r, func(a, b FaceRef) int {
			return strings.Compare(a.CollectionID, b.CollectionID)*2 + int(min(max(a.RecordID-b.RecordID, -1), 1))
		})
	}
	sortRefs(gotRemoved)
	sortRefs(wantRemoved)
	if !slices.Equal(gotRemoved, wantRemoved) {
		t.Fatalf("removed %v, want %v", gotRemoved, wantRemoved)
	}
	// Each removed face has a delete change with the reported seq, after the adds.
	for _, r := range removed {
		seqBase := map[string]uint64{"c1": 6, "c2": 4}[r.CollectionID]
		if r.Seq <= seqBase {
			t.Fatalf("removed %v: seq not after the adds", r)
		}
		cs := allChanges(t, s, "A", r.CollectionID, r.Seq-1)
		if len(cs) == 0 || cs[0] != (Change{r.Seq, OpDelete, r.RecordID}) {
			t.Fatalf("log of %s at %d: %v, want delete of %d", r.CollectionID, r.Seq, cs, r.RecordID)
		}
	}
	if cs := allChanges(t, s, "A", "c1", 6); len(cs) != 3 {
		t.Fatalf("c1 got %d delete changes, want 3", len(cs))
	}
	if cs := allChanges(t, s, "A", "c3", 3); len(cs) != 0 {
		t.Fatalf("c3 (no faces of p1) got changes %v", cs)
	}
	// Everything of p1 is gone...
	for _, r := range removed {
		_, err := s.GetFace("A", r.CollectionID, r.RecordID)
		wantErr(t, "GetFace of erased", err, ErrNotFound)
	}
	for _, f := range append(slices.Clone(c1), c2...) {
		if f.PersonID == "p1" {
			_, err := s.GetFaceByRef("A", f.ReferenceID)
			wantErr(t, "GetFaceByRef of erased", err, ErrNotFound)
		}
	}
	_, err = s.GetPerson("A", "p1")
	wantErr(t, "GetPerson erased", err, ErrNotFound)
	_, err = s.GetPersonByExternalID("A", "alice@example.com")
	wantErr(t, "GetPersonByExternalID erased", err, ErrNotFound)
	if n := countKeys(t, s, personFacePrefix("A", "p1")); n != 0 {
		t.Fatalf("%d person->face keys left", n)
	}
	// ...and nothing else.
	for coll, want := range map[string]int{"c1": 3, "c2": 0, "c3": 3} {
		n, _ := s.CountFaces("A", coll)
		scan, _ := scanAll(t, s, "A", coll)
		if n != want || len(scan) != want {
			t.Fatalf("%s: count %d, scan %d, want %d", coll, n, len(scan), want)
		}
		for _, f := range scan {
			if f.PersonID != "p2" {
				t.Fatalf("%s still has a face of %q", coll, f.PersonID)
			}
		}
	}
	for _, f := range append(slices.Clone(c3), b1...) {
		org := "A"
		if f.PersonID == "p1" {
			org = "B"
		}
		if _, err := s.GetFaceByRef(org, f.ReferenceID); err != nil {
			t.Fatalf("face of another person/org gone: %v", err)
		}
	}
	if p, err := s.GetPersonByExternalID("A", "bob"); err != nil || p.ID != "p2" {
		t.Fatalf("p2 = %+v, %v", p, err)
	}
	if refs, _ := s.PersonFaces("A", "p2"); len(refs) != 6 {
		t.Fatalf("PersonFaces(p2) = %d, want 6", len(refs))
	}
	if n, _ := s.CountFaces("B", "c1"); n != 2 {
		t.Fatalf("B's faces: %d", n)
	}
	_, err = s.DeletePerson("A", "p1")
	wantErr(t, "DeletePerson twice", err, ErrNotFound)
	// The externalId is free again.
	if _, err := s.CreatePerson("A", Person{ID: "p9", ExternalID: "alice@example.com"}); err != nil {
		t.Fatal(err)
	}
	// A person with faces but no record is erased too.
	mustAdd(t, s, "A", "c3", faces(rng, 2, 8, func(int) string { return "ghost" }))
	if removed, err := s.DeletePerson("A", "ghost"); err != nil || len(removed) != 2 {
		t.Fatalf("DeletePerson(ghost) = %v, %v", removed, err)
	}
}

// TestDeletePersonRacesAddFaces: faces of a person added while the person is erased are either
// erased (and reported) or survive whole, never half.
func TestDeletePersonRacesAddFaces(t *testing.T) {
	s, _ := openT(t)
	mustColl(t, s, "o", "c1", 4)
	mustColl(t, s, "o", "c2", 4)
	var added, removed sync.Map
	var wg sync.WaitGroup
	errc := make(chan error, 3)
	for w, coll := range []string{"c1", "c2"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			for range 60 {
				fs, _, err := s.AddFaces("o", coll, faces(rng, 2, 4, func(int) string { return "p" }))
				if err != nil {
					errc <- err
					return
				}
				for _, f := range fs {
					added.Store(f.RecordID, coll)
				}
			}
		}()
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			refs, err := s.DeletePerson("o", "p")
			if err != nil && !errors.Is(err, ErrNotFound) {
				errc <- err
				return
			}
			for _, r := range refs {
				if _, dup := removed.LoadOrStore(r.RecordID, r.CollectionID); dup {
					errc <- errors.New("face erased twice")
					return
				}
			}
			select {
			case <-doneAdding(&wg):
				return
			default:
			}
		}
	}()
	wg.Wait()
	<-done
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	present := map[int64]bool{}
	for _, coll := range []string{"c1", "c2"} {
		scan, _ := scanAll(t, s, "o", coll)
		n, _ := s.CountFaces("o", coll)
		if n != len(scan) {
			t.Fatalf("%s: count %d, scan %d", coll, n, len(scan))
		}
		for _, f := range scan {
			present[f.RecordID] = true
		}
	}
	added.Range(func(k, v any) bool {
		_, gone := removed.Load(k)
		if gone == present[k.(int64)] {
			t.Errorf("face %v: erased %v, present %v", k, gone, present[k.(int64)])
		}
		return true
	})
	refs, _ := s.PersonFaces("o", "p")
	if len(refs) != len(present) {
		t.Fatalf("PersonFaces = %d, present %d", len(refs), len(present))
	}
}

// TestDeletePersonFence: a face of the person committed while the erasure's transaction is
// open (after it listed the faces) makes the erasure start over and erase it too. Faces in
// existing collections queue behind the erasure's locks; a new collection is not locked.
func TestDeletePersonFence(t *testing.T) {
	s, _ := openT(t)
	rng := rand.New(rand.NewPCG(19, 20))
	mustColl(t, s, "o", "c1", 4)
	first := mustAdd(t, s, "o", "c1", faces(rng, 1, 4, func(int) string { return "p" }))
	late := "late"
	for i := 0; s.collLockIndex("o", late) == s.collLockIndex("o", "c1"); i++ {
		late = fmt.Sprint("late", i)
	}
	var added []Face
	calls := 0
	testHookDeletePerson = func() {
		if calls++; calls == 1 {
			mustColl(t, s, "o", late, 4)
			added = mustAdd(t, s, "o", late, faces(rng, 1, 4, func(int) string { return "p" }))
		}
	}
	defer func() { testHookDeletePerson = nil }()
	removed, err := s.DeletePerson("o", "p")
	if err != nil {
		t.Fatal(err)
	}
	want := []FaceRef{{"c1", first[0].RecordID, 2}, {late, added[0].RecordID, 2}}
	if calls != 2 || !slices.Equal(removed, want) {
		t.Fatalf("after %d attempts removed %v; want %v", calls, removed, want)
	}
	_, err = s.GetFaceByRef("o", added[0].ReferenceID)
	wantErr(t, "face added during the erasure", err, ErrNotFound)
}

var doneAddingOnce sync.Map

// doneAdding returns a channel closed once wg is done (one watcher per WaitGroup).
func doneAdding(wg *sync.WaitGroup) <-chan struct{} {
	ch, loaded := doneAddingOnce.LoadOrStore(wg, make(chan struct{}))
	if !loaded {
		go func() { wg.Wait(); close(ch.(chan struct{})) }()
	}
	return ch.(chan struct{})
}

// TestReopen: everything survives Close, and RecordIDs keep increasing without reuse.
func TestReopen(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "db")
	rng := rand.New(rand.NewPCG(13, 14))
	s, err := Open(DefaultOptions(dir), nil) // SyncWrites on
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateOrg("o", "O", OrgSettings{LivenessMinimum: 0.8}); err != nil {
		t.Fatal(err)
	}
	h := HashAPIKey("k")
	if _, err := s.CreateAPIKey("o", h, []string{"all"}); err != nil {
		t.Fatal(err)
	}
	coll := mustColl(t, s, "o", "c", 32)
	if _, err := s.CreatePerson("o", Person{ID: "p", ExternalID: "ext"}); err != nil {
		t.Fatal(err)
	}
	first := mustAdd(t, s, "o", "c", faces(rng, 50, 32, func(int) string { return "p" }))
	if _, err := s.DeleteFace("o", "c", first[3].RecordID); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	_, err = s.GetFace("o", "c", first[0].RecordID)
	wantErr(t, "GetFace after Close", err, ErrClosed)
	_, _, err = s.AddFaces("o", "c", faces(rng, 1, 32, nil))
	wantErr(t, "AddFaces after Close", err, ErrClosed)

	maxID := first[len(first)-1].RecordID
	for round := range 3 {
		s, err = Open(DefaultOptions(dir), nil)
		if err != nil {
			t.Fatal(err)
		}
		if k, err := s.LookupAPIKey(h); err != nil || k.OrgID != "o" {
			t.Fatalf("api key after reopen: %+v, %v", k, err)
		}
		if o, err := s.GetOrg("o"); err != nil || o.Settings.LivenessMinimum != 0.8 {
			t.Fatalf("org after reopen: %+v, %v", o, err)
		}
		if c, err := s.GetCollection("o", "c"); err != nil || c != coll {
			t.Fatalf("collection after reopen: %+v, %v", c, err)
		}
		if p, err := s.GetPersonByExternalID("o", "ext"); err != nil || p.ID != "p" {
			t.Fatalf("person after reopen: %+v, %v", p, err)
		}
		got, err := s.GetFaceByRef("o", first[10].ReferenceID)
		if err != nil {
			t.Fatal(err)
		}
		sameFace(t, got, first[10])
		wantN := 49 + 5*round
		if n, _ := s.CountFaces("o", "c"); n != wantN {
			t.Fatalf("round %d: CountFaces = %d, want %d", round, n, wantN)
		}
		if last, _ := s.LastSeq("o", "c"); last != uint64(wantN+2) { // +1 add, +1 delete
			t.Fatalf("round %d: LastSeq = %d, want %d", round, last, wantN+2)
		}
		more, last, err := s.AddFaces("o", "c", faces(rng, 5, 32, nil))
		if err != nil {
			t.Fatal(err)
		}
		if last != uint64(wantN+7) {
			t.Fatalf("round %d: lastSeq %d, want %d", round, last, wantN+7)
		}
		for _, f := range more {
			if f.RecordID <= maxID {
				t.Fatalf("round %d: RecordID %d reused or went back (max so far %d)", round, f.RecordID, maxID)
			}
			maxID = f.RecordID
		}
		if round == 1 {
			// A crash skips the rest of the id lease rather than releasing it: ids still grow.
			// Stop the background goroutines first (they would outlive a real crash's process
			// with it), then drop the database without releasing the lease.
			s.stopOnce.Do(func() { close(s.stop) })
			s.sweeps.Wait()
			s.gc.Wait()
			s.mu.Lock()
			s.faceID = nil
			s.db.Close()
			s.db = nil
			s.mu.Unlock()
			continue
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestDeleteCollectionSweeps(t *testing.T) {
	s, dir := openT(t)
	rng := rand.New(rand.NewPCG(15, 16))
	old := mustColl(t, s, "o", "c", 8)
	keep := mustColl(t, s, "o", "keep", 8)
	var all []Face
	for i := 0; i < 3*sweepChunk+10; i += MaxBatch {
		all = append(all, mustAdd(t, s, "o", "c", faces(rng, MaxBatch, 8, func(i int) string { return []string{"p", "q", ""}[i%3] }))...)
	}
	mustAdd(t, s, "o", "keep", faces(rng, 3, 8, func(int) string { return "p" }))
	if _, err := s.DeleteFace("o", "c", all[0].RecordID); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteCollection("o", "c"); err != nil {
		t.Fatal(err)
	}
	checkSwept := func(gen uint64) {
		t.Helper()
		for name, prefix := range map[string][]byte{
			"faces": facePrefix("o", gen), "log": logPrefix("o", gen), "state": stateKey("o", gen),
			"sweep marker": globalKey(gSweep), "refs": orgPrefix("o", tRef, 0),
		} {
			want := 0
			if name == "refs" {
				want = 3 // the faces of "keep"
			}
			if n := countKeys(t, s, prefix); n != want {
				t.Fatalf("%d %s keys left, want %d", n, name, want)
			}
		}
		if refs, _ := s.PersonFaces("o", "p"); len(refs) != 3 {
			t.Fatalf("PersonFaces(p) = %d, want the 3 in keep", len(refs))
		}
		if n := countKeys(t, s, personFacePrefix("o", "q")); n != 0 {
			t.Fatalf("%d person->face keys of q left", n)
		}
	}
	checkSwept(old.Generation)
	_, err := s.GetFaceByRef("o", all[5].ReferenceID)
	wantErr(t, "GetFaceByRef in deleted collection", err, ErrNotFound)
	again := mustColl(t, s, "o", "c", 8)
	if n, _ := s.CountFaces("o", "c"); n != 0 {
		t.Fatalf("recreated collection has %d faces", n)
	}
	if last, _ := s.LastSeq("o", "c"); last != 0 {
		t.Fatalf("recreated collection has LastSeq %d", last)
	}
	if n, _ := s.CountFaces("o", "keep"); n != 3 || keep.Generation == again.Generation {
		t.Fatalf("keep: %d faces", n)
	}

	// A crash between marking and sweeping: the sweep resumes on Open.
	mustAdd(t, s, "o", "c", faces(rng, 500, 8, func(int) string { return "q" }))
	if _, err := s.markDeleted("o", "c"); err != nil {
		t.Fatal(err)
	}
	if n := countKeys(t, s, facePrefix("o", again.Generation)); n != 500 {
		t.Fatalf("%d faces before the resumed sweep", n)
	}
	if refs, _ := s.PersonFaces("o", "q"); len(refs) != 0 {
		t.Fatalf("PersonFaces lists faces of a deleted collection: %v", refs)
	}
	// Erasure meanwhile removes the person's faces in the dying collection too.
	if refs, err := s.DeletePerson("o", "q"); err != nil || len(refs) != 500 || refs[0].Seq != 0 {
		t.Fatalf("DeletePerson in a dying collection = %d refs, %v", len(refs), err)
	}
	mustAdd(t, s, "o", "keep", nil)
	s.Close()
	opts := DefaultOptions(dir)
	s2, err := Open(opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	s2.sweeps.Wait()
	s = s2
	checkSwept(again.Generation)
}

func TestClosedStore(t *testing.T) {
	s, _ := openT(t)
	mustColl(t, s, "o", "c", 4)
	s.Close()
	calls := map[string]func() error{
		"CreateOrg":       func() error { _, err := s.CreateOrg("o", "", OrgSettings{}); return err },
		"LookupAPIKey":    func() error { _, err := s.LookupAPIKey([32]byte{}); return err },
		"ListCollections": func() error { _, err := s.ListCollections("o"); return err },
		"DeleteFace":      func() error { _, err := s.DeleteFace("o", "c", 1); return err },
		"DeletePerson":    func() error { _, err := s.DeletePerson("o", "p"); return err },
		"ScanFaces":       func() error { _, err := s.ScanFaces("o", "c", nil); return err },
		"CountFaces":      func() error { _, err := s.CountFaces("o", "c"); return err },
	}
	for name, fn := range calls {
		wantErr(t, name, fn(), ErrClosed)
	}
}

func TestFaceCodec(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 18))
	f := Face{PersonID: "person-1", DetScore: 0.75, Quality: -1.5, CreatedAt: time.Unix(0, 1234567890123).UTC(),
		Embedding: randVec(rng, 128)}
	ref := [16]byte{1, 2, 3}
	b := make([]byte, faceSize(len(f.PersonID), 128))
	encodeFace(b, ref, &f)
	if len(b) != 548+len(f.PersonID) {
		t.Fatalf("128-d face is %d bytes", len(b))
	}
	var got Face
	if err := decodeFace(&got, b, make([]float32, 128)); err != nil {
		t.Fatal(err)
	}
	f.ReferenceID = formatUUID(ref)
	sameFace(t, got, f)
	// Unaligned source buffer.
	ub := append([]byte{0}, b...)[1:]
	if err := decodeFace(&got, ub, make([]float32, 128)); err != nil || !slices.Equal(got.Embedding, f.Embedding) {
		t.Fatalf("unaligned decode: %v", err)
	}
	for _, bad := range [][]byte{nil, b[:10], b[:len(b)-1], append(slices.Clone(b), 0), append([]byte{9}, b[1:]...)} {
		if err := decodeFace(&got, bad, make([]float32, 128)); err == nil {
			t.Fatalf("decoded a corrupt record of %d bytes", len(bad))
		}
	}
	if err := decodeFace(&got, b, make([]float32, 64)); err == nil {
		t.Fatal("decoded into the wrong dimension")
	}
}

func FuzzDecodeFace(f *testing.F) {
	fc := Face{PersonID: "p", Embedding: []float32{1, 0, 0, 0}}
	b := make([]byte, faceSize(1, 4))
	encodeFace(b, [16]byte{}, &fc)
	f.Add(b)
	f.Add([]byte{1})
	f.Fuzz(func(t *testing.T, b []byte) {
		var got Face
		_ = decodeFace(&got, b, make([]float32, 4))
		if h, err := decodeFaceHeader(b); err == nil && !bytes.Equal(h.pid, b[faceHeaderSize:faceHeaderSize+len(h.pid)]) {
			t.Fatal("person id not where the header says")
		}
	})
}
