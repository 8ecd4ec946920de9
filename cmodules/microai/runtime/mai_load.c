// microai blob loader: every check once, before the first inference. The header and
// tables against the blob, each tensor against the format's limits, each op against its
// type's checks and the chosen kernel's supports() (mai_table.h); then the walk
// (mai_exec.c) trusts it all.
#include <string.h>

#include "mai_table.h"

// Bytes a tensor of n (<= MAI_MAX_ELEMENTS) elements takes in `storage` when the
// innermost dim is c, or 0 for an unknown storage type. 32-bit: no libgcc division.
static uint32_t storage_bytes(uint8_t storage, uint32_t n, uint32_t c) {
    switch (storage) {
        case MAI_STORAGE_S8: return n;
        case MAI_STORAGE_S16: return 2 * n;
        case MAI_STORAGE_S32:
        case MAI_STORAGE_F32: return 4 * n;
        case MAI_STORAGE_S4: return (n + 1) / 2;
        case MAI_STORAGE_B1: return n / c * ((c + 31) / 32) * 4;
    }
    return 0;
}

// The alignment a tensor's offset needs for its storage.
static uint32_t storage_align(uint8_t storage) {
    switch (storage) {
        case MAI_STORAGE_S16: return 2;
        case MAI_STORAGE_S32:
        case MAI_STORAGE_F32:
        case MAI_STORAGE_B1: return 4;
    }
    return 1;
}

// off + size <= limit, without overflow.
static int fits(uint32_t off, uint32_t size, uint32_t limit) {
    return off <= limit && size <= limit - off;
}

static mai_status check_header(const mai_header *h, size_t blob_size, mai_error *err) {
    if (h->magic != MAI_MAGIC) {
        return mai_fail(err, MAI_E_MAGIC, -1, MAI_CHECK_NONE);
    }
    if (h->version != MAI_VERSION) {
        return mai_fail(err, MAI_E_VERSION, h->version, MAI_CHECK_NONE);
    }
    if (h->header_size != sizeof(mai_header) || h->total_size < sizeof(mai_header)) {
        return mai_fail(err, MAI_E_LAYOUT, -1, MAI_CHECK_BOUNDS);
    }
    if (h->total_size > blob_size) {
        return mai_fail(err, MAI_E_TRUNCATED, -1, MAI_CHECK_NONE);
    }
    const uint32_t crc_start = 16; // magic, version, header_size, total_size, crc32
    if (mai_crc32(0, (const uint8_t *)h + crc_start, h->total_size - crc_start) != h->crc32) {
        return mai_fail(err, MAI_E_CRC, -1, MAI_CHECK_NONE);
    }
    if (h->n_inputs == 0 || h->n_outputs == 0) {
        return mai_fail(err, MAI_E_LAYOUT, -1, MAI_CHECK_COUNT);
    }
    uint32_t total = h->total_size;
    if (!fits(h->tensors_offset, (uint32_t)h->n_tensors * sizeof(mai_tensor), total)
        || !fits(h->ops_offset, (uint32_t)h->n_ops * sizeof(mai_op), total)
        || !fits(h->io_offset, 2u * ((uint32_t)h->n_inputs + h->n_outputs), total)
        || !fits(h->data_offset, h->data_size, total)
        || h->params_offset > h->data_offset
        || (h->tensors_offset | h->ops_offset | h->params_offset | h->data_offset) % MAI_ALIGN
        || h->io_offset % 2) {
        return mai_fail(err, MAI_E_LAYOUT, -1, MAI_CHECK_BOUNDS);
    }
    return MAI_OK;
}

