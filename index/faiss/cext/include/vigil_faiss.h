/*
 * vigil: facts about the FAISS build this binary links.
 */
#ifndef VIGIL_FAISS_H
#define VIGIL_FAISS_H

#ifdef __cplusplus
extern "C" {
#endif

/* The instruction-set level the FAISS objects were compiled for:
 * "generic", "avx2" or "avx512". Linking this in also links the start-up
 * check that exits (status 3) when the CPU lacks what that level needs. */
const char* vigil_faiss_simd_level(void);

#ifdef __cplusplus
}
#endif

#endif
