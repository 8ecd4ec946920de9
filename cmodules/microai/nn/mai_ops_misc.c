// microai: prepare/eval for the pooling, elementwise, activation and data-movement ops:
// MAI_OP_AVGPOOL, MAXPOOL, MEAN, ADD, MUL, SOFTMAX, LOGISTIC, PAD, CONCAT, REQUANTIZE,
// QUANTIZE and DEQUANTIZE.
//
// Every op takes its activation inputs in order (ADD/MUL: in1, in2, where in2 may be a
// blob constant; CONCAT: 1..16 inputs) and has one output. Axes, paddings and
// quantization are folded into the params by the host. prepare() checks what the kernels
// trust (counts, dtypes, shapes, params against the tensors' zero points, the kernel
// choice, no scratch); eval() only calls the kernel.
#include "mai_ops.h"
#include "nn_functions.h"

static mai_status misc_fail(mai_error *err, mai_check detail) {
    err->detail = detail;
    return MAI_E_OP;
}

static uint32_t misc_elements(const nn_dims *d) {
    return (uint32_t)d->n * (uint32_t)d->h * (uint32_t)d->w * (uint32_t)d->c;
}

static int misc_same_dims(const nn_dims *a, const nn_dims *b) {
    return a->n == b->n && a->h == b->h && a->w == b->w && a->c == b->c;
}

static int misc_is_s8(int32_t v) {
    return v >= INT8_MIN && v <= INT8_MAX;
}

static int misc_act_ok(const nn_activation *act) {
    return misc_is_s8(act->min) && misc_is_s8(act->max) && act->min <= act->max;
}

// nn_requantize's contract: Q31 multiplier >= 0, shift in [-31, 30].
static int misc_requant_ok(int32_t multiplier, int32_t shift) {
    return multiplier >= 0 && shift >= -31 && shift <= 30;
}

// The checks every op here starts with: params size, io counts, kernel, no scratch, and
// every input present with the given storage (the output's is out_storage).
static mai_check misc_check_common(const mai_op_ctx *ctx, uint32_t params_size,
    nn_kernel kernel, uint32_t n_in_min, uint32_t n_in_max, uint8_t in_storage,
    uint8_t out_storage) {
    if (ctx->params_size != params_size) {
        return MAI_CHECK_PARAMS_SIZE;
    }
    if (ctx->n_in < n_in_min || ctx->n_in > n_in_max || ctx->n_out != 1) {
        return MAI_CHECK_IO_COUNT;
    }
    if (ctx->kernel != kernel) {
        return MAI_CHECK_KERNEL;
    }
    if (ctx->rounding != NN_ROUNDING_DOUBLE) {
        return MAI_CHECK_ROUNDING; // the field is for the weighted ops
    }
    if (ctx->scratch_size != 0) {
        return MAI_CHECK_SCRATCH;
    }
    for (uint32_t i = 0; i < ctx->n_in; i++) {
        if (ctx->in[i].data == NULL) {
            return MAI_CHECK_IO_ID;
        }
        if (ctx->in[i].storage != in_storage) {
            return MAI_CHECK_DTYPE;
        }
    }
    if (ctx->out[0].storage != out_storage) {
        return MAI_CHECK_DTYPE;
    }
    return MAI_CHECK_NONE;
}

// An elementwise op may write its output exactly over an input of the same shape; any
// other overlap of output and input bytes is refused.
static int misc_overlap_ok(const mai_tensor_view *in, const mai_tensor_view *out,
    int exact_ok) {
    const uint8_t *i0 = in->data, *o0 = out->data;
    if (o0 + out->size <= i0 || i0 + in->size <= o0) {
        return 1;
    }
    return exact_ok && i0 == o0 && in->size == out->size && misc_same_dims(&in->dims, &out->dims);
}

// ---- pooling ------------------------------------------------------------------------

// One spatial axis: every output window overlaps the input (the kernels divide by the
// number of taps inside it), and the leading padding is smaller than the filter.
static int misc_pool_axis_ok(int32_t in, int32_t filter, int32_t stride, int32_t pad,
    int32_t out) {
    return filter >= 1 && stride >= 1 && out >= 1 && pad >= 0 && pad < filter
           && (int64_t)(out - 1) * stride - pad < in;
}