// Block-sparse int8 weights (MAI_LAYOUT_BLOCK_SPARSE, nn_block4): rows of k taps, n
// elements in all; the metadata in aux (already inside the blob's data, 4-aligned) is
// u32 row_start[rows + 1], then u16 block[nnz] zero-padded to 4 bytes, and the tensor's
// bytes are the nnz blocks of 4. Every index is checked here, once: the kernels trust
// them.
static mai_check check_block4(const uint8_t *blob, const mai_tensor *t, uint32_t n) {
    if (t->storage != MAI_STORAGE_S8 || t->rank == 0) {
        return MAI_CHECK_LAYOUT;
    }
    const uint32_t rows = (uint32_t)t->dims[MAI_MAX_RANK - t->rank], k = n / rows;
    const uint32_t blocks = (k + 3) / 4;
    if (blocks > 65536u) { // a block index is a u16
        return MAI_CHECK_LAYOUT;
    }
    if (t->aux_size / 4 < rows + 1) { // rows <= 2^23: no wrap
        return MAI_CHECK_SIZE;
    }
    const uint32_t *row_start = (const uint32_t *)(blob + t->aux_offset);
    const uint32_t nnz = row_start[rows];
    if ((uint64_t)nnz * 4 != t->size
        || (uint64_t)t->aux_size != 4 * ((uint64_t)rows + 1) + (((uint64_t)nnz * 2 + 3) & ~3u)) {
        return MAI_CHECK_SIZE;
    }
    if (row_start[0] != 0) {
        return MAI_CHECK_LAYOUT;
    }
    for (uint32_t r = 0; r < rows; r++) {
        if (row_start[r + 1] < row_start[r]) { // so every row_start <= nnz
            return MAI_CHECK_LAYOUT;
        }
    }
    const uint16_t *block = (const uint16_t *)(row_start + rows + 1);
    for (uint32_t r = 0; r < rows; r++) {
        for (uint32_t j = row_start[r]; j < row_start[r + 1]; j++) {
            if (block[j] >= blocks || (j > row_start[r] && block[j] <= block[j - 1])) {
                return MAI_CHECK_LAYOUT;
            }
        }
    }
    if (nnz % 2 != 0 && block[nnz] != 0) { // the padding
        return MAI_CHECK_LAYOUT;
    }
    return MAI_CHECK_NONE;
}

