/*
 * vigil: IndexIVF C API functions that FAISS 1.7.3 lacks (used by go-faiss).
 */
#ifndef VIGIL_FAISS_INDEX_IVF_C_EX_H
#define VIGIL_FAISS_INDEX_IVF_C_EX_H

#include <stddef.h>

#include "IndexIVF_c.h"
#include "Index_c.h"
#include "faiss_c.h"
#include "impl/AuxIndexStructures_c.h"

#ifdef __cplusplus
extern "C" {
#endif

/* direct_map_type: 0 none, 1 array (sequential ids), 2 hash table. */
int faiss_IndexIVF_set_direct_map(FaissIndexIVF* index, int direct_map_type);

/* Adds to list_counts[l] the number of vectors of list l that the selector of
 * params selects (all of them when params or its selector is NULL).
 * list_counts_size must be at least nlist. */
int faiss_IndexIVF_list_vector_count(
        const FaissIndexIVF* index,
        idx_t* list_counts,
        size_t list_counts_size,
        const FaissSearchParameters* params);

/* Searches the coarse quantizer: the k centroids closest to each of the n
 * queries, among those the selector of params (centroid ids) selects. */
int faiss_IndexIVF_search_closest_eligible_centroids(
        const FaissIndexIVF* index,
        idx_t n,
        const float* query,
        idx_t k,
        float* centroid_distances,
        idx_t* centroid_ids,
        const FaissSearchParameters* params);

/* Searches the given lists: assign and centroid_dis hold n * nprobe entries,
 * nprobe being that of params when they are IVF parameters, else the index's. */
int faiss_IndexIVF_search_preassigned_with_params(
        const FaissIndexIVF* index,
        idx_t n,
        const float* x,
        idx_t k,
        const idx_t* assign,
        const float* centroid_dis,
        float* distances,
        idx_t* labels,
        int store_pairs,
        const FaissSearchParameters* params);

/* Fills whichever outputs are non-NULL: centroid_vectors (nlist * d floats),
 * cardinalities (nlist list sizes) and centroid_ids (0..nlist-1). */
int faiss_IndexIVF_get_centroids_and_cardinality(
        const FaissIndexIVF* index,
        float* centroid_vectors,
        size_t* cardinalities,
        idx_t* centroid_ids);

/* Makes target use a copy of source's trained quantizers (coarse quantizer,
 * and scalar quantizer for IVF-SQ), so it can be filled without training.
 * Supports IVF-Flat and IVF-SQ (source and target of the same type). */
int faiss_Set_quantizers(FaissIndexIVF* target, FaissIndex* source);

#ifdef __cplusplus
}
#endif

#endif
