// QUANTIZE float32 -> int8 at a model's input, bit-exact with TFLite's
// reference_ops::AffineQuantize, which does this in float: round(x / scale) (a float
// division, rounding half away from zero) + zero point, saturated to int8. The same
// float division is done here; the rounding is done without libm.
//
// Walks forward, so out may start where in starts (each store lands on input bytes
// already read). NaN (undefined in TFLite) gives 127.
#include "nn_functions.h"

nn_status nn_quantize_f32_s8(const nn_affine_params *p, int32_t size, const float *in,
    int8_t *out) {
    const float scale = p->scale;
    const int32_t zp = p->zero_point;
    for (int32_t i = 0; i < size; i++) {
        const float v = in[i] / scale;
        int32_t q;
        if (!(v < 1024.0f)) {
            q = 1024; // saturates below; also NaN
        } else if (v <= -1024.0f) {
            q = -1024;
        } else {
            // |v| < 2^10: truncation is exact, and so is v - t; round half away from 0.
            q = (int32_t)v;
            const float frac = v - (float)q;
            if (frac >= 0.5f) {
                q++;
            } else if (frac <= -0.5f) {
                q--;
            }
        }
        q += zp;
        q = q < INT8_MIN ? INT8_MIN : (q > INT8_MAX ? INT8_MAX : q);
        out[i] = (int8_t)q;
    }
    return NN_OK;
}
