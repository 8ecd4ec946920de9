// microai nn: the GEMM step the convolutions (nn_conv_pw_s8, nn_conv_im2col_s8) share:
// a column pair (two output pixels, nn_dot.h's layout, input offset already added)
// against every output channel, two channels at a time, requantized as it goes.
#ifndef MICROAI_NN_CONV_GEMM_H
#define MICROAI_NN_CONV_GEMM_H

#include "nn_dot.h"
#include "nn_functions.h"

/// Scratch bytes of one column pair of k taps.
static inline size_t nn_conv_col_bytes(int32_t k) {
    return 2 * (size_t)k * sizeof(int16_t);
}

/// One output: bias added (wrapping like the reference's int32 accumulator),
/// requantized, offset, clamped. full: the activation clamps to [-128, 127] only (a
/// constant at each call site, so that the clamp is one SSAT).
NN_ALWAYS_INLINE int8_t nn_conv_out(int32_t acc, int32_t bias, int32_t mult, int32_t shift,
    int32_t off, int32_t lo, int32_t hi, int full) {
    acc = (int32_t)((uint32_t)acc + (uint32_t)bias);
    const int32_t left = nn_requantize_left(shift), right = left - shift;
    if (full) {
        return nn_requantize_out(acc, mult, left, right, off, -128, 127);
    }
    return nn_requantize_out(acc, mult, left, right, off, lo, hi);
}

/// out0[oc] and out1[oc] for every output channel oc, from the column pair col (k taps)
/// and the weights [out_ch][k]. out1 may equal out0 when col's two columns are the same.
NN_ALWAYS_INLINE void nn_conv_gemm_pair(const nn_conv_params *p, const nn_quant *q,
    const int8_t *filter, const int32_t *bias, int32_t k, int32_t out_ch,
    const int16_t *col, int8_t *out0, int8_t *out1, int full) {
    static const int32_t no_bias = 0;
    const int32_t *bp = bias != NULL ? bias : &no_bias;
    const int32_t bstep = bias != NULL ? 1 : 0;
    const int32_t *mp = q->multiplier, *sp = q->shift;
    const int32_t qstep = q->per_channel ? 1 : 0;
    const int32_t off = p->output_offset, lo = p->act.min, hi = p->act.max;
    const int8_t *w = filter;
    int32_t oc = 0;
    for (; oc + 1 < out_ch; oc += 2, w += 2 * k) {
        int32_t acc[4];
        nn_dot_2x2_s8s16(w, k, col, k, acc);
        const int32_t b0 = bp[0], m0 = mp[0], s0 = sp[0];
        bp += bstep;
        mp += qstep;
        sp += qstep;
        const int32_t b1 = bp[0], m1 = mp[0], s1 = sp[0];
        bp += bstep;
        mp += qstep;
        sp += qstep;
        out0[oc] = nn_conv_out(acc[0], b0, m0, s0, off, lo, hi, full);
        out1[oc] = nn_conv_out(acc[1], b0, m0, s0, off, lo, hi, full);
        out0[oc + 1] = nn_conv_out(acc[2], b1, m1, s1, off, lo, hi, full);
        out1[oc + 1] = nn_conv_out(acc[3], b1, m1, s1, off, lo, hi, full);
    }
    if (oc < out_ch) {
        int32_t acc[4];
        nn_dot_2x2_s8s16(w, 0, col, k, acc);
        out0[oc] = nn_conv_out(acc[0], bp[0], mp[0], sp[0], off, lo, hi, full);
        out1[oc] = nn_conv_out(acc[1], bp[0], mp[0], sp[0], off, lo, hi, full);
    }
}

/// Whether p's activation leaves the whole int8 range.
static inline int nn_conv_act_full(const nn_conv_params *p) {
    return p->act.min <= -128 && p->act.max >= 127;
}

#endif // MICROAI_NN_CONV_GEMM_H
