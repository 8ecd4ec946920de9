// FULLY_CONNECTED: one GEMV per batch row, two output units per pass.
//
// The weights offset (0 for symmetric weights) is folded out of the inner loop:
//   sum_i (x[i] + in_off) * (w[i] + f_off) = sum_i (x[i] + in_off) * w[i]
//                                            + f_off * sum_i (x[i] + in_off)
// with the second sum computed once per batch row.
#include "nn_functions.h"

// Two output units against one input row: the one place for a DSP inner loop.
static inline void nn_fc_dot_1x2_s8(const int8_t *x, const int8_t *w0, const int8_t *w1,
    int32_t n, int32_t input_offset, int32_t *acc0, int32_t *acc1) {
    int32_t a0 = 0, a1 = 0;
    for (int32_t i = 0; i < n; i++) {
        int32_t xi = x[i] + input_offset;
        a0 += xi * w0[i];
        a1 += xi * w1[i];
    }
    *acc0 = a0;
    *acc1 = a1;
}

static inline int8_t nn_fc_out(int32_t acc, int32_t extra, const nn_fc_params *p,
    const nn_quant *q, const int32_t *bias, int32_t o) {
    uint32_t a = (uint32_t)acc + (uint32_t)extra;
    if (bias != NULL) {
        a += (uint32_t)bias[o];
    }
    const int32_t i = q->per_channel ? o : 0;
    int32_t v = q->rounding == NN_ROUNDING_SINGLE
        ? nn_requantize_single((int32_t)a, q->multiplier[i], q->shift[i])
        : nn_requantize((int32_t)a, q->multiplier[i], q->shift[i]);
    v = nn_add_wrap(v, p->output_offset);
    v = v < p->act.min ? p->act.min : v;
    v = v > p->act.max ? p->act.max : v;
    return (int8_t)v;
}

nn_status nn_fc_s8(const nn_fc_params *p, const nn_quant *q, int32_t batches,
    int32_t in_depth, const int8_t *in, int32_t out_depth, const int8_t *weights,
    const int32_t *bias, int8_t *out) {
    if (batches < 0 || in_depth < 1 || out_depth < 1) {
        return NN_ERR_ARG;
    }
    for (int32_t b = 0; b < batches; b++) {
        const int8_t *x = in + (size_t)b * in_depth;
        int32_t extra = 0; // f_off * sum(x + in_off)
        if (p->filter_offset != 0) {
            int32_t sum = 0;
            for (int32_t i = 0; i < in_depth; i++) {
                sum += x[i] + p->input_offset;
            }
            extra = (int32_t)((uint32_t)sum * (uint32_t)p->filter_offset);
        }
        int8_t *o = out + (size_t)b * out_depth;
        for (int32_t u = 0; u < out_depth; u += 2) {
            const int32_t u1 = u + 1 < out_depth ? u + 1 : u;
            int32_t acc0, acc1;
            nn_fc_dot_1x2_s8(x, weights + (size_t)u * in_depth, weights + (size_t)u1 * in_depth,
                in_depth, p->input_offset, &acc0, &acc1);
            o[u] = nn_fc_out(acc0, extra, p, q, bias, u);
            o[u1] = nn_fc_out(acc1, extra, p, q, bias, u1);
        }
    }
    return NN_OK;
}
