package embed

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image/color"
	"image/jpeg"
	"maps"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"vigil/embed/turbojpeg"
	"vigil/models/modeltest"
)

func skipWithoutTurbo(t testing.TB) {
	t.Helper()
	if !turbojpeg.Available {
		t.Skip("built without cgo: no libjpeg-turbo")
	}
}

// turboCorpus lists the JPEGs the comparison runs on: every 10th LFW photo (247 of 2,467, all
// 250x250 4:2:0 baseline) and every JPEG under _special and _spoof (EXIF orientations 6 and 8,
// grayscale, CMYK, truncated, 4:4:4, progressive, up to 2166x1560), relative to the faces dir.
func turboCorpus(t testing.TB) []string {
	t.Helper()
	dir := modeltest.FacesDir(t)
	lfw, err := filepath.Glob(filepath.Join(dir, "[A-Z]*", "*.jpg"))
	if err != nil || len(lfw) < 2000 {
		t.Fatalf("LFW photos under %s: %d, %v", dir, len(lfw), err)
	}
	slices.Sort(lfw)
	var files []string
	for i := 0; i < len(lfw); i += 10 {
		files = append(files, lfw[i])
	}
	for _, pat := range []string{"_special/*/*.jpg", "_spoof/*/*.jpg"} {
		m, _ := filepath.Glob(filepath.Join(dir, pat))
		files = append(files, m...)
	}
	for i, f := range files {
		files[i], _ = filepath.Rel(dir, f)
	}
	return files
}

