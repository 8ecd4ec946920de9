// UNIDIRECTIONAL_SEQUENCE_LSTM, int8 activations and weights, int16 cell, as TFLite-Micro's
// integer LSTM (lstm_eval.h, LstmStep) or LiteRT's (lstm_eval.cc, LstmStepInteger8x8_16)
// computes it (nn_lstm_params says where they differ): no peephole, projection or layer
// norm (the host refuses those). Each batch row is independent, so rows run one after
// the other whether the tensors are time major or not, with one row's gates in scratch.
#include "nn_dot.h"
#include "nn_fixedpoint.h"
#include "nn_functions.h"

static inline int16_t sat16(int32_t v) {
    return (int16_t)nn_sat_s16(v);
}

// TFLite's int16 Logistic with a power-of-two input (multiplier 0, shift 0: x 3), Q3.12
// in, Q0.15 out: the table interpolated on |x| in steps of 2^9.
static int16_t sigmoid16(const uint16_t *table, int16_t x) {
    const int32_t v = x * 3;
    const uint32_t a = (uint32_t)(v < 0 ? -v : v), uh = a >> 9;
    uint32_t r;
    if (uh >= 255) {
        r = 0x7FFFu << 10;
    } else {
        const uint32_t ua = table[uh], ub = table[uh + 1];
        r = (ua << 9) + (a & 0x1ff) * (ub - ua); // ub >= ua: the table rises
    }
    r = v >= 0 ? r + (1u << 9) : (1u << 25) - r + (1u << 9) - 1;
    return (int16_t)(r >> 10);
}

// TFLite's int16 Tanh: x scaled by multiplier (0: 3 << shift, shift 0) and rounded off
// shift bits, then the sigmoid table at twice the resolution.
static int16_t tanh16(const uint16_t *table, int16_t x, int32_t multiplier, int32_t shift) {
    if (multiplier == 0) {
        multiplier = 3 << shift;
        shift = 0;
    }
    const int32_t round = shift > 0 ? 1 << (shift - 1) : 0;
    const int32_t v = (x * multiplier + round) >> shift;
    const uint32_t a = (uint32_t)(v < 0 ? -v : v), uh = a >> 8;
    int32_t r;
    if (uh >= 255) {
        r = 0xFFFF << 8;
    } else {
        const uint32_t ua = table[uh], ub = table[uh + 1];
        r = (int32_t)((ua << 8) + (a & 0xff) * (ub - ua));
    }
    r = v >= 0 ? r - (1 << 23) + (1 << 7) : -r + (1 << 23) + (1 << 7) - 1;
    return (int16_t)(r >> 8);
}

// TFLite's MulElementwise of two symmetric int16 values: product requantized, plus offset,
// clamped to [lo, hi].
static int32_t mul16(int16_t a, int16_t b, int32_t multiplier, int32_t shift, int32_t offset,
    int32_t lo, int32_t hi) {
    const int32_t v = offset + nn_requantize(a * b, multiplier, shift);
    return v < lo ? lo : (v > hi ? hi : v);
}

// Gate outputs s and s + 1 (s alone when d is 0): the input's FC with the bias and the
// hidden state's FC, each requantized to int16 at 2^-12 (output zero point 0), summed
// with saturation as the golden does, then the gate's activation.
static void gate_pair(const nn_lstm_params *p, const nn_lstm_gate *q, const int8_t *wi,
    const int8_t *wr, const int32_t *bias, const int8_t *x, const int8_t *h, int32_t d,
    int tanh_gate, int16_t *g) {
    const int32_t I = p->input_size, S = p->state_size;
    int32_t a[2] = { bias[0], bias[d] }, r[2] = { 0, 0 };
    nn_dot_1x2_s8(x, p->input_offset, wi, d * I, I, a);
    nn_dot_1x2_s8(h, -p->hidden_zero_point, wr, d * S, S, r);
    for (int32_t j = 0; j <= d; j++) {
        const int16_t in = sat16(nn_requantize(a[j], q->input_multiplier, q->input_shift));
        const int32_t rec = nn_requantize(r[j], q->recurrent_multiplier, q->recurrent_shift);
        if (p->litert) {
            const int16_t v = sat16(nn_add_wrap(rec, in));
            g[j] = tanh_gate ? nn_fp16_tanh(v, 3) : nn_fp16_logistic(v, 3);
        } else {
            const int16_t v = sat16(in + sat16(rec));
            g[j] = tanh_gate ? tanh16(p->sigmoid_table, v, 0, 0)
                             : sigmoid16(p->sigmoid_table, v);
        }
    }
}

