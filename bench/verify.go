package bench

import (
	"cmp"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Pair is one row of a verification pairs file: two photos and whether they show one person.
type Pair struct {
	Left, Right string
	Same        bool
}

// ReadPairs parses a pairs file in the format of shared/faces/pairs.csv: a header naming the
// columns left, right and same (in any order, extra columns ignored), then one row per pair with
// same = 1 (one person) or 0.
func ReadPairs(r io.Reader) ([]Pair, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	head, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("pairs: header: %w", err)
	}
	col := map[string]int{}
	for i, h := range head {
		col[strings.ToLower(strings.TrimSpace(h))] = i
	}
	li, ok1 := col["left"]
	ri, ok2 := col["right"]
	si, ok3 := col["same"]
	if !ok1 || !ok2 || !ok3 {
		return nil, fmt.Errorf("pairs: header %q lacks left, right and same", head)
	}
	var out []Pair
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("pairs: line %d: %w", line, err)
		}
		if len(rec) <= max(li, ri, si) {
			return nil, fmt.Errorf("pairs: line %d: %d fields", line, len(rec))
		}
		var same bool
		switch strings.TrimSpace(rec[si]) {
		case "1", "true":
			same = true
		case "0", "false":
		default:
			return nil, fmt.Errorf("pairs: line %d: same is %q, want 1 or 0", line, rec[si])
		}
		l, r := strings.TrimSpace(rec[li]), strings.TrimSpace(rec[ri])
		if l == "" || r == "" {
			return nil, fmt.Errorf("pairs: line %d: empty file name", line)
		}
		out = append(out, Pair{Left: l, Right: r, Same: same})
	}
	if len(out) == 0 {
		return nil, errors.New("pairs: no rows")
	}
	return out, nil
}

// Verification holds the standard 1:1 figures of a set of scored pairs. A pair is accepted when
// its score is >= the threshold. Rates carry the counts they come from, since a rate measured on
// a few thousand impostors cannot resolve 1e-4.
type Verification struct {
	Genuine  int `json:"genuine"`
	Impostor int `json:"impostor"`

	Accuracy      float64 `json:"accuracy"`       // at the best threshold on these pairs
	BestThreshold float64 `json:"best_threshold"` // midway between the two scores it separates

	TARAtFAR []RateAt `json:"tar_at_far"` // FAR 1e-2 and 1e-3

	EER          float64 `json:"eer"`
	EERThreshold float64 `json:"eer_threshold"`

	MeanGenuine  float64 `json:"mean_score_genuine"`
	MeanImpostor float64 `json:"mean_score_impostor"`
}

// RateAt is the true-accept rate at a false-accept target: the threshold is the lowest score
// that lets at most floor(FAR·impostors) impostors through (strictly above it), as LFW tooling
// and shared/peers/opencv_peer.py compute it.
type RateAt struct {
	FAR              float64 `json:"far"`
	TAR              float64 `json:"tar"`
	Threshold        float64 `json:"threshold"`
	ImpostorsAllowed int     `json:"impostors_allowed"`
}

