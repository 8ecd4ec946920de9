// microai nn: the inner loops of the GEMM kernels (pointwise and im2col convolution,
// fully connected), in the two forms nn_dsp.h's NN_DSP switches between:
//
// - DSP (Cortex-M4/M7; the host with MICROAI_DSP_EMULATE=1): four int8 per 32-bit load,
//   split into two pairs of int16 by SXTB16 (bytes 0 and 2; bytes 1 and 3 with ROR #8),
//   two MACs per SMLAD. The other operand is split the same way, so the pairs line up.
// - portable (Cortex-M3, host): scalar multiply-accumulates, unrolled.
//
// Column pairs. The convolutions multiply weights rows (int8, k taps, as stored) by
// columns: k taps of the input (im2col, or one pixel for 1x1) with the input offset
// already added, as int16 (x + input_offset is in [-255, 255]; padding taps are 0). Two
// columns (two output pixels) are kept interleaved, four taps at a time, in the order
// the DSP loop reads them:
//   int16 [8g .. 8g + 8), g < ceil(k / 4):  column 0 taps 4g, 4g+2, 4g+1, 4g+3,
//                                           column 1 taps 4g, 4g+2, 4g+1, 4g+3
// so that one LDRD gives a column's four taps as the pairs (4g, 4g+2), (4g+1, 4g+3)
// that SXTB16 makes of four weights. The taps past k in the last group are 0 (the
// kernel zeroes the pair once); 16 * ceil(k / 4) bytes in all, 4-byte aligned
// (nn_col_bytes()).
#ifndef MICROAI_NN_DOT_H
#define MICROAI_NN_DOT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "nn_dsp.h"
#include "nn_types.h"

// ---- column pairs -------------------------------------------------------------------

#if NN_DSP

/// Four taps src[0..3] + offset into a column's four int16 slots (order 0, 2, 1, 3):
/// two words.
static inline void nn_widen4_s8(int16_t *d, const int8_t *src, int32_t offset) {
    const uint32_t off2 = ((uint32_t)offset & 0xffffu) | ((uint32_t)offset << 16);
    const uint32_t v = nn_read_u32(src);
    const uint32_t lo = nn_sxtab16(off2, v), hi = nn_sxtab16_ror8(off2, v);
    memcpy(d, &lo, sizeof(lo));
    memcpy(d + 2, &hi, sizeof(hi));
}

#else

static inline void nn_widen4_s8(int16_t *d, const int8_t *src, int32_t offset) {
    d[0] = (int16_t)(src[0] + offset);
    d[1] = (int16_t)(src[2] + offset);
    d[2] = (int16_t)(src[1] + offset);
    d[3] = (int16_t)(src[3] + offset);
}

#endif

/// Bytes of a column pair of k taps.
static inline size_t nn_col_bytes(int32_t k) {
    return (size_t)((k + 3) / 4) * 8 * sizeof(int16_t);
}

/// Where tap p of column `slot` (0, 1) of a column pair is (int16 index).
static inline int32_t nn_col_index(int32_t slot, int32_t p) {
    const int32_t j = p & 3;
    return 2 * (p & ~3) + 4 * slot + (((j & 1) << 1) | (j >> 1));
}

/// Taps [pos, pos + n) of column `slot`: src[i] + offset.
static inline void nn_col_put(int16_t *col, int32_t slot, int32_t pos, const int8_t *src,
    int32_t n, int32_t offset) {
    for (; n > 0 && (pos & 3) != 0; n--, pos++) {
        col[nn_col_index(slot, pos)] = (int16_t)(*src++ + offset);
    }
    int16_t *d = col + 2 * pos + 4 * slot;
    for (; n >= 4; n -= 4, pos += 4, src += 4, d += 8) {
        nn_widen4_s8(d, src, offset);
    }
    for (; n > 0; n--, pos++) {
        col[nn_col_index(slot, pos)] = (int16_t)(*src++ + offset);
    }
}

/// Taps [pos, pos + n) of column `slot` set to 0 (padding: the input zero point plus the
/// input offset).
static inline void nn_col_zero(int16_t *col, int32_t slot, int32_t pos, int32_t n) {
    for (; n > 0 && (pos & 3) != 0; n--, pos++) {
        col[nn_col_index(slot, pos)] = 0;
    }
    int16_t *d = col + 2 * pos + 4 * slot;
    for (; n >= 4; n -= 4, pos += 4, d += 8) {
        memset(d, 0, 4 * sizeof(int16_t));
    }
    for (; n > 0; n--, pos++) {
        col[nn_col_index(slot, pos)] = 0;
    }
}

// ---- dot products -------------------------------------------------------------------

/// Two weights rows (w0 = w, w1 = w + d; d = 0 repeats the row) against a column pair,
/// added to acc: acc[0] += w0.col0, acc[1] += w0.col1, acc[2] += w1.col0,
/// acc[3] += w1.col1 (wrapping, as int32 accumulators do).
NN_ALWAYS_INLINE void nn_dot_2x2_s8s16(const int8_t *w, int32_t d, const int16_t *col,
    int32_t k, int32_t *acc);

#if NN_DSP_ASM

