// Fixed-point exp, reciprocal and tanh, bit-exact with the scalar int32 paths of
// gemmlowp's fixedpoint.h (exp_on_negative_values, one_over_one_plus_x_for_x_in_0_1,
// one_minus_x_over_one_plus_x_for_x_in_0_1, tanh, Rescale) and TFLite's GetReciprocal, as
// the reference int8 SOFTMAX and TFLite-Micro's int8 TANH use them.
//
// gemmlowp's plain fixed-point + and - wrap on overflow; here they are done in uint32
// so the wrap is defined C. Products are SaturatingRoundingDoublingHighMul
// (nn_doubling_high_mul), the one rounding multiply of the core.
#include "nn_fixedpoint.h"
#include "nn_functions.h"

static inline int32_t wadd(int32_t a, int32_t b) {
    return (int32_t)((uint32_t)a + (uint32_t)b);
}

static inline int32_t wsub(int32_t a, int32_t b) {
    return (int32_t)((uint32_t)a - (uint32_t)b);
}

static inline int32_t clz32(uint32_t x) {
    #if defined(__GNUC__)
    return x ? __builtin_clz(x) : 32;
    #else
    int32_t n = 0;
    while (n < 32 && !(x & 0x80000000u)) {
        x <<= 1;
        n++;
    }
    return n;
    #endif
}

int32_t nn_fp_mul_by_pot(int32_t x, int32_t exponent) {
    if (exponent < 0) {
        return nn_divide_by_pot(x, -exponent);
    }
    if (exponent == 0) {
        return x;
    }
    const int32_t threshold = (int32_t)((1u << (31 - exponent)) - 1);
    if (x > threshold) {
        return INT32_MAX;
    }
    if (x < -threshold) {
        return INT32_MIN;
    }
    return (int32_t)((uint32_t)x << exponent);
}

// exp(a) for a in [-1/4, 0), Q0 in and out: a Taylor expansion around -1/8.
static int32_t exp_on_quarter_interval(int32_t a) {
    const int32_t exp_minus_one_eighth = 1895147668;
    const int32_t one_third = 715827883;
    const int32_t x = wadd(a, 1 << 28); // a + 1/8
    const int32_t x2 = nn_doubling_high_mul(x, x);
    const int32_t x3 = nn_doubling_high_mul(x2, x);
    const int32_t x4 = nn_doubling_high_mul(x2, x2);
    const int32_t x4_over_4 = nn_divide_by_pot(x4, 2);
    const int32_t poly = nn_divide_by_pot(
        wadd(nn_doubling_high_mul(wadd(x4_over_4, x3), one_third), x2), 1);
    return wadd(exp_minus_one_eighth,
        nn_doubling_high_mul(exp_minus_one_eighth, wadd(x, poly)));
}

int32_t nn_fp_exp_on_negative_values(int32_t a, int32_t integer_bits) {
    // exp(-2^k) in Q0 for k = -2 .. 4: the barrel shifter's multipliers.
    static const int32_t exp_of_minus_pot[7] = {
        1672461947, 1302514674, 790015084, 290630308, 39332535, 720401, 242,
    };
    const int32_t frac_bits = 31 - integer_bits;
    const int32_t one_quarter = (int32_t)1 << (frac_bits - 2);
    const int32_t a_mod_quarter_minus_quarter = wsub(a & (one_quarter - 1), one_quarter);
    int32_t result = exp_on_quarter_interval(
        nn_fp_mul_by_pot(a_mod_quarter_minus_quarter, integer_bits));
    const int32_t remainder = wsub(a_mod_quarter_minus_quarter, a);
    for (int32_t k = -2; k <= 4; k++) {
        if (integer_bits > k && (remainder & ((int32_t)1 << (frac_bits + k)))) {
            result = nn_doubling_high_mul(result, exp_of_minus_pot[k + 2]);
        }
    }
    if (integer_bits > 5 && a < -((int32_t)1 << (36 - integer_bits))) {
        result = 0; // below -32: exp underflows Q0
    }
    return a == 0 ? INT32_MAX : result;
}

// 1 / ((1 + a) / 2) in Q2 for a in [0, 1) (Q0): gemmlowp's Newton-Raphson division, from
// 48/17 - 32/17 * d, three steps.
static int32_t reciprocal_half_sum_q2(int32_t a) {
    // half_denominator = (1 + a) / 2, gemmlowp's RoundingHalfSum(a, One).
    const int64_t sum = (int64_t)a + INT32_MAX;
    const int32_t half_denominator = (int32_t)((sum + (sum >= 0 ? 1 : -1)) / 2);
    const int32_t q2_one = 1 << 29;
    int32_t x = wadd(1515870810, nn_doubling_high_mul(half_denominator, -1010580540));
    for (int i = 0; i < 3; i++) {
        const int32_t half_denominator_times_x = nn_doubling_high_mul(half_denominator, x);
        const int32_t one_minus = wsub(q2_one, half_denominator_times_x);
        x = wadd(x, nn_fp_mul_by_pot(nn_doubling_high_mul(x, one_minus), 2));
    }
    return x;
}

int32_t nn_fp_one_over_one_plus_x(int32_t a) {
    return nn_fp_mul_by_pot(reciprocal_half_sum_q2(a), 1);
}

int32_t nn_fp_one_minus_x_over_one_plus_x(int32_t a) {
    return nn_fp_mul_by_pot(wsub(reciprocal_half_sum_q2(a), 1 << 29), 2);
}

int32_t nn_fp_tanh(int32_t a, int32_t integer_bits) {
    if (a == 0) {
        return 0;
    }
    // tanh(|a|) = (1 - exp(-2|a|)) / (1 + exp(-2|a|)); -2|a| is -|a| read with one more
    // integer bit (gemmlowp's ExactMulByPot<1>).
    const int32_t n = a < 0 ? a : wsub(0, a);
    const int32_t t = nn_fp_one_minus_x_over_one_plus_x(
        nn_fp_exp_on_negative_values(n, integer_bits + 1));
    return a < 0 ? wsub(0, t) : t;
}

int32_t nn_fp_reciprocal(int32_t x, int32_t x_integer_bits, int32_t *num_bits_over_unit) {
    const int32_t headroom_plus_one = clz32((uint32_t)x);
    *num_bits_over_unit = x_integer_bits - headroom_plus_one;
    if (headroom_plus_one >= 32) {
        return INT32_MAX; // x == 0: not a valid input; keep the shift below defined
    }
    const int32_t shifted_minus_one =
        (int32_t)(((uint32_t)x << headroom_plus_one) - (1u << 31));
    return nn_fp_one_over_one_plus_x(shifted_minus_one);
}