// TestDecodeTurboMatchesStdlib decodes every corpus JPEG with libjpeg-turbo and with image/jpeg
// (Decode as it was) and bounds the difference. Measured here (libjpeg-turbo 2.1.5, Go 1.26),
// mean / max absolute difference per channel, in levels of 255:
//
//   - the 247 LFW photos (4:2:0): 0.64 on average, worst file 1.52 / 49; other 4:2:0 files
//     0.2–1.2 / up to 39, the 24x24 and 48x48 crops 1.1–1.7 / 19. libjpeg interpolates the
//     subsampled chroma ("fancy" upsampling), image/jpeg repeats each sample, so the big
//     differences sit on saturated colour edges;
//   - 4:4:4 (the large _special photos): 0.13–0.37 / 4, grayscale 0.01 / 1: only the IDCT's and
//     the colour conversion's rounding differ;
//   - all 296 decoded files: 0.60 on average, max 49.
//
// The bounds leave room over those figures: a missed EXIF rotation, a channel swap or a wrong
// row pitch gives a mean of tens of levels, and a different size fails outright.
func TestDecodeTurboMatchesStdlib(t *testing.T) {
	skipWithoutTurbo(t)
	var sum float64
	var n, turbo, worst int
	for _, rel := range turboCorpus(t) {
		data := modeltest.ReadFace(t, rel)
		want, werr := decode(data, Limits{}, false)
		got, gerr := Decode(data, Limits{})
		if werr != nil || gerr != nil {
			if fmt.Sprint(werr) != fmt.Sprint(gerr) {
				t.Errorf("%s: error %v, image/jpeg alone gives %v", rel, gerr, werr)
			}
			continue // the truncated files: same error, checked above
		}
		cfg, err := jpeg.DecodeConfig(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		// Decode must really have taken the turbo path: decode it that way on its own.
		direct := decodeTurbo(data, cfg.Width, cfg.Height)
		if cfg.ColorModel == color.CMYKModel {
			if direct != nil {
				t.Errorf("%s: libjpeg-turbo decoded a CMYK file to RGB", rel)
			}
			if _, mx := diff(got, want); mx != 0 {
				t.Errorf("%s: CMYK file not decoded by image/jpeg (max diff %d)", rel, mx)
			}
			continue
		}
		if direct == nil {
			t.Errorf("%s: libjpeg-turbo refused a file image/jpeg decodes", rel)
			continue
		}
		if _, mx := diff(orient(direct, jpegOrientation(data)), got); mx != 0 {
			t.Errorf("%s: Decode differs from libjpeg-turbo's own output (max %d)", rel, mx)
		}
		turbo++
		mean, mx := diff(got, want)
		if got.W != want.W || got.H != want.H || mean > 2.5 || mx > 80 {
			t.Errorf("%s: %dx%d, image/jpeg %dx%d: mean abs diff %.3f, max %d; want <= 2.5 and 80", rel, got.W, got.H, want.W, want.H, mean, mx)
		}
		if cfg.ColorModel == color.GrayModel {
			for i := 0; i < len(got.Pix); i += 3 {
				if got.Pix[i] != got.Pix[i+1] || got.Pix[i] != got.Pix[i+2] {
					t.Fatalf("%s: grayscale JPEG gave colour at pixel %d", rel, i/3)
				}
			}
		}
		if testing.Verbose() {
			t.Logf("%-60s %4dx%-4d mean %.3f max %3d", rel, got.W, got.H, mean, mx)
		}
		sum += mean
		n++
		worst = max(worst, mx)
	}
	if turbo < 250 {
		t.Errorf("only %d files went through libjpeg-turbo", turbo)
	}
	if avg := sum / float64(n); avg > 1.0 {
		t.Errorf("mean abs diff over %d files %.3f, want <= 1.0", n, avg)
	}
	t.Logf("%d files through libjpeg-turbo: mean abs diff %.3f levels (average over files), max %d", turbo, sum/float64(n), worst)
}

// damaged returns data cut short at several points and with bytes of its entropy-coded data
// overwritten, as named inputs.
func damaged(name string, data []byte) map[string][]byte {
	out := map[string][]byte{name: data}
	l := len(data)
	for _, n := range []int{12, 30, 100, 300, l / 3, l / 2, l * 9 / 10, l - 2, l - 1} {
		if n > 2 && n < l {
			out[fmt.Sprintf("%s cut to %d", name, n)] = data[:n]
		}
	}
	for _, off := range []int{l / 2, l * 3 / 4, l - 40} {
		for _, v := range [][]byte{{0x00, 0x00, 0x00}, {0xff, 0xff, 0xff}, {0x55, 0xaa}, {0xff, 0xd9}, {0xff, 0xd3}, {0xff, 0xda}} {
			d := bytes.Clone(data)
			copy(d[off:], v)
			out[fmt.Sprintf("%s with % x at %d", name, v, off)] = d
		}
	}
	return out
}

// Broken JPEGs must fail exactly as they did before libjpeg-turbo: it refuses or warns, and
// image/jpeg then gives its error. The comparison is on the whole error text, which implies the
// same sentinel; damage that both decoders get through gives an image both ways.
func TestDecodeTurboErrorsUnchanged(t *testing.T) {
	skipWithoutTurbo(t)
	inputs := map[string][]byte{}
	for _, rel := range []string{
		powell, arnold,
		"_special/derived/Colin_Powell_0153__gray.jpg",
		"_special/derived/Colin_Powell_0153__cmyk.jpg",
		"_special/derived/Colin_Powell_0153__truncated.jpg",
		"_special/derived/Arnold_Schwarzenegger_0011__truncated.jpg",
		"_special/derived/Arnold_Schwarzenegger_0011__small24.jpg",
		"_spoof/print/image_F1_v2020-06-28.jpg", // progressive 4:2:0
		"_special/multi_face/multiface.jpg",     // progressive 4:4:4
	} {
		maps.Copy(inputs, damaged(rel, modeltest.ReadFace(t, rel)))
	}
	jpg := smallJPEG(t, 16, 16)
	sof := bytes.Index(jpg, []byte{0xff, 0xc0})
	twelveBit, arithmetic, lossless := bytes.Clone(jpg), bytes.Clone(jpg), bytes.Clone(jpg)
	twelveBit[sof+4] = 12
	arithmetic[sof+1] = 0xc9
	lossless[sof+1] = 0xc3
	maps.Copy(inputs, map[string][]byte{"12-bit": twelveBit, "arithmetic": arithmetic, "lossless": lossless,
		"progressive": progressiveGray(40, 24, 5), "progressive-cut": progressiveGray(40, 24, 5)[:150]})

	var failed int
	for name, data := range inputs {
		want, werr := decode(data, Limits{}, false)
		got, gerr := decode(data, Limits{}, true)
		if gerr != nil {
			failed++
		}
		if fmt.Sprint(gerr) != fmt.Sprint(werr) {
			t.Errorf("%s: %v; image/jpeg alone: %v", name, gerr, werr)
			continue
		}
		for _, s := range sentinels {
			if errors.Is(gerr, s) != errors.Is(werr, s) {
				t.Errorf("%s: errors.Is(%v, %v) differs", name, gerr, s)
			}
		}
		if gerr == nil && (got.W != want.W || got.H != want.H) {
			t.Errorf("%s: %s, image/jpeg alone %s", name, describe(got), describe(want))
		}
	}
	if failed < len(inputs)/2 {
		t.Errorf("only %d of %d damaged inputs failed: the damage is too mild to test anything", failed, len(inputs))
	}
	t.Logf("%d inputs, %d fail, all as before", len(inputs), failed)
}

// progressiveGray builds a w x h grayscale progressive JPEG of uniform grey 128: one DC scan,
// then acScans identical first AC scans, each a single end-of-band run over every block. Each is
// valid to libjpeg (a repeated first scan at Al=0 is no bogus progression), so only a scan limit
// stops a file of many: the CPU bomb TJFLAG_LIMITSCANS and jpegScans are for.
func progressiveGray(w, h, acScans int) []byte {
	seg := func(out []byte, marker byte, body ...byte) []byte {
		out = binary.BigEndian.AppendUint16(append(out, 0xff, marker), uint16(2+len(body)))
		return append(out, body...)
	}
	huff := func(class, symbol byte) []byte { // one code of length 1
		b := append([]byte{class, 1}, make([]byte, 15)...)
		return append(b, symbol)
	}
	out := seg([]byte{0xff, 0xd8}, 0xdb, append([]byte{0}, bytes.Repeat([]byte{1}, 64)...)...)
	out = seg(out, 0xc2, 8, byte(h>>8), byte(h), byte(w>>8), byte(w), 1, 1, 0x11, 0)
	out = seg(out, 0xc4, huff(0x00, 0x00)...) // DC: category 0, difference 0
	out = seg(out, 0xc4, huff(0x10, 0xe0)...) // AC: EOB14, a run of 2^14 + 14 extra bits
	blocks := (w + 7) / 8 * ((h + 7) / 8)
	out = seg(out, 0xda, 1, 1, 0x00, 0, 0, 0)
	out = append(out, make([]byte, blocks/8)...) // a 0 bit per block, padded with 1 bits
	if r := blocks % 8; r != 0 {
		out = append(out, 0xff>>r)
	}
	// Each AC symbol is 0 then 14 one bits: a run of 32767 blocks.
	var ac []byte
	var acc uint32
	var nbits int
	for range blocks/32767 + 1 {
		acc, nbits = acc<<15|1<<14-1, nbits+15
		for ; nbits >= 8; nbits -= 8 {
			ac = append(ac, byte(acc>>(nbits-8)))
		}
	}
	if nbits > 0 {
		ac = append(ac, byte(acc<<(8-nbits))|0xff>>nbits)
	}
	ac = bytes.ReplaceAll(ac, []byte{0xff}, []byte{0xff, 0x00}) // byte stuffing
	for range acScans {
		out = seg(out, 0xda, 1, 1, 0x00, 1, 63, 0)
		out = append(out, ac...)
	}
	return append(out, 0xff, 0xd9)
}

// A JPEG of more than 500 scans is refused before any pixel memory is allocated, whichever
// decoder would run; 500 decode. image/jpeg has no limit of its own: without the check, a 100 KB
// file of 2,000 scans at 4096x4096 costs it about 24 s of CPU (and the turbo path falls back to it).
func TestDecodeScanLimit(t *testing.T) {
	for _, turbo := range []bool{false, true} {
		ok := progressiveGray(64, 48, maxScans-1)
		if n := jpegScans(ok, maxScans); n != maxScans {
			t.Fatalf("jpegScans: %d, want %d", n, maxScans)
		}
		img, err := decode(ok, Limits{}, turbo)
		if err != nil {
			t.Fatalf("turbo %v: %d scans: %v", turbo, maxScans, err)
		}
		if img.W != 64 || img.H != 48 || bytes.Count(img.Pix, []byte{128}) != len(img.Pix) {
			t.Errorf("turbo %v: %s, not uniform grey 128", turbo, describe(img))
		}
		for _, data := range [][]byte{progressiveGray(64, 48, maxScans), progressiveGray(4096, 4096, 2000)} {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, err := decode(data, Limits{}, turbo)
			runtime.ReadMemStats(&after)
			if !errors.Is(err, ErrUnsupportedFormat) || !strings.Contains(err.Error(), "scans") {
				t.Errorf("turbo %v: %d bytes of too many scans: %v, want ErrUnsupportedFormat", turbo, len(data), err)
			}
			if n := after.TotalAlloc - before.TotalAlloc; n > 64<<10 {
				t.Errorf("turbo %v: allocated %d bytes refusing it", turbo, n)
			}
		}
	}
	// libjpeg-turbo's own limit (TJFLAG_LIMITSCANS) holds too, should a file get past jpegScans.
	if turbojpeg.Available {
		dst := make([]byte, 3*64*48)
		if _, _, err := turbojpeg.DecodeRGB(progressiveGray(64, 48, maxScans-1), dst); err != nil {
			t.Errorf("turbojpeg, %d scans: %v", maxScans, err)
		}
		_, _, err := turbojpeg.DecodeRGB(progressiveGray(64, 48, maxScans), dst)
		if !errors.Is(err, turbojpeg.ErrDecode) || !strings.Contains(err.Error(), "500 scans") {
			t.Errorf("turbojpeg, %d scans: %v, want ErrDecode for more than 500 scans", maxScans+1, err)
		}
	}
}

// jpegScans must count what the decoders see: scans of every real file, not the SOS markers of
// an EXIF thumbnail (inside APP1) nor miss scans after stray bytes between segments.
func TestJPEGScans(t *testing.T) {
	counts := map[int]int{} // scans: files
	for _, rel := range turboCorpus(t) {
		n := jpegScans(modeltest.ReadFace(t, rel), maxScans)
		if n < 1 || n > 20 {
			t.Errorf("%s: %d scans", rel, n)
		}
		counts[n]++
	}
	if counts[1] < 250 {
		t.Errorf("scans: files %v; want over 250 baseline files of 1 scan", counts)
	}
	t.Logf("scans: files %v", counts)
	jpg := smallJPEG(t, 16, 16)
	thumb := append([]byte("Exif\x00\x00"), jpg...) // a thumbnail is a whole JPEG, scan included
	app1 := binary.BigEndian.AppendUint16([]byte{0xff, 0xe1}, uint16(2+len(thumb)))
	withThumb := slices.Concat(jpg[:2], app1, thumb, jpg[2:])
	prog := progressiveGray(16, 16, 4)
	sos := bytes.Index(prog, []byte{0xff, 0xda})
	stray := slices.Concat(prog[:sos], []byte("stray bytes\x00\xff\xff"), prog[sos:]) // and fill bytes
	for _, tc := range []struct {
		name string
		data []byte
		want int
	}{
		{"baseline", jpg, 1},
		{"exif-thumbnail", withThumb, 1},
		{"progressive", prog, 5},
		{"stray-and-fill-bytes", stray, 5},
		{"limit", progressiveGray(16, 16, 30), 11},
		{"cut-in-sos", prog[:sos+3], 0},
		{"soi-only", jpg[:2], 0},
	} {
		if got := jpegScans(tc.data, 10); got != tc.want {
			t.Errorf("%s: %d scans, want %d", tc.name, got, tc.want)
		}
	}
	if _, err := decode(stray, Limits{}, false); err != nil {
		t.Errorf("image/jpeg no longer skips stray bytes, so the count need not: %v", err)
	}
}

// FuzzDecodeTurbo: whatever the bytes, the turbo path must not crash and must give what
// image/jpeg alone gives (the same error text, or an image of the same size), with one known
// exception, where libjpeg-turbo is more lenient: data image/jpeg calls corrupt may decode. The
// fuzzer found two kinds (TestDecodeTurboLenient has the first): a JPEG without Huffman tables,
// to which libjpeg-turbo supplies the standard ones as Motion-JPEG expects, and damaged entropy
// data that image/jpeg stops at ("bad Huffman code") while libjpeg-turbo's fast Huffman decoder
// reads on without a warning, to garbage pixels.
func FuzzDecodeTurbo(f *testing.F) {
	jpg := smallJPEG(f, 9, 7)
	for _, s := range [][]byte{
		jpg,
		withExif(jpg, 6, false),
		withoutDHT(jpg),
		progressiveGray(24, 16, 3),
		modeltest.ReadFace(f, "_special/derived/Colin_Powell_0153__small24.jpg"),
		modeltest.ReadFace(f, "_special/derived/Colin_Powell_0153__jpegq5.jpg"),
		modeltest.ReadFace(f, "_special/derived/Arnold_Schwarzenegger_0011__small48.jpg"),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		skipWithoutTurbo(t)
		want, werr := decode(data, fuzzLimits, false)
		got, gerr := decode(data, fuzzLimits, true)
		if gerr == nil && errors.Is(werr, ErrCorrupt) {
			checkImage(t, got, fuzzLimits)
			return // the leniency above
		}
		if fmt.Sprint(gerr) != fmt.Sprint(werr) {
			t.Fatalf("%v; image/jpeg alone: %v", gerr, werr)
		}
		if gerr == nil {
			checkImage(t, got, fuzzLimits)
			if got.W != want.W || got.H != want.H {
				t.Fatalf("%s; image/jpeg alone %s", describe(got), describe(want))
			}
		}
	})
}

