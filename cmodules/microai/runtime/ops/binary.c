// microai: the op checks and kernel glue of the binary ops (Larq Compute Engine's Lce
// ops): MAI_OP_BCONV, MAI_OP_BMAXPOOL, MAI_OP_BQUANTIZE and MAI_OP_BDEQUANTIZE.
// Bit-packed tensors are stored B1 with their logical dims (channels, not words).
#include <math.h>

#include "common.h"

// The output storage codes nn_bconv_b1 takes.
static int32_t bconv_out_code(uint8_t storage) {
    return storage == MAI_STORAGE_S8 ? 0 : storage == MAI_STORAGE_F32 ? 1 : 2;
}

// Every bit past the last channel of each row of a bit-packed constant is 0 (the kernels
// XOR whole words: a set padding bit would count).
static int b1_padding_clear(const mai_tensor_view *t) {
    const uint32_t bits = (uint32_t)t->dims.c % 32;
    if (bits == 0) {
        return 1;
    }
    const uint32_t words = NN_B1_WORDS(t->dims.c), rows = ops_elements(&t->dims) / t->dims.c;
    const uint32_t *w = t->data;
    for (uint32_t r = 0; r < rows; r++) {
        if (w[r * words + words - 1] >> bits) {
            return 0;
        }
    }
    return 1;
}

// One axis of a convolution: out = ceil-less ((in + pads - dilated filter) / stride) + 1
// with the leading padding given and the trailing implied; every window touches the input.
static int bconv_axis_ok(int32_t in, int32_t filter, int32_t stride, int32_t dilation,
    int32_t pad, int32_t out) {
    if (filter < 1 || stride < 1 || dilation < 1 || pad < 0 || out < 1) {
        return 0;
    }
    const int64_t span = (int64_t)(filter - 1) * dilation + 1;
    const int64_t last = (int64_t)(out - 1) * stride - pad; // the last window's first tap
    return pad < span && last < in && last + span > 0;
}

mai_status mai_prepare_bconv(const mai_op_ctx *ctx, mai_error *err) {
    if (ctx->params_size != sizeof(nn_bconv_params)) {
        return ops_fail(err, MAI_CHECK_PARAMS_SIZE);
    }
    if (ctx->n_in != 4 || ctx->n_out != 1) {
        return ops_fail(err, MAI_CHECK_IO_COUNT);
    }
    if (ctx->rounding != NN_ROUNDING_DOUBLE) {
        return ops_fail(err, MAI_CHECK_ROUNDING);
    }
    const nn_bconv_params *p = ctx->params;
    const mai_tensor_view *in = &ctx->in[0], *f = &ctx->in[1], *out = &ctx->out[0];
    const int32_t code = bconv_out_code(out->storage);
    // Inputs: in (b1), filter (b1), then mul and bias (f32, int8/float32 out) or
    // thresholds (s32, bit-packed out); the unused ones omitted.
    const mai_tensor_view *a = &ctx->in[2], *b = &ctx->in[3];
    if (in->data == NULL || f->data == NULL
        || (code == 2 ? a->data != NULL || b->data == NULL : a->data == NULL || b->data == NULL)) {
        return ops_fail(err, MAI_CHECK_IO_ID);
    }
    if (in->storage != MAI_STORAGE_B1 || f->storage != MAI_STORAGE_B1
        || (out->storage != MAI_STORAGE_S8 && out->storage != MAI_STORAGE_F32
            && out->storage != MAI_STORAGE_B1)
        || (code == 2 ? b->storage != MAI_STORAGE_S32
                      : a->storage != MAI_STORAGE_F32 || b->storage != MAI_STORAGE_F32)) {
        return ops_fail(err, MAI_CHECK_DTYPE);
    }
    if (!f->is_const || (code != 2 && !a->is_const) || !b->is_const) {
        return ops_fail(err, MAI_CHECK_CONST);
    }
    if (in->rank != 4 || f->rank != 4 || out->rank != 4) {
        return ops_fail(err, MAI_CHECK_RANK);
    }
    const nn_dims *i = &in->dims, *w = &f->dims, *o = &out->dims;
    const int32_t out_ch = w->n;
    if (p->channels_in != i->c || w->c != i->c || o->c != out_ch || o->n != i->n
        || (code == 2 ? ops_elements(&b->dims) != (uint32_t)out_ch
                      : ops_elements(&a->dims) != (uint32_t)out_ch
                        || ops_elements(&b->dims) != (uint32_t)out_ch)
        || !bconv_axis_ok(i->h, w->h, p->stride_h, p->dilation_h, p->pad_h, o->h)
        || !bconv_axis_ok(i->w, w->w, p->stride_w, p->dilation_w, p->pad_w, o->w)) {
        return ops_fail(err, MAI_CHECK_SHAPE);
    }
    if (!b1_padding_clear(f)) {
        return ops_fail(err, MAI_CHECK_PARAM);
    }
    if (code != 2) {
        // Finite transforms only (a NaN has no int8 value), the clamp in 2 * [0, K].
        const float *mul = a->data, *bias = b->data;
        for (int32_t c = 0; c < out_ch; c++) {
            if (!isfinite(mul[c]) || !isfinite(bias[c])) {
                return ops_fail(err, MAI_CHECK_PARAM);
            }
        }
        const int64_t k2 = 2 * (int64_t)w->h * w->w * w->c;
        if (p->clamp_min > p->clamp_max || p->clamp_min < 0 || p->clamp_max > k2) {
            return ops_fail(err, MAI_CHECK_PARAM);
        }
    }
    if (!ops_overlap_ok(in, out, 0)) {
        return ops_fail(err, MAI_CHECK_OVERLAP);
    }
    return MAI_OK;
}

