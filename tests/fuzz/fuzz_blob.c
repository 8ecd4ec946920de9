// libFuzzer target for the blob loader and executor (mai_load + mai_invoke), with a
// structure-aware mutator that keeps blobs well formed while lying in one field or a few
// related ones, and always re-seals the CRC so the lie reaches the deep checks.
//
// Input: a blob (.mai), then optional trailing bytes that fill the arena before invoke
// (so the model inputs get fuzz-chosen values). The blob is copied into a buffer of
// exactly header.total_size bytes and the arena is allocated at exactly
// header.arena_size bytes (capped at FUZZ_ARENA_MAX), so AddressSanitizer sees a
// one-byte overrun of either. The executor must also never write into the blob (on a
// board it is flash): the harness compares the blob before and after. A kernel error at
// invoke, after load accepted the blob, also stops the run: every check is at load.
//
// Built by tests/fuzz/run_fuzz.py (make fuzz) with
//   clang -fsanitize=fuzzer,address,undefined -I cmodules/microai/nn \
//       tests/fuzz/fuzz_blob.c cmodules/microai/nn/**/*.c
// A reproducer runs alone with `build/fuzz/fuzz_blob crash-file`.
#define _POSIX_C_SOURCE 200112L // posix_memalign

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mai_exec.h"

#define FUZZ_ARENA_MAX (1u << 20)

size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);

// ---- little helpers -----------------------------------------------------------------

