package embed

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"

	"vigil/models"
	"vigil/models/ort"
	"vigil/models/vec"
)

// Face is one detected face in the source image's pixel coordinates, with pixel (i, j)'s centre
// at (i, j): OpenCV's convention for warpAffine, so Align can use Landmarks as they are. YuNet's
// raw outputs put that centre at (i+0.5, j+0.5) (TestDetectCoordinateConvention), which is what
// scales by plain multiplication from the detector's resized copy; Detect shifts by half a pixel
// after scaling back. (So coordinates are 0.5 below OpenCV FaceDetectorYN's.) Without the shift
// the aligned crop of a photo turned by 90° or 180° differs from the upright photo's by 6–9
// levels on average, with it by 1–2, JPEG noise. A plain value, safe to copy.
type Face struct {
	Box [4]float32 // x, y, w, h
	// Landmarks in YuNet order: right eye, left eye, nose tip, right and left mouth corner, where
	// right is the subject's (smaller x on an upright face). They keep that meaning on rotated
	// faces, so Align turns any of them upright.
	Landmarks [5][2]float32
	Score     float32
	// Angle is how far the face is turned clockwise in the image: 0, or with TryRotations 90,
	// 180 or 270 (a photo stored 90° clockwise off upright gives 90). Box and Landmarks are
	// already in the image's own coordinates.
	Angle int
}

// DetectOptions tunes Detect. A plain value, safe to copy and share; start from
// DefaultDetectOptions and check changes with Validate.
type DetectOptions struct {
	ScoreThreshold float32 // lowest face score kept, in (0, 1]
	NMSThreshold   float32 // IoU above which the lower-scoring of two boxes is dropped, in (0, 1]
	// MaxSide is the longest side, in pixels, of the copy the detector sees first: larger photos
	// are scaled down to it, smaller ones are never scaled up (see Detect for the second look).
	MaxSide int
	// MinFaceSize is the smallest face worth returning, as the box's longer side (its height,
	// brow to chin) in source pixels; 0 keeps all. Smaller faces embed too poorly to match.
	MinFaceSize int
	// TryRotations also searches the photo turned by 90, 180 and 270 degrees, for photos whose
	// orientation was lost (no EXIF); 4× the cost, see Detect.
	TryRotations bool
}

// DefaultDetectOptions returns the defaults, chosen by measurement on shared/faces
// (TestDetectPairsFull and TestDetectMeasure* in detect_test.go re-run them, on the detector
// VIGIL_TEST_DETECTOR names). They serve both of the manifest's detectors, YuNet 2023mar (the
// default, see embed.DefaultConfig) and 2022mar:
//
//   - ScoreThreshold 0.7. 2023mar: in the 2,417 LFW photos of pairs.csv the labelled face never
//     scores below 0.866, so 0.7 finds all of them with a margin; OpenCV's 0.9 misses 1.2%. The
//     0.6–0.7 band would add ~4 faces per 100 photos, nearly all cut off by the frame or blurred
//     in the background, plus a painting's edge on a hi-res portrait. No-face photos score ≤ 0.40
//     upright and ≤ 0.63 with the rotation search or the second look.
//     2022mar scores most faces exactly 1 (see run2022) and leaves no clean gap: its labelled LFW
//     faces go down to 0.698 (36 of them under 0.8; OpenCV's 0.9 misses 8.9%), while its false
//     faces reach 0.68 (a 1600×1200 flat canvas's top edge at full size: 0.67; hubble_deep_field
//     turned: 0.68 as Go's JPEG decoder reads it, 0.705 as libjpeg-turbo does), 0.73 on that
//     canvas turned, and the cat's face in chelsea.png scores 0.78. 0.7 keeps 2,416 of the 2,417
//     LFW faces (Isaiah_Washington_0002, 0.698, is lost) and rejects every no-face photo upright
//     but the cat; the 0.6–0.7 band would add ~3 faces per 100 LFW photos. The shipped pipeline
//     leaves these decisions to 2023mar (embed.DefaultConfig).
//   - NMSThreshold 0.3, OpenCV's.
//   - MaxSide 640, YuNet's training size; its faces of ~10–300 px then span close-ups to group
//     photos. Large photos get a second look when needed (Detect).
//   - MinFaceSize 32. pairs.csv verified with MobileFaceNet after shrinking the left photo of
//     each pair until its face box is h px tall (accuracy / TAR at FAR 1%), 2023mar: as is
//     99.0 / 98.7, h=48 98.6 / 98.1, 32 96.6 / 93.4, 24 90.2 / 70.2, 20 82.2 / 50.9; 2022mar
//     (at ScoreThreshold 0.65, which keeps Isaiah_Washington_0002): as is 99.15 / 99.1, h=48
//     99.08 / 98.8, 32 97.88 / 96.5, 24 93.04 / 80.6, 20 87.78 / 56.9. 32 is the knee for both;
//     a KYC flow wanting full accuracy should ask for 48.
func DefaultDetectOptions() DetectOptions {
	return DetectOptions{ScoreThreshold: 0.7, NMSThreshold: 0.3, MaxSide: 640, MinFaceSize: 32}
}

