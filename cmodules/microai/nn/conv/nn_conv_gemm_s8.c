// The GEMM step of the convolutions (nn_conv_gemm.h): a column pair against every
// output channel, two channels per pass (nn_dot.h's 2x2 block), each block's four
// accumulators requantized and stored at once. The weights are int8 rows, rows the
// host widened to int16 (nn_conv_w16_prepare(), below) or int4 rows
// (nn_s4_rows_prepare(), below).
//
// Two requantizations: every shift <= -1: one SMLAL and a shift (nn_requantize_hi());
// else the general nn_requantize(). The common case (every shift <= -1, the whole int8
// range) runs in assembly on Cortex-M, the rest in C.
#include <string.h>

#include "nn_conv_gemm.h"
#include "nn_conv_out.h"

size_t nn_conv_w16_bytes(int32_t rows, int32_t k) {
    return (size_t)rows * (size_t)((k + 3) & ~3) * sizeof(int16_t);
}

void nn_conv_w16_prepare(const int8_t *w, int32_t rows, int32_t k, int16_t *dst) {
    const int32_t k4 = (k + 3) & ~3;
    for (int32_t r = 0; r < rows; r++, w += k, dst += k4) {
        for (int32_t p = 0; p < k4; p++) {
            dst[nn_col_index(0, p) - (p & ~3)] = p < k ? w[p] : 0; // nn_dot.h's order
        }
    }
}

size_t nn_s4_rows_bytes(int32_t rows, int32_t k) {
    return (size_t)rows * (size_t)((k + 7) / 8) * 4;
}

void nn_s4_rows_prepare(const uint8_t *packed, int32_t rows, int32_t k, uint8_t *dst) {
    const int32_t groups = (k + 7) / 8;
    for (int32_t r = 0; r < rows; r++, dst += 4 * groups) {
        memset(dst, 0, (size_t)groups * 4);
        for (int32_t p = 0; p < k; p++) {
            const uint32_t e = (uint32_t)r * (uint32_t)k + (uint32_t)p; // TFLite's element
            const uint32_t v = (packed[e >> 1] >> (4 * (e & 1))) & 0xf;
            dst[4 * (p >> 3) + (p & 3)] |= (uint8_t)(v << (4 * ((p >> 2) & 1)));
        }
    }
}