static mai_status check_tensor(const mai_model *m, uint32_t i, mai_error *err) {
    const mai_header *h = m->header;
    const mai_tensor *t = &m->tensors[i];
    if (t->storage >= MAI_STORAGE_COUNT) {
        return mai_fail(err, MAI_E_TENSOR, i, MAI_CHECK_DTYPE);
    }
    if (t->rank > MAI_MAX_RANK) {
        return mai_fail(err, MAI_E_TENSOR, i, MAI_CHECK_RANK);
    }
    uint64_t n = 1;
    for (int d = 0; d < MAI_MAX_RANK; d++) {
        // Leading (unused) dims are 1; a dim of 0 (an empty tensor) is refused. Each dim
        // is bounded before it multiplies, so the product cannot wrap.
        if (t->dims[d] < 1 || t->dims[d] > MAI_MAX_DIM
            || (d < MAI_MAX_RANK - t->rank && t->dims[d] != 1)) {
            return mai_fail(err, MAI_E_TENSOR, i, MAI_CHECK_DIMS);
        }
        n *= (uint64_t)t->dims[d]; // <= MAI_MAX_ELEMENTS * MAI_MAX_DIM < 2^39
        if (n > MAI_MAX_ELEMENTS) {
            return mai_fail(err, MAI_E_TENSOR, i, MAI_CHECK_DIMS);
        }
    }
    // A standard layout is exactly as big as its storage packs the dims, and so is a
    // widened one (int16 rows of whole groups of 4), an int4 rows one (rows of whole
    // groups of 8 taps, 4 bytes each) and a Winograd one (3x3 filters as 16 int16 per
    // channel pair, input channels in whole groups of 4); a block-sparse one is a blob
    // constant whose size its index sets (check_block4()).
    if (t->layout >= MAI_LAYOUT_COUNT
        || (t->layout != MAI_LAYOUT_STANDARD && t->mem != MAI_MEM_BLOB)
        || ((t->layout == MAI_LAYOUT_WIDE || t->layout == MAI_LAYOUT_WINOGRAD)
            && t->storage != MAI_STORAGE_S16)
        || (t->layout == MAI_LAYOUT_WINOGRAD
            && (t->rank != 4 || t->dims[1] != 3 || t->dims[2] != 3))
        || (t->layout == MAI_LAYOUT_S4_ROWS && t->storage != MAI_STORAGE_S4)
        || (t->layout == MAI_LAYOUT_B1_DENSE && t->storage != MAI_STORAGE_B1)
        || (t->layout == MAI_LAYOUT_BLOCK_SPARSE && t->storage != MAI_STORAGE_S8)) {
        return mai_fail(err, MAI_E_TENSOR, i, MAI_CHECK_LAYOUT);
    }
    if (t->layout == MAI_LAYOUT_STANDARD
        && storage_bytes(t->storage, (uint32_t)n, (uint32_t)t->dims[3]) != t->size) {
        return mai_fail(err, MAI_E_TENSOR, i, MAI_CHECK_SIZE);
    }
    if (t->layout == MAI_LAYOUT_WIDE || t->layout == MAI_LAYOUT_S4_ROWS
        || t->layout == MAI_LAYOUT_WINOGRAD || t->layout == MAI_LAYOUT_B1_DENSE) {
        uint32_t rows = (uint32_t)t->dims[MAI_MAX_RANK - t->rank], k = (uint32_t)n / rows;
        uint64_t size = t->layout == MAI_LAYOUT_WIDE
            ? (uint64_t)rows * ((k + 3) & ~3u) * 2  // < 2^23 * 2^16 * 2
            : t->layout == MAI_LAYOUT_S4_ROWS ? (uint64_t)rows * ((k + 7) / 8) * 4
            : t->layout == MAI_LAYOUT_B1_DENSE ? (uint64_t)rows * ((k + 31) / 32) * 4
            : (uint64_t)rows * 16 * (((uint32_t)t->dims[3] + 3) & ~3u) * 2;
        if (size != t->size) {
            return mai_fail(err, MAI_E_TENSOR, i, MAI_CHECK_SIZE);
        }
    }
    // Zero points in the element type's range (0 for int32, float32 and binary): the op
    // checks negate and add them without overflow.
    int32_t zp = t->zero_point;
    int32_t zp_min = 0, zp_max = 0;
    switch (t->storage) {
        case MAI_STORAGE_S8: zp_min = INT8_MIN; zp_max = INT8_MAX; break;
        case MAI_STORAGE_S16: zp_min = INT16_MIN; zp_max = INT16_MAX; break;
        case MAI_STORAGE_S4: zp_min = -8; zp_max = 7; break;
    }
    if (zp < zp_min || zp > zp_max) {
        return mai_fail(err, MAI_E_TENSOR, i, MAI_CHECK_ZERO_POINT);
    }
    // A scale is 0 (none) or positive and finite (a NaN fails the first test).
    if (!(t->scale >= 0.0f) || t->scale > 3.4e38f) {
        return mai_fail(err, MAI_E_TENSOR, i, MAI_CHECK_QUANT);
    }
    if (t->offset % storage_align(t->storage)
        || ((t->layout == MAI_LAYOUT_WIDE || t->layout == MAI_LAYOUT_S4_ROWS
             || t->layout == MAI_LAYOUT_BLOCK_SPARSE || t->layout == MAI_LAYOUT_WINOGRAD)
            && t->offset % 4)) { // read by LDRD, LDR
        return mai_fail(err, MAI_E_TENSOR, i, MAI_CHECK_ALIGN);
    }
    uint32_t data_end = h->data_offset + h->data_size;
    if (t->mem == MAI_MEM_BLOB) {
        if (t->offset < h->data_offset || !fits(t->offset, t->size, data_end)) {
            return mai_fail(err, MAI_E_TENSOR, i, MAI_CHECK_BOUNDS);
        }
    } else if (t->mem == MAI_MEM_ARENA || t->mem == MAI_MEM_STATE) {
        if (!fits(t->offset, t->size, h->arena_size)) {
            return mai_fail(err, MAI_E_TENSOR, i, MAI_CHECK_BOUNDS);
        }
        // A state is an int8 or int16 recurrent memory (mai_reset() fills it).
        if (t->mem == MAI_MEM_STATE && t->storage != MAI_STORAGE_S8
            && t->storage != MAI_STORAGE_S16) {
            return mai_fail(err, MAI_E_TENSOR, i, MAI_CHECK_DTYPE);
        }
    } else {
        return mai_fail(err, MAI_E_TENSOR, i, MAI_CHECK_BOUNDS);
    }
    // A layout's metadata is a blob constant too; a standard layout has none.
    if (t->aux_size == 0 ? t->aux_offset != 0
        : (t->layout == MAI_LAYOUT_STANDARD || t->aux_offset < h->data_offset
           || t->aux_offset % 4 || !fits(t->aux_offset, t->aux_size, data_end))) {
        return mai_fail(err, MAI_E_TENSOR, i, MAI_CHECK_LAYOUT);
    }
    if (t->layout == MAI_LAYOUT_BLOCK_SPARSE) {
        mai_check c = check_block4(m->blob, t, (uint32_t)n);
        if (c != MAI_CHECK_NONE) {
            return mai_fail(err, MAI_E_TENSOR, i, c);
        }
    }
    return MAI_OK;
}

// [a, a + an) and [b, b + bn) share a byte (empty ranges share none).
static int overlaps(uintptr_t a, size_t an, uintptr_t b, size_t bn) {
    return an && bn && a < b + bn && b < a + an;
}

