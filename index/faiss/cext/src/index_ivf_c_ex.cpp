// vigil: IndexIVF C API functions that FAISS 1.7.3 lacks.

#include <faiss/c_api/IndexIVF_c_ex.h>

#include <faiss/IndexIVF.h>
#include <faiss/IndexIVFFlat.h>
#include <faiss/IndexScalarQuantizer.h>
#include <faiss/clone_index.h>

#include <memory>
#include <typeinfo>

#include "ext_common.h"

using namespace vigil_faiss;

namespace {

const faiss::IndexIVF* as_ivf(const FaissIndexIVF* index, const char* what) {
    return checked_cast<const faiss::IndexIVF>(as_index(index), what);
}

faiss::IndexIVF* as_ivf(FaissIndexIVF* index, const char* what) {
    return checked_cast<faiss::IndexIVF>(as_index(index), what);
}

} // namespace

extern "C" {

int faiss_IndexIVF_set_direct_map(FaissIndexIVF* index, int direct_map_type) {
    try {
        if (direct_map_type < faiss::DirectMap::NoMap ||
            direct_map_type > faiss::DirectMap::Hashtable) {
            fail("set_direct_map: unknown direct map type %d", direct_map_type);
        }
        as_ivf(index, "set_direct_map")
                ->set_direct_map_type(faiss::DirectMap::Type(direct_map_type));
    }
    CATCH_AND_HANDLE
}

int faiss_IndexIVF_list_vector_count(
        const FaissIndexIVF* index,
        idx_t* list_counts,
        size_t list_counts_size,
        const FaissSearchParameters* params) {
    try {
        auto* ivf = as_ivf(index, "list_vector_count");
        auto* p = as_params(params);
        apply_omp_threads();
        count_list_vectors(*ivf, list_counts, list_counts_size, p ? p->sel : nullptr);
    }
    CATCH_AND_HANDLE
}

int faiss_IndexIVF_search_closest_eligible_centroids(
        const FaissIndexIVF* index,
        idx_t n,
        const float* query,
        idx_t k,
        float* centroid_distances,
        idx_t* centroid_ids,
        const FaissSearchParameters* params) {
    try {
        auto* ivf = as_ivf(index, "search_closest_eligible_centroids");
        apply_omp_threads();
        search_with_params(
                ivf->quantizer, n, query, k, centroid_distances, centroid_ids,
                as_params(params));
    }
    CATCH_AND_HANDLE
}

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
        const FaissSearchParameters* params) {
    try {
        auto* ivf = as_ivf(index, "search_preassigned_with_params");
        auto* p = as_params(params);
        auto* ip = dynamic_cast<const faiss::SearchParametersIVF*>(p);
        faiss::SearchParametersIVF from_index;
        if (p && !ip) {
            from_index.sel = p->sel;
            from_index.nprobe = ivf->nprobe;
            from_index.max_codes = ivf->max_codes;
            ip = &from_index;
        }
        apply_omp_threads();
        ivf->search_preassigned(
                n, x, k, assign, centroid_dis, distances, labels,
                store_pairs != 0, ip);
    }
    CATCH_AND_HANDLE
}

int faiss_IndexIVF_get_centroids_and_cardinality(
        const FaissIndexIVF* index,
        float* centroid_vectors,
        size_t* cardinalities,
        idx_t* centroid_ids) {
    try {
        auto* ivf = as_ivf(index, "get_centroids_and_cardinality");
        if (centroid_vectors) {
            if (!ivf->quantizer || size_t(ivf->quantizer->ntotal) != ivf->nlist) {
                fail("get_centroids_and_cardinality: quantizer is not trained");
            }
            ivf->quantizer->reconstruct_n(0, ivf->nlist, centroid_vectors);
        }
        for (size_t l = 0; l < ivf->nlist; l++) {
            if (cardinalities) {
                cardinalities[l] = ivf->invlists->list_size(l);
            }
            if (centroid_ids) {
                centroid_ids[l] = idx_t(l);
            }
        }
    }
    CATCH_AND_HANDLE
}

int faiss_Set_quantizers(FaissIndexIVF* target, FaissIndex* source) {
    try {
        auto* tgt = as_ivf(target, "Set_quantizers (target)");
        auto* src = checked_cast<faiss::IndexIVF>(as_index(source), "Set_quantizers (source)");
        if (typeid(*tgt) != typeid(*src)) {
            fail("Set_quantizers: source and target are different index types");
        }
        if (tgt->d != src->d || tgt->nlist != src->nlist ||
            tgt->metric_type != src->metric_type || tgt->code_size != src->code_size) {
            fail("Set_quantizers: source and target differ in d, nlist, metric or code size");
        }
        if (!src->is_trained) {
            fail("Set_quantizers: source is not trained");
        }
        // The extra state each supported type needs on top of the coarse
        // quantizer (checked before anything is changed).
        auto* tgt_sq = dynamic_cast<faiss::IndexIVFScalarQuantizer*>(tgt);
        if (!tgt_sq && !dynamic_cast<faiss::IndexIVFFlat*>(tgt)) {
            fail("Set_quantizers: only IVF-Flat and IVF-SQ indexes are supported");
        }
        // A copy, not a shared pointer: both indexes may own and free theirs.
        std::unique_ptr<faiss::Index> q(faiss::clone_index(src->quantizer));
        if (tgt_sq) {
            auto* src_sq = static_cast<faiss::IndexIVFScalarQuantizer*>(src);
            tgt_sq->sq = src_sq->sq;
            tgt_sq->by_residual = src_sq->by_residual;
        }
        if (tgt->own_fields) {
            delete tgt->quantizer;
        }
        tgt->quantizer = q.release();
        tgt->own_fields = true;
        tgt->is_trained = true;
    }
    CATCH_AND_HANDLE
}

} // extern "C"
