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

// Channel c's two outputs from their accumulators (bias included), requantized by
// nn_requantize_hi() (every shift <= -1) and offset, not yet clamped. Thumb-2 has it
// written out (8 instructions an output, the constants loaded once a channel), as
// GCC otherwise spills and reloads the constants around every int8 store.
NN_ALWAYS_INLINE void nn_conv_rq2_hi(int32_t a0, int32_t a1, const nn_conv_chan *c,
    int32_t off, int32_t *v0, int32_t *v1) {
    #if defined(__arm__) && defined(__ARM_ARCH_ISA_THUMB) && __ARM_ARCH_ISA_THUMB >= 2
    int32_t r0, r1, m, sh, s;
    uint32_t lo;
    __asm__ (
        "ldr    %[m], [%[c], #4]\n\t"
        "ldr    %[sh], [%[c], #16]\n\t"
        "ldrd   %[lo], %[r0], [%[c], #8]\n\t"
        "asr    %[s], %[a0], #31\n\t"
        "adds   %[lo], %[lo], %[s], lsl #31\n\t"
        "adc    %[r0], %[r0], %[s]\n\t"
        "smlal  %[lo], %[r0], %[a0], %[m]\n\t"
        "asr    %[r0], %[r0], %[sh]\n\t"
        "add    %[r0], %[r0], %[off]\n\t"
        "ldrd   %[lo], %[r1], [%[c], #8]\n\t"
        "asr    %[s], %[a1], #31\n\t"
        "adds   %[lo], %[lo], %[s], lsl #31\n\t"
        "adc    %[r1], %[r1], %[s]\n\t"
        "smlal  %[lo], %[r1], %[a1], %[m]\n\t"
        "asr    %[r1], %[r1], %[sh]\n\t"
        "add    %[r1], %[r1], %[off]"
        : [r0] "=&r" (r0), [r1] "=&r" (r1), [m] "=&r" (m), [sh] "=&r" (sh), [s] "=&r" (s),
        [lo] "=&r" (lo)
        : [a0] "r" (a0), [a1] "r" (a1), [off] "r" (off), [c] "r" (c), "m" (*c)
        : "cc");
    *v0 = r0;
    *v1 = r1;
    #else
    *v0 = (int32_t)((uint32_t)nn_requantize_hi(a0, c->mult, c->k_lo, c->k_hi, c->hi_shift)
        + (uint32_t)off);
    *v1 = (int32_t)((uint32_t)nn_requantize_hi(a1, c->mult, c->k_lo, c->k_hi, c->hi_shift)
        + (uint32_t)off);
    #endif
}

// Channel c's two outputs, requantized, offset, clamped.
NN_ALWAYS_INLINE void nn_conv_out2(int32_t a0, int32_t a1, const nn_conv_chan *c,
    int32_t off, int32_t lo, int32_t hi, int flags, int8_t *o0, int8_t *o1) {
    int32_t v0, v1;
    if (flags & NN_CONV_GEMM_HI) {
        nn_conv_rq2_hi(a0, a1, c, off, &v0, &v1);
    } else {
        const int32_t right = c->hi_shift + 1;
        v0 = (int32_t)((uint32_t)nn_requantize_lr(a0, c->mult, c->left, right) + (uint32_t)off);
        v1 = (int32_t)((uint32_t)nn_requantize_lr(a1, c->mult, c->left, right) + (uint32_t)off);
    }
    if (flags & NN_CONV_GEMM_FULL) {
        v0 = nn_sat_s8(v0);
        v1 = nn_sat_s8(v1);
    } else {
        v0 = v0 < lo ? lo : (v0 > hi ? hi : v0);
        v1 = v1 < lo ? lo : (v1 > hi ? hi : v1);
    }
    *o0 = (int8_t)v0;
    *o1 = (int8_t)v1;
}

NN_ALWAYS_INLINE void nn_conv_gemm_pair(const nn_conv_params *p, const nn_conv_chan *chan,
    const int8_t *filter, int32_t k, int32_t out_ch, const int16_t *col, int8_t *out0,
    int8_t *out1, int flags) {
    const int32_t off = p->output_offset, lo = p->act.min, hi = p->act.max;
    const int8_t *w = filter;
    int32_t oc = 0;
    for (; oc + 1 < out_ch; oc += 2, w += 2 * k, chan += 2) {
        // The accumulators start at the bias.
        int32_t acc[4] = { chan[0].bias, chan[0].bias, chan[1].bias, chan[1].bias };
        nn_dot_2x2_s8s16(w, k, col, k, acc);
        nn_conv_out2(acc[0], acc[1], &chan[0], off, lo, hi, flags, &out0[oc], &out1[oc]);
        nn_conv_out2(acc[2], acc[3], &chan[1], off, lo, hi, flags, &out0[oc + 1],
            &out1[oc + 1]);
    }
    if (oc < out_ch) {
        int32_t acc[4] = { chan[0].bias, chan[0].bias, chan[0].bias, chan[0].bias };
        nn_dot_2x2_s8s16(w, 0, col, k, acc);
        nn_conv_out2(acc[0], acc[1], &chan[0], off, lo, hi, flags, &out0[oc], &out1[oc]);
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
