// microai: the op checks and kernel glue of MAI_OP_PAD and MAI_OP_CONCAT (1..8 inputs).
#include "common.h"

// ---- data movement ------------------------------------------------------------------

mai_status mai_prepare_pad(const mai_op_ctx *ctx, mai_error *err) {
    mai_check c = ops_check_common(ctx, sizeof(nn_pad_params), 1, 1,
        MAI_STORAGE_S8, MAI_STORAGE_S8);
    if (c != MAI_CHECK_NONE) {
        return ops_fail(err, c);
    }
    const nn_pad_params *p = ctx->params;
    const nn_dims *i = &ctx->in[0].dims, *o = &ctx->out[0].dims;
    const int32_t din[4] = {i->n, i->h, i->w, i->c};
    const int32_t dout[4] = {o->n, o->h, o->w, o->c};
    if (!ops_is_s8(p->pad_value) || ctx->in[0].zero_point != ctx->out[0].zero_point) {
        return ops_fail(err, MAI_CHECK_PARAM);
    }
    for (int d = 0; d < 4; d++) {
        if (p->before[d] < 0 || p->after[d] < 0) {
            return ops_fail(err, MAI_CHECK_PARAM);
        }
        if ((int64_t)din[d] + p->before[d] + p->after[d] != dout[d]) {
            return ops_fail(err, MAI_CHECK_SHAPE);
        }
    }
    if (!ops_overlap_ok(&ctx->in[0], &ctx->out[0], 0)) {
        return ops_fail(err, MAI_CHECK_OVERLAP);
    }
    return MAI_OK;
}

nn_status mai_eval_pad(const mai_op_ctx *ctx) {
    return nn_pad_s8(ctx->params, &ctx->in[0].dims, ctx->in[0].data, &ctx->out[0].dims,
        ctx->out[0].data);
}

mai_status mai_prepare_concat(const mai_op_ctx *ctx, mai_error *err) {
    mai_check c = ops_check_common(ctx, sizeof(nn_concat_params), 1,
        MAI_MAX_OP_IO, MAI_STORAGE_S8, MAI_STORAGE_S8);
    if (c != MAI_CHECK_NONE) {
        return ops_fail(err, c);
    }
    const nn_concat_params *p = ctx->params;
    if (p->axis < 0 || p->axis > 3) {
        return ops_fail(err, MAI_CHECK_PARAM);
    }
    const nn_dims *o = &ctx->out[0].dims;
    const int32_t dout[4] = {o->n, o->h, o->w, o->c};
    int64_t along = 0;
    for (uint32_t k = 0; k < ctx->n_in; k++) {
        const nn_dims *i = &ctx->in[k].dims;
        const int32_t din[4] = {i->n, i->h, i->w, i->c};
        if (ctx->in[k].zero_point != ctx->out[0].zero_point) {
            return ops_fail(err, MAI_CHECK_PARAM);
        }
        for (int d = 0; d < 4; d++) {
            if (d != p->axis && din[d] != dout[d]) {
                return ops_fail(err, MAI_CHECK_SHAPE);
            }
        }
        along += din[p->axis];
        if (!ops_overlap_ok(&ctx->in[k], &ctx->out[0], 0)) {
            return ops_fail(err, MAI_CHECK_OVERLAP);
        }
    }
    if (along != dout[p->axis]) {
        return ops_fail(err, MAI_CHECK_SHAPE);
    }
    return MAI_OK;
}

nn_status mai_eval_concat(const mai_op_ctx *ctx) {
    const nn_dims *dims[MAI_MAX_OP_IO];
    const int8_t *data[MAI_MAX_OP_IO];
    for (uint32_t k = 0; k < ctx->n_in; k++) {
        dims[k] = &ctx->in[k].dims;
        data[k] = ctx->in[k].data;
    }
    return nn_concat_s8(ctx->params, ctx->n_in, dims, data, &ctx->out[0].dims,
        ctx->out[0].data);
}

