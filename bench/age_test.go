package bench

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"strings"
	"testing"

	"vigil/embed"
	"vigil/embed/attributes"
	"vigil/models"
	"vigil/models/modeltest"
	"vigil/models/ort"
)

func TestReadAgeLabels(t *testing.T) {
	in := `# a comment
gender, file ,age,extra
Male,A/A_0001.jpg,36,x
f,B/B_0001.jpg, 40.5,y
# another comment
FEMALE,solo.jpg,70,
`
	got, err := ReadAgeLabels(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []AgeLabel{{"A/A_0001.jpg", 36, "male"}, {"B/B_0001.jpg", 40.5, "female"}, {"solo.jpg", 70, "female"}}
	if len(got) != len(want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("row %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	if id := got[0].Identity(); id != "A" {
		t.Errorf("identity %q, want A", id)
	}
	if id := got[2].Identity(); id != "solo.jpg" {
		t.Errorf("identity of a top-level file %q, want the file", id)
	}
	for name, bad := range map[string]string{
		"empty":           "",
		"header only":     "file,age,gender\n",
		"missing column":  "file,age\na.jpg,30\n",
		"bad age":         "file,age,gender\na.jpg,thirty,male\n",
		"negative age":    "file,age,gender\na.jpg,-1,male\n",
		"NaN age":         "file,age,gender\na.jpg,NaN,male\n",
		"bad gender":      "file,age,gender\na.jpg,30,x\n",
		"absolute path":   "file,age,gender\n/etc/a.jpg,30,male\n",
		"escaping path":   "file,age,gender\n../a.jpg,30,male\n",
		"duplicate":       "file,age,gender\na.jpg,30,male\na.jpg,31,male\n",
		"short row":       "file,age,gender\na.jpg,30\n",
		"unquoted quotes": "file,age,gender\na\"b.jpg,30,male\n",
	} {
		if l, err := ReadAgeLabels(strings.NewReader(bad)); err == nil {
			t.Errorf("%s: accepted, got %+v", name, l)
		}
	}
}

// TestAgeLabelsFile: the committed labels file parses, holds at least 60 identities and 15
// women, adults only, and every photo it names is in shared/faces.
func TestAgeLabelsFile(t *testing.T) {
	ls, err := ReadAgeLabelsFile("testdata/lfw_age_gender.csv")
	if err != nil {
		t.Fatal(err)
	}
	ids, women := map[string]bool{}, map[string]bool{}
	for _, l := range ls {
		ids[l.Identity()] = true
		if l.Gender == "female" {
			women[l.Identity()] = true
		}
		if l.Age < 18 || l.Age > 90 {
			t.Errorf("%s: age %v", l.File, l.Age)
		}
	}
	if len(ids) < 60 || len(women) < 15 {
		t.Errorf("%d identities, %d women: want at least 60 and 15", len(ids), len(women))
	}
	halves := splitHalves(ls)
	n := [2]int{}
	for _, h := range halves {
		n[h]++
	}
	if d := n[0] - n[1]; d < 0 || d > 1 {
		t.Errorf("halves of %d and %d identities", n[0], n[1])
	}
	faces := modeltest.FacesDir(t)
	missing := 0
	for _, l := range ls {
		if _, err := os.Stat(faces + "/" + l.File); err != nil {
			missing++
			if missing < 5 {
				t.Error(err)
			}
		}
	}
	if missing > 0 {
		t.Errorf("%d of %d photos missing", missing, len(ls))
	}
	t.Logf("%d photos of %d identities (%d women), halves %d/%d", len(ls), len(ids), len(women), n[0], n[1])
}

func TestShrinkImage(t *testing.T) {
	// A 4×2 image of two flat halves shrinks to their means; a flat image stays flat.
	img := &embed.Image{W: 4, H: 2, Pix: []uint8{
		10, 20, 30, 10, 20, 30, 200, 100, 0, 200, 100, 0,
		10, 20, 30, 10, 20, 30, 200, 100, 0, 200, 100, 0}}
	got := shrinkImage(img, 0.5)
	if got.W != 2 || got.H != 1 || !bytes.Equal(got.Pix, []uint8{10, 20, 30, 200, 100, 0}) {
		t.Fatalf("got %dx%d %v", got.W, got.H, got.Pix)
	}
	flat := &embed.Image{W: 250, H: 250, Pix: bytes.Repeat([]uint8{7, 99, 250}, 250*250)}
	for _, f := range []float64{0.6, 0.37, 0.22} {
		s := shrinkImage(flat, f)
		if s.W != int(math.Round(250*f)) || !bytes.Equal(s.Pix, bytes.Repeat([]uint8{7, 99, 250}, s.W*s.H)) {
			t.Fatalf("×%v: %dx%d not flat", f, s.W, s.H)
		}
	}
	for _, tc := range [][2]int{{250, 150}, {250, 93}, {7, 3}} {
		for d, taps := range areaTaps(tc[0], tc[1]) {
			sum := 0.0
			for _, tp := range taps {
				sum += tp.w
			}
			if math.Abs(sum-1) > 1e-9 {
				t.Fatalf("%d→%d output %d: weights sum to %v", tc[0], tc[1], d, sum)
			}
		}
	}
}

// TestRunAge runs the benchmark on a handful of labelled LFW photos at two crop scales, with a
// shrink pass, and checks its bookkeeping: counts, halves, bands, the chosen row, the JSON.
func TestRunAge(t *testing.T) {
	if err := ort.Init(ort.Config{Library: modeltest.ORTLibrary(t), IntraOpThreads: 1}); err != nil {
		t.Fatal(err)
	}
	ec := embed.DefaultConfig()
	ec.ModelsDir, ec.Manifest = modeltest.ModelsDir(t), models.Default()
	p, err := embed.Open(ec)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	var ests []*attributes.Estimator
	for _, s := range []float64{1, 1.2} {
		ac := attributes.DefaultConfig()
		ac.ModelsDir, ac.CropScale = ec.ModelsDir, s
		e, err := attributes.Open(ac)
		if err != nil {
			t.Fatal(err)
		}
		defer e.Close()
		ests = append(ests, e)
	}
	labels, err := ReadAgeLabels(strings.NewReader(`file,age,gender
Anna_Kournikova/Anna_Kournikova_0002.jpg,21,female
Anna_Kournikova/Anna_Kournikova_0009.jpg,21,female
Colin_Powell/Colin_Powell_0081.jpg,65,male
Meryl_Streep/Meryl_Streep_0002.jpg,53,female
Adam_Sandler/Adam_Sandler_0001.jpg,36,male
Nobody/missing.jpg,40,male
`))
	if err != nil {
		t.Fatal(err)
	}
	var log strings.Builder
	rows, err := RunAge(AgeConfig{Labels: labels, Root: modeltest.FacesDir(t), Pipeline: p, Estimators: ests,
		Shrink: []float64{0.5, 0.25}, Threads: 2, Source: "test", Log: &log})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[0].CropScale != 1 || rows[1].CropScale != 1.2 {
		t.Fatalf("rows %+v", rows)
	}
	if !strings.Contains(log.String(), "missing.jpg") {
		t.Errorf("the missing photo was not logged:\n%s", log.String())
	}
	chosen := 0
	for _, r := range rows {
		// identities in name order: Adam_Sandler, Anna_Kournikova, Colin_Powell, Meryl_Streep, Nobody;
		// the selection half holds Adam, Colin and Nobody (whose photo is missing)
		if r.Images != 6 || r.Detected != 5 || r.Failed != 1 || r.All.Faces != 5 || r.All.Identities != 4 ||
			r.Selection.Faces != 2 || r.HeldOut.Faces != 3 || r.Selection.Identities != 2 {
			t.Errorf("scale %.1f: counts %+v", r.CropScale, r)
		}
		if !(r.All.MAE >= 0 && r.All.MAE < 40) || r.All.GenderAcc < 0.8 || r.ImagesPerS <= 0 || r.EstimateMs <= 0 {
			t.Errorf("scale %.1f: implausible figures %+v", r.CropScale, r.All)
		}
		n := 0
		for _, b := range r.ByBand {
			n += b.Faces
		}
		if n != 5 || len(r.ByBand) != 4 { // 18-24, 35-44, 45-54, 65+
			t.Errorf("scale %.1f: bands %+v", r.CropScale, r.ByBand)
		}
		if r.Chosen {
			chosen++
			if len(r.Shrink) != 2 || r.Shrink[0].Detected+r.Shrink[0].Failed != 5 || r.Shrink[0].MedianFace >= r.MedianFace {
				t.Errorf("shrink rows %+v", r.Shrink)
			}
		} else if len(r.Shrink) != 0 {
			t.Errorf("shrink rows on the row not chosen")
		}
	}
	if chosen != 1 || rows[0].Chosen != (rows[0].Selection.MAE <= rows[1].Selection.MAE) {
		t.Errorf("chosen: %v %v with selection MAE %.2f %.2f", rows[0].Chosen, rows[1].Chosen, rows[0].Selection.MAE, rows[1].Selection.MAE)
	}
	var out strings.Builder
	if err := WriteAgeTable(&out, rows); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"crop scale", "MAE", "gender", "65+", "flagged", "throughput", "small faces"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, out.String())
		}
	}
	b, err := json.Marshal(rows[0])
	if err != nil {
		t.Fatal(err)
	}
	var back AgeResult
	if err := json.Unmarshal(b, &back); err != nil || back.All != rows[0].All {
		t.Errorf("JSON round trip: %v, %+v", err, back.All)
	}
	t.Log("\n" + out.String())
}
