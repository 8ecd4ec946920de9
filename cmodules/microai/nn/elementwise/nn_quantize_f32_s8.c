// QUANTIZE float32 -> int8 (and -> int16) at a model's input, bit-exact with TFLite's
// reference_ops::AffineQuantize, which does this in float: round(x / scale) (a float
// division, rounding half away from zero) + zero point, saturated to int8 (int16). The same
// float division is done here; the rounding is done without libm.
//
// Walks forward, so out may start where in starts (each store lands on input bytes
// already read). NaN (undefined in TFLite) gives 127.
#include "nn_functions.h"

// round(x / scale) half away from zero, + zero point, saturated to [lo, hi] (|lo|, hi <
// 2^16 <= the saturation bound, so every clamp is taken where the value is exact).
static inline int32_t nn_quantize1(float x, float scale, int32_t zp, int32_t lo, int32_t hi) {
    const float v = x / scale;
    int32_t q;
    if (!(v < 131072.0f)) {
        q = 131072; // saturates below; also NaN
    } else if (v <= -131072.0f) {
        q = -131072;
    } else {
        // |v| < 2^17: truncation is exact, and so is v - t; round half away from 0.
        q = (int32_t)v;
        const float frac = v - (float)q;
        if (frac >= 0.5f) {
            q++;
        } else if (frac <= -0.5f) {
            q--;
        }
    }
    q += zp;
    return q < lo ? lo : (q > hi ? hi : q);
}

nn_status nn_quantize_f32_s8(const nn_affine_params *p, int32_t size, const float *in,
    int8_t *out) {
    for (int32_t i = 0; i < size; i++) {
        out[i] = (int8_t)nn_quantize1(in[i], p->scale, p->zero_point, INT8_MIN, INT8_MAX);
    }
    return NN_OK;
}

nn_status nn_quantize_f32_s16(const nn_affine_params *p, int32_t size, const float *in,
    int16_t *out) {
    for (int32_t i = 0; i < size; i++) {
        out[i] = (int16_t)nn_quantize1(in[i], p->scale, p->zero_point, INT16_MIN, INT16_MAX);
    }
    return NN_OK;
}
