// microai: the checks every op family shares (included by ops/*.c only).
#ifndef MICROAI_OPS_COMMON_H
#define MICROAI_OPS_COMMON_H

#include "mai_table.h"
#include "nn_functions.h"

static inline mai_status ops_fail(mai_error *err, mai_check detail) {
    err->detail = detail;
    return MAI_E_OP;
}

static inline uint32_t ops_elements(const nn_dims *d) {
    return (uint32_t)d->n * (uint32_t)d->h * (uint32_t)d->w * (uint32_t)d->c;
}

static inline int ops_same_dims(const nn_dims *a, const nn_dims *b) {
    return a->n == b->n && a->h == b->h && a->w == b->w && a->c == b->c;
}

static inline int ops_is_s8(int32_t v) {
    return v >= INT8_MIN && v <= INT8_MAX;
}

static inline int ops_act_ok(const nn_activation *act) {
    return ops_is_s8(act->min) && ops_is_s8(act->max) && act->min <= act->max;
}

// A fused activation's clamp in the output's storage: int8, or int16 (16x8).
static inline int ops_act_ok_for(uint8_t storage, const nn_activation *act) {
    if (storage == MAI_STORAGE_S16) {
        return act->min >= INT16_MIN && act->max <= INT16_MAX && act->min <= act->max;
    }
    return ops_act_ok(act);
}

// nn_requantize's contract: Q31 multiplier >= 0, shift in [-31, 30].
static inline int ops_requant_ok(int32_t multiplier, int32_t shift) {
    return multiplier >= 0 && shift >= -31 && shift <= 30;
}

// The checks every op here starts with: params size, io counts, kernel, no scratch, and
// every input present with the given storage (the output's is out_storage).
static inline mai_check ops_check_common(const mai_op_ctx *ctx, uint32_t params_size,
    uint32_t n_in_min, uint32_t n_in_max, uint8_t in_storage, uint8_t out_storage) {
    if (ctx->params_size != params_size) {
        return MAI_CHECK_PARAMS_SIZE;
    }
    if (ctx->n_in < n_in_min || ctx->n_in > n_in_max || ctx->n_out != 1) {
        return MAI_CHECK_IO_COUNT;
    }
    if (ctx->rounding != NN_ROUNDING_DOUBLE) {
        return MAI_CHECK_ROUNDING; // the field is for the weighted ops
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
static inline int ops_overlap_ok(const mai_tensor_view *in, const mai_tensor_view *out,
    int exact_ok) {
    const uint8_t *i0 = in->data, *o0 = out->data;
    if (o0 + out->size <= i0 || i0 + in->size <= o0) {
        return 1;
    }
    return exact_ok && i0 == o0 && in->size == out->size && ops_same_dims(&in->dims, &out->dims);
}

// Unary ops over the same number of elements; an exact in-place output is allowed when
// both sides have the same size.
static inline mai_check ops_check_unary(const mai_op_ctx *ctx) {
    const mai_tensor_view *in = &ctx->in[0], *out = &ctx->out[0];
    if (ops_elements(&in->dims) != ops_elements(&out->dims)) {
        return MAI_CHECK_SHAPE;
    }
    if (!ops_overlap_ok(in, out, 1)) {
        return MAI_CHECK_OVERLAP;
    }
    return MAI_CHECK_NONE;
}

// One spatial axis: every output window overlaps the input (the kernels divide by the
// number of taps inside it), and the leading padding is smaller than the filter.
static inline int ops_pool_axis_ok(int32_t in, int32_t filter, int32_t stride, int32_t pad,
    int32_t out) {
    return filter >= 1 && stride >= 1 && out >= 1 && pad >= 0 && pad < filter
           && (int64_t)(out - 1) * stride - pad < in;
}

#endif // MICROAI_OPS_COMMON_H