static uint32_t rd32(const uint8_t *p) {
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static void wr32(uint8_t *p, uint32_t v) {
    memcpy(p, &v, 4);
}

static uint16_t rd16(const uint8_t *p) {
    uint16_t v;
    memcpy(&v, p, 2);
    return v;
}

static void wr16(uint8_t *p, uint16_t v) {
    memcpy(p, &v, 2);
}

// Bytes of each byte-addressed storage type (s8, s32, f32, s16); 0 for a packed one
// (s4, b1) or an unknown one.
static uint32_t dtype_bytes(uint8_t storage) {
    static const uint8_t sizes[] = {1, 4, 4, 2};
    return storage < sizeof(sizes) ? sizes[storage] : 0;
}

// The blob as one input sees it: the header, and where the tables are (only the
// entries that lie inside the input).
typedef struct {
    uint8_t *data;
    size_t size;
    mai_header h;
    uint32_t blob_len;  // total_size when it fits in the input, else the input's size
    uint32_t n_tensors; // entries of each table that lie inside blob_len
    uint32_t n_ops;
} blob_view;

static int parse(uint8_t *data, size_t size, blob_view *b) {
    if (size < sizeof(mai_header)) {
        return 0;
    }
    b->data = data;
    b->size = size;
    memcpy(&b->h, data, sizeof(mai_header));
    if (b->h.magic != MAI_MAGIC) {
        return 0;
    }
    b->blob_len = b->h.total_size >= sizeof(mai_header) && b->h.total_size <= size
        ? b->h.total_size : (uint32_t)size;
    uint64_t t = b->h.tensors_offset, o = b->h.ops_offset;
    b->n_tensors = t < b->blob_len ? (uint32_t)((b->blob_len - t) / sizeof(mai_tensor)) : 0;
    b->n_ops = o < b->blob_len ? (uint32_t)((b->blob_len - o) / sizeof(mai_op)) : 0;
    if (b->n_tensors > b->h.n_tensors) {
        b->n_tensors = b->h.n_tensors;
    }
    if (b->n_ops > b->h.n_ops) {
        b->n_ops = b->h.n_ops;
    }
    return 1;
}

static void reseal(uint8_t *data, size_t size) {
    if (size < sizeof(mai_header)) {
        return;
    }
    uint32_t total = rd32(data + offsetof(mai_header, total_size));
    if (total >= 16 && total <= size) {
        wr32(data + offsetof(mai_header, crc32), mai_crc32(0, data + 16, total - 16));
    }
}

// ---- the harness --------------------------------------------------------------------

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    size_t blob_len = size;
    uint32_t arena_size = 0;
    if (size >= sizeof(mai_header)) {
        uint32_t total = rd32(data + offsetof(mai_header, total_size));
        if (total >= sizeof(mai_header) && total <= size) {
            blob_len = total;
        }
        arena_size = rd32(data + offsetof(mai_header, arena_size));
    }
    // A larger arena than the cap is not allocated: the loader must refuse the blob
    // with a cap-sized arena (arena too small).
    size_t arena_len = arena_size <= FUZZ_ARENA_MAX ? arena_size : FUZZ_ARENA_MAX;
    void *blob = NULL, *arena = NULL;
    if (posix_memalign(&blob, MAI_ALIGN, blob_len ? blob_len : 1) != 0
        || posix_memalign(&arena, MAI_ALIGN, arena_len ? arena_len : 1) != 0) {
        abort();
    }
    memcpy(blob, data, blob_len);

    mai_model m;
    mai_error err;
    mai_status s = mai_load(&m, blob, blob_len, arena, arena_len, &err);
    // Every status and check the loader returns has a name (the front ends show it).
    if (!strcmp(mai_status_str(s), "unknown error")
        || (s != MAI_E_KERNEL && !strcmp(mai_check_str((mai_check)err.detail), "unknown check"))) {
        fprintf(stderr, "fuzz_blob: status %d, check %d have no name\n", (int)s, (int)err.detail);
        abort();
    }
    if (s == MAI_OK) {
        // Arena contents (model inputs included) from the trailing bytes, else a pattern.
        const uint8_t *fill = data + blob_len;
        size_t n_fill = size - blob_len;
        uint8_t *a = arena;
        for (size_t i = 0; i < arena_len; i++) {
            a[i] = n_fill ? fill[i % n_fill] : (uint8_t)(i * 151u + 17u);
        }
        for (uint32_t i = 0; mai_input(&m, i) != MAI_NO_TENSOR; i++) {
            if (mai_tensor_data(&m, mai_input(&m, i)) == NULL) {
                abort();
            }
        }
        // All validation is at load: a kernel that refuses what prepare accepted is a
        // gap in the load-time checks.
        if (mai_invoke(&m, &err) != MAI_OK) {
            fprintf(stderr, "fuzz_blob: op %d failed at invoke (kernel status %d) after load "
                "accepted the blob\n", (int)err.index, (int)err.detail);
            abort();
        }
        for (uint32_t i = 0; mai_output(&m, i) != MAI_NO_TENSOR; i++) {
            if (mai_tensor_data(&m, mai_output(&m, i)) == NULL) {
                abort();
            }
        }
        if (memcmp(blob, data, blob_len) != 0) {
            fprintf(stderr, "fuzz_blob: the executor wrote into the blob\n");
            abort();
        }
    }
    free(blob);
    free(arena);
    return 0;
}

// ---- the mutator --------------------------------------------------------------------

// xorshift32, seeded by libFuzzer so a mutation sequence can be replayed.
static uint32_t rng_state;

static uint32_t rnd(uint32_t n) {
    uint32_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    rng_state = x;
    return n ? x % n : 0;
}

static const uint32_t interesting32[] = {
    0, 1, 2, 3, 4, 7, 8, 15, 16, 17, 31, 32, 63, 64, 96, 127, 128, 255, 256, 1023, 1024,
    4095, 4096, 0x7fff, 0x8000, 0xffff, 0x10000, 0x100000, 0x3fffffff, 0x40000000,
    0x7ffffffe, 0x7fffffff, 0x80000000, 0x80000001, 0xfffffff0, 0xfffffffc, 0xfffffffe,
    0xffffffff,
};
#define N_INTERESTING32 (sizeof(interesting32) / sizeof(interesting32[0]))

static const int16_t interesting16[] = {
    0, 1, 2, 3, 4, 5, 7, 8, 16, 64, 127, 128, 255, 256, 0x3fff, 0x7fff, -1, -2, -3, -128,
    -129, -0x8000,
};
#define N_INTERESTING16 (sizeof(interesting16) / sizeof(interesting16[0]))