static mai_check misc_check_pool(const mai_op_ctx *ctx, nn_kernel kernel) {
    mai_check c = misc_check_common(ctx, sizeof(nn_pool_params), kernel, 1, 1,
        MAI_STORAGE_S8, MAI_STORAGE_S8);
    if (c != MAI_CHECK_NONE) {
        return c;
    }
    const nn_pool_params *p = ctx->params;
    const mai_tensor_view *in = &ctx->in[0], *out = &ctx->out[0];
    if (in->rank != 4 || out->rank != 4) {
        return MAI_CHECK_RANK;
    }
    if (!misc_act_ok(&p->act) || in->zero_point != out->zero_point) {
        return MAI_CHECK_PARAM;
    }
    const nn_dims *i = &in->dims, *o = &out->dims;
    if (i->n != o->n || i->c != o->c
        || !misc_pool_axis_ok(i->h, p->filter_h, p->stride_h, p->pad_h, o->h)
        || !misc_pool_axis_ok(i->w, p->filter_w, p->stride_w, p->pad_w, o->w)) {
        return MAI_CHECK_SHAPE;
    }
    if (!misc_overlap_ok(in, out, 0)) {
        return MAI_CHECK_OVERLAP;
    }
    return MAI_CHECK_NONE;
}

mai_status mai_prepare_avgpool(const mai_op_ctx *ctx, mai_error *err) {
    mai_check c = misc_check_pool(ctx, NN_KERNEL_AVGPOOL_S8);
    return c == MAI_CHECK_NONE ? MAI_OK : misc_fail(err, c);
}

nn_status mai_eval_avgpool(const mai_op_ctx *ctx) {
    return nn_avgpool_s8(ctx->params, &ctx->in[0].dims, ctx->in[0].data, &ctx->out[0].dims,
        ctx->out[0].data);
}

mai_status mai_prepare_maxpool(const mai_op_ctx *ctx, mai_error *err) {
    mai_check c = misc_check_pool(ctx, NN_KERNEL_MAXPOOL_S8);
    return c == MAI_CHECK_NONE ? MAI_OK : misc_fail(err, c);
}

nn_status mai_eval_maxpool(const mai_op_ctx *ctx) {
    return nn_maxpool_s8(ctx->params, &ctx->in[0].dims, ctx->in[0].data, &ctx->out[0].dims,
        ctx->out[0].data);
}

// MEAN over H and W: the output holds N x C values whatever its rank (keep_dims or not).
mai_status mai_prepare_mean(const mai_op_ctx *ctx, mai_error *err) {
    mai_check c = misc_check_common(ctx, sizeof(nn_mean_params), NN_KERNEL_MEAN_S8, 1, 1,
        MAI_STORAGE_S8, MAI_STORAGE_S8);
    if (c != MAI_CHECK_NONE) {
        return misc_fail(err, c);
    }
    const nn_mean_params *p = ctx->params;
    const mai_tensor_view *in = &ctx->in[0], *out = &ctx->out[0];
    if (in->rank != 4) {
        return misc_fail(err, MAI_CHECK_RANK);
    }
    if (p->input_zero_point != in->zero_point || p->output_zero_point != out->zero_point
        || !misc_requant_ok(p->multiplier, p->shift)) {
        return misc_fail(err, MAI_CHECK_PARAM);
    }
    if (out->dims.c != in->dims.c
        || misc_elements(&out->dims) != (uint32_t)in->dims.n * (uint32_t)in->dims.c) {
        return misc_fail(err, MAI_CHECK_SHAPE);
    }
    if (!misc_overlap_ok(in, out, 0)) {
        return misc_fail(err, MAI_CHECK_OVERLAP);
    }
    return MAI_OK;
}

nn_status mai_eval_mean(const mai_op_ctx *ctx) {
    return nn_mean_s8(ctx->params, &ctx->in[0].dims, ctx->in[0].data, &ctx->out[0].dims,
        ctx->out[0].data);
}

// ---- elementwise --------------------------------------------------------------------

// ADD/MUL: each input dim equals the output's or is 1 (broadcast), and the output dim is
// the larger of the two.
static mai_check misc_check_binary(const mai_op_ctx *ctx) {
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
    if (!misc_overlap_ok(&ctx->in[0], &ctx->out[0], 1)
        || !misc_overlap_ok(&ctx->in[1], &ctx->out[0], 1)) {
        return MAI_CHECK_OVERLAP;
    }
    return MAI_CHECK_NONE;
}

