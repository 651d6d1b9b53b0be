// Package prep is model input preparation: OpenCV-exact crops and resizes of decoded photos, shared
// by the face stages that cut their own crops out of the same photo (liveness's MiniFASNet crops,
// embed/attributes' age and gender squares). It owns the photo layout those stages read (Image:
// packed 8-bit RGB, the same fields as embed.Image), inclusive pixel rectangles (Rect), and
// Resizer, which reproduces cv::resize INTER_LINEAR on 8-bit RGB byte for byte and writes either
// packed RGB bytes (Resize) or a normalised planar model input (Planar).
//
// Where a crop goes (a face box enlarged by a crop scale, a square around it) is each stage's own
// rule and stays with it (liveness.CropRect, attributes.CropRect); prep only cuts and scales.
//
// Concurrency: Image and Rect are plain values, read-only here, so any number of goroutines may
// read one Image at once. A Resizer keeps its tables between calls and is not safe for concurrent
// use: give each goroutine its own, or pool them.
//
// prep is a leaf beside models/ort: of Vigil it imports only models (for models.Input), so embed,
// liveness and anything above them may use it; it must not import anything else of Vigil's.
package prep
