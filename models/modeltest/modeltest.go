// Package modeltest locates the real models and face photos for tests: the models directory that
// `make models` fills (VIGIL_MODELS_DIR overrides it) and ../shared beside the checkout
// (VIGIL_SHARED overrides it). Tests fail, rather than skip, when these are missing: `make test`
// always provides them, so their absence is a broken set-up, not absent hardware.
package modeltest

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// RepoRoot returns the checkout's root directory.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// SharedDir returns ../shared beside the checkout, or fails t.
func SharedDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("VIGIL_SHARED")
	if dir == "" {
		dir = filepath.Join(RepoRoot(), "..", "shared")
	}
	if _, err := os.Stat(filepath.Join(dir, "models")); err != nil {
		t.Fatalf("shared test data not found at %s (set VIGIL_SHARED): %v", dir, err)
	}
	return dir
}

// FacesDir returns the shared face photos directory.
func FacesDir(t testing.TB) string {
	t.Helper()
	return filepath.Join(SharedDir(t), "faces")
}

// ReadFace returns the bytes of the file rel (slash-separated) under FacesDir, or fails t.
func ReadFace(t testing.TB, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(FacesDir(t), filepath.FromSlash(rel)))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// ModelsDir returns the installed models directory, or fails t with how to fill it.
func ModelsDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("VIGIL_MODELS_DIR")
	if dir == "" {
		dir = filepath.Join(RepoRoot(), "models")
	}
	if m, _ := filepath.Glob(filepath.Join(dir, "*.onnx")); len(m) == 0 {
		t.Fatalf("no models in %s: run `make models` (or set VIGIL_MODELS_DIR)", dir)
	}
	return dir
}

// ORTLibrary returns the ONNX Runtime library that `make` fetched (VIGIL_ORT_LIBRARY overrides).
func ORTLibrary(t testing.TB) string {
	t.Helper()
	lib := os.Getenv("VIGIL_ORT_LIBRARY")
	if lib == "" {
		lib = filepath.Join(RepoRoot(), ".build", "ort", "libonnxruntime.so.1")
	}
	if _, err := os.Stat(lib); err != nil {
		t.Fatalf("ONNX Runtime library missing: run `make ort` (or set VIGIL_ORT_LIBRARY): %v", err)
	}
	return lib
}
