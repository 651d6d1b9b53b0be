// Command vigilbuild is the Makefile's helper for what make cannot do well by itself. It needs no
// native libraries, so it runs before any of them is built.
//
//	vigilbuild simd                          print the widest SIMD level this CPU offers
//	vigilbuild cflags LEVEL                  print GCC flags for LEVEL
//	vigilbuild models -from DIR -to DIR [-manifest FILE]
//	                                         copy every model of the manifest, checking sha256
//	vigilbuild imports [-root DIR]           check that imports point the way STYLE.md section 1
//	                                         says (rule table in imports.go; make lint runs it)
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"vigil/index/simd"
	"vigil/models"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "vigilbuild:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) == 0 {
		return errors.New("usage: vigilbuild simd | cflags LEVEL | models -from DIR -to DIR | imports [-root DIR]")
	}
	switch args[0] {
	case "simd":
		fmt.Println(simd.CPU())
		return nil
	case "cflags":
		if len(args) != 2 {
			return errors.New("usage: vigilbuild cflags LEVEL")
		}
		l, err := simd.Parse(args[1])
		if err != nil {
			return err
		}
		fmt.Println(strings.Join(l.CFlags(), " "))
		return nil
	case "models":
		return installModels(args[1:])
	case "imports":
		return importsCmd(args[1:])
	}
	return fmt.Errorf("unknown command %q", args[0])
}

func installModels(args []string) error {
	fs := flag.NewFlagSet("models", flag.ContinueOnError)
	from := fs.String("from", "../shared/models", "directory holding the model files")
	to := fs.String("to", "models", "directory to install them into")
	manifest := fs.String("manifest", "", "model manifest (default: the embedded one)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	m, err := models.Load(*manifest)
	if err != nil {
		return err
	}
	var missing []string
	for _, e := range m.Models {
		if e.Verify(*to) == nil {
			continue
		}
		if _, err := os.Stat(filepath.Join(*from, e.SourceFile())); err != nil {
			missing = append(missing, e.SourceFile())
			continue
		}
		if _, err := e.Install(*from, *to); err != nil {
			return err
		}
		how := "copied"
		if e.Derive != nil {
			how = "derived (" + e.Derive.Edit + ") from " + e.Derive.From
		}
		fmt.Fprintf(os.Stderr, "installed %s (%s) into %s: %s\n", e.File, e.Name, *to, how)
	}
	if len(missing) > 0 {
		return fmt.Errorf("models not found in %s: %s\n"+
			"  Vigil does not download models. Put the files listed in models/manifest.json (with the sha256\n"+
			"  given there) in %s, or point MODELS_SRC=DIR at a directory holding them. In this project's\n"+
			"  workspace they come from ../shared/models; see that directory's MANIFEST.md for each model's source",
			*from, strings.Join(missing, ", "), *to)
	}
	return nil
}
