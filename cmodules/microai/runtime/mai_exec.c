// microai blob executor: a thin walk over the ops the loader checked (mai_load.c), each
// op run by the kernel the blob names, through the table (mai_table.h).
#include <string.h>

#include "mai_table.h"

// CRC-32 (reflected polynomial 0xEDB88320, as zlib), a nibble at a time: 64 bytes of table.
uint32_t mai_crc32(uint32_t crc, const void *data, size_t n) {
    static const uint32_t table[16] = {
        0x00000000, 0x1db71064, 0x3b6e20c8, 0x26d930ac, 0x76dc4190, 0x6b6b51f4,
        0x4db26158, 0x5005713c, 0xedb88320, 0xf00f9344, 0xd6d6a3e8, 0xcb61b38c,
        0x9b64c2b0, 0x86d3d2d4, 0xa00ae278, 0xbdbdf21c,
    };
    const uint8_t *p = data;
    crc = ~crc;
    while (n--) {
        crc ^= *p++;
        crc = (crc >> 4) ^ table[crc & 15];
        crc = (crc >> 4) ^ table[crc & 15];
    }
    return ~crc;
}

const char *mai_status_str(mai_status s) {
    switch (s) {
        case MAI_OK: return "ok";
        case MAI_E_TRUNCATED: return "blob truncated";
        case MAI_E_MAGIC: return "not a microai blob (bad magic)";
        case MAI_E_VERSION: return "unsupported blob version (reconvert the model with this microai)";
        case MAI_E_CRC: return "CRC mismatch (corrupted blob)";
        case MAI_E_LAYOUT: return "blob sections out of bounds or misaligned";
        case MAI_E_TENSOR: return "invalid tensor";
        case MAI_E_OP: return "invalid op";
        case MAI_E_ARENA_TOO_SMALL: return "arena too small";
        case MAI_E_ARENA_ALIGN: return "arena not 16-byte aligned";
        case MAI_E_KERNEL: return "kernel error";
        case MAI_E_IO: return "model input/output index out of range";
        case MAI_E_ARENA_OVERLAP: return "arena overlaps the blob";
    }
    return "unknown error";
}

const char *mai_check_str(mai_check c) {
    switch (c) {
        case MAI_CHECK_NONE: return "";
        case MAI_CHECK_BOUNDS: return "outside the blob or the arena";
        case MAI_CHECK_ALIGN: return "misaligned";
        case MAI_CHECK_DTYPE: return "wrong or unknown storage type";
        case MAI_CHECK_RANK: return "wrong rank";
        case MAI_CHECK_SIZE: return "size does not match shape";
        case MAI_CHECK_OP_TYPE: return "unknown op type";
        case MAI_CHECK_IO_COUNT: return "wrong number of inputs or outputs";
        case MAI_CHECK_IO_ID: return "tensor id out of range";
        case MAI_CHECK_PARAMS_SIZE: return "wrong params size";
        case MAI_CHECK_PARAM: return "parameter out of range";
        case MAI_CHECK_SHAPE: return "shapes do not agree";
        case MAI_CHECK_KERNEL: return "not a kernel of this op type";
        case MAI_CHECK_SCRATCH: return "scratch size differs from the kernel's";
        case MAI_CHECK_CONST: return "weights or parameters are not blob constants";
        case MAI_CHECK_DIMS: return "a dim is 0, negative or past the format's limits";
        case MAI_CHECK_OVERLAP: return "scratch, inputs or outputs overlap in the arena";
        case MAI_CHECK_COUNT: return "the model has no inputs or no outputs";
        case MAI_CHECK_ZERO_POINT: return "zero point outside the element type's range";
        case MAI_CHECK_QUANT: return "scale negative or not finite";
        case MAI_CHECK_LAYOUT: return "a layout this tensor or op cannot have";
        case MAI_CHECK_ROUNDING: return "a rounding this op's kernel does not do";
        case MAI_CHECK_SUPPORTS: return "the kernel does not take this op";
    }
    return "unknown check";
}

static void view(const mai_model *m, uint16_t id, mai_tensor_view *v) {
    if (id == MAI_NO_TENSOR || id >= m->n_tensors) { // the second: checked at load
        memset(v, 0, sizeof(*v));
        return;
    }
    const mai_tensor *t = &m->tensors[id];
    v->is_const = t->mem == MAI_MEM_BLOB;
    v->is_state = t->mem == MAI_MEM_STATE;
    v->data = v->is_const ? (void *)(m->blob + t->offset) : (void *)(m->arena + t->offset);
    v->dims.n = t->dims[0];
    v->dims.h = t->dims[1];
    v->dims.w = t->dims[2];
    v->dims.c = t->dims[3];
    v->size = t->size;
    v->storage = t->storage;
    v->layout = t->layout;
    v->scale = t->scale;
    v->rank = t->rank;
    v->zero_point = t->zero_point;
    v->aux = t->aux_size ? m->blob + t->aux_offset : NULL;
    v->aux_size = t->aux_size;
}