// Validate reports options Detect cannot use.
func (o DetectOptions) Validate() error {
	switch {
	case !(o.ScoreThreshold > 0 && o.ScoreThreshold <= 1):
		return fmt.Errorf("detect: score threshold %v not in (0, 1]", o.ScoreThreshold)
	case !(o.NMSThreshold > 0 && o.NMSThreshold <= 1):
		return fmt.Errorf("detect: nms threshold %v not in (0, 1]", o.NMSThreshold)
	case o.MaxSide < 64 || o.MaxSide > maxSide:
		return fmt.Errorf("detect: max side %d not in [64, %d]", o.MaxSide, maxSide)
	case o.MinFaceSize < 0:
		return fmt.Errorf("detect: negative min face size %d", o.MinFaceSize)
	}
	return nil
}

// Detect errors a caller can act on; both mean "ask for another photo". Immutable, safe for
// concurrent use; test with errors.Is.
var (
	// ErrNoFace: no face scored ScoreThreshold or more (HTTP 422).
	ErrNoFace = errors.New("no face found")
	// ErrFaceTooSmall: faces were found, but all are under MinFaceSize (HTTP 422).
	ErrFaceTooSmall = errors.New("face too small")
)

// yunetOutputs is the output order Detector decodes: three strides for each of the four heads.
var yunetOutputs = []string{"cls_8", "cls_16", "cls_32", "obj_8", "obj_16", "obj_32",
	"bbox_8", "bbox_16", "bbox_32", "kps_8", "kps_16", "kps_32"}

const (
	yunetTopK   = 5000 // candidates kept for NMS, OpenCV's top_k
	yunetAlign  = 32   // input sides must be multiples of the largest stride
	retryFactor = 3    // the second look goes up to 3×MaxSide, see Detect
)

// Detector finds faces with YuNet 2023mar (BGR, raw 0–255, NCHW, any multiple of 32 per side) or
// YuNet 2022mar (the same input at the photo's own size, see run2022); the model file must have
// symbolic spatial dims, see models/onnxedit. It keeps its scratch buffers
// between calls, so the steady state allocates little beyond what ORT returns; they grow to the
// largest input seen (~45 MB after a second look at 1920×1920). Not safe for concurrent use:
// each worker owns one. Caller must Close.
type Detector struct {
	s     *ort.Session
	own   bool   // Close frees s only when OpenDetector made it
	dec   string // models.DecoderYuNet2023 or models.DecoderYuNet2022
	rs    resizer
	small Image // the photo scaled to fit MaxSide
	rot   Image // small turned for the rotation search
	in    []float32
	cand  []Face
	// marks, when set, places the landmarks of the faces this Detector finds (see relandmark).
	// Owned: Close closes it.
	marks *Detector
	win   Image    // a window of the view, when this Detector is another's landmarker
	wins  [][4]int // the windows of one relandmark call
}

// NewDetector wraps a session opened on YuNet 2023mar with input "input" and the outputs in the
// manifest's order (cls_8, cls_16, cls_32, obj_*, bbox_*, kps_*). The session stays the caller's:
// close it after the Detector's last use; Detector.Close leaves it open.
func NewDetector(s *ort.Session) *Detector { return &Detector{s: s, dec: models.DecoderYuNet2023} }

// NewDetectorWith is NewDetector for a session on a model read by decoder (a models.Decoder*
// name), opened with input "input" and DetectorOutputs(decoder).
func NewDetectorWith(s *ort.Session, decoder string) (*Detector, error) {
	if _, err := DetectorOutputs(decoder); err != nil {
		return nil, err
	}
	return &Detector{s: s, dec: decoder}, nil
}

