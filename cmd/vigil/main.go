// Command vigil is the face-biometrics server and its tools.
//
//	vigil serve [flags]     run the HTTP API (flags also read from VIGIL_* env vars)
//	vigil version           print versions and SIMD levels
//	vigil help
package main

import (
	"fmt"
	"os"

	"vigil/index/faiss"
	"vigil/index/simd"
)

// buildVersion is set at link time from git describe.
var buildVersion = "dev"

func main() {
	// FAISS was compiled for one SIMD level; refuse to run (instead of dying with SIGILL) on a CPU
	// without it. The native library's own constructor guards the same before main runs.
	if err := simd.CheckCPU(faiss.BuiltLevel()); err != nil {
		fmt.Fprintln(os.Stderr, "vigil:", err)
		os.Exit(3)
	}
	args := os.Args[1:]
	if len(args) == 0 {
		usage()
		os.Exit(2)
	}
	var err error
	switch args[0] {
	case "serve":
		err = serve(args[1:])
	case "analyze":
		err = analyze(args[1:], os.Stdout)
	case "bench":
		err = bench(args[1:])
	case "version":
		err = version(args[1:], os.Stdout)
	case "help", "-h", "--help":
		usage()
		return
	default:
		fmt.Fprintf(os.Stderr, "vigil: unknown command %q\n", args[0])
		usage()
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "vigil:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprint(os.Stderr, `usage: vigil <command> [flags]

commands:
  serve     run the HTTP API (vigil serve -h lists flags; each also reads VIGIL_<FLAG> from the env)
  analyze   faces in photos: vigil analyze [--json] [--embedding] FILE...
  bench     benchmarks: vigil bench index -h
  version   print Vigil, Go, FAISS SIMD, CPU SIMD and ONNX Runtime versions
`)
}
