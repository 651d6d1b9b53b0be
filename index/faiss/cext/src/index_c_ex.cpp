// vigil: Index C API functions that FAISS 1.7.3 lacks.

#include <faiss/c_api/Index_c_ex.h>

#include <faiss/IndexFlat.h>
#include <faiss/IndexFlatCodes.h>
#include <faiss/IndexHNSW.h>
#include <faiss/IndexIDMap.h>
#include <faiss/IndexIVF.h>
#include <faiss/IndexPreTransform.h>
#include <faiss/IndexRefine.h>
#include <faiss/IndexScalarQuantizer.h>
#include <faiss/impl/DistanceComputer.h>
#include <faiss/impl/AuxIndexStructures.h>
#include <faiss/impl/HNSW.h>
#include <faiss/utils/distances.h>

#include <cmath>
#include <memory>
#include <typeinfo>
#include <unordered_map>

#include "ext_common.h"

using namespace vigil_faiss;
using faiss::SearchParameters;
using faiss::SearchParametersHNSW;
using faiss::SearchParametersIVF;

namespace {

// A copy of p (keeping its concrete class, hence its nprobe/efSearch...) whose
// selector is sel.
std::unique_ptr<SearchParameters> with_selector(
        const SearchParameters& p,
        const faiss::IDSelector* sel) {
    std::unique_ptr<SearchParameters> out;
    if (auto* ivf = dynamic_cast<const SearchParametersIVF*>(&p)) {
        out.reset(new SearchParametersIVF(*ivf));
    } else if (auto* hnsw = dynamic_cast<const SearchParametersHNSW*>(&p)) {
        out.reset(new SearchParametersHNSW(*hnsw));
    } else {
        out.reset(new SearchParameters);
    }
    out->sel = const_cast<faiss::IDSelector*>(sel);
    return out;
}

} // namespace

// In 1.7.3 each index type wants its own parameter class (IndexIVF and
// IndexHNSW refuse a plain SearchParameters) and IDMap/IDMap2 refuse any, so
// walk down the wrappers and hand each index the parameters it accepts.
void vigil_faiss::search_with_params(
        const faiss::Index* index,
        idx_t n,
        const float* x,
        idx_t k,
        float* distances,
        idx_t* labels,
        const SearchParameters* p) {
    if (!p) {
        index->search(n, x, k, distances, labels);
        return;
    }
    // IndexIDMap2 derives from IndexIDMap. What later FAISS versions do: the
    // sub-index sees a selector over its own (internal) ids.
    if (auto* idmap = dynamic_cast<const faiss::IndexIDMap*>(index)) {
        std::unique_ptr<IDSelectorIdMap> sel;
        if (p->sel) {
            sel.reset(new IDSelectorIdMap(idmap->id_map, p->sel));
        }
        auto sub = with_selector(*p, sel.get());
        search_with_params(idmap->index, n, x, k, distances, labels, sub.get());
        const auto& id_map = idmap->id_map;
        for (idx_t i = 0; i < n * k; i++) {
            if (labels[i] >= 0) {
                labels[i] = id_map[labels[i]];
            }
        }
        return;
    }
    if (auto* pt = dynamic_cast<const faiss::IndexPreTransform*>(index)) {
        const float* xt = pt->apply_chain(n, x);
        std::unique_ptr<const float[]> del(xt == x ? nullptr : xt);
        search_with_params(pt->index, n, xt, k, distances, labels, p);
        return;
    }
    if (auto* hnsw = dynamic_cast<const faiss::IndexHNSW*>(index)) {
        if (dynamic_cast<const SearchParametersHNSW*>(p)) {
            hnsw->search(n, x, k, distances, labels, p);
            return;
        }
        // Only HNSW's default search path consults the selector.
        if (p->sel && (hnsw->hnsw.upper_beam != 1 || !hnsw->hnsw.search_bounded_queue)) {
            fail("HNSW with upper_beam != 1 or an unbounded queue cannot "
                 "filter by id in FAISS 1.7.3");
        }
        SearchParametersHNSW hp;
        hp.sel = p->sel;
        hp.efSearch = hnsw->hnsw.efSearch;
        hp.check_relative_distance = hnsw->hnsw.check_relative_distance;
        hnsw->search(n, x, k, distances, labels, &hp);
        return;
    }
    if (auto* ivf = dynamic_cast<const faiss::IndexIVF*>(index)) {
        if (dynamic_cast<const SearchParametersIVF*>(p)) {
            ivf->search(n, x, k, distances, labels, p);
            return;
        }
        SearchParametersIVF ip;
        ip.sel = p->sel;
        ip.nprobe = ivf->nprobe;
        ip.max_codes = ivf->max_codes;
        ivf->search(n, x, k, distances, labels, &ip);
        return;
    }
    // Parameters without a selector change nothing for the remaining types,
    // and most 1.7.3 indexes refuse any parameters at all.
    if (!p->sel) {
        index->search(n, x, k, distances, labels);
        return;
    }
    // Of the remaining types only these read the selector in 1.7.3; say so
    // rather than pass on FAISS's "search params not supported" or,
    // worse, have the selector silently ignored.
    if ((!dynamic_cast<const faiss::IndexFlat*>(index) &&
         !dynamic_cast<const faiss::IndexScalarQuantizer*>(index)) ||
        dynamic_cast<const faiss::IndexFlat1D*>(index)) {
        fail("%s cannot filter by id in FAISS 1.7.3 (supported: flat, scalar "
             "quantizer, IVF and HNSW indexes, optionally under IDMap/IDMap2 "
             "and pre-transforms)",
             type_name(*index).c_str());
    }
    index->search(n, x, k, distances, labels, p);
}