uint32_t mai_scratch_bconv_b1(const mai_op_ctx *ctx) {
    return (uint32_t)nn_bconv_b1_scratch_size(ctx->params, &ctx->in[1].dims);
}

nn_status mai_eval_bconv_b1(const mai_op_ctx *ctx) {
    const mai_tensor_view *out = &ctx->out[0];
    const int32_t code = bconv_out_code(out->storage);
    return nn_bconv_b1(ctx->params, &ctx->in[0].dims, ctx->in[0].data, &ctx->in[1].dims,
        ctx->in[1].data, code == 2 ? NULL : ctx->in[2].data,
        code == 2 ? NULL : ctx->in[3].data, code == 2 ? ctx->in[3].data : NULL,
        &out->dims, out->data, code, ctx->scratch);
}

mai_status mai_prepare_bmaxpool(const mai_op_ctx *ctx, mai_error *err) {
    mai_check c = ops_check_common(ctx, sizeof(nn_bpool_params), 1, 1, MAI_STORAGE_B1,
        MAI_STORAGE_B1);
    if (c != MAI_CHECK_NONE) {
        return ops_fail(err, c);
    }
    const nn_bpool_params *p = ctx->params;
    const mai_tensor_view *in = &ctx->in[0], *out = &ctx->out[0];
    if (in->rank != 4 || out->rank != 4) {
        return ops_fail(err, MAI_CHECK_RANK);
    }
    const nn_dims *i = &in->dims, *o = &out->dims;
    if (i->n != o->n || i->c != o->c
        || !ops_pool_axis_ok(i->h, p->filter_h, p->stride_h, p->pad_h, o->h)
        || !ops_pool_axis_ok(i->w, p->filter_w, p->stride_w, p->pad_w, o->w)) {
        return ops_fail(err, MAI_CHECK_SHAPE);
    }
    if (!ops_overlap_ok(in, out, 0)) {
        return ops_fail(err, MAI_CHECK_OVERLAP);
    }
    return MAI_OK;
}

nn_status mai_eval_bmaxpool_b1(const mai_op_ctx *ctx) {
    return nn_bmaxpool_b1(ctx->params, &ctx->in[0].dims, ctx->in[0].data,
        &ctx->out[0].dims, ctx->out[0].data);
}