// DetectorOutputs returns the output names, in the order Detector decodes them, of a model read
// by decoder.
func DetectorOutputs(decoder string) ([]string, error) {
	switch decoder {
	case models.DecoderYuNet2023:
		return yunetOutputs, nil
	case models.DecoderYuNet2022:
		return yunet2022Outputs, nil
	}
	return nil, fmt.Errorf("detect: unknown decoder %q", decoder)
}

// OpenDetector opens the YuNet 2023mar model file at path (ort.Init must have run) for a
// Detector that owns the session.
func OpenDetector(path string) (*Detector, error) {
	return OpenDetectorWith(path, models.DecoderYuNet2023)
}

// OpenDetectorWith opens the model file at path, read by decoder (a models.Decoder* name), for a
// Detector that owns the session.
func OpenDetectorWith(path, decoder string) (*Detector, error) {
	outs, err := DetectorOutputs(decoder)
	if err != nil {
		return nil, err
	}
	s, err := ort.Open(path, []string{"input"}, outs)
	if err != nil {
		return nil, err
	}
	return &Detector{s: s, own: true, dec: decoder}, nil
}

// Close frees the session if the Detector opened it. Idempotent.
func (d *Detector) Close() error {
	if d == nil || d.s == nil {
		return nil
	}
	var err error
	if d.own {
		err = d.s.Close()
	}
	d.s = nil
	if d.marks != nil {
		err = errors.Join(err, d.marks.Close())
		d.marks = nil
	}
	return err
}

// Landmarker settings (see relandmark): the landmarker looks again where the detector found
// faces, keeping candidates from landmarkScore, and a face takes the landmarks of the candidate
// overlapping it most if their boxes' IoU reaches landmarkIoU. It looks at a window of
// landmarkContext times the face's box side around each face, or at the whole view when the
// windows would cover more than landmarkWindowShare of it.
const (
	landmarkScore   = 0.5
	landmarkIoU     = 0.5
	landmarkContext = 4
)

// landmarkWindowShare is a variable so that TestMeasureLandmarkerWindows can compare windows
// with whole views.
var landmarkWindowShare = 0.5

// relandmark runs m where another detector found faces in view (in view pixels) and gives each
// of them the landmarks of m's best-overlapping face; a face m misses keeps its own. So one model
// decides where the faces are and another where their eyes, nose and mouth are: see
// embed.Config.Landmarker for why.
//
// An LFW photo (a 250×250 frame around a ~110 px face) is looked at whole. In a larger view m
// looks at each face's window alone, at the view's scale: that keeps its cost to the faces'
// surroundings, and with 4× the face's side around it the faces verify as well as with a
// whole-view look (TestMeasureLandmarkerWindows: LFW photos in a 1280×960 scene, every
// cross-person pair, genuine accepted at FMR 1e-3 / 1e-4 / 1e-5: windows 97.8 / 95.4 / 91.6 %,
// whole view 98.0 / 95.4 / 90.3 %, 2023mar's own landmarks 96.4 / 93.4 / 89.0 %; windows of
// 2.5× lost 0.2–0.7 points). A big face in a small view is looked at whole.
func (m *Detector) relandmark(view *Image, faces []Face, opt DetectOptions) error {
	opt.ScoreThreshold = landmarkScore
	wins := m.wins[:0]
	area := 0
	for _, f := range faces {
		w := landmarkWindow(view, f)
		wins = append(wins, w)
		area += (w[2] - w[0]) * (w[3] - w[1])
	}
	m.wins = wins
	if float64(area) > landmarkWindowShare*float64(view.W*view.H) {
		got, _, err := m.runView(view, opt)
		if err != nil {
			return fmt.Errorf("landmarks: %w", err)
		}
		for i := range faces {
			takeLandmarks(&faces[i], got, 0, 0)
		}
		return nil
	}
	for i, w := range wins {
		cropView(view, w, &m.win)
		got, _, err := m.runView(&m.win, opt)
		if err != nil {
			return fmt.Errorf("landmarks: %w", err)
		}
		takeLandmarks(&faces[i], got, float32(w[0]), float32(w[1]))
	}
	return nil
}