// withoutDHT drops a JPEG's Huffman tables (DHT segments), as Motion-JPEG frames do.
func withoutDHT(jpg []byte) []byte {
	out := bytes.Clone(jpg[:2])
	for i := 2; i+4 <= len(jpg); {
		if jpg[i+1] == 0xda { // SOS: the rest is scan data
			return append(out, jpg[i:]...)
		}
		n := 2 + int(binary.BigEndian.Uint16(jpg[i+2:]))
		if jpg[i+1] != 0xc4 {
			out = append(out, jpg[i:i+n]...)
		}
		i += n
	}
	return out
}

// A JPEG without Huffman tables (a Motion-JPEG frame) is the one kind of file image/jpeg refuses
// that libjpeg-turbo now decodes correctly: image/jpeg's encoder writes the standard tables,
// which libjpeg-turbo supplies when a file has none, so the stripped file decodes to exactly the
// original's pixels.
func TestDecodeTurboLenient(t *testing.T) {
	skipWithoutTurbo(t)
	jpg := modeltest.ReadFace(t, "_special/derived/Colin_Powell_0153__small48.jpg")
	if !bytes.Contains(jpg, []byte{0xff, 0xc4}) {
		t.Fatal("no DHT to drop")
	}
	orig := encode(t, "jpeg", toNRGBA(mustDecode(t, jpg)))
	mjpeg := withoutDHT(orig)
	if _, err := decode(mjpeg, Limits{}, false); !errors.Is(err, ErrCorrupt) {
		t.Errorf("image/jpeg on a JPEG without Huffman tables: %v, want ErrCorrupt", err)
	}
	if _, mx := diff(mustDecode(t, mjpeg), mustDecode(t, orig)); mx != 0 {
		t.Errorf("without its Huffman tables: differs from the original (max %d)", mx)
	}
}