namespace {

void dist_compute(
        const faiss::Index* index,
        const float* q,
        const idx_t* ids,
        size_t n,
        float* out) {
    if (auto* idmap = dynamic_cast<const faiss::IndexIDMap*>(index)) {
        // External ids to positions in the sub-index.
        std::vector<idx_t> internal(n);
        auto* idmap2 = dynamic_cast<const faiss::IndexIDMap2*>(index);
        std::unordered_map<idx_t, idx_t> built;
        const std::unordered_map<idx_t, idx_t>* rev = idmap2 ? &idmap2->rev_map : &built;
        if (!idmap2) {
            for (size_t i = 0; i < idmap->id_map.size(); i++) {
                built.emplace(idmap->id_map[i], idx_t(i));
            }
        }
        for (size_t i = 0; i < n; i++) {
            auto it = rev->find(ids[i]);
            if (it == rev->end()) {
                fail("dist_compute: id %lld is not in the index", (long long)ids[i]);
            }
            internal[i] = it->second;
        }
        dist_compute(idmap->index, q, internal.data(), n, out);
        return;
    }
    if (auto* hnsw = dynamic_cast<const faiss::IndexHNSW*>(index)) {
        dist_compute(hnsw->storage, q, ids, n, out);
        return;
    }
    if (auto* pt = dynamic_cast<const faiss::IndexPreTransform*>(index)) {
        const float* qt = pt->apply_chain(1, q);
        std::unique_ptr<const float[]> del(qt == q ? nullptr : qt);
        dist_compute(pt->index, qt, ids, n, out);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (ids[i] < 0 || ids[i] >= index->ntotal) {
            fail("dist_compute: id %lld is not in the index", (long long)ids[i]);
        }
    }
    // The types with a distance computer that works on the stored codes.
    if (dynamic_cast<const faiss::IndexFlat*>(index) ||
        dynamic_cast<const faiss::IndexScalarQuantizer*>(index)) {
        std::unique_ptr<faiss::DistanceComputer> dc(index->get_distance_computer());
        dc->set_query(q);
        for (size_t i = 0; i < n; i++) {
            out[i] = (*dc)(ids[i]);
        }
        return;
    }
    // Anything that can reconstruct (IVF needs a direct map for that).
    if (index->metric_type != faiss::METRIC_L2 &&
        index->metric_type != faiss::METRIC_INNER_PRODUCT) {
        fail("dist_compute: only L2 and inner product are supported");
    }
    std::vector<float> v(index->d);
    for (size_t i = 0; i < n; i++) {
        index->reconstruct(ids[i], v.data());
        out[i] = index->metric_type == faiss::METRIC_L2
                ? faiss::fvec_L2sqr(q, v.data(), index->d)
                : faiss::fvec_inner_product(q, v.data(), index->d);
    }
}

template <class T>
size_t vec_bytes(const std::vector<T>& v) {
    return v.capacity() * sizeof(T);
}

// Bytes of the payload (codes, ids, graphs); object headers are ignored.
size_t index_size(const faiss::Index* index) {
    if (!index) {
        return 0;
    }
    if (auto* idmap = dynamic_cast<const faiss::IndexIDMap*>(index)) {
        size_t s = vec_bytes(idmap->id_map) + index_size(idmap->index);
        if (auto* idmap2 = dynamic_cast<const faiss::IndexIDMap2*>(index)) {
            // key + value + node pointer + bucket, roughly
            s += idmap2->rev_map.size() * (2 * sizeof(idx_t) + 2 * sizeof(void*));
        }
        return s;
    }
    if (auto* pt = dynamic_cast<const faiss::IndexPreTransform*>(index)) {
        return index_size(pt->index);
    }
    if (auto* ref = dynamic_cast<const faiss::IndexRefine*>(index)) {
        return index_size(ref->base_index) + index_size(ref->refine_index);
    }
    if (auto* hnsw = dynamic_cast<const faiss::IndexHNSW*>(index)) {
        const auto& g = hnsw->hnsw;
        return index_size(hnsw->storage) + vec_bytes(g.neighbors) +
                vec_bytes(g.offsets) + vec_bytes(g.levels) +
                vec_bytes(g.assign_probas) + vec_bytes(g.cum_nneighbor_per_level);
    }
    if (auto* ivf = dynamic_cast<const faiss::IndexIVF*>(index)) {
        size_t s = index_size(ivf->quantizer);
        for (size_t l = 0; ivf->invlists && l < ivf->nlist; l++) {
            s += ivf->invlists->list_size(l) * (ivf->code_size + sizeof(idx_t));
        }
        const auto& dm = ivf->direct_map;
        s += vec_bytes(dm.array) +
                dm.hashtable.size() * (2 * sizeof(idx_t) + 2 * sizeof(void*));
        return s;
    }
    if (auto* fc = dynamic_cast<const faiss::IndexFlatCodes*>(index)) {
        return vec_bytes(fc->codes);
    }
    return size_t(index->ntotal) * index->sa_code_size();
}

} // namespace

