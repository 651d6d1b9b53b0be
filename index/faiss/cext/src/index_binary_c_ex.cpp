// vigil: IndexBinary / IndexBinaryIVF C API functions that FAISS 1.7.3 lacks.
//
// FAISS 1.7.3 has no ID filtering for binary indexes (every binary search
// refuses search parameters), so selectors are rejected with an error here;
// per-query IVF nprobe / max_codes are supported.

#include <faiss/c_api/IndexBinaryIVF_c.h>
#include <faiss/c_api/IndexBinaryIVF_c_ex.h>
#include <faiss/c_api/IndexBinary_c_ex.h>

#include <faiss/IndexBinaryFlat.h>
#include <faiss/IndexBinaryHNSW.h>
#include <faiss/IndexBinaryIVF.h>
#include <faiss/IndexIDMap.h>
#include <faiss/IndexIVF.h>
#include <faiss/index_factory.h>

#include <algorithm>
#include <memory>

#include "ext_common.h"

using namespace vigil_faiss;

namespace {

const faiss::IndexBinaryIVF* as_bivf(const FaissIndexBinaryIVF* index, const char* what) {
    return checked_cast<const faiss::IndexBinaryIVF>(as_binary(index), what);
}

void refuse_selector(const faiss::SearchParameters* p, const char* what) {
    if (p && p->sel) {
        fail("%s: ID selectors on binary indexes are not supported with "
             "FAISS 1.7.3",
             what);
    }
}

void search_binary(
        const faiss::IndexBinary* index,
        idx_t n,
        const uint8_t* x,
        idx_t k,
        int32_t* distances,
        idx_t* labels,
        const faiss::SearchParameters* p) {
    if (auto* idmap = dynamic_cast<const faiss::IndexBinaryIDMap*>(index)) {
        search_binary(idmap->index, n, x, k, distances, labels, p);
        for (idx_t i = 0; i < n * k; i++) {
            if (labels[i] >= 0) {
                labels[i] = idmap->id_map[labels[i]];
            }
        }
        return;
    }
    auto* ivf = dynamic_cast<const faiss::IndexBinaryIVF*>(index);
    auto* ip = dynamic_cast<const faiss::SearchParametersIVF*>(p);
    if (!ivf || !ip) {
        index->search(n, x, k, distances, labels);
        return;
    }
    // IndexBinaryIVF::search refuses parameters in 1.7.3, but its
    // search_preassigned honours nprobe and max_codes: do search()'s two steps.
    size_t nprobe = std::min(ivf->nlist, ip->nprobe);
    if (k <= 0 || nprobe == 0) {
        fail("binary IVF search: k and nprobe must be > 0");
    }
    std::unique_ptr<idx_t[]> assign(new idx_t[n * nprobe]);
    std::unique_ptr<int32_t[]> coarse_dis(new int32_t[n * nprobe]);
    ivf->quantizer->search(n, x, nprobe, coarse_dis.get(), assign.get());
    ivf->invlists->prefetch_lists(assign.get(), n * nprobe);
    ivf->search_preassigned(
            n, x, k, assign.get(), coarse_dis.get(), distances, labels, false, ip);
}

template <class T>
size_t vec_bytes(const std::vector<T>& v) {
    return v.capacity() * sizeof(T);
}

size_t binary_size(const faiss::IndexBinary* index) {
    if (!index) {
        return 0;
    }
    if (auto* idmap = dynamic_cast<const faiss::IndexBinaryIDMap*>(index)) {
        size_t s = vec_bytes(idmap->id_map) + binary_size(idmap->index);
        if (auto* idmap2 = dynamic_cast<const faiss::IndexBinaryIDMap2*>(index)) {
            s += idmap2->rev_map.size() * (2 * sizeof(idx_t) + 2 * sizeof(void*));
        }
        return s;
    }
    if (auto* flat = dynamic_cast<const faiss::IndexBinaryFlat*>(index)) {
        return vec_bytes(flat->xb);
    }
    if (auto* hnsw = dynamic_cast<const faiss::IndexBinaryHNSW*>(index)) {
        const auto& g = hnsw->hnsw;
        return binary_size(hnsw->storage) + vec_bytes(g.neighbors) +
                vec_bytes(g.offsets) + vec_bytes(g.levels);
    }
    if (auto* ivf = dynamic_cast<const faiss::IndexBinaryIVF*>(index)) {
        size_t s = binary_size(ivf->quantizer);
        for (size_t l = 0; ivf->invlists && l < ivf->nlist; l++) {
            s += ivf->invlists->list_size(l) * (ivf->code_size + sizeof(idx_t));
        }
        s += vec_bytes(ivf->direct_map.array) +
                ivf->direct_map.hashtable.size() *
                        (2 * sizeof(idx_t) + 2 * sizeof(void*));
        return s;
    }
    return size_t(index->ntotal) * index->code_size;
}

} // namespace

