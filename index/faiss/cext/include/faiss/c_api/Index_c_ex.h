/*
 * vigil: Index C API functions that FAISS 1.7.3 lacks (used by go-faiss).
 */
#ifndef VIGIL_FAISS_INDEX_C_EX_H
#define VIGIL_FAISS_INDEX_C_EX_H

#include <stddef.h>

#include "Index_c.h"
#include "faiss_c.h"
#include "impl/AuxIndexStructures_c.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Like faiss_Index_search, with optional parameters (may be NULL). Works on
 * every index type FAISS 1.7.3 can filter: flat, scalar quantizer, IVF and
 * HNSW, also when wrapped in IDMap/IDMap2 (the selector then sees the
 * external ids) or in a pre-transform. */
int faiss_Index_search_with_params(
        const FaissIndex* index,
        idx_t n,
        const float* x,
        idx_t k,
        const FaissSearchParameters* params,
        float* distances,
        idx_t* labels);

/* Reconstructs the vectors with ids keys[0..n) into recons (n * d floats). */
int faiss_Index_reconstruct_batch(
        const FaissIndex* index,
        idx_t n,
        const idx_t* keys,
        float* recons);

/* Moves all vectors of `other` into `index`, adding add_id to their ids. */
int faiss_Index_merge_from(FaissIndex* index, FaissIndex* other, idx_t add_id);

/* Approximate memory held by the index, in bytes (0 on error). */
size_t faiss_Index_size(const FaissIndex* index);

/* distances[i] = distance between query (d floats) and stored vector ids[i],
 * in the index's metric (squared L2, or inner product). */
int faiss_Index_dist_compute(
        const FaissIndex* index,
        const float* query,
        const idx_t* ids,
        size_t n_ids,
        float* distances);

/* Sets the number of OpenMP threads for later FAISS calls (0: leave as is).
 * OpenMP keeps this per OS thread, so it is recorded and re-applied by the
 * functions of this extension on whichever thread calls them. */
void faiss_set_omp_threads(unsigned int n);

#ifdef __cplusplus
}
#endif

#endif
