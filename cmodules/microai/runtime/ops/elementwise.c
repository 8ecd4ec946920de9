// microai: the op checks and kernel glue of MAI_OP_ADD, MUL, REQUANTIZE, QUANTIZE and
// DEQUANTIZE. ADD/MUL's second input may be a blob constant; an output may be written
// exactly over an input of the same shape.
#include "common.h"

// ---- elementwise --------------------------------------------------------------------

// ADD/MUL: each input dim equals the output's or is 1 (broadcast), and the output dim is
// the larger of the two.
static mai_check ops_check_binary(const mai_op_ctx *ctx) {
    const nn_dims *a = &ctx->in[0].dims, *b = &ctx->in[1].dims, *o = &ctx->out[0].dims;
    const int32_t da[4] = {a->n, a->h, a->w, a->c};
    const int32_t db[4] = {b->n, b->h, b->w, b->c};
    const int32_t dout[4] = {o->n, o->h, o->w, o->c};
    for (int d = 0; d < 4; d++) {
        int32_t m = da[d] > db[d] ? da[d] : db[d];
        if ((da[d] != dout[d] && da[d] != 1) || (db[d] != dout[d] && db[d] != 1)
            || dout[d] != m) {
            return MAI_CHECK_SHAPE;
        }
    }
    if (!ops_overlap_ok(&ctx->in[0], &ctx->out[0], 1)
        || !ops_overlap_ok(&ctx->in[1], &ctx->out[0], 1)) {
        return MAI_CHECK_OVERLAP;
    }
    return MAI_CHECK_NONE;
}

// int8, or int16 (16x8: zero points 0, left_shift 15, as both goldens' general path).
mai_status mai_prepare_add(const mai_op_ctx *ctx, mai_error *err) {
    const uint8_t st = ctx->in[0].storage == MAI_STORAGE_S16 ? MAI_STORAGE_S16 : MAI_STORAGE_S8;
    mai_check c = ops_check_common(ctx, sizeof(nn_add_params), 2, 2, st, st);
    if (c != MAI_CHECK_NONE) {
        return ops_fail(err, c);
    }
    const nn_add_params *p = ctx->params;
    // (in + offset) << left_shift must fit in int32: |in + offset| <= 255 << 23 for int8,
    // |in| <= 2^15 << 15 for int16.
    const int ok16 = st != MAI_STORAGE_S16
        || (p->input1_offset == 0 && p->input2_offset == 0 && p->output_offset == 0
            && p->left_shift == 15);
    if (p->input1_offset != -ctx->in[0].zero_point || p->input2_offset != -ctx->in[1].zero_point
        || p->output_offset != ctx->out[0].zero_point || !ok16
        || p->left_shift < 0 || p->left_shift > 23
        || !ops_requant_ok(p->input1_multiplier, p->input1_shift)
        || !ops_requant_ok(p->input2_multiplier, p->input2_shift)
        || !ops_requant_ok(p->output_multiplier, p->output_shift)
        || !ops_act_ok_for(st, &p->act)) {
        return ops_fail(err, MAI_CHECK_PARAM);
    }
    c = ops_check_binary(ctx);
    return c == MAI_CHECK_NONE ? MAI_OK : ops_fail(err, c);
}

const char *mai_supports_add_s8(const mai_op_ctx *ctx) {
    return ctx->in[0].storage == MAI_STORAGE_S8 ? NULL : "takes int8 activations";
}

const char *mai_supports_add_s16(const mai_op_ctx *ctx) {
    return ctx->in[0].storage == MAI_STORAGE_S16 ? NULL : "takes int16 activations (16x8)";
}

nn_status mai_eval_add_s16(const mai_op_ctx *ctx) {
    return nn_add_s16(ctx->params, &ctx->in[0].dims, ctx->in[0].data, &ctx->in[1].dims,
        ctx->in[1].data, &ctx->out[0].dims, ctx->out[0].data);
}

