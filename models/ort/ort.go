// Package ort is the thin cgo boundary to ONNX Runtime (through onnxruntime_go): one process-wide
// environment and Sessions that run a model on float32 tensors. Callers see Go slices and errors,
// never ORT types. It is the only package that imports onnxruntime_go.
package ort

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	onnx "github.com/yalue/onnxruntime_go"

	"vigil/models"
)

// Device names an execution provider choice.
const (
	DeviceCPU  = "cpu"
	DeviceCUDA = "cuda" // CUDA or fail
	DeviceAuto = "auto" // CUDA when the library and a GPU allow it, else CPU
)

// Config selects the ONNX Runtime library and device. Library must be a path to
// libonnxruntime.so.1 (the CPU build from `make`, or an operator-supplied GPU build for CUDA).
type Config struct {
	Library        string
	Device         string
	CUDADevice     int
	IntraOpThreads int // threads per session call; 0 lets ORT decide
	// NoSpin makes a session's idle intra-op threads sleep instead of spin-waiting for work.
	// Spinning cuts a call's latency when the session owns its cores; with several sessions
	// sharing few cores the spinners take CPU from the ones with work.
	NoSpin bool
}

// Sentinel errors.
var (
	ErrNotInitialized  = errors.New("onnx runtime not initialized")
	ErrCUDAUnavailable = errors.New("CUDA execution provider unavailable")
)

var env struct {
	sync.Mutex
	cfg  Config
	init bool
}

// Init loads the library and creates the environment. It may be called again with the same
// library (a no-op); a different one is an error, since ORT allows one environment per process.
func Init(cfg Config) error {
	env.Lock()
	defer env.Unlock()
	if cfg.Library == "" {
		return errors.New("onnx runtime: no library configured (run `make`, or set --ort.library)")
	}
	lib, err := filepath.Abs(cfg.Library)
	if err != nil {
		return err
	}
	cfg.Library = lib
	if cfg.Device == "" {
		cfg.Device = DeviceCPU
	}
	switch cfg.Device {
	case DeviceCPU, DeviceCUDA, DeviceAuto:
	default:
		return fmt.Errorf("onnx runtime: unknown device %q (want cpu, cuda or auto)", cfg.Device)
	}
	if env.init {
		if env.cfg.Library != lib {
			return fmt.Errorf("onnx runtime already initialized with %s", env.cfg.Library)
		}
		env.cfg = cfg
		return nil
	}
	if _, err := os.Stat(lib); err != nil {
		return fmt.Errorf("onnx runtime library: %w (run `make` to fetch it, or set --ort.library)", err)
	}
	onnx.SetSharedLibraryPath(lib)
	if err := onnx.InitializeEnvironment(); err != nil {
		return fmt.Errorf("onnx runtime init: %w", err)
	}
	env.cfg, env.init = cfg, true
	return nil
}

// Version returns the loaded ONNX Runtime version, or "" before Init.
func Version() string {
	env.Lock()
	defer env.Unlock()
	if !env.init {
		return ""
	}
	return onnx.GetVersion()
}

// Tensor is a float32 tensor in row-major order; Data holds the product of Shape floats.
type Tensor struct {
	Shape []int64
	Data  []float32
}

// Session runs one model. Not safe for concurrent use: each worker owns one. Caller must Close.
type Session struct {
	s       *onnx.DynamicAdvancedSession
	inputs  []string
	outputs []string
	device  string
}

// Open loads the model at path, bound to the named inputs and outputs, on the configured device.
func Open(path string, inputs, outputs []string) (*Session, error) {
	env.Lock()
	cfg, ok := env.cfg, env.init
	env.Unlock()
	if !ok {
		return nil, ErrNotInitialized
	}
	opts, err := onnx.NewSessionOptions()
	if err != nil {
		return nil, err
	}
	defer opts.Destroy()
	if cfg.IntraOpThreads > 0 {
		if err := opts.SetIntraOpNumThreads(cfg.IntraOpThreads); err != nil {
			return nil, err
		}
	}
	if cfg.NoSpin {
		if err := opts.AddSessionConfigEntry("session.intra_op.allow_spinning", "0"); err != nil {
			return nil, err
		}
	}
	device := DeviceCPU
	if cfg.Device != DeviceCPU {
		if err := appendCUDA(opts, cfg.CUDADevice); err == nil {
			device = DeviceCUDA
		} else if cfg.Device == DeviceCUDA {
			return nil, fmt.Errorf("%s: %w: %v", filepath.Base(path), ErrCUDAUnavailable, err)
		}
	}
	s, err := onnx.NewDynamicAdvancedSession(path, inputs, outputs, opts)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", filepath.Base(path), err)
	}
	return &Session{s: s, inputs: inputs, outputs: outputs, device: device}, nil
}

func appendCUDA(opts *onnx.SessionOptions, dev int) error {
	cuda, err := onnx.NewCUDAProviderOptions()
	if err != nil {
		return err
	}
	defer cuda.Destroy()
	if err := cuda.Update(map[string]string{"device_id": fmt.Sprint(dev)}); err != nil {
		return err
	}
	return opts.AppendExecutionProviderCUDA(cuda)
}

// Device reports where the session runs: "cpu" or "cuda".
func (s *Session) Device() string { return s.device }

// Run feeds one tensor per input name and returns one tensor per output name, copied into Go
// memory. Input data is only read.
func (s *Session) Run(in []Tensor) ([]Tensor, error) {
	if s == nil || s.s == nil {
		return nil, errors.New("onnx session closed")
	}
	if len(in) != len(s.inputs) {
		return nil, fmt.Errorf("got %d inputs, model takes %d", len(in), len(s.inputs))
	}
	inputs := make([]onnx.Value, len(in))
	defer destroyAll(inputs)
	for i, t := range in {
		v, err := onnx.NewTensor(onnx.NewShape(t.Shape...), t.Data)
		if err != nil {
			return nil, fmt.Errorf("input %s: %w", s.inputs[i], err)
		}
		inputs[i] = v
	}
	outputs := make([]onnx.Value, len(s.outputs))
	defer destroyAll(outputs)
	if err := s.s.Run(inputs, outputs); err != nil {
		return nil, err
	}
	res := make([]Tensor, len(outputs))
	for i, v := range outputs {
		t, ok := v.(*onnx.Tensor[float32])
		if !ok {
			return nil, fmt.Errorf("output %s is not float32", s.outputs[i])
		}
		res[i] = Tensor{Shape: append([]int64(nil), t.GetShape()...), Data: append([]float32(nil), t.GetData()...)}
	}
	return res, nil
}

func destroyAll(vs []onnx.Value) {
	for _, v := range vs {
		if v != nil {
			v.Destroy()
		}
	}
}

// Close frees the session. Idempotent.
func (s *Session) Close() error {
	if s == nil || s.s == nil {
		return nil
	}
	err := s.s.Destroy()
	s.s = nil
	return err
}

// OpenModel verifies the manifest entry's file under dir (sha256) and opens it with the entry's
// input and outputs. want, when non-empty, is the role the caller expects.
func OpenModel(m *models.Manifest, dir, name string, want models.Role) (*Session, models.Model, error) {
	e, err := m.Get(name)
	if err != nil {
		return nil, e, err
	}
	if want != "" && e.Role != want {
		return nil, e, fmt.Errorf("%w %s: is a %s model, want %s", models.ErrModel, name, e.Role, want)
	}
	if err := e.Verify(dir); err != nil {
		return nil, e, err
	}
	s, err := Open(e.Path(dir), []string{e.Input.Name}, e.Outputs)
	return s, e, err
}
