// The block-sparse GEMM step of the convolutions (nn_conv_gemm.h): four output pixels,
// as two column pairs (nn_dot.h's layout), against each weights row's stored blocks
// only (nn_block4), requantized by the dense kernels' output tail (nn_conv_out.h).
//
// A block is four taps of one row: one word of int8 weights and its index b; its taps
// are group b of both column pairs (int16 [8b, 8b + 8) of each). Four columns share the
// block's load and its two SXTB16. The loop, in assembly on Cortex-M (GCC spills it):
//   DSP: 20 instructions a block (16 MACs), against 16 for 16 MACs in the dense 2x2
//        block (nn_conv_gemm_s8.c): it breaks even at 80 % of the blocks stored;
//   M3:  41 a block, against 32 in the dense block: 78 %.
// (cost.INNER_LOOP; measured with `microai hil`, tests/bench/sparsity.py.)
#include <stddef.h>

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
// 16 LDRSH, 16 MLA, ADD, CMP, BNE = 42 instructions for 16 MACs (41 in
// nn_block4_hi_full(), whose last LDRSB steps w).
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

#if defined(__arm__) && defined(__ARM_ARCH_ISA_THUMB) && __ARM_ARCH_ISA_THUMB >= 2 \
    && !MICROAI_DSP_EMULATE
#define NN_BLOCK4_ASM (1)
#else
#define NN_BLOCK4_ASM (0)
#endif

#if NN_BLOCK4_ASM

// The common case (every shift <= -1, the whole int8 range), as nn_conv_gemm_s8.c's
// assembly: the rows' loop, each row's blocks and its four outputs (nn_conv_rq2_hi()
// + SSAT) in one function, no register spilled in between (the inline loop above
// leaves GCC none for the rows' state). The rows' blocks follow each other, so w and
// b run on from row to row; only each row's end is loaded.
typedef struct {
    const int8_t *w;          // 0: the first row's blocks' weights
    const uint16_t *b;        // 4: their indices
    const uint32_t *rs;       // 8: &row_start[the first row + 1]
    const uint16_t *block;    // 12: block[0]
    const int16_t *col;       // 16: the first column pair
    int32_t pair;             // 20: bytes from the first pair to the second
    const nn_conv_chan *chan; // 24: the row's constants
    int8_t *out;              // 28: pixel 0's output of the row
    int32_t s1;               // 32: pixel 1's output - pixel 0's
    int32_t s2;               // 36: pixel 2's
    int32_t s3;               // 40: pixel 3's
    int32_t rows;             // 44: >= 1
    int32_t off;              // 48: the output offset
} nn_block4_job;

typedef char nn_block4_job_layout_ok[(offsetof(nn_block4_job, off) == 48
    && sizeof(nn_conv_chan) == 24) ? 1 : -1];

#if NN_DSP_ASM
// One block: w r0, b r1, col r2, pair lr; accumulators r4-r7; r8-r12 temporaries.
#define NN_BLOCK4_R \
    "ldrh   r10, [r1], #2\n\t" \
    "ldr    r8, [r0], #4\n\t" \
    "add    r10, r2, r10, lsl #4\n\t" \
    "sxtb16 r9, r8, ror #8\n\t" \
    "sxtb16 r8, r8\n\t" \
    "ldrd   r11, r12, [r10]\n\t" \
    "smlad  r4, r8, r11, r4\n\t" \
    "smlad  r4, r9, r12, r4\n\t" \
    "ldrd   r11, r12, [r10, #8]\n\t" \
    "smlad  r5, r8, r11, r5\n\t" \
    "smlad  r5, r9, r12, r5\n\t" \
    "add    r10, r10, lr\n\t" \
    "ldrd   r11, r12, [r10]\n\t" \
    "smlad  r6, r8, r11, r6\n\t" \
    "smlad  r6, r9, r12, r6\n\t" \
    "ldrd   r11, r12, [r10, #8]\n\t" \
    "smlad  r7, r8, r11, r7\n\t" \
    "smlad  r7, r9, r12, r7\n\t"
#else
// Cortex-M3: weight by LDRSB, the four columns' taps by LDRSH at immediate offsets
// (order 0, 2, 1, 3), MLA; tap 0 last, its load stepping w.
#define NN_BLOCK4_JOB_TAP_R(W, X0, X1) \
    "ldrsb  r8, " W "\n\t" \
    "ldrsh  r9, [r10, #" X0 "]\n\t" \
    "mla    r4, r8, r9, r4\n\t" \
    "ldrsh  r9, [r10, #" X1 "]\n\t" \
    "mla    r5, r8, r9, r5\n\t" \
    "ldrsh  r9, [r11, #" X0 "]\n\t" \
    "mla    r6, r8, r9, r6\n\t" \
    "ldrsh  r9, [r11, #" X1 "]\n\t" \
    "mla    r7, r8, r9, r7\n\t"
