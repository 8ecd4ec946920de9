// microai: the table glue (scratch, eval) of the kernels that read block-sparse weights
// (MAI_WEIGHTS_S8_BLOCK4: CONV_PW_S8_BLOCK4, CONV_IM2COL_S8_BLOCK4, FC_S8_BLOCK4). The
// op checks are CONV's and FC's (conv.c); the loader has checked the layout's metadata
// (mai_load.c), so eval only points at it.
#include "common.h"

static nn_quant block4_quant(const mai_op_ctx *ctx) {
    nn_quant q;
    q.multiplier = ctx->in[3].data;
    q.shift = ctx->in[4].data;
    q.per_channel = ops_elements(&ctx->in[3].dims) > 1;
    q.rounding = ctx->rounding;
    return q;
}

// The weights (input 1) as the kernels take them.
static nn_block4 block4_weights(const mai_op_ctx *ctx) {
    const mai_tensor_view *w = &ctx->in[1];
    const uint32_t rows = (uint32_t)(w->rank == 4 ? w->dims.n : w->dims.w);
    nn_block4 b;
    b.data = w->data;
    b.row_start = w->aux;
    b.block = (const uint16_t *)((const uint32_t *)w->aux + rows + 1);
    return b;
}

uint32_t mai_scratch_conv_pw_s8_block4(const mai_op_ctx *ctx) {
    return (uint32_t)nn_conv_pw_s8_block4_scratch_size(ctx->params, &ctx->in[0].dims,
        &ctx->in[1].dims, &ctx->out[0].dims);
}

nn_status mai_eval_conv_pw_s8_block4(const mai_op_ctx *ctx) {
    nn_quant q = block4_quant(ctx);
    nn_block4 w = block4_weights(ctx);
    return nn_conv_pw_s8_block4(ctx->params, &q, &ctx->in[0].dims, ctx->in[0].data,
        &ctx->in[1].dims, &w, ctx->in[2].data, &ctx->out[0].dims, ctx->out[0].data,
        ctx->scratch, ctx->scratch_size);
}

uint32_t mai_scratch_conv_im2col_s8_block4(const mai_op_ctx *ctx) {
    return (uint32_t)nn_conv_im2col_s8_block4_scratch_size(ctx->params, &ctx->in[0].dims,
        &ctx->in[1].dims, &ctx->out[0].dims);
}

nn_status mai_eval_conv_im2col_s8_block4(const mai_op_ctx *ctx) {
    nn_quant q = block4_quant(ctx);
    nn_block4 w = block4_weights(ctx);
    return nn_conv_im2col_s8_block4(ctx->params, &q, &ctx->in[0].dims, ctx->in[0].data,
        &ctx->in[1].dims, &w, ctx->in[2].data, &ctx->out[0].dims, ctx->out[0].data,
        ctx->scratch, ctx->scratch_size);
}

uint32_t mai_scratch_fc_s8_block4(const mai_op_ctx *ctx) {
    return (uint32_t)nn_fc_s8_block4_scratch_size(ctx->in[1].dims.c);
}

nn_status mai_eval_fc_s8_block4(const mai_op_ctx *ctx) {
    nn_quant q = block4_quant(ctx);
    nn_block4 w = block4_weights(ctx);
    const nn_dims *d = &ctx->in[1].dims;
    int32_t batches = (int32_t)(ops_elements(&ctx->in[0].dims) / (uint32_t)d->c);
    return nn_fc_s8_block4(ctx->params, &q, batches, d->c, ctx->in[0].data, d->w, &w,
        ctx->in[2].data, ctx->out[0].data, ctx->scratch, ctx->scratch_size);
}
