/*
 * vigil: index (de)serialisation to memory buffers, absent from FAISS 1.7.3.
 */
#ifndef VIGIL_FAISS_INDEX_IO_C_EX_H
#define VIGIL_FAISS_INDEX_IO_C_EX_H

#include <stddef.h>
#include <stdint.h>

#include "IndexBinary_c.h"
#include "Index_c.h"
#include "faiss_c.h"
#include "index_io_c.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Flags of newer FAISS C APIs, with their values there. FAISS 1.7.3 has no
 * mmap'd or prefetch-free reading: faiss_read_index_fname reads such files
 * fully into memory, and the *_buf readers ignore these flags (they always
 * copy, so the buffer may be freed as soon as they return). */
#define FAISS_IO_FLAG_SKIP_PREFETCH 32
#define FAISS_IO_FLAG_READ_MMAP 64
#define FAISS_IO_FLAG_ONDISK_IVF 0x646f0000

/* Serialises idx into a new buffer of *buf_size bytes, stored in *buf;
 * release it with faiss_free_buf. */
int faiss_write_index_buf(
        const FaissIndex* idx,
        size_t* buf_size,
        uint8_t** buf);

int faiss_read_index_buf(
        const uint8_t* buf,
        size_t buf_size,
        int io_flags,
        FaissIndex** p_out);

int faiss_write_index_binary_buf(
        const FaissIndexBinary* idx,
        size_t* buf_size,
        uint8_t** buf);

int faiss_read_index_binary_buf(
        const uint8_t* buf,
        size_t buf_size,
        int io_flags,
        FaissIndexBinary** p_out);

/* Frees a buffer from faiss_write_*_buf and sets *buf to NULL (no-op on NULL). */
void faiss_free_buf(uint8_t** buf);

#ifdef __cplusplus
}
#endif

#endif