// Values for params and constants: the edges of what the checks take (zero points in
// [-128, 127], shifts in [-31, 30], Q31 multipliers >= 0) and just past them.
static const int32_t interesting_param[] = {
    0, 1, -1, 2, -2, 20, 23, 24, 30, 31, 32, -31, -32, 127, 128, -127, -128, -129, 255, 256,
    0x3fffffff, 0x40000000, 0x7fffffff, INT32_MIN, INT32_MIN + 1, 0x10000, -0x10000,
};
#define N_INTERESTING_PARAM (sizeof(interesting_param) / sizeof(interesting_param[0]))

// Dims whose product is k * 2^64 + P for a small P (and so also P mod 2^32), each dim a
// positive int32: a size of P * dtype_size agrees with them when the product is taken in
// 64 (or 32) bits without a bound. Found by factoring k * 2^64 + P for small k.
static const struct {
    uint32_t p;
    int32_t dims[3];
} wrap_dims[] = {
    {1, {33, 998724481, 1119412321}},
    {1, {65, 660754117, 1718013133}},
    {2, {33, 1119412321, 1997448962}},
    {3, {35, 998034439, 1056175639}},
    {4, {5, 1718039348, 2147418113}},
    {4, {26, 1117342693, 1904939714}},
    {8, {10, 1718039348, 2147418113}},
    {8, {3347, 8678056, 1905297583}},
    {16, {20, 1718039348, 2147418113}},
    {64, {8, 1073807362, 2147352580}},
    {96, {8, 1117667411, 2063085124}},
    {96, {103, 195683476, 1830451976}},
    {128, {8, 1444189401, 1596634768}},
    {256, {16, 1444189401, 1596634768}},
    {1000, {39569, 1011508, 1843551682}},
    {4096, {8, 1235045764, 1867010176}},
};
#define N_WRAP (sizeof(wrap_dims) / sizeof(wrap_dims[0]))

// Byte offsets of the entries.
static size_t tensor_at(const blob_view *b, uint32_t i) {
    return b->h.tensors_offset + (size_t)i * sizeof(mai_tensor);
}

static size_t op_at(const blob_view *b, uint32_t i) {
    return b->h.ops_offset + (size_t)i * sizeof(mai_op);
}

static void read_tensor(const blob_view *b, uint32_t i, mai_tensor *t) {
    memcpy(t, b->data + tensor_at(b, i), sizeof(*t));
}

static void write_tensor(blob_view *b, uint32_t i, const mai_tensor *t) {
    memcpy(b->data + tensor_at(b, i), t, sizeof(*t));
}

static void read_op(const blob_view *b, uint32_t i, mai_op *op) {
    memcpy(op, b->data + op_at(b, i), sizeof(*op));
}

static void write_op(blob_view *b, uint32_t i, const mai_op *op) {
    memcpy(b->data + op_at(b, i), op, sizeof(*op));
}

// A u32 value worth trying for a field that holds `cur`: an interesting constant, a
// neighbour of cur, or a size or offset taken from elsewhere in the blob.
static uint32_t pick32(const blob_view *b, uint32_t cur) {
    switch (rnd(8)) {
        case 0:
        case 1:
            return interesting32[rnd(N_INTERESTING32)];
        case 2:
            return cur + 1 + rnd(16);
        case 3:
            return cur - 1 - rnd(16);
        case 4:
            return rnd(2) ? cur * 2 : cur / 2;
        case 5: {
            const uint32_t ctx[] = {b->h.total_size, b->h.arena_size, b->h.data_offset,
                                    b->h.data_offset + b->h.data_size, b->h.params_offset,
                                    b->h.io_offset, b->h.ops_offset, b->h.tensors_offset};
            return ctx[rnd(sizeof(ctx) / sizeof(ctx[0]))] - rnd(3) * 4;
        }
        case 6:
            if (b->n_tensors) {
                mai_tensor t;
                read_tensor(b, rnd(b->n_tensors), &t);
                return rnd(2) ? t.offset : t.size;
            }
            return cur ^ (1u << rnd(32));
        default:
            return cur ^ (1u << rnd(32));
    }
}