uint32_t mai_scratch_add(const mai_op_ctx *ctx) {
    return (uint32_t)nn_add_s8_scratch_size(&ctx->out[0].dims);
}

nn_status mai_eval_add(const mai_op_ctx *ctx) {
    return nn_add_s8(ctx->params, &ctx->in[0].dims, ctx->in[0].data, &ctx->in[1].dims,
        ctx->in[1].data, &ctx->out[0].dims, ctx->out[0].data, ctx->scratch, ctx->scratch_size);
}

mai_status mai_prepare_mul(const mai_op_ctx *ctx, mai_error *err) {
    mai_check c = ops_check_common(ctx, sizeof(nn_mul_params), 2, 2,
        MAI_STORAGE_S8, MAI_STORAGE_S8);
    if (c != MAI_CHECK_NONE) {
        return ops_fail(err, c);
    }
    const nn_mul_params *p = ctx->params;
    if (p->input1_offset != -ctx->in[0].zero_point || p->input2_offset != -ctx->in[1].zero_point
        || p->output_offset != ctx->out[0].zero_point
        || !ops_requant_ok(p->output_multiplier, p->output_shift) || !ops_act_ok(&p->act)) {
        return ops_fail(err, MAI_CHECK_PARAM);
    }
    c = ops_check_binary(ctx);
    return c == MAI_CHECK_NONE ? MAI_OK : ops_fail(err, c);
}

nn_status mai_eval_mul(const mai_op_ctx *ctx) {
    return nn_mul_s8(ctx->params, &ctx->in[0].dims, ctx->in[0].data, &ctx->in[1].dims,
        ctx->in[1].data, &ctx->out[0].dims, ctx->out[0].data);
}

mai_status mai_prepare_requantize(const mai_op_ctx *ctx, mai_error *err) {
    mai_check c = ops_check_common(ctx, sizeof(nn_requantize_params), 1, 1, MAI_STORAGE_S8, MAI_STORAGE_S8);
    if (c != MAI_CHECK_NONE) {
        return ops_fail(err, c);
    }
    const nn_requantize_params *p = ctx->params;
    if (p->input_offset != -ctx->in[0].zero_point || p->output_offset != ctx->out[0].zero_point
        || !ops_requant_ok(p->multiplier, p->shift)) {
        return ops_fail(err, MAI_CHECK_PARAM);
    }
    c = ops_check_unary(ctx);
    return c == MAI_CHECK_NONE ? MAI_OK : ops_fail(err, c);
}

nn_status mai_eval_requantize(const mai_op_ctx *ctx) {
    return nn_requantize_s8(ctx->params, (int32_t)ctx->in[0].size, ctx->in[0].data,
        ctx->out[0].data);
}

// QUANTIZE float32 -> int8 and DEQUANTIZE int8 -> float32: element counts agree and the
// int8 side's zero point is the params'. The sizes differ, so no in-place output.
static mai_check ops_check_affine(const mai_op_ctx *ctx, const mai_tensor_view *q) {
    const nn_affine_params *p = ctx->params;
    // scale > 0 and finite (a NaN fails the first test).
    if (!(p->scale > 0.0f) || p->scale > 3.4e38f || p->zero_point != q->zero_point
        || (q->storage == MAI_STORAGE_S8 ? !ops_is_s8(p->zero_point)
            : p->zero_point < INT16_MIN || p->zero_point > INT16_MAX)) {
        return MAI_CHECK_PARAM;
    }
    const mai_tensor_view *in = &ctx->in[0], *out = &ctx->out[0];
    if (ops_elements(&in->dims) != ops_elements(&out->dims)) {
        return MAI_CHECK_SHAPE;
    }
    if (!ops_overlap_ok(in, out, 0)) {
        return MAI_CHECK_OVERLAP;
    }
    return MAI_CHECK_NONE;
}

