/*
 * vigil: more IndexBinaryIVF C API functions (used by go-faiss).
 *
 * FAISS 1.7.3 cannot filter binary indexes by id: every function here fails
 * with an error when given parameters that carry an ID selector, except
 * faiss_IndexBinaryIVF_list_vector_count, which only counts.
 */
#ifndef VIGIL_FAISS_INDEX_BINARY_IVF_C_EX_H
#define VIGIL_FAISS_INDEX_BINARY_IVF_C_EX_H

#include <stddef.h>
#include <stdint.h>

#include "IndexBinaryIVF_c.h"
#include "faiss_c.h"
#include "impl/AuxIndexStructures_c.h"

#ifdef __cplusplus
extern "C" {
#endif

/* direct_map_type: 0 none, 1 array (sequential ids), 2 hash table. */
int faiss_IndexBinaryIVF_set_direct_map(
        FaissIndexBinaryIVF* index,
        int direct_map_type);

/* Same contract as faiss_IndexIVF_list_vector_count. */
int faiss_IndexBinaryIVF_list_vector_count(
        const FaissIndexBinaryIVF* index,
        idx_t* list_counts,
        size_t list_counts_size,
        const FaissSearchParameters* params);

int faiss_IndexBinaryIVF_search_closest_eligible_centroids(
        const FaissIndexBinaryIVF* index,
        idx_t n,
        const uint8_t* x,
        idx_t k,
        int32_t* centroid_distances,
        idx_t* centroid_ids,
        const FaissSearchParameters* params);

int faiss_IndexBinaryIVF_search_preassigned_with_params(
        const FaissIndexBinaryIVF* index,
        idx_t n,
        const uint8_t* x,
        idx_t k,
        const idx_t* assign,
        const int32_t* centroid_dis,
        int32_t* distances,
        idx_t* labels,
        int store_pairs,
        const FaissSearchParameters* params);

/* centroid_vectors: nlist * code_size bytes; other outputs as for IndexIVF. */
int faiss_IndexBinaryIVF_get_centroids_and_cardinality(
        const FaissIndexBinaryIVF* index,
        uint8_t* centroid_vectors,
        size_t* cardinalities,
        idx_t* centroid_ids);

#ifdef __cplusplus
}
#endif

#endif
