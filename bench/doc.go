// Package bench holds Vigil's end-to-end benchmarks, the ones `vigil bench` runs for SREs sizing a
// deployment, and the data they run on:
//
//   - RunIndex measures 1:N search the way the server does it: faces committed to a badger store
//     and indexed by the catalog (engine/catalog, index.Managed), the collection snapshotted, closed
//     and loaded again cold, then searched at each efSearch for recall@k, latency and throughput,
//     side by side with raw FAISS on the very same index file and thread count.
//   - Synthetic generates face-like embeddings (identities × samples, probes that are new samples
//     of enrolled identities), deterministic per seed; package tests and the *_timing_test.go
//     micro-benchmarks of index and engine/catalog use it too.
//   - ReadFvecs and ReadIvecs read the .fvecs/.ivecs files of the usual ANN datasets.
//
// Figures recorded on real hardware live in RESULTS.md next to this file.
package bench