// QUANTIZE float32 -> int8 or int16, DEQUANTIZE int8 or int16 -> float32; the kernel is
// the storage's (mai_supports_out_s8 ...).
static uint8_t ops_s8_or_s16(uint8_t storage) {
    return storage == MAI_STORAGE_S16 ? MAI_STORAGE_S16 : MAI_STORAGE_S8;
}

const char *mai_supports_out_s8(const mai_op_ctx *ctx) {
    return ctx->out[0].storage == MAI_STORAGE_S8 ? NULL : "writes int8";
}

const char *mai_supports_out_s16(const mai_op_ctx *ctx) {
    return ctx->out[0].storage == MAI_STORAGE_S16 ? NULL : "writes int16";
}

const char *mai_supports_in_s8(const mai_op_ctx *ctx) {
    return ctx->in[0].storage == MAI_STORAGE_S8 ? NULL : "reads int8";
}

const char *mai_supports_in_s16(const mai_op_ctx *ctx) {
    return ctx->in[0].storage == MAI_STORAGE_S16 ? NULL : "reads int16";
}

mai_status mai_prepare_quantize(const mai_op_ctx *ctx, mai_error *err) {
    mai_check c = ops_check_common(ctx, sizeof(nn_affine_params), 1, 1, MAI_STORAGE_F32,
        ops_s8_or_s16(ctx->out[0].storage));
    if (c == MAI_CHECK_NONE) {
        c = ops_check_affine(ctx, &ctx->out[0]);
    }
    return c == MAI_CHECK_NONE ? MAI_OK : ops_fail(err, c);
}

nn_status mai_eval_quantize(const mai_op_ctx *ctx) {
    return nn_quantize_f32_s8(ctx->params, (int32_t)ctx->out[0].size, ctx->in[0].data,
        ctx->out[0].data);
}

nn_status mai_eval_quantize_s16(const mai_op_ctx *ctx) {
    return nn_quantize_f32_s16(ctx->params, (int32_t)ops_elements(&ctx->out[0].dims),
        ctx->in[0].data, ctx->out[0].data);
}

mai_status mai_prepare_dequantize(const mai_op_ctx *ctx, mai_error *err) {
    mai_check c = ops_check_common(ctx, sizeof(nn_affine_params), 1, 1,
        ops_s8_or_s16(ctx->in[0].storage), MAI_STORAGE_F32);
    if (c == MAI_CHECK_NONE) {
        c = ops_check_affine(ctx, &ctx->in[0]);
    }
    return c == MAI_CHECK_NONE ? MAI_OK : ops_fail(err, c);
}

nn_status mai_eval_dequantize(const mai_op_ctx *ctx) {
    return nn_dequantize_s8_f32(ctx->params, (int32_t)ctx->in[0].size, ctx->in[0].data,
        ctx->out[0].data);
}

nn_status mai_eval_dequantize_s16(const mai_op_ctx *ctx) {
    return nn_dequantize_s16_f32(ctx->params, (int32_t)ops_elements(&ctx->in[0].dims),
        ctx->in[0].data, ctx->out[0].data);
}


mai_status mai_prepare_minmax(const mai_op_ctx *ctx, mai_error *err) {
    mai_check c = ops_check_common(ctx, sizeof(nn_minmax_params), 2, 2,
        MAI_STORAGE_S8, MAI_STORAGE_S8);
    if (c != MAI_CHECK_NONE) {
        return ops_fail(err, c);
    }
    const nn_minmax_params *p = ctx->params;
    if (p->minimum != 0 && p->minimum != 1) {
        return ops_fail(err, MAI_CHECK_PARAM);
    }
    c = ops_check_binary(ctx);
    return c == MAI_CHECK_NONE ? MAI_OK : ops_fail(err, c);
}

nn_status mai_eval_minmax(const mai_op_ctx *ctx) {
    return nn_minmax_s8(ctx->params, &ctx->in[0].dims, ctx->in[0].data, &ctx->in[1].dims,
        ctx->in[1].data, &ctx->out[0].dims, ctx->out[0].data);
}