// The arena bytes an op touches do not collide: its scratch overlaps none of its inputs
// and outputs, and no two outputs overlap. Whether an output may overlap an input (an
// elementwise op writing over an input that dies there, as planned) is the op's own
// check, in its prepare().
static int op_arena_ok(const mai_op_ctx *ctx) {
    uintptr_t s = (uintptr_t)ctx->scratch;
    for (uint32_t k = 0; k < ctx->n_in; k++) {
        const mai_tensor_view *v = &ctx->in[k];
        if (v->data && !v->is_const && overlaps(s, ctx->scratch_size, (uintptr_t)v->data, v->size)) {
            return 0;
        }
    }
    for (uint32_t k = 0; k < ctx->n_out; k++) {
        const mai_tensor_view *v = &ctx->out[k];
        if (overlaps(s, ctx->scratch_size, (uintptr_t)v->data, v->size)) {
            return 0;
        }
        for (uint32_t j = 0; j < k; j++) {
            if (overlaps((uintptr_t)ctx->out[j].data, ctx->out[j].size, (uintptr_t)v->data,
                v->size)) {
                return 0;
            }
        }
    }
    return 1;
}

// A state tensor's bytes are its own: no other arena tensor, state or op scratch shares
// them (the planner gives each state the whole run), so it lasts from one invocation to
// the next.
static mai_status check_states(const mai_model *m, mai_error *err) {
    for (uint32_t i = 0; i < m->n_tensors; i++) {
        const mai_tensor *s = &m->tensors[i];
        if (s->mem != MAI_MEM_STATE) {
            continue;
        }
        for (uint32_t j = 0; j < m->n_tensors; j++) {
            const mai_tensor *t = &m->tensors[j];
            if (j != i && t->mem != MAI_MEM_BLOB
                && overlaps(s->offset, s->size, t->offset, t->size)) {
                return mai_fail(err, MAI_E_TENSOR, i, MAI_CHECK_OVERLAP);
            }
        }
        for (uint32_t k = 0; k < m->n_ops; k++) {
            const mai_op *op = &m->ops[k];
            if (overlaps(s->offset, s->size, op->scratch_offset, op->scratch_size)) {
                return mai_fail(err, MAI_E_TENSOR, i, MAI_CHECK_OVERLAP);
            }
        }
    }
    return MAI_OK;
}

static mai_status check_op(const mai_model *m, uint32_t i, mai_error *err) {
    const mai_header *h = m->header;
    const mai_op *op = &m->ops[i];
    if (op->type >= MAI_OP_COUNT) {
        return mai_fail(err, MAI_E_OP, i, MAI_CHECK_OP_TYPE);
    }
    if (op->n_in > MAI_MAX_OP_IO || op->n_out > MAI_MAX_OP_IO || op->n_out == 0) {
        return mai_fail(err, MAI_E_OP, i, MAI_CHECK_IO_COUNT);
    }
    uint32_t n_io = (uint32_t)op->n_in + op->n_out;
    if (op->io_offset % 2 || !fits(op->io_offset, 2 * n_io, h->total_size)) {
        return mai_fail(err, MAI_E_OP, i, MAI_CHECK_BOUNDS);
    }
    const uint16_t *ids = (const uint16_t *)(m->blob + op->io_offset);
    for (uint32_t k = 0; k < n_io; k++) {
        // Only inputs may be omitted (an optional bias); outputs always exist in the arena.
        int optional = k < op->n_in && ids[k] == MAI_NO_TENSOR;
        if (!optional && (ids[k] >= h->n_tensors
                          || (k >= op->n_in && m->tensors[ids[k]].mem != MAI_MEM_ARENA))) {
            return mai_fail(err, MAI_E_OP, i, MAI_CHECK_IO_ID);
        }
    }
    if (op->params_offset < h->params_offset || op->params_offset % 4
        || !fits(op->params_offset, op->params_size, h->data_offset)) {
        return mai_fail(err, MAI_E_OP, i, MAI_CHECK_BOUNDS);
    }
    if (!fits(op->scratch_offset, op->scratch_size, h->arena_size) || op->scratch_offset % 4) {
        return mai_fail(err, MAI_E_OP, i, MAI_CHECK_BOUNDS);
    }
    mai_op_ctx ctx;
    mai_make_ctx(m, op, &ctx);
    if (!op_arena_ok(&ctx)) {
        return mai_fail(err, MAI_E_OP, i, MAI_CHECK_OVERLAP);
    }
    if (op->rounding >= NN_ROUNDING_COUNT) {
        return mai_fail(err, MAI_E_OP, i, MAI_CHECK_ROUNDING);
    }
    // The kernel the host chose must be one of this op's ...
    if (op->kernel >= NN_KERNEL_COUNT || mai_kernel_rows[op->kernel].name == NULL
        || mai_kernel_rows[op->kernel].op != op->type) {
        return mai_fail(err, MAI_E_OP, i, MAI_CHECK_KERNEL);
    }
    // ... reading its weights (input 1) in its row's format, every other input in the
    // standard layout ...
    const mai_weights_row *wf = &mai_weights_rows[mai_kernel_rows[op->kernel].weights];
    int has_weights = mai_kernel_rows[op->kernel].weights != MAI_WEIGHTS_NONE;
    for (uint32_t k = 0; k < ctx.n_in; k++) {
        int weights = k == 1 && has_weights;
        uint8_t layout = weights ? wf->layout : MAI_LAYOUT_STANDARD;
        if (ctx.in[k].data != NULL && (ctx.in[k].layout != layout
                                       || (weights && ctx.in[k].storage != wf->storage))) {
            return mai_fail(err, MAI_E_OP, i, MAI_CHECK_LAYOUT);
        }
    }
    // ... the op must be well formed for any of its kernels ...
    if (op->params_size != mai_op_rows[op->type].params_size) {
        return mai_fail(err, MAI_E_OP, i, MAI_CHECK_PARAMS_SIZE);
    }
    mai_status s = mai_op_rows[op->type].prepare(&ctx, err);
    if (s != MAI_OK) {
        err->index = i;
        return s;
    }
    // ... and this kernel must take it, with the scratch it needs.
    const mai_kernel_row *k = &mai_kernel_rows[op->kernel];
    const char *why = k->supports(&ctx);
    if (why != NULL) {
        mai_fail(err, MAI_E_OP, i, MAI_CHECK_SUPPORTS);
        err->why = why;
        return MAI_E_OP;
    }
    if (k->scratch(&ctx) != op->scratch_size) {
        return mai_fail(err, MAI_E_OP, i, MAI_CHECK_SCRATCH);
    }
    return MAI_OK;
}

