// DEPTHWISE_CONV_2D 16x8 (int16 activations, int8 weights, int64 sums), as TFLite's
// reference DepthwiseConvPerChannel runs it with an int64 bias: zero points 0, any
// stride, dilation, padding and depth multiplier (output channel c reads input channel
// c / multiplier), a tap over the padding adding nothing; then the bias (stored as int32
// when every value fits), the rescaling and the int16 clamp (nn_requantize_s16). A direct
// loop; no scratch.
#include "nn_functions.h"

nn_status nn_dw_conv_s16(const nn_conv_params *p, const nn_quant *q,
    const nn_dims *in_dims, const int16_t *in,
    const nn_dims *f_dims, const int8_t *filter, const int32_t *bias,
    const nn_dims *out_dims, int16_t *out) {
    const int32_t ih = in_dims->h, iw = in_dims->w, ic = in_dims->c;
    const int32_t kh = f_dims->h, kw = f_dims->w, oc = out_dims->c;
    const int32_t mult = p->depth_multiplier;
    if (mult < 1 || f_dims->c != oc || (int64_t)ic * mult != oc) {
        return NN_ERR_ARG;
    }
    const int32_t lo = p->act.min, hi = p->act.max;
    for (int32_t b = 0; b < out_dims->n; b++) {
        const int16_t *image = in + (size_t)b * ih * iw * ic;
        for (int32_t oy = 0; oy < out_dims->h; oy++) {
            const int32_t iy0 = oy * p->stride_h - p->pad_h;
            for (int32_t ox = 0; ox < out_dims->w; ox++, out += oc) {
                const int32_t ix0 = ox * p->stride_w - p->pad_w;
                for (int32_t c = 0; c < oc; c++) {
                    int64_t acc = 0;
                    for (int32_t ky = 0; ky < kh; ky++) {
                        const int32_t iy = iy0 + ky * p->dilation_h;
                        if (iy < 0 || iy >= ih) {
                            continue;
                        }
                        for (int32_t kx = 0; kx < kw; kx++) {
                            const int32_t ix = ix0 + kx * p->dilation_w;
                            if (ix < 0 || ix >= iw) {
                                continue;
                            }
                            acc += (int32_t)image[((size_t)iy * iw + ix) * ic + c / mult]
                                * filter[((size_t)ky * kw + kx) * oc + c];
                        }
                    }
                    out[c] = nn_requantize_s16(acc, bias, c, q, lo, hi);
                }
            }
        }
    }
    return NN_OK;
}