extern "C" {

int faiss_Index_search_with_params(
        const FaissIndex* index,
        idx_t n,
        const float* x,
        idx_t k,
        const FaissSearchParameters* params,
        float* distances,
        idx_t* labels) {
    try {
        apply_omp_threads();
        search_with_params(as_index(index), n, x, k, distances, labels, as_params(params));
    }
    CATCH_AND_HANDLE
}

int faiss_Index_reconstruct_batch(
        const FaissIndex* index,
        idx_t n,
        const idx_t* keys,
        float* recons) {
    try {
        apply_omp_threads();
        as_index(index)->reconstruct_batch(n, keys, recons);
    }
    CATCH_AND_HANDLE
}

int faiss_Index_merge_from(FaissIndex* index, FaissIndex* other, idx_t add_id) {
    try {
        if (!index || !other) {
            fail("merge_from: NULL index");
        }
        apply_omp_threads();
        as_index(index)->merge_from(*as_index(other), add_id);
    }
    CATCH_AND_HANDLE
}

size_t faiss_Index_size(const FaissIndex* index) {
    try {
        return index_size(as_index(index));
    } catch (...) {
        return 0;
    }
}

int faiss_Index_dist_compute(
        const FaissIndex* index,
        const float* query,
        const idx_t* ids,
        size_t n_ids,
        float* distances) {
    try {
        if (!index) {
            fail("dist_compute: NULL index");
        }
        dist_compute(as_index(index), query, ids, n_ids, distances);
    }
    CATCH_AND_HANDLE
}

} // extern "C"
