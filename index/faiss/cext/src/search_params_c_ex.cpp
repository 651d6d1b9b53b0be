// vigil: search parameters, extra ID selectors and the OpenMP thread knob for
// the FAISS 1.7.3 C API.

#include <faiss/c_api/Index_c_ex.h>
#include <faiss/c_api/impl/AuxIndexStructures_c.h>

#include <faiss/IndexIVF.h>

#include <omp.h>

#include <atomic>
#include <cstring>

#include "ext_common.h"

using namespace vigil_faiss;

namespace {

// 1.7.3's IDSelectorBitmap only points at the caller's bitmap; Go callers may
// release theirs once the constructor returns, so keep a private copy.
struct IDSelectorOwnedBitmap : faiss::IDSelectorBitmap {
    std::vector<uint8_t> storage;
    IDSelectorOwnedBitmap(size_t n, const uint8_t* bits)
            : faiss::IDSelectorBitmap(0, nullptr), storage(bits, bits + n) {
        this->n = n;
        this->bitmap = storage.data();
    }
};

std::atomic<int> omp_threads{0};

} // namespace

void vigil_faiss::apply_omp_threads() {
    int n = omp_threads.load(std::memory_order_relaxed);
    if (n > 0 && omp_get_max_threads() != n) {
        omp_set_num_threads(n);
    }
}

extern "C" {

int faiss_SearchParameters_new(FaissSearchParameters** p_sp, FaissIDSelector* sel) {
    try {
        auto* sp = new faiss::SearchParameters;
        sp->sel = reinterpret_cast<faiss::IDSelector*>(sel);
        *p_sp = reinterpret_cast<FaissSearchParameters*>(sp);
    }
    CATCH_AND_HANDLE
}

void faiss_SearchParameters_free(FaissSearchParameters* sp) {
    delete reinterpret_cast<faiss::SearchParameters*>(sp);
}

int faiss_SearchParametersIVF_new(FaissSearchParametersIVF** p_sp) {
    try {
        *p_sp = reinterpret_cast<FaissSearchParametersIVF*>(
                new faiss::SearchParametersIVF);
    }
    CATCH_AND_HANDLE
}

int faiss_SearchParametersIVF_new_with(
        FaissSearchParametersIVF** p_sp,
        FaissIDSelector* sel,
        size_t nprobe,
        size_t max_codes) {
    try {
        auto* sp = new faiss::SearchParametersIVF;
        sp->sel = reinterpret_cast<faiss::IDSelector*>(sel);
        sp->nprobe = nprobe;
        sp->max_codes = max_codes;
        *p_sp = reinterpret_cast<FaissSearchParametersIVF*>(sp);
    }
    CATCH_AND_HANDLE
}

void faiss_SearchParametersIVF_free(FaissSearchParametersIVF* sp) {
    delete reinterpret_cast<faiss::SearchParameters*>(sp);
}

size_t faiss_SearchParametersIVF_nprobe(const FaissSearchParametersIVF* sp) {
    auto* ivf = dynamic_cast<const faiss::SearchParametersIVF*>(as_params(sp));
    return ivf ? ivf->nprobe : 0;
}

size_t faiss_SearchParametersIVF_max_codes(const FaissSearchParametersIVF* sp) {
    auto* ivf = dynamic_cast<const faiss::SearchParametersIVF*>(as_params(sp));
    return ivf ? ivf->max_codes : 0;
}

int faiss_IDSelectorNot_new(FaissIDSelectorNot** p_sel, const FaissIDSelector* sel) {
    try {
        if (!sel) {
            fail("IDSelectorNot: NULL selector");
        }
        *p_sel = reinterpret_cast<FaissIDSelectorNot*>(new faiss::IDSelectorNot(
                reinterpret_cast<const faiss::IDSelector*>(sel)));
    }
    CATCH_AND_HANDLE
}

int faiss_IDSelectorBitmap_new(
        FaissIDSelectorBitmap** p_sel,
        size_t n,
        const uint8_t* bitmap) {
    try {
        if (!bitmap && n > 0) {
            fail("IDSelectorBitmap: NULL bitmap");
        }
        // Upcast first: the C handle is the faiss::IDSelector base, which
        // faiss_IDSelector_free deletes through its virtual destructor.
        faiss::IDSelector* sel = new IDSelectorOwnedBitmap(n, bitmap);
        *p_sel = reinterpret_cast<FaissIDSelectorBitmap*>(sel);
    }
    CATCH_AND_HANDLE
}

void faiss_set_omp_threads(unsigned int n) {
    if (n == 0) {
        return;
    }
    omp_threads.store(int(n), std::memory_order_relaxed);
    omp_set_num_threads(int(n));
}

} // extern "C"
