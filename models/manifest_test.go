package models

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"vigil/models/modeltest"
)

func TestDefaultManifestIsValid(t *testing.T) {
	m := Default()
	for _, role := range []Role{RoleDetector, RoleEmbedder, RoleLiveness, RoleAttributes} {
		found := false
		for _, e := range m.Models {
			found = found || e.Role == role
		}
		if !found {
			t.Errorf("default manifest has no %s", role)
		}
	}
	if _, err := m.Get("no-such-model"); err == nil {
		t.Error("Get of an unknown name succeeded")
	}
}

func TestValidateRejects(t *testing.T) {
	good := `{"name":"a","role":"embedder","file":"a.onnx","sha256":"` + strings.Repeat("0", 64) +
		`","input":{"name":"x","width":1,"height":1,"color":"rgb","scale":1,"std":[1,1,1]},"outputs":["y"],"dim":4}`
	if _, err := Parse([]byte(`{"models":[` + good + `]}`)); err != nil {
		t.Fatalf("good manifest rejected: %v", err)
	}
	for name, bad := range map[string]string{
		"duplicate":    good + "," + good,
		"path in file": strings.Replace(good, `"a.onnx"`, `"../a.onnx"`, 1),
		"short sha":    strings.Replace(good, strings.Repeat("0", 64), "abc", 1),
		"no dim":       strings.Replace(good, `,"dim":4`, ``, 1),
		"bad color":    strings.Replace(good, `"rgb"`, `"yuv"`, 1),
		"zero std":     strings.Replace(good, `[1,1,1]`, `[1,0,1]`, 1),
		"bad role":     strings.Replace(good, `"embedder"`, `"oracle"`, 1),
		"unknown key":  strings.Replace(good, `"dim":4`, `"dimm":4`, 1),
	} {
		if _, err := Parse([]byte(`{"models":[` + bad + `]}`)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestInstall copies the real shared models, checks the copy is verified and idempotent, and that
// a damaged copy is detected and replaced.
func TestInstall(t *testing.T) {
	src := filepath.Join(modeltest.SharedDir(t), "models")
	dst := t.TempDir()
	for _, e := range Default().Models {
		copied, err := e.Install(src, dst)
		if err != nil || !copied {
			t.Fatalf("%s: Install = %v, %v; want copied", e.Name, copied, err)
		}
		if copied, err := e.Install(src, dst); err != nil || copied {
			t.Fatalf("%s: second Install = %v, %v; want no-op", e.Name, copied, err)
		}
	}
	e := Default().Models[0]
	if err := os.WriteFile(e.Path(dst), []byte("not a model"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := e.Verify(dst); err == nil {
		t.Fatal("damaged model verified")
	}
	if copied, err := e.Install(src, dst); err != nil || !copied {
		t.Fatalf("repair Install = %v, %v", copied, err)
	}
	if _, err := e.Install(t.TempDir(), t.TempDir()); err == nil {
		t.Fatal("Install from an empty source succeeded")
	}
}

// TestDetectorDecoder: the manifest says how each detector's outputs are read, or its outputs do.
func TestDetectorDecoder(t *testing.T) {
	for name, want := range map[string]string{"yunet-2023mar": DecoderYuNet2023, "yunet-2022mar": DecoderYuNet2022} {
		e, err := Default().Get(name)
		if err != nil {
			t.Fatal(err)
		}
		if got := e.DetectorDecoder(); got != want {
			t.Errorf("%s: decoder %q, want %q", name, got, want)
		}
		e.Decoder = ""
		if got := e.DetectorDecoder(); got != want {
			t.Errorf("%s without \"decoder\": inferred %q, want %q", name, got, want)
		}
	}
	det := `{"name":"d","role":"detector","file":"d.onnx","sha256":"` + strings.Repeat("0", 64) +
		`","input":{"name":"input","width":1,"height":1,"color":"bgr","scale":1,"std":[1,1,1]},"outputs":["loc","conf","iou"]}`
	if _, err := Parse([]byte(`{"models":[` + det + `]}`)); err != nil {
		t.Fatalf("detector with inferable decoder rejected: %v", err)
	}
	for name, bad := range map[string]string{
		"unknown decoder":         strings.Replace(det, `"outputs"`, `"decoder":"yunet-2021","outputs"`, 1),
		"outputs unknown":         strings.Replace(det, `["loc","conf","iou"]`, `["boxes"]`, 1),
		"decoder on non-detector": strings.Replace(strings.Replace(det, `"detector"`, `"liveness"`, 1), `"outputs"`, `"decoder":"yunet-2022","outputs"`, 1),
	} {
		if _, err := Parse([]byte(`{"models":[` + bad + `]}`)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