// Four taps of the 2x2 block: 4 loads, 4 SXTB16, 8 SMLAD for 16 MACs. All 14 free
// registers: w, d, x, end, four accumulators, six temporaries.
#define NN_DOT_2X2_GROUP \
    "ldr    %[wb], [%[w], %[d]]\n\t" \
    "ldr    %[wa], [%[w]], #4\n\t" \
    "ldrd   %[xa], %[xb], [%[x]], #8\n\t" \
    "sxtb16 %[wc], %[wa], ror #8\n\t" \
    "sxtb16 %[wa], %[wa]\n\t" \
    "sxtb16 %[wd], %[wb], ror #8\n\t" \
    "sxtb16 %[wb], %[wb]\n\t" \
    "smlad  %[a00], %[wa], %[xa], %[a00]\n\t" \
    "smlad  %[a00], %[wc], %[xb], %[a00]\n\t" \
    "smlad  %[a10], %[wb], %[xa], %[a10]\n\t" \
    "smlad  %[a10], %[wd], %[xb], %[a10]\n\t" \
    "ldrd   %[xa], %[xb], [%[x]], #8\n\t" \
    "smlad  %[a01], %[wa], %[xa], %[a01]\n\t" \
    "smlad  %[a01], %[wc], %[xb], %[a01]\n\t" \
    "smlad  %[a11], %[wb], %[xa], %[a11]\n\t" \
    "smlad  %[a11], %[wd], %[xb], %[a11]\n\t"

NN_ALWAYS_INLINE void nn_dot_2x2_s8s16(const int8_t *w, int32_t d, const int16_t *col,
    int32_t k, int32_t *acc) {
    int32_t a00 = acc[0], a01 = acc[1], a10 = acc[2], a11 = acc[3];
    const uint32_t *x = (const uint32_t *)(const void *)col;
    int32_t groups = k >> 2;
    uint32_t wa, wb, wc, wd, xa, xb;
    if (groups & 1) {
        __asm__ (
            NN_DOT_2X2_GROUP
            : [a00] "+r" (a00), [a01] "+r" (a01), [a10] "+r" (a10), [a11] "+r" (a11),
            [w] "+r" (w), [x] "+r" (x), [wa] "=&r" (wa), [wb] "=&r" (wb), [wc] "=&r" (wc),
            [wd] "=&r" (wd), [xa] "=&r" (xa), [xb] "=&r" (xb)
            : [d] "r" (d)
            : "memory");
    }
    if (groups >= 2) {
        const int8_t *end = w + 4 * (groups & ~1);
        __asm__ (
            "1:\n\t"
            NN_DOT_2X2_GROUP
            NN_DOT_2X2_GROUP
            "cmp    %[w], %[end]\n\t"
            "bne    1b\n\t"
            : [a00] "+r" (a00), [a01] "+r" (a01), [a10] "+r" (a10), [a11] "+r" (a11),
            [w] "+r" (w), [x] "+r" (x), [wa] "=&r" (wa), [wb] "=&r" (wb), [wc] "=&r" (wc),
            [wd] "=&r" (wd), [xa] "=&r" (xa), [xb] "=&r" (xb)
            : [d] "r" (d), [end] "r" (end)
            : "cc", "memory");
    }
    const int32_t r = k & 3;
    const int16_t *t = (const int16_t *)(const void *)x;
    for (int32_t i = 0; i < r; i++) {
        const int32_t j = nn_col_index(0, i);
        const int32_t wa0 = w[i], wb0 = w[d + i], x0 = t[j], x1 = t[4 + j];
        a00 = nn_mac(a00, wa0, x0);
        a01 = nn_mac(a01, wa0, x1);
        a10 = nn_mac(a10, wb0, x0);
        a11 = nn_mac(a11, wb0, x1);
    }
    acc[0] = a00;
    acc[1] = a01;
    acc[2] = a10;
    acc[3] = a11;
}

#elif NN_DSP

NN_ALWAYS_INLINE void nn_dot_2x2_s8s16(const int8_t *w, int32_t d, const int16_t *col,
    int32_t k, int32_t *acc) {
    int32_t a00 = acc[0], a01 = acc[1], a10 = acc[2], a11 = acc[3];
    const int16_t *x = col;
    for (int32_t g = k >> 2; g > 0; g--, w += 4, x += 8) {
        const uint32_t wa = nn_read_u32(w), wb = nn_read_u32(w + d);
        const uint32_t wa02 = nn_sxtb16(wa), wa13 = nn_sxtb16_ror8(wa);
        const uint32_t wb02 = nn_sxtb16(wb), wb13 = nn_sxtb16_ror8(wb);
        uint32_t xa = nn_read_u32(x), xb = nn_read_u32(x + 2);
        a00 = nn_smlad(wa02, xa, a00);
        a00 = nn_smlad(wa13, xb, a00);
        a10 = nn_smlad(wb02, xa, a10);
        a10 = nn_smlad(wb13, xb, a10);
        xa = nn_read_u32(x + 4);
        xb = nn_read_u32(x + 6);
        a01 = nn_smlad(wa02, xa, a01);
        a01 = nn_smlad(wa13, xb, a01);
        a11 = nn_smlad(wb02, xa, a11);
        a11 = nn_smlad(wb13, xb, a11);
    }
    const int32_t r = k & 3;
    for (int32_t i = 0; i < r; i++) {
        const int32_t j = nn_col_index(0, i);
        const int32_t wa0 = w[i], wb0 = w[d + i], x0 = x[j], x1 = x[4 + j];
        a00 = nn_mac(a00, wa0, x0);
        a01 = nn_mac(a01, wa0, x1);
        a10 = nn_mac(a10, wb0, x0);
        a11 = nn_mac(a11, wb0, x1);
    }
    acc[0] = a00;
    acc[1] = a01;
    acc[2] = a10;
    acc[3] = a11;
}

#else

// Signed sums from zero over at most NN_SUM_TAPS taps, then added to acc wrapping: a
// tap is at most 255 * 128 = 32,640 in size, so 65,536 of them cannot overflow, and
// compilers vectorise signed dot products (x86's pmaddwd), not wrapping ones.
#define NN_SUM_TAPS (65536)

