package models

import (
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"vigil/models/onnxedit"
)

// Role says what a model is used for.
type Role string

const (
	RoleDetector   Role = "detector"
	RoleEmbedder   Role = "embedder"
	RoleLiveness   Role = "liveness"
	RoleAttributes Role = "attributes"
)

// Input describes the model's single image input and how pixels are turned into its values:
// value = (pixel*Scale - Mean[c]) / Std[c], channels in Color order, NCHW.
type Input struct {
	Name   string     `json:"name"`
	Width  int        `json:"width"`
	Height int        `json:"height"`
	Color  string     `json:"color"` // "rgb" or "bgr"
	Scale  float32    `json:"scale"`
	Mean   [3]float32 `json:"mean"`
	Std    [3]float32 `json:"std"`
}

// Model is one manifest entry. Values are immutable once loaded.
type Model struct {
	Name      string   `json:"name"`
	Role      Role     `json:"role"`
	File      string   `json:"file"`
	SHA256    string   `json:"sha256"`
	Bytes     int64    `json:"bytes"`
	License   string   `json:"license"`
	Input     Input    `json:"input"`
	Outputs   []string `json:"outputs"`
	Dim       int      `json:"dim,omitempty"`        // embedders: output dimension
	CropScale float32  `json:"crop_scale,omitempty"` // liveness/attributes: crop size relative to the face box
	// GFLOPs is one item's compute at the declared input size, in 1e9 floating-point operations
	// (a multiply-add counts 2), counted from the graph; bench uses it to state throughput as a
	// fraction of the CPU's peak. Optional.
	GFLOPs float64 `json:"gflops,omitempty"`
	// Decoder says how a detector's outputs are read (DecoderYuNet2022 or DecoderYuNet2023).
	// Optional: when empty, DetectorDecoder infers it from Outputs.
	Decoder string  `json:"decoder,omitempty"`
	Derive  *Derive `json:"derive,omitempty"` // how File is made from a shipped model
}

// Detector decoders: how a detector's raw outputs become faces (see embed's Detector).
const (
	// DecoderYuNet2022 is YuNet 2022mar: outputs loc [N,14], conf [N,2], iou [N,1] over
	// anchor priors, decoded as OpenCV 4.5.4–4.7 FaceDetectorYN does (shared/models/MANIFEST.md §1).
	DecoderYuNet2022 = "yunet-2022"
	// DecoderYuNet2023 is YuNet 2023mar: anchor-free cls/obj/bbox/kps outputs at strides 8, 16
	// and 32, decoded as OpenCV >= 4.8 FaceDetectorYN does (MANIFEST.md §2).
	DecoderYuNet2023 = "yunet-2023"
)

// DetectorDecoder returns e's decoder: the manifest's "decoder" field, else the one its outputs
// identify (loc, conf, iou: yunet-2022; 12 outputs cls_8 ... kps_32: yunet-2023), else "".
func (e Model) DetectorDecoder() string {
	if e.Decoder != "" {
		return e.Decoder
	}
	switch {
	case len(e.Outputs) == 3 && e.Outputs[0] == "loc" && e.Outputs[1] == "conf" && e.Outputs[2] == "iou":
		return DecoderYuNet2022
	case len(e.Outputs) == 12 && e.Outputs[0] == "cls_8" && e.Outputs[11] == "kps_32":
		return DecoderYuNet2023
	}
	return ""
}

// Derive records how a model file is made from a shipped one by a repeatable edit, so that the
// edited file's sha256 can be pinned too.
type Derive struct {
	From   string `json:"from"`
	SHA256 string `json:"sha256"`
	Bytes  int64  `json:"bytes"`
	Edit   string `json:"edit"` // "dynamic-batch" or "dynamic-batch-spatial" (see models/onnxedit)
}

// apply runs the edit on the shipped model's bytes.
func (d *Derive) apply(src []byte) ([]byte, error) {
	var opts onnxedit.Options
	switch d.Edit {
	case "dynamic-batch":
	case "dynamic-batch-spatial":
		opts.Spatial = true
	default:
		return nil, fmt.Errorf("%w: unknown edit %q", ErrModel, d.Edit)
	}
	out, _, err := onnxedit.DynamicBatch(src, opts)
	return out, err
}

// Manifest is an ordered set of models. Safe for concurrent reads.
type Manifest struct {
	Models []Model `json:"models"`
}

//go:embed manifest.json
var defaultJSON []byte

// ErrModel marks a missing, damaged or mis-described model file.
var ErrModel = errors.New("model")

// Default returns the embedded manifest.
func Default() *Manifest {
	m, err := Parse(defaultJSON)
	if err != nil {
		panic("BUG: embedded models/manifest.json: " + err.Error())
	}
	return m
}

