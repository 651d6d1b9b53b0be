/*
 * vigil: which instruction-set level the linked FAISS objects were built for,
 * and a start-up check that this CPU can run them.
 *
 * Compiled with baseline flags (no -m options) so the check itself runs
 * everywhere; VIGIL_FAISS_SIMD is set by faiss.mk to "generic", "avx2" or
 * "avx512".
 */
#include "vigil_faiss.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#ifndef VIGIL_FAISS_SIMD
#error "build with -DVIGIL_FAISS_SIMD=\"<level>\""
#endif

const char* vigil_faiss_simd_level(void) {
    return VIGIL_FAISS_SIMD;
}

static void vigil_faiss_require(const char* level, const char* feature, int present) {
    if (!present) {
        fprintf(stderr,
                "vigil: this binary's FAISS was built for %s but this CPU lacks %s; "
                "rebuild with `make clean && make` on this machine\n",
                level, feature);
        _exit(3);
    }
}

#define REQUIRE(level, feature) \
    vigil_faiss_require(level, feature, __builtin_cpu_supports(feature))

/* Priority 101 is the earliest available to programs: run before the C++
 * static initialisers of the FAISS objects, which may already use the
 * instructions being checked. */
__attribute__((constructor(101))) static void vigil_faiss_check_cpu(void) {
    const char* level = VIGIL_FAISS_SIMD;
    int avx512 = strcmp(level, "avx512") == 0;
    if (!avx512 && strcmp(level, "avx2") != 0) {
        return;
    }
    /* Needed when running this early, before libgcc's own initialiser. */
    __builtin_cpu_init();
    const char* name = avx512 ? "AVX-512" : "AVX2";
    REQUIRE(name, "avx2");
    REQUIRE(name, "fma");
    REQUIRE(name, "f16c");
    REQUIRE(name, "popcnt");
    if (avx512) {
        REQUIRE(name, "avx512f");
        REQUIRE(name, "avx512cd");
        REQUIRE(name, "avx512vl");
        REQUIRE(name, "avx512dq");
        REQUIRE(name, "avx512bw");
    }
}
