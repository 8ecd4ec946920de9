// RELU, RELU6 and LEAKY_RELU int8, bit-exact with TFLite's reference kernels
// (ReluQuantized / QuantizedReluX, QuantizeLeakyRelu): the input less its zero point,
// rescaled (one multiplier at and above zero, another below), plus the output zero point,
// clamped. TFLite-Micro's RELU6 clamps in the input's units, which is the identity
// rescaling (multiplier 2^30, shift 1) with the input's zero point on both sides.
#include "nn_functions.h"

nn_status nn_relu_s8(const nn_relu_params *p, int32_t size, const int8_t *in, int8_t *out) {
    const int32_t zin = p->input_zero_point, zout = p->output_zero_point;
    const int32_t lo = p->act.min, hi = p->act.max;
    for (int32_t i = 0; i < size; i++) {
        const int32_t x = in[i] - zin;
        const int k = x < 0;
        int32_t v = zout + nn_requantize(x, p->multiplier[k], p->shift[k]);
        v = v < lo ? lo : (v > hi ? hi : v);
        out[i] = (int8_t)v;
    }
    return NN_OK;
}
