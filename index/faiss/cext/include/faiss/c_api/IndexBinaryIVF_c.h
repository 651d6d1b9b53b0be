/*
 * vigil: C API for faiss::IndexBinaryIVF, absent from FAISS 1.7.3.
 */
#ifndef VIGIL_FAISS_INDEX_BINARY_IVF_C_H
#define VIGIL_FAISS_INDEX_BINARY_IVF_C_H

#include <stddef.h>

#include "IndexBinary_c.h"
#include "faiss_c.h"
#include "impl/AuxIndexStructures_c.h"

#ifdef __cplusplus
extern "C" {
#endif

FAISS_DECLARE_CLASS_INHERITED(IndexBinaryIVF, IndexBinary)
FAISS_DECLARE_DESTRUCTOR(IndexBinaryIVF)

/* NULL when index is not an IndexBinaryIVF. */
FaissIndexBinaryIVF* faiss_IndexBinaryIVF_cast(FaissIndexBinary* index);

FAISS_DECLARE_GETTER(IndexBinaryIVF, size_t, nlist)
FAISS_DECLARE_GETTER_SETTER(IndexBinaryIVF, size_t, nprobe)
FAISS_DECLARE_GETTER_SETTER(IndexBinaryIVF, size_t, max_codes)
FAISS_DECLARE_GETTER(IndexBinaryIVF, FaissIndexBinary*, quantizer)

#ifdef __cplusplus
}
#endif

#endif
