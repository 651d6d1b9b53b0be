// Package models owns the model manifest: for every ONNX model Vigil can run, its file, sha256,
// role, input tensor and preprocessing (size, colour order, scale, mean/std) and output layout.
// The default manifest is embedded; an operator may supply another file to run a different
// ArcFace-style model without code changes. Model files themselves are never committed: `make
// models` copies them into a models directory and Verify checks them. Pure Go; it imports no other
// package of Vigil. Subpackage models/ort is the only importer of onnxruntime_go.
package models