mai_status mai_prepare_add(const mai_op_ctx *ctx, mai_error *err) {
    mai_check c = misc_check_common(ctx, sizeof(nn_add_params), NN_KERNEL_ADD_S8, 2, 2,
        MAI_STORAGE_S8, MAI_STORAGE_S8);
    if (c != MAI_CHECK_NONE) {
        return misc_fail(err, c);
    }
    const nn_add_params *p = ctx->params;
    if (p->input1_offset != -ctx->in[0].zero_point || p->input2_offset != -ctx->in[1].zero_point
        || p->output_offset != ctx->out[0].zero_point
        // (in + offset) << left_shift must fit in int32 for |in + offset| <= 255.
        || p->left_shift < 0 || p->left_shift > 23
        || !misc_requant_ok(p->input1_multiplier, p->input1_shift)
        || !misc_requant_ok(p->input2_multiplier, p->input2_shift)
        || !misc_requant_ok(p->output_multiplier, p->output_shift) || !misc_act_ok(&p->act)) {
        return misc_fail(err, MAI_CHECK_PARAM);
    }
    c = misc_check_binary(ctx);
    return c == MAI_CHECK_NONE ? MAI_OK : misc_fail(err, c);
}

nn_status mai_eval_add(const mai_op_ctx *ctx) {
    return nn_add_s8(ctx->params, &ctx->in[0].dims, ctx->in[0].data, &ctx->in[1].dims,
        ctx->in[1].data, &ctx->out[0].dims, ctx->out[0].data);
}

mai_status mai_prepare_mul(const mai_op_ctx *ctx, mai_error *err) {
    mai_check c = misc_check_common(ctx, sizeof(nn_mul_params), NN_KERNEL_MUL_S8, 2, 2,
        MAI_STORAGE_S8, MAI_STORAGE_S8);
    if (c != MAI_CHECK_NONE) {
        return misc_fail(err, c);
    }
    const nn_mul_params *p = ctx->params;
    if (p->input1_offset != -ctx->in[0].zero_point || p->input2_offset != -ctx->in[1].zero_point
        || p->output_offset != ctx->out[0].zero_point
        || !misc_requant_ok(p->output_multiplier, p->output_shift) || !misc_act_ok(&p->act)) {
        return misc_fail(err, MAI_CHECK_PARAM);
    }
    c = misc_check_binary(ctx);
    return c == MAI_CHECK_NONE ? MAI_OK : misc_fail(err, c);
}

nn_status mai_eval_mul(const mai_op_ctx *ctx) {
    return nn_mul_s8(ctx->params, &ctx->in[0].dims, ctx->in[0].data, &ctx->in[1].dims,
        ctx->in[1].data, &ctx->out[0].dims, ctx->out[0].data);
}

// Unary ops over the same number of elements; an exact in-place output is allowed when
// both sides have the same size.
static mai_check misc_check_unary(const mai_op_ctx *ctx) {
    const mai_tensor_view *in = &ctx->in[0], *out = &ctx->out[0];
    if (misc_elements(&in->dims) != misc_elements(&out->dims)) {
        return MAI_CHECK_SHAPE;
    }
    if (!misc_overlap_ok(in, out, 1)) {
        return MAI_CHECK_OVERLAP;
    }
    return MAI_CHECK_NONE;
}

mai_status mai_prepare_requantize(const mai_op_ctx *ctx, mai_error *err) {
    mai_check c = misc_check_common(ctx, sizeof(nn_requantize_params), NN_KERNEL_REQUANTIZE_S8,
        1, 1, MAI_STORAGE_S8, MAI_STORAGE_S8);
    if (c != MAI_CHECK_NONE) {
        return misc_fail(err, c);
    }
    const nn_requantize_params *p = ctx->params;
    if (p->input_offset != -ctx->in[0].zero_point || p->output_offset != ctx->out[0].zero_point
        || !misc_requant_ok(p->multiplier, p->shift)) {
        return misc_fail(err, MAI_CHECK_PARAM);
    }
    c = misc_check_unary(ctx);
    return c == MAI_CHECK_NONE ? MAI_OK : misc_fail(err, c);
}

