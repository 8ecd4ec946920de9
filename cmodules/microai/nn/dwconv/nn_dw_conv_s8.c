// DEPTHWISE_CONV_2D, any filter size, depth multiplier, stride and dilation.
//
// Each output's window is read in place, or from a patch at the input's edges
// (nn_dw_window.h), so no tap is tested against the edges and the input offset is
// folded into the bias. Depth
// multiplier 1 takes four channels at a time (32-bit loads; SXTB16 + SMLABB/SMLATT on a
// DSP core); multipliers of 4 and more four output channels of one input channel at a
// time; the rest one output channel at a time. Filter layout
// {1, kh, kw, out_ch}, out_ch = in_ch * multiplier.
#include "nn_dsp.h"
#include "nn_dw_window.h"

#if NN_DSP
// Channels c..c+3 of one filter tap: x, w at channel c.
static inline void nn_dw_tap4_s8(const int8_t *x, const int8_t *w, int32_t *acc) {
    const uint32_t xv = nn_read_u32(x), wv = nn_read_u32(w);
    const uint32_t x02 = nn_sxtb16(xv), x13 = nn_sxtb16_ror8(xv);
    const uint32_t w02 = nn_sxtb16(wv), w13 = nn_sxtb16_ror8(wv);
    acc[0] = nn_smlabb(x02, w02, acc[0]);
    acc[1] = nn_smlabb(x13, w13, acc[1]);
    acc[2] = nn_smlatt(x02, w02, acc[2]);
    acc[3] = nn_smlatt(x13, w13, acc[3]);
}

// Four output channels of one input channel (depth multiplier >= 4): x times w[0..3],
// x in the bottom halfword against both halves of the widened weights.
static inline void nn_dw_tap4x1_s8(int32_t x, const int8_t *w, int32_t *acc) {
    const uint32_t wv = nn_read_u32(w);
    const uint32_t w02 = nn_sxtb16(wv), w13 = nn_sxtb16_ror8(wv);
    acc[0] = nn_smlabb((uint32_t)x, w02, acc[0]);
    acc[1] = nn_smlabb((uint32_t)x, w13, acc[1]);
    acc[2] = nn_smlabt((uint32_t)x, w02, acc[2]);
    acc[3] = nn_smlabt((uint32_t)x, w13, acc[3]);
}
#else
static inline void nn_dw_tap4_s8(const int8_t *x, const int8_t *w, int32_t *acc) {
    acc[0] = (int32_t)((uint32_t)acc[0] + (uint32_t)(x[0] * w[0]));
    acc[1] = (int32_t)((uint32_t)acc[1] + (uint32_t)(x[1] * w[1]));
    acc[2] = (int32_t)((uint32_t)acc[2] + (uint32_t)(x[2] * w[2]));
    acc[3] = (int32_t)((uint32_t)acc[3] + (uint32_t)(x[3] * w[3]));
}

static inline void nn_dw_tap4x1_s8(int32_t x, const int8_t *w, int32_t *acc) {
    acc[0] = (int32_t)((uint32_t)acc[0] + (uint32_t)(x * w[0]));
    acc[1] = (int32_t)((uint32_t)acc[1] + (uint32_t)(x * w[1]));
    acc[2] = (int32_t)((uint32_t)acc[2] + (uint32_t)(x * w[2]));
    acc[3] = (int32_t)((uint32_t)acc[3] + (uint32_t)(x * w[3]));
}
#endif

static inline int8_t nn_dw_out(int32_t acc, int32_t mult, int32_t shift,
    const nn_conv_params *p) {
    int32_t v = nn_add_wrap(nn_requantize(acc, mult, shift), p->output_offset);
    v = v < p->act.min ? p->act.min : v;
    v = v > p->act.max ? p->act.max : v;
    return (int8_t)v;
}

// One output channel's sum over window v from input channel x_off; w at the channel's
// tap (0, 0); acc starts at bias.
static inline int32_t nn_dw_sum1(nn_dw_view v, int32_t kh, int32_t kw, int32_t x_off,
    const int8_t *w, int32_t w_row, int32_t out_ch, int32_t bias) {
    uint32_t acc = (uint32_t)bias;
    for (int32_t ky = 0; ky < kh; ky++) {
        const int8_t *x = v.x + ky * v.row + x_off;
        for (int32_t kx = 0; kx < kw; kx++) {
            acc += (uint32_t)(x[kx * v.col] * w[kx * out_ch]);
        }
        w += w_row;
    }
    return (int32_t)acc;
}

size_t nn_dw_conv_s8_scratch_size(const nn_conv_params *p, const nn_dims *in_dims,
    const nn_dims *f_dims, const nn_dims *out_dims) {
    return nn_dw_window_scratch_size(in_dims, f_dims, out_dims);
}

