// vigil: helpers shared by the C API extension (internal, C++ only).
#pragma once

#include <faiss/Index.h>
#include <faiss/IndexBinary.h>
#include <faiss/impl/FaissException.h>
#include <faiss/impl/IDSelector.h>
#include <faiss/invlists/InvertedLists.h>

#include <cxxabi.h>

#include <cstdarg>
#include <cstdlib>
#include <cstdio>
#include <string>
#include <typeinfo>
#include <vector>

// Upstream's CATCH_AND_HANDLE: records the exception for faiss_get_last_error
// and returns the C API status code.
#include <faiss/c_api/macros_impl.h>

namespace vigil_faiss {

using idx_t = faiss::Index::idx_t;

// Throws a faiss::FaissException (C API status -2) with a printf-style message.
[[noreturn]] inline void fail(const char* fmt, ...)
        __attribute__((format(printf, 1, 2)));

inline void fail(const char* fmt, ...) {
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    throw faiss::FaissException(std::string("faiss C API ext: ") + buf);
}

// Readable dynamic type of an object, for error messages.
template <class T>
std::string type_name(const T& obj) {
    const char* mangled = typeid(obj).name();
    int status = 0;
    char* readable = abi::__cxa_demangle(mangled, nullptr, nullptr, &status);
    std::string out = status == 0 && readable ? readable : mangled;
    free(readable);
    return out;
}

inline const faiss::Index* as_index(const void* p) {
    return reinterpret_cast<const faiss::Index*>(p);
}
inline faiss::Index* as_index(void* p) {
    return reinterpret_cast<faiss::Index*>(p);
}
inline const faiss::IndexBinary* as_binary(const void* p) {
    return reinterpret_cast<const faiss::IndexBinary*>(p);
}
inline const faiss::SearchParameters* as_params(const void* p) {
    return reinterpret_cast<const faiss::SearchParameters*>(p);
}

// The typed views the C API hands out are the same opaque pointer for every
// class, so check the real type before using a subclass.
template <class T, class P>
T* checked_cast(P* p, const char* what) {
    if (!p) {
        fail("%s: NULL index", what);
    }
    T* t = dynamic_cast<T*>(p);
    if (!t) {
        fail("%s: index is not of the required type", what);
    }
    return t;
}

// faiss::Index::search with optional parameters, adapted to what each FAISS
// 1.7.3 index type (and each IDMap / pre-transform wrapper) accepts.
void search_with_params(
        const faiss::Index* index,
        idx_t n,
        const float* x,
        idx_t k,
        float* distances,
        idx_t* labels,
        const faiss::SearchParameters* params);

// Re-applies the thread count recorded by faiss_set_omp_threads to the
// calling OS thread (OpenMP keeps it per thread).
void apply_omp_threads();

// Selects internal position i of an IDMap when `sel` selects id_map[i]: the
// selector a wrapped index needs to honour a selector over external ids.
struct IDSelectorIdMap : faiss::IDSelector {
    const std::vector<idx_t>& id_map;
    const faiss::IDSelector* sel;
    IDSelectorIdMap(const std::vector<idx_t>& id_map, const faiss::IDSelector* sel)
            : id_map(id_map), sel(sel) {}
    bool is_member(idx_t i) const override {
        return i >= 0 && size_t(i) < id_map.size() && sel->is_member(id_map[i]);
    }
};

// Counts the vectors of each inverted list that `sel` selects (all if NULL).
template <class IVF>
void count_list_vectors(
        const IVF& ivf,
        idx_t* counts,
        size_t counts_size,
        const faiss::IDSelector* sel) {
    if (counts_size < ivf.nlist) {
        fail("list_vector_count: %zu counters for %zu lists", counts_size, size_t(ivf.nlist));
    }
    const auto* il = ivf.invlists;
#pragma omp parallel for schedule(dynamic, 16)
    for (int64_t l = 0; l < int64_t(ivf.nlist); l++) {
        size_t n = il->list_size(l);
        if (!sel) {
            counts[l] += n;
            continue;
        }
        faiss::InvertedLists::ScopedIds ids(il, l);
        idx_t c = 0;
        for (size_t j = 0; j < n; j++) {
            c += sel->is_member(ids[j]);
        }
        counts[l] += c;
    }
}

} // namespace vigil_faiss