static uint8_t pick8(uint32_t cur, uint32_t limit) {
    switch (rnd(4)) {
        case 0:
            return (uint8_t)rnd(limit + 2);
        case 1:
            return (uint8_t)(cur + 1);
        case 2:
            return (uint8_t)(cur - 1);
        default:
            return (uint8_t)(rnd(2) ? 0xff : rnd(256));
    }
}

static uint16_t pick_id(const blob_view *b, uint16_t cur) {
    switch (rnd(5)) {
        case 0:
            return MAI_NO_TENSOR;
        case 1:
            return b->h.n_tensors - rnd(2); // one past the end, or the last
        case 2:
            return (uint16_t)(cur + (rnd(2) ? 1 : -1));
        default:
            return (uint16_t)rnd(b->h.n_tensors ? b->h.n_tensors : 1);
    }
}

// One header field.
static void mutate_header(blob_view *b) {
    static const uint8_t u32_fields[] = {
        offsetof(mai_header, arena_size), offsetof(mai_header, flags),
        offsetof(mai_header, tensors_offset), offsetof(mai_header, ops_offset),
        offsetof(mai_header, io_offset), offsetof(mai_header, params_offset),
        offsetof(mai_header, data_offset), offsetof(mai_header, data_size),
        offsetof(mai_header, total_size), offsetof(mai_header, reserved),
    };
    static const uint8_t u16_fields[] = {
        offsetof(mai_header, n_tensors), offsetof(mai_header, n_ops),
        offsetof(mai_header, n_inputs), offsetof(mai_header, n_outputs),
        offsetof(mai_header, version), offsetof(mai_header, header_size),
    };
    if (rnd(3)) {
        uint8_t *p = b->data + u32_fields[rnd(sizeof(u32_fields))];
        wr32(p, pick32(b, rd32(p)));
    } else {
        uint8_t *p = b->data + u16_fields[rnd(sizeof(u16_fields))];
        uint16_t cur = rd16(p);
        uint16_t v;
        switch (rnd(4)) {
            case 0:
                v = (uint16_t)rnd(cur + 2); // fewer: a truncated graph, or one more
                break;
            case 1:
                v = (uint16_t)interesting16[rnd(N_INTERESTING16)];
                break;
            default:
                v = (uint16_t)(cur + (rnd(2) ? 1 : -1));
                break;
        }
        wr16(p, v);
    }
}

// Sets t's dims to shape (right-aligned, rank r) and its size to the honest product
// (taken mod 2^32, which is also what an unbounded 64-bit check would accept when the
// product wraps to a small number).
static void set_shape(mai_tensor *t, const int32_t *shape, uint32_t r, uint32_t size) {
    for (uint32_t d = 0; d < MAI_MAX_RANK; d++) {
        t->dims[d] = d < MAI_MAX_RANK - r ? 1 : shape[d - (MAI_MAX_RANK - r)];
    }
    t->rank = (uint8_t)r;
    t->size = size;
}

static uint32_t elements32(const mai_tensor *t) {
    uint32_t n = 1;
    for (uint32_t d = 0; d < MAI_MAX_RANK; d++) {
        n *= (uint32_t)t->dims[d];
    }
    return n;
}

