// FULLY_CONNECTED with block-sparse weights (nn_block4): two batch rows at a time are
// widened once into a column pair (nn_dot.h: int16, input offset added, taps in the
// order 0, 2, 1, 3), then each output unit multiplies only its stored blocks: one word
// of weights split by SXTB16 against both rows (DSP), or scalar MACs. Requantized as
// nn_fc_s8 does, with the op's rounding; the weights offset folded out the same way:
//   sum_i (x[i] + in_off) * (w[i] + f_off) = sum_i (x[i] + in_off) * w[i]
//                                            + f_off * sum_i (x[i] + in_off)
// (the first sum over the stored blocks only: the others' w[i] are 0).
//
// Scratch (4-byte aligned): one column pair of in_depth taps.

#include "nn_dot.h"
#include "nn_functions.h"

size_t nn_fc_s8_block4_scratch_size(int32_t in_depth) {
    return nn_col_bytes(in_depth);
}

// acc[0] += w . column 0 and, with two, acc[1] += w . column 1, over the blocks [*bp, end)
// (weights from *wp); *wp and *bp are left at the next row's blocks.
// In assembly on Cortex-M (cost.INNER_LOOP's FC rows; `microai hil`, make bench-sparsity):
//   DSP, one row:  LDRD (two blocks' weights), then per block LDRH, ADD, LDRD, 2 SXTB16,
//                  2 SMLAD, and CMP, BNE a pair: 8.5 instructions for 4 MACs;
//   DSP, two rows: LDRH, LDR, ADD, 2 SXTB16, 2 LDRD, 4 SMLAD, CMP, BNE: 13 for 8 MACs;
//   M3, one row:   LDRH, ADD, 4 x (LDRSB, LDRSH, MLA), CMP, BNE: 16 for 4 MACs;
//   M3, two rows:  LDRH, ADD, 4 x (LDRSB, 2 LDRSH, 2 MLA), CMP, BNE: 24 for 8 MACs.
// A block's taps in the column are in the order 0, 2, 1, 3 (nn_dot.h), row 1's 8 int16
// after row 0's.
#if NN_DSP_ASM

// One block of one row: LDRH, LDR, ADD, LDRD, 2 SXTB16, 2 SMLAD.
#define NN_FC_BLOCK4_ONE \
    "ldrh   %[t], [%[b]], #2\n\t" \
    "ldr    %[wa], [%[w]], #4\n\t" \
    "add    %[t], %[col], %[t], lsl #4\n\t" \
    "ldrd   %[xa], %[xb], [%[t]]\n\t" \
    "sxtb16 %[wh], %[wa], ror #8\n\t" \
    "sxtb16 %[wa], %[wa]\n\t" \
    "smlad  %[a0], %[wa], %[xa], %[a0]\n\t" \
    "smlad  %[a0], %[wh], %[xb], %[a0]\n\t"

