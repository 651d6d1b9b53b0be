//go:build cgo

package turbojpeg

/*
#cgo LDFLAGS: -lturbojpeg
#include <turbojpeg.h>

// header returns tjDecompressHeader3's results by value, so that Go passes no pointers to its
// own variables (which would make them escape to the heap on every call).
typedef struct { int rc, w, h, subsamp, cs; } vigil_tj_header;

static vigil_tj_header vigil_tj_read_header(tjhandle h, const unsigned char *buf, unsigned long n) {
	vigil_tj_header r = {0, 0, 0, 0, 0};
	r.rc = tjDecompressHeader3(h, buf, n, &r.w, &r.h, &r.subsamp, &r.cs);
	return r;
}
*/
import "C"

import (
	"fmt"
	"unsafe"
)

// Available reports whether DecodeRGB can decode (built with cgo).
const Available = true

// flags for tjDecompress2: accurate integer IDCT (the decompression default, made explicit) and
// the default smooth ("fancy") chroma upsampling, no TJFLAG_FASTDCT or TJFLAG_FASTUPSAMPLE.
// LIMITSCANS fails progressive files of more than 500 scans (a CPU bomb: each scan walks the
// whole coefficient buffer; embed.Decode counts scans itself first). STOPONWARNING makes
// truncated or damaged data an error instead of an image padded with grey.
const flags = C.TJFLAG_ACCURATEDCT | C.TJFLAG_LIMITSCANS | C.TJFLAG_STOPONWARNING

// DecodeRGB decodes the JPEG in data into dst as packed RGB (3 bytes a pixel, rows of 3*w bytes,
// no padding, top row first) and returns its size. Grayscale JPEGs come out with R = G = B. EXIF
// orientation is not applied. dst must hold at least 3*w*h bytes; it is checked against the
// header before anything is written. On error dst may hold partial output.
//
// Safe for concurrent use: each call owns its TurboJPEG handle (handles are not thread-safe).
// data is only read; neither slice is kept after the call.
func DecodeRGB(data, dst []byte) (w, h int, err error) {
	// No handle pool: creating and destroying one costs 0.3-0.8 µs (measured in C), against
	// ~440 µs to decode a 250x250 JPEG and 12-16 µs for a whole call on an 8x8 one
	// (BenchmarkDecodeRGB8x8), so a pool would save ~0.2 % and need its own cleanup.
	th := C.tjInitDecompress()
	if th == nil {
		return 0, 0, fmt.Errorf("%w: tjInitDecompress failed", ErrDecode)
	}
	live.Add(1)
	defer func() {
		C.tjDestroy(th)
		live.Add(-1)
	}()
	if len(data) == 0 {
		return 0, 0, fmt.Errorf("%w: no data", ErrDecode)
	}
	src := (*C.uchar)(unsafe.Pointer(unsafe.SliceData(data)))
	n := C.ulong(len(data))
	hd := C.vigil_tj_read_header(th, src, n)
	switch {
	case hd.rc != 0:
		return 0, 0, failure(th, "header")
	case hd.w < 1 || hd.h < 1: // a tables-only datastream succeeds without an image
		return 0, 0, fmt.Errorf("%w: header: no image in the data", ErrDecode)
	case hd.cs == C.TJCS_CMYK || hd.cs == C.TJCS_YCCK:
		return 0, 0, ErrColorspace
	}
	w, h = int(hd.w), int(hd.h)
	// JPEG sides are at most 65535, so 3*w fits C's int and the product fits uint64.
	if need := 3 * uint64(w) * uint64(h); uint64(len(dst)) < need {
		return 0, 0, fmt.Errorf("%w: %dx%d needs %d bytes, have %d", ErrShortBuffer, w, h, need, len(dst))
	}
	// tjDecompress2 reads the header again; given exactly its size it does not scale.
	out := (*C.uchar)(unsafe.Pointer(unsafe.SliceData(dst)))
	if C.tjDecompress2(th, src, n, out, hd.w, 3*hd.w, hd.h, C.TJPF_RGB, flags) != 0 {
		return 0, 0, failure(th, "decode")
	}
	return w, h, nil
}

// failure wraps libjpeg's message, kept in the handle until the next call on it. The message
// alone is reported: tjGetErrorCode's warning/fatal split is not reliable in 2.1.5 (a header
// read cut short reports a fatal "missing SOS marker" as TJERR_WARNING).
func failure(th C.tjhandle, step string) error {
	return fmt.Errorf("%w: %s: %s", ErrDecode, step, C.GoString(C.tjGetErrorStr2(th)))
}
