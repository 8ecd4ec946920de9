// DEPTHWISE_CONV_2D fast path: 3x3 filter, depth multiplier 1, dilation 1, any stride
// and padding. Every pixel takes one unrolled 9-tap loop: the filter rows are read from
// padded input rows (nn_dw_rows.h), the input offset is folded into the bias, and four
// channels go together (32-bit loads; SXTB16 + SMLABB/SMLATT on a DSP core), with
// their requantization right behind the sums. A channel count that is not a multiple
// of 4 ends with single channels.
#include "nn_dsp.h"
#include "nn_dw_rows.h"

#if NN_HAS_DSP
// Channels c..c+3 of one tap (x, w at channel c) onto acc[0..3]: two 32-bit loads,
// SXTB16 into channels (0, 2) and (1, 3), SMLABB/SMLATT.
static inline void nn_dw_tap4_s8(const int8_t *x, const int8_t *w, int32_t *acc) {
    const uint32_t xv = nn_read_s8x4(x), wv = nn_read_s8x4(w);
    const uint32_t x02 = nn_sxtb16(xv), x13 = nn_sxtb16_ror8(xv);
    const uint32_t w02 = nn_sxtb16(wv), w13 = nn_sxtb16_ror8(wv);
    acc[0] = nn_smlabb(x02, w02, acc[0]);
    acc[1] = nn_smlabb(x13, w13, acc[1]);
    acc[2] = nn_smlatt(x02, w02, acc[2]);
    acc[3] = nn_smlatt(x13, w13, acc[3]);
}
#else
static inline void nn_dw_tap4_s8(const int8_t *x, const int8_t *w, int32_t *acc) {
    acc[0] = (int32_t)((uint32_t)acc[0] + (uint32_t)(x[0] * w[0]));
    acc[1] = (int32_t)((uint32_t)acc[1] + (uint32_t)(x[1] * w[1]));
    acc[2] = (int32_t)((uint32_t)acc[2] + (uint32_t)(x[2] * w[2]));
    acc[3] = (int32_t)((uint32_t)acc[3] + (uint32_t)(x[3] * w[3]));
}
#endif

// Channels c..c+3 of the 3x3 window: x0..x2 at (row ky, column 0, channel c), taps `ch`
// apart; w at tap (0, 0), channel c; acc[] holds the folded bias on entry. Unrolled.
static inline void nn_dw_3x3_dot4_s8(const int8_t *x0, const int8_t *x1, const int8_t *x2,
    int32_t ch, const int8_t *w, int32_t *acc) {
    nn_dw_tap4_s8(x0, w, acc);
    nn_dw_tap4_s8(x0 + ch, w + ch, acc);
    nn_dw_tap4_s8(x0 + 2 * ch, w + 2 * ch, acc);
    nn_dw_tap4_s8(x1, w + 3 * ch, acc);
    nn_dw_tap4_s8(x1 + ch, w + 4 * ch, acc);
    nn_dw_tap4_s8(x1 + 2 * ch, w + 5 * ch, acc);
    nn_dw_tap4_s8(x2, w + 6 * ch, acc);
    nn_dw_tap4_s8(x2 + ch, w + 7 * ch, acc);
    nn_dw_tap4_s8(x2 + 2 * ch, w + 8 * ch, acc);
}

// One channel of the window, for the channels left over after the groups of four.
static inline int32_t nn_dw_3x3_dot1_s8(const int8_t *x0, const int8_t *x1, const int8_t *x2,
    int32_t ch, const int8_t *w, int32_t acc) {
    int32_t s = x0[0] * w[0] + x0[ch] * w[ch] + x0[2 * ch] * w[2 * ch];
    s += x1[0] * w[3 * ch] + x1[ch] * w[4 * ch] + x1[2 * ch] * w[5 * ch];
    s += x2[0] * w[6 * ch] + x2[ch] * w[7 * ch] + x2[2 * ch] * w[8 * ch];
    return (int32_t)((uint32_t)acc + (uint32_t)s);
}

