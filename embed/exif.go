package embed

import (
	"bytes"
	"encoding/binary"
)

// EXIF orientation: one tag (0x0112) in IFD0 of a TIFF structure, which JPEG carries in an APP1
// "Exif" segment, WebP in an EXIF chunk, and a TIFF file is itself. One tag does not justify an
// EXIF library; the readers below check every offset against the slice and return 1 (as stored)
// for anything missing or malformed, so garbage can never fail a decode or panic. Values follow
// EXIF 2.32 / TIFF 6.0: 1 normal, 2 mirrored, 3 rotated 180°, 4 flipped, 5 transposed,
// 6 needs 90° clockwise, 7 transversed, 8 needs 90° counter-clockwise.

const tagOrientation = 0x0112

// tiffOrientation reads Orientation from IFD0 of the TIFF structure at the start of t.
func tiffOrientation(t []byte) int {
	if len(t) < 8 {
		return 1
	}
	var bo binary.ByteOrder
	switch string(t[:4]) {
	case "II*\x00":
		bo = binary.LittleEndian
	case "MM\x00*":
		bo = binary.BigEndian
	default:
		return 1
	}
	// uint64 so that offset+length cannot wrap, whatever the 32-bit offset says.
	size := uint64(len(t))
	off := uint64(bo.Uint32(t[4:]))
	if off+2 > size {
		return 1
	}
	for n, e := bo.Uint16(t[off:]), off+2; n > 0 && e+12 <= size; n, e = n-1, e+12 {
		if bo.Uint16(t[e:]) != tagOrientation {
			continue
		}
		// Entry: tag(2) type(2) count(4) value(4); a single value sits left-justified in the
		// value field. The spec says SHORT; LONG is off-spec but costs nothing to accept.
		var v uint32
		switch typ, count := bo.Uint16(t[e+2:]), bo.Uint32(t[e+4:]); {
		case count != 1:
			return 1
		case typ == 3:
			v = uint32(bo.Uint16(t[e+8:]))
		case typ == 4:
			v = bo.Uint32(t[e+8:])
		}
		if v < 1 || v > 8 {
			return 1
		}
		return int(v)
	}
	return 1
}

var exifHeader = []byte("Exif\x00\x00")

// jpegOrientation walks the JPEG marker segments up to the first scan and reads the first APP1
// Exif segment. A segment cut short by the end of data is still parsed as far as it goes.
func jpegOrientation(b []byte) int {
	if len(b) < 2 || b[0] != 0xff || b[1] != 0xd8 {
		return 1
	}
	for i := 2; i+4 <= len(b); {
		if b[i] != 0xff {
			return 1 // lost sync: not a marker where one must be
		}
		switch m := b[i+1]; {
		case m == 0xff: // fill byte before a marker
			i++
		case m == 0x01 || m >= 0xd0 && m <= 0xd8: // TEM, RSTn, SOI: no length field
			i += 2
		case m == 0xda || m == 0xd9: // SOS, EOI: metadata is over
			return 1
		default:
			n := int(b[i+2])<<8 | int(b[i+3]) // includes its own two bytes
			if n < 2 {
				return 1
			}
			seg := b[i+4 : min(i+2+n, len(b))]
			if m == 0xe1 && bytes.HasPrefix(seg, exifHeader) {
				return tiffOrientation(seg[len(exifHeader):])
			}
			i += 2 + n
		}
	}
	return 1
}

// webpOrientation reads the RIFF EXIF chunk of an extended (VP8X) WebP. The spec says the chunk
// holds a bare TIFF structure; some writers keep JPEG's "Exif\0\0" prefix, so both are accepted.
func webpOrientation(b []byte) int {
	for i := uint64(12); i+8 <= uint64(len(b)); {
		n := uint64(binary.LittleEndian.Uint32(b[i+4:]))
		body := b[i+8 : min(i+8+n, uint64(len(b)))]
		if string(b[i:i+4]) == "EXIF" {
			return tiffOrientation(bytes.TrimPrefix(body, exifHeader))
		}
		i += 8 + n + n&1 // chunks are padded to even length
	}
	return 1
}

// orient returns img turned upright for EXIF orientation o, as a new Image; img itself for 1 or an
// unknown value. Each source pixel (x, y) goes to destination index base + x*dx + y*dy (in pixels),
// the eight cases below being the EXIF table: e.g. 6 means stored row 0 is the visual right side
// and stored column 0 the visual top, so (x, y) lands at column H-1-y, row x of an H-wide image.
func orient(img *Image, o int) *Image {
	w, h := img.W, img.H
	var base, dx, dy int
	switch o {
	case 2: // mirror: (W-1-x, y)
		base, dx, dy = w-1, -1, w
	case 3: // rotate 180: (W-1-x, H-1-y)
		base, dx, dy = w*h-1, -1, -w
	case 4: // flip: (x, H-1-y)
		base, dx, dy = (h-1)*w, 1, -w
	case 5: // transpose: (y, x)
		base, dx, dy = 0, h, 1
	case 6: // rotate 90 clockwise: (H-1-y, x)
		base, dx, dy = h-1, h, -1
	case 7: // transverse: (H-1-y, W-1-x)
		base, dx, dy = w*h-1, -h, -1
	case 8: // rotate 90 counter-clockwise: (y, W-1-x)
		base, dx, dy = (w-1)*h, -h, 1
	default:
		return img
	}
	out := &Image{W: w, H: h, Pix: make([]uint8, len(img.Pix))}
	if o >= 5 {
		out.W, out.H = h, w
	}
	src, dst := img.Pix, out.Pix
	for y := 0; y < h; y++ {
		row := src[3*w*y : 3*w*(y+1)]
		d := base + y*dy
		for x := 0; x < w; x++ {
			s, p := row[3*x:3*x+3:3*x+3], dst[3*d:3*d+3:3*d+3]
			p[0], p[1], p[2] = s[0], s[1], s[2]
			d += dx
		}
	}
	return out
}