NN_ALWAYS_INLINE void nn_dot_2x2_s8s16_block(const int8_t *w, int32_t d, const int16_t *col,
    int32_t k, int32_t *acc) {
    int32_t a00 = 0, a01 = 0, a10 = 0, a11 = 0;
    const int8_t *v = w + d;
    const int16_t *x = col;
    for (int32_t g = k >> 2; g > 0; g--, w += 4, v += 4, x += 8) {
        // Tap order in x: 0, 2, 1, 3 (see the column pair layout).
        int32_t wa = w[0], wb = v[0], xa = x[0], xb = x[4];
        a00 += wa * xa;
        a01 += wa * xb;
        a10 += wb * xa;
        a11 += wb * xb;
        wa = w[2], wb = v[2], xa = x[1], xb = x[5];
        a00 += wa * xa;
        a01 += wa * xb;
        a10 += wb * xa;
        a11 += wb * xb;
        wa = w[1], wb = v[1], xa = x[2], xb = x[6];
        a00 += wa * xa;
        a01 += wa * xb;
        a10 += wb * xa;
        a11 += wb * xb;
        wa = w[3], wb = v[3], xa = x[3], xb = x[7];
        a00 += wa * xa;
        a01 += wa * xb;
        a10 += wb * xa;
        a11 += wb * xb;
    }
    const int32_t r = k & 3;
    for (int32_t i = 0; i < r; i++) {
        const int32_t j = nn_col_index(0, i);
        const int32_t wa = w[i], wb = v[i], xa = x[j], xb = x[4 + j];
        a00 += wa * xa;
        a01 += wa * xb;
        a10 += wb * xa;
        a11 += wb * xb;
    }
    acc[0] = nn_mac(acc[0], a00, 1);
    acc[1] = nn_mac(acc[1], a01, 1);
    acc[2] = nn_mac(acc[2], a10, 1);
    acc[3] = nn_mac(acc[3], a11, 1);
}

NN_ALWAYS_INLINE void nn_dot_2x2_s8s16(const int8_t *w, int32_t d, const int16_t *col,
    int32_t k, int32_t *acc) {
    if (k <= NN_SUM_TAPS) { // every real model: one pass
        nn_dot_2x2_s8s16_block(w, d, col, k, acc);
        return;
    }
    for (int32_t at = 0; at < k; at += NN_SUM_TAPS) {
        const int32_t n = k - at < NN_SUM_TAPS ? k - at : NN_SUM_TAPS;
        nn_dot_2x2_s8s16_block(w + at, d, col + 2 * at, n, acc);
    }
}

#endif

// ---- widened weights ------------------------------------------------------------------

// Weights the host widened to int16 (the blob's MAI_LAYOUT_WIDE, nn_conv_w16_prepare()):
// each row padded with zeros to k4 = 4 * ceil(k / 4) taps, every four in the column's
// order 0, 2, 1, 3, so that a row's four taps are one LDRD of two pairs that line up
// with the column's: no SXTB16 in the inner loop, at twice the weights' flash.

/// nn_dot_2x2_s8s16() for widened rows (w0 = w, w1 = w + d, k4 taps each; d = 0 repeats
/// the row) against a column pair of k4 taps.
NN_ALWAYS_INLINE void nn_dot_2x2_s16s16(const int16_t *w, int32_t d, const int16_t *col,
    int32_t k4, int32_t *acc) {
    int32_t a00 = acc[0], a01 = acc[1], a10 = acc[2], a11 = acc[3];
    const int16_t *v = w + d;
    const int16_t *x = col;
    #if NN_DSP
    for (int32_t g = k4 >> 2; g > 0; g--, w += 4, v += 4, x += 8) {
        const uint32_t wa02 = nn_read_u32(w), wa13 = nn_read_u32(w + 2);
        const uint32_t wb02 = nn_read_u32(v), wb13 = nn_read_u32(v + 2);
        uint32_t xa = nn_read_u32(x), xb = nn_read_u32(x + 2);
        a00 = nn_smlad(wa02, xa, a00);
        a00 = nn_smlad(wa13, xb, a00);
        a10 = nn_smlad(wb02, xa, a10);
        a10 = nn_smlad(wb13, xb, a10);
        xa = nn_read_u32(x + 4);
        xb = nn_read_u32(x + 6);
        a01 = nn_smlad(wa02, xa, a01);
        a01 = nn_smlad(wa13, xb, a01);
        a11 = nn_smlad(wb02, xa, a11);
        a11 = nn_smlad(wb13, xb, a11);
    }
    #else
    // Wrapping sums, as the accumulators do (nn_mac); the orders of w and x agree.
    for (int32_t g = k4 >> 2; g > 0; g--, w += 4, v += 4, x += 8) {
        for (int32_t j = 0; j < 4; j++) {
            a00 = nn_mac(a00, w[j], x[j]);
            a01 = nn_mac(a01, w[j], x[4 + j]);
            a10 = nn_mac(a10, v[j], x[j]);
            a11 = nn_mac(a11, v[j], x[4 + j]);
        }
    }
    #endif
    acc[0] = a00;
    acc[1] = a01;
    acc[2] = a10;
    acc[3] = a11;
}

// ---- fully connected ------------------------------------------------------------------

/// One input row x (n int8, + offset) against two weights rows w0 = w, w1 = w + d,
/// added to acc: acc[0] += w0.(x + offset), acc[1] += w1.(x + offset).
NN_ALWAYS_INLINE void nn_dot_1x2_s8(const int8_t *x, int32_t offset, const int8_t *w,
    int32_t d, int32_t n, int32_t *acc);

/// Two input rows (x0 = x, x1 = x + dx; n int8 each, + offset) against two weights rows
/// (w0 = w, w1 = w + d), added to acc: acc[0] += w0.x0, acc[1] += w0.x1,
/// acc[2] += w1.x0, acc[3] += w1.x1.
NN_ALWAYS_INLINE void nn_dot_2x2_s8(const int8_t *x, int32_t dx, int32_t offset,
    const int8_t *w, int32_t d, int32_t n, int32_t *acc);

