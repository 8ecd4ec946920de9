// CONV_2D 16x8 (int16 activations, int8 weights, int64 sums), as TFLite's reference
// ConvPerChannel runs it with an int64 bias: zero points 0, any stride, dilation,
// padding and groups (filter input channels = input channels / groups), a tap over the
// padding adding nothing; each output channel's sum of x * w in int64, then the bias
// (stored as int32 when every value fits), the rescaling and the int16 clamp
// (nn_requantize_s16). A direct loop; on a
// DSP core each tap's channels go two at a time (SMLALD). No scratch.
#include "nn_dsp.h"
#include "nn_functions.h"

// sum_i x[i] * w[i] over n channels, added to acc.
static int64_t nn_taps_s16_s8(const int16_t *x, const int8_t *w, int32_t n, int64_t acc) {
    int32_t i = 0;
    #if NN_DSP_ASM
    uint32_t lo = (uint32_t)acc;
    int32_t hi = (int32_t)(acc >> 32);
    for (; i + 2 <= n; i += 2) {
        uint32_t xv;
        memcpy(&xv, x + i, 4);
        const uint32_t wv = ((uint32_t)(uint16_t)w[i]) | ((uint32_t)(int32_t)w[i + 1] << 16);
        __asm__ ("smlald %0, %1, %2, %3" : "+r" (lo), "+r" (hi) : "r" (xv), "r" (wv));
    }
    acc = (int64_t)(((uint64_t)(uint32_t)hi << 32) | lo);
    #endif
    for (; i < n; i++) {
        acc += (int32_t)x[i] * w[i];
    }
    return acc;
}

nn_status nn_conv_s16(const nn_conv_params *p, const nn_quant *q,
    const nn_dims *in_dims, const int16_t *in,
    const nn_dims *f_dims, const int8_t *filter, const int32_t *bias,
    const nn_dims *out_dims, int16_t *out) {
    const int32_t ih = in_dims->h, iw = in_dims->w, ic = in_dims->c;
    const int32_t kh = f_dims->h, kw = f_dims->w, cg = f_dims->c;
    const int32_t oh = out_dims->h, ow = out_dims->w, oc = out_dims->c;
    if (cg < 1 || ic % cg != 0 || f_dims->n != oc || oc % (ic / cg) != 0) {
        return NN_ERR_ARG;
    }
    const int32_t per_group = oc / (ic / cg);
    const int32_t lo = p->act.min, hi = p->act.max;
    const size_t taps = (size_t)kh * kw * cg;
    for (int32_t b = 0; b < out_dims->n; b++) {
        const int16_t *image = in + (size_t)b * ih * iw * ic;
        for (int32_t oy = 0; oy < oh; oy++) {
            const int32_t iy0 = oy * p->stride_h - p->pad_h;
            for (int32_t ox = 0; ox < ow; ox++, out += oc) {
                const int32_t ix0 = ox * p->stride_w - p->pad_w;
                for (int32_t c = 0; c < oc; c++) {
                    const int8_t *w = filter + (size_t)c * taps;
                    const int32_t first = c / per_group * cg;
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
                            acc = nn_taps_s16_s8(image + ((size_t)iy * iw + ix) * ic + first,
                                w + ((size_t)ky * kw + kx) * cg, cg, acc);
                        }
                    }
                    out[c] = nn_requantize_s16(acc, bias, c, q, lo, hi);
                }
            }
        }
    }
    return NN_OK;
}