static inline int8_t nn_dw_3x3_out(int32_t acc, int32_t mult, int32_t shift,
    const nn_conv_params *p) {
    int32_t v = nn_add_wrap(nn_requantize(acc, mult, shift), p->output_offset);
    v = v < p->act.min ? p->act.min : v;
    v = v > p->act.max ? p->act.max : v;
    return (int8_t)v;
}

size_t nn_dw_conv_3x3_s8_scratch_size(const nn_conv_params *p, const nn_dims *in_dims,
    const nn_dims *f_dims, const nn_dims *out_dims) {
    return nn_dw_rows_scratch_size(p, in_dims, f_dims, out_dims);
}

nn_status nn_dw_conv_3x3_s8(const nn_conv_params *p, const nn_quant *q,
    const nn_dims *in_dims, const int8_t *in,
    const nn_dims *f_dims, const int8_t *filter, const int32_t *bias,
    const nn_dims *out_dims, int8_t *out, void *scratch, size_t scratch_size) {
    const int32_t ch = in_dims->c;
    if (f_dims->h != 3 || f_dims->w != 3 || f_dims->n != 1 || f_dims->c != ch
        || out_dims->c != ch || p->depth_multiplier != 1 || p->dilation_h != 1
        || p->dilation_w != 1 || in_dims->n != out_dims->n || p->stride_h < 1
        || p->stride_w < 1 || p->pad_h < 0 || p->pad_w < 0 || p->input_offset < -127
        || p->input_offset > 128) {
        return NN_ERR_ARG;
    }
    nn_dw_rows r;
    nn_status st = nn_dw_rows_init(&r, p, in_dims, f_dims, filter, bias, out_dims, scratch,
        scratch_size);
    if (st != NN_OK) {
        return st;
    }
    const int32_t in_h = in_dims->h;
    const size_t in_batch = (size_t)in_h * in_dims->w * ch;
    const int32_t x_step = p->stride_w * ch; // padded-row bytes between outputs
    const int32_t q_step = q->per_channel ? 1 : 0;
    int8_t *o = out;
    for (int32_t b = 0; b < out_dims->n; b++) {
        const int8_t *in_b = in + (size_t)b * in_batch;
        for (int32_t oy = 0; oy < out_dims->h; oy++) {
            // Input rows iy0..iy0+2 live in slots (iy mod 3): a row stays for the next
            // output row at stride 1.
            const int32_t iy0 = oy * p->stride_h - p->pad_h;
            const int32_t s0 = ((iy0 % 3) + 3) % 3;
            const int8_t *x0 = nn_dw_row(&r, s0, in_b, iy0, b * in_h, in_dims);
            const int8_t *x1 = nn_dw_row(&r, (s0 + 1) % 3, in_b, iy0 + 1, b * in_h, in_dims);
            const int8_t *x2 = nn_dw_row(&r, (s0 + 2) % 3, in_b, iy0 + 2, b * in_h, in_dims);
            for (int32_t ox = 0; ox < out_dims->w; ox++) {
                int32_t c = 0;
                for (; c + 4 <= ch; c += 4) {
                    int32_t acc[4] = {r.bias[c], r.bias[c + 1], r.bias[c + 2], r.bias[c + 3]};
                    nn_dw_3x3_dot4_s8(x0 + c, x1 + c, x2 + c, ch, filter + c, acc);
                    const int32_t *m = q->multiplier + c * q_step, *s = q->shift + c * q_step;
                    o[c] = nn_dw_3x3_out(acc[0], m[0], s[0], p);
                    o[c + 1] = nn_dw_3x3_out(acc[1], m[q_step], s[q_step], p);
                    o[c + 2] = nn_dw_3x3_out(acc[2], m[2 * q_step], s[2 * q_step], p);
                    o[c + 3] = nn_dw_3x3_out(acc[3], m[3 * q_step], s[3 * q_step], p);
                }
                for (; c < ch; c++) {
                    int32_t acc = nn_dw_3x3_dot1_s8(x0 + c, x1 + c, x2 + c, ch, filter + c,
                        r.bias[c]);
                    o[c] = nn_dw_3x3_out(acc, q->multiplier[c * q_step], q->shift[c * q_step],
                        p);
                }
                x0 += x_step;
                x1 += x_step;
                x2 += x_step;
                o += ch;
            }
        }
    }
    return NN_OK;
}
