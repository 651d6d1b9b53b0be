package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	benchmarks "vigil/bench"
	"vigil/models/modeltest"
)

// TestBenchAge runs `vigil bench age --json` on three labelled photos at two crop scales.
func TestBenchAge(t *testing.T) {
	csv := filepath.Join(t.TempDir(), "labels.csv")
	if err := os.WriteFile(csv, []byte("file,age,gender\n"+
		"Colin_Powell/Colin_Powell_0081.jpg,65,male\n"+
		"Jennifer_Aniston/Jennifer_Aniston_0001.jpg,33,female\n"+
		"Andre_Agassi/Andre_Agassi_0005.jpg,32,male\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errOut strings.Builder
	err := benchAge([]string{"--labels", csv, "--root", modeltest.FacesDir(t), "--json", "--scales", "1,1.2",
		"--threads", "2", "--models.dir=" + modeltest.ModelsDir(t), "--ort.library=" + modeltest.ORTLibrary(t)}, &out, &errOut)
	if err != nil {
		t.Fatalf("%v\n%s", err, errOut.String())
	}
	dec := json.NewDecoder(strings.NewReader(out.String()))
	chosen := 0
	for _, scale := range []float64{1, 1.2} {
		var r benchmarks.AgeResult
		if err := dec.Decode(&r); err != nil {
			t.Fatal(err)
		}
		if r.CropScale != scale || r.Images != 3 || r.Detected != 3 || r.All.GenderAcc != 1 || r.Model != "age-gender-retail-0013" {
			t.Errorf("scale %v: %+v", scale, r)
		}
		if r.Chosen {
			chosen++
		}
	}
	if chosen != 1 {
		t.Errorf("%d rows chosen, want 1", chosen)
	}
	if err := benchAge([]string{"--labels", csv}, &out, &errOut); err == nil {
		t.Error("no --root: accepted")
	}
	if err := benchAge([]string{"--labels", csv, "--root", ".", "--scales", "0"}, &out, &errOut); err == nil {
		t.Error("scale 0: accepted")
	}
}

// TestAnalyzeAge: `vigil analyze` shows each face's age, band, gender and its probability, in
// text and in JSON.
func TestAnalyzeAge(t *testing.T) {
	photo := filepath.Join(modeltest.FacesDir(t), "Colin_Powell", "Colin_Powell_0081.jpg")
	flags := []string{"--models.dir=" + modeltest.ModelsDir(t), "--ort.library=" + modeltest.ORTLibrary(t)}
	var text strings.Builder
	if err := analyze(append(flags, photo), &text); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text.String(), "    age ") || !strings.Contains(text.String(), " male ") {
		t.Errorf("text output lacks age and gender:\n%s", text.String())
	}
	var js strings.Builder
	if err := analyze(append([]string{"--json"}, append(flags, photo)...), &js); err != nil {
		t.Fatal(err)
	}
	var r analyzeResult
	if err := json.Unmarshal([]byte(js.String()), &r); err != nil {
		t.Fatal(err)
	}
	if len(r.Faces) == 0 || r.Faces[0].Attributes == nil {
		t.Fatalf("no attributes: %s", js.String())
	}
	a := r.Faces[0].Attributes
	if a.Gender != "male" || a.GenderProb < 0.5 || a.Age < 18 || a.Band == "" {
		t.Errorf("Colin Powell: %+v", a)
	}
	if !strings.Contains(js.String(), `"age_band"`) || !strings.Contains(js.String(), `"out_of_range"`) {
		t.Errorf("JSON lacks the fields: %s", js.String())
	}
	t.Log(text.String())
}
