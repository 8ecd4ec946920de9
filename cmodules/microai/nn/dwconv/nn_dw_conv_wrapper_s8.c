// DEPTHWISE_CONV_2D wrapper: the 3x3 fast path for 3x3 / multiplier 1 / dilation 1,
// else the generic kernel. _kernel() and _scratch_size() share the predicate.
#include "nn_functions.h"

static int nn_dw_is_3x3(const nn_conv_params *p, const nn_dims *f_dims) {
    return f_dims->h == 3 && f_dims->w == 3 && p->depth_multiplier == 1
           && p->dilation_h == 1 && p->dilation_w == 1;
}

nn_kernel nn_dw_conv_wrapper_s8_kernel(const nn_conv_params *p, const nn_dims *in_dims,
    const nn_dims *f_dims, const nn_dims *out_dims) {
    return nn_dw_is_3x3(p, f_dims) ? NN_KERNEL_DW_CONV_3X3_S8 : NN_KERNEL_DW_CONV_S8;
}

size_t nn_dw_conv_wrapper_s8_scratch_size(const nn_conv_params *p, const nn_dims *in_dims,
    const nn_dims *f_dims, const nn_dims *out_dims) {
    return nn_dw_is_3x3(p, f_dims) ? nn_dw_conv_3x3_s8_scratch_size(p, in_dims, f_dims, out_dims)
                                   : nn_dw_conv_s8_scratch_size(p, in_dims, f_dims, out_dims);
}

nn_status nn_dw_conv_wrapper_s8(const nn_conv_params *p, const nn_quant *q,
    const nn_dims *in_dims, const int8_t *in,
    const nn_dims *f_dims, const int8_t *filter, const int32_t *bias,
    const nn_dims *out_dims, int8_t *out, void *scratch, size_t scratch_size) {
    if (nn_dw_is_3x3(p, f_dims)) {
        return nn_dw_conv_3x3_s8(p, q, in_dims, in, f_dims, filter, bias, out_dims, out,
            scratch, scratch_size);
    }
    return nn_dw_conv_s8(p, q, in_dims, in, f_dims, filter, bias, out_dims, out, scratch,
        scratch_size);
}

// The same for int4 weights in TFLite's packing.
nn_kernel nn_dw_conv_wrapper_s4_kernel(const nn_conv_params *p, const nn_dims *in_dims,
    const nn_dims *f_dims, const nn_dims *out_dims) {
    return nn_dw_is_3x3(p, f_dims) ? NN_KERNEL_DW_CONV_3X3_S4 : NN_KERNEL_DW_CONV_S4;
}

nn_status nn_dw_conv_wrapper_s4(const nn_conv_params *p, const nn_quant *q,
    const nn_dims *in_dims, const int8_t *in,
    const nn_dims *f_dims, const uint8_t *filter, const int32_t *bias,
    const nn_dims *out_dims, int8_t *out, void *scratch, size_t scratch_size) {
    if (nn_dw_is_3x3(p, f_dims)) {
        return nn_dw_conv_3x3_s4(p, q, in_dims, in, f_dims, filter, bias, out_dims, out,
            scratch, scratch_size);
    }
    return nn_dw_conv_s4(p, q, in_dims, in, f_dims, filter, bias, out_dims, out, scratch,
        scratch_size);
}
