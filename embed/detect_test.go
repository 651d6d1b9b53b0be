package embed

import (
	"cmp"
	"encoding/csv"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"vigil/models"
	"vigil/models/modeltest"
	"vigil/models/onnxedit"
	"vigil/models/ort"
)

// Real photos are read in place from shared/faces, never copied into the repo.
const (
	obama1080p = "_special/resolution/obama-1080p.jpg"
	derived    = "_special/derived/"
)

// yunetPath writes the installed YuNet 2023mar with symbolic spatial dims (what the product gets
// from the manifest) into a temp dir and returns its path.
func yunetPath(t testing.TB) string {
	t.Helper()
	if err := ort.Init(ort.Config{Library: modeltest.ORTLibrary(t)}); err != nil {
		t.Fatal(err)
	}
	e, err := models.Default().Get("yunet-2023mar")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(e.Path(modeltest.ModelsDir(t)))
	if err != nil {
		t.Fatal(err)
	}
	edited, _, err := onnxedit.DynamicBatch(raw, onnxedit.Options{Spatial: true})
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "yunet-2023mar-dyn.onnx")
	if err := os.WriteFile(p, edited, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// newTestDetector opens YuNet 2023mar, or the manifest detector VIGIL_TEST_DETECTOR names (the
// measurements below run on either).
func newTestDetector(t testing.TB) *Detector {
	t.Helper()
	return openTestDetector(t, cmp.Or(os.Getenv("VIGIL_TEST_DETECTOR"), "yunet-2023mar"))
}

func openTestDetector(t testing.TB, name string) *Detector {
	t.Helper()
	switch name {
	case "yunet-2023mar":
		d, err := OpenDetector(yunetPath(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { d.Close() })
		return d
	case "yunet-2022mar":
		return newTestDetector2022(t)
	case shippedDetector: // as embed.DefaultConfig: 2023mar finds the faces, 2022mar places their landmarks
		d := openTestDetector(t, "yunet-2023mar")
		d.marks = newTestDetector2022(t)
		return d
	}
	t.Fatalf("no test detector %q", name)
	return nil
}

// testDetectors are the manifest's detectors, and the pair the pipeline ships with (see
// embed.DefaultConfig's Landmarker); the behaviour tests run on each.
var testDetectors = []string{"yunet-2023mar", "yunet-2022mar", shippedDetector}

const shippedDetector = "yunet-2023mar+2022mar-landmarks"

// forEachDetector runs fn as a subtest per detector.
func forEachDetector(t *testing.T, fn func(t *testing.T, d *Detector, name string)) {
	for _, name := range testDetectors {
		t.Run(name, func(t *testing.T) { fn(t, openTestDetector(t, name), name) })
	}
}

// photo decodes a file under shared/faces.
func photo(t testing.TB, rel string) *Image {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(modeltest.FacesDir(t), rel))
	if err != nil {
		t.Fatal(err)
	}
	img, err := Decode(b, Limits{})
	if err != nil {
		t.Fatalf("%s: %v", rel, err)
	}
	return img
}

// pairsPhotos lists every photo pairs.csv references, sorted (2,417 LFW photos).
func pairsPhotos(t testing.TB) []string {
	t.Helper()
	f, err := os.Open(filepath.Join(modeltest.FacesDir(t), "pairs.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, r := range rows[1:] {
		seen[r[0]], seen[r[1]] = true, true
	}
	out := make([]string, 0, len(seen))
	for p := range seen {
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}

// every returns each n-th element: the deterministic subsets of the default test run.
func every[T any](s []T, n int) []T {
	var out []T
	for i := 0; i < len(s); i += n {
		out = append(out, s[i])
	}
	return out
}

// centred returns the face nearest the image centre (LFW labels that one).
func centred(faces []Face, img *Image) Face {
	best, bd := faces[0], math.Inf(1)
	for _, f := range faces {
		dx := float64(f.Box[0]+f.Box[2]/2) - float64(img.W)/2
		dy := float64(f.Box[1]+f.Box[3]/2) - float64(img.H)/2
		if dd := dx*dx + dy*dy; dd < bd {
			best, bd = f, dd
		}
	}
	return best
}

// checkUpright asserts the landmark layout of an upright face: eyes above the nose above the
// mouth, and the subject's right eye and mouth corner at the smaller x.
func checkUpright(t *testing.T, name string, f Face) {
	t.Helper()
	l := f.Landmarks
	eyeY, mouthY := (l[0][1]+l[1][1])/2, (l[3][1]+l[4][1])/2
	if !(eyeY < l[2][1] && l[2][1] < mouthY && l[0][0] < l[1][0] && l[3][0] < l[4][0]) {
		t.Errorf("%s: landmarks %v not an upright face", name, l)
	}
	for _, p := range l {
		if p[0] < f.Box[0]-5 || p[0] > f.Box[0]+f.Box[2]+5 || p[1] < f.Box[1]-5 || p[1] > f.Box[1]+f.Box[3]+5 {
			t.Errorf("%s: landmark %v outside box %v", name, p, f.Box)
		}
	}
}

// TestDetectLFW: a deterministic 1-in-25 subset of the pairs.csv photos (the full run is
// TestDetectPairsFull). Each must give its centred face, upright, sorted by score.
func TestDetectLFW(t *testing.T) { forEachDetector(t, testDetectLFW) }

func testDetectLFW(t *testing.T, d *Detector, _ string) {
	opt := DefaultDetectOptions()
	ps := every(pairsPhotos(t), 25)
	for _, p := range ps {
		img := photo(t, p)
		faces, err := d.Detect(img, opt)
		if err != nil {
			t.Errorf("%s: %v", p, err)
			continue
		}
		if !slices.IsSortedFunc(faces, func(a, b Face) int { return -cmpF(a.Score, b.Score) }) {
			t.Errorf("%s: faces not sorted by score", p)
		}
		f := centred(faces, img)
		cx, cy := f.Box[0]+f.Box[2]/2, f.Box[1]+f.Box[3]/2
		if math.Abs(float64(cx-125)) > 30 || math.Abs(float64(cy-125)) > 35 || f.Box[3] < 70 || f.Box[3] > 200 || f.Angle != 0 {
			t.Errorf("%s: centred face %+v, want a 70-200 px face near (125,125)", p, f)
		}
		checkUpright(t, p, f)
	}
	t.Logf("%d photos", len(ps))
}

func cmpF(a, b float32) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// TestDetectPairsFull measures the detection rate over every photo pairs.csv references (about
// 20 s on 2 cores; the brief asks ≥ 99.5%). VIGIL_DETECT_FULL=1 enables it.
func TestDetectPairsFull(t *testing.T) {
	if os.Getenv("VIGIL_DETECT_FULL") == "" {
		t.Skip("set VIGIL_DETECT_FULL=1 for the full pairs.csv run (TestDetectLFW runs a subset)")
	}
	d := newTestDetector(t)
	ps := pairsPhotos(t)
	found := 0
	lowest := float32(1)
	for _, p := range ps {
		img := photo(t, p)
		faces, err := d.Detect(img, DefaultDetectOptions())
		if err != nil {
			t.Logf("%s: %v", p, err)
			continue
		}
		found++
		lowest = min(lowest, centred(faces, img).Score)
	}
	rate := float64(found) / float64(len(ps))
	t.Logf("faces found in %d of %d photos (%.2f%%); lowest centred-face score %.3f", found, len(ps), 100*rate, lowest)
	if rate < 0.995 {
		t.Fatalf("detection rate %.2f%%, want >= 99.5%%", 100*rate)
	}
}

func TestDetectMultiFace(t *testing.T) { forEachDetector(t, testDetectMultiFace) }

func testDetectMultiFace(t *testing.T, d *Detector, _ string) {
	for _, c := range []struct {
		rel      string
		min, max int
	}{
		{"_special/multi_face/multiface.jpg", 6, 6},
		{"_special/multi_face/two_people.jpg", 2, 2},
		{"_special/multi_face/kit_with_rose.jpg", 2, 2},
		{"_special/multi_face/Abdel_Nasser_Assidi_0002.jpg", 2, 2},
		{"_special/multi_face/obama_and_biden.jpg", 2, 4},       // two large faces, one smaller behind
		{"_special/multi_face/Alejandro_Toledo_0028.jpg", 3, 4}, // crowd; one more is under 32 px
	} {
		img := photo(t, c.rel)
		faces, err := d.Detect(img, DefaultDetectOptions())
		if err != nil || len(faces) < c.min || len(faces) > c.max {
			t.Errorf("%s: %d faces, %v; want %d-%d", c.rel, len(faces), err, c.min, c.max)
			continue
		}
		for i, f := range faces {
			checkUpright(t, c.rel, f)
			for _, g := range faces[:i] {
				if iou(f.Box, g.Box) > DefaultDetectOptions().NMSThreshold {
					t.Errorf("%s: boxes %v and %v overlap past NMS", c.rel, f.Box, g.Box)
				}
			}
		}
	}
}

// TestDetectNoFace: the no-face photos give ErrNoFace, upright and with the rotation search, but
// for YuNet 2022mar's known false faces: the cat in chelsea.png at 0.78, above any threshold that
// keeps every LFW face (the lowest scores 0.70; see DefaultDetectOptions), and
// hubble_deep_field.jpg turned, at 0.68–0.71 depending on the JPEG decoder. The shipped pair
// leaves the decision to 2023mar and finds none.
func TestDetectNoFace(t *testing.T) { forEachDetector(t, testDetectNoFace) }

func testDetectNoFace(t *testing.T, d *Detector, name string) {
	files, _ := filepath.Glob(filepath.Join(modeltest.FacesDir(t), "_special", "no_face", "*"))
	if len(files) == 0 {
		t.Fatal("no _special/no_face photos")
	}
	for _, f := range files {
		rel, _ := filepath.Rel(modeltest.FacesDir(t), f)
		img := photo(t, rel)
		for _, rot := range []bool{false, true} {
			opt := DefaultDetectOptions()
			opt.TryRotations = rot
			faces, err := d.Detect(img, opt)
			if name == "yunet-2022mar" && (filepath.Base(rel) == "chelsea.png" || rot && filepath.Base(rel) == "hubble_deep_field.jpg") {
				if err == nil {
					t.Logf("%s (rotations %v): %d faces, best %.3f (known: 2022mar's false faces)", rel, rot, len(faces), faces[0].Score)
				}
				continue
			}
			if !errors.Is(err, ErrNoFace) {
				t.Errorf("%s (rotations %v): %d faces, err %v; want ErrNoFace", rel, rot, len(faces), err)
			}
		}
	}
}

// TestDetectSmallFaces: faces found but under MinFaceSize give ErrFaceTooSmall, and the second
// look at a larger scale finds the 60-px LFW tile (a ~28-px face) on a 1600×1200 canvas.
func TestDetectSmallFaces(t *testing.T) { forEachDetector(t, testDetectSmallFaces) }

func testDetectSmallFaces(t *testing.T, d *Detector, _ string) {
	for _, who := range []string{"Arnold_Schwarzenegger_0011", "Colin_Powell_0153"} {
		img := photo(t, derived+who+"__tinyface_in_1600x1200.jpg")
		if _, err := d.Detect(img, DefaultDetectOptions()); !errors.Is(err, ErrFaceTooSmall) {
			t.Errorf("%s tinyface: %v, want ErrFaceTooSmall", who, err)
		}
		opt := DefaultDetectOptions()
		opt.MinFaceSize = 0
		faces, err := d.Detect(img, opt)
		if err != nil {
			t.Fatalf("%s tinyface, no minimum size: %v", who, err)
		}
		f := faces[0] // the tile was pasted at (1200, 300)
		if f.Box[0] < 1195 || f.Box[0]+f.Box[2] > 1265 || f.Box[1] < 295 || f.Box[1]+f.Box[3] > 365 {
			t.Errorf("%s tinyface: face %v, want inside the tile at (1200,300)-(1260,360)", who, f.Box)
		}
		checkUpright(t, who+" tinyface", f)

		img = photo(t, derived+who+"__small48.jpg") // the whole photo at 48×48: a ~22-px face
		if _, err := d.Detect(img, DefaultDetectOptions()); !errors.Is(err, ErrFaceTooSmall) {
			t.Errorf("%s small48: %v, want ErrFaceTooSmall", who, err)
		}
		img = photo(t, derived+who+"__small24.jpg")
		if _, err := d.Detect(img, DefaultDetectOptions()); !errors.Is(err, ErrFaceTooSmall) && !errors.Is(err, ErrNoFace) {
			t.Errorf("%s small24: %v, want ErrFaceTooSmall or ErrNoFace", who, err)
		}
	}
}

// TestDetectLargePhoto: a 1920×1080 photo is detected on a 640×360 copy; the result must be in
// source pixels, agreeing with the same face detected at twice that resolution (where 2022mar
// also reports a small face in the background).
func TestDetectLargePhoto(t *testing.T) { forEachDetector(t, testDetectLargePhoto) }

func testDetectLargePhoto(t *testing.T, d *Detector, _ string) {
	img := photo(t, obama1080p)
	faces, err := d.Detect(img, DefaultDetectOptions())
	if err != nil || len(faces) != 1 {
		t.Fatalf("%d faces, %v; want 1", len(faces), err)
	}
	ref, err := d.detectAt(img, 1280, DefaultDetectOptions())
	if err != nil || len(ref) == 0 {
		t.Fatalf("at 1280: %d faces, %v", len(ref), err)
	}
	f, r := faces[0], slices.MaxFunc(ref, func(a, b Face) int { return cmpF(iou(a.Box, faces[0].Box), iou(b.Box, faces[0].Box)) })
	checkUpright(t, obama1080p, f)
	for k := range f.Landmarks {
		if d := math.Hypot(float64(f.Landmarks[k][0]-r.Landmarks[k][0]), float64(f.Landmarks[k][1]-r.Landmarks[k][1])); d > 0.05*float64(r.Box[3]) {
			t.Errorf("landmark %d: %v at 640, %v at 1280 (%.1f px apart)", k, f.Landmarks[k], r.Landmarks[k], d)
		}
	}
	if iou(f.Box, r.Box) < 0.85 {
		t.Errorf("box %v at 640, %v at 1280", f.Box, r.Box)
	}
}

// TestDetectRotations: the derived photos turned 90° either way or 180° give no face upright
// with 2023mar (it scores them under 0.6; 2022mar does find "faces" there, up to 1.0, so a photo
// whose orientation was lost needs TryRotations with it) and, with TryRotations, the right Angle
// and landmarks in the turned photo's own coordinates: they match the upright photo's, turned,
// and the pipeline's crop (Align of alignLandmarks) is the same from either.
func TestDetectRotations(t *testing.T) { forEachDetector(t, testDetectRotations) }

func testDetectRotations(t *testing.T, d *Detector, det string) {
	var a, b Image
	for _, who := range []string{"Arnold_Schwarzenegger_0011", "Colin_Powell_0153"} {
		up := photo(t, derived+who+"__png.png")
		ref, err := d.Detect(up, DefaultDetectOptions())
		if err != nil {
			t.Fatal(err)
		}
		Align(up, ref[0].alignLandmarks(), &a)
		W, H := float32(up.W), float32(up.H)
		for _, c := range []struct {
			variant string
			angle   int
			turn    func(x, y float32) (float32, float32) // upright → turned photo, centres at integers
		}{
			{"rot90cw", 90, func(x, y float32) (float32, float32) { return H - 1 - y, x }},
			{"rot180", 180, func(x, y float32) (float32, float32) { return W - 1 - x, H - 1 - y }},
			{"rot90ccw", 270, func(x, y float32) (float32, float32) { return y, W - 1 - x }},
		} {
			name := who + "__" + c.variant
			img := photo(t, derived+name+".jpg")
			if faces, err := d.Detect(img, DefaultDetectOptions()); det == "yunet-2022mar" && err == nil {
				t.Logf("%s upright only: %d faces, best %.3f", name, len(faces), faces[0].Score)
			} else if !errors.Is(err, ErrNoFace) {
				t.Errorf("%s upright only: %d faces, %v; want ErrNoFace", name, len(faces), err)
			}
			opt := DefaultDetectOptions()
			opt.TryRotations = true
			faces, err := d.Detect(img, opt)
			if err != nil {
				t.Errorf("%s with rotations: %v", name, err)
				continue
			}
			f := faces[0]
			if f.Angle != c.angle {
				t.Errorf("%s: angle %d, want %d", name, f.Angle, c.angle)
			}
			worst := 0.0
			for k, p := range ref[0].Landmarks {
				x, y := c.turn(p[0], p[1])
				worst = max(worst, math.Hypot(float64(f.Landmarks[k][0]-x), float64(f.Landmarks[k][1]-y)))
			}
			Align(img, f.alignLandmarks(), &b)
			mean, _ := pixDiff(a.Pix, b.Pix)
			if worst > 1 || mean > 4 {
				t.Errorf("%s: landmarks up to %.1f px from the upright photo's, crops differ by %.1f levels on average", name, worst, mean)
			}
			t.Logf("%s: score %.2f, angle %d, landmarks within %.1f px of the upright photo's, crop mean |diff| %.1f", name, f.Score, f.Angle, worst, mean)
		}
	}
}

// TestLandmarker: with a landmarker (the shipped pair), Detect keeps the detector's faces, boxes
// and scores and takes the landmarks of the landmarker's own best-overlapping face.
func TestLandmarker(t *testing.T) {
	both := openTestDetector(t, shippedDetector)
	boxes := openTestDetector(t, "yunet-2023mar")
	marks := newTestDetector2022(t)
	lowMarks := DefaultDetectOptions()
	lowMarks.ScoreThreshold = landmarkScore
	moved, kept := 0, 0
	for _, p := range append(every(pairsPhotos(t), 60), "_special/multi_face/multiface.jpg", obama1080p) {
		img := photo(t, p)
		got, err := both.Detect(img, DefaultDetectOptions())
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		want, err := boxes.Detect(img, DefaultDetectOptions())
		if err != nil || len(want) != len(got) {
			t.Fatalf("%s: %d faces with the landmarker, %d (%v) without", p, len(got), len(want), err)
		}
		other, err := marks.Detect(img, lowMarks)
		if err != nil {
			t.Fatalf("%s: landmarker alone: %v", p, err)
		}
		for i, f := range got {
			if f.Box != want[i].Box || f.Score != want[i].Score {
				t.Errorf("%s face %d: box %v score %.3f, detector alone %v %.3f", p, i, f.Box, f.Score, want[i].Box, want[i].Score)
			}
			g := slices.MaxFunc(other, func(a, b Face) int { return cmpF(iou(f.Box, a.Box), iou(f.Box, b.Box)) })
			if iou(f.Box, g.Box) < landmarkIoU { // the landmarker missed it: the detector's own stay
				if f.Landmarks != want[i].Landmarks {
					t.Errorf("%s face %d: landmarks %v, want the detector's own %v", p, i, f.Landmarks, want[i].Landmarks)
				}
				if f == centred(got, img) && strings.Contains(p, "/") && !strings.HasPrefix(p, "_") {
					t.Errorf("%s: the landmarker missed the central LFW face", p)
				}
				kept++
				continue
			}
			// The landmarker ran on the same scaled copy in both calls: equal up to float rounding.
			for k := range f.Landmarks {
				if math.Hypot(float64(f.Landmarks[k][0]-g.Landmarks[k][0]), float64(f.Landmarks[k][1]-g.Landmarks[k][1])) > 1e-3 {
					t.Errorf("%s face %d: landmark %d at %v, the landmarker's %v", p, i, k, f.Landmarks[k], g.Landmarks[k])
				}
			}
			if f.Landmarks != want[i].Landmarks {
				moved++
			}
		}
	}
	if moved == 0 {
		t.Error("no landmark moved: the landmarker did not run")
	}
	t.Logf("%d faces took the landmarker's landmarks, %d (background faces it missed) kept their own", moved, kept)
}

// TestLandmarkerWindows: where the faces are small in the view, the landmarker looks at a window
// around each rather than the whole view (LFW photos placed in a 1280×960 brick wall: a ~55 px
// face in the 640×480 view). YuNet's landmarks move with what else it sees: the window's sit
// ~7% of the eye distance from a whole-view look's on average (1.5 px in the view), up to ~26%.
// Neither is the truth, and they verify equally well (TestMeasureLandmarkerWindows); the bounds
// here catch a window misplaced or mapped back wrong, which moves them by a whole eye distance.
func TestLandmarkerWindows(t *testing.T) {
	both := openTestDetector(t, shippedDetector)
	marks := newTestDetector2022(t)
	lowMarks := DefaultDetectOptions()
	lowMarks.ScoreThreshold = landmarkScore
	wall := photo(t, "_special/no_face/brick.png")
	worst, sum, n := 0.0, 0.0, 0
	for i, p := range every(pairsPhotos(t), 100) {
		img := inScene(photo(t, p), wall, 1280, 960, 100+(i*211)%800, 100+(i*157)%550)
		got, err := both.Detect(img, DefaultDetectOptions())
		if err != nil {
			t.Fatalf("%s in the wall: %v", p, err)
		}
		whole, err := marks.Detect(img, lowMarks)
		if err != nil {
			t.Fatalf("%s in the wall, landmarker alone: %v", p, err)
		}
		for _, f := range got {
			g := slices.MaxFunc(whole, func(a, b Face) int { return cmpF(iou(f.Box, a.Box), iou(f.Box, b.Box)) })
			if iou(f.Box, g.Box) < landmarkIoU {
				continue
			}
			eyes := math.Hypot(float64(g.Landmarks[1][0]-g.Landmarks[0][0]), float64(g.Landmarks[1][1]-g.Landmarks[0][1]))
			for k := range f.Landmarks {
				d := math.Hypot(float64(f.Landmarks[k][0]-g.Landmarks[k][0]), float64(f.Landmarks[k][1]-g.Landmarks[k][1])) / eyes
				worst, sum, n = max(worst, d), sum+d, n+1
			}
		}
	}
	t.Logf("%d landmarks: window against whole view, mean %.2f%%, worst %.2f%% of the eye distance", n, 100*sum/float64(n), 100*worst)
	if n < 5*20 || sum/float64(n) > 0.12 || worst > 0.4 {
		t.Errorf("%d landmarks, mean %.2f%%, worst %.2f%% of the eye distance from a whole-view look; want ≤ 12%% and ≤ 40%%", n, 100*sum/float64(n), 100*worst)
	}
}

// inScene returns a w×h photo of img at (x, y) on bg tiled.
func inScene(img, bg *Image, w, h, x, y int) *Image {
	out := &Image{W: w, H: h, Pix: make([]uint8, 3*w*h)}
	for j := range h {
		for i := range w {
			o := 3 * ((j%bg.H)*bg.W + i%bg.W)
			if i >= x && i < x+img.W && j >= y && j < y+img.H {
				o = 3 * ((j-y)*img.W + i - x)
				copy(out.Pix[3*(j*w+i):], img.Pix[o:o+3])
				continue
			}
			copy(out.Pix[3*(j*w+i):], bg.Pix[o:o+3])
		}
	}
	return out
}

// TestDetectUprightWithRotations: upright photos stay at angle 0 when the rotation search runs.
func TestDetectUprightWithRotations(t *testing.T) { forEachDetector(t, testDetectUprightWithRotations) }

func testDetectUprightWithRotations(t *testing.T, d *Detector, _ string) {
	opt := DefaultDetectOptions()
	opt.TryRotations = true
	for _, p := range every(pairsPhotos(t), 200) {
		img := photo(t, p)
		faces, err := d.Detect(img, opt)
		if err != nil || faces[0].Angle != 0 {
			t.Errorf("%s: %v, %v; want an upright face", p, faces, err)
		}
	}
}

// TestDetectCoordinateConvention backs Face's convention. Mirroring a W-wide photo maps x to
// W-1-x when pixel centres sit at integers; YuNet's raw points satisfy x + x' ≈ W instead
// (mean x + x' - W: 0.19 over all 2,417 pairs.csv photos), so they put centres at i+0.5, and
// Detect's half-pixel shift must bring the mean of x + x' - (W-1) to ~0, not to -1 or +1.
func TestDetectCoordinateConvention(t *testing.T) { forEachDetector(t, testDetectCoordinateConvention) }

func testDetectCoordinateConvention(t *testing.T, d *Detector, _ string) {
	swap := [5]int{1, 0, 2, 4, 3} // mirroring swaps the subject's right and left
	var sum float64
	n := 0
	for _, p := range every(pairsPhotos(t), 100) {
		img := photo(t, p)
		m := &Image{W: img.W, H: img.H, Pix: make([]uint8, len(img.Pix))}
		for y := 0; y < img.H; y++ {
			for x := 0; x < img.W; x++ {
				copy(m.Pix[3*(y*img.W+img.W-1-x):][:3], img.Pix[3*(y*img.W+x):][:3])
			}
		}
		a, err1 := d.Detect(img, DefaultDetectOptions())
		b, err2 := d.Detect(m, DefaultDetectOptions())
		if err1 != nil || err2 != nil {
			t.Fatalf("%s: %v %v", p, err1, err2)
		}
		fa, fb := centred(a, img), centred(b, m)
		for k := range fa.Landmarks {
			sum += float64(fa.Landmarks[k][0] + fb.Landmarks[swap[k]][0] - float32(img.W-1))
			n++
		}
	}
	if mean := sum / float64(n); math.Abs(mean) > 0.5 {
		t.Fatalf("mean x + x' - (W-1) = %.2f over %d landmarks; want ~0", mean, n)
	} else {
		t.Logf("mean x + x' - (W-1) = %.2f over %d landmarks", mean, n)
	}
}

// TestDetectMatchesOpenCV compares our YuNet decoding + NMS with gen_align_golden.py's (cv2.dnn
// running the raw network, decoded per models/MANIFEST.md §2, cv2.dnn.NMSBoxes) on the same
// 640x640 inputs. PNGs give both sides the same pixels, and only ORT vs cv2.dnn float rounding
// remains: coordinates within 1 px, scores within 0.01. JPEGs decode a level apart here and there
// (Go vs libjpeg), enough to swap two candidates whose scores tie to 3 decimals in NMS (seen on
// Alejandro_Toledo_0028: two cells of one face at 0.9257 and 0.9252, boxes 9 px apart in height),
// so there each face must match OpenCV's by IoU >= 0.8 with landmarks within 3 px.
func TestDetectMatchesOpenCV(t *testing.T) {
	g := loadAlignGolden(t)
	d := openTestDetector(t, "yunet-2023mar")
	opt := DefaultDetectOptions()
	opt.ScoreThreshold, opt.NMSThreshold = g.Detect.ScoreThreshold, g.Detect.NMSThreshold
	worst := map[bool][2]float64{} // png? → max coordinate, score diff
	for _, p := range g.Detect.Photos {
		png := strings.HasSuffix(p.Photo, ".png")
		img := photo(t, p.Photo)
		canvas := &Image{W: 640, H: 640, Pix: make([]uint8, 3*640*640)}
		for y := 0; y < min(img.H, 640); y++ {
			copy(canvas.Pix[3*640*y:], img.Pix[3*img.W*y:3*img.W*y+3*min(img.W, 640)])
		}
		got, err := d.run(canvas, opt)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(p.Faces) {
			t.Errorf("%s: %d faces, OpenCV %d", p.Photo, len(got), len(p.Faces))
			continue
		}
		for i, w := range p.Faces {
			f := got[i]
			wb := [4]float32{w[0], w[1], w[2], w[3]}
			var lm []float32
			for _, l := range f.Landmarks {
				lm = append(lm, l[0], l[1])
			}
			dBox, dLm := maxAbsDiff(f.Box[:], w[:4]), maxAbsDiff(lm, w[4:14])
			dScore := math.Abs(float64(f.Score - w[14]))
			ok := dBox <= 1 && dLm <= 1 && dScore <= 0.01
			if !png {
				ok = iou(f.Box, wb) >= 0.8 && dLm <= 3 && dScore <= 0.01
			}
			if !ok {
				t.Errorf("%s face %d: box %v landmarks %v score %.4f; OpenCV %v %v %.4f",
					p.Photo, i, f.Box, lm, f.Score, wb, w[4:14], w[14])
			}
			wv := worst[png]
			worst[png] = [2]float64{max(wv[0], dBox, dLm), max(wv[1], dScore)}
		}
	}
	t.Logf("PNG: max |coordinate diff| %.4f px, |score diff| %.4f; JPEG: %.3f px, %.4f",
		worst[true][0], worst[true][1], worst[false][0], worst[false][1])
}

func maxAbsDiff(a, b []float32) float64 {
	m := 0.0
	for i := range a {
		m = max(m, math.Abs(float64(a[i]-b[i])))
	}
	return m
}

func TestDetectBadInput(t *testing.T) { forEachDetector(t, testDetectBadInput) }

func testDetectBadInput(t *testing.T, d *Detector, _ string) {
	good := DefaultDetectOptions()
	for _, c := range []struct {
		img *Image
		opt func(*DetectOptions)
	}{
		{nil, nil},
		{&Image{W: 2, H: 2, Pix: make([]uint8, 11)}, nil},
		{&Image{W: 0, H: 2}, nil},
		{synthImage(40, 30), func(o *DetectOptions) { o.ScoreThreshold = 0 }},
		{synthImage(40, 30), func(o *DetectOptions) { o.NMSThreshold = 1.5 }},
		{synthImage(40, 30), func(o *DetectOptions) { o.MaxSide = 10 }},
		{synthImage(40, 30), func(o *DetectOptions) { o.MinFaceSize = -1 }},
		{synthImage(40, 30), func(o *DetectOptions) { o.ScoreThreshold = float32(math.NaN()) }},
	} {
		opt := good
		if c.opt != nil {
			c.opt(&opt)
		}
		if _, err := d.Detect(c.img, opt); err == nil || errors.Is(err, ErrNoFace) {
			t.Errorf("%s with %+v: err %v, want a validation error", describeImage(c.img), opt, err)
		}
	}
	// A 1×1 photo is valid input, just faceless.
	if _, err := d.Detect(&Image{W: 1, H: 1, Pix: []uint8{1, 2, 3}}, good); !errors.Is(err, ErrNoFace) {
		t.Errorf("1x1: %v, want ErrNoFace", err)
	}
}

func TestDetectorClose(t *testing.T) {
	var nilDet *Detector
	if err := nilDet.Close(); err != nil {
		t.Fatal(err)
	}
	d, err := OpenDetector(yunetPath(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Detect(synthImage(40, 30), DefaultDetectOptions()); err == nil {
		t.Fatal("Detect after Close succeeded")
	}
	// A borrowed session stays open when its Detector closes.
	s, err := ort.Open(yunetPath(t), []string{"input"}, yunetOutputs)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	b := NewDetector(s)
	b.Close()
	if _, err := NewDetector(s).Detect(photo(t, derived+"Colin_Powell_0153__png.png"), DefaultDetectOptions()); err != nil {
		t.Fatalf("session unusable after a borrowing Detector closed: %v", err)
	}
}

// The measurements behind DefaultDetectOptions and Detect's rules; VIGIL_DETECT_MEASURE=1 runs
// them (about 8 minutes on 2 cores, most of it TestDetectMeasureMinFaceSize). They log numbers
// and assert nothing.
func measuring(t *testing.T) {
	if os.Getenv("VIGIL_DETECT_MEASURE") == "" {
		t.Skip("set VIGIL_DETECT_MEASURE=1 to re-run the measurements behind the defaults")
	}
}

// TestDetectMeasureMinFaceSize: verification on pairs.csv (MobileFaceNet, the manifest's embedder)
// when the left photo of each pair is shrunk so its face box is h px tall.
func TestDetectMeasureMinFaceSize(t *testing.T) {
	measuring(t)
	d := newTestDetector(t)
	e, _ := models.Default().Get("mobilefacenet-128")
	emb, err := ort.Open(e.Path(modeltest.ModelsDir(t)), []string{e.Input.Name}, e.Outputs)
	if err != nil {
		t.Fatal(err)
	}
	defer emb.Close()
	var crop Image
	in := make([]float32, 3*AlignSize*AlignSize)
	embed := func(img *Image, f Face) []float32 {
		Align(img, f.alignLandmarks(), &crop) // as Pipeline.Embed
		for i := 0; i < AlignSize*AlignSize; i++ {
			for c := 0; c < 3; c++ {
				in[c*AlignSize*AlignSize+i] = (float32(crop.Pix[3*i+c])*e.Input.Scale - e.Input.Mean[c]) / e.Input.Std[c]
			}
		}
		out, err := emb.Run([]ort.Tensor{{Shape: []int64{1, 3, AlignSize, AlignSize}, Data: in}})
		if err != nil {
			t.Fatal(err)
		}
		v, n := out[0].Data, 0.0
		for _, x := range v {
			n += float64(x * x)
		}
		for i := range v {
			v[i] /= float32(math.Sqrt(n))
		}
		return v
	}
	f, _ := os.Open(filepath.Join(modeltest.FacesDir(t), "pairs.csv"))
	rows, _ := csv.NewReader(f).ReadAll()
	f.Close()
	opt := DefaultDetectOptions()
	opt.MinFaceSize = 0
	full, height := map[string][]float32{}, map[string]float32{}
	for _, p := range pairsPhotos(t) {
		img := photo(t, p)
		faces, err := d.Detect(img, opt)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		c := centred(faces, img)
		full[p], height[p] = embed(img, c), c.Box[3]
	}
	var rs resizer
	for _, h := range []float32{0, 48, 32, 24, 20, 16} {
		var gen, imp []float64
		small, missed := map[string][]float32{}, 0
		for _, r := range rows[1:] {
			a := full[r[0]]
			if h > 0 {
				v, ok := small[r[0]]
				if !ok {
					img, k := photo(t, r[0]), float64(h/height[r[0]])
					var s Image
					rs.resize(img, max(1, int(math.Round(float64(img.W)*k))), max(1, int(math.Round(float64(img.H)*k))), &s)
					if faces, err := d.Detect(&s, opt); err == nil {
						v = embed(&s, centred(faces, &s))
					}
					small[r[0]] = v
				}
				if a = v; a == nil {
					missed++
					continue
				}
			}
			cos := 0.0
			for i, x := range a {
				cos += float64(x * full[r[1]][i])
			}
			if r[2] == "1" {
				gen = append(gen, cos)
			} else {
				imp = append(imp, cos)
			}
		}
		acc := 0.0
		for thr := -0.2; thr < 0.9; thr += 0.01 {
			ok := 0
			for _, g := range gen {
				if g >= thr {
					ok++
				}
			}
			for _, i := range imp {
				if i < thr {
					ok++
				}
			}
			acc = max(acc, float64(ok)/float64(len(gen)+len(imp)))
		}
		slices.Sort(imp)
		tar := 0
		for _, g := range gen {
			if g > imp[len(imp)*99/100] {
				tar++
			}
		}
		t.Logf("face height %2.0f px (0 = as is): %d pairs without a face, accuracy %.2f%%, TAR@FAR=1%% %.1f%%",
			h, missed, 100*acc, 100*float64(tar)/float64(len(gen)))
	}
}

// TestDetectMeasureRotations: the upright search's best score on turned photos, and how often the
// best of four orientations is the true one (1 photo in 8 of pairs.csv, each turned 4 ways).
func TestDetectMeasureRotations(t *testing.T) {
	measuring(t)
	d := newTestDetector(t)
	opt := DefaultDetectOptions()
	opt.ScoreThreshold, opt.MinFaceSize = 0.3, 0
	var turned Image
	var upright, rotated []float64
	right, n := 0, 0
	for _, p := range every(pairsPhotos(t), 8) {
		img := photo(t, p)
		for _, a := range []int{0, 90, 180, 270} {
			v := img
			if a != 0 {
				rotateCW(img, a, &turned)
				v = &turned
			}
			o := opt
			if faces, err := d.Detect(v, o); err == nil && a == 0 {
				upright = append(upright, float64(faces[0].Score))
			} else if err == nil {
				rotated = append(rotated, float64(faces[0].Score))
			}
			o.TryRotations = true
			faces, err := d.Detect(v, o)
			if err == nil && faces[0].Angle == a {
				right++
			}
			n++
		}
	}
	slices.Sort(upright)
	slices.Sort(rotated)
	t.Logf("upright faces score %.3f-%.3f; turned photos' upright search finds a 'face' in %d of %d, scoring up to %.3f",
		upright[0], upright[len(upright)-1], len(rotated), n-len(upright), rotated[len(rotated)-1])
	t.Logf("best of four orientations is the true one for %d of %d photos", right, n)
}

// TestDetectMeasureResize compares area averaging with plain bilinear for shrinking: mosaics of LFW
// photos (faces ~20-40 px at 640) and hi-res photos against a detection at 1280 px.
func TestDetectMeasureResize(t *testing.T) {
	measuring(t)
	d := newTestDetector(t)
	opt := DefaultDetectOptions()
	opt.MinFaceSize = 0
	defer func(a float64) { areaAbove = a }(areaAbove)
	ps := pairsPhotos(t)
	near := func(faces []Face, r Face) (float64, bool) {
		for _, f := range faces {
			if iou(f.Box, r.Box) > 0.5 {
				e := 0.0
				for k := range f.Landmarks {
					e += math.Hypot(float64(f.Landmarks[k][0]-r.Landmarks[k][0]), float64(f.Landmarks[k][1]-r.Landmarks[k][1]))
				}
				return e / 5 / float64(r.Box[3]), true
			}
		}
		return 0, false
	}
	for _, grid := range []int{8, 12, 16} {
		side := 250 * grid
		img := &Image{W: side, H: side, Pix: make([]uint8, 3*side*side)}
		var truth []Face
		for k := 0; k < grid*grid; k++ {
			ph := photo(t, ps[(k*7)%len(ps)])
			gx, gy := (k%grid)*250, (k/grid)*250
			for y := 0; y < 250; y++ {
				copy(img.Pix[3*((gy+y)*side+gx):], ph.Pix[3*250*y:3*250*(y+1)])
			}
			areaAbove = 2
			fs, err := d.Detect(ph, opt)
			if err != nil {
				t.Fatal(err)
			}
			f := centred(fs, ph)
			for i := range f.Landmarks {
				f.Landmarks[i][0], f.Landmarks[i][1] = f.Landmarks[i][0]+float32(gx), f.Landmarks[i][1]+float32(gy)
			}
			f.Box[0], f.Box[1] = f.Box[0]+float32(gx), f.Box[1]+float32(gy)
			truth = append(truth, f)
		}
		for _, area := range []float64{2, math.Inf(1)} {
			areaAbove = area
			faces, _ := d.detectAt(img, 640, opt)
			found, errs := 0, []float64{}
			for _, r := range truth {
				if e, ok := near(faces, r); ok {
					found++
					errs = append(errs, e)
				}
			}
			t.Logf("mosaic %dx%d (faces ~%.0f px at 640), area above %gx: found %d/%d, landmark error %.4f face heights",
				grid, grid, 123*640/float64(side), area, found, len(truth), mean(errs))
		}
	}
	var hires []string
	for _, g := range []string{"hires_obama_biden/*", "multi_face/obama_and_biden.jpg", "multi_face/two_people.jpg",
		"multi_face/multiface.jpg", "resolution/obama-1080p.jpg", "format/*", "pose_occlusion/obama*"} {
		m, _ := filepath.Glob(filepath.Join(modeltest.FacesDir(t), "_special", g))
		hires = append(hires, m...)
	}
	errs := map[float64][]float64{}
	for _, p := range hires {
		rel, _ := filepath.Rel(modeltest.FacesDir(t), p)
		img := photo(t, rel)
		areaAbove = 2
		ref, _ := d.detectAt(img, min(max(img.W, img.H), 1280), opt)
		for _, area := range []float64{2, math.Inf(1)} {
			areaAbove = area
			faces, _ := d.detectAt(img, 640, opt)
			for _, r := range ref {
				if e, ok := near(faces, r); ok && r.Box[3] >= 60 {
					errs[area] = append(errs[area], e)
				}
			}
		}
	}
	for _, area := range []float64{2, math.Inf(1)} {
		t.Logf("%d hi-res photos at 640, area above %gx: %d faces, landmarks %.4f face heights from the 1280-px detection",
			len(hires), area, len(errs[area]), mean(errs[area]))
	}
}

func mean(v []float64) float64 {
	s := 0.0
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}

// TestDetectMeasureScores: the scores behind ScoreThreshold. Over every pairs.csv photo, the
// centred (labelled) face's score, and how many other faces each score band adds; over the
// _special/no_face photos, the best score in any orientation. VIGIL_TEST_DETECTOR picks the
// detector (default yunet-2023mar).
func TestDetectMeasureScores(t *testing.T) {
	measuring(t)
	d := newTestDetector(t)
	opt := DefaultDetectOptions()
	opt.ScoreThreshold, opt.MinFaceSize = 0.3, 0
	bands := []float32{0.3, 0.5, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 0.99, 1.01}
	centre := make([]int, len(bands))
	other := make([]int, len(bands))
	band := func(s float32) int {
		for i := len(bands) - 1; i >= 0; i-- {
			if s >= bands[i] {
				return i
			}
		}
		return 0
	}
	var scores []float64
	ps := pairsPhotos(t)
	for _, p := range ps {
		img := photo(t, p)
		faces, err := d.Detect(img, opt)
		if err != nil {
			t.Logf("%s: %v", p, err)
			continue
		}
		c := centred(faces, img)
		if c.Score < 0.8 {
			t.Logf("%s: centred face scores %.3f", p, c.Score)
		}
		centre[band(c.Score)]++
		scores = append(scores, float64(c.Score))
		for _, f := range faces {
			if f != c {
				other[band(f.Score)]++
			}
		}
	}
	slices.Sort(scores)
	t.Logf("%d photos: centred face score min %.3f, 0.1%% %.3f, 1%% %.3f, median %.3f",
		len(ps), scores[0], scores[len(scores)/1000], scores[len(scores)/100], scores[len(scores)/2])
	for i := 0; i+1 < len(bands); i++ {
		t.Logf("score [%.2f, %.2f): centred faces %d, other faces %d (%.1f per 100 photos)",
			bands[i], bands[i+1], centre[i], other[i], 100*float64(other[i])/float64(len(ps)))
	}
	// Both looks Detect may take (the second only when the first finds no usable face), upright
	// and with the rotation search; on the tiny-face canvases only faces of MinFaceSize count.
	files, _ := filepath.Glob(filepath.Join(modeltest.FacesDir(t), "_special", "no_face", "*"))
	files = append(files, filepath.Join(modeltest.FacesDir(t), derived+"Colin_Powell_0153__tinyface_in_1600x1200.jpg"),
		filepath.Join(modeltest.FacesDir(t), derived+"Arnold_Schwarzenegger_0011__tinyface_in_1600x1200.jpg"))
	for _, f := range files {
		rel, _ := filepath.Rel(modeltest.FacesDir(t), f)
		img := photo(t, rel)
		long := max(img.W, img.H)
		for _, rot := range []bool{false, true} {
			o := opt
			o.TryRotations = rot
			var best [2]float32
			for i, side := range []int{min(long, o.MaxSide), min(long, retryFactor*o.MaxSide)} {
				faces, err := d.detectAt(img, side, o)
				if err != nil {
					t.Fatal(err)
				}
				if strings.Contains(rel, "tinyface") {
					faces, _ = splitSmall(faces, DefaultDetectOptions().MinFaceSize)
				}
				if len(faces) > 0 {
					best[i] = faces[0].Score
				}
			}
			t.Logf("%s (rotations %v): best score %.3f at %d px, %.3f at %d px", rel, rot, best[0], min(long, o.MaxSide), best[1], min(long, retryFactor*o.MaxSide))
		}
	}
}
