// Requantization: the one place int32 accumulators are rescaled to int8 units.
// Bit-exact with TFLite's MultiplyByQuantizedMultiplier (double rounding), whose
// building blocks are gemmlowp's SaturatingRoundingDoublingHighMul and
// RoundingDivideByPOT. Mirrored by host/microai/quant.py.
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
