package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestImportDirection: Vigil's own tree follows the rule table (make test runs this; make lint
// runs `vigilbuild imports`).
func TestImportDirection(t *testing.T) {
	problems, err := checkImports(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Error(p)
	}
}

// TestRulesNameRealPackages: every entry of the table is a directory of the tree, and every leaf
// a package, so that a move or a deletion updates the table too.
func TestRulesNameRealPackages(t *testing.T) {
	for _, p := range parts {
		dir := filepath.Join("..", "..", filepath.FromSlash(p.name))
		if p.tree {
			if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
				t.Errorf("the import rules name %s, which is not a directory", p.name)
			}
			continue
		}
		matches, _ := filepath.Glob(filepath.Join(dir, "*.go"))
		if !slices.ContainsFunc(matches, func(m string) bool { return !strings.HasSuffix(m, "_test.go") }) {
			t.Errorf("the import rules name %s, which has no non-test Go file", p.name)
		}
	}
}

// TestImportRules: a synthetic tree with one file per case; the check must name exactly the
// files that break the direction.
func TestImportRules(t *testing.T) {
	root := t.TempDir()
	files := map[string][]string{ // file -> the vigil packages it imports
		// allowed
		"cmd/vigil/main.go":          {"api", "engine", "embed", "liveness", "index", "bench", "models/ort"},
		"bench/b.go":                 {"engine", "embed/attributes", "index/faiss"},
		"api/server.go":              {"engine", "models"},
		"engine/engine.go":           {"embed", "embed/attributes", "liveness", "index", "engine/store", "engine/catalog", "models/ort"},
		"engine/catalog/catalog.go":  {"engine/store", "index"},
		"embed/embed.go":             {"models", "models/ort", "models/vec", "models/prep"},
		"embed/attributes/attr.go":   {"embed", "models/prep", "models/ort"},
		"liveness/liveness.go":       {"models", "models/ort", "models/prep"},
		"index/flat.go":              {"index/faiss", "models/vec"},
		"engine/store/store.go":      nil,
		"models/manifest.go":         {"models/onnxedit"},
		"models/onnxedit/edit.go":    nil,
		"models/ort/ort.go":          {"models"},
		"models/prep/prep.go":        {"models"},
		"models/vec/vec.go":          {"index/simd"},
		"models/modeltest/mt.go":     nil,
		"index/faiss/faiss.go":       {"index/simd"},
		"index/simd/simd.go":         nil,
		"embed/attributes/a_test.go": {"liveness", "engine"}, // tests are exempt
		"liveness/testdata/gen.go":   {"api"},                // so is testdata
		"_scratch/x.go":              {"api"},                // and what the go command ignores
		// forbidden
		"embed/attributes/bad.go": {"liveness"},
		"index/bad.go":            {"embed/vec"},
		"liveness/bad.go":         {"embed"},
		"engine/store/bad.go":     {"engine"},
		"engine/bad.go":           {"api"},
		"api/bad.go":              {"embed"},
		"embed/bad.go":            {"engine/store"},
		"models/prep/bad.go":      {"liveness"},
		"models/onnxedit/bad.go":  {"models"},
		"index/simd/bad.go":       {"models/vec"},
		"models/ort/bad.go":       {"engine"},
		// not in the table
		"models/newleaf/n.go": nil,
		"tools/t.go":          nil,
		"models/vec/bad.go":   {"nowhere"},
	}
	write(t, root, "go.mod", "module vigil\n\ngo 1.26\n")
	for f, imps := range files {
		var b strings.Builder
		b.WriteString("package " + filepath.Base(filepath.Dir(f)) + "\n\nimport (\n\t\"fmt\"\n")
		for _, imp := range imps {
			b.WriteString("\t_ \"vigil/" + imp + "\"\n")
		}
		b.WriteString(")\n\nvar _ = fmt.Sprint\n")
		write(t, root, f, b.String())
	}
	problems, err := checkImports(root)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range problems {
		t.Log(p)
		file, imp, _ := strings.Cut(p, ": ")
		if rest, ok := strings.CutPrefix(imp, "imports vigil/"); ok {
			imp, _, _ = strings.Cut(rest, ":")
		} else {
			imp = "(no entry)"
		}
		got = append(got, file+" "+imp)
	}
	want := []string{
		"api/bad.go embed",
		"embed/attributes/bad.go liveness",
		"embed/bad.go engine/store",
		"engine/bad.go api",
		"engine/store/bad.go engine",
		"index/bad.go embed/vec",
		"index/simd/bad.go models/vec",
		"liveness/bad.go embed",
		"models/newleaf/n.go (no entry)",
		"models/onnxedit/bad.go models",
		"models/ort/bad.go engine",
		"models/prep/bad.go liveness",
		"models/vec/bad.go nowhere",
		"tools/t.go (no entry)",
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("problems:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

func write(t *testing.T, root, rel, content string) {
	t.Helper()
	p := filepath.Join(root, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
