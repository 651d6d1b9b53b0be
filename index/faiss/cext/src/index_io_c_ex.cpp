// vigil: index (de)serialisation to memory buffers for the FAISS 1.7.3 C API.

#include <faiss/c_api/index_io_c_ex.h>

#include <faiss/impl/io.h>
#include <faiss/index_io.h>

#include <cstdlib>
#include <cstring>
#include <new>

#include "ext_common.h"

using namespace vigil_faiss;

namespace {

// Writes straight into a malloc'd buffer, so the result can be handed to C
// callers (and released with faiss_free_buf) without another copy.
struct MallocWriter : faiss::IOWriter {
    uint8_t* buf = nullptr;
    size_t len = 0;
    size_t cap = 0;

    size_t operator()(const void* ptr, size_t size, size_t nitems) override {
        if (size == 0 || nitems == 0) {
            return nitems;
        }
        if (nitems > (SIZE_MAX - len) / size) {
            throw std::bad_alloc();
        }
        size_t bytes = size * nitems;
        if (len + bytes > cap) {
            size_t ncap = std::max(std::max(cap * 2, len + bytes), size_t(1) << 16);
            auto* nbuf = static_cast<uint8_t*>(realloc(buf, ncap));
            if (!nbuf) {
                throw std::bad_alloc();
            }
            buf = nbuf;
            cap = ncap;
        }
        memcpy(buf + len, ptr, bytes);
        len += bytes;
        return nitems;
    }

    uint8_t* release() {
        uint8_t* b = buf;
        buf = nullptr;
        return b;
    }

    ~MallocWriter() override {
        free(buf);
    }
};

// Reads from the caller's buffer in place; FAISS copies what it keeps.
struct SpanReader : faiss::IOReader {
    const uint8_t* data;
    size_t len;
    size_t pos = 0;

    SpanReader(const uint8_t* data, size_t len) : data(data), len(len) {
        name = "memory buffer";
    }

    size_t operator()(void* ptr, size_t size, size_t nitems) override {
        if (size == 0 || nitems == 0) {
            return 0;
        }
        size_t n = std::min(nitems, (len - pos) / size);
        memcpy(ptr, data + pos, n * size);
        pos += n * size;
        return n;
    }
};

// Flags that only mean something for files in newer FAISS (see the header).
int buffer_io_flags(int io_flags) {
    return io_flags &
            ~(FAISS_IO_FLAG_MMAP | FAISS_IO_FLAG_READ_MMAP | FAISS_IO_FLAG_ONDISK_IVF |
              FAISS_IO_FLAG_SKIP_PREFETCH);
}

void check_buffer(const uint8_t* buf, size_t buf_size, void* p_out) {
    if (!p_out) {
        fail("read from buffer: NULL output pointer");
    }
    if (!buf || buf_size == 0) {
        fail("read from buffer: empty buffer");
    }
}

} // namespace

extern "C" {

int faiss_write_index_buf(const FaissIndex* idx, size_t* buf_size, uint8_t** buf) {
    try {
        if (!idx || !buf_size || !buf) {
            fail("write_index_buf: NULL argument");
        }
        MallocWriter w;
        faiss::write_index(as_index(idx), &w);
        *buf_size = w.len;
        *buf = w.release();
    }
    CATCH_AND_HANDLE
}

int faiss_read_index_buf(
        const uint8_t* buf,
        size_t buf_size,
        int io_flags,
        FaissIndex** p_out) {
    try {
        check_buffer(buf, buf_size, p_out);
        SpanReader r(buf, buf_size);
        *p_out = reinterpret_cast<FaissIndex*>(
                faiss::read_index(&r, buffer_io_flags(io_flags)));
    }
    CATCH_AND_HANDLE
}

int faiss_write_index_binary_buf(
        const FaissIndexBinary* idx,
        size_t* buf_size,
        uint8_t** buf) {
    try {
        if (!idx || !buf_size || !buf) {
            fail("write_index_binary_buf: NULL argument");
        }
        MallocWriter w;
        faiss::write_index_binary(as_binary(idx), &w);
        *buf_size = w.len;
        *buf = w.release();
    }
    CATCH_AND_HANDLE
}

int faiss_read_index_binary_buf(
        const uint8_t* buf,
        size_t buf_size,
        int io_flags,
        FaissIndexBinary** p_out) {
    try {
        check_buffer(buf, buf_size, p_out);
        SpanReader r(buf, buf_size);
        *p_out = reinterpret_cast<FaissIndexBinary*>(
                faiss::read_index_binary(&r, buffer_io_flags(io_flags)));
    }
    CATCH_AND_HANDLE
}

void faiss_free_buf(uint8_t** buf) {
    if (buf) {
        free(*buf);
        *buf = nullptr;
    }
}

} // extern "C"