// One tensor: a field set to a lie, or a shape lie made self-consistent.
static void mutate_tensor(blob_view *b) {
    if (!b->n_tensors) {
        return;
    }
    uint32_t i = rnd(b->n_tensors);
    mai_tensor t;
    read_tensor(b, i, &t);
    uint32_t ds = dtype_bytes(t.storage) ? dtype_bytes(t.storage) : 1;
    switch (rnd(12)) {
        case 0:
            t.storage = pick8(t.storage, MAI_STORAGE_COUNT);
            break;
        case 10:
            // A layout (with metadata somewhere, sometimes) or a scale that lies.
            t.layout = pick8(t.layout, MAI_LAYOUT_COUNT);
            if (rnd(2)) {
                t.aux_offset = pick32(b, t.aux_offset);
                t.aux_size = pick32(b, t.aux_size);
            }
            break;
        case 11: {
            static const float scales[] = {0.0f, -1.0f, 1e-30f, 3.4e38f, 1.0f};
            uint32_t nan = 0x7fc00000u, inf = 0x7f800000u;
            switch (rnd(3)) {
                case 0:
                    memcpy(&t.scale, &nan, 4);
                    break;
                case 1:
                    memcpy(&t.scale, &inf, 4);
                    break;
                default:
                    t.scale = scales[rnd(5)];
                    break;
            }
            break;
        }
        case 1:
            t.rank = pick8(t.rank, MAI_MAX_RANK);
            break;
        case 2:
            t.mem = pick8(t.mem, MAI_MEM_COUNT);
            break;
        case 3:
            t.offset = pick32(b, t.offset);
            break;
        case 4:
            t.size = pick32(b, t.size);
            break;
        case 5: {
            uint32_t d = rnd(MAI_MAX_RANK);
            t.dims[d] = (int32_t)pick32(b, (uint32_t)t.dims[d]);
            break;
        }
        case 6:
            t.zero_point = interesting_param[rnd(N_INTERESTING_PARAM)];
            break;
        case 7: {
            // Dims whose product wraps to a small number, size to match.
            int32_t shape[4];
            uint32_t w = rnd(N_WRAP);
            memcpy(shape + 1, wrap_dims[w].dims, sizeof(wrap_dims[w].dims));
            shape[0] = 1;
            // Permute: the big factors land on different axes.
            for (uint32_t k = 3; k > 0; k--) {
                uint32_t j = rnd(k + 1);
                int32_t tmp = shape[k];
                shape[k] = shape[j];
                shape[j] = tmp;
            }
            uint32_t r = 3 + rnd(2);
            if (r == 3 && shape[0] != 1) {
                r = 4;
            }
            set_shape(&t, shape + (4 - r), r, wrap_dims[w].p * ds);
            break;
        }
        case 8: {
            // An honest change of one dim (size follows): shapes the ops must refuse.
            uint32_t r = t.rank >= 1 && t.rank <= MAI_MAX_RANK ? t.rank : 1;
            uint32_t d = MAI_MAX_RANK - 1 - rnd(r);
            uint32_t v = (uint32_t)t.dims[d];
            switch (rnd(4)) {
                case 0:
                    v += 1;
                    break;
                case 1:
                    v = v > 1 ? v - 1 : 2;
                    break;
                case 2:
                    v *= 2;
                    break;
                default:
                    v = 1 + rnd(64);
                    break;
            }
            t.dims[d] = (int32_t)v;
            t.size = elements32(&t) * ds;
            break;
        }
        default:
            // Dims a product of 2^32 (or 2^64): a size of 0 agrees with a
            // wrapping check.
            set_shape(&t, (const int32_t[]){65536, 65536, 65536, 65536}, 4, 0);
            if (rnd(2)) {
                t.dims[rnd(4)] = 1;
            }
            break;
    }
    write_tensor(b, i, &t);
}

