package bench

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestVecsRoundTrip(t *testing.T) {
	f := []float32{1, -2.5, 3e-8, float32(math.Pi), 0, 7, -1e30, 1e30, 0.5}
	var b bytes.Buffer
	if err := WriteFvecs(&b, f, 3); err != nil {
		t.Fatal(err)
	}
	if b.Len() != 3*(4+3*4) {
		t.Fatalf("wrote %d bytes", b.Len())
	}
	got, dim, err := ReadFvecs(bytes.NewReader(b.Bytes()))
	if err != nil || dim != 3 || !slices.Equal(got, f) {
		t.Fatalf("fvecs: %v %d %v", got, dim, err)
	}

	iv := []int32{0, 5, -1, 1 << 30, 42, 7}
	b.Reset()
	if err := WriteIvecs(&b, iv, 2); err != nil {
		t.Fatal(err)
	}
	gi, dim, err := ReadIvecs(bytes.NewReader(b.Bytes()))
	if err != nil || dim != 2 || !slices.Equal(gi, iv) {
		t.Fatalf("ivecs: %v %d %v", gi, dim, err)
	}

	// Files, as the CLI reads them.
	dir := t.TempDir()
	path := filepath.Join(dir, "x.fvecs")
	fh, _ := os.Create(path)
	if err := WriteFvecs(fh, f, 9); err != nil {
		t.Fatal(err)
	}
	fh.Close()
	if got, dim, err := ReadFvecsFile(path); err != nil || dim != 9 || !slices.Equal(got, f) {
		t.Fatalf("file: %v %d %v", got, dim, err)
	}
	if _, _, err := ReadIvecsFile(filepath.Join(dir, "missing.ivecs")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
}

func TestVecsRejectMalformed(t *testing.T) {
	le := binary.LittleEndian
	rec := func(dim int32, words ...uint32) []byte {
		b := le.AppendUint32(nil, uint32(dim))
		for _, w := range words {
			b = le.AppendUint32(b, w)
		}
		return b
	}
	one := math.Float32bits(1)
	good := append(rec(2, one, one), rec(2, one, one)...)
	cases := map[string][]byte{
		"empty":              nil,
		"short header":       good[:2],
		"truncated vector":   good[:len(good)-1],
		"header only":        append(slices.Clone(good), rec(2)...),
		"zero dimension":     rec(0),
		"negative dimension": rec(-3, one, one, one),
		"huge dimension":     rec(MaxVecDim+1, one),
		"changing dimension": append(rec(2, one, one), rec(3, one, one, one)...),
		"NaN":                rec(2, one, math.Float32bits(float32(math.NaN()))),
		"Inf":                rec(2, math.Float32bits(float32(math.Inf(-1))), one),
	}
	for name, b := range cases {
		if _, _, err := ReadFvecs(bytes.NewReader(b)); !errors.Is(err, ErrFormat) {
			t.Errorf("fvecs %s: err %v, want ErrFormat", name, err)
		}
		if name == "NaN" || name == "Inf" {
			continue // any bits are a valid int32
		}
		if _, _, err := ReadIvecs(bytes.NewReader(b)); !errors.Is(err, ErrFormat) {
			t.Errorf("ivecs %s: err %v, want ErrFormat", name, err)
		}
	}
	// A truncated file names the file.
	path := filepath.Join(t.TempDir(), "cut.fvecs")
	os.WriteFile(path, good[:len(good)-3], 0o600)
	if _, _, err := ReadFvecsFile(path); !errors.Is(err, ErrFormat) || !bytes.Contains([]byte(err.Error()), []byte("cut.fvecs")) {
		t.Errorf("truncated file: %v", err)
	}
	if err := WriteFvecs(&bytes.Buffer{}, []float32{1, 2, 3}, 2); err == nil {
		t.Error("WriteFvecs of a partial vector: no error")
	}
}

func TestNormalizeAll(t *testing.T) {
	v := []float32{3, 4, 0, 0.6, 0.8, 0}
	changed, err := NormalizeAll(v, 3)
	if err != nil || changed != 1 {
		t.Fatalf("changed %d, err %v", changed, err)
	}
	if math.Abs(float64(v[0])-0.6) > 1e-6 || math.Abs(float64(v[1])-0.8) > 1e-6 {
		t.Fatalf("got %v", v)
	}
	if _, err := NormalizeAll([]float32{1, 0, 0, 0}, 2); err == nil {
		t.Fatal("zero vector accepted")
	}
}
