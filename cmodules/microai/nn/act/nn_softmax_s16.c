// SOFTMAX of int16 (16x8), as TFLite's reference SoftmaxInt16: per row, each value's
// difference from the row's maximum rescaled to [-65535, 0] ~ [-10, 0]
// (MultiplyByQuantizedMultiplier), recentred to int16 and looked up in exp_lut (Q0.15);
// the sum of those, normalised by its leading zeros, recentred and looked up in
// recip_lut (1 / (1 + x)); each exp times that reciprocal, rounded, in [0, 32767]. The
// exps are kept in the output row meanwhile, so out may be in (each value is read
// before its slot is written).
#include <string.h>

#include "nn_functions.h"

int16_t nn_lut16_lookup(int16_t value, const int16_t *lut) {
    const uint32_t index = 256u + (uint32_t)(value >> 7); // in [0, 511]
    const int32_t offset = value & 0x7f;
    const int32_t base = lut[index];
    const int32_t slope = (int16_t)(lut[index + 1] - lut[index]); // an int16, as TFLite's
    return (int16_t)(base + ((slope * offset + 64) >> 7));
}

static int32_t nn_clz32(uint32_t x) {
    int32_t n = 0;
    while (n < 32 && !(x & 0x80000000u)) {
        x <<= 1;
        n++;
    }
    return n;
}

nn_status nn_softmax_s16(const nn_softmax16_params *p, int32_t rows, int32_t depth,
    const int16_t *in, int16_t *out) {
    if (rows < 0 || depth < 1) {
        return NN_ERR_ARG;
    }
    for (int32_t r = 0; r < rows; r++, in += depth, out += depth) {
        int32_t max = INT16_MIN;
        for (int32_t c = 0; c < depth; c++) {
            max = in[c] > max ? in[c] : max;
        }
        int32_t sum = 0; // Q16.15, at most 65,535 x 32,767 (the loader bounds depth)
        for (int32_t c = 0; c < depth; c++) {
            const int32_t d = nn_requantize(in[c] - max, p->input_multiplier,
                p->input_left_shift) + 32767;
            const int16_t e = nn_lut16_lookup((int16_t)(d < -32768 ? -32768 : d), p->exp_lut);
            out[c] = e;
            sum += e;
        }
        if (sum <= 0) { // only with tables no golden makes (the maximum's exp is ~1.0)
            memset(out, 0, (size_t)depth * sizeof(*out));
            continue;
        }
        const int32_t headroom = nn_clz32((uint32_t)sum);
        const int32_t shifted = (int32_t)((((int64_t)sum << (headroom - 1)) + (1 << 13)) >> 14);
        int32_t x = shifted - ((1 << 15) + (1 << 16));
        x = x < -32768 ? -32768 : (x > 32767 ? 32767 : x);
        const int32_t recip = nn_lut16_lookup((int16_t)x, p->recip_lut);
        const int32_t right = 31 - headroom;
        const int64_t round = right > 0 ? (int64_t)1 << (right - 1) : 0;
        for (int32_t c = 0; c < depth; c++) {
            const int32_t v = (int32_t)(((int64_t)out[c] * recip + round) >> right);
            out[c] = (int16_t)(v < 0 ? 0 : (v > 32767 ? 32767 : v));
        }
    }
    return NN_OK;
}