NN_ALWAYS_INLINE void nn_fc_block4_dot(const int8_t **wp, const uint16_t **bp,
    const uint16_t *end, const int16_t *col, int two, int32_t *acc) {
    const int8_t *w = *wp;
    const uint16_t *b = *bp;
    if (b == end) {
        return;
    }
    int32_t a0 = acc[0], a1 = acc[1];
    uint32_t t, u, wa, wb, wh, xa, xb;
    if (two) {
        __asm__ (
            "1:\n\t"
            "ldrh   %[t], [%[b]], #2\n\t"
            "ldr    %[wa], [%[w]], #4\n\t"
            "add    %[t], %[col], %[t], lsl #4\n\t"
            "sxtb16 %[wh], %[wa], ror #8\n\t"
            "sxtb16 %[wa], %[wa]\n\t"
            "ldrd   %[xa], %[xb], [%[t]]\n\t"
            "smlad  %[a0], %[wa], %[xa], %[a0]\n\t"
            "smlad  %[a0], %[wh], %[xb], %[a0]\n\t"
            "ldrd   %[xa], %[xb], [%[t], #8]\n\t"
            "smlad  %[a1], %[wa], %[xa], %[a1]\n\t"
            "smlad  %[a1], %[wh], %[xb], %[a1]\n\t"
            "cmp    %[b], %[end]\n\t"
            "bne    1b\n\t"
            : [a0] "+r" (a0), [a1] "+r" (a1), [w] "+r" (w), [b] "+r" (b), [t] "=&r" (t),
            [wa] "=&r" (wa), [wh] "=&r" (wh), [xa] "=&r" (xa), [xb] "=&r" (xb)
            : [end] "r" (end), [col] "r" (col)
            : "cc", "memory");
        acc[0] = a0;
        acc[1] = a1;
        *wp = w;
        *bp = b;
        return;
    }
    if ((end - b) & 1) {
        __asm__ (
            NN_FC_BLOCK4_ONE
            : [a0] "+r" (a0), [w] "+r" (w), [b] "+r" (b), [t] "=&r" (t), [wa] "=&r" (wa),
            [wh] "=&r" (wh), [xa] "=&r" (xa), [xb] "=&r" (xb)
            : [col] "r" (col)
            : "memory");
    }
    if (b != end) {
        // Two blocks a pass: their weights by one LDRD (the data is 4-byte aligned).
        __asm__ (
            "1:\n\t"
            "ldrh   %[t], [%[b]], #2\n\t"
            "ldrh   %[u], [%[b]], #2\n\t"
            "ldrd   %[wa], %[wb], [%[w]], #8\n\t"
            "add    %[t], %[col], %[t], lsl #4\n\t"
            "ldrd   %[xa], %[xb], [%[t]]\n\t"
            "sxtb16 %[wh], %[wa], ror #8\n\t"
            "sxtb16 %[wa], %[wa]\n\t"
            "smlad  %[a0], %[wa], %[xa], %[a0]\n\t"
            "smlad  %[a0], %[wh], %[xb], %[a0]\n\t"
            "add    %[u], %[col], %[u], lsl #4\n\t"
            "ldrd   %[xa], %[xb], [%[u]]\n\t"
            "sxtb16 %[wh], %[wb], ror #8\n\t"
            "sxtb16 %[wb], %[wb]\n\t"
            "smlad  %[a0], %[wb], %[xa], %[a0]\n\t"
            "smlad  %[a0], %[wh], %[xb], %[a0]\n\t"
            "cmp    %[b], %[end]\n\t"
            "bne    1b\n\t"
            : [a0] "+r" (a0), [w] "+r" (w), [b] "+r" (b), [t] "=&r" (t), [u] "=&r" (u),
            [wa] "=&r" (wa), [wb] "=&r" (wb), [wh] "=&r" (wh), [xa] "=&r" (xa),
            [xb] "=&r" (xb)
            : [end] "r" (end), [col] "r" (col)
            : "cc", "memory");
    }
    acc[0] = a0;
    *wp = w;
    *bp = b;
}

#elif defined(__arm__) && defined(__ARM_ARCH_ISA_THUMB) && __ARM_ARCH_ISA_THUMB >= 2 \
    && !NN_DSP

// Cortex-M3: tap W's weight by LDRSB (w steps), its column values by LDRSH at X (row 0)
// and X + 8 (row 1).
#define NN_FC_BLOCK4_TAP1(X) \
    "ldrsb  %[wt], [%[w]], #1\n\t" \
    "ldrsh  %[xa], [%[t], #" X "]\n\t" \
    "mla    %[a0], %[wt], %[xa], %[a0]\n\t"
#define NN_FC_BLOCK4_TAP2(X, Y) \
    NN_FC_BLOCK4_TAP1(X) \
    "ldrsh  %[xa], [%[t], #" Y "]\n\t" \
    "mla    %[a1], %[wt], %[xa], %[a1]\n\t"

