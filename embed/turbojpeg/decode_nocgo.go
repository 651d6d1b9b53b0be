//go:build !cgo

package turbojpeg

// Available reports whether DecodeRGB can decode (built with cgo).
const Available = false

// DecodeRGB always fails with ErrUnavailable: the package was built without cgo.
func DecodeRGB(data, dst []byte) (w, h int, err error) { return 0, 0, ErrUnavailable }
