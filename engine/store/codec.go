package store

import (
	"encoding/binary"
	"fmt"
	"math"
	"time"
	"unsafe"
)

const (
	faceVersion    = 1
	faceHeaderSize = 36 // fixed part before the person id; see doc.go
)

// littleEndian is true on hosts where a []float32 has the on-disk byte layout, so embeddings are
// copied with one memmove instead of a loop. (Every platform Vigil ships on; big-endian still works.)
var littleEndian = func() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}()

// floatBytes views f as its bytes. The float32 slice is aligned, so this is always legal.
func floatBytes(f []float32) []byte {
	if len(f) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&f[0])), 4*len(f))
}

// putFloats writes f as little-endian float32s into b (len(b) >= 4*len(f)).
func putFloats(b []byte, f []float32) {
	if littleEndian {
		copy(b, floatBytes(f))
		return
	}
	for i, v := range f {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
}

// getFloats reads len(f) little-endian float32s from b. b may be unaligned (badger's buffers are).
func getFloats(f []float32, b []byte) {
	if littleEndian {
		copy(floatBytes(f), b[:4*len(f)])
		return
	}
	for i := range f {
		f[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
}

// normalize writes src scaled to unit L2 norm into dst, rejecting NaN, Inf and zero vectors.
// The norm is accumulated in float64 so large dimensions do not lose precision.
func normalize(dst, src []float32) error {
	var ss float64
	for _, v := range src {
		x := float64(v)
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return fmt.Errorf("NaN or Inf component: %w", ErrBadEmbedding)
		}
		ss += x * x
	}
	if ss == 0 || math.IsInf(ss, 0) {
		return fmt.Errorf("zero or overflowing norm: %w", ErrBadEmbedding)
	}
	inv := 1 / math.Sqrt(ss)
	for i, v := range src {
		dst[i] = float32(float64(v) * inv)
	}
	return nil
}

func faceSize(pidLen, dim int) int { return faceHeaderSize + pidLen + 4*dim }

// encodeFace writes f (with an already normalised embedding) into b, which must be exactly
// faceSize(len(f.PersonID), len(f.Embedding)) bytes.
func encodeFace(b []byte, ref [16]byte, f *Face) {
	b[0] = faceVersion
	copy(b[1:17], ref[:])
	binary.LittleEndian.PutUint64(b[17:], uint64(f.CreatedAt.UnixNano()))
	binary.LittleEndian.PutUint32(b[25:], math.Float32bits(f.DetScore))
	binary.LittleEndian.PutUint32(b[29:], math.Float32bits(f.Quality))
	binary.LittleEndian.PutUint16(b[33:], uint16(len(f.Embedding)))
	b[35] = byte(len(f.PersonID))
	n := copy(b[faceHeaderSize:], f.PersonID)
	putFloats(b[faceHeaderSize+n:], f.Embedding)
}

// faceHeader is the part of a face record erasure and sweeps need.
type faceHeader struct {
	ref [16]byte
	pid []byte // aliases the value
	dim int
}

func decodeFaceHeader(b []byte) (faceHeader, error) {
	if len(b) < faceHeaderSize || b[0] != faceVersion {
		return faceHeader{}, errCorruptFace(b)
	}
	var h faceHeader
	copy(h.ref[:], b[1:17])
	h.dim = int(binary.LittleEndian.Uint16(b[33:]))
	pl := int(b[35])
	if len(b) != faceSize(pl, h.dim) {
		return faceHeader{}, errCorruptFace(b)
	}
	h.pid = b[faceHeaderSize : faceHeaderSize+pl]
	return h, nil
}

// decodeFace fills f from value b. The embedding goes into emb (len(emb) must equal the
// stored dimension, which the caller learns from the collection); nothing aliases b afterwards.
func decodeFace(f *Face, b []byte, emb []float32) error {
	h, err := decodeFaceHeader(b)
	if err != nil {
		return err
	}
	if h.dim != len(emb) {
		return fmt.Errorf("store: face of dimension %d in a collection of dimension %d", h.dim, len(emb))
	}
	f.ReferenceID = formatUUID(h.ref)
	f.CreatedAt = time.Unix(0, int64(binary.LittleEndian.Uint64(b[17:]))).UTC()
	f.DetScore = math.Float32frombits(binary.LittleEndian.Uint32(b[25:]))
	f.Quality = math.Float32frombits(binary.LittleEndian.Uint32(b[29:]))
	f.PersonID = string(h.pid)
	getFloats(emb, b[faceHeaderSize+len(h.pid):])
	f.Embedding = emb
	return nil
}

func errCorruptFace(b []byte) error {
	v := -1
	if len(b) > 0 {
		v = int(b[0])
	}
	return fmt.Errorf("store: corrupt or unknown face record (version %d, %d bytes)", v, len(b))
}

// changeSize is the size of one change in a change log entry: op (1 byte), rid (int64 LE).
const changeSize = 9

func encodeChange(op Op, rid int64) []byte {
	b := make([]byte, changeSize)
	putChange(b, op, rid)
	return b
}

func putChange(b []byte, op Op, rid int64) {
	b[0] = byte(op)
	binary.LittleEndian.PutUint64(b[1:], uint64(rid))
}

// Reference lookup values: gen (uint64 LE), rid (int64 LE), collection id.
func decodeRef(b []byte) (gen uint64, rid int64, coll string, err error) {
	if len(b) < 17 {
		return 0, 0, "", fmt.Errorf("store: corrupt reference record (%d bytes)", len(b))
	}
	return binary.LittleEndian.Uint64(b), int64(binary.LittleEndian.Uint64(b[8:])), string(b[16:]), nil
}