int nn_conv_gemm_init_s8(const nn_conv_params *p, const nn_quant *q, const void *filter,
    const int32_t *bias, int32_t k, int32_t out_ch, int form, void *scratch) {
    nn_conv_chan *chan = scratch;
    int16_t *col = nn_conv_gemm_col(scratch, out_ch);
    const int w16 = form != 0;
    // The taps past k in the last group (of 8 for int4 rows) stay 0.
    memset(col, 0, nn_col_bytes(form == NN_CONV_GEMM_S4 ? (k + 7) & ~7 : k));
    if (!w16 && k % 4 != 0) {
        int8_t *last = (int8_t *)col + nn_col_bytes(k);
        memcpy(last, (const int8_t *)filter + (size_t)(out_ch - 1) * k, (size_t)k);
        memset(last + k, 0, (size_t)(((k + 3) & ~3) - k));
    }
    int flags = NN_CONV_GEMM_HI | form;
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

NN_ALWAYS_INLINE void nn_conv_gemm_pair(const nn_conv_params *p, const nn_conv_chan *chan,
    const void *filter, int32_t k, int32_t out_ch, const int16_t *col, int8_t *out0,
    int8_t *out1, int flags) {
    const int32_t off = p->output_offset, lo = p->act.min, hi = p->act.max;
    const int32_t k4 = (k + 3) & ~3, k8 = (k + 7) & ~7;
    const int8_t *w = filter;
    const int16_t *w16 = filter;
    const uint8_t *w4 = filter;
    int32_t oc = 0;
    for (; oc + 1 < out_ch; oc += 2, w += 2 * k, w16 += 2 * k4, w4 += k8, chan += 2) {
        // The accumulators start at the bias.
        int32_t acc[4] = { chan[0].bias, chan[0].bias, chan[1].bias, chan[1].bias };
        if (flags & NN_CONV_GEMM_S4) {
            nn_dot_2x2_s4s16(w4, k8 / 2, col, k8, acc);
        } else if (flags & NN_CONV_GEMM_W16) {
            nn_dot_2x2_s16s16(w16, k4, col, k4, acc);
        } else {
            nn_dot_2x2_s8s16(w, k, col, k, acc);
        }
        nn_conv_out2(acc[0], acc[1], &chan[0], off, lo, hi, flags, &out0[oc], &out1[oc]);
        nn_conv_out2(acc[2], acc[3], &chan[1], off, lo, hi, flags, &out0[oc + 1],
            &out1[oc + 1]);
    }
    if (oc < out_ch) {
        int32_t acc[4] = { chan[0].bias, chan[0].bias, chan[0].bias, chan[0].bias };
        if (flags & NN_CONV_GEMM_S4) {
            nn_dot_2x2_s4s16(w4, 0, col, k8, acc);
        } else if (flags & NN_CONV_GEMM_W16) {
            nn_dot_2x2_s16s16(w16, 0, col, k4, acc);
        } else {
            nn_dot_2x2_s8s16(w, 0, col, k, acc);
        }
        nn_conv_out2(acc[0], acc[1], &chan[0], off, lo, hi, flags, &out0[oc], &out1[oc]);
    }
}

#if NN_GEMM_ASM

// The common case (every shift <= -1, the whole int8 range) in one
// assembly loop over the channel pairs, the 2x2 block (nn_dot.h's NN_DOT_2X2_GROUP on
// the DSP, LDRSB/LDRSH/MLA on the Cortex-M3) and its tail (nn_conv_rq2_hi() + SSAT)
// without a register spilled in between: the state that does not fit lives in this
// job, updated in place.
#if NN_DSP_ASM
// NN_DOT_2X2_GROUP with fixed registers: w r0, d r1, x r2, a00 r4, a01 r5, a10 r6,
// a11 r7, temporaries r8-r12, lr.
#define NN_GEMM_ROW1 "\n\t" // r1 stays d
#define NN_DOT_2X2_GROUP_R \
    "ldr    r9, [r0, r1]\n\t" \
    "ldr    r8, [r0], #4\n\t" \
    "ldrd   r12, lr, [r2], #8\n\t" \
    "sxtb16 r10, r8, ror #8\n\t" \
    "sxtb16 r8, r8\n\t" \
    "sxtb16 r11, r9, ror #8\n\t" \
    "sxtb16 r9, r9\n\t" \
    NN_DOT_2X2_SMLAD_R
#else
// Cortex-M3: the same 4 taps by LDRSB, LDRSH and MLA, 16 loads and 16 MACs (the column's
// tap order 0, 2, 1, 3 costs nothing: immediate offsets). w r0, row 1 r1, x r2,
// a00 r4, a01 r5, a10 r6, a11 r7, temporaries r8, r9, r12, lr.
#define NN_GEMM_ROW1 "add    r1, r0, r1\n\t" // r1 = row 1
#define NN_DOT_2X2_TAP_R(W, X0, X1) \
    "ldrsb  r8, [r0, #" W "]\n\t" \
    "ldrsb  r9, [r1, #" W "]\n\t" \
    "ldrsh  r12, [r2, #" X0 "]\n\t" \
    "ldrsh  lr, [r2, #" X1 "]\n\t" \
    NN_DOT_2X2_MLA_R
#define NN_DOT_2X2_GROUP_R \
    NN_DOT_2X2_TAP_R("1", "4", "12") \
    NN_DOT_2X2_TAP_R("2", "2", "10") \
    NN_DOT_2X2_TAP_R("3", "6", "14") \
    "ldrsb  r8, [r0], #4\n\t" \
    "ldrsb  r9, [r1], #4\n\t" \
    "ldrsh  lr, [r2, #8]\n\t" \
    "ldrsh  r12, [r2], #16\n\t" \
    NN_DOT_2X2_MLA_R
#endif


// One output (accumulator acc, replaced by the int8 result) of the channel whose k_lo
// is at [r8, #K]: mult r10, hi_shift r11, off r9; r1-r3 temporaries
// (nn_requantize_hi()).
#define NN_GEMM_OUT_R(acc, K) \
    "ldrd   r2, r3, [r8, #" K "]\n\t" \
    "asr    r1, " acc ", #31\n\t" \
    "adds   r2, r2, r1, lsl #31\n\t" \
    "adc    r3, r3, r1\n\t" \
    "smlal  r2, r3, " acc ", r10\n\t" \
    "asr    r3, r3, r11\n\t" \
    "add    r3, r3, r9\n\t" \
    "ssat   " acc ", #8, r3\n\t"

typedef struct {
    const void *w;            // 0: first row of the first pair
    int32_t d;                // 4: bytes from row 0 to row 1
    const int16_t *col;       // 8: the column pair
    const nn_conv_chan *chan; // 12: the first pair's constants
    int8_t *out;              // 16: out0 of the first pair
    int32_t stride;           // 20: out1 - out0
    int32_t pairs;            // 24: channel pairs, >= 1
    int32_t off;              // 28: output offset
    int32_t n4;               // 32: the weights bytes read per row (whole groups)
    int32_t adv;              // 36: from the end of row 0 to the next pair's row 0
} nn_gemm_job;

typedef char nn_gemm_job_layout_ok[(offsetof(nn_gemm_job, adv) == 36
    && sizeof(nn_conv_chan) == 24) ? 1 : -1];

// The loop over the channel pairs, for one weights form: ROW1 sets r1 from d, GROUP is
// four taps of the 2x2 block, ODD the bit of n4 that is set for an odd number of groups.
#define NN_GEMM_HI_FULL(NAME, ROW1, GROUP, ODD) \
    __attribute__((naked, noinline)) static void NAME(nn_gemm_job *job) { \
        __asm__ ( \
            "push   {r0, r4-r11, lr}\n\t" \
            "ldr    r0, [r0, #0]\n\t"              /* w */ \
            "1:\n\t"                                /* each channel pair */ \
            "ldr    r12, [sp]\n\t"                  /* job */ \
            "ldr    r3, [r12, #32]\n\t"             /* n4 */ \
            "ldr    r1, [r12, #4]\n\t"              /* d */ \
            "ldr    r2, [r12, #8]\n\t"              /* x = col */ \
            "ldr    r8, [r12, #12]\n\t"             /* chan */ \
            "tst    r3, #" ODD "\n\t"               /* odd groups: enter halfway */ \
            "add    r3, r0, r3\n\t"                 /* end of row 0 */ \
            "ldr    r4, [r8, #0]\n\t"               /* the accumulators: biases */ \
            "ldr    r6, [r8, #24]\n\t" \
            "mov    r5, r4\n\t" \
            "mov    r7, r6\n\t" \
            ROW1 \
            "bne    3f\n\t" \
            "2:\n\t" \
            GROUP \
            "3:\n\t" \
            GROUP \
            "cmp    r0, r3\n\t" \
            "bne    2b\n\t" \
            /* Tail: r0 = the end of row 0; r1-r3, r8-r12, lr are free. */ \
            "ldr    r12, [sp]\n\t" \
            "ldr    r8, [r12, #12]\n\t"             /* chan */ \
            "ldr    r9, [r12, #28]\n\t"             /* off */ \
            "ldr    r10, [r8, #4]\n\t"              /* channel 0: mult, hi_shift */ \
            "ldr    r11, [r8, #16]\n\t" \
            NN_GEMM_OUT_R("r4", "8") \
            NN_GEMM_OUT_R("r5", "8") \
            "ldr    r10, [r8, #28]\n\t"             /* channel 1 */ \
            "ldr    r11, [r8, #40]\n\t" \
            NN_GEMM_OUT_R("r6", "32") \
            NN_GEMM_OUT_R("r7", "32") \
            "add    r8, r8, #48\n\t" \
            "str    r8, [r12, #12]\n\t" \
            "ldr    r2, [r12, #16]\n\t"             /* out0, stride */ \
            "ldr    r3, [r12, #20]\n\t" \
            "strb   r5, [r2, r3]\n\t" \
            "strb   r4, [r2], #1\n\t" \
            "strb   r7, [r2, r3]\n\t" \
            "strb   r6, [r2], #1\n\t" \
            "str    r2, [r12, #16]\n\t" \
            "ldr    r1, [r12, #36]\n\t" \
            "add    r0, r0, r1\n\t"                 /* the next pair's row 0 */ \
            "ldr    r2, [r12, #24]\n\t" \
            "subs   r2, r2, #1\n\t" \
            "str    r2, [r12, #24]\n\t" \
            "bne    1b\n\t" \
            "pop    {r0, r4-r11, pc}\n\t" \
            ); \
    }

NN_GEMM_HI_FULL(nn_gemm_hi_full, NN_GEMM_ROW1, NN_DOT_2X2_GROUP_R, "4")
NN_GEMM_HI_FULL(nn_gemm_hi_full_w16, NN_GEMM_ROW1_W16, NN_DOT_2X2_GROUP_W16_R, "8")

#endif

NN_HOST_CLONES void nn_conv_gemm_pair_s8(const nn_conv_params *p, const nn_conv_chan *chan,
    const void *filter, int32_t k, int32_t out_ch, const int16_t *col, int8_t *out0,
    int8_t *out1, int flags) {
    #if NN_GEMM_ASM
    const int w16 = flags & NN_CONV_GEMM_W16;
    const int32_t k4 = (k + 3) & ~3;
    const size_t row = w16 ? (size_t)k4 * sizeof(int16_t) : (size_t)k; // bytes
    if ((flags & ~NN_CONV_GEMM_W16) == (NN_CONV_GEMM_FULL | NN_CONV_GEMM_HI) && out_ch >= 2) {
        const int32_t pairs = out_ch / 2;
        if (w16) {
            // Whole groups of zero-padded rows: nothing read past them.
            const int32_t n = (int32_t)row;
            nn_gemm_job job = { filter, n, col, chan, out0, (int32_t)(out1 - out0), pairs,
                                p->output_offset, n, n };
            nn_gemm_hi_full_w16(&job);
        } else {
            // Each row is read in whole words, up to 3 bytes past its end when k is not
            // a multiple of 4 (times the column's zero taps): past the weights' end for
            // the last row only, which is then read from its padded copy in scratch.
            const int32_t n4 = k4;
            const int last_copy = n4 != k && out_ch % 2 == 0;
            nn_gemm_job job = { filter, k, col, chan, out0, (int32_t)(out1 - out0),
                                pairs - last_copy, p->output_offset, n4, 2 * k - n4 };
            if (job.pairs > 0) {
                nn_gemm_hi_full(&job);
            }
            if (last_copy) {
                // Row 1 of the last pair at row 0 + d: its copy after the column pair.
                const int8_t *w = (const int8_t *)filter + (size_t)(out_ch - 2) * k;
                const int8_t *copy = (const int8_t *)col + nn_col_bytes(k);
                job.w = w;
                job.d = (int32_t)(copy - w);
                job.chan = chan + out_ch - 2;
                job.out = out0 + out_ch - 2;
                job.pairs = 1;
                nn_gemm_hi_full(&job);
            }
        }
        chan += 2 * pairs;
        filter = (const int8_t *)filter + 2 * pairs * row;
        out0 += 2 * pairs;
        out1 += 2 * pairs;
        out_ch -= 2 * pairs;
    }
    #endif
    // The rest in C (int4 rows all of it: nn_dot.h's DSP form on Cortex-M4/M7), compiled
    // for each form of the weights and requantization; the clamp is the activation's
    // ([-128, 127] for the whole range).
    switch (flags & (NN_CONV_GEMM_HI | NN_CONV_GEMM_W16 | NN_CONV_GEMM_S4)) {
        case NN_CONV_GEMM_HI | NN_CONV_GEMM_S4:
            nn_conv_gemm_pair(p, chan, filter, k, out_ch, col, out0, out1,
                NN_CONV_GEMM_HI | NN_CONV_GEMM_S4);
            break;
        case NN_CONV_GEMM_S4:
            nn_conv_gemm_pair(p, chan, filter, k, out_ch, col, out0, out1, NN_CONV_GEMM_S4);
            break;
        case NN_CONV_GEMM_HI | NN_CONV_GEMM_W16:
            nn_conv_gemm_pair(p, chan, filter, k, out_ch, col, out0, out1,
                NN_CONV_GEMM_HI | NN_CONV_GEMM_W16);
            break;
        case NN_CONV_GEMM_W16:
            nn_conv_gemm_pair(p, chan, filter, k, out_ch, col, out0, out1, NN_CONV_GEMM_W16);
            break;
        case NN_CONV_GEMM_HI:
            nn_conv_gemm_pair(p, chan, filter, k, out_ch, col, out0, out1, NN_CONV_GEMM_HI);
            break;
        default:
            nn_conv_gemm_pair(p, chan, filter, k, out_ch, col, out0, out1, 0);
            break;
    }
}