#if NN_DSP

// Four k per pass: the input widened with the offset by SXTAB16 (its pairs line up
// with SXTB16's of the weights), 3 loads, 2 SXTAB16, 4 SXTB16, 4 SMLAD for 8 MACs.
NN_ALWAYS_INLINE void nn_dot_1x2_s8(const int8_t *x, int32_t offset, const int8_t *w,
    int32_t d, int32_t n, int32_t *acc) {
    const uint32_t off2 = ((uint32_t)offset & 0xffffu) | ((uint32_t)offset << 16);
    int32_t a0 = acc[0], a1 = acc[1];
    for (int32_t g = n >> 2; g > 0; g--, x += 4, w += 4) {
        const uint32_t xv = nn_read_u32(x);
        const uint32_t x02 = nn_sxtab16(off2, xv), x13 = nn_sxtab16_ror8(off2, xv);
        const uint32_t wa = nn_read_u32(w), wb = nn_read_u32(w + d);
        a0 = nn_smlad(nn_sxtb16(wa), x02, a0);
        a0 = nn_smlad(nn_sxtb16_ror8(wa), x13, a0);
        a1 = nn_smlad(nn_sxtb16(wb), x02, a1);
        a1 = nn_smlad(nn_sxtb16_ror8(wb), x13, a1);
    }
    for (n &= 3; n > 0; n--, x++, w++) {
        const int32_t xi = *x + offset;
        a0 = nn_mac(a0, xi, w[0]);
        a1 = nn_mac(a1, xi, w[d]);
    }
    acc[0] = a0;
    acc[1] = a1;
}

// Four k per pass: 4 loads, 4 SXTAB16, 4 SXTB16, 8 SMLAD for 16 MACs.
NN_ALWAYS_INLINE void nn_dot_2x2_s8(const int8_t *x, int32_t dx, int32_t offset,
    const int8_t *w, int32_t d, int32_t n, int32_t *acc) {
    const uint32_t off2 = ((uint32_t)offset & 0xffffu) | ((uint32_t)offset << 16);
    int32_t a00 = acc[0], a01 = acc[1], a10 = acc[2], a11 = acc[3];
    for (int32_t g = n >> 2; g > 0; g--, x += 4, w += 4) {
        const uint32_t wa = nn_read_u32(w), wb = nn_read_u32(w + d);
        const uint32_t wa02 = nn_sxtb16(wa), wa13 = nn_sxtb16_ror8(wa);
        const uint32_t wb02 = nn_sxtb16(wb), wb13 = nn_sxtb16_ror8(wb);
        uint32_t xv = nn_read_u32(x);
        uint32_t x02 = nn_sxtab16(off2, xv), x13 = nn_sxtab16_ror8(off2, xv);
        a00 = nn_smlad(wa02, x02, a00);
        a00 = nn_smlad(wa13, x13, a00);
        a10 = nn_smlad(wb02, x02, a10);
        a10 = nn_smlad(wb13, x13, a10);
        xv = nn_read_u32(x + dx);
        x02 = nn_sxtab16(off2, xv);
        x13 = nn_sxtab16_ror8(off2, xv);
        a01 = nn_smlad(wa02, x02, a01);
        a01 = nn_smlad(wa13, x13, a01);
        a11 = nn_smlad(wb02, x02, a11);
        a11 = nn_smlad(wb13, x13, a11);
    }
    for (n &= 3; n > 0; n--, x++, w++) {
        const int32_t xa = x[0] + offset, xb = x[dx] + offset;
        a00 = nn_mac(a00, xa, w[0]);
        a01 = nn_mac(a01, xb, w[0]);
        a10 = nn_mac(a10, xa, w[d]);
        a11 = nn_mac(a11, xb, w[d]);
    }
    acc[0] = a00;
    acc[1] = a01;
    acc[2] = a10;
    acc[3] = a11;
}

#else

NN_ALWAYS_INLINE void nn_dot_1x2_s8(const int8_t *x, int32_t offset, const int8_t *w,
    int32_t d, int32_t n, int32_t *acc) {
    const int8_t *v = w + d;
    int32_t a0 = acc[0], a1 = acc[1];
    for (int32_t g = n >> 2; g > 0; g--, x += 4, w += 4, v += 4) {
        int32_t xi = x[0] + offset;
        a0 = nn_mac(a0, xi, w[0]);
        a1 = nn_mac(a1, xi, v[0]);
        xi = x[1] + offset;
        a0 = nn_mac(a0, xi, w[1]);
        a1 = nn_mac(a1, xi, v[1]);
        xi = x[2] + offset;
        a0 = nn_mac(a0, xi, w[2]);
        a1 = nn_mac(a1, xi, v[2]);
        xi = x[3] + offset;
        a0 = nn_mac(a0, xi, w[3]);
        a1 = nn_mac(a1, xi, v[3]);
    }
    for (n &= 3; n > 0; n--) {
        const int32_t xi = *x++ + offset;
        a0 = nn_mac(a0, xi, *w++);
        a1 = nn_mac(a1, xi, *v++);
    }
    acc[0] = a0;
    acc[1] = a1;
}