// Quantize and dequantize: the same dims on both sides (the bit-packed one counts
// channels), any rank, along the innermost axis.
static mai_check check_bquant(const mai_op_ctx *ctx, const mai_tensor_view *bits,
    const mai_tensor_view *values) {
    if (ctx->params_size != sizeof(nn_bquant_params)) {
        return MAI_CHECK_PARAMS_SIZE;
    }
    if (ctx->n_in != 1 || ctx->n_out != 1) {
        return MAI_CHECK_IO_COUNT;
    }
    if (ctx->rounding != NN_ROUNDING_DOUBLE) {
        return MAI_CHECK_ROUNDING;
    }
    if (ctx->in[0].data == NULL) {
        return MAI_CHECK_IO_ID;
    }
    if (bits->storage != MAI_STORAGE_B1
        || (values->storage != MAI_STORAGE_S8 && values->storage != MAI_STORAGE_F32)) {
        return MAI_CHECK_DTYPE;
    }
    if (bits->rank != values->rank || !ops_same_dims(&bits->dims, &values->dims)) {
        return MAI_CHECK_SHAPE;
    }
    if (!ops_overlap_ok(&ctx->in[0], &ctx->out[0], 0)) {
        return MAI_CHECK_OVERLAP;
    }
    return MAI_CHECK_NONE;
}

static inline int32_t bquant_rows(const mai_tensor_view *t) {
    return (int32_t)(ops_elements(&t->dims) / (uint32_t)t->dims.c);
}

mai_status mai_prepare_bquantize(const mai_op_ctx *ctx, mai_error *err) {
    mai_check c = check_bquant(ctx, &ctx->out[0], &ctx->in[0]);
    const nn_bquant_params *p = ctx->params;
    if (c == MAI_CHECK_NONE && p->zero_point != ctx->in[0].zero_point) {
        c = MAI_CHECK_PARAM;
    }
    return c == MAI_CHECK_NONE ? MAI_OK : ops_fail(err, c);
}

const char *mai_supports_bquantize_s8(const mai_op_ctx *ctx) {
    return ctx->in[0].storage == MAI_STORAGE_S8 ? NULL : "input is not int8";
}

const char *mai_supports_bquantize_f32(const mai_op_ctx *ctx) {
    return ctx->in[0].storage == MAI_STORAGE_F32 ? NULL : "input is not float32";
}

nn_status mai_eval_bquantize_s8(const mai_op_ctx *ctx) {
    const mai_tensor_view *in = &ctx->in[0];
    return nn_bquantize_s8_b1(ctx->params, bquant_rows(in), in->dims.c, in->data,
        ctx->out[0].data);
}

nn_status mai_eval_bquantize_f32(const mai_op_ctx *ctx) {
    const mai_tensor_view *in = &ctx->in[0];
    return nn_bquantize_f32_b1(bquant_rows(in), in->dims.c, in->data, ctx->out[0].data);
}

mai_status mai_prepare_bdequantize(const mai_op_ctx *ctx, mai_error *err) {
    mai_check c = check_bquant(ctx, &ctx->in[0], &ctx->out[0]);
    const nn_bquant_params *p = ctx->params;
    if (c == MAI_CHECK_NONE
        && (ctx->out[0].storage == MAI_STORAGE_F32 ? p->plus != 1 || p->minus != -1
                                                   : !ops_is_s8(p->plus) || !ops_is_s8(p->minus))) {
        c = MAI_CHECK_PARAM;
    }
    return c == MAI_CHECK_NONE ? MAI_OK : ops_fail(err, c);
}

const char *mai_supports_bdequantize_s8(const mai_op_ctx *ctx) {
    return ctx->out[0].storage == MAI_STORAGE_S8 ? NULL : "output is not int8";
}

const char *mai_supports_bdequantize_f32(const mai_op_ctx *ctx) {
    return ctx->out[0].storage == MAI_STORAGE_F32 ? NULL : "output is not float32";
}

nn_status mai_eval_bdequantize_s8(const mai_op_ctx *ctx) {
    const mai_tensor_view *out = &ctx->out[0];
    return nn_bdequantize_b1_s8(ctx->params, bquant_rows(out), out->dims.c, ctx->in[0].data,
        out->data);
}

nn_status mai_eval_bdequantize_f32(const mai_op_ctx *ctx) {
    const mai_tensor_view *out = &ctx->out[0];
    return nn_bdequantize_b1_f32(bquant_rows(out), out->dims.c, ctx->in[0].data, out->data);
}
