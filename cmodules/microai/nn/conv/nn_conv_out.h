// microai nn: the output tail of the GEMM convolutions (nn_conv_gemm_s8.c and the
// block-sparse nn_conv_gemm_block4_s8.c): a channel's two accumulators (bias included)
// requantized with its nn_conv_chan constants, offset and clamped, exactly as one.
#ifndef MICROAI_NN_CONV_OUT_H
#define MICROAI_NN_CONV_OUT_H

#include "nn_conv_gemm.h"

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

// Channel c's two outputs, requantized, offset, clamped to [lo, hi] (by one SSAT for
// NN_CONV_GEMM_FULL).
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
    if (flags & NN_CONV_GEMM_FULL) { // [lo, hi] is the whole int8 range: one SSAT
        v0 = nn_ssat8(v0);
        v1 = nn_ssat8(v1);
    } else {
        v0 = v0 < lo ? lo : (v0 > hi ? hi : v0);
        v1 = v1 < lo ? lo : (v1 > hi ? hi : v1);
    }
    *o0 = (int8_t)v0;
    *o1 = (int8_t)v1;
}

#endif // MICROAI_NN_CONV_OUT_H
