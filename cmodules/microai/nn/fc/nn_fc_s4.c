// FULLY_CONNECTED with int4 weights rows (nn_s4_rows_prepare(): each unit's row padded to
// whole groups of 8 taps, 4 bytes a group; nn_dot.h tells the order): two output units x
// two batch rows per pass (one row for a last odd row, as for the usual single batch),
// as nn_fc_s8 and with its arithmetic: SXTB16 of the masked nibbles (times 16, shifted back
// exactly) against the input widened with its offset by SXTAB16 on Cortex-M4/M7.
//
// The weights offset (0 for symmetric weights) is folded out of the inner loop as in
// nn_fc_s8: f_off * sum_i (x[i] + in_off), once per batch row.
#include "nn_dot.h"
#include "nn_functions.h"

NN_ALWAYS_INLINE int8_t nn_fc_s4_out(int32_t a, int32_t mult, int32_t shift, int single,
    int32_t off, int32_t lo, int32_t hi) {
    int32_t v = single ? nn_requantize_single(a, mult, shift) : nn_requantize(a, mult, shift);
    v = (int32_t)((uint32_t)v + (uint32_t)off);
    v = v < lo ? lo : v;
    return (int8_t)(v > hi ? hi : v);
}

nn_status nn_fc_s4(const nn_fc_params *p, const nn_quant *q, int32_t batches,
    int32_t in_depth, const int8_t *in, int32_t out_depth, const uint8_t *weights,
    const int32_t *bias, int8_t *out) {
    if (batches < 0 || in_depth < 1 || out_depth < 1 || (uintptr_t)weights % 4 != 0) {
        return NN_ERR_ARG;
    }
    if (in_depth > NN_S4_MAX_TAPS) {
        return NN_ERR_UNSUPPORTED; // the x16 sums could overflow (nn_dot.h)
    }
    const int32_t in_off = p->input_offset, off = p->output_offset;
    const int32_t lo = p->act.min, hi = p->act.max;
    const int single = q->rounding == NN_ROUNDING_SINGLE;
    const int32_t qstep = q->per_channel ? 1 : 0;
    const int32_t row = (int32_t)nn_s4_rows_bytes(1, in_depth);
    for (int32_t b = 0; b < batches; b += 2) {
        const int rows = b + 1 < batches ? 2 : 1;
        const int8_t *x0 = in + (size_t)b * in_depth;
        uint32_t extra[2] = { 0, 0 }; // f_off * sum(x + in_off) per row, wrapping
        if (p->filter_offset != 0) {
            for (int r = 0; r < rows; r++) {
                uint32_t sum = 0;
                for (int32_t i = 0; i < in_depth; i++) {
                    sum += (uint32_t)(x0[r * in_depth + i] + in_off);
                }
                extra[r] = sum * (uint32_t)p->filter_offset;
            }
        }
        int8_t *o0 = out + (size_t)b * out_depth, *o1 = o0 + out_depth;
        const uint8_t *w = weights;
        const int32_t *m = q->multiplier, *s = q->shift;
        for (int32_t u = 0; u < out_depth; u += 2, w += 2 * row, m += 2 * qstep,
             s += 2 * qstep) {
            const int two = u + 1 < out_depth;
            const uint32_t b0 = (uint32_t)(bias != NULL ? bias[u] : 0);
            const uint32_t b1 = (uint32_t)(bias != NULL && two ? bias[u + 1] : 0);
            const int32_t d = two ? row : 0;
            if (rows == 2) {
                int32_t acc[4] = { (int32_t)(b0 + extra[0]), (int32_t)(b0 + extra[1]),
                                   (int32_t)(b1 + extra[0]), (int32_t)(b1 + extra[1]) };
                nn_dot_2x2_s4(x0, in_depth, in_off, w, d, in_depth, acc);
                o0[u] = nn_fc_s4_out(acc[0], m[0], s[0], single, off, lo, hi);
                o1[u] = nn_fc_s4_out(acc[1], m[0], s[0], single, off, lo, hi);
                if (two) {
                    o0[u + 1] = nn_fc_s4_out(acc[2], m[qstep], s[qstep], single, off, lo, hi);
                    o1[u + 1] = nn_fc_s4_out(acc[3], m[qstep], s[qstep], single, off, lo, hi);
                }
            } else {
                int32_t acc[2] = { (int32_t)(b0 + extra[0]), (int32_t)(b1 + extra[0]) };
                nn_dot_1x2_s4(x0, in_off, w, d, in_depth, acc);
                o0[u] = nn_fc_s4_out(acc[0], m[0], s[0], single, off, lo, hi);
                if (two) {
                    o0[u + 1] = nn_fc_s4_out(acc[1], m[qstep], s[qstep], single, off, lo, hi);
                }
            }
        }
    }
    return NN_OK;
}