// Verify computes Verification from scores and labels (same[i]: pair i shows one person). Both
// classes must be present.
func Verify(scores []float64, same []bool) (Verification, error) {
	if len(scores) != len(same) {
		return Verification{}, fmt.Errorf("verify: %d scores, %d labels", len(scores), len(same))
	}
	var gen, imp []float64
	for i, s := range scores {
		if same[i] {
			gen = append(gen, s)
		} else {
			imp = append(imp, s)
		}
	}
	if len(gen) == 0 || len(imp) == 0 {
		return Verification{}, errors.New("verify: need both genuine and impostor pairs")
	}
	slices.Sort(gen)
	slices.Sort(imp)
	v := Verification{Genuine: len(gen), Impostor: len(imp), MeanGenuine: mean(gen), MeanImpostor: mean(imp)}

	// Best accuracy: accept the top j scores; cut only between distinct scores.
	type sl struct {
		s    float64
		same bool
	}
	all := make([]sl, len(scores))
	for i, s := range scores {
		all[i] = sl{s, same[i]}
	}
	slices.SortStableFunc(all, func(a, b sl) int { return cmp.Compare(b.s, a.s) })
	best, bestThr := len(imp), math.Inf(1) // reject everything
	tp, fp := 0, 0
	for j, p := range all {
		if p.same {
			tp++
		} else {
			fp++
		}
		if j+1 < len(all) && all[j+1].s == p.s {
			continue
		}
		if c := tp + len(imp) - fp; c > best {
			best = c
			if j+1 < len(all) {
				bestThr = (p.s + all[j+1].s) / 2
			} else {
				bestThr = p.s
			}
		}
	}
	v.Accuracy = float64(best) / float64(len(all))
	v.BestThreshold = bestThr

	for _, far := range []float64{1e-2, 1e-3} {
		allowed := int(math.Floor(far*float64(len(imp)) + 1e-9))
		t := math.Inf(-1)
		if allowed < len(imp) {
			t = imp[len(imp)-1-allowed]
		}
		above := len(gen) - upperBound(gen, t)
		v.TARAtFAR = append(v.TARAtFAR, RateAt{FAR: far, TAR: float64(above) / float64(len(gen)), Threshold: t, ImpostorsAllowed: allowed})
	}

	// EER: over every distinct score t, FAR(t) = P(imp >= t), FRR(t) = P(gen < t); take the t
	// where they are closest.
	bestGap := math.Inf(1)
	for _, p := range all {
		far := float64(len(imp)-lowerBound(imp, p.s)) / float64(len(imp))
		frr := float64(lowerBound(gen, p.s)) / float64(len(gen))
		if g := math.Abs(far - frr); g < bestGap {
			bestGap, v.EER, v.EERThreshold = g, (far+frr)/2, p.s
		}
	}
	return v, nil
}

// ThresholdRow is one line of a threshold table: the measured false-match rate (impostor
// pairs at or above the threshold) and false-non-match rate (genuine pairs below it).
type ThresholdRow struct {
	Threshold   float64 `json:"threshold"`
	FMR         float64 `json:"fmr"`
	FalseMatch  int     `json:"false_matches"`
	Impostors   int     `json:"impostors"`
	FNMR        float64 `json:"fnmr"`
	FalseReject int     `json:"false_non_matches"`
	Genuine     int     `json:"genuine"`
}

// ThresholdTable measures FMR and FNMR at each threshold. gen and imp need not be sorted.
func ThresholdTable(gen, imp []float64, thresholds []float64) []ThresholdRow {
	g, m := slices.Clone(gen), slices.Clone(imp)
	slices.Sort(g)
	slices.Sort(m)
	rows := make([]ThresholdRow, 0, len(thresholds))
	for _, t := range thresholds {
		fm := len(m) - lowerBound(m, t)
		fr := lowerBound(g, t)
		rows = append(rows, ThresholdRow{Threshold: t, FalseMatch: fm, Impostors: len(m), FMR: ratio(fm, len(m)),
			FalseReject: fr, Genuine: len(g), FNMR: ratio(fr, len(g))})
	}
	return rows
}

// ThresholdAtFMR returns the lowest threshold whose measured FMR on imp is <= fmr (every
// impostor score is then strictly below it, except at most floor(fmr·len) of them), and false
// when imp is too small to resolve fmr (fewer than 1/fmr scores).
func ThresholdAtFMR(imp []float64, fmr float64) (float64, bool) {
	if len(imp) == 0 || float64(len(imp))*fmr < 1 {
		return 0, false
	}
	m := slices.Clone(imp)
	slices.Sort(m)
	allowed := int(math.Floor(fmr*float64(len(m)) + 1e-9))
	// Scores >= t count as matches, so t just above the (allowed+1)-th highest lets exactly
	// `allowed` through.
	return math.Nextafter(m[len(m)-1-allowed], math.Inf(1)), true
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

func mean(v []float64) float64 {
	var s float64
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}

// lowerBound is the number of elements of sorted v below x.
func lowerBound(v []float64, x float64) int {
	i, _ := slices.BinarySearch(v, x)
	return i
}

// upperBound is the number of elements of sorted v at or below x.
func upperBound(v []float64, x float64) int {
	i, found := slices.BinarySearch(v, x)
	for found && i < len(v) && v[i] == x {
		i++
	}
	return i
}

// formatRate prints a rate with its counts, e.g. "1.2e-03 (7/5982)".
func formatRate(r float64, num, den int) string {
	return strconv.FormatFloat(r, 'e', 1, 64) + fmt.Sprintf(" (%d/%d)", num, den)
}