// landmarkWindow returns the square of landmarkContext times f's box side around its centre,
// clipped to view, as x0, y0, x1, y1 (exclusive) in whole pixels.
func landmarkWindow(view *Image, f Face) [4]int {
	half := landmarkContext / 2 * float64(max(f.Box[2], f.Box[3]))
	cx, cy := float64(f.Box[0]+f.Box[2]/2), float64(f.Box[1]+f.Box[3]/2)
	clip := func(v float64, hi int) int { return min(max(int(math.Round(v)), 0), hi) }
	return [4]int{clip(cx-half, view.W), clip(cy-half, view.H), clip(cx+half, view.W), clip(cy+half, view.H)}
}

// cropView copies the window w of src into dst, reusing dst.Pix.
func cropView(src *Image, w [4]int, dst *Image) {
	dst.W, dst.H = w[2]-w[0], w[3]-w[1]
	dst.Pix = scratch(dst.Pix, 3*dst.W*dst.H)
	for y := range dst.H {
		o := 3 * ((w[1]+y)*src.W + w[0])
		copy(dst.Pix[3*dst.W*y:3*dst.W*(y+1)], src.Pix[o:o+3*dst.W])
	}
}

// takeLandmarks gives f the landmarks of the face in got (offset by dx, dy into f's
// coordinates) whose box overlaps f's most, if that IoU reaches landmarkIoU.
func takeLandmarks(f *Face, got []Face, dx, dy float32) {
	best, bi := float32(landmarkIoU), -1
	for j := range got {
		b := got[j].Box
		if v := iou(f.Box, [4]float32{b[0] + dx, b[1] + dy, b[2], b[3]}); v >= best {
			best, bi = v, j
		}
	}
	if bi < 0 {
		return
	}
	for k, p := range got[bi].Landmarks {
		f.Landmarks[k] = [2]float32{p[0] + dx, p[1] + dy}
	}
}

// Detect returns the faces in img of at least opt.MinFaceSize, best score first, or an error
// wrapping ErrNoFace or ErrFaceTooSmall. img is only read.
//
// A photo whose longest side exceeds opt.MaxSide is scaled down to it (area averaging when
// shrinking more than 2×). If that finds no usable face, the photo gets one more look with its
// longest side at min(original, 3×MaxSide). At MaxSide a 32-px face in a photo over 1,000 px
// shrinks below 20 px, where YuNet nears its floor (it found 254 of 256 LFW faces ~20 px tall
// in a mosaic shrunk to 640 px); the second look keeps such faces at 20 px or more in photos up
// to 3,072 px. It costs up to 9× the first look, and only photos without a usable face pay it.
//
// With opt.TryRotations the scaled copy is also searched turned by 90, 180 and 270 degrees and
// the orientation whose best face scores highest wins. All four always run: YuNet also reports
// faces in turned photos (846 of 909 turned LFW photos, scoring up to 0.91, landmarks placed as
// if upright) while upright faces score 0.87–0.95, so no upright result rules the turns out.
// The highest score picked the true orientation for all 1,212 photos tried (303 LFW photos,
// upright and turned three ways). That is 2023mar. 2022mar finds "faces" in all 909 turned
// photos, many scoring 1 as upright ones do, so the best score would pick the true orientation
// for only 992 of the 1,212; its orientations are ranked by the face-class probability instead
// (runView, run2022), which picked it for all 1,212. Without TryRotations, then, a 2022mar
// detection of a photo stored on its side is a face turned 90°, not ErrNoFace.
func (d *Detector) Detect(img *Image, opt DetectOptions) ([]Face, error) {
	if err := opt.Validate(); err != nil {
		return nil, err
	}
	if img == nil || img.W <= 0 || img.H <= 0 || len(img.Pix) != 3*img.W*img.H {
		return nil, fmt.Errorf("detect: malformed image %s", describeImage(img))
	}
	if d == nil || d.s == nil {
		return nil, errors.New("detect: detector closed")
	}
	long := max(img.W, img.H)
	sides := []int{min(long, opt.MaxSide)}
	if long > opt.MaxSide {
		sides = append(sides, min(long, retryFactor*opt.MaxSide))
	}
	var small []Face
	for _, side := range sides {
		faces, err := d.detectAt(img, side, opt)
		if err != nil {
			return nil, err
		}
		ok, tiny := splitSmall(faces, opt.MinFaceSize)
		if len(ok) > 0 {
			return ok, nil
		}
		small = append(small, tiny...)
	}
	if len(small) > 0 {
		big := slices.MaxFunc(small, func(a, b Face) int { return cmp.Compare(faceSize(a), faceSize(b)) })
		return nil, fmt.Errorf("%w: largest face %.0f px, minimum %d", ErrFaceTooSmall, faceSize(big), opt.MinFaceSize)
	}
	return nil, ErrNoFace
}