#define NN_BLOCK4_R \
    "ldrh   r10, [r1], #2\n\t" \
    "add    r10, r2, r10, lsl #4\n\t" \
    "add    r11, r10, lr\n\t" \
    NN_BLOCK4_JOB_TAP_R("[r0, #1]", "4", "12") \
    NN_BLOCK4_JOB_TAP_R("[r0, #2]", "2", "10") \
    NN_BLOCK4_JOB_TAP_R("[r0, #3]", "6", "14") \
    NN_BLOCK4_JOB_TAP_R("[r0], #4", "0", "8")
#endif

// One output (accumulator acc, replaced by the int8 result) of the channel at r8:
// mult r10, hi_shift r11, off r9; r2, r3, lr temporaries (nn_requantize_hi()).
#define NN_BLOCK4_OUT_R(acc) \
    "ldrd   r2, r3, [r8, #8]\n\t" \
    "asr    lr, " acc ", #31\n\t" \
    "adds   r2, r2, lr, lsl #31\n\t" \
    "adc    r3, r3, lr\n\t" \
    "smlal  r2, r3, " acc ", r10\n\t" \
    "asr    r3, r3, r11\n\t" \
    "add    r3, r3, r9\n\t" \
    "ssat   " acc ", #8, r3\n\t"

__attribute__((naked, noinline)) static void nn_block4_hi_full(nn_block4_job *job) {
    __asm__ (
        "push   {r0, r4-r11, lr}\n\t"
        "ldr    r1, [r0, #4]\n\t"               // b
        "ldr    r0, [r0, #0]\n\t"               // w
        "1:\n\t"                                // each row
        "ldr    r12, [sp]\n\t"                  // job
        "ldr    r3, [r12, #8]\n\t"              // rs
        "ldr    r8, [r3], #4\n\t"               // row_start[r + 1]
        "str    r3, [r12, #8]\n\t"
        "ldr    r3, [r12, #12]\n\t"
        "add    r3, r3, r8, lsl #1\n\t"         // the row's end in block[]
        "ldr    r8, [r12, #24]\n\t"             // chan
        "ldr    r2, [r12, #16]\n\t"             // col
        "ldr    lr, [r12, #20]\n\t"             // pair
        "ldr    r4, [r8, #0]\n\t"               // the accumulators: the bias
        "mov    r5, r4\n\t"
        "mov    r6, r4\n\t"
        "mov    r7, r4\n\t"
        "cmp    r1, r3\n\t"
        "beq    3f\n\t"
        "2:\n\t"
        NN_BLOCK4_R
        "cmp    r1, r3\n\t"
        "bne    2b\n\t"
        "3:\n\t"                                // r0, r1 live; r2, r3, r8-r12, lr free
        "ldr    r12, [sp]\n\t"
        "ldr    r8, [r12, #24]\n\t"             // chan
        "ldr    r9, [r12, #48]\n\t"             // off
        "ldr    r10, [r8, #4]\n\t"              // mult
        "ldr    r11, [r8, #16]\n\t"             // hi_shift
        NN_BLOCK4_OUT_R("r4")
        NN_BLOCK4_OUT_R("r5")
        NN_BLOCK4_OUT_R("r6")
        NN_BLOCK4_OUT_R("r7")
        "add    r8, r8, #24\n\t"
        "str    r8, [r12, #24]\n\t"
        "ldr    r2, [r12, #28]\n\t"             // out
        "ldr    r3, [r12, #32]\n\t"
        "strb   r5, [r2, r3]\n\t"
        "ldr    r3, [r12, #36]\n\t"
        "strb   r6, [r2, r3]\n\t"
        "ldr    r3, [r12, #40]\n\t"
        "strb   r7, [r2, r3]\n\t"
        "strb   r4, [r2], #1\n\t"
        "str    r2, [r12, #28]\n\t"
        "ldr    r2, [r12, #44]\n\t"
        "subs   r2, r2, #1\n\t"
        "str    r2, [r12, #44]\n\t"
        "bne    1b\n\t"
        "pop    {r0, r4-r11, pc}\n\t"
        );
}

#endif

void nn_conv_gemm_block4_s8(const nn_conv_params *p, const nn_conv_chan *chan,
    const nn_block4 *w, int32_t out_ch, const int16_t *col, int32_t pair,
    int8_t *const out[4], int flags) {
    #if NN_BLOCK4_ASM
    if (flags == (NN_CONV_GEMM_FULL | NN_CONV_GEMM_HI) && out_ch >= 1) {
        nn_block4_job job = { w->data, w->block, w->row_start + 1, w->block, col,
                              (int32_t)(2 * pair), chan, out[0], (int32_t)(out[1] - out[0]),
                              (int32_t)(out[2] - out[0]), (int32_t)(out[3] - out[0]), out_ch,
                              p->output_offset };
        nn_block4_hi_full(&job);
        return;
    }
    #endif
    if (flags & NN_CONV_GEMM_HI) {
        nn_conv_gemm_block4(p, chan, w, out_ch, col, pair, out, NN_CONV_GEMM_HI);
    } else {
        nn_conv_gemm_block4(p, chan, w, out_ch, col, pair, out, 0);
    }
}
