// DEPTHWISE_CONV_2D, any filter size, depth multiplier, stride and dilation.
//
// Per output pixel the range of filter taps that fall inside the input is computed once,
// so the tap loops carry no bounds checks; padding taps contribute nothing, as in the
// reference kernel. Filter layout {1, kh, kw, out_ch}, out_ch = in_ch * multiplier.
#include "nn_functions.h"

// First tap index k in [0, n) with origin + k * dilation >= 0, and the end of the taps
// with origin + k * dilation < size.
static inline void nn_dw_tap_range(int32_t origin, int32_t dilation, int32_t size, int32_t n,
    int32_t *start, int32_t *end) {
    int32_t s = origin >= 0 ? 0 : (-origin + dilation - 1) / dilation;
    int32_t e = size - origin <= 0 ? 0 : (size - origin + dilation - 1) / dilation;
    e = e < n ? e : n;
    *start = s;
    *end = e > s ? e : s;
}

// One output value: ny x nx taps of one channel, x and w at the first valid tap.
// The one place for a Cortex-M DSP inner loop.
static inline int32_t nn_dw_dot_s8(const int8_t *x, int32_t x_row, int32_t x_col,
    const int8_t *w, int32_t w_row, int32_t w_col, int32_t ny, int32_t nx,
    int32_t input_offset) {
    int32_t acc = 0;
    for (int32_t ky = 0; ky < ny; ky++) {
        for (int32_t kx = 0; kx < nx; kx++) {
            acc += (x[kx * x_col] + input_offset) * w[kx * w_col];
        }
        x += x_row;
        w += w_row;
    }
    return acc;
}

nn_status nn_dw_conv_s8(const nn_conv_params *p, const nn_quant *q,
    const nn_dims *in_dims, const int8_t *in,
    const nn_dims *f_dims, const int8_t *filter, const int32_t *bias,
    const nn_dims *out_dims, int8_t *out) {
    const int32_t ch = in_dims->c;
    const int32_t mult = p->depth_multiplier;
    const int32_t out_ch = out_dims->c;
    if (mult < 1 || out_ch != ch * mult || f_dims->c != out_ch || f_dims->n != 1
        || in_dims->n != out_dims->n || p->stride_h < 1 || p->stride_w < 1
        || p->dilation_h < 1 || p->dilation_w < 1) {
        return NN_ERR_ARG;
    }
    const int32_t in_h = in_dims->h, in_w = in_dims->w;
    // Strides, in elements, between filter taps in the input and in the filter.
    const int32_t in_row = p->dilation_h * in_w * ch;
    const int32_t in_col = p->dilation_w * ch;
    const int32_t w_row = f_dims->w * out_ch;
    const int32_t w_col = out_ch;
    for (int32_t b = 0; b < out_dims->n; b++) {
        for (int32_t oy = 0; oy < out_dims->h; oy++) {
            const int32_t iy0 = oy * p->stride_h - p->pad_h;
            int32_t ky0, ky1;
            nn_dw_tap_range(iy0, p->dilation_h, in_h, f_dims->h, &ky0, &ky1);
            for (int32_t ox = 0; ox < out_dims->w; ox++) {
                const int32_t ix0 = ox * p->stride_w - p->pad_w;
                int32_t kx0, kx1;
                nn_dw_tap_range(ix0, p->dilation_w, in_w, f_dims->w, &kx0, &kx1);
                int32_t ny = ky1 - ky0, nx = kx1 - kx0;
                // Input and filter at the first valid tap (none valid: an empty sum).
                const int8_t *x = in;
                const int8_t *w = filter;
                if (ny > 0 && nx > 0) {
                    const int32_t iy = iy0 + ky0 * p->dilation_h;
                    const int32_t ix = ix0 + kx0 * p->dilation_w;
                    x = in + ((size_t)(b * in_h + iy) * in_w + (size_t)ix) * ch;
                    w = filter + (size_t)(ky0 * f_dims->w + kx0) * out_ch;
                } else {
                    ny = nx = 0;
                }
                int8_t *o = out + (((size_t)b * out_dims->h + oy) * out_dims->w + ox) * out_ch;
                for (int32_t ic = 0; ic < ch; ic++) {
                    for (int32_t m = 0; m < mult; m++) {
                        const int32_t oc = ic * mult + m;
                        int32_t acc = nn_dw_dot_s8(x + ic, in_row, in_col, w + oc, w_row,
                            w_col, ny, nx, p->input_offset);
                        if (bias != NULL) {
                            acc = (int32_t)((uint32_t)acc + (uint32_t)bias[oc]);
                        }
                        const int32_t i = q->per_channel ? oc : 0;
                        int32_t v = nn_add_wrap(
                            nn_requantize(acc, q->multiplier[i], q->shift[i]), p->output_offset);
                        v = v < p->act.min ? p->act.min : v;
                        v = v > p->act.max ? p->act.max : v;
                        o[oc] = (int8_t)v;
                    }
                }
            }
        }
    }
    return NN_OK;
}
