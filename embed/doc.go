// Package embed turns photos into faces and embeddings: image decoding, YuNet detection, 5-point
// alignment and the embedding model, batched through models/ort sessions. It must not import
// engine, api or liveness.
package embed