NN_ALWAYS_INLINE void nn_fc_block4_dot(const int8_t **wp, const uint16_t **bp,
    const uint16_t *end, const int16_t *col, int two, int32_t *acc) {
    const int8_t *w = *wp;
    const uint16_t *b = *bp;
    if (b == end) {
        return;
    }
    int32_t a0 = acc[0], a1 = acc[1];
    uint32_t t, wt, xa;
    if (two) {
        __asm__ (
            "1:\n\t"
            "ldrh   %[t], [%[b]], #2\n\t"
            "add    %[t], %[col], %[t], lsl #4\n\t"
            NN_FC_BLOCK4_TAP2("0", "8")
            NN_FC_BLOCK4_TAP2("4", "12")
            NN_FC_BLOCK4_TAP2("2", "10")
            NN_FC_BLOCK4_TAP2("6", "14")
            "cmp    %[b], %[end]\n\t"
            "bne    1b\n\t"
            : [a0] "+r" (a0), [a1] "+r" (a1), [w] "+r" (w), [b] "+r" (b), [t] "=&r" (t),
            [wt] "=&r" (wt), [xa] "=&r" (xa)
            : [end] "r" (end), [col] "r" (col)
            : "cc", "memory");
    } else {
        __asm__ (
            "1:\n\t"
            "ldrh   %[t], [%[b]], #2\n\t"
            "add    %[t], %[col], %[t], lsl #4\n\t"
            NN_FC_BLOCK4_TAP1("0")
            NN_FC_BLOCK4_TAP1("4")
            NN_FC_BLOCK4_TAP1("2")
            NN_FC_BLOCK4_TAP1("6")
            "cmp    %[b], %[end]\n\t"
            "bne    1b\n\t"
            : [a0] "+r" (a0), [w] "+r" (w), [b] "+r" (b), [t] "=&r" (t), [wt] "=&r" (wt),
            [xa] "=&r" (xa)
            : [end] "r" (end), [col] "r" (col)
            : "cc", "memory");
    }
    acc[0] = a0;
    acc[1] = a1;
    *wp = w;
    *bp = b;
}

#else

NN_ALWAYS_INLINE void nn_fc_block4_dot(const int8_t **wp, const uint16_t **bp,
    const uint16_t *end, const int16_t *col, int two, int32_t *acc) {
    const int8_t *w = *wp;
    const uint16_t *b = *bp;
    int32_t a0 = acc[0], a1 = acc[1];
    for (; b != end; b++, w += 4) {
        const int16_t *x = col + 8 * (uint32_t)*b;
        #if NN_DSP
        const uint32_t wv = nn_read_u32(w);
        const uint32_t w02 = nn_sxtb16(wv), w13 = nn_sxtb16_ror8(wv);
        a0 = nn_smlad(w02, nn_read_u32(x), a0);
        a0 = nn_smlad(w13, nn_read_u32(x + 2), a0);
        if (two) {
            a1 = nn_smlad(w02, nn_read_u32(x + 4), a1);
            a1 = nn_smlad(w13, nn_read_u32(x + 6), a1);
        }
        #else
        const int32_t w0 = w[0], w1 = w[1], w2 = w[2], w3 = w[3];
        a0 = nn_mac(a0, w0, x[0]);
        a0 = nn_mac(a0, w2, x[1]);
        a0 = nn_mac(a0, w1, x[2]);
        a0 = nn_mac(a0, w3, x[3]);
        if (two) {
            a1 = nn_mac(a1, w0, x[4]);
            a1 = nn_mac(a1, w2, x[5]);
            a1 = nn_mac(a1, w1, x[6]);
            a1 = nn_mac(a1, w3, x[7]);
        }
        #endif
    }
    acc[0] = a0;
    acc[1] = a1;
    *wp = w;
    *bp = b;
}

#endif