// TRANSPOSE: perm a permutation of 0..3, the output's dims the input's permuted, the same
// zero point (a move of values), no overlap.
mai_status mai_prepare_transpose(const mai_op_ctx *ctx, mai_error *err) {
    mai_check c = ops_check_common(ctx, sizeof(nn_transpose_params), 1, 1,
        MAI_STORAGE_S8, MAI_STORAGE_S8);
    if (c != MAI_CHECK_NONE) {
        return ops_fail(err, c);
    }
    const nn_transpose_params *p = ctx->params;
    const nn_dims *i = &ctx->in[0].dims, *o = &ctx->out[0].dims;
    const int32_t din[4] = {i->n, i->h, i->w, i->c};
    const int32_t dout[4] = {o->n, o->h, o->w, o->c};
    uint32_t seen = 0;
    for (int d = 0; d < 4; d++) {
        if (p->perm[d] < 0 || p->perm[d] > 3 || (seen >> p->perm[d]) & 1u) {
            return ops_fail(err, MAI_CHECK_PARAM);
        }
        seen |= 1u << p->perm[d];
    }
    if (ctx->in[0].zero_point != ctx->out[0].zero_point) {
        return ops_fail(err, MAI_CHECK_PARAM);
    }
    for (int d = 0; d < 4; d++) {
        if (dout[d] != din[p->perm[d]]) {
            return ops_fail(err, MAI_CHECK_SHAPE);
        }
    }
    if (!ops_overlap_ok(&ctx->in[0], &ctx->out[0], 0)) {
        return ops_fail(err, MAI_CHECK_OVERLAP);
    }
    return MAI_OK;
}

nn_status mai_eval_transpose(const mai_op_ctx *ctx) {
    return nn_transpose_s8(ctx->params, &ctx->in[0].dims, ctx->in[0].data,
        ctx->out[0].data);
}

// STRIDED_SLICE: every index it reads lies inside the input (first and last of each
// axis), the counts make the output's elements, the same zero point, no overlap.
mai_status mai_prepare_slice(const mai_op_ctx *ctx, mai_error *err) {
    mai_check c = ops_check_common(ctx, sizeof(nn_slice_params), 1, 1,
        MAI_STORAGE_S8, MAI_STORAGE_S8);
    if (c != MAI_CHECK_NONE) {
        return ops_fail(err, c);
    }
    const nn_slice_params *p = ctx->params;
    const nn_dims *i = &ctx->in[0].dims;
    const int32_t din[4] = {i->n, i->h, i->w, i->c};
    uint64_t n = 1;
    for (int d = 0; d < 4; d++) {
        if (p->count[d] < 1 || p->stride[d] == 0 || p->begin[d] < 0 || p->begin[d] >= din[d]) {
            return ops_fail(err, MAI_CHECK_PARAM);
        }
        // In int64 (count - 1 < 2^31, |stride| <= 2^31): a lying count cannot overflow.
        const int64_t last = (int64_t)p->begin[d] + ((int64_t)p->count[d] - 1) * p->stride[d];
        if (last < 0 || last >= din[d]) {
            return ops_fail(err, MAI_CHECK_PARAM);
        }
        n *= (uint64_t)p->count[d];
    }
    if (n != ops_elements(&ctx->out[0].dims)) {
        return ops_fail(err, MAI_CHECK_SHAPE);
    }
    if (ctx->in[0].zero_point != ctx->out[0].zero_point) {
        return ops_fail(err, MAI_CHECK_PARAM);
    }
    if (!ops_overlap_ok(&ctx->in[0], &ctx->out[0], 0)) {
        return ops_fail(err, MAI_CHECK_OVERLAP);
    }
    return MAI_OK;
}

nn_status mai_eval_slice(const mai_op_ctx *ctx) {
    return nn_strided_slice_s8(ctx->params, &ctx->in[0].dims, ctx->in[0].data,
        ctx->out[0].data);
}

static inline int32_t dim_at(const nn_dims *d, int32_t axis) {
    return axis == 0 ? d->n : axis == 1 ? d->h : axis == 2 ? d->w : d->c;
}

