// The GEMM step of the convolutions (nn_conv_gemm.h): a column pair against every
// output channel, two channels per pass (nn_dot.h's 2x2 block), each block's four
// accumulators requantized and stored at once.
//
// The output tail is compiled four times, for the two activations (the whole int8
// range: one SSAT; else a clamp) and the two requantizations (every shift <= -1: one
// SMLAL and a shift, nn_requantize_hi(); else the general nn_requantize()).
#include "nn_conv_gemm.h"

int nn_conv_gemm_init_s8(const nn_conv_params *p, const nn_quant *q, const int32_t *bias,
    int32_t out_ch, nn_conv_chan *chan) {
    int flags = NN_CONV_GEMM_HI;
    if (p->act.min <= -128 && p->act.max >= 127) {
        flags |= NN_CONV_GEMM_FULL;
    }
    for (int32_t oc = 0; oc < out_ch; oc++) {
        const int32_t i = q->per_channel ? oc : 0;
        const int32_t shift = q->shift[i];
        nn_conv_chan *c = &chan[oc];
        c->bias = bias != NULL ? bias[oc] : 0;
        c->mult = q->multiplier[i];
        c->left = nn_requantize_left(shift);
        c->hi_shift = c->left - shift - 1;
        if (shift <= -1) {
            const uint64_t k = nn_requantize_k(-shift);
            c->k_lo = (uint32_t)k;
            c->k_hi = (int32_t)(k >> 32);
        } else {
            c->k_lo = 0;
            c->k_hi = 0;
            flags &= ~NN_CONV_GEMM_HI;
        }
    }
    return flags;
}

// One output of channel c: bias added (wrapping like the reference's int32
// accumulator), requantized, offset, clamped.
NN_ALWAYS_INLINE int8_t nn_conv_out(int32_t acc, const nn_conv_chan *c, int32_t off,
    int32_t lo, int32_t hi, int flags) {
    const int32_t a = (int32_t)((uint32_t)acc + (uint32_t)c->bias);
    int32_t v;
    if (flags & NN_CONV_GEMM_HI) {
        v = nn_requantize_hi(a, c->mult, c->k_lo, c->k_hi, c->hi_shift);
    } else {
        v = nn_requantize_lr(a, c->mult, c->left, c->hi_shift + 1);
    }
    v = (int32_t)((uint32_t)v + (uint32_t)off);
    if (flags & NN_CONV_GEMM_FULL) {
        return (int8_t)nn_sat_s8(v);
    }
    v = v < lo ? lo : v;
    return (int8_t)(v > hi ? hi : v);
}

NN_ALWAYS_INLINE void nn_conv_gemm_pair(const nn_conv_params *p, const nn_conv_chan *chan,
    const int8_t *filter, int32_t k, int32_t out_ch, const int16_t *col, int8_t *out0,
    int8_t *out1, int flags) {
    const int32_t off = p->output_offset, lo = p->act.min, hi = p->act.max;
    const int8_t *w = filter;
    int32_t oc = 0;
    for (; oc + 1 < out_ch; oc += 2, w += 2 * k, chan += 2) {
        int32_t acc[4];
        nn_dot_2x2_s8s16(w, k, col, k, acc);
        out0[oc] = nn_conv_out(acc[0], &chan[0], off, lo, hi, flags);
        out1[oc] = nn_conv_out(acc[1], &chan[0], off, lo, hi, flags);
        out0[oc + 1] = nn_conv_out(acc[2], &chan[1], off, lo, hi, flags);
        out1[oc + 1] = nn_conv_out(acc[3], &chan[1], off, lo, hi, flags);
    }
    if (oc < out_ch) {
        int32_t acc[4];
        nn_dot_2x2_s8s16(w, 0, col, k, acc);
        out0[oc] = nn_conv_out(acc[0], &chan[0], off, lo, hi, flags);
        out1[oc] = nn_conv_out(acc[1], &chan[0], off, lo, hi, flags);
    }
}

void nn_conv_gemm_pair_s8(const nn_conv_params *p, const nn_conv_chan *chan,
    const int8_t *filter, int32_t k, int32_t out_ch, const int16_t *col, int8_t *out0,
    int8_t *out1, int flags) {
    switch (flags) {
        case NN_CONV_GEMM_FULL | NN_CONV_GEMM_HI:
            nn_conv_gemm_pair(p, chan, filter, k, out_ch, col, out0, out1,
                NN_CONV_GEMM_FULL | NN_CONV_GEMM_HI);
            break;
        case NN_CONV_GEMM_HI:
            nn_conv_gemm_pair(p, chan, filter, k, out_ch, col, out0, out1, NN_CONV_GEMM_HI);
            break;
        case NN_CONV_GEMM_FULL:
            nn_conv_gemm_pair(p, chan, filter, k, out_ch, col, out0, out1, NN_CONV_GEMM_FULL);
            break;
        default:
            nn_conv_gemm_pair(p, chan, filter, k, out_ch, col, out0, out1, 0);
            break;
    }
}
