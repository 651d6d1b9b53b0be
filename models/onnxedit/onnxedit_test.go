package onnxedit_test

import (
	"crypto/sha256"
	"encoding/hex"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"vigil/models"
	"vigil/models/modeltest"
	"vigil/models/onnxedit"
	"vigil/models/ort"
)

// TestBatchedEqualsSingle edits each shipped model, then checks on the real runtime that one
// batched call gives the same outputs as one call per item, and that the original rejects a batch.
func TestBatchedEqualsSingle(t *testing.T) {
	if err := ort.Init(ort.Config{Library: modeltest.ORTLibrary(t), IntraOpThreads: 1}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		model    string
		opts     onnxedit.Options
		w, h     int
		reshapes int
	}{
		{"mobilefacenet-128", onnxedit.Options{}, 112, 112, 1},
		{"minifasnet-v2-2.7", onnxedit.Options{}, 80, 80, 1},
		{"minifasnet-v1se-4.0", onnxedit.Options{}, 80, 80, 1},
		{"age-gender-retail-0013", onnxedit.Options{}, 62, 62, 0},
		{"yunet-2023mar", onnxedit.Options{Spatial: true}, 160, 96, 3}, // 12 Reshapes share 3 targets,
	} {
		t.Run(tc.model, func(t *testing.T) {
			e, err := models.Default().Get(tc.model)
			if err != nil {
				t.Fatal(err)
			}
			shipped := filepath.Join(modeltest.SharedDir(t), "models", e.Derive.From)
			src, err := os.ReadFile(shipped)
			if err != nil {
				t.Fatal(err)
			}
			edited, rep, err := onnxedit.DynamicBatch(src, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Inputs != 1 || rep.Outputs != len(e.Outputs) || rep.Reshapes != tc.reshapes {
				t.Fatalf("report %+v; want 1 input, %d outputs, %d reshapes", rep, len(e.Outputs), tc.reshapes)
			}
			again, _, err := onnxedit.DynamicBatch(src, tc.opts)
			if err != nil || string(again) != string(edited) {
				t.Fatal("edit is not deterministic")
			}
			if sum := sha256.Sum256(edited); hex.EncodeToString(sum[:]) != e.SHA256 {
				t.Fatalf("edited file's sha256 %x differs from the manifest's %s", sum, e.SHA256)
			}
			path := filepath.Join(t.TempDir(), "edited.onnx")
			if err := os.WriteFile(path, edited, 0o644); err != nil {
				t.Fatal(err)
			}
			s, err := ort.Open(path, []string{e.Input.Name}, e.Outputs)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()

			const n = 3
			per := 3 * tc.w * tc.h
			r := rand.New(rand.NewPCG(7, 7))
			batch := make([]float32, n*per)
			for i := range batch {
				batch[i] = float32(r.IntN(256))
			}
			got, err := s.Run([]ort.Tensor{{Shape: []int64{n, 3, int64(tc.h), int64(tc.w)}, Data: batch}})
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < n; i++ {
				one, err := s.Run([]ort.Tensor{{Shape: []int64{1, 3, int64(tc.h), int64(tc.w)}, Data: batch[i*per : (i+1)*per]}})
				if err != nil {
					t.Fatal(err)
				}
				for o := range one {
					if got[o].Shape[0] != n {
						t.Fatalf("output %s batch dim %d, want %d", e.Outputs[o], got[o].Shape[0], n)
					}
					m := len(one[o].Data)
					for j, want := range one[o].Data {
						if d := math.Abs(float64(got[o].Data[i*m+j] - want)); d > 1e-4*math.Max(1, math.Abs(float64(want))) {
							t.Fatalf("output %s item %d [%d]: batched %g, single %g", e.Outputs[o], i, j, got[o].Data[i*m+j], want)
						}
					}
				}
			}

			orig, err := ort.Open(shipped, []string{e.Input.Name}, e.Outputs)
			if err != nil {
				t.Fatal(err)
			}
			defer orig.Close()
			if _, err := orig.Run([]ort.Tensor{{Shape: []int64{n, 3, int64(e.Input.Height), int64(e.Input.Width)},
				Data: make([]float32, n*3*e.Input.Height*e.Input.Width)}}); err == nil {
				t.Fatal("the shipped model accepted a batch; the edit would be pointless")
			}
		})
	}
}

func TestRejectsGarbage(t *testing.T) {
	for _, b := range [][]byte{nil, []byte("not a model"), {0x3a, 0x05, 0x0a}} {
		if _, _, err := onnxedit.DynamicBatch(b, onnxedit.Options{}); err == nil {
			t.Errorf("%q accepted", b)
		}
	}
}