// Load reads a manifest file; an empty path means the embedded default.
func Load(path string) (*Manifest, error) {
	if path == "" {
		return Default(), nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	m, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// Parse decodes and validates a manifest.
func Parse(b []byte) (*Manifest, error) {
	var m Manifest
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("%w manifest: %v", ErrModel, err)
	}
	return &m, m.Validate()
}

// Validate checks that every entry is complete and names are unique.
func (m *Manifest) Validate() error {
	seen := map[string]bool{}
	for _, e := range m.Models {
		switch {
		case e.Name == "" || seen[e.Name]:
			return fmt.Errorf("%w manifest: missing or duplicate name %q", ErrModel, e.Name)
		case e.File == "" || filepath.Base(e.File) != e.File:
			return fmt.Errorf("%w %s: file must be a plain file name, got %q", ErrModel, e.Name, e.File)
		case len(e.SHA256) != 64:
			return fmt.Errorf("%w %s: sha256 must be 64 hex digits", ErrModel, e.Name)
		case e.Input.Name == "" || e.Input.Width <= 0 || e.Input.Height <= 0:
			return fmt.Errorf("%w %s: input needs a name and a positive size", ErrModel, e.Name)
		case e.Input.Color != "rgb" && e.Input.Color != "bgr":
			return fmt.Errorf("%w %s: input color must be rgb or bgr", ErrModel, e.Name)
		case e.Input.Std[0] == 0 || e.Input.Std[1] == 0 || e.Input.Std[2] == 0:
			return fmt.Errorf("%w %s: input std must be non-zero", ErrModel, e.Name)
		case len(e.Outputs) == 0:
			return fmt.Errorf("%w %s: no outputs", ErrModel, e.Name)
		case e.Role == RoleEmbedder && e.Dim <= 0:
			return fmt.Errorf("%w %s: an embedder needs dim", ErrModel, e.Name)
		case e.Derive != nil && (filepath.Base(e.Derive.From) != e.Derive.From || e.Derive.From == e.File ||
			len(e.Derive.SHA256) != 64):
			return fmt.Errorf("%w %s: derive needs a plain source file name other than file, and its sha256", ErrModel, e.Name)
		}
		if e.Role == RoleDetector {
			if d := e.DetectorDecoder(); d != DecoderYuNet2022 && d != DecoderYuNet2023 {
				return fmt.Errorf("%w %s: detector decoder %q unknown (want %s or %s, or outputs that imply one)",
					ErrModel, e.Name, e.Decoder, DecoderYuNet2022, DecoderYuNet2023)
			}
		} else if e.Decoder != "" {
			return fmt.Errorf("%w %s: decoder is for detectors only", ErrModel, e.Name)
		}
		switch e.Role {
		case RoleDetector, RoleEmbedder, RoleLiveness, RoleAttributes:
		default:
			return fmt.Errorf("%w %s: unknown role %q", ErrModel, e.Name, e.Role)
		}
		seen[e.Name] = true
	}
	return nil
}

// Get returns the entry called name.
func (m *Manifest) Get(name string) (Model, error) {
	for _, e := range m.Models {
		if e.Name == name {
			return e, nil
		}
	}
	return Model{}, fmt.Errorf("%w %q: not in the manifest", ErrModel, name)
}

// Path returns where e's file lives under dir.
func (e Model) Path(dir string) string { return filepath.Join(dir, e.File) }

// Verify checks that e's file exists under dir and has the manifest's sha256.
func (e Model) Verify(dir string) error {
	got, err := fileSHA256(e.Path(dir))
	if err != nil {
		return fmt.Errorf("%w %s: %v", ErrModel, e.Name, err)
	}
	if got != e.SHA256 {
		return fmt.Errorf("%w %s: %s has sha256 %s, manifest says %s", ErrModel, e.Name, e.Path(dir), got, e.SHA256)
	}
	return nil
}

// SourceFile is the file Install reads from the source directory: the shipped model a derived
// entry is made from, or the entry's own file.
func (e Model) SourceFile() string {
	if e.Derive != nil {
		return e.Derive.From
	}
	return e.File
}

// Install puts e's file into dst unless dst already holds a verified copy: it copies the
// shipped file from src, or derives it from its shipped source, checking the sha256 of both.
// The result is checked before it is renamed into place, so dst never holds a damaged model.
func (e Model) Install(src, dst string) (installed bool, err error) {
	if e.Verify(dst) == nil {
		return false, nil
	}
	want := e.SHA256
	if e.Derive != nil {
		want = e.Derive.SHA256
	}
	data, err := os.ReadFile(filepath.Join(src, e.SourceFile()))
	if err != nil {
		return false, fmt.Errorf("%w %s: %v", ErrModel, e.Name, err)
	}
	if got := sha256Hex(data); got != want {
		return false, fmt.Errorf("%w %s: %s has sha256 %s, manifest says %s", ErrModel, e.Name, e.SourceFile(), got, want)
	}
	if e.Derive != nil {
		if data, err = e.Derive.apply(data); err != nil {
			return false, fmt.Errorf("%w %s: %s edit: %v", ErrModel, e.Name, e.Derive.Edit, err)
		}
		if got := sha256Hex(data); got != e.SHA256 {
			return false, fmt.Errorf("%w %s: derived file has sha256 %s, manifest says %s", ErrModel, e.Name, got, e.SHA256)
		}
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return false, err
	}
	tmp, err := os.CreateTemp(dst, e.File+".*.tmp")
	if err != nil {
		return false, err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return false, err
	}
	if err := tmp.Close(); err != nil {
		return false, err
	}
	if err := os.Rename(tmp.Name(), e.Path(dst)); err != nil {
		return false, err
	}
	return true, e.Verify(dst)
}

func sha256Hex(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
