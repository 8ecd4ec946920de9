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

#include "nn_dsp.h"
#include "nn_types.h"
#if defined(__ARM_FEATURE_SAT) && __ARM_FEATURE_SAT
#include <arm_acle.h>
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

/// nn_divide_by_pot() with mask = 2^exponent - 1 and half = mask >> 1 prepared by the
/// caller (once per channel).
NN_ALWAYS_INLINE int32_t nn_divide_by_pot_m(int32_t x, int32_t exponent, int32_t mask,
    int32_t half) {
    const int32_t threshold = half + (int32_t)((uint32_t)x >> 31);
    return (x >> exponent) - ((threshold - (x & mask)) >> 31);
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

/// nn_requantize() for shift <= -1 with both roundings in one 64-bit multiply-accumulate.
/// With right = -shift >= 1, x = SRDHM(acc, m) = floor(Y / 2^31), Y = acc * m + 2^30,
/// and RDBP(x, right) = floor((x + 2^(right - 1) - [x < 0]) / 2^right), nested floors
/// give floor((acc * m + k - [x < 0] * 2^31) / 2^(31 + right)) with
/// k = 2^30 + 2^(30 + right) (nn_requantize_k()): the high word of the sum, shifted
/// right by hi_shift = right - 1. [x < 0] may be taken as [acc < 0] (m >= 0): they
/// differ only when x = 0, whose result is 0 either way. No int32 overflow, unlike
/// adding the rounding to x.
NN_ALWAYS_INLINE int32_t nn_requantize_hi(int32_t acc, int32_t multiplier, uint32_t k_lo,
    int32_t k_hi, int32_t hi_shift) {
    #if defined(__arm__) && defined(__ARM_ARCH_ISA_THUMB) && __ARM_ARCH_ISA_THUMB >= 2
    const int32_t s = acc >> 31; // 0 or -1: minus 2^31 as a 64-bit addend
    uint32_t lo;
    int32_t hi;
    __asm__ (
        "adds  %[lo], %[klo], %[s], lsl #31\n\t"
        "adc   %[hi], %[khi], %[s]\n\t"
        "smlal %[lo], %[hi], %[a], %[m]"
        : [lo] "=&r" (lo), [hi] "=&r" (hi)
        : [klo] "r" (k_lo), [khi] "r" (k_hi), [s] "r" (s), [a] "r" (acc), [m] "r" (multiplier)
        : "cc");
    return hi >> hi_shift;
    #else
    uint64_t v = (uint64_t)((int64_t)acc * multiplier) + (((uint64_t)(uint32_t)k_hi << 32) | k_lo);
    if (acc < 0) {
        v -= (uint64_t)1 << 31;
    }
    return (int32_t)(uint32_t)(v >> 32) >> hi_shift;
    #endif
}

/// nn_requantize_hi()'s constant k = 2^30 + 2^(30 + right) for right in [1, 31].
static inline uint64_t nn_requantize_k(int32_t right) {
    return ((uint64_t)1 << 30) + ((uint64_t)1 << (30 + right));
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

/// v saturated to [-128, 127]: one SSAT where the target has it (Cortex-M3/M4/M7).
NN_ALWAYS_INLINE int32_t nn_sat_s8(int32_t v) {
    #if defined(__ARM_FEATURE_SAT) && __ARM_FEATURE_SAT
    return __ssat(v, 8);
    #else
    v = v < -128 ? -128 : v;
    return v > 127 ? 127 : v;
    #endif
}

/// v saturated to [-32768, 32767]: one SSAT where the target has it.
NN_ALWAYS_INLINE int32_t nn_sat_s16(int32_t v) {
    #if defined(__ARM_FEATURE_SAT) && __ARM_FEATURE_SAT
    return __ssat(v, 16);
    #else
    v = v < INT16_MIN ? INT16_MIN : v;
    return v > INT16_MAX ? INT16_MAX : v;
    #endif
}

/// nn_requantize_out() for an activation that clamps to [-128, 127] only.
NN_ALWAYS_INLINE int8_t nn_requantize_out_s8(int32_t acc, int32_t multiplier, int32_t left,
    int32_t right, int32_t output_offset) {
    return (int8_t)nn_sat_s8((int32_t)((uint32_t)nn_requantize_lr(acc, multiplier, left, right)
        + (uint32_t)output_offset));
}

// ---- 16x8: int64 sums to int16 -------------------------------------------------------

/// TFLite's MultiplyByQuantizedMultiplier for int64 sums (TFLite-Micro): the multiplier
/// rounded to 16 bits, one rounding shift (shift in [-31, 14], |x| < 2^47).
static inline int32_t nn_requantize64(int64_t x, int32_t multiplier, int32_t shift) {
    const int32_t reduced = multiplier < 0x7FFF0000 ? (multiplier + (1 << 15)) >> 16 : 0x7FFF;
    const int32_t total_shift = 15 - shift;
    const int64_t r = x * reduced + ((int64_t)1 << (total_shift - 1));
    return (int32_t)(r >> total_shift);
}

/// The same rounded once at 2^(31 - shift), exact (LiteRT's single-rounding build, found
/// against it on sums beyond int32): round(x * multiplier / 2^total) half up, with the
/// 78-bit product in two 64-bit halves, x = hi * 2^32 + lo (lo unsigned, |hi| < 2^15).
static inline int32_t nn_requantize64_single(int64_t x, int32_t multiplier, int32_t shift) {
    const int32_t total = 31 - shift; // in [17, 62]
    const int64_t hi = x >> 32;
    const uint64_t lo = (uint64_t)x & 0xffffffffu;
    const uint64_t t = lo * (uint32_t)multiplier + ((uint64_t)1 << (total - 1));
    const int64_t h = hi * multiplier + (int64_t)(t >> 32); // the product + round, / 2^32
    if (total >= 32) {
        return (int32_t)(h >> (total - 32));
    }
    return (int32_t)(((uint64_t)h << (32 - total)) | ((t & 0xffffffffu) >> total));
}

/// A 16x8 kernel's output: channel c's int64 sum plus its bias (int32, may be NULL),
/// rescaled with the op's rounding and q's multiplier and shift, clamped to [lo, hi].
static inline int16_t nn_requantize_s16(int64_t acc, const int32_t *bias, int32_t c,
    const nn_quant *q, int32_t lo, int32_t hi) {
    if (bias != NULL) {
        acc += bias[c];
    }
    const int32_t k = q->per_channel ? c : 0;
    const int32_t v = q->rounding == NN_ROUNDING_SINGLE
        ? nn_requantize64_single(acc, q->multiplier[k], q->shift[k])
        : nn_requantize64(acc, q->multiplier[k], q->shift[k]);
    return (int16_t)(v < lo ? lo : (v > hi ? hi : v));
}

#endif // MICROAI_NN_REQUANTIZE_H
