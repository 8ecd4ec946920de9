// DEPTHWISE_CONV_2D fast path: 3x3 filter, depth multiplier 1, dilation 1, any stride
// and padding. Pixels whose 3x3 window lies inside the input (all but the border) take
// an unrolled 9-tap loop with no bounds checks; border pixels loop over their valid
// taps only, computed once per pixel.
#include "nn_functions.h"

// One channel's 3x3 window: x at tap (0, 0) of the channel, rows x_row apart, taps
// `ch` apart; w at tap (0, 0), taps `ch` apart. The one place for a DSP inner loop.
static inline int32_t nn_dw_3x3_dot_s8(const int8_t *x, int32_t x_row, int32_t ch,
    const int8_t *w, int32_t input_offset) {
    int32_t acc = 0;
    for (int32_t ky = 0; ky < 3; ky++) {
        acc += (x[0] + input_offset) * w[0];
        acc += (x[ch] + input_offset) * w[ch];
        acc += (x[2 * ch] + input_offset) * w[2 * ch];
        x += x_row;
        w += 3 * ch;
    }
    return acc;
}

// A border pixel's window: taps [ky0, ky1) x [kx0, kx1), x and w at tap (ky0, kx0).
static inline int32_t nn_dw_3x3_edge_s8(const int8_t *x, int32_t x_row, int32_t ch,
    const int8_t *w, int32_t ny, int32_t nx, int32_t input_offset) {
    int32_t acc = 0;
    for (int32_t ky = 0; ky < ny; ky++) {
        for (int32_t kx = 0; kx < nx; kx++) {
            acc += (x[kx * ch] + input_offset) * w[kx * ch];
        }
        x += x_row;
        w += 3 * ch;
    }
    return acc;
}

static inline void nn_3x3_range(int32_t origin, int32_t size, int32_t *start, int32_t *end) {
    int32_t s = origin < 0 ? -origin : 0;
    int32_t e = size - origin < 3 ? size - origin : 3;
    s = s < 3 ? s : 3;
    *start = s;
    *end = e > s ? e : s;
}

nn_status nn_dw_conv_3x3_s8(const nn_conv_params *p, const nn_quant *q,
    const nn_dims *in_dims, const int8_t *in,
    const nn_dims *f_dims, const int8_t *filter, const int32_t *bias,
    const nn_dims *out_dims, int8_t *out) {
    const int32_t ch = in_dims->c;
    if (f_dims->h != 3 || f_dims->w != 3 || f_dims->n != 1 || f_dims->c != ch
        || out_dims->c != ch || p->depth_multiplier != 1 || p->dilation_h != 1
        || p->dilation_w != 1 || in_dims->n != out_dims->n || p->stride_h < 1
        || p->stride_w < 1) {
        return NN_ERR_ARG;
    }
    const int32_t in_h = in_dims->h, in_w = in_dims->w;
    const int32_t x_row = in_w * ch;
    const int32_t in_off = p->input_offset;
    for (int32_t b = 0; b < out_dims->n; b++) {
        for (int32_t oy = 0; oy < out_dims->h; oy++) {
            const int32_t iy0 = oy * p->stride_h - p->pad_h;
            int32_t ky0, ky1;
            nn_3x3_range(iy0, in_h, &ky0, &ky1);
            for (int32_t ox = 0; ox < out_dims->w; ox++) {
                const int32_t ix0 = ox * p->stride_w - p->pad_w;
                int32_t kx0, kx1;
                nn_3x3_range(ix0, in_w, &kx0, &kx1);
                const int32_t ny = ky1 - ky0, nx = kx1 - kx0;
                int8_t *o = out + (((size_t)b * out_dims->h + oy) * out_dims->w + ox) * ch;
                const int8_t *x = in;
                const int8_t *w = filter;
                if (ny > 0 && nx > 0) {
                    x = in + ((size_t)(b * in_h + iy0 + ky0) * in_w + (size_t)(ix0 + kx0)) * ch;
                    w = filter + (size_t)(ky0 * 3 + kx0) * ch;
                }
                const int full = ny == 3 && nx == 3;
                for (int32_t c = 0; c < ch; c++) {
                    int32_t acc;
                    if (full) {
                        acc = nn_dw_3x3_dot_s8(x + c, x_row, ch, w + c, in_off);
                    } else if (ny > 0 && nx > 0) {
                        acc = nn_dw_3x3_edge_s8(x + c, x_row, ch, w + c, ny, nx, in_off);
                    } else {
                        acc = 0;
                    }
                    if (bias != NULL) {
                        acc = (int32_t)((uint32_t)acc + (uint32_t)bias[c]);
                    }
                    const int32_t i = q->per_channel ? c : 0;
                    int32_t v = nn_add_wrap(nn_requantize(acc, q->multiplier[i], q->shift[i]),
                        p->output_offset);
                    v = v < p->act.min ? p->act.min : v;
                    v = v > p->act.max ? p->act.max : v;
                    o[c] = (int8_t)v;
                }
            }
        }
    }
    return NN_OK;
}