nn_status mai_eval_requantize(const mai_op_ctx *ctx) {
    return nn_requantize_s8(ctx->params, (int32_t)ctx->in[0].size, ctx->in[0].data,
        ctx->out[0].data);
}

// QUANTIZE float32 -> int8 and DEQUANTIZE int8 -> float32: element counts agree and the
// int8 side's zero point is the params'. The sizes differ, so no in-place output.
static mai_check misc_check_affine(const mai_op_ctx *ctx, const mai_tensor_view *q) {
    const nn_affine_params *p = ctx->params;
    // scale > 0 and finite (a NaN fails the first test).
    if (!(p->scale > 0.0f) || p->scale > 3.4e38f || p->zero_point != q->zero_point
        || !misc_is_s8(p->zero_point)) {
        return MAI_CHECK_PARAM;
    }
    const mai_tensor_view *in = &ctx->in[0], *out = &ctx->out[0];
    if (misc_elements(&in->dims) != misc_elements(&out->dims)) {
        return MAI_CHECK_SHAPE;
    }
    if (!misc_overlap_ok(in, out, 0)) {
        return MAI_CHECK_OVERLAP;
    }
    return MAI_CHECK_NONE;
}

mai_status mai_prepare_quantize(const mai_op_ctx *ctx, mai_error *err) {
    mai_check c = misc_check_common(ctx, sizeof(nn_affine_params), NN_KERNEL_QUANTIZE_F32_S8,
        1, 1, MAI_STORAGE_F32, MAI_STORAGE_S8);
    if (c == MAI_CHECK_NONE) {
        c = misc_check_affine(ctx, &ctx->out[0]);
    }
    return c == MAI_CHECK_NONE ? MAI_OK : misc_fail(err, c);
}

nn_status mai_eval_quantize(const mai_op_ctx *ctx) {
    return nn_quantize_f32_s8(ctx->params, (int32_t)ctx->out[0].size, ctx->in[0].data,
        ctx->out[0].data);
}

mai_status mai_prepare_dequantize(const mai_op_ctx *ctx, mai_error *err) {
    mai_check c = misc_check_common(ctx, sizeof(nn_affine_params),
        NN_KERNEL_DEQUANTIZE_S8_F32, 1, 1, MAI_STORAGE_S8, MAI_STORAGE_F32);
    if (c == MAI_CHECK_NONE) {
        c = misc_check_affine(ctx, &ctx->in[0]);
    }
    return c == MAI_CHECK_NONE ? MAI_OK : misc_fail(err, c);
}

nn_status mai_eval_dequantize(const mai_op_ctx *ctx) {
    return nn_dequantize_s8_f32(ctx->params, (int32_t)ctx->in[0].size, ctx->in[0].data,
        ctx->out[0].data);
}

// ---- activations --------------------------------------------------------------------

mai_status mai_prepare_softmax(const mai_op_ctx *ctx, mai_error *err) {
    mai_check c = misc_check_common(ctx, sizeof(nn_softmax_params), NN_KERNEL_SOFTMAX_S8, 1,
        1, MAI_STORAGE_S8, MAI_STORAGE_S8);
    if (c != MAI_CHECK_NONE) {
        return misc_fail(err, c);
    }
    const nn_softmax_params *p = ctx->params;
    // diff_min bounds |diff| << left_shift below 2^31 (TFLite's CalculateInputRadius).
    if (p->input_multiplier < 0 || p->input_left_shift < 0 || p->input_left_shift > 31
        || p->diff_min > 0
        || (int64_t)(-(int64_t)p->diff_min) << p->input_left_shift > INT32_MAX
        || ctx->out[0].zero_point != INT8_MIN) {
        return misc_fail(err, MAI_CHECK_PARAM);
    }
    if (!misc_same_dims(&ctx->in[0].dims, &ctx->out[0].dims)) {
        return misc_fail(err, MAI_CHECK_SHAPE);
    }
    c = misc_check_unary(ctx);
    return c == MAI_CHECK_NONE ? MAI_OK : misc_fail(err, c);
}