// An accumulator requantized with the op's rounding, offset, clamped (as nn_fc_s8).
NN_ALWAYS_INLINE int8_t nn_fc_block4_out(int32_t a, int32_t mult, int32_t shift, int single,
    int32_t off, int32_t lo, int32_t hi) {
    int32_t v = single ? nn_requantize_single(a, mult, shift) : nn_requantize(a, mult, shift);
    v = (int32_t)((uint32_t)v + (uint32_t)off);
    v = v < lo ? lo : v;
    return (int8_t)(v > hi ? hi : v);
}

NN_ALWAYS_INLINE void nn_fc_block4_rows(const nn_fc_params *p, const nn_quant *q,
    int32_t out_depth, const nn_block4 *w, const int32_t *bias, const int16_t *col,
    const uint32_t *extra, int8_t *o0, int8_t *o1, int two) {
    const int32_t off = p->output_offset, lo = p->act.min, hi = p->act.max;
    const int single = q->rounding == NN_ROUNDING_SINGLE;
    // The rows' blocks follow each other: wd and b run on from row to row.
    const uint32_t *rs = w->row_start;
    const int8_t *wd = w->data + 4 * rs[0];
    const uint16_t *b = w->block + rs[0];
    for (int32_t u = 0; u < out_depth; u++) {
        const uint32_t b0 = (uint32_t)(bias != NULL ? bias[u] : 0);
        int32_t acc[2] = { (int32_t)(b0 + extra[0]), (int32_t)(b0 + extra[1]) };
        nn_fc_block4_dot(&wd, &b, w->block + rs[u + 1], col, two, acc);
        const int32_t i = q->per_channel ? u : 0;
        o0[u] = nn_fc_block4_out(acc[0], q->multiplier[i], q->shift[i], single, off, lo, hi);
        if (two) {
            o1[u] = nn_fc_block4_out(acc[1], q->multiplier[i], q->shift[i], single, off, lo,
                hi);
        }
    }
}

nn_status nn_fc_s8_block4(const nn_fc_params *p, const nn_quant *q, int32_t batches,
    int32_t in_depth, const int8_t *in, int32_t out_depth, const nn_block4 *weights,
    const int32_t *bias, int8_t *out, void *scratch, size_t scratch_size) {
    if (batches < 0 || in_depth < 1 || out_depth < 1) {
        return NN_ERR_ARG;
    }
    if (scratch == NULL || (uintptr_t)scratch % sizeof(int32_t) != 0
        || scratch_size < nn_fc_s8_block4_scratch_size(in_depth)) {
        return NN_ERR_SCRATCH;
    }
    int16_t *col = scratch;
    // The taps past in_depth (in the last group of 4) stay 0; the others are written per
    // batch row.
    const int32_t pad = -in_depth & 3;
    nn_col_zero(col, 0, in_depth, pad);
    nn_col_zero(col, 1, in_depth, pad);
    const int32_t in_off = p->input_offset;
    for (int32_t b = 0; b < batches; b += 2) {
        const int two = b + 1 < batches;
        const int8_t *x0 = in + (size_t)b * in_depth;
        uint32_t extra[2] = { 0, 0 }; // f_off * sum(x + in_off) per row, wrapping
        if (p->filter_offset != 0) {
            for (int r = 0; r < 1 + two; r++) {
                uint32_t sum = 0;
                for (int32_t i = 0; i < in_depth; i++) {
                    sum += (uint32_t)(x0[r * in_depth + i] + in_off);
                }
                extra[r] = sum * (uint32_t)p->filter_offset;
            }
        }
        nn_col_put(col, 0, 0, x0, in_depth, in_off);
        int8_t *o0 = out + (size_t)b * out_depth;
        if (two) {
            nn_col_put(col, 1, 0, x0 + in_depth, in_depth, in_off);
            nn_fc_block4_rows(p, q, out_depth, weights, bias, col, extra, o0, o0 + out_depth,
                1);
        } else {
            nn_fc_block4_rows(p, q, out_depth, weights, bias, col, extra, o0, o0, 0);
        }
    }
    return NN_OK;
}
