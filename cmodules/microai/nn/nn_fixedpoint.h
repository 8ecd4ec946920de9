// microai nn: gemmlowp-style fixed-point helpers for the int8 activation kernels.
//
// Bit-exact ports of the scalar int32 paths of gemmlowp's fixedpoint.h as TFLite's
// reference kernels use them. A value "Qm" has m integer bits and 31 - m fractional
// bits in an int32 (raw); Q0 covers [-1, 1).
#ifndef MICROAI_NN_FIXEDPOINT_H
#define MICROAI_NN_FIXEDPOINT_H

#include <stdint.h>

/// gemmlowp SaturatingRoundingMultiplyByPOT<exponent> for exponent >= 0 (a saturating
/// left shift) and exponent < 0 (RoundingDivideByPOT).
int32_t nn_fp_mul_by_pot(int32_t x, int32_t exponent);

/// gemmlowp exp_on_negative_values: exp(a) for a <= 0 given in Q(integer_bits)
/// (0 <= integer_bits <= 30); the result is Q0.
int32_t nn_fp_exp_on_negative_values(int32_t a, int32_t integer_bits);

/// gemmlowp one_over_one_plus_x_for_x_in_0_1: 1 / (1 + a) for a in [0, 1), Q0 in and out.
int32_t nn_fp_one_over_one_plus_x(int32_t a);

/// gemmlowp one_minus_x_over_one_plus_x_for_x_in_0_1: (1 - a) / (1 + a) for a in [0, 1),
/// Q0 in and out.
int32_t nn_fp_one_minus_x_over_one_plus_x(int32_t a);

/// gemmlowp tanh: tanh(a) for a in Q(integer_bits) (0 <= integer_bits <= 29); the result
/// is Q0.
int32_t nn_fp_tanh(int32_t a, int32_t integer_bits);

/// TFLite GetReciprocal: x (> 0) in Q(x_integer_bits); returns 1 / x as Q0 scaled by
/// 2^-num_bits_over_unit, with *num_bits_over_unit = x_integer_bits - clz(x).
int32_t nn_fp_reciprocal(int32_t x, int32_t x_integer_bits, int32_t *num_bits_over_unit);

/// gemmlowp logistic on int16 raw values: a in Q(integer_bits) (0 <= integer_bits <= 6),
/// the result in Q0.15 (nn_fixedpoint16.c).
int16_t nn_fp16_logistic(int16_t a, int32_t integer_bits);

/// gemmlowp tanh on int16 raw values: a in Q(integer_bits) (0 <= integer_bits <= 6), the
/// result in Q0.15.
int16_t nn_fp16_tanh(int16_t a, int32_t integer_bits);

/// a + b with int32 wrap-around, as the reference kernels' int32 adds behave on every
/// target, without C's undefined signed overflow: an offset added to a requantized value
/// that extreme (valid but absurd) multipliers push to the int32 limits.
static inline int32_t nn_add_wrap(int32_t a, int32_t b) {
    return (int32_t)((uint32_t)a + (uint32_t)b);
}

#endif // MICROAI_NN_FIXEDPOINT_H
