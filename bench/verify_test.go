package bench

import (
	"math"
	"strings"
	"testing"
)

func TestReadPairs(t *testing.T) {
	got, err := ReadPairs(strings.NewReader("same,left,right,extra\n1,a/1.jpg,a/2.jpg,x\n0, a/1.jpg ,b/1.jpg,y\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := []Pair{{"a/1.jpg", "a/2.jpg", true}, {"a/1.jpg", "b/1.jpg", false}}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	for _, bad := range []string{
		"",                           // no header
		"left,right\na,b\n",          // no same column
		"left,right,same\n",          // no rows
		"left,right,same\na,b,2\n",   // bad label
		"left,right,same\na,,1\n",    // empty name
		"left,right,same\na,b\n",     // short row
		"left,right,same\n\"a,b,1\n", // broken quoting
	} {
		if _, err := ReadPairs(strings.NewReader(bad)); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

// TestVerifyByHand checks each figure on a set small enough to work out on paper.
func TestVerifyByHand(t *testing.T) {
	scores := []float64{0.9, 0.8, 0.7, 0.3, 0.5, 0.2, 0.1, 0.0}
	same := []bool{true, true, true, true, false, false, false, false}
	v, err := Verify(scores, same)
	if err != nil {
		t.Fatal(err)
	}
	// Accepting the top three (cut between 0.7 and 0.5) gets 3 + 4 = 7 of 8 right.
	if v.Accuracy != 7.0/8 || math.Abs(v.BestThreshold-0.6) > 1e-12 {
		t.Errorf("accuracy %v at %v, want 0.875 at 0.6", v.Accuracy, v.BestThreshold)
	}
	// 4 impostors: FAR 1e-2 allows none, so the threshold is the top impostor (0.5) and genuine
	// scores strictly above it pass: 3 of 4.
	for _, r := range v.TARAtFAR {
		if r.ImpostorsAllowed != 0 || r.Threshold != 0.5 || r.TAR != 0.75 {
			t.Errorf("FAR %g: %+v, want TAR 0.75 at 0.5 with none allowed", r.FAR, r)
		}
	}
	// At t=0.5: FAR = 1/4 (0.5 >= 0.5), FRR = 1/4 (0.3 < 0.5): equal, EER 0.25.
	if v.EER != 0.25 || v.EERThreshold != 0.5 {
		t.Errorf("EER %v at %v, want 0.25 at 0.5", v.EER, v.EERThreshold)
	}
	if v.Genuine != 4 || v.Impostor != 4 || math.Abs(v.MeanGenuine-0.675) > 1e-12 || math.Abs(v.MeanImpostor-0.2) > 1e-12 {
		t.Errorf("counts/means: %+v", v)
	}
}

func TestVerifySeparableAndTies(t *testing.T) {
	v, err := Verify([]float64{0.6, 0.6, 0.1, 0.1}, []bool{true, true, false, false})
	if err != nil {
		t.Fatal(err)
	}
	if v.Accuracy != 1 || v.BestThreshold != 0.35 || v.EER != 0 {
		t.Errorf("separable: %+v", v)
	}
	// A genuine and an impostor pair tied at 0.5 can only be accepted or rejected together.
	v, err = Verify([]float64{0.5, 0.5}, []bool{true, false})
	if err != nil {
		t.Fatal(err)
	}
	if v.Accuracy != 0.5 {
		t.Errorf("tie: accuracy %v, want 0.5", v.Accuracy)
	}
	if _, err := Verify([]float64{1}, []bool{true}); err == nil {
		t.Error("one class only: no error")
	}
	if _, err := Verify([]float64{1, 2}, []bool{true}); err == nil {
		t.Error("length mismatch: no error")
	}
}

// TestTARAtFARCountsAllowedImpostors: with 1000 impostors FAR 1e-2 lets 10 through, 1e-3 one.
func TestTARAtFARCountsAllowedImpostors(t *testing.T) {
	var scores []float64
	var same []bool
	for i := range 1000 { // impostors 0.000 .. 0.999
		scores, same = append(scores, float64(i)/1000), append(same, false)
	}
	for i := range 100 { // genuine 0.9800 .. 0.9998
		scores, same = append(scores, 0.98+float64(i)/5000), append(same, true)
	}
	v, err := Verify(scores, same)
	if err != nil {
		t.Fatal(err)
	}
	// 1e-2: 10 impostors above the threshold 0.989 → genuine above 0.989: 0.9802.. → those > 0.989.
	want := map[float64]float64{1e-2: 0.989, 1e-3: 0.998}
	for _, r := range v.TARAtFAR {
		if math.Abs(r.Threshold-want[r.FAR]) > 1e-12 {
			t.Errorf("FAR %g: threshold %v, want %v", r.FAR, r.Threshold, want[r.FAR])
		}
		n := 0
		for i := range 100 {
			if 0.98+float64(i)/5000 > r.Threshold {
				n++
			}
		}
		if r.TAR != float64(n)/100 {
			t.Errorf("FAR %g: TAR %v, want %v", r.FAR, r.TAR, float64(n)/100)
		}
	}
}

func TestThresholdTableAndFMR(t *testing.T) {
	gen := []float64{0.9, 0.5, 0.3}
	imp := []float64{0.4, 0.1, 0.3, 0.2}
	rows := ThresholdTable(gen, imp, []float64{0.3, 0.45})
	if r := rows[0]; r.FalseMatch != 2 || r.FalseReject != 0 || r.FMR != 0.5 {
		t.Errorf("at 0.3: %+v", r)
	}
	if r := rows[1]; r.FalseMatch != 0 || r.FalseReject != 1 || math.Abs(r.FNMR-1.0/3) > 1e-12 {
		t.Errorf("at 0.45: %+v", r)
	}
	if _, ok := ThresholdAtFMR(imp, 0.1); ok {
		t.Error("4 impostors cannot resolve FMR 0.1")
	}
	imp10 := []float64{0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9}
	th, ok := ThresholdAtFMR(imp10, 0.1)
	if !ok || th <= 0.8 || th > 0.8+1e-9 {
		t.Errorf("FMR 0.1 of 10: %v %v, want just above 0.8 (one impostor, 0.9, passes)", th, ok)
	}
	rows = ThresholdTable(nil, imp10, []float64{th})
	if rows[0].FalseMatch != 1 {
		t.Errorf("threshold %v lets %d through, want 1", th, rows[0].FalseMatch)
	}
}

func TestPickFace(t *testing.T) {
	faces := []faceBox{{0, 0, 50, 50, 0.99}, {80, 80, 40, 40, 0.8}, {150, 150, 100, 100, 0.9}}
	ef := toFaces(faces)
	if got := PickFace(ef, 250, 250, PickCenter); got != 1 {
		t.Errorf("center: %d, want 1", got)
	}
	if got := PickFace(ef, 250, 250, PickLargest); got != 2 {
		t.Errorf("largest: %d, want 2", got)
	}
	if got := PickFace(ef, 250, 250, PickScore); got != 0 {
		t.Errorf("score: %d, want 0", got)
	}
	if got := PickFace(nil, 250, 250, PickCenter); got != -1 {
		t.Errorf("none: %d, want -1", got)
	}
	if _, err := ParsePick("middle"); err == nil {
		t.Error("ParsePick(middle): no error")
	}
}
