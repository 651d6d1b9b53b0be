package main

import (
	"errors"
	"flag"
	"fmt"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// A part is one node of STYLE.md's import direction, cmd -> api -> engine -> {embed, liveness,
// index, engine/store} -> {models/ort, index/faiss}: a package path relative to the module and,
// with tree, every package under it that no longer entry claims. It may import packages of its
// own part and of the parts in may ("*": any package of Vigil's).
type part struct {
	name string
	tree bool
	may  []string
}

// leaves are the packages at the bottom that anything above may use: models and its
// subpackages, index/faiss and index/simd. Each is listed on its own (a new one needs an entry,
// saying which other leaves it builds on) and imports no other package of Vigil's.
var leaves = []string{
	"models", "models/onnxedit", "models/ort", "models/prep", "models/vec", "models/modeltest",
	"index/faiss", "index/simd",
}

// parts is the rule table. Test files (_test.go) are exempt: a test may use a sibling to make
// its inputs (liveness's tests run embed's detector).
var parts = []part{
	// main packages, and the benchmarks only cmd/vigil runs: they wire everything together.
	{name: "cmd", tree: true, may: []string{"*"}},
	{name: "bench", tree: true, may: []string{"*"}},
	// HTTP: of Vigil's code, the use cases (and leaves).
	{name: "api", tree: true, may: leavesAnd("engine")},
	// use cases (engine/catalog is part of it); engine/store is its own part below.
	{name: "engine", tree: true, may: leavesAnd("embed", "liveness", "index", "engine/store")},
	// the siblings: leaves only, never each other, engine or api. embed/attributes counts as embed.
	{name: "embed", tree: true, may: leaves},
	{name: "liveness", tree: true, may: leaves},
	{name: "index", tree: true, may: leaves},
	{name: "engine/store", tree: true, may: leaves},
	// the leaves, each with the other leaves it may use.
	{name: "models", may: []string{"models/onnxedit"}},
	{name: "models/onnxedit"},
	{name: "models/ort", may: []string{"models"}},
	{name: "models/prep", may: []string{"models"}},
	{name: "models/vec", may: []string{"index/simd"}},
	{name: "models/modeltest"},
	{name: "index/faiss", may: []string{"index/simd"}},
	{name: "index/simd"},
}

func leavesAnd(names ...string) []string { return append(slices.Clone(leaves), names...) }

// partOf returns the part package rel (relative to the module) belongs to: an exact entry, else
// the longest tree entry above it.
func partOf(rel string) *part {
	var best *part
	for i := range parts {
		p := &parts[i]
		switch {
		case p.name == rel:
			return p
		case p.tree && strings.HasPrefix(rel, p.name+"/") && (best == nil || len(p.name) > len(best.name)):
			best = p
		}
	}
	return best
}

// checkImports parses the imports of every non-test .go file under root (the module's root, whose
// go.mod names the module) and returns one line per import the rule table forbids, and per
// package the table does not cover, naming the file. Directories the go command ignores
// (testdata, vendor, names starting with . or _) and nested modules are skipped. Build tags are
// not evaluated: every variant of a package is checked.
func checkImports(root string) ([]string, error) {
	module, err := modulePath(filepath.Join(root, "go.mod"))
	if err != nil {
		return nil, err
	}
	fset := token.NewFileSet()
	var problems []string
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if p == root {
				return nil
			}
			if name == "testdata" || name == "vendor" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") {
				return filepath.SkipDir
			}
			if _, err := os.Stat(filepath.Join(p, "go.mod")); err == nil {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			return nil
		}
		relFile, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		relFile = filepath.ToSlash(relFile)
		from := path.Dir(relFile)
		f, err := parser.ParseFile(fset, p, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		src := partOf(from)
		if src == nil {
			problems = append(problems, fmt.Sprintf("%s: package %s/%s has no entry in the import rules (cmd/vigilbuild/imports.go)", relFile, module, from))
			return nil
		}
		for _, is := range f.Imports {
			imp, err := strconv.Unquote(is.Path.Value)
			if err != nil {
				return fmt.Errorf("%s: %w", relFile, err)
			}
			to, ok := strings.CutPrefix(imp, module+"/")
			if !ok {
				continue // standard library or a dependency
			}
			if msg := allowed(src, to); msg != "" {
				problems = append(problems, fmt.Sprintf("%s: imports %s: %s", relFile, imp, msg))
			}
		}
		return nil
	})
	return problems, err
}

// allowed returns "" when part src may import the package to (relative to the module), else why not.
func allowed(src *part, to string) string {
	dst := partOf(to)
	switch {
	case dst == nil:
		return "no entry in the import rules (cmd/vigilbuild/imports.go)"
	case dst == src || slices.Contains(src.may, "*") || slices.Contains(src.may, dst.name):
		return ""
	case len(src.may) == 0:
		return fmt.Sprintf("%s is a leaf and may import no package of Vigil's", src.name)
	}
	return fmt.Sprintf("%s may not import %s (only %s)", src.name, dst.name, describe(src.may))
}

// describe lists the parts of a may list, the leaves as one item.
func describe(may []string) string {
	var out []string
	all := !slices.ContainsFunc(leaves, func(l string) bool { return !slices.Contains(may, l) })
	if all {
		out = append(out, "the leaves "+strings.Join(leaves, ", "))
	}
	for _, m := range may {
		if !all || !slices.Contains(leaves, m) {
			out = append(out, m)
		}
	}
	return strings.Join(out, "; ")
}

// modulePath reads the module line of a go.mod file.
func modulePath(gomod string) (string, error) {
	b, err := os.ReadFile(gomod)
	if err != nil {
		return "", err
	}
	for line := range strings.Lines(string(b)) {
		if m, ok := strings.CutPrefix(strings.TrimSpace(line), "module "); ok {
			return strings.Trim(strings.TrimSpace(m), `"`), nil
		}
	}
	return "", fmt.Errorf("%s: no module line", gomod)
}

// importsCmd is `vigilbuild imports [-root DIR]`: print every import that breaks the direction
// and fail if there is one.
func importsCmd(args []string) error {
	fs := flag.NewFlagSet("imports", flag.ContinueOnError)
	root := fs.String("root", ".", "the module's root directory")
	if err := fs.Parse(args); err != nil {
		return err
	}
	problems, err := checkImports(*root)
	if err != nil {
		return err
	}
	for _, p := range problems {
		fmt.Fprintln(os.Stderr, p)
	}
	if len(problems) > 0 {
		return errors.New("imports break the direction of STYLE.md section 1 (cmd -> api -> engine -> {embed, liveness, index, engine/store} -> leaves)")
	}
	return nil
}