NN_ALWAYS_INLINE void nn_dot_2x2_s8(const int8_t *x, int32_t dx, int32_t offset,
    const int8_t *w, int32_t d, int32_t n, int32_t *acc) {
    int32_t a00 = acc[0], a01 = acc[1], a10 = acc[2], a11 = acc[3];
    for (; n > 0; n--, x++, w++) {
        const int32_t xa = x[0] + offset, xb = x[dx] + offset, wa = w[0], wb = w[d];
        a00 = nn_mac(a00, xa, wa);
        a01 = nn_mac(a01, xb, wa);
        a10 = nn_mac(a10, xa, wb);
        a11 = nn_mac(a11, xb, wb);
    }
    acc[0] = a00;
    acc[1] = a01;
    acc[2] = a10;
    acc[3] = a11;
}

#endif


// ---- int4 weights rows ----------------------------------------------------------------

// Weights rows of int4 taps as nn_s4_rows_prepare() leaves them (the blob's
// MAI_LAYOUT_S4_ROWS): each row padded with zero taps to k8 = 8 * ceil(k / 8); group g
// (taps 8g .. 8g + 7) is one little-endian word whose byte j holds tap 8g + j in its low
// nibble and tap 8g + 4 + j in its high nibble. Then (w << 4) & 0xF0F0F0F0 is taps
// 8g .. 8g + 3 as four int8 times 16, and w & 0xF0F0F0F0 taps 8g + 4 .. 8g + 7: SXTB16
// splits each into the pairs (0, 2) and (1, 3) (ROR #8) that the column pair's order
// lines up with, as for int8 weights. The DSP sums come out times 16 and are divided
// exactly (ASR #4) before they join the accumulators: exact while every |sum| < 2^27,
// so at most NN_S4_MAX_TAPS taps (8 * 255 * 65,536 < 2^27, nn_types.h); the kernels
// refuse more.
#define NN_S4_HI_MASK (0xf0f0f0f0u)

/// Tap p of an int4 row (row at its first group).
static inline int32_t nn_s4_row_tap(const uint8_t *row, int32_t p) {
    const uint32_t b = row[4 * (p >> 3) + (p & 3)];
    return (int32_t)(b << (28 - 4 * ((p >> 2) & 1))) >> 28;
}

/// The low and high nibbles of byte b as signed int4 values.
static inline int32_t nn_s4_lo(uint32_t b) {
    return (int32_t)(b << 28) >> 28;
}

static inline int32_t nn_s4_hi(uint32_t b) {
    return (int32_t)(b << 24) >> 28;
}

/// nn_dot_2x2_s8s16() for int4 rows (w0 = w, w1 = w + d bytes; d = 0 repeats the row) of
/// k8 taps (a multiple of 8, at most NN_S4_MAX_TAPS) against a column pair of k8 taps:
/// the exact sums are added to acc (wrapping, as int32 accumulators do).
#if NN_DSP_ASM

// Eight taps of the int4 2x2 block: the rows' words are loaded twice (once per half: 14
// registers hold w, d, x, end, four accumulators and six temporaries, no mask, so the
// AND takes it as an immediate): 4 LDR, 4 LDRD, 2 LSL, 4 AND, 8 SXTB16, 16 SMLAD = 38
// for 32 MACs. The column pairs' words for the low taps come first, then the high.
#define NN_DOT_2X2_S4_HALF \
    "sxtb16 %[t2], %[t0], ror #8\n\t" \
    "sxtb16 %[t0], %[t0]\n\t" \
    "sxtb16 %[t3], %[t1], ror #8\n\t" \
    "sxtb16 %[t1], %[t1]\n\t" \
    "ldrd   %[t4], %[t5], [%[x]], #8\n\t" \
    "smlad  %[a00], %[t0], %[t4], %[a00]\n\t" \
    "smlad  %[a00], %[t2], %[t5], %[a00]\n\t" \
    "smlad  %[a10], %[t1], %[t4], %[a10]\n\t" \
    "smlad  %[a10], %[t3], %[t5], %[a10]\n\t" \
    "ldrd   %[t4], %[t5], [%[x]], #8\n\t" \
    "smlad  %[a01], %[t0], %[t4], %[a01]\n\t" \
    "smlad  %[a01], %[t2], %[t5], %[a01]\n\t" \
    "smlad  %[a11], %[t1], %[t4], %[a11]\n\t" \
    "smlad  %[a11], %[t3], %[t5], %[a11]\n\t"
#define NN_DOT_2X2_S4_GROUP \
    "ldr    %[t1], [%[w], %[d]]\n\t" \
    "ldr    %[t0], [%[w]]\n\t" \
    "lsl    %[t0], %[t0], #4\n\t" \
    "and    %[t0], %[t0], #0xf0f0f0f0\n\t" \
    "lsl    %[t1], %[t1], #4\n\t" \
    "and    %[t1], %[t1], #0xf0f0f0f0\n\t" \
    NN_DOT_2X2_S4_HALF \
    "ldr    %[t1], [%[w], %[d]]\n\t" \
    "ldr    %[t0], [%[w]], #4\n\t" \
    "and    %[t0], %[t0], #0xf0f0f0f0\n\t" \
    "and    %[t1], %[t1], #0xf0f0f0f0\n\t" \
    NN_DOT_2X2_S4_HALF

#elif defined(__arm__) && defined(__ARM_ARCH_ISA_THUMB) && __ARM_ARCH_ISA_THUMB >= 2 \
    && !NN_DSP
#define NN_S4_M3_ASM (1)

