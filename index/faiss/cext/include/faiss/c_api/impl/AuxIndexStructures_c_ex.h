/*
 * vigil: C API additions over FAISS 1.7.3 (search parameters and extra ID
 * selectors). The build generates the overlay's impl/AuxIndexStructures_c.h
 * from the FAISS source and appends an #include of this file, so everything
 * that includes the upstream header (as go-faiss does) also sees these.
 */
#ifndef VIGIL_FAISS_AUX_INDEX_STRUCTURES_C_EX_H
#define VIGIL_FAISS_AUX_INDEX_STRUCTURES_C_EX_H

#include <stddef.h>
#include <stdint.h>

#include "../Index_c.h"
#include "../faiss_c.h"

#ifdef __cplusplus
extern "C" {
#endif

/* faiss::SearchParameters: optional per-query knobs. The selector is borrowed,
 * not owned: keep it alive while the parameters are in use. */
FAISS_DECLARE_CLASS(SearchParameters)
FAISS_DECLARE_DESTRUCTOR(SearchParameters)

int faiss_SearchParameters_new(
        FaissSearchParameters** p_sp,
        FaissIDSelector* sel);

/* faiss::SearchParametersIVF (same opaque struct as FaissSearchParameters). */
FAISS_DECLARE_CLASS_INHERITED(SearchParametersIVF, SearchParameters)
FAISS_DECLARE_DESTRUCTOR(SearchParametersIVF)

int faiss_SearchParametersIVF_new(FaissSearchParametersIVF** p_sp);

int faiss_SearchParametersIVF_new_with(
        FaissSearchParametersIVF** p_sp,
        FaissIDSelector* sel,
        size_t nprobe,
        size_t max_codes);

/* Getters return 0 when the object is not IVF search parameters. */
size_t faiss_SearchParametersIVF_nprobe(const FaissSearchParametersIVF* sp);
size_t faiss_SearchParametersIVF_max_codes(const FaissSearchParametersIVF* sp);

/* Selects the ids that `sel` does not select. `sel` is borrowed. */
FAISS_DECLARE_CLASS_INHERITED(IDSelectorNot, IDSelector)

int faiss_IDSelectorNot_new(
        FaissIDSelectorNot** p_sel,
        const FaissIDSelector* sel);

/* Selects id i iff i / 8 < n and bit (i % 8) of bitmap[i / 8] is set.
 * Unlike upstream, the bitmap is copied, so the caller may free it. */
FAISS_DECLARE_CLASS_INHERITED(IDSelectorBitmap, IDSelector)

int faiss_IDSelectorBitmap_new(
        FaissIDSelectorBitmap** p_sel,
        size_t n,
        const uint8_t* bitmap);

#ifdef __cplusplus
}
#endif

#endif
