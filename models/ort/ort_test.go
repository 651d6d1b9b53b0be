package ort

import (
	"image"
	_ "image/jpeg"
	_ "image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"vigil/models"
	"vigil/models/modeltest"
)

func initORT(t *testing.T) {
	t.Helper()
	if err := Init(Config{Library: modeltest.ORTLibrary(t), Device: DeviceCPU, IntraOpThreads: 1}); err != nil {
		t.Fatal(err)
	}
}

// bgrPad pads img bottom-right into an S×S BGR NCHW tensor of raw 0-255 values, which is how
// YuNet 2023mar takes its input (see models/MANIFEST).
func bgrPad(t *testing.T, path string, S int) Tensor {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, _, err := image.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	data := make([]float32, 3*S*S)
	b := img.Bounds()
	for y := 0; y < min(b.Dy(), S); y++ {
		for x := 0; x < min(b.Dx(), S); x++ {
			r, g, bl, _ := img.At(b.Min.X+x, b.Min.Y+y).RGBA()
			data[0*S*S+y*S+x] = float32(bl >> 8)
			data[1*S*S+y*S+x] = float32(g >> 8)
			data[2*S*S+y*S+x] = float32(r >> 8)
		}
	}
	return Tensor{Shape: []int64{1, 3, int64(S), int64(S)}, Data: data}
}

// bestFace returns the highest face score over YuNet's stride-8/16/32 cells of an S×S input and
// that cell's box centre in pixels.
func bestFace(out []Tensor, S int) (score float64, cx, cy float64) {
	for i, stride := range []int{8, 16, 32} {
		cls, obj, box := out[i].Data, out[3+i].Data, out[6+i].Data
		cols := S / stride
		for idx := range cls {
			s := math.Sqrt(float64(max(0, min(1, cls[idx]))) * float64(max(0, min(1, obj[idx]))))
			if s > score {
				r, c := idx/cols, idx%cols
				score = s
				cx = (float64(c) + float64(box[4*idx])) * float64(stride)
				cy = (float64(r) + float64(box[4*idx+1])) * float64(stride)
			}
		}
	}
	return
}

// TestYuNetOnRealPhotos runs the real detector from the models directory on a real LFW photo (a
// centred face) and on a photo without a face.
func TestYuNetOnRealPhotos(t *testing.T) {
	initORT(t)
	e, err := models.Default().Get("yunet-2023mar")
	if err != nil {
		t.Fatal(err)
	}
	dir := modeltest.ModelsDir(t)
	if err := e.Verify(dir); err != nil {
		t.Fatal(err)
	}
	s, err := Open(e.Path(dir), []string{e.Input.Name}, e.Outputs)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Device() != DeviceCPU {
		t.Fatalf("device %s, want cpu", s.Device())
	}
	faces := modeltest.FacesDir(t)

	// The manifest's detector has symbolic spatial dims: a 256x256 input gives 32x32 stride-8 cells.
	out, err := s.Run([]Tensor{bgrPad(t, filepath.Join(faces, "Adam_Sandler", "Adam_Sandler_0001.jpg"), 256)})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 12 || len(out[0].Data) != 32*32 || len(out[6].Data) != 4*32*32 {
		t.Fatalf("unexpected output layout: %d outputs, cls_8 %v", len(out), out[0].Shape)
	}
	score, cx, cy := bestFace(out, 256)
	if score < 0.9 {
		t.Fatalf("face photo: best score %.3f, want >= 0.9", score)
	}
	// LFW photos are 250x250 with the face in the middle.
	if math.Abs(cx-125) > 30 || math.Abs(cy-125) > 40 {
		t.Fatalf("face centre (%.0f,%.0f), want near (125,125)", cx, cy)
	}

	out, err = s.Run([]Tensor{bgrPad(t, filepath.Join(faces, "_special", "no_face", "brick.png"), 640)})
	if err != nil {
		t.Fatal(err)
	}
	if score, _, _ := bestFace(out, 640); score > 0.5 {
		t.Fatalf("no-face photo: best score %.3f, want < 0.5", score)
	}
	if v := Version(); !strings.HasPrefix(v, "1.") {
		t.Fatalf("Version() = %q", v)
	}
}

func TestCloseIdempotent(t *testing.T) {
	var s *Session
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	initORT(t)
	e, _ := models.Default().Get("mobilefacenet-128")
	s, err := Open(e.Path(modeltest.ModelsDir(t)), []string{e.Input.Name}, e.Outputs)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Run(nil); err == nil {
		t.Fatal("Run on a closed session succeeded")
	}
}

func TestOpenMissingModel(t *testing.T) {
	initORT(t)
	if _, err := Open(filepath.Join(t.TempDir(), "nope.onnx"), []string{"x"}, []string{"y"}); err == nil {
		t.Fatal("Open of a missing file succeeded")
	}
}