// Cortex-M3: one byte (two taps) of both rows by LDRB, SBFX, LDRSH and MLA (GCC spills
// the C form's sixteen live values): 2 LDRB, 4 SBFX, 4 LDRSH, 8 MLA; the column's
// slots at immediate offsets (X0, X1: the low tap's in columns 0 and 1; Y0, Y1: the
// high tap's). The last byte (J = 0) steps the pointers.
#define NN_S4_M3_BYTE(J, X0, X1, Y0, Y1) \
    "ldrb   %[t0], [%[w], #" J "]\n\t" \
    "ldrb   %[t2], [%[v], #" J "]\n\t" \
    "sbfx   %[t1], %[t0], #4, #4\n\t" \
    "sbfx   %[t0], %[t0], #0, #4\n\t" \
    "sbfx   %[t3], %[t2], #4, #4\n\t" \
    "sbfx   %[t2], %[t2], #0, #4\n\t" \
    "ldrsh  %[t4], [%[x], #" X0 "]\n\t" \
    "ldrsh  %[t5], [%[x], #" X1 "]\n\t" \
    NN_S4_M3_MLA4("t0", "t2") \
    "ldrsh  %[t4], [%[x], #" Y0 "]\n\t" \
    "ldrsh  %[t5], [%[x], #" Y1 "]\n\t" \
    NN_S4_M3_MLA4("t1", "t3")
#define NN_S4_M3_MLA4(W, V) \
    "mla    %[a00], %[" W "], %[t4], %[a00]\n\t" \
    "mla    %[a01], %[" W "], %[t5], %[a01]\n\t" \
    "mla    %[a10], %[" V "], %[t4], %[a10]\n\t" \
    "mla    %[a11], %[" V "], %[t5], %[a11]\n\t"
#define NN_S4_M3_GROUP \
    NN_S4_M3_BYTE("1", "4", "12", "20", "28") \
    NN_S4_M3_BYTE("2", "2", "10", "18", "26") \
    NN_S4_M3_BYTE("3", "6", "14", "22", "30") \
    "ldrb   %[t0], [%[w]], #4\n\t" \
    "ldrb   %[t2], [%[v]], #4\n\t" \
    "sbfx   %[t1], %[t0], #4, #4\n\t" \
    "sbfx   %[t0], %[t0], #0, #4\n\t" \
    "sbfx   %[t3], %[t2], #4, #4\n\t" \
    "sbfx   %[t2], %[t2], #0, #4\n\t" \
    "ldrsh  %[t4], [%[x], #16]\n\t" \
    "ldrsh  %[t5], [%[x], #24]\n\t" \
    NN_S4_M3_MLA4("t1", "t3") \
    "ldrsh  %[t5], [%[x], #8]\n\t" \
    "ldrsh  %[t4], [%[x]], #32\n\t" \
    NN_S4_M3_MLA4("t0", "t2")

#endif

#ifndef NN_S4_M3_ASM
#define NN_S4_M3_ASM (0)
#endif