nn_status mai_eval_softmax(const mai_op_ctx *ctx) {
    const nn_dims *d = &ctx->in[0].dims;
    return nn_softmax_s8(ctx->params, d->n * d->h * d->w, d->c, ctx->in[0].data,
        ctx->out[0].data);
}

mai_status mai_prepare_logistic(const mai_op_ctx *ctx, mai_error *err) {
    mai_check c = misc_check_common(ctx, sizeof(nn_logistic_params), NN_KERNEL_LOGISTIC_S8,
        1, 1, MAI_STORAGE_S8, MAI_STORAGE_S8);
    if (c == MAI_CHECK_NONE) {
        c = misc_check_unary(ctx);
    }
    return c == MAI_CHECK_NONE ? MAI_OK : misc_fail(err, c);
}

nn_status mai_eval_logistic(const mai_op_ctx *ctx) {
    return nn_logistic_s8(ctx->params, (int32_t)ctx->in[0].size, ctx->in[0].data,
        ctx->out[0].data);
}

// ---- data movement ------------------------------------------------------------------

mai_status mai_prepare_pad(const mai_op_ctx *ctx, mai_error *err) {
    mai_check c = misc_check_common(ctx, sizeof(nn_pad_params), NN_KERNEL_PAD_S8, 1, 1,
        MAI_STORAGE_S8, MAI_STORAGE_S8);
    if (c != MAI_CHECK_NONE) {
        return misc_fail(err, c);
    }
    const nn_pad_params *p = ctx->params;
    const nn_dims *i = &ctx->in[0].dims, *o = &ctx->out[0].dims;
    const int32_t din[4] = {i->n, i->h, i->w, i->c};
    const int32_t dout[4] = {o->n, o->h, o->w, o->c};
    if (!misc_is_s8(p->pad_value) || ctx->in[0].zero_point != ctx->out[0].zero_point) {
        return misc_fail(err, MAI_CHECK_PARAM);
    }
    for (int d = 0; d < 4; d++) {
        if (p->before[d] < 0 || p->after[d] < 0) {
            return misc_fail(err, MAI_CHECK_PARAM);
        }
        if ((int64_t)din[d] + p->before[d] + p->after[d] != dout[d]) {
            return misc_fail(err, MAI_CHECK_SHAPE);
        }
    }
    if (!misc_overlap_ok(&ctx->in[0], &ctx->out[0], 0)) {
        return misc_fail(err, MAI_CHECK_OVERLAP);
    }
    return MAI_OK;
}

nn_status mai_eval_pad(const mai_op_ctx *ctx) {
    return nn_pad_s8(ctx->params, &ctx->in[0].dims, ctx->in[0].data, &ctx->out[0].dims,
        ctx->out[0].data);
}

mai_status mai_prepare_concat(const mai_op_ctx *ctx, mai_error *err) {
    mai_check c = misc_check_common(ctx, sizeof(nn_concat_params), NN_KERNEL_CONCAT_S8, 1,
        MAI_MAX_OP_IO, MAI_STORAGE_S8, MAI_STORAGE_S8);
    if (c != MAI_CHECK_NONE) {
        return misc_fail(err, c);
    }
    const nn_concat_params *p = ctx->params;
    if (p->axis < 0 || p->axis > 3) {
        return misc_fail(err, MAI_CHECK_PARAM);
    }
    const nn_dims *o = &ctx->out[0].dims;
    const int32_t dout[4] = {o->n, o->h, o->w, o->c};
    int64_t along = 0;
    for (uint32_t k = 0; k < ctx->n_in; k++) {
        const nn_dims *i = &ctx->in[k].dims;
        const int32_t din[4] = {i->n, i->h, i->w, i->c};
        if (ctx->in[k].zero_point != ctx->out[0].zero_point) {
            return misc_fail(err, MAI_CHECK_PARAM);
        }
        for (int d = 0; d < 4; d++) {
            if (d != p->axis && din[d] != dout[d]) {
                return misc_fail(err, MAI_CHECK_SHAPE);
            }
        }
        along += din[p->axis];
        if (!misc_overlap_ok(&ctx->in[k], &ctx->out[0], 0)) {
            return misc_fail(err, MAI_CHECK_OVERLAP);
        }
    }
    if (along != dout[p->axis]) {
        return misc_fail(err, MAI_CHECK_SHAPE);
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