extern "C" {

DEFINE_DESTRUCTOR(IndexBinaryIVF)
DEFINE_GETTER(IndexBinaryIVF, size_t, nlist)
DEFINE_GETTER(IndexBinaryIVF, size_t, nprobe)
DEFINE_SETTER(IndexBinaryIVF, size_t, nprobe)
DEFINE_GETTER(IndexBinaryIVF, size_t, max_codes)
DEFINE_SETTER(IndexBinaryIVF, size_t, max_codes)
DEFINE_GETTER_PERMISSIVE(IndexBinaryIVF, FaissIndexBinary*, quantizer)

FaissIndexBinaryIVF* faiss_IndexBinaryIVF_cast(FaissIndexBinary* index) {
    return reinterpret_cast<FaissIndexBinaryIVF*>(dynamic_cast<faiss::IndexBinaryIVF*>(
            reinterpret_cast<faiss::IndexBinary*>(index)));
}

int faiss_IndexBinary_search_with_params(
        const FaissIndexBinary* index,
        idx_t n,
        const uint8_t* x,
        idx_t k,
        const FaissSearchParameters* params,
        int32_t* distances,
        idx_t* labels) {
    try {
        if (!index) {
            fail("binary search: NULL index");
        }
        auto* p = as_params(params);
        refuse_selector(p, "binary search");
        apply_omp_threads();
        search_binary(as_binary(index), n, x, k, distances, labels, p);
    }
    CATCH_AND_HANDLE
}

size_t faiss_IndexBinary_size(const FaissIndexBinary* index) {
    try {
        return binary_size(as_binary(index));
    } catch (...) {
        return 0;
    }
}

int faiss_index_binary_factory(FaissIndexBinary** p_index, int d, const char* description) {
    try {
        if (!description) {
            fail("index_binary_factory: NULL description");
        }
        *p_index = reinterpret_cast<FaissIndexBinary*>(
                faiss::index_binary_factory(d, description));
    }
    CATCH_AND_HANDLE
}

int faiss_IndexBinaryIVF_set_direct_map(FaissIndexBinaryIVF* index, int direct_map_type) {
    try {
        if (direct_map_type < faiss::DirectMap::NoMap ||
            direct_map_type > faiss::DirectMap::Hashtable) {
            fail("set_direct_map: unknown direct map type %d", direct_map_type);
        }
        const_cast<faiss::IndexBinaryIVF*>(as_bivf(index, "set_direct_map"))
                ->set_direct_map_type(faiss::DirectMap::Type(direct_map_type));
    }
    CATCH_AND_HANDLE
}

int faiss_IndexBinaryIVF_list_vector_count(
        const FaissIndexBinaryIVF* index,
        idx_t* list_counts,
        size_t list_counts_size,
        const FaissSearchParameters* params) {
    try {
        auto* ivf = as_bivf(index, "list_vector_count");
        auto* p = as_params(params);
        apply_omp_threads();
        count_list_vectors(*ivf, list_counts, list_counts_size, p ? p->sel : nullptr);
    }
    CATCH_AND_HANDLE
}

int faiss_IndexBinaryIVF_search_closest_eligible_centroids(
        const FaissIndexBinaryIVF* index,
        idx_t n,
        const uint8_t* x,
        idx_t k,
        int32_t* centroid_distances,
        idx_t* centroid_ids,
        const FaissSearchParameters* params) {
    try {
        auto* ivf = as_bivf(index, "search_closest_eligible_centroids");
        refuse_selector(as_params(params), "search_closest_eligible_centroids");
        apply_omp_threads();
        ivf->quantizer->search(n, x, k, centroid_distances, centroid_ids);
    }
    CATCH_AND_HANDLE
}

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
        const FaissSearchParameters* params) {
    try {
        auto* ivf = as_bivf(index, "search_preassigned_with_params");
        auto* p = as_params(params);
        refuse_selector(p, "search_preassigned_with_params");
        apply_omp_threads();
        ivf->search_preassigned(
                n, x, k, assign, centroid_dis, distances, labels, store_pairs != 0,
                dynamic_cast<const faiss::SearchParametersIVF*>(p));
    }
    CATCH_AND_HANDLE
}

int faiss_IndexBinaryIVF_get_centroids_and_cardinality(
        const FaissIndexBinaryIVF* index,
        uint8_t* centroid_vectors,
        size_t* cardinalities,
        idx_t* centroid_ids) {
    try {
        auto* ivf = as_bivf(index, "get_centroids_and_cardinality");
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

} // extern "C"