NN_ALWAYS_INLINE void nn_dot_2x2_s4s16(const uint8_t *w, int32_t d, const int16_t *col,
    int32_t k8, int32_t *acc) {
    int32_t a00 = 0, a01 = 0, a10 = 0, a11 = 0;
    const int16_t *x = col;
    #if NN_DSP_ASM
    // d and end are in-out operands: as inputs GCC could give them an accumulator's
    // register when it knows both hold the same value (d = 0 and the sums' 0).
    const int32_t groups = k8 >> 3;
    uint32_t t0, t1, t2, t3, t4, t5;
    if (groups & 1) {
        __asm__ (
            NN_DOT_2X2_S4_GROUP
            : [a00] "+r" (a00), [a01] "+r" (a01), [a10] "+r" (a10), [a11] "+r" (a11),
            [w] "+r" (w), [x] "+r" (x), [t0] "=&r" (t0), [t1] "=&r" (t1), [t2] "=&r" (t2),
            [t3] "=&r" (t3), [t4] "=&r" (t4), [t5] "=&r" (t5), [d] "+r" (d)
            :
            : "memory");
    }
    if (groups >= 2) {
        const uint8_t *end = w + 4 * (groups & ~1);
        __asm__ (
            "1:\n\t"
            NN_DOT_2X2_S4_GROUP
            NN_DOT_2X2_S4_GROUP
            "cmp    %[w], %[end]\n\t"
            "bne    1b\n\t"
            : [a00] "+r" (a00), [a01] "+r" (a01), [a10] "+r" (a10), [a11] "+r" (a11),
            [w] "+r" (w), [x] "+r" (x), [t0] "=&r" (t0), [t1] "=&r" (t1), [t2] "=&r" (t2),
            [t3] "=&r" (t3), [t4] "=&r" (t4), [t5] "=&r" (t5), [d] "+r" (d), [end] "+r" (end)
            :
            : "cc", "memory");
    }
    a00 >>= 4;
    a01 >>= 4;
    a10 >>= 4;
    a11 >>= 4;
    #elif NN_S4_M3_ASM
    const int32_t groups = k8 >> 3;
    const uint8_t *v = w + d;
    uint32_t t0, t1, t2, t3, t4, t5;
    if (groups & 1) {
        __asm__ (
            NN_S4_M3_GROUP
            : [a00] "+r" (a00), [a01] "+r" (a01), [a10] "+r" (a10), [a11] "+r" (a11),
            [w] "+r" (w), [v] "+r" (v), [x] "+r" (x), [t0] "=&r" (t0), [t1] "=&r" (t1),
            [t2] "=&r" (t2), [t3] "=&r" (t3), [t4] "=&r" (t4), [t5] "=&r" (t5)
            :
            : "memory");
    }
    if (groups >= 2) {
        const uint8_t *end = w + 4 * (groups & ~1);
        __asm__ (
            "1:\n\t"
            NN_S4_M3_GROUP
            NN_S4_M3_GROUP
            "cmp    %[w], %[end]\n\t"
            "bne    1b\n\t"
            : [a00] "+r" (a00), [a01] "+r" (a01), [a10] "+r" (a10), [a11] "+r" (a11),
            [w] "+r" (w), [v] "+r" (v), [x] "+r" (x), [t0] "=&r" (t0), [t1] "=&r" (t1),
            [t2] "=&r" (t2), [t3] "=&r" (t3), [t4] "=&r" (t4), [t5] "=&r" (t5),
            [end] "+r" (end)
            :
            : "cc", "memory");
    }
    #elif NN_DSP
    // Per 8 taps: 2 LDR + 4 LDRD, 4 AND, 8 SXTB16, 16 SMLAD for 32 MACs.
    for (int32_t g = k8 >> 3; g > 0; g--, w += 4, x += 16) {
        const uint32_t wa = nn_read_u32(w), wb = nn_read_u32(w + d);
        uint32_t ta = (wa << 4) & NN_S4_HI_MASK, tb = (wb << 4) & NN_S4_HI_MASK;
        uint32_t wa02 = nn_sxtb16(ta), wa13 = nn_sxtb16_ror8(ta);
        uint32_t wb02 = nn_sxtb16(tb), wb13 = nn_sxtb16_ror8(tb);
        uint32_t xa = nn_read_u32(x), xb = nn_read_u32(x + 2);
        a00 = nn_smlad(wa02, xa, a00);
        a00 = nn_smlad(wa13, xb, a00);
        a10 = nn_smlad(wb02, xa, a10);
        a10 = nn_smlad(wb13, xb, a10);
        xa = nn_read_u32(x + 4);
        xb = nn_read_u32(x + 6);
        a01 = nn_smlad(wa02, xa, a01);
        a01 = nn_smlad(wa13, xb, a01);
        a11 = nn_smlad(wb02, xa, a11);
        a11 = nn_smlad(wb13, xb, a11);
        ta = wa & NN_S4_HI_MASK;
        tb = wb & NN_S4_HI_MASK;
        wa02 = nn_sxtb16(ta);
        wa13 = nn_sxtb16_ror8(ta);
        wb02 = nn_sxtb16(tb);
        wb13 = nn_sxtb16_ror8(tb);
        xa = nn_read_u32(x + 8);
        xb = nn_read_u32(x + 10);
        a00 = nn_smlad(wa02, xa, a00);
        a00 = nn_smlad(wa13, xb, a00);
        a10 = nn_smlad(wb02, xa, a10);
        a10 = nn_smlad(wb13, xb, a10);
        xa = nn_read_u32(x + 12);
        xb = nn_read_u32(x + 14);
        a01 = nn_smlad(wa02, xa, a01);
        a01 = nn_smlad(wa13, xb, a01);
        a11 = nn_smlad(wb02, xa, a11);
        a11 = nn_smlad(wb13, xb, a11);
    }
    a00 >>= 4;
    a01 >>= 4;
    a10 >>= 4;
    a11 >>= 4;
    #else
    // Signed sums (|sum| < 2^27); byte j's taps sit at the column's slot O (order
    // 0, 2, 1, 3) of the group's two halves. Per byte: 2 LDRB, 4 SBFX, 4 LDRSH, 8 MLA.
    const uint8_t *v = w + d;
    #define NN_S4_BYTE(J, O) { \
        const int32_t wl = nn_s4_lo(w[J]), wh = nn_s4_hi(w[J]); \
        const int32_t vl = nn_s4_lo(v[J]), vh = nn_s4_hi(v[J]); \
        const int32_t x0 = x[O], x1 = x[4 + O], y0 = x[8 + O], y1 = x[12 + O]; \
        a00 += wl * x0 + wh * y0; \
        a01 += wl * x1 + wh * y1; \
        a10 += vl * x0 + vh * y0; \
        a11 += vl * x1 + vh * y1; \
}
    for (int32_t g = k8 >> 3; g > 0; g--, w += 4, v += 4, x += 16) {
        NN_S4_BYTE(0, 0)
        NN_S4_BYTE(1, 2)
        NN_S4_BYTE(2, 1)
        NN_S4_BYTE(3, 3)
    }
    #undef NN_S4_BYTE
    #endif
    acc[0] = nn_mac(acc[0], a00, 1);
    acc[1] = nn_mac(acc[1], a01, 1);
    acc[2] = nn_mac(acc[2], a10, 1);
    acc[3] = nn_mac(acc[3], a11, 1);
}

/// nn_dot_1x2_s8() for int4 rows (w0 = w, w1 = w + d bytes; n <= NN_S4_MAX_TAPS taps,
/// the rows padded to whole groups of 8): acc[0] += w0.(x + offset), acc[1] +=
/// w1.(x + offset), x n int8.
NN_ALWAYS_INLINE void nn_dot_1x2_s4(const int8_t *x, int32_t offset, const uint8_t *w,
    int32_t d, int32_t n, int32_t *acc) {
    int32_t a0 = 0, a1 = 0;
    const uint8_t *v = w + d;
    #if NN_DSP
    // Per 8 taps: 2 LDR + 2 LDR (x), 4 SXTAB16, 2 LSL, 4 AND, 8 SXTB16, 8 SMLAD for 16 MACs.
    const uint32_t off2 = ((uint32_t)offset & 0xffffu) | ((uint32_t)offset << 16);
    for (int32_t g = n >> 3; g > 0; g--, x += 8, w += 4, v += 4) {
        const uint32_t wa = nn_read_u32(w), wb = nn_read_u32(v);
        uint32_t xv = nn_read_u32(x);
        uint32_t x02 = nn_sxtab16(off2, xv), x13 = nn_sxtab16_ror8(off2, xv);
        uint32_t ta = (wa << 4) & NN_S4_HI_MASK, tb = (wb << 4) & NN_S4_HI_MASK;
        a0 = nn_smlad(nn_sxtb16(ta), x02, a0);
        a0 = nn_smlad(nn_sxtb16_ror8(ta), x13, a0);
        a1 = nn_smlad(nn_sxtb16(tb), x02, a1);
        a1 = nn_smlad(nn_sxtb16_ror8(tb), x13, a1);
        xv = nn_read_u32(x + 4);
        x02 = nn_sxtab16(off2, xv);
        x13 = nn_sxtab16_ror8(off2, xv);
        ta = wa & NN_S4_HI_MASK;
        tb = wb & NN_S4_HI_MASK;
        a0 = nn_smlad(nn_sxtb16(ta), x02, a0);
        a0 = nn_smlad(nn_sxtb16_ror8(ta), x13, a0);
        a1 = nn_smlad(nn_sxtb16(tb), x02, a1);
        a1 = nn_smlad(nn_sxtb16_ror8(tb), x13, a1);
    }
    a0 >>= 4;
    a1 >>= 4;
    #else
    for (int32_t g = n >> 3; g > 0; g--, x += 8, w += 4, v += 4) {
        for (int32_t j = 0; j < 4; j++) {
            const int32_t xl = x[j] + offset, xh = x[4 + j] + offset;
            a0 += nn_s4_lo(w[j]) * xl + nn_s4_hi(w[j]) * xh;
            a1 += nn_s4_lo(v[j]) * xl + nn_s4_hi(v[j]) * xh;
        }
    }
    #endif
    for (int32_t i = 0; i < (n & 7); i++) {
        const int32_t xi = x[i] + offset;
        a0 += nn_s4_row_tap(w, i) * xi;
        a1 += nn_s4_row_tap(v, i) * xi;
    }
    acc[0] = nn_mac(acc[0], a0, 1);
    acc[1] = nn_mac(acc[1], a1, 1);
}

