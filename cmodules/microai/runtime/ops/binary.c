// microai: the op checks and kernel glue of the binary ops (Larq Compute Engine's Lce
// ops): MAI_OP_BCONV, MAI_OP_BMAXPOOL, MAI_OP_BQUANTIZE and MAI_OP_BDEQUANTIZE.
// Bit-packed tensors are stored B1 with their logical dims (channels, not words).
#include <math.h>

#include "common.h"

// The output storage codes nn_bconv_b1 takes.
static int32_t bconv_out_code(uint8_t storage) {
    return storage == MAI_STORAGE_S8 ? 0 : storage == MAI_STORAGE_F32 ? 1 : 2;
}

// Every bit past the last of each row of a bit-packed constant is 0 (the kernels XOR
// whole words: a set padding bit would count). A row is the innermost axis, or in
// MAI_LAYOUT_B1_DENSE all but the outermost.
static int b1_padding_clear(const mai_tensor_view *t) {
    const uint32_t n = ops_elements(&t->dims);
    const uint32_t rows = t->layout == MAI_LAYOUT_B1_DENSE ? (uint32_t)t->dims.n
                                                           : n / (uint32_t)t->dims.c;
    const uint32_t k = n / rows, bits = k % 32, words = (k + 31) / 32;
    const uint32_t *w = t->data;
    for (uint32_t r = 0; bits && r < rows; r++) {
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

// An int8 output's integer transforms (nn_bconv_b1): e | r << 8 with x << e in int32 (x
// <= 2 K) and r < 32, or -1 (float32); |B| < 2^55 keeps A * (x << e) + B in int64.
static int fixed_ok(const int32_t *fixed, int32_t out_ch, int64_t x_max) {
    for (int32_t c = 0; c < out_ch; c++, fixed += 4) {
        const int32_t e = fixed[3] & 0xff, r = fixed[3] >> 8;
        if (fixed[3] != -1 && (fixed[3] < 0 || r > 31 || e > 31 || (x_max << e) > INT32_MAX
                               || fixed[2] < -(1 << 23) || fixed[2] >= (1 << 23))) {
            return 0;
        }
    }
    return 1;
}

// A bit-packed output's thresholds lie in [-1, K] (acc is in [0, K]: the host clamps
// LCE's, which may be +/-2^31 for a channel always or never set), so that the kernel's
// threshold - acc cannot overflow.
static int thresholds_ok(const int32_t *th, int32_t out_ch, int64_t k) {
    for (int32_t c = 0; c < out_ch; c++) {
        if (th[c] < -1 || th[c] > k) {
            return 0;
        }
    }
    return 1;
}

mai_status mai_prepare_bconv(const mai_op_ctx *ctx, mai_error *err) {
    if (ctx->params_size != sizeof(nn_bconv_params)) {
        return ops_fail(err, MAI_CHECK_PARAMS_SIZE);
    }
    if (ctx->n_in != 5 || ctx->n_out != 1) {
        return ops_fail(err, MAI_CHECK_IO_COUNT);
    }
    if (ctx->rounding != NN_ROUNDING_DOUBLE) {
        return ops_fail(err, MAI_CHECK_ROUNDING);
    }
    const nn_bconv_params *p = ctx->params;
    const mai_tensor_view *in = &ctx->in[0], *f = &ctx->in[1], *out = &ctx->out[0];
    const mai_tensor_view *mul = &ctx->in[2], *bias = &ctx->in[3], *t = &ctx->in[4];
    const int32_t code = bconv_out_code(out->storage);
    // Inputs: in (b1), filter (b1), then per output: bit-packed: -, -, thresholds (s32
    // [out]); float32: mul, bias (f32 [out]), -; int8: mul, bias, fixed (s32 [out][4]).
    const int floats = code != 2, ints = code != 1;
    if (in->data == NULL || f->data == NULL || (mul->data != NULL) != floats
        || (bias->data != NULL) != floats || (t->data != NULL) != ints) {
        return ops_fail(err, MAI_CHECK_IO_ID);
    }
    if (in->storage != MAI_STORAGE_B1 || f->storage != MAI_STORAGE_B1
        || (out->storage != MAI_STORAGE_S8 && out->storage != MAI_STORAGE_F32
            && out->storage != MAI_STORAGE_B1)
        || (floats && (mul->storage != MAI_STORAGE_F32 || bias->storage != MAI_STORAGE_F32))
        || (ints && t->storage != MAI_STORAGE_S32)) {
        return ops_fail(err, MAI_CHECK_DTYPE);
    }
    if (!f->is_const || (floats && (!mul->is_const || !bias->is_const))
        || (ints && !t->is_const)) {
        return ops_fail(err, MAI_CHECK_CONST);
    }
    if (in->rank != 4 || f->rank != 4 || out->rank != 4) {
        return ops_fail(err, MAI_CHECK_RANK);
    }
    const nn_dims *i = &in->dims, *w = &f->dims, *o = &out->dims;
    const uint32_t out_ch = (uint32_t)w->n;
    if (p->channels_in != i->c || w->c != i->c || o->c != w->n || o->n != i->n
        || (floats && (ops_elements(&mul->dims) != out_ch || ops_elements(&bias->dims) != out_ch))
        || (ints && ops_elements(&t->dims) != (code == 2 ? out_ch : 4 * out_ch))
        || !bconv_axis_ok(i->h, w->h, p->stride_h, p->dilation_h, p->pad_h, o->h)
        || !bconv_axis_ok(i->w, w->w, p->stride_w, p->dilation_w, p->pad_w, o->w)) {
        return ops_fail(err, MAI_CHECK_SHAPE);
    }
    const int64_t k2 = 2 * (int64_t)w->h * w->w * w->c;
    if (!b1_padding_clear(f) || (code == 0 && !fixed_ok(t->data, w->n, k2))
        || (code == 2 && !thresholds_ok(t->data, w->n, k2 / 2))) {
        return ops_fail(err, MAI_CHECK_PARAM);
    }
    if (floats) {
        // Finite transforms only (a NaN has no int8 value), the clamp in 2 * [0, K].
        const float *m = mul->data, *b = bias->data;
        for (uint32_t c = 0; c < out_ch; c++) {
            if (!isfinite(m[c]) || !isfinite(b[c])) {
                return ops_fail(err, MAI_CHECK_PARAM);
            }
        }
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
        ctx->in[1].data, ctx->in[2].data, ctx->in[3].data, code == 2 ? ctx->in[4].data : NULL,
        code == 0 ? ctx->in[4].data : NULL, &out->dims, out->data, code, ctx->scratch);
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

nn_status mai_eval_bquantize(const mai_op_ctx *ctx) {
    const mai_tensor_view *in = &ctx->in[0];
    if (in->storage == MAI_STORAGE_F32) {
        return nn_bquantize_f32_b1(bquant_rows(in), in->dims.c, in->data, ctx->out[0].data);
    }
    return nn_bquantize_s8_b1(ctx->params, bquant_rows(in), in->dims.c, in->data,
        ctx->out[0].data);
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

nn_status mai_eval_bdequantize(const mai_op_ctx *ctx) {
    const mai_tensor_view *out = &ctx->out[0];
    if (out->storage == MAI_STORAGE_F32) {
        return nn_bdequantize_b1_f32(bquant_rows(out), out->dims.c, ctx->in[0].data,
            out->data);
    }
    return nn_bdequantize_b1_s8(ctx->params, bquant_rows(out), out->dims.c, ctx->in[0].data,
        out->data);
}
