// microai nn: requantization, the one place int32 accumulators are rescaled to int8
// units. Static inline so that every kernel's output tail is straight-line code, with
// the per-channel constants kept in registers by the caller. Mirrored by
// host/microai/quant.py (tests/host/test_quant.py checks the two against each other).
//
// Two roundings, as the reference kernels use them: nn_requantize() is gemmlowp's double
// rounding (SaturatingRoundingDoublingHighMul, then RoundingDivideByPOT), used by
// CONV_2D, DEPTHWISE_CONV_2D and, for TFLite-Micro, FULLY_CONNECTED;
// nn_requantize_single() rounds once (TFLITE_SINGLE_ROUNDING), LiteRT's
// FULLY_CONNECTED. Only 64-bit multiplies and shifts, never a 64-bit division.
//
// Included by nn_functions.h, which declares these functions again (a declaration after
// a static definition keeps internal linkage) so that the host's cffi sees them.
#ifndef MICROAI_NN_REQUANTIZE_H
#define MICROAI_NN_REQUANTIZE_H

#include <stdint.h>

/// For helpers that must be inlined (into every kernel's output tail, or to be
/// specialized by constant flags), whatever the compiler's size heuristics say.
#ifndef NN_ALWAYS_INLINE
#if defined(__GNUC__)
#define NN_ALWAYS_INLINE static inline __attribute__((always_inline))
#else
#define NN_ALWAYS_INLINE static inline
#endif
#endif

// gemmlowp's rounding doubling high multiply without its one saturating case
// (a == b == INT32_MIN): round(a * b / 2^31), ties away from zero. gemmlowp adds a
// nudge of 2^30 (or 1 - 2^30 when a * b < 0) and divides truncating toward zero; both
// equal floor((a * b + 2^30) / 2^31): one SMLAL and a funnel shift. Thumb-2 gets the
// SMLAL written out, as GCC otherwise may widen a shared operand once and fall back to
// a full 64 x 64 multiply.
NN_ALWAYS_INLINE int32_t nn_doubling_high_mul_nosat(int32_t a, int32_t b) {
    #if defined(__arm__) && defined(__ARM_ARCH_ISA_THUMB) && __ARM_ARCH_ISA_THUMB >= 2
    uint32_t lo = 1u << 30;
    int32_t hi = 0;
    __asm__ ("smlal %0, %1, %2, %3" : "+r" (lo), "+r" (hi) : "r" (a), "r" (b));
    return (int32_t)((lo >> 31) | ((uint32_t)hi << 1));
    #else
    int64_t ab = (int64_t)a * b + ((int64_t)1 << 30);
    return (int32_t)(ab >> 31);
    #endif
}

/// gemmlowp SaturatingRoundingDoublingHighMul.
NN_ALWAYS_INLINE int32_t nn_doubling_high_mul(int32_t a, int32_t b) {
    if (a == INT32_MIN && b == INT32_MIN) {
        return INT32_MAX; // the one product that overflows
    }
    return nn_doubling_high_mul_nosat(a, b);
}

/// gemmlowp RoundingDivideByPOT: x / 2^exponent rounded half away from zero, exponent in
/// [0, 31].
NN_ALWAYS_INLINE int32_t nn_divide_by_pot(int32_t x, int32_t exponent) {
    const int32_t mask = (int32_t)((1u << exponent) - 1u);
    const int32_t remainder = x & mask;
    const int32_t threshold = (mask >> 1) + (int32_t)((uint32_t)x >> 31);
    // + 1 when remainder > threshold: both in [0, 2^31), so the difference's sign says.
    return (x >> exponent) - ((threshold - remainder) >> 31);
}

/// max(shift, 0), without a branch: the left part of a shift; the right part is
/// left - shift.
NN_ALWAYS_INLINE int32_t nn_requantize_left(int32_t shift) {
    return shift & ~(shift >> 31);
}

/// nn_requantize() with the shift split once per channel by the caller:
/// left = max(shift, 0), right = max(-shift, 0). multiplier >= 0.
NN_ALWAYS_INLINE int32_t nn_requantize_lr(int32_t acc, int32_t multiplier, int32_t left,
    int32_t right) {
    // TFLite multiplies by 1 << left in int32 and lets it wrap; do the same, defined.
    const int32_t scaled = (int32_t)((uint32_t)acc << left);
    return nn_divide_by_pot(nn_doubling_high_mul_nosat(scaled, multiplier), right);
}

/// TFLite MultiplyByQuantizedMultiplier(acc, multiplier, shift) with double rounding.
/// multiplier is Q31 in [0, 2^31) (the loader checks it is >= 0); shift in [-31, 30].
NN_ALWAYS_INLINE int32_t nn_requantize(int32_t acc, int32_t multiplier, int32_t shift) {
    const int32_t left = nn_requantize_left(shift);
    return nn_requantize_lr(acc, multiplier, left, left - shift);
}

/// TFLite's single-rounding MultiplyByQuantizedMultiplier: (acc * multiplier) rounded
/// half up, once, at 2^(31 - shift).
NN_ALWAYS_INLINE int32_t nn_requantize_single(int32_t acc, int32_t multiplier, int32_t shift) {
    const int32_t total = 31 - shift;
    const int64_t r = (int64_t)acc * multiplier + ((int64_t)1 << (total - 1));
    return (int32_t)(r >> total);
}

/// The output tail every int8 kernel shares: requantized value + output offset (int32
/// wrap-around, as the reference), clamped to [act_min, act_max].
NN_ALWAYS_INLINE int8_t nn_requantize_out(int32_t acc, int32_t multiplier, int32_t left,
    int32_t right, int32_t output_offset, int32_t act_min, int32_t act_max) {
    int32_t v = (int32_t)((uint32_t)nn_requantize_lr(acc, multiplier, left, right)
        + (uint32_t)output_offset);
    v = v < act_min ? act_min : v;
    v = v > act_max ? act_max : v;
    return (int8_t)v;
}

#endif // MICROAI_NN_REQUANTIZE_H
