// DEQUANTIZE int8 -> float32 at a model's output. TFLite's reference Dequantize computes
// (float)((double)scale * (in - zero_point)); that double product of a 24-bit and a 9-bit
// (int16: 17-bit) integer is exact, so one float multiply rounds it identically
// (bit-exact, no double).
//
// Walks backward, so out may start where in starts (each 4-byte store lands on input
// bytes already read).
#include "nn_functions.h"

nn_status nn_dequantize_s8_f32(const nn_affine_params *p, int32_t size, const int8_t *in,
    float *out) {
    const float scale = p->scale;
    const int32_t zp = p->zero_point;
    for (int32_t i = size - 1; i >= 0; i--) {
        out[i] = scale * (float)(in[i] - zp);
    }
    return NN_OK;
}

nn_status nn_dequantize_s16_f32(const nn_affine_params *p, int32_t size, const int16_t *in,
    float *out) {
    const float scale = p->scale;
    const int32_t zp = p->zero_point;
    for (int32_t i = size - 1; i >= 0; i--) {
        out[i] = scale * (float)(in[i] - zp);
    }
    return NN_OK;
}