// Place a tensor or an op's scratch over other bytes: another tensor, a scratch area,
// the very end of the arena or of the data section, or a misaligned neighbour.
static void mutate_overlap(blob_view *b) {
    if (!b->n_tensors) {
        return;
    }
    mai_tensor t, u;
    uint32_t i = rnd(b->n_tensors);
    read_tensor(b, i, &t);
    read_tensor(b, rnd(b->n_tensors), &u);
    mai_op op;
    int have_op = b->n_ops > 0;
    uint32_t k = have_op ? rnd(b->n_ops) : 0;
    if (have_op) {
        read_op(b, k, &op);
    }
    uint32_t delta = rnd(4) == 0 ? rnd(2) ? 1 + rnd(16) : -(1 + rnd(16)) : 0;
    switch (rnd(6)) {
        case 0:
            t.offset = u.offset + delta;
            if (rnd(2)) {
                t.mem = u.mem;
            }
            break;
        case 1:
            if (have_op) {
                t.offset = op.scratch_offset + delta;
                t.mem = MAI_MEM_ARENA;
            }
            break;
        case 2:
            t.offset = (t.mem == MAI_MEM_BLOB ? b->h.data_offset + b->h.data_size
                                              : b->h.arena_size) - t.size + delta;
            break;
        case 3:
            if (have_op) {
                op.scratch_offset = u.offset + delta;
                if (rnd(2) && !op.scratch_size) {
                    op.scratch_size = u.size;
                }
            }
            break;
        case 4:
            if (have_op) {
                op.scratch_offset = b->h.arena_size - op.scratch_size + delta;
            }
            break;
        default:
            t.offset += delta ? delta : 1 + rnd(3);
            break;
    }
    write_tensor(b, i, &t);
    if (have_op) {
        write_op(b, k, &op);
    }
}

// One op field.
static void mutate_op(blob_view *b) {
    if (!b->n_ops) {
        return;
    }
    uint32_t i = rnd(b->n_ops);
    mai_op op;
    read_op(b, i, &op);
    switch (rnd(10)) {
        case 0:
            op.type = pick8(op.type, MAI_OP_COUNT);
            break;
        case 1:
            op.kernel = pick8(op.kernel, NN_KERNEL_COUNT);
            if (rnd(4) == 0) {
                op.rounding = pick8(op.rounding, NN_ROUNDING_COUNT);
            }
            break;
        case 2:
            op.n_in = pick8(op.n_in, MAI_MAX_OP_IO);
            break;
        case 3:
            op.n_out = pick8(op.n_out, MAI_MAX_OP_IO);
            break;
        case 4:
            op.io_offset = pick32(b, op.io_offset);
            break;
        case 5:
            op.params_offset = pick32(b, op.params_offset);
            break;
        case 6:
            op.params_size = pick32(b, op.params_size);
            break;
        case 7:
            op.scratch_offset = pick32(b, op.scratch_offset);
            break;
        case 8:
            op.scratch_size = pick32(b, op.scratch_size);
            break;
        default: {
            // Another op's entry, whole: the wrong params, io or scratch for this slot.
            mai_op other;
            read_op(b, rnd(b->n_ops), &other);
            if (rnd(2)) {
                op = other;
            } else {
                op.type = other.type;
                op.kernel = other.kernel;
            }
            break;
        }
    }
    write_op(b, i, &op);
}

// One tensor id: in an op's io list or in the model's inputs and outputs.
static void mutate_io(blob_view *b) {
    uint32_t off, n;
    if (b->n_ops && rnd(4)) {
        mai_op op;
        read_op(b, rnd(b->n_ops), &op);
        off = op.io_offset;
        n = (uint32_t)op.n_in + op.n_out;
    } else {
        off = b->h.io_offset;
        n = (uint32_t)b->h.n_inputs + b->h.n_outputs;
    }
    if (!n) {
        return;
    }
    size_t at = off + 2 * (size_t)rnd(n);
    if (at % 2 || at + 2 > b->blob_len) {
        return;
    }
    wr16(b->data + at, pick_id(b, rd16(b->data + at)));
}