// The new cell value from the forget, input and cell gates (Q0.15) and the old cell.
static int16_t new_cell(const nn_lstm_params *p, int16_t f, int16_t i, int16_t g, int16_t c) {
    int32_t v;
    if (p->litert) {
        const int16_t kept = (int16_t)nn_divide_by_pot(f * c, 15);
        const int16_t added = (int16_t)nn_divide_by_pot(i * g, p->cell_shift);
        v = sat16(kept + added);
    } else {
        v = sat16(mul16(f, c, p->forget_multiplier, p->forget_shift, 0, INT16_MIN, INT16_MAX)
            + mul16(i, g, p->input_multiplier, p->input_shift, 0, INT16_MIN, INT16_MAX));
    }
    if (p->cell_clip > 0) {
        v = v > p->cell_clip ? p->cell_clip : (v < -p->cell_clip ? -p->cell_clip : v);
    }
    return (int16_t)v;
}

nn_status nn_lstm_s8(const nn_lstm_params *p, const int8_t *in, const int8_t *w_in,
    const int8_t *w_rec, const int32_t *bias, int8_t *hidden, int16_t *cell, int8_t *out,
    int16_t *scratch) {
    const int32_t B = p->batch, T = p->time, I = p->input_size, S = p->state_size;
    if (B < 1 || T < 1 || I < 1 || S < 1) {
        return NN_ERR_ARG;
    }
    int16_t *g[4] = { scratch, scratch + S, scratch + 2 * S, scratch + 3 * S };
    for (int32_t b = 0; b < B; b++) {
        int8_t *h = hidden + (size_t)b * (size_t)S;
        int16_t *c = cell + (size_t)b * (size_t)S;
        for (int32_t t = 0; t < T; t++) {
            const size_t row = p->time_major ? (size_t)t * (size_t)B + (size_t)b
                                             : (size_t)b * (size_t)T + (size_t)t;
            const int8_t *x = in + row * (size_t)I;
            // The four gates, all from the previous hidden state.
            for (int32_t k = 0; k < 4; k++) {
                const nn_lstm_gate *q = &p->gate[k];
                const int8_t *wi = w_in + (size_t)k * (size_t)S * (size_t)I;
                const int8_t *wr = w_rec + (size_t)k * (size_t)S * (size_t)S;
                const int32_t *bk = bias + (size_t)k * (size_t)S;
                for (int32_t s = 0; s < S; s += 2) {
                    gate_pair(p, q, wi + (size_t)s * (size_t)I, wr + (size_t)s * (size_t)S,
                        bk + s, x, h, s + 1 < S, k == 2, g[k] + s);
                }
            }
            // The cell, then the hidden state.
            for (int32_t s = 0; s < S; s++) {
                c[s] = new_cell(p, g[1][s], g[0][s], g[2][s], c[s]);
                const int16_t th = p->litert ? nn_fp16_tanh(c[s], p->tanh_integer_bits)
                    : tanh16(p->sigmoid_table, c[s], p->tanh_multiplier, p->tanh_shift);
                h[s] = (int8_t)mul16(th, g[3][s], p->hidden_multiplier, p->hidden_shift,
                    p->hidden_out_offset, INT8_MIN, INT8_MAX);
            }
            int8_t *o = out + row * (size_t)S;
            for (int32_t s = 0; s < S; s++) {
                o[s] = h[s];
            }
        }
    }
    return NN_OK;
}