/// nn_dot_2x2_s8() for int4 rows (w0 = w, w1 = w + d bytes; n <= NN_S4_MAX_TAPS taps, the
/// rows padded to whole groups of 8): acc[0] += w0.x0, acc[1] += w0.x1, acc[2] += w1.x0,
/// acc[3] += w1.x1 with x0 = x, x1 = x + dx (n int8 each, + offset).
NN_ALWAYS_INLINE void nn_dot_2x2_s4(const int8_t *x, int32_t dx, int32_t offset,
    const uint8_t *w, int32_t d, int32_t n, int32_t *acc) {
    int32_t a00 = 0, a01 = 0, a10 = 0, a11 = 0;
    const uint8_t *v = w + d;
    #if NN_DSP
    // Per 8 taps: 2 LDR + 4 LDR (x), 4 SXTAB16, 4 AND, 8 SXTB16, 16 SMLAD for 32 MACs.
    const uint32_t off2 = ((uint32_t)offset & 0xffffu) | ((uint32_t)offset << 16);
    for (int32_t g = n >> 3; g > 0; g--, x += 8, w += 4, v += 4) {
        const uint32_t wa = nn_read_u32(w), wb = nn_read_u32(v);
        for (int h = 0; h < 2; h++) {
            const uint32_t ta = h ? wa & NN_S4_HI_MASK : (wa << 4) & NN_S4_HI_MASK;
            const uint32_t tb = h ? wb & NN_S4_HI_MASK : (wb << 4) & NN_S4_HI_MASK;
            const uint32_t wa02 = nn_sxtb16(ta), wa13 = nn_sxtb16_ror8(ta);
            const uint32_t wb02 = nn_sxtb16(tb), wb13 = nn_sxtb16_ror8(tb);
            uint32_t xv = nn_read_u32(x + 4 * h);
            uint32_t x02 = nn_sxtab16(off2, xv), x13 = nn_sxtab16_ror8(off2, xv);
            a00 = nn_smlad(wa02, x02, a00);
            a00 = nn_smlad(wa13, x13, a00);
            a10 = nn_smlad(wb02, x02, a10);
            a10 = nn_smlad(wb13, x13, a10);
            xv = nn_read_u32(x + dx + 4 * h);
            x02 = nn_sxtab16(off2, xv);
            x13 = nn_sxtab16_ror8(off2, xv);
            a01 = nn_smlad(wa02, x02, a01);
            a01 = nn_smlad(wa13, x13, a01);
            a11 = nn_smlad(wb02, x02, a11);
            a11 = nn_smlad(wb13, x13, a11);
        }
    }
    a00 >>= 4;
    a01 >>= 4;
    a10 >>= 4;
    a11 >>= 4;
    #else
    for (int32_t g = n >> 3; g > 0; g--, x += 8, w += 4, v += 4) {
        for (int32_t j = 0; j < 4; j++) {
            const int32_t wl = nn_s4_lo(w[j]), wh = nn_s4_hi(w[j]);
            const int32_t vl = nn_s4_lo(v[j]), vh = nn_s4_hi(v[j]);
            const int32_t xl = x[j] + offset, xh = x[4 + j] + offset;
            const int32_t yl = x[dx + j] + offset, yh = x[dx + 4 + j] + offset;
            a00 += wl * xl + wh * xh;
            a01 += wl * yl + wh * yh;
            a10 += vl * xl + vh * xh;
            a11 += vl * yl + vh * yh;
        }
    }
    #endif
    for (int32_t i = 0; i < (n & 7); i++) {
        const int32_t xa = x[i] + offset, xb = x[dx + i] + offset;
        const int32_t wt = nn_s4_row_tap(w, i), vt = nn_s4_row_tap(v, i);
        a00 += wt * xa;
        a01 += wt * xb;
        a10 += vt * xa;
        a11 += vt * xb;
    }
    acc[0] = nn_mac(acc[0], a00, 1);
    acc[1] = nn_mac(acc[1], a01, 1);
    acc[2] = nn_mac(acc[2], a10, 1);
    acc[3] = nn_mac(acc[3], a11, 1);
}

#endif // MICROAI_NN_DOT_H
