package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"

	"github.com/klauspost/cpuid/v2"

	"vigil/index/faiss"
	"vigil/index/simd"
	"vigil/models/ort"
	"vigil/models/vec"
)

func version(args []string, w io.Writer) error {
	cfg := defaultConfig()
	fs := flag.NewFlagSet("version", flag.ContinueOnError)
	fs.StringVar(&cfg.Engine.ORT.Library, "ort.library", cfg.Engine.ORT.Library, "path to libonnxruntime.so")
	if err := parseFlags(fs, args, os.Getenv); err != nil {
		return err
	}
	return printVersion(w, cfg.Engine.ORT.Library)
}

func printVersion(w io.Writer, ortLibrary string) error {
	ortVersion := "unavailable"
	if err := ort.Init(ort.Config{Library: ortLibrary}); err != nil {
		ortVersion += " (" + err.Error() + ")"
	} else {
		ortVersion = ort.Version()
	}
	fmt.Fprintf(w, "vigil %s\n", buildVersion)
	fmt.Fprintf(w, "go %s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	fmt.Fprintf(w, "faiss %s built for simd=%s\n", faiss.Version, faiss.BuiltLevel())
	fmt.Fprintf(w, "cpu %q offers simd=%s\n", cpuid.CPU.BrandName, simd.CPU())
	fmt.Fprintf(w, "vector kernels simd=%s\n", vec.Describe())
	fmt.Fprintf(w, "onnxruntime %s (%s)\n", ortVersion, ortLibrary)
	return nil
}