// SPLIT: 1 to MAI_MAX_OP_IO outputs, each the input's dims but along the axis, their
// lengths adding up to the input's; no output overlaps the input (the loader checks the
// outputs against each other).
mai_status mai_prepare_split(const mai_op_ctx *ctx, mai_error *err) {
    if (ctx->params_size != sizeof(nn_split_params)) {
        return ops_fail(err, MAI_CHECK_PARAMS_SIZE);
    }
    if (ctx->n_in != 1 || ctx->n_out < 1) {
        return ops_fail(err, MAI_CHECK_IO_COUNT);
    }
    if (ctx->rounding != NN_ROUNDING_DOUBLE) {
        return ops_fail(err, MAI_CHECK_ROUNDING);
    }
    const nn_split_params *p = ctx->params;
    const mai_tensor_view *in = &ctx->in[0];
    if (in->data == NULL) {
        return ops_fail(err, MAI_CHECK_IO_ID);
    }
    if (p->axis < 0 || p->axis > 3) {
        return ops_fail(err, MAI_CHECK_PARAM);
    }
    int64_t along = 0;
    for (uint32_t k = 0; k < ctx->n_out; k++) {
        const mai_tensor_view *o = &ctx->out[k];
        if (in->storage != MAI_STORAGE_S8 || o->storage != MAI_STORAGE_S8) {
            return ops_fail(err, MAI_CHECK_DTYPE);
        }
        for (int32_t d = 0; d < 4; d++) {
            if (d != p->axis && dim_at(&o->dims, d) != dim_at(&in->dims, d)) {
                return ops_fail(err, MAI_CHECK_SHAPE);
            }
        }
        along += dim_at(&o->dims, p->axis);
        if (!ops_overlap_ok(in, o, 0)) {
            return ops_fail(err, MAI_CHECK_OVERLAP);
        }
    }
    if (along != dim_at(&in->dims, p->axis)) {
        return ops_fail(err, MAI_CHECK_SHAPE);
    }
    return MAI_OK;
}

nn_status mai_eval_split(const mai_op_ctx *ctx) {
    const nn_split_params *p = ctx->params;
    int32_t lengths[MAI_MAX_OP_IO];
    int8_t *outs[MAI_MAX_OP_IO];
    for (uint32_t k = 0; k < ctx->n_out; k++) {
        lengths[k] = dim_at(&ctx->out[k].dims, p->axis);
        outs[k] = ctx->out[k].data;
    }
    return nn_split_s8(p, &ctx->in[0].dims, ctx->in[0].data, (int32_t)ctx->n_out, lengths,
        outs);
}

// GATHER: constant int32 indices, each inside the axis; the output holds outer x count x
// inner values; no overlap.
mai_status mai_prepare_gather(const mai_op_ctx *ctx, mai_error *err) {
    if (ctx->params_size != sizeof(nn_gather_params)) {
        return ops_fail(err, MAI_CHECK_PARAMS_SIZE);
    }
    if (ctx->n_in != 2 || ctx->n_out != 1) {
        return ops_fail(err, MAI_CHECK_IO_COUNT);
    }
    if (ctx->rounding != NN_ROUNDING_DOUBLE) {
        return ops_fail(err, MAI_CHECK_ROUNDING);
    }
    const mai_tensor_view *in = &ctx->in[0], *idx = &ctx->in[1], *out = &ctx->out[0];
    if (in->data == NULL || idx->data == NULL) {
        return ops_fail(err, MAI_CHECK_IO_ID);
    }
    if (in->storage != MAI_STORAGE_S8 || out->storage != MAI_STORAGE_S8
        || idx->storage != MAI_STORAGE_S32) {
        return ops_fail(err, MAI_CHECK_DTYPE);
    }
    if (!idx->is_const) {
        return ops_fail(err, MAI_CHECK_CONST);
    }
    const nn_gather_params *p = ctx->params;
    if (p->axis < 0 || p->axis > 3) {
        return ops_fail(err, MAI_CHECK_PARAM);
    }
    const int32_t along = dim_at(&in->dims, p->axis);
    const uint32_t count = ops_elements(&idx->dims);
    const int32_t *ix = idx->data;
    for (uint32_t k = 0; k < count; k++) {
        if (ix[k] < 0 || ix[k] >= along) {
            return ops_fail(err, MAI_CHECK_PARAM);
        }
    }
    // 32-bit division: a 64-bit one would pull libgcc's __aeabi_uldivmod into the firmware.
    const uint32_t slices = ops_elements(&in->dims) / (uint32_t)along;
    if ((uint64_t)slices * count != ops_elements(&out->dims)) {
        return ops_fail(err, MAI_CHECK_SHAPE);
    }
    if (!ops_overlap_ok(in, out, 0)) {
        return ops_fail(err, MAI_CHECK_OVERLAP);
    }
    return MAI_OK;
}

nn_status mai_eval_gather(const mai_op_ctx *ctx) {
    return nn_gather_s8(ctx->params, &ctx->in[0].dims, ctx->in[0].data, ctx->in[1].data,
        (int32_t)ops_elements(&ctx->in[1].dims), ctx->out[0].data);
}
