// DEPTHWISE_CONV_2D, any filter size, depth multiplier, stride and dilation, with int4
// weights in TFLite's packing: filter {1, kh, kw, out_ch}, element t * out_ch + oc, two
// a byte (element 2i in the low nibble of byte i).
//
// The generic int8 kernel's windows and folded bias (nn_dw_window.h); each weight is
// taken from its nibble where it is used (a signed bitfield extract, SBFX on Thumb-2),
// so nothing is unpacked into scratch. Depth multiplier 1 with an even channel count
// takes four channels at a time, their four weights of a tap one halfword (element
// t * C + c is even); the rest one output channel at a time, up to four together.
// Scratch: nn_dw_conv_s8's (nn_dw_window.h).
#include "nn_dsp.h"
#include "nn_dw_window.h"

// Channels c..c+3 of one tap: x at channel c, w2 the two bytes of their weights.
static inline void nn_dw_tap4_s4(const int8_t *x, const uint8_t *w2, int32_t *acc) {
    const uint32_t v = (uint32_t)w2[0] | ((uint32_t)w2[1] << 8);
    acc[0] = nn_mac(acc[0], x[0], (int32_t)(v << 28) >> 28);
    acc[1] = nn_mac(acc[1], x[1], (int32_t)(v << 24) >> 28);
    acc[2] = nn_mac(acc[2], x[2], (int32_t)(v << 20) >> 28);
    acc[3] = nn_mac(acc[3], x[3], (int32_t)(v << 16) >> 28);
}

static inline int8_t nn_dw_out_s4(int32_t acc, int32_t mult, int32_t shift,
    const nn_conv_params *p) {
    int32_t v = nn_add_wrap(nn_requantize(acc, mult, shift), p->output_offset);
    v = v < p->act.min ? p->act.min : v;
    v = v > p->act.max ? p->act.max : v;
    return (int8_t)v;
}

nn_status nn_dw_conv_s4(const nn_conv_params *p, const nn_quant *q,
    const nn_dims *in_dims, const int8_t *in,
    const nn_dims *f_dims, const uint8_t *filter, const int32_t *bias,
    const nn_dims *out_dims, int8_t *out, void *scratch, size_t scratch_size) {
    const int32_t ch = in_dims->c;
    const int32_t mult = p->depth_multiplier;
    const int32_t out_ch = out_dims->c;
    if (mult < 1 || out_ch != ch * mult || f_dims->c != out_ch || f_dims->n != 1
        || in_dims->n != out_dims->n || p->stride_h < 1 || p->stride_w < 1
        || p->dilation_h < 1 || p->dilation_w < 1 || p->pad_h < 0 || p->pad_w < 0
        || p->input_offset < -127 || p->input_offset > 128) {
        return NN_ERR_ARG;
    }
    nn_dw_window r;
    nn_status st = nn_dw_window_init(&r, p, in_dims, f_dims, filter, 1, bias, out_dims,
        scratch, scratch_size);
    if (st != NN_OK) {
        return st;
    }
    const int32_t kh = f_dims->h, kw = f_dims->w;
    const size_t in_batch = (size_t)in_dims->h * in_dims->w * ch;
    const int32_t q_step = q->per_channel ? 1 : 0;
    const int lanes4 = mult == 1 ? 4 : 1;
    int8_t *o = out;
    for (int32_t b = 0; b < out_dims->n; b++) {
        const int8_t *in_b = in + (size_t)b * in_batch;
        for (int32_t oy = 0; oy < out_dims->h; oy++) {
            const int32_t iy0 = oy * p->stride_h - p->pad_h;
            for (int32_t ox = 0; ox < out_dims->w; ox++) {
                const nn_dw_view v = nn_dw_view_at(&r, p, in_dims, f_dims, in_b, iy0,
                    ox * p->stride_w - p->pad_w);
                int32_t oc = 0;
                if (mult == 1 && out_ch % 2 == 0) {
                    for (; oc + 4 <= out_ch; oc += 4) {
                        int32_t acc[4] = {r.bias[oc], r.bias[oc + 1], r.bias[oc + 2],
                                          r.bias[oc + 3]};
                        const uint8_t *w = filter + oc / 2;
                        for (int32_t ky = 0; ky < kh; ky++) {
                            const int8_t *x = v.x + ky * v.row + oc;
                            for (int32_t kx = 0; kx < kw; kx++, x += v.col, w += out_ch / 2) {
                                nn_dw_tap4_s4(x, w, acc);
                            }
                        }
                        for (int32_t i = 0; i < 4; i++) {
                            const int32_t qi = (oc + i) * q_step;
                            o[oc + i] = nn_dw_out_s4(acc[i], q->multiplier[qi], q->shift[qi],
                                p);
                        }
                    }
                }
                while (oc < out_ch) {
                    // Up to four output channels (of four input channels at multiplier 1).
                    const int32_t n = out_ch - oc < lanes4 ? out_ch - oc : lanes4;
                    const int32_t ic = mult == 1 ? oc : oc / mult;
                    uint32_t acc[4];
                    for (int32_t i = 0; i < n; i++) {
                        acc[i] = (uint32_t)r.bias[oc + i];
                    }
                    size_t e = (size_t)oc; // weight element of tap (ky, kx) = (0, 0)
                    for (int32_t ky = 0; ky < kh; ky++) {
                        const int8_t *x = v.x + ky * v.row + ic;
                        for (int32_t kx = 0; kx < kw; kx++, x += v.col, e += out_ch) {
                            for (int32_t i = 0; i < n; i++) {
                                acc[i] += (uint32_t)(x[i] * nn_dw_weight(filter, 1, e + i));
                            }
                        }
                    }
                    for (int32_t i = 0; i < n; i++) {
                        const int32_t qi = (oc + i) * q_step;
                        o[oc + i] = nn_dw_out_s4((int32_t)acc[i], q->multiplier[qi],
                            q->shift[qi], p);
                    }
                    oc += n;
                }
                o += out_ch;
            }
        }
    }
    return NN_OK;
}
