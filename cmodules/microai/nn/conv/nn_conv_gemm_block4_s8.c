// The block-sparse GEMM step of the convolutions (nn_conv_gemm.h): four output pixels,
// as two column pairs (nn_dot.h's layout), against each weights row's stored blocks
// only (nn_block4), requantized by the dense kernels' output tail (nn_conv_out.h).
//
// A block is four taps of one row: one word of int8 weights and its index b; its taps
// are group b of both column pairs (int16 [8b, 8b + 8) of each). Four columns share the
// block's load and its two SXTB16. The loop, in assembly on Cortex-M (GCC spills it):
//   DSP: 20 instructions a block (16 MACs), against 16 for 16 MACs in the dense 2x2
//        block (nn_conv_gemm_s8.c): it breaks even at 80 % of the blocks stored;
//   M3:  42 a block, against 32 in the dense block: 76 %.
// (cost.INNER_LOOP; measured with `microai hil`, tests/bench/sparsity.py.)
#include "nn_conv_gemm.h"
#include "nn_conv_out.h"

#if NN_DSP_ASM

// acc[0..3] += the blocks [b, end) (weights w) . columns 0..3. Per block: LDRH, LDR,
// ADD, 2 SXTB16, 4 LDRD, 8 SMLAD, ADD, CMP, BNE = 20 instructions for 16 MACs.
NN_ALWAYS_INLINE void nn_block4_dot4(const int8_t *w, const uint16_t *b, const uint16_t *end,
    const int16_t *col, int32_t pair, int32_t *acc) {
    if (b == end) {
        return;
    }
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
    const int32_t pair_bytes = 2 * pair;
    uint32_t wv, wh, x, xa, xb;
    __asm__ (
        "1:\n\t"
        "ldrh   %[x], [%[b]], #2\n\t"
        "ldr    %[wv], [%[w]], #4\n\t"
        "add    %[x], %[col], %[x], lsl #4\n\t"
        "sxtb16 %[wh], %[wv], ror #8\n\t"
        "sxtb16 %[wv], %[wv]\n\t"
        "ldrd   %[xa], %[xb], [%[x]]\n\t"
        "smlad  %[a0], %[wv], %[xa], %[a0]\n\t"
        "smlad  %[a0], %[wh], %[xb], %[a0]\n\t"
        "ldrd   %[xa], %[xb], [%[x], #8]\n\t"
        "smlad  %[a1], %[wv], %[xa], %[a1]\n\t"
        "smlad  %[a1], %[wh], %[xb], %[a1]\n\t"
        "add    %[x], %[x], %[pair]\n\t"
        "ldrd   %[xa], %[xb], [%[x]]\n\t"
        "smlad  %[a2], %[wv], %[xa], %[a2]\n\t"
        "smlad  %[a2], %[wh], %[xb], %[a2]\n\t"
        "ldrd   %[xa], %[xb], [%[x], #8]\n\t"
        "smlad  %[a3], %[wv], %[xa], %[a3]\n\t"
        "smlad  %[a3], %[wh], %[xb], %[a3]\n\t"
        "cmp    %[b], %[end]\n\t"
        "bne    1b\n\t"
        : [a0] "+r" (a0), [a1] "+r" (a1), [a2] "+r" (a2), [a3] "+r" (a3), [w] "+r" (w),
        [b] "+r" (b), [wv] "=&r" (wv), [wh] "=&r" (wh), [x] "=&r" (x), [xa] "=&r" (xa),
        [xb] "=&r" (xb)
        : [end] "r" (end), [col] "r" (col), [pair] "r" (pair_bytes)
        : "cc", "memory");
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
}

#elif defined(__arm__) && defined(__ARM_ARCH_ISA_THUMB) && __ARM_ARCH_ISA_THUMB >= 2 \
    && !NN_DSP

// Cortex-M3: each tap's weight by LDRSB, its four column values by LDRSH at immediate
// offsets (the columns' order 0, 2, 1, 3), MLA. Per block: LDRH, 2 ADD, 4 LDRSB,
// 16 LDRSH, 16 MLA, ADD, CMP, BNE = 42 instructions for 16 MACs.
#define NN_BLOCK4_TAP_R(W, X0, X1) \
    "ldrsb  %[wt], [%[w], #" W "]\n\t" \
    "ldrsh  %[xa], [%[x], #" X0 "]\n\t" \
    "mla    %[a0], %[wt], %[xa], %[a0]\n\t" \
    "ldrsh  %[xa], [%[x], #" X1 "]\n\t" \
    "mla    %[a1], %[wt], %[xa], %[a1]\n\t" \
    "ldrsh  %[xa], [%[y], #" X0 "]\n\t" \
    "mla    %[a2], %[wt], %[xa], %[a2]\n\t" \
    "ldrsh  %[xa], [%[y], #" X1 "]\n\t" \
    "mla    %[a3], %[wt], %[xa], %[a3]\n\t"