nn_status nn_dw_conv_s8(const nn_conv_params *p, const nn_quant *q,
    const nn_dims *in_dims, const int8_t *in,
    const nn_dims *f_dims, const int8_t *filter, const int32_t *bias,
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
    nn_status st = nn_dw_window_init(&r, p, in_dims, f_dims, filter, 0, bias, out_dims,
        scratch, scratch_size);
    if (st != NN_OK) {
        return st;
    }
    const int32_t kh = f_dims->h, kw = f_dims->w;
    const size_t in_batch = (size_t)in_dims->h * in_dims->w * ch;
    const int32_t w_row = kw * out_ch;
    const int32_t q_step = q->per_channel ? 1 : 0;
    int8_t *o = out;
    for (int32_t b = 0; b < out_dims->n; b++) {
        const int8_t *in_b = in + (size_t)b * in_batch;
        for (int32_t oy = 0; oy < out_dims->h; oy++) {
            const int32_t iy0 = oy * p->stride_h - p->pad_h;
            for (int32_t ox = 0; ox < out_dims->w; ox++) {
                const nn_dw_view v = nn_dw_view_at(&r, p, in_dims, f_dims, in_b, iy0,
                    ox * p->stride_w - p->pad_w);
                int32_t c = 0;
                if (mult == 1) {
                    for (; c + 4 <= ch; c += 4) {
                        int32_t acc[4] = {r.bias[c], r.bias[c + 1], r.bias[c + 2],
                                          r.bias[c + 3]};
                        const int8_t *w = filter + c;
                        for (int32_t ky = 0; ky < kh; ky++) {
                            const int8_t *x = v.x + ky * v.row + c;
                            for (int32_t kx = 0; kx < kw; kx++) {
                                nn_dw_tap4_s8(x + kx * v.col, w + kx * out_ch, acc);
                            }
                            w += w_row;
                        }
                        const int32_t *m = q->multiplier + c * q_step;
                        const int32_t *sh = q->shift + c * q_step;
                        o[c] = nn_dw_out(acc[0], m[0], sh[0], p);
                        o[c + 1] = nn_dw_out(acc[1], m[q_step], sh[q_step], p);
                        o[c + 2] = nn_dw_out(acc[2], m[2 * q_step], sh[2 * q_step], p);
                        o[c + 3] = nn_dw_out(acc[3], m[3 * q_step], sh[3 * q_step], p);
                    }
                }
                if (mult >= 4) {
                    // Four output channels of one input channel at a time, then the
                    // multiplier's rest; all of out_ch, so the loop below has nothing.
                    for (int32_t ic = 0; ic < ch; ic++) {
                        for (int32_t m = 0; m + 4 <= mult; m += 4) {
                            const int32_t oc = ic * mult + m;
                            int32_t acc[4] = {r.bias[oc], r.bias[oc + 1], r.bias[oc + 2],
                                              r.bias[oc + 3]};
                            const int8_t *w = filter + oc;
                            for (int32_t ky = 0; ky < kh; ky++) {
                                const int8_t *x = v.x + ky * v.row + ic;
                                for (int32_t kx = 0; kx < kw; kx++) {
                                    nn_dw_tap4x1_s8(x[kx * v.col], w + kx * out_ch, acc);
                                }
                                w += w_row;
                            }
                            const int32_t *mq = q->multiplier + oc * q_step;
                            const int32_t *sh = q->shift + oc * q_step;
                            o[oc] = nn_dw_out(acc[0], mq[0], sh[0], p);
                            o[oc + 1] = nn_dw_out(acc[1], mq[q_step], sh[q_step], p);
                            o[oc + 2] = nn_dw_out(acc[2], mq[2 * q_step], sh[2 * q_step], p);
                            o[oc + 3] = nn_dw_out(acc[3], mq[3 * q_step], sh[3 * q_step], p);
                        }
                        for (int32_t oc = ic * mult + mult / 4 * 4; oc < (ic + 1) * mult;
                             oc++) {
                            o[oc] = nn_dw_out(nn_dw_sum1(v, kh, kw, ic, filter + oc, w_row,
                                out_ch, r.bias[oc]), q->multiplier[oc * q_step],
                                q->shift[oc * q_step], p);
                        }
                    }
                    c = out_ch;
                }
                // Single output channels: oc = ic * mult + m reads input channel ic.
                for (int32_t oc = c; oc < out_ch; oc++) {
                    const int32_t ic = mult == 1 ? oc : oc / mult;
                    o[oc] = nn_dw_out(nn_dw_sum1(v, kh, kw, ic, filter + oc, w_row, out_ch,
                        r.bias[oc]), q->multiplier[oc * q_step], q->shift[oc * q_step], p);
                }
                o += out_ch;
            }
        }
    }
    return NN_OK;
}
