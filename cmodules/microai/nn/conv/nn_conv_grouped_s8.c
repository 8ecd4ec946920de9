// CONV_2D with groups, as TFLite's reference ConvPerChannel runs it: the filter has
// in_ch / groups input channels, and output channel o (of out_ch, out_ch / groups per
// group) reads input channels [g * cg, (g + 1) * cg) for g = o / (out_ch / groups). Any
// stride, dilation and padding (a tap over the padding adds nothing). A direct loop:
// per output pixel and channel, the in-bounds taps of its group, int32 accumulators
// wrapping as TFLite's do, requantized with double rounding (nn_requantize). Also right,
// but slower than the GEMM kernels, for groups = 1. No scratch.
#include "nn_functions.h"

nn_status nn_conv_grouped_s8(const nn_conv_params *p, const nn_quant *q,
    const nn_dims *in_dims, const int8_t *in,
    const nn_dims *f_dims, const int8_t *filter, const int32_t *bias,
    const nn_dims *out_dims, int8_t *out) {
    const int32_t ih = in_dims->h, iw = in_dims->w, ic = in_dims->c;
    const int32_t kh = f_dims->h, kw = f_dims->w, cg = f_dims->c;
    const int32_t oh = out_dims->h, ow = out_dims->w, oc = out_dims->c;
    if (cg < 1 || ic % cg != 0 || f_dims->n != oc || oc % (ic / cg) != 0) {
        return NN_ERR_ARG;
    }
    const int32_t per_group = oc / (ic / cg);
    const int32_t in_off = p->input_offset, off = p->output_offset;
    const int32_t lo = p->act.min, hi = p->act.max;
    const size_t taps = (size_t)kh * kw * cg;
    for (int32_t b = 0; b < out_dims->n; b++) {
        const int8_t *image = in + (size_t)b * ih * iw * ic;
        for (int32_t oy = 0; oy < oh; oy++) {
            const int32_t iy0 = oy * p->stride_h - p->pad_h;
            for (int32_t ox = 0; ox < ow; ox++, out += oc) {
                const int32_t ix0 = ox * p->stride_w - p->pad_w;
                for (int32_t c = 0; c < oc; c++) {
                    const int8_t *w = filter + (size_t)c * taps;
                    const int32_t first = c / per_group * cg;
                    uint32_t acc = (uint32_t)(bias != NULL ? bias[c] : 0);
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
                            const int8_t *x = image + ((size_t)iy * iw + ix) * ic + first;
                            const int8_t *wk = w + ((size_t)ky * kw + kx) * cg;
                            for (int32_t i = 0; i < cg; i++) {
                                acc += (uint32_t)((x[i] + in_off) * wk[i]);
                            }
                        }
                    }
                    const int32_t k = q->per_channel ? c : 0;
                    int32_t v = nn_requantize((int32_t)acc, q->multiplier[k], q->shift[k]);
                    v = (int32_t)((uint32_t)v + (uint32_t)off);
                    v = v < lo ? lo : v;
                    out[c] = (int8_t)(v > hi ? hi : v);
                }
            }
        }
    }
    return NN_OK;
}
