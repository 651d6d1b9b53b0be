/*
 * vigil: IndexBinary C API functions that FAISS 1.7.3 lacks (used by go-faiss).
 */
#ifndef VIGIL_FAISS_INDEX_BINARY_C_EX_H
#define VIGIL_FAISS_INDEX_BINARY_C_EX_H

#include <stddef.h>
#include <stdint.h>

#include "IndexBinary_c.h"
#include "faiss_c.h"
#include "impl/AuxIndexStructures_c.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Like faiss_IndexBinary_search with optional parameters (may be NULL).
 * IVF parameters set nprobe / max_codes per query. Parameters carrying an ID
 * selector are refused: FAISS 1.7.3 cannot filter binary indexes. */
int faiss_IndexBinary_search_with_params(
        const FaissIndexBinary* index,
        idx_t n,
        const uint8_t* x,
        idx_t k,
        const FaissSearchParameters* params,
        int32_t* distances,
        idx_t* labels);

/* Approximate memory held by the index, in bytes (0 on error). */
size_t faiss_IndexBinary_size(const FaissIndexBinary* index);

/* faiss::index_binary_factory; description must not be NULL. */
int faiss_index_binary_factory(
        FaissIndexBinary** p_index,
        int d,
        const char* description);

#ifdef __cplusplus
}
#endif

#endif