// A word of an op's params: strides, paddings, offsets, shifts, multipliers, axes.
static void mutate_params(blob_view *b) {
    if (!b->n_ops) {
        return;
    }
    mai_op op;
    read_op(b, rnd(b->n_ops), &op);
    if (!op.params_size || op.params_size > b->blob_len
        || op.params_offset > b->blob_len - op.params_size) {
        return;
    }
    uint8_t *p = b->data + op.params_offset;
    if (rnd(2)) {
        uint32_t at = (rnd(op.params_size) & ~3u);
        if (at + 4 > op.params_size) {
            return;
        }
        uint32_t cur = rd32(p + at);
        uint32_t v;
        switch (rnd(3)) {
            case 0:
                v = (uint32_t)interesting_param[rnd(N_INTERESTING_PARAM)];
                break;
            case 1:
                v = rnd(2) ? cur + 1 + rnd(4) : cur - 1 - rnd(4);
                break;
            default:
                v = 0u - cur; // the negation: an input offset for a zero point
                break;
        }
        wr32(p + at, v);
    } else {
        uint32_t at = (rnd(op.params_size) & ~1u);
        if (at + 2 > op.params_size) {
            return;
        }
        int16_t cur = (int16_t)rd16(p + at);
        int16_t v = rnd(2) ? interesting16[rnd(N_INTERESTING16)]
                           : (int16_t)(cur + (rnd(2) ? 1 : -1));
        wr16(p + at, (uint16_t)v);
    }
}

// An element of a constant: a multiplier, a shift, a bias, a weight.
static void mutate_const(blob_view *b) {
    if (!b->n_tensors) {
        return;
    }
    mai_tensor t;
    read_tensor(b, rnd(b->n_tensors), &t);
    uint32_t ds = dtype_bytes(t.storage);
    if (t.mem != MAI_MEM_BLOB || !ds || t.size < ds || t.size > b->blob_len
        || t.offset > b->blob_len - t.size) {
        return;
    }
    uint32_t at = t.offset + rnd(t.size / ds) * ds;
    int32_t v = interesting_param[rnd(N_INTERESTING_PARAM)];
    if (ds == 4) {
        wr32(b->data + at, (uint32_t)v);
    } else if (ds == 2) {
        wr16(b->data + at, (uint16_t)v);
    } else {
        b->data[at] = (uint8_t)v;
    }
}

// Where an op's params mirror its tensors' zero points: (io slot, params byte offset,
// sign), io slots 0..7 inputs, 8 the output; the params hold -zp (sign -1) or zp.
typedef struct {
    uint8_t slot;
    uint8_t offset;
    int8_t sign;
} zp_field;

static const zp_field zp_conv[] = {{0, 0, -1}, {8, 4, 1}};
static const zp_field zp_fc[] = {{0, 0, -1}, {1, 4, -1}, {8, 8, 1}};
static const zp_field zp_binary[] = {{0, 0, -1}, {1, 4, -1}, {8, 8, 1}};
static const zp_field zp_requantize[] = {{0, 0, -1}, {8, 4, 1}};
static const zp_field zp_mean[] = {{0, 0, 1}, {8, 4, 1}};
static const zp_field zp_quantize[] = {{8, 4, 1}};
static const zp_field zp_dequantize[] = {{0, 4, 1}};

// A zero point changed together with the op params that mirror it, so the op's own
// checks pass and the new value reaches the kernel (asymmetric weights, extremes).
static void mutate_zero_point(blob_view *b) {
    if (!b->n_ops) {
        return;
    }
    mai_op op;
    read_op(b, rnd(b->n_ops), &op);
    const zp_field *fields;
    uint32_t n;
    switch (op.type) {
        case MAI_OP_CONV:
        case MAI_OP_DWCONV:
            fields = zp_conv, n = 2;
            break;
        case MAI_OP_FC:
            fields = zp_fc, n = 3;
            break;
        case MAI_OP_ADD:
        case MAI_OP_MUL:
            fields = zp_binary, n = 3;
            break;
        case MAI_OP_REQUANTIZE:
            fields = zp_requantize, n = 2;
            break;
        case MAI_OP_MEAN:
            fields = zp_mean, n = 2;
            break;
        case MAI_OP_QUANTIZE:
            fields = zp_quantize, n = 1;
            break;
        case MAI_OP_DEQUANTIZE:
            fields = zp_dequantize, n = 1;
            break;
        default:
            return;
    }
    const zp_field *f = &fields[rnd(n)];
    uint32_t slot = f->slot == 8 ? op.n_in : f->slot;
    size_t at = op.io_offset + 2 * (size_t)slot;
    if (slot >= (uint32_t)op.n_in + op.n_out || at + 2 > b->blob_len
        || op.params_offset + (size_t)f->offset + 4 > b->blob_len) {
        return;
    }
    uint16_t id = rd16(b->data + at);
    if (id >= b->n_tensors) {
        return;
    }
    static const int32_t values[] = {-128, 127, 0, 1, -1, 128, -129, 64};
    int32_t zp = rnd(4) ? values[rnd(8)] : (int32_t)rnd(256) - 128;
    mai_tensor t;
    read_tensor(b, id, &t);
    t.zero_point = zp;
    write_tensor(b, id, &t);
    wr32(b->data + op.params_offset + f->offset, (uint32_t)(f->sign < 0 ? -zp : zp));
}

