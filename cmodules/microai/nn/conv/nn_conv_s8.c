// CONV_2D wrapper: picks the pointwise kernel for 1x1 / stride 1 / no padding /
// dilation 1, else im2col + GEMM. _kernel() and _scratch_size() share the predicate.
#include "nn_functions.h"

static int nn_conv_is_pointwise(const nn_conv_params *p, const nn_dims *in_dims,
    const nn_dims *f_dims, const nn_dims *out_dims) {
    return f_dims->h == 1 && f_dims->w == 1
           && p->stride_h == 1 && p->stride_w == 1
           && p->pad_h == 0 && p->pad_w == 0
           && p->dilation_h == 1 && p->dilation_w == 1
           && in_dims->h == out_dims->h && in_dims->w == out_dims->w;
}

nn_kernel nn_conv_s8_kernel(const nn_conv_params *p, const nn_dims *in_dims,
    const nn_dims *f_dims, const nn_dims *out_dims) {
    if (nn_conv_is_pointwise(p, in_dims, f_dims, out_dims)) {
        return NN_KERNEL_CONV_PW_S8;
    }
    return NN_KERNEL_CONV_IM2COL_S8;
}

size_t nn_conv_s8_scratch_size(const nn_conv_params *p, const nn_dims *in_dims,
    const nn_dims *f_dims, const nn_dims *out_dims) {
    if (nn_conv_is_pointwise(p, in_dims, f_dims, out_dims)) {
        return nn_conv_pw_s8_scratch_size(p, in_dims, f_dims, out_dims);
    }
    return nn_conv_im2col_s8_scratch_size(p, in_dims, f_dims, out_dims);
}

nn_status nn_conv_s8(const nn_conv_params *p, const nn_quant *q,
    const nn_dims *in_dims, const int8_t *in,
    const nn_dims *f_dims, const int8_t *filter, const int32_t *bias,
    const nn_dims *out_dims, int8_t *out, void *scratch, size_t scratch_size) {
    if (nn_conv_is_pointwise(p, in_dims, f_dims, out_dims)) {
        return nn_conv_pw_s8(p, q, in_dims, in, f_dims, filter, bias, out_dims, out,
            scratch, scratch_size);
    }
    return nn_conv_im2col_s8(p, q, in_dims, in, f_dims, filter, bias, out_dims, out,
        scratch, scratch_size);
}

// The same for int4 weights rows (nn_s4_rows_prepare()).
nn_kernel nn_conv_s4_kernel(const nn_conv_params *p, const nn_dims *in_dims,
    const nn_dims *f_dims, const nn_dims *out_dims) {
    if (nn_conv_is_pointwise(p, in_dims, f_dims, out_dims)) {
        return NN_KERNEL_CONV_PW_S4;
    }
    return NN_KERNEL_CONV_IM2COL_S4;
}

size_t nn_conv_s4_scratch_size(const nn_conv_params *p, const nn_dims *in_dims,
    const nn_dims *f_dims, const nn_dims *out_dims) {
    if (nn_conv_is_pointwise(p, in_dims, f_dims, out_dims)) {
        return nn_conv_pw_s4_scratch_size(p, in_dims, f_dims, out_dims);
    }
    return nn_conv_im2col_s4_scratch_size(p, in_dims, f_dims, out_dims);
}

nn_status nn_conv_s4(const nn_conv_params *p, const nn_quant *q,
    const nn_dims *in_dims, const int8_t *in,
    const nn_dims *f_dims, const uint8_t *filter, const int32_t *bias,
    const nn_dims *out_dims, int8_t *out, void *scratch, size_t scratch_size) {
    if (nn_conv_is_pointwise(p, in_dims, f_dims, out_dims)) {
        return nn_conv_pw_s4(p, q, in_dims, in, f_dims, filter, bias, out_dims, out,
            scratch, scratch_size);
    }
    return nn_conv_im2col_s4(p, q, in_dims, in, f_dims, filter, bias, out_dims, out,
        scratch, scratch_size);
}