// detectAt scales img so its longest side is side and returns the faces of the best-scoring
// orientation (only upright unless opt.TryRotations; the highest key from runView wins), in
// img's coordinates.
func (d *Detector) detectAt(img *Image, side int, opt DetectOptions) ([]Face, error) {
	s := float64(side) / float64(max(img.W, img.H))
	dw, dh := max(1, int(math.Round(float64(img.W)*s))), max(1, int(math.Round(float64(img.H)*s)))
	d.rs.resize(img, dw, dh, &d.small)
	var best []Face
	var bestKey float32
	for _, a := range []int{0, 90, 180, 270} {
		if a != 0 && !opt.TryRotations {
			break
		}
		faces, key, err := d.detectView(img, a, opt)
		if err != nil {
			return nil, err
		}
		if len(faces) > 0 && (best == nil || key > bestKey) {
			best, bestKey = faces, key
		}
	}
	return best, nil
}

// detectView runs YuNet on d.small turned clockwise by angle and returns the faces after NMS,
// mapped to src's coordinates, with runView's key. Faces upright in that view are turned by
// 360-angle in src.
func (d *Detector) detectView(src *Image, angle int, opt DetectOptions) ([]Face, float32, error) {
	view := &d.small
	if angle != 0 {
		rotateCW(&d.small, angle, &d.rot)
		view = &d.rot
	}
	faces, key, err := d.runView(view, opt)
	if err != nil {
		return nil, 0, err
	}
	if d.marks != nil && len(faces) > 0 {
		if err := d.marks.relandmark(view, faces, opt); err != nil {
			return nil, 0, err
		}
	}
	// view → small: undo the rotation in YuNet's convention, where a W-wide line maps x to W-x.
	sw, sh := float32(d.small.W), float32(d.small.H)
	unrot := func(x, y float32) (float32, float32) {
		switch angle {
		case 90: // small (u,v) went to (sh-v, u)
			return y, sh - x
		case 180:
			return sw - x, sh - y
		case 270: // small (u,v) went to (v, sw-u)
			return sw - y, x
		}
		return x, y
	}
	// small → src: scale, then move pixel centres from i+0.5 to i (see Face).
	fx, fy := float32(src.W)/sw, float32(src.H)/sh
	for i := range faces {
		f := &faces[i]
		for k := range f.Landmarks {
			x, y := unrot(f.Landmarks[k][0], f.Landmarks[k][1])
			f.Landmarks[k] = [2]float32{x*fx - 0.5, y*fy - 0.5}
		}
		x0, y0 := unrot(f.Box[0], f.Box[1])
		x1, y1 := unrot(f.Box[0]+f.Box[2], f.Box[1]+f.Box[3])
		x0, x1 = min(x0, x1), max(x0, x1)
		y0, y1 = min(y0, y1), max(y0, y1)
		f.Box = [4]float32{x0*fx - 0.5, y0*fy - 0.5, (x1 - x0) * fx, (y1 - y0) * fy}
		f.Angle = (360 - angle) % 360
	}
	return faces, key, nil
}

// runView runs the model on view with the Detector's decoder and returns the faces after NMS,
// in view pixels, and the key that ranks orientations in detectAt: for 2023mar the best face's
// score; for 2022mar the highest face-class probability (see run2022), since its scores
// saturate at 1.
func (d *Detector) runView(view *Image, opt DetectOptions) ([]Face, float32, error) {
	if d.dec == models.DecoderYuNet2022 {
		return d.run2022(view, opt)
	}
	faces, err := d.run(view, opt)
	if err != nil || len(faces) == 0 {
		return faces, 0, err
	}
	return faces, faces[0].Score, nil
}