// arena_size := the end of the last arena tensor or scratch, so the arena the harness
// allocates is as tight as the blob allows.
static void fit_arena(blob_view *b) {
    uint64_t end = 0;
    for (uint32_t i = 0; i < b->n_tensors; i++) {
        mai_tensor t;
        read_tensor(b, i, &t);
        if (t.mem == MAI_MEM_ARENA && (uint64_t)t.offset + t.size > end) {
            end = (uint64_t)t.offset + t.size;
        }
    }
    for (uint32_t i = 0; i < b->n_ops; i++) {
        mai_op op;
        read_op(b, i, &op);
        if ((uint64_t)op.scratch_offset + op.scratch_size > end) {
            end = (uint64_t)op.scratch_offset + op.scratch_size;
        }
    }
    if (end <= FUZZ_ARENA_MAX) {
        wr32(b->data + offsetof(mai_header, arena_size), (uint32_t)end);
    }
}

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size,
    unsigned int seed) {
    rng_state = seed ? seed : 0x9e3779b9u;
    blob_view b;
    if (!parse(data, size, &b) || rnd(8) == 0) {
        // libFuzzer's own byte-level mutations, over the whole input or just the
        // trailing bytes (the arena fill), CRC re-sealed most of the time.
        if (parse(data, size, &b) && b.blob_len < size && rnd(2)) {
            size_t tail = LLVMFuzzerMutate(data + b.blob_len, size - b.blob_len,
                max_size - b.blob_len);
            return b.blob_len + tail;
        }
        size = LLVMFuzzerMutate(data, size, max_size);
        if (rnd(8)) {
            reseal(data, size);
        }
        return size;
    }
    uint32_t n = rnd(3) ? 1 : 2 + rnd(3);
    for (uint32_t k = 0; k < n; k++) {
        switch (rnd(16)) {
            case 0:
            case 1:
                mutate_header(&b);
                break;
            case 2:
            case 3:
            case 4:
                mutate_tensor(&b);
                break;
            case 5:
            case 6:
                mutate_overlap(&b);
                break;
            case 7:
            case 8:
                mutate_op(&b);
                break;
            case 9:
            case 10:
                mutate_io(&b);
                break;
            case 11:
            case 12:
                mutate_params(&b);
                break;
            case 13:
                if (rnd(2)) {
                    mutate_const(&b);
                } else {
                    mutate_zero_point(&b);
                }
                break;
            default:
                // Arena fill bytes: append some if there are none.
                if (b.blob_len == size && size < max_size) {
                    size_t add = max_size - size < 64 ? max_size - size : 1 + rnd(64);
                    for (size_t i = 0; i < add; i++) {
                        data[size + i] = (uint8_t)rnd(256);
                    }
                    size += add;
                } else if (b.blob_len < size) {
                    data[b.blob_len + rnd(size - b.blob_len)] = (uint8_t)rnd(256);
                }
                break;
        }
        // Header fields may have moved the tables: look again.
        if (!parse(data, size, &b)) {
            break;
        }
    }
    if (parse(data, size, &b) && rnd(3) == 0) {
        fit_arena(&b);
    }
    reseal(data, size);
    return size;
}
