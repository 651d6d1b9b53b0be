package ort

import (
	"errors"
	"math/rand/v2"
	"os"
	"testing"

	"vigil/models"
	"vigil/models/modeltest"
)

// hasGPU reports whether an NVIDIA device node exists.
func hasGPU() bool {
	_, err := os.Stat("/dev/nvidia0")
	return err == nil
}

func openEmbedderOn(t *testing.T, device string) (*Session, error) {
	t.Helper()
	if err := Init(Config{Library: modeltest.ORTLibrary(t), Device: device, IntraOpThreads: 1}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { initORT(t) })
	e, _ := models.Default().Get("mobilefacenet-128")
	return Open(e.Path(modeltest.ModelsDir(t)), []string{e.Input.Name}, e.Outputs)
}

// TestDeviceFallback: without a CUDA-capable library and GPU, "cuda" fails with
// ErrCUDAUnavailable (never silently runs on the CPU) and "auto" runs on the CPU.
func TestDeviceFallback(t *testing.T) {
	if s, err := openEmbedderOn(t, DeviceCUDA); err == nil {
		dev := s.Device()
		s.Close()
		if dev != DeviceCUDA {
			t.Fatalf("device cuda opened a session on %q", dev)
		}
		t.Skip("this ONNX Runtime build found a GPU: TestCUDAMatchesCPU covers the device")
	} else if !errors.Is(err, ErrCUDAUnavailable) {
		t.Fatalf("device cuda without CUDA: %v, want ErrCUDAUnavailable", err)
	}
	s, err := openEmbedderOn(t, DeviceAuto)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Device() != DeviceCPU {
		t.Fatalf("device auto without CUDA runs on %q, want cpu", s.Device())
	}
}

// TestCUDAMatchesCPU runs the embedding model on the GPU and checks a batch's outputs equal the
// CPU's. It needs an NVIDIA GPU and a CUDA build of ONNX Runtime as VIGIL_ORT_LIBRARY (the npm
// package `make` fetches is CPU-only; one library per process, so set it for the whole run).
func TestCUDAMatchesCPU(t *testing.T) {
	if !hasGPU() {
		t.Skip("no NVIDIA GPU on this machine (/dev/nvidia0 absent)")
	}
	gpu, err := openEmbedderOn(t, DeviceCUDA)
	if errors.Is(err, ErrCUDAUnavailable) {
		t.Skipf("a GPU is present but %s has no usable CUDA provider: %v", modeltest.ORTLibrary(t), err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer gpu.Close()
	cpu, err := openEmbedderOn(t, DeviceCPU)
	if err != nil {
		t.Fatal(err)
	}
	defer cpu.Close()
	if gpu.Device() != DeviceCUDA || cpu.Device() != DeviceCPU {
		t.Fatalf("sessions on %q and %q", gpu.Device(), cpu.Device())
	}
	r := rand.New(rand.NewPCG(1, 2))
	const batch = 8
	in := Tensor{Shape: []int64{batch, 3, 112, 112}, Data: make([]float32, batch*3*112*112)}
	for i := range in.Data {
		in.Data[i] = float32(r.NormFloat64())
	}
	a, err := cpu.Run([]Tensor{in})
	if err != nil {
		t.Fatal(err)
	}
	b, err := gpu.Run([]Tensor{in})
	if err != nil {
		t.Fatal(err)
	}
	for i := range a[0].Data {
		if d := a[0].Data[i] - b[0].Data[i]; d > 1e-3 || d < -1e-3 {
			t.Fatalf("output %d: cpu %v, cuda %v", i, a[0].Data[i], b[0].Data[i])
		}
	}
}
