// SOFTMAX int8 -> int8 (output scale 1/256, zero point -128) along the last axis,
// bit-exact with TFLite's reference_ops::Softmax for quantized input: exp in Q5.26 of
// the beta-scaled difference to the row maximum, sums in Q12, one fixed-point reciprocal.
//
// Each output element depends only on its own input and on row values computed before
// the row's first store, so out == in (exactly in place) is allowed.
#include "nn_fixedpoint.h"
#include "nn_functions.h"

#define SCALED_DIFF_INT_BITS (5)
#define ACCUM_INT_BITS (12)

// exp(beta * scale * diff) in Q0 for diff <= 0 (TFLite: MultiplyByQuantizedMultiplier-
// GreaterThanOne, then exp_on_negative_values on Q5.26).
static inline int32_t exp_of_diff(int32_t diff, int32_t multiplier, int32_t left_shift) {
    const int32_t rescaled = nn_doubling_high_mul((int32_t)((uint32_t)diff << left_shift),
        multiplier);
    return nn_fp_exp_on_negative_values(rescaled, SCALED_DIFF_INT_BITS);
}

nn_status nn_softmax_s8(const nn_softmax_params *p, int32_t rows, int32_t depth,
    const int8_t *in, int8_t *out) {
    const int32_t multiplier = p->input_multiplier;
    const int32_t left_shift = p->input_left_shift;
    const int32_t diff_min = p->diff_min;
    for (int32_t r = 0; r < rows; r++, in += depth, out += depth) {
        int32_t max = INT8_MIN;
        for (int32_t c = 0; c < depth; c++) {
            if (in[c] > max) {
                max = in[c];
            }
        }
        uint32_t sum = 0; // Q12; wraps like the reference's plain fixed-point add
        for (int32_t c = 0; c < depth; c++) {
            const int32_t diff = in[c] - max;
            if (diff >= diff_min) {
                // Rescale Q0 -> Q12: a rounding shift right by 12.
                sum += (uint32_t)nn_divide_by_pot(exp_of_diff(diff, multiplier, left_shift),
                    ACCUM_INT_BITS);
            }
        }
        int32_t bits_over_unit;
        const int32_t scale = nn_fp_reciprocal((int32_t)sum, ACCUM_INT_BITS, &bits_over_unit);
        const int32_t exponent = bits_over_unit + 31 - 8;
        for (int32_t c = 0; c < depth; c++) {
            const int32_t diff = in[c] - max;
            int32_t o = INT8_MIN;
            if (diff >= diff_min) {
                const int32_t e = exp_of_diff(diff, multiplier, left_shift);
                // The reference requires exponent <= 31 (it stops otherwise); a larger one
                // would only shift a Q0 product out entirely.
                o = exponent > 31 ? 0 : nn_divide_by_pot(nn_doubling_high_mul(scale, e), exponent);
                o += INT8_MIN;
                o = o > INT8_MAX ? INT8_MAX : (o < INT8_MIN ? INT8_MIN : o);
            }
            out[c] = (int8_t)o;
        }
    }
    return NN_OK;
}
