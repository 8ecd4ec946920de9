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
#include <string.h>

#include "nn_dot.h"
#include "nn_functions.h"

size_t nn_fc_s8_block4_scratch_size(int32_t in_depth) {
    return nn_col_bytes(in_depth);
}

// acc[0] += w . column 0 and, with two, acc[1] += w . column 1, over the blocks [b, end).
NN_ALWAYS_INLINE void nn_fc_block4_dot(const int8_t *w, const uint16_t *b,
    const uint16_t *end, const int16_t *col, int two, int32_t *acc) {
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
}

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
    const uint32_t *rs = w->row_start;
    for (int32_t u = 0; u < out_depth; u++) {
        const uint32_t b0 = (uint32_t)(bias != NULL ? bias[u] : 0);
        int32_t acc[2] = { (int32_t)(b0 + extra[0]), (int32_t)(b0 + extra[1]) };
        nn_fc_block4_dot(w->data + 4 * rs[u], w->block + rs[u], w->block + rs[u + 1], col,
            two, acc);
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
    memset(col, 0, nn_col_bytes(in_depth)); // the taps past in_depth stay 0
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