void mai_make_ctx(const mai_model *m, const mai_op *op, mai_op_ctx *ctx) {
    const uint16_t *ids = (const uint16_t *)(m->blob + op->io_offset);
    ctx->params = m->blob + op->params_offset;
    ctx->params_size = op->params_size;
    ctx->kernel = op->kernel;
    ctx->rounding = op->rounding;
    ctx->n_in = op->n_in;
    ctx->n_out = op->n_out;
    for (uint32_t i = 0; i < op->n_in; i++) {
        view(m, ids[i], &ctx->in[i]);
    }
    for (uint32_t i = 0; i < op->n_out; i++) {
        view(m, ids[op->n_in + i], &ctx->out[i]);
    }
    ctx->scratch = op->scratch_size ? m->arena + op->scratch_offset : NULL;
    ctx->scratch_size = op->scratch_size;
}

mai_status mai_invoke_op(const mai_model *m, uint32_t i, mai_error *err) {
    if (m->header == NULL || i >= m->n_ops) {
        return mai_fail(err, MAI_E_OP, i, MAI_CHECK_BOUNDS);
    }
    const mai_op *op = &m->ops[i];
    // Checked at load; checked again here, cheaply, so that a blob whose bytes changed
    // after the load can never index past the kernel table or the context's arrays.
    if (op->type >= MAI_OP_COUNT) {
        return mai_fail(err, MAI_E_OP, i, MAI_CHECK_OP_TYPE);
    }
    if (op->n_in > MAI_MAX_OP_IO || op->n_out > MAI_MAX_OP_IO) {
        return mai_fail(err, MAI_E_OP, i, MAI_CHECK_IO_COUNT);
    }
    if (op->kernel >= NN_KERNEL_COUNT || mai_kernel_rows[op->kernel].eval == NULL) {
        return mai_fail(err, MAI_E_OP, i, MAI_CHECK_KERNEL);
    }
    mai_op_ctx ctx;
    mai_make_ctx(m, op, &ctx);
    nn_status s = mai_kernel_rows[op->kernel].eval(&ctx);
    if (s != NN_OK) {
        return mai_fail(err, MAI_E_KERNEL, i, (mai_check)s);
    }
    return MAI_OK;
}

void mai_reset(const mai_model *m) {
    for (uint32_t i = 0; i < m->n_tensors; i++) {
        const mai_tensor *t = &m->tensors[i];
        if (t->mem != MAI_MEM_STATE) {
            continue;
        }
        uint8_t *d = m->arena + t->offset;
        if (t->storage == MAI_STORAGE_S16) { // zero point 0 (checked by the ops using it)
            int16_t zp = (int16_t)t->zero_point;
            for (uint32_t k = 0; k + 2 <= t->size; k += 2) {
                memcpy(d + k, &zp, 2);
            }
        } else {
            memset(d, t->storage == MAI_STORAGE_S8 ? (uint8_t)t->zero_point : 0, t->size);
        }
    }
}

mai_status mai_invoke(const mai_model *m, mai_error *err) {
    uint32_t n = m->header ? m->n_ops : 0;
    for (uint32_t i = 0; i < n; i++) {
        mai_status s = mai_invoke_op(m, i, err);
        if (s != MAI_OK) {
            return s;
        }
    }
    return MAI_OK;
}

void *mai_tensor_data(const mai_model *m, uint32_t t) {
    if (m->header == NULL || t >= m->n_tensors) {
        return NULL;
    }
    mai_tensor_view v;
    view(m, (uint16_t)t, &v);
    return v.data;
}

uint32_t mai_input(const mai_model *m, uint32_t i) {
    if (m->header == NULL || i >= m->header->n_inputs) {
        return MAI_NO_TENSOR;
    }
    return ((const uint16_t *)(m->blob + m->header->io_offset))[i];
}

uint32_t mai_output(const mai_model *m, uint32_t i) {
    if (m->header == NULL || i >= m->header->n_outputs) {
        return MAI_NO_TENSOR;
    }
    return ((const uint16_t *)(m->blob + m->header->io_offset))[m->header->n_inputs + i];
}
