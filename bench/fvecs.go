package bench

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
)

// MaxVecDim bounds the per-vector dimension read from .fvecs/.ivecs files, so a corrupt header
// cannot ask for gigabytes.
const MaxVecDim = 1 << 16

// ErrFormat marks a malformed or truncated .fvecs/.ivecs file.
var ErrFormat = errors.New("bench: malformed vector file")

// ReadFvecs reads vectors in .fvecs layout: for each vector a little-endian int32 dimension, then
// that many little-endian float32s. Every vector must have the same dimension and finite values.
// It returns the vectors back to back (n*dim floats) and dim.
func ReadFvecs(r io.Reader) ([]float32, int, error) { return readFvecs(r, 0) }

// ReadIvecs reads vectors in .ivecs layout (int32 dimension, then that many int32s), the format
// of ground-truth neighbour lists. It returns them back to back and dim.
func ReadIvecs(r io.Reader) ([]int32, int, error) { return readIvecs(r, 0) }

func readFvecs(r io.Reader, hint int) ([]float32, int, error) {
	return readVecs(r, hint, func(n int, u uint32) (float32, error) {
		f := math.Float32frombits(u)
		if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
			return 0, fmt.Errorf("%w: vector %d holds a non-finite value", ErrFormat, n)
		}
		return f, nil
	})
}

func readIvecs(r io.Reader, hint int) ([]int32, int, error) {
	return readVecs(r, hint, func(_ int, u uint32) (int32, error) { return int32(u), nil })
}

// ReadFvecsFile reads a .fvecs file; see ReadFvecs.
func ReadFvecsFile(path string) ([]float32, int, error) {
	var (
		v   []float32
		dim int
	)
	err := readFile(path, func(r io.Reader, hint int) (err error) { v, dim, err = readFvecs(r, hint); return })
	return v, dim, err
}

// ReadIvecsFile reads an .ivecs file; see ReadIvecs.
func ReadIvecsFile(path string) ([]int32, int, error) {
	var (
		v   []int32
		dim int
	)
	err := readFile(path, func(r io.Reader, hint int) (err error) { v, dim, err = readIvecs(r, hint); return })
	return v, dim, err
}

func readFile(path string, read func(r io.Reader, hint int) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	hint := 0
	if fi, err := f.Stat(); err == nil && fi.Size() < 1<<40 {
		hint = int(fi.Size() / 4)
	}
	if err := read(bufio.NewReaderSize(f, 1<<20), hint); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// readVecs reads records of (uint32 dim, dim uint32 words), converting each word with conv
// (given the vector's number). hint, when known, presizes the result.
func readVecs[T any](r io.Reader, hint int, conv func(n int, u uint32) (T, error)) ([]T, int, error) {
	le := binary.LittleEndian
	var hdr [4]byte
	dim := 0
	out := make([]T, 0, hint)
	var row []byte
	for n := 0; ; n++ {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			if err == io.EOF {
				break
			}
			return nil, 0, fmt.Errorf("%w: vector %d: truncated header", ErrFormat, n)
		}
		d := int32(le.Uint32(hdr[:]))
		if d <= 0 || d > MaxVecDim {
			return nil, 0, fmt.Errorf("%w: vector %d: dimension %d", ErrFormat, n, d)
		}
		if dim == 0 {
			dim = int(d)
			row = make([]byte, 4*dim)
		} else if int(d) != dim {
			return nil, 0, fmt.Errorf("%w: vector %d: dimension %d, earlier ones %d", ErrFormat, n, d, dim)
		}
		if _, err := io.ReadFull(r, row); err != nil {
			return nil, 0, fmt.Errorf("%w: vector %d: truncated", ErrFormat, n)
		}
		for i := 0; i < dim; i++ {
			v, err := conv(n, le.Uint32(row[4*i:]))
			if err != nil {
				return nil, 0, err
			}
			out = append(out, v)
		}
	}
	if dim == 0 {
		return nil, 0, fmt.Errorf("%w: no vectors", ErrFormat)
	}
	return out, dim, nil
}

// WriteFvecs writes len(v)/dim vectors in .fvecs layout.
func WriteFvecs(w io.Writer, v []float32, dim int) error {
	return writeVecs(w, len(v), dim, func(i int) uint32 { return math.Float32bits(v[i]) })
}

// WriteIvecs writes len(v)/dim vectors in .ivecs layout.
func WriteIvecs(w io.Writer, v []int32, dim int) error {
	return writeVecs(w, len(v), dim, func(i int) uint32 { return uint32(v[i]) })
}

func writeVecs(w io.Writer, n, dim int, word func(int) uint32) error {
	if dim <= 0 || dim > MaxVecDim || n%dim != 0 {
		return fmt.Errorf("bench: write %d values as vectors of %d", n, dim)
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	le := binary.LittleEndian
	var b [4]byte
	for i := 0; i < n; i++ {
		if i%dim == 0 {
			le.PutUint32(b[:], uint32(dim))
			if _, err := bw.Write(b[:]); err != nil {
				return err
			}
		}
		le.PutUint32(b[:], word(i))
		if _, err := bw.Write(b[:]); err != nil {
			return err
		}
	}
	return bw.Flush()
}
