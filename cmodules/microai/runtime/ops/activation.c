// microai: the op checks and kernel glue of MAI_OP_SOFTMAX and MAI_OP_LUT.
#include "common.h"

// ---- activations --------------------------------------------------------------------

// SOFTMAX16: int16 in and out, zero points 0, the same dims, a multiplier and shift
// nn_requantize takes; the tables are the host's (any values run without fault).
mai_status mai_prepare_softmax16(const mai_op_ctx *ctx, mai_error *err) {
    mai_check c = ops_check_common(ctx, sizeof(nn_softmax16_params), 1, 1, MAI_STORAGE_S16,
        MAI_STORAGE_S16);
    if (c != MAI_CHECK_NONE) {
        return ops_fail(err, c);
    }
    const nn_softmax16_params *p = ctx->params;
    if (!ops_requant_ok(p->input_multiplier, p->input_left_shift)) {
        return ops_fail(err, MAI_CHECK_PARAM);
    }
    if (ctx->in[0].zero_point != 0 || ctx->out[0].zero_point != 0) {
        return ops_fail(err, MAI_CHECK_ZERO_POINT);
    }
    if (!ops_same_dims(&ctx->in[0].dims, &ctx->out[0].dims)) {
        return ops_fail(err, MAI_CHECK_SHAPE);
    }
    c = ops_check_unary(ctx);
    return c == MAI_CHECK_NONE ? MAI_OK : ops_fail(err, c);
}

nn_status mai_eval_softmax16(const mai_op_ctx *ctx) {
    const nn_dims *d = &ctx->in[0].dims;
    return nn_softmax_s16(ctx->params, d->n * d->h * d->w, d->c, ctx->in[0].data,
        ctx->out[0].data);
}

mai_status mai_prepare_softmax(const mai_op_ctx *ctx, mai_error *err) {
    mai_check c = ops_check_common(ctx, sizeof(nn_softmax_params), 1,
        1, MAI_STORAGE_S8, MAI_STORAGE_S8);
    if (c != MAI_CHECK_NONE) {
        return ops_fail(err, c);
    }
    const nn_softmax_params *p = ctx->params;
    // diff_min bounds |diff| << left_shift below 2^31 (TFLite's CalculateInputRadius).
    if (p->input_multiplier < 0 || p->input_left_shift < 0 || p->input_left_shift > 31
        || p->diff_min > 0
        || (int64_t)(-(int64_t)p->diff_min) << p->input_left_shift > INT32_MAX
        || ctx->out[0].zero_point != INT8_MIN) {
        return ops_fail(err, MAI_CHECK_PARAM);
    }
    if (!ops_same_dims(&ctx->in[0].dims, &ctx->out[0].dims)) {
        return ops_fail(err, MAI_CHECK_SHAPE);
    }
    c = ops_check_unary(ctx);
    return c == MAI_CHECK_NONE ? MAI_OK : ops_fail(err, c);
}

nn_status mai_eval_softmax(const mai_op_ctx *ctx) {
    const nn_dims *d = &ctx->in[0].dims;
    return nn_softmax_s8(ctx->params, d->n * d->h * d->w, d->c, ctx->in[0].data,
        ctx->out[0].data);
}

mai_status mai_prepare_lut(const mai_op_ctx *ctx, mai_error *err) {
    mai_check c = ops_check_common(ctx, sizeof(nn_lut_params), 1, 1, MAI_STORAGE_S8, MAI_STORAGE_S8);
    if (c == MAI_CHECK_NONE) {
        c = ops_check_unary(ctx);
    }
    return c == MAI_CHECK_NONE ? MAI_OK : ops_fail(err, c);
}

nn_status mai_eval_lut(const mai_op_ctx *ctx) {
    return nn_lut_s8(ctx->params, (int32_t)ctx->in[0].size, ctx->in[0].data,
        ctx->out[0].data);
}


mai_status mai_prepare_relu(const mai_op_ctx *ctx, mai_error *err) {
    mai_check c = ops_check_common(ctx, sizeof(nn_relu_params), 1, 1, MAI_STORAGE_S8,
        MAI_STORAGE_S8);
    if (c == MAI_CHECK_NONE) {
        c = ops_check_unary(ctx);
    }
    const nn_relu_params *p = ctx->params;
    if (c == MAI_CHECK_NONE
        && (p->input_zero_point != ctx->in[0].zero_point || !ops_is_s8(p->output_zero_point)
            || !ops_requant_ok(p->multiplier[0], p->shift[0])
            || !ops_requant_ok(p->multiplier[1], p->shift[1]) || !ops_act_ok(&p->act))) {
        c = MAI_CHECK_PARAM;
    }
    return c == MAI_CHECK_NONE ? MAI_OK : ops_fail(err, c);
}

nn_status mai_eval_relu(const mai_op_ctx *ctx) {
    return nn_relu_s8(ctx->params, (int32_t)ctx->in[0].size, ctx->in[0].data,
        ctx->out[0].data);
}
