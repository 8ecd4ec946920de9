// SVDF int8, as TFLite's integer SVDF computes it (TFLite-Micro's EvalIntegerSvdfReference
// and LiteRT's reference EvalIntegerSVDF agree for an int16 state, whose zero point is 0):
// 1. the state, [batch][filters][memory] flat, moves one element back (the oldest value
//    of each filter gives way; the last slot of each filter is overwritten next);
// 2. each filter's newest value: the feature dot product requantized, saturated to the
//    state's type, plus the state's zero point (an int8 state stores that sum wrapped to
//    8 bits, as the reference's implicit conversion does);
// 3. each unit: bias plus, over its rank filters, weights_time . (state - zero point),
//    requantized, plus the output zero point, saturated to int8.
// The time sums wrap in 32 bits as the reference's int32 arithmetic does on every target.
#include <string.h>
#include "nn_dot.h"
#include "nn_functions.h"

// weights_time . state over n int16 (the state's zero point is 0), added to acc wrapping:
// two products per SMLAD on a DSP core.
static uint32_t time_dot_s16(const int16_t *w, const int16_t *s, size_t n, uint32_t acc) {
    #if NN_DSP
    for (; n >= 2; n -= 2, w += 2, s += 2) {
        acc = (uint32_t)nn_smlad(nn_read_u32(w), nn_read_u32(s), (int32_t)acc);
    }
    #endif
    for (; n > 0; n--) {
        acc += (uint32_t)(*w++ * *s++);
    }
    return acc;
}

nn_status nn_svdf_s8(const nn_svdf_params *p, const int8_t *in, const int8_t *weights_feature,
    const void *weights_time, const int32_t *bias, void *state, int32_t state_bytes,
    int8_t *out) {
    if (p->batch < 1 || p->input_size < 1 || p->units < 1 || p->rank < 1 || p->memory < 1
        || (state_bytes != 1 && state_bytes != 2)) {
        return NN_ERR_ARG;
    }
    const int32_t filters = p->units * p->rank, memory = p->memory;
    const size_t n_state = (size_t)p->batch * (size_t)filters * (size_t)memory;
    memmove(state, (uint8_t *)state + state_bytes, (n_state - 1) * (size_t)state_bytes);
    const int32_t zp = p->state_zero_point;
    const int32_t lo = state_bytes == 1 ? INT8_MIN : INT16_MIN;
    const int32_t hi = state_bytes == 1 ? INT8_MAX : INT16_MAX;
    for (int32_t b = 0; b < p->batch; b++) {
        const int8_t *x = in + (size_t)b * (size_t)p->input_size;
        const size_t row = (size_t)b * (size_t)filters;
        // Filters f and f + 1 at a time (f alone, the last of an odd count): the newest
        // value, the requantized feature dot product saturated to the state's type plus
        // its zero point (|sum| < 65,535 * 128 * 255 < 2^31).
        for (int32_t f = 0; f < filters; f += 2) {
            const int32_t d = f + 1 < filters;
            int32_t acc[2] = { 0, 0 };
            nn_dot_1x2_s8(x, p->input_offset, weights_feature + (size_t)f * (size_t)p->input_size,
                d * p->input_size, p->input_size, acc);
            for (int32_t j = 0; j <= d; j++) {
                int32_t v = nn_requantize(acc[j], p->feature_multiplier, p->feature_shift);
                v = (v < lo ? lo : (v > hi ? hi : v)) + zp;
                const size_t at = (row + (size_t)(f + j)) * (size_t)memory + (size_t)memory - 1;
                if (state_bytes == 1) {
                    ((int8_t *)state)[at] = (int8_t)(uint8_t)(uint32_t)v;
                } else {
                    ((int16_t *)state)[at] = (int16_t)v;
                }
            }
        }
        for (int32_t u = 0; u < p->units; u++) {
            uint32_t acc = bias != NULL ? (uint32_t)bias[u] : 0;
            const size_t f0 = (size_t)u * (size_t)p->rank;
            const size_t n = (size_t)p->rank * (size_t)memory;
            const size_t s0 = (row + f0) * (size_t)memory;
            if (state_bytes == 1) {
                const int8_t *w = (const int8_t *)weights_time + f0 * (size_t)memory;
                const int8_t *s = (const int8_t *)state + s0;
                for (size_t k = 0; k < n; k++) {
                    acc += (uint32_t)(w[k] * (s[k] - zp));
                }
            } else {
                acc = time_dot_s16((const int16_t *)weights_time + f0 * (size_t)memory,
                    (const int16_t *)state + s0, n, acc);
            }
            int32_t v = nn_requantize((int32_t)acc, p->output_multiplier, p->output_shift);
            v = (int32_t)((uint32_t)v + (uint32_t)p->output_offset);
            out[(size_t)b * (size_t)p->units + (size_t)u] = (int8_t)nn_sat_s8(v);
        }
    }
    return NN_OK;
}
