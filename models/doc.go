// Package models owns the model manifest: for every ONNX model Vigil can run, its file, sha256,
// role, input tensor and preprocessing (size, colour order, scale, mean/std) and output layout.
// The default manifest is embedded; an operator may supply another file to run a different
// ArcFace-style model without code changes. Model files themselves are never committed: `make
// models` copies them into a models directory and Verify checks them. Pure Go; of Vigil it imports
// only models/onnxedit (the edits that derive dynamic-batch models).
//
// models and its subpackages are the leaves that embed, liveness, index and everything above them
// share (cmd/vigilbuild/imports.go lists which leaf may use which): models/ort is the only importer
// of onnxruntime_go, models/prep cuts and resizes model inputs out of decoded photos the way OpenCV
// does, models/vec holds the SIMD vector kernels.
package models