// run feeds view (zero-padded bottom/right to multiples of 32) to YuNet, decodes every cell as
// OpenCV ≥ 4.8 FaceDetectorYN does (models/MANIFEST.md §2) and applies NMS. Coordinates are in
// view pixels. The result is a fresh slice the caller owns. 2023mar only; see runView.
func (d *Detector) run(view *Image, opt DetectOptions) ([]Face, error) {
	pw := (view.W + yunetAlign - 1) / yunetAlign * yunetAlign
	ph := (view.H + yunetAlign - 1) / yunetAlign * yunetAlign
	d.fill(view, pw, ph)
	out, err := d.s.Run([]ort.Tensor{{Shape: []int64{1, 3, int64(ph), int64(pw)}, Data: d.in}})
	if err != nil {
		return nil, fmt.Errorf("detect %dx%d: %w", pw, ph, err)
	}
	if len(out) != len(yunetOutputs) {
		return nil, fmt.Errorf("detect: model gave %d outputs, want %d", len(out), len(yunetOutputs))
	}
	d.cand = d.cand[:0]
	for i, stride := range []int{8, 16, 32} {
		rows, cols := ph/stride, pw/stride
		n := rows * cols
		cls, obj, box, kps := out[i].Data, out[3+i].Data, out[6+i].Data, out[9+i].Data
		if len(cls) != n || len(obj) != n || len(box) != 4*n || len(kps) != 10*n {
			return nil, fmt.Errorf("detect: stride %d outputs %d/%d/%d/%d values, want %d cells (wrong model or output order?)",
				stride, len(cls), len(obj), len(box), len(kps), n)
		}
		s := float32(stride)
		for idx := 0; idx < n; idx++ {
			score := float32(math.Sqrt(float64(clamp01(cls[idx]) * clamp01(obj[idx]))))
			if score < opt.ScoreThreshold {
				continue
			}
			r, c := float32(idx/cols), float32(idx%cols)
			b := box[4*idx : 4*idx+4]
			w, h := float32(math.Exp(float64(b[2])))*s, float32(math.Exp(float64(b[3])))*s
			f := Face{Box: [4]float32{(c+b[0])*s - w/2, (r+b[1])*s - h/2, w, h}, Score: score}
			for k := range f.Landmarks {
				f.Landmarks[k] = [2]float32{(kps[10*idx+2*k] + c) * s, (kps[10*idx+2*k+1] + r) * s}
			}
			d.cand = append(d.cand, f)
		}
	}
	return nms(d.cand, opt.NMSThreshold), nil
}

// fill writes view into d.in as a BGR planar float tensor of pw×ph, zero beyond view.
func (d *Detector) fill(view *Image, pw, ph int) {
	plane := pw * ph
	d.in = scratch(d.in, 3*plane)
	clear(d.in)
	b, g, r := d.in[:plane], d.in[plane:2*plane], d.in[2*plane:]
	w := view.W
	for y := 0; y < view.H; y++ {
		o := y * pw
		vec.Split(r[o:o+w], g[o:o+w], b[o:o+w], view.Pix[3*w*y:3*w*(y+1)], [3]float32{1, 1, 1}, [3]float32{})
	}
}

func clamp01(v float32) float32 { return min(max(v, 0), 1) }

// nms sorts cand by score (stable, so ties keep cell order), keeps the best yunetTopK and drops
// every box overlapping a better kept one by more than thr IoU. It returns a new slice.
func nms(cand []Face, thr float32) []Face {
	slices.SortStableFunc(cand, func(a, b Face) int { return cmp.Compare(b.Score, a.Score) })
	cand = cand[:min(len(cand), yunetTopK)]
	var keep []Face
next:
	for _, c := range cand {
		for _, k := range keep {
			if iou(c.Box, k.Box) > thr {
				continue next
			}
		}
		keep = append(keep, c)
	}
	return keep
}

func iou(a, b [4]float32) float32 {
	w := min(a[0]+a[2], b[0]+b[2]) - max(a[0], b[0])
	h := min(a[1]+a[3], b[1]+b[3]) - max(a[1], b[1])
	if w <= 0 || h <= 0 {
		return 0
	}
	in := w * h
	return in / (a[2]*a[3] + b[2]*b[3] - in)
}

// faceSize is the box's longer side: YuNet's boxes run brow to chin and are taller than wide,
// so the height is the steadier measure of how many pixels a face has.
func faceSize(f Face) float32 { return max(f.Box[2], f.Box[3]) }

// splitSmall keeps faces of at least minSize in place and returns the others separately.
func splitSmall(faces []Face, minSize int) (ok, small []Face) {
	ok = faces[:0:len(faces)]
	for _, f := range faces {
		if faceSize(f) >= float32(minSize) {
			ok = append(ok, f)
		} else {
			small = append(small, f)
		}
	}
	return ok, small
}

func describeImage(img *Image) string {
	if img == nil {
		return "<nil>"
	}
	return fmt.Sprintf("%dx%d with %d bytes", img.W, img.H, len(img.Pix))
}