mai_status mai_load(mai_model *m, const void *blob, size_t blob_size, void *arena,
    size_t arena_size, mai_error *err) {
    memset(m, 0, sizeof(*m));
    err->index = -1;
    err->detail = MAI_CHECK_NONE;
    err->why = NULL;
    if (blob == NULL || blob_size < sizeof(mai_header)) {
        return mai_fail(err, MAI_E_TRUNCATED, -1, MAI_CHECK_NONE);
    }
    if ((uintptr_t)blob % 4) {
        return mai_fail(err, MAI_E_LAYOUT, -1, MAI_CHECK_ALIGN);
    }
    const mai_header *h = blob;
    mai_status s = check_header(h, blob_size, err);
    if (s != MAI_OK) {
        return s;
    }
    if (arena_size < h->arena_size) {
        return mai_fail(err, MAI_E_ARENA_TOO_SMALL, -1, MAI_CHECK_NONE);
    }
    if ((uintptr_t)arena % MAI_ALIGN) {
        return mai_fail(err, MAI_E_ARENA_ALIGN, -1, MAI_CHECK_NONE);
    }
    // The model writes into the arena: it must not be the blob's own bytes.
    if (overlaps((uintptr_t)arena, h->arena_size, (uintptr_t)blob, h->total_size)) {
        return mai_fail(err, MAI_E_ARENA_OVERLAP, -1, MAI_CHECK_NONE);
    }
    mai_model mm = {
        .blob = blob,
        .header = h,
        .tensors = (const mai_tensor *)((const uint8_t *)blob + h->tensors_offset),
        .ops = (const mai_op *)((const uint8_t *)blob + h->ops_offset),
        .arena = arena,
        .arena_size = h->arena_size,
        .n_tensors = h->n_tensors,
        .n_ops = h->n_ops,
    };
    for (uint32_t i = 0; i < h->n_tensors; i++) {
        if ((s = check_tensor(&mm, i, err)) != MAI_OK) {
            return s;
        }
    }
    const uint16_t *io = (const uint16_t *)(mm.blob + h->io_offset);
    for (uint32_t i = 0; i < (uint32_t)h->n_inputs + h->n_outputs; i++) {
        if (io[i] >= h->n_tensors || mm.tensors[io[i]].mem != MAI_MEM_ARENA) {
            return mai_fail(err, MAI_E_IO, i, MAI_CHECK_IO_ID);
        }
    }
    for (uint32_t i = 0; i < h->n_ops; i++) {
        if ((s = check_op(&mm, i, err)) != MAI_OK) {
            return s;
        }
    }
    if ((s = check_states(&mm, err)) != MAI_OK) {
        return s;
    }
    mai_reset(&mm);
    *m = mm;
    return MAI_OK;
}

