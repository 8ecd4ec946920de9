// Requantization: the one place int32 accumulators are rescaled to int8 units.
// Two roundings, as LiteRT's reference kernels use them (measured against LiteRT 2.3,
// BUILTIN_REF): nn_requantize() is gemmlowp's double rounding
// (SaturatingRoundingDoublingHighMul, then RoundingDivideByPOT), used by CONV_2D and
// DEPTHWISE_CONV_2D; nn_requantize_single() rounds once (TFLITE_SINGLE_ROUNDING), used
// by FULLY_CONNECTED. Mirrored by host/microai/quant.py.
#include "nn_functions.h"

int32_t nn_doubling_high_mul(int32_t a, int32_t b) {
    if (a == b && a == INT32_MIN) {
        return INT32_MAX; // the one product that overflows
    }
    int64_t ab = (int64_t)a * (int64_t)b;
    int32_t nudge = ab >= 0 ? (1 << 30) : (1 - (1 << 30));
    // Division truncating toward zero, as gemmlowp's reference does.
    return (int32_t)((ab + nudge) / ((int64_t)1 << 31));
}

int32_t nn_divide_by_pot(int32_t x, int32_t exponent) {
    int32_t mask = (int32_t)(((int64_t)1 << exponent) - 1);
    int32_t remainder = x & mask;
    int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

int32_t nn_requantize(int32_t acc, int32_t multiplier, int32_t shift) {
    int32_t left = shift > 0 ? shift : 0;
    int32_t right = shift > 0 ? 0 : -shift;
    // TFLite multiplies by 1 << left in int32 and lets it wrap; do the same, defined.
    int32_t scaled = (int32_t)((uint32_t)acc << left);
    return nn_divide_by_pot(nn_doubling_high_mul(scaled, multiplier), right);
}

int32_t nn_requantize_single(int32_t acc, int32_t multiplier, int32_t shift) {
    // (acc * multiplier) / 2^(31 - shift), rounded half up, in 64 bits.
    int32_t total = 31 - shift;
    int64_t r = (int64_t)acc * multiplier + ((int64_t)1 << (total - 1));
    return (int32_t)(r >> total);
}
