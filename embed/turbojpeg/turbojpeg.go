// Package turbojpeg is the thin cgo boundary to libjpeg-turbo's TurboJPEG API (Debian bookworm's
// libturbojpeg0-dev, libjpeg-turbo 2.1.5, API v2): it decodes a JPEG straight into packed 8-bit RGB.
// Callers see byte slices and errors, never C types. It is the only package with cgo for JPEG.
//
// Without cgo the package still builds; DecodeRGB then returns ErrUnavailable and callers fall back
// to image/jpeg.
package turbojpeg

import (
	"errors"
	"sync/atomic"
)

// Sentinel errors: every error from DecodeRGB wraps exactly one of them. The text after it
// (libjpeg's own message for ErrDecode) is for logs. Immutable, safe for concurrent use.
var (
	// ErrUnavailable: the binary was built without cgo.
	ErrUnavailable = errors.New("turbojpeg: not built in (needs cgo)")
	// ErrColorspace: a CMYK or YCCK JPEG, which libjpeg cannot turn into RGB.
	ErrColorspace = errors.New("turbojpeg: CMYK or YCCK image, no RGB output")
	// ErrShortBuffer: dst holds fewer than 3*w*h bytes for the w x h the header declares.
	ErrShortBuffer = errors.New("turbojpeg: destination buffer too small")
	// ErrDecode: libjpeg refused the data, or warned about it (truncated or damaged entropy data,
	// more than 500 progressive scans, ...). A warning counts as a failure: what was written to
	// dst so far is not an image.
	ErrDecode = errors.New("turbojpeg: cannot decode")
)

// live counts TurboJPEG handles not yet destroyed; the tests check it returns to zero.
var live atomic.Int64