NN_ALWAYS_INLINE void nn_block4_dot4(const int8_t *w, const uint16_t *b, const uint16_t *end,
    const int16_t *col, int32_t pair, int32_t *acc) {
    if (b == end) {
        return;
    }
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
    const int32_t pair_bytes = 2 * pair;
    uint32_t wt, x, y, xa;
    __asm__ (
        "1:\n\t"
        "ldrh   %[x], [%[b]], #2\n\t"
        "add    %[x], %[col], %[x], lsl #4\n\t"
        "add    %[y], %[x], %[pair]\n\t"
        NN_BLOCK4_TAP_R("0", "0", "8")
        NN_BLOCK4_TAP_R("1", "4", "12")
        NN_BLOCK4_TAP_R("2", "2", "10")
        NN_BLOCK4_TAP_R("3", "6", "14")
        "add    %[w], %[w], #4\n\t"
        "cmp    %[b], %[end]\n\t"
        "bne    1b\n\t"
        : [a0] "+r" (a0), [a1] "+r" (a1), [a2] "+r" (a2), [a3] "+r" (a3), [w] "+r" (w),
        [b] "+r" (b), [wt] "=&r" (wt), [x] "=&r" (x), [y] "=&r" (y), [xa] "=&r" (xa)
        : [end] "r" (end), [col] "r" (col), [pair] "r" (pair_bytes)
        : "cc", "memory");
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
}

#elif NN_DSP

// acc[0..3] += row block's taps . columns 0..3, for the blocks [b, end).
NN_ALWAYS_INLINE void nn_block4_dot4(const int8_t *w, const uint16_t *b, const uint16_t *end,
    const int16_t *col, int32_t pair, int32_t *acc) {
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
    for (; b != end; b++, w += 4) {
        const uint32_t wv = nn_read_u32(w);
        const uint32_t w02 = nn_sxtb16(wv), w13 = nn_sxtb16_ror8(wv);
        const int16_t *x = col + 8 * (uint32_t)*b, *y = x + pair;
        a0 = nn_smlad(w02, nn_read_u32(x), a0);
        a0 = nn_smlad(w13, nn_read_u32(x + 2), a0);
        a1 = nn_smlad(w02, nn_read_u32(x + 4), a1);
        a1 = nn_smlad(w13, nn_read_u32(x + 6), a1);
        a2 = nn_smlad(w02, nn_read_u32(y), a2);
        a2 = nn_smlad(w13, nn_read_u32(y + 2), a2);
        a3 = nn_smlad(w02, nn_read_u32(y + 4), a3);
        a3 = nn_smlad(w13, nn_read_u32(y + 6), a3);
    }
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
}

#else

// The same, scalar: the column's tap order 0, 2, 1, 3 against the weights' 0, 1, 2, 3.
NN_ALWAYS_INLINE void nn_block4_dot4(const int8_t *w, const uint16_t *b, const uint16_t *end,
    const int16_t *col, int32_t pair, int32_t *acc) {
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
    for (; b != end; b++, w += 4) {
        const int16_t *x = col + 8 * (uint32_t)*b, *y = x + pair;
        const int32_t w0 = w[0], w1 = w[1], w2 = w[2], w3 = w[3];
        a0 = nn_mac(a0, w0, x[0]);
        a1 = nn_mac(a1, w0, x[4]);
        a2 = nn_mac(a2, w0, y[0]);
        a3 = nn_mac(a3, w0, y[4]);
        a0 = nn_mac(a0, w2, x[1]);
        a1 = nn_mac(a1, w2, x[5]);
        a2 = nn_mac(a2, w2, y[1]);
        a3 = nn_mac(a3, w2, y[5]);
        a0 = nn_mac(a0, w1, x[2]);
        a1 = nn_mac(a1, w1, x[6]);
        a2 = nn_mac(a2, w1, y[2]);
        a3 = nn_mac(a3, w1, y[6]);
        a0 = nn_mac(a0, w3, x[3]);
        a1 = nn_mac(a1, w3, x[7]);
        a2 = nn_mac(a2, w3, y[3]);
        a3 = nn_mac(a3, w3, y[7]);
    }
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
}

#endif

NN_ALWAYS_INLINE void nn_conv_gemm_block4(const nn_conv_params *p, const nn_conv_chan *chan,
    const nn_block4 *w, int32_t out_ch, const int16_t *col, int32_t pair,
    int8_t *const out[4], int flags) {
    const int32_t off = p->output_offset, lo = p->act.min, hi = p->act.max;
    const uint32_t *rs = w->row_start;
    int8_t *o0 = out[0], *o1 = out[1], *o2 = out[2], *o3 = out[3];
    for (int32_t oc = 0; oc < out_ch; oc++, chan++) {
        const uint32_t start = rs[oc], end = rs[oc + 1];
        int32_t acc[4] = { chan->bias, chan->bias, chan->bias, chan->bias };
        nn_block4_dot4(w->data + 4 * start, w->block + start, w->block + end, col, pair, acc);
        nn_conv_out2(acc[0], acc[1], chan, off, lo, hi, flags, &o0[oc], &o1[oc]);
        nn_conv_out2(acc[2], acc[3], chan, off, lo, hi, flags, &o2[oc], &o3[oc]);
    }
}

void nn_conv_gemm_block4_s8(const nn_conv_params *p, const nn_conv_chan *chan,
    const nn_block4 *w, int32_t out_ch, const int16_t *col, int32_t pair,
    int8_t *const out[4], int flags) {
    if (flags & NN_CONV_GEMM_HI) {
        nn_conv_gemm_block4(p, chan, w, out_ch, col, pair, out, NN_CONV_GEMM_HI);
    } else {
        nn_conv_gemm_block4(p, chan, w, out_ch, col, pair, out, 0);
    }
}
