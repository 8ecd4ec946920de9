// microai: the op checks and kernel glue of MAI_OP_AVGPOOL, MAI_OP_MAXPOOL and MAI_OP_MEAN.
#include "common.h"

// ---- pooling ------------------------------------------------------------------------

static mai_check ops_check_pool(const mai_op_ctx *ctx) {
    mai_check c = ops_check_common(ctx, sizeof(nn_pool_params), 1, 1,
        MAI_STORAGE_S8, MAI_STORAGE_S8);
    if (c != MAI_CHECK_NONE) {
        return c;
    }
    const nn_pool_params *p = ctx->params;
    const mai_tensor_view *in = &ctx->in[0], *out = &ctx->out[0];
    if (in->rank != 4 || out->rank != 4) {
        return MAI_CHECK_RANK;
    }
    if (!ops_act_ok(&p->act) || in->zero_point != out->zero_point) {
        return MAI_CHECK_PARAM;
    }
    const nn_dims *i = &in->dims, *o = &out->dims;
    if (i->n != o->n || i->c != o->c
        || !ops_pool_axis_ok(i->h, p->filter_h, p->stride_h, p->pad_h, o->h)
        || !ops_pool_axis_ok(i->w, p->filter_w, p->stride_w, p->pad_w, o->w)) {
        return MAI_CHECK_SHAPE;
    }
    if (!ops_overlap_ok(in, out, 0)) {
        return MAI_CHECK_OVERLAP;
    }
    return MAI_CHECK_NONE;
}

mai_status mai_prepare_avgpool(const mai_op_ctx *ctx, mai_error *err) {
    mai_check c = ops_check_pool(ctx);
    return c == MAI_CHECK_NONE ? MAI_OK : ops_fail(err, c);
}

nn_status mai_eval_avgpool(const mai_op_ctx *ctx) {
    return nn_avgpool_s8(ctx->params, &ctx->in[0].dims, ctx->in[0].data, &ctx->out[0].dims,
        ctx->out[0].data);
}

mai_status mai_prepare_maxpool(const mai_op_ctx *ctx, mai_error *err) {
    mai_check c = ops_check_pool(ctx);
    return c == MAI_CHECK_NONE ? MAI_OK : ops_fail(err, c);
}

nn_status mai_eval_maxpool(const mai_op_ctx *ctx) {
    return nn_maxpool_s8(ctx->params, &ctx->in[0].dims, ctx->in[0].data, &ctx->out[0].dims,
        ctx->out[0].data);
}

// MEAN over H and W: the output holds N x C values whatever its rank (keep_dims or not).
mai_status mai_prepare_mean(const mai_op_ctx *ctx, mai_error *err) {
    mai_check c = ops_check_common(ctx, sizeof(nn_mean_params), 1, 1,
        MAI_STORAGE_S8, MAI_STORAGE_S8);
    if (c != MAI_CHECK_NONE) {
        return ops_fail(err, c);
    }
    const nn_mean_params *p = ctx->params;
    const mai_tensor_view *in = &ctx->in[0], *out = &ctx->out[0];
    if (in->rank != 4) {
        return ops_fail(err, MAI_CHECK_RANK);
    }
    if (p->input_zero_point != in->zero_point || p->output_zero_point != out->zero_point
        || !ops_requant_ok(p->multiplier, p->shift)) {
        return ops_fail(err, MAI_CHECK_PARAM);
    }
    if (out->dims.c != in->dims.c
        || ops_elements(&out->dims) != (uint32_t)in->dims.n * (uint32_t)in->dims.c) {
        return ops_fail(err, MAI_CHECK_SHAPE);
    }
    if (!ops_overlap_ok(in, out, 0)) {
        return ops_fail(err, MAI_CHECK_OVERLAP);
    }
    return MAI_OK;
}

nn_status mai_eval_mean(const mai_op_ctx *ctx) {
    return nn_mean_s8(ctx->params, &ctx->in[0].dims, ctx->in[0].data, &ctx->out[0].dims,
        ctx->out[0].data);
}

