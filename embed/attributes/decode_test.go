package attributes

import (
	"math"
	"testing"
)

// TestDecode: the outputs' meaning (age/100; prob[0] female, prob[1] male, per the manifest),
// rounding, bands and the out-of-range flag at the model's floor and ceiling.
func TestDecode(t *testing.T) {
	for _, tc := range []struct {
		age, pf, pm float32 // model outputs: age_conv3, prob
		want        Result
	}{
		{0.3449, 0.1, 0.9, Result{Age: 34, Band: "25-34", Gender: "male", GenderProb: 0.9}},
		{0.3451, 0.8, 0.2, Result{Age: 35, Band: "35-44", Gender: "female", GenderProb: 0.8}},
		{0.2099, 0.5, 0.5, Result{Age: 21, Band: "18-24", Gender: "male", GenderProb: 0.5, OutOfRange: true}},
		{0.2101, 0.6, 0.4, Result{Age: 21, Band: "18-24", Gender: "female", GenderProb: 0.6}},
		{0.6499, 0.3, 0.7, Result{Age: 65, Band: "65+", Gender: "male", GenderProb: 0.7}},
		{0.65, 0.3, 0.7, Result{Age: 65, Band: "65+", Gender: "male", GenderProb: 0.7, OutOfRange: true}},
		{0.12, 0.3, 0.7, Result{Age: 12, Band: "", Gender: "male", GenderProb: 0.7, OutOfRange: true}},
		{0.9, 0.99, 0.01, Result{Age: 90, Band: "65+", Gender: "female", GenderProb: 0.99, OutOfRange: true}},
	} {
		var got Result
		if err := decode([][]float32{{tc.age}, {tc.pf, tc.pm}}, &got, "m"); err != nil {
			t.Fatal(err)
		}
		tc.want.RawAge, tc.want.Female = tc.age*100, tc.pf
		if got != tc.want {
			t.Errorf("outputs %v %v %v: %+v, want %+v", tc.age, tc.pf, tc.pm, got, tc.want)
		}
	}
	nan := float32(math.NaN())
	for _, outs := range [][][]float32{
		{{0.3}}, {{0.3}, {0.5}}, {{0.3, 0.1}, {0.5, 0.5}}, {{nan}, {0.5, 0.5}}, {{0.3}, {nan, 0.5}},
	} {
		var r Result
		if err := decode(outs, &r, "m"); err == nil {
			t.Errorf("outputs %v: decoded %+v", outs, r)
		}
	}
}
