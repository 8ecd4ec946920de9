// gemmlowp's fixed-point logistic and tanh on int16 raw values (FixedPoint<int16_t, m>),
// bit-exact with fixedpoint.h as LiteRT's integer LSTM uses them (tensor_utils'
// ApplySigmoid, a Q3.12 input, and ApplyTanh, Q0 to Q6 inputs; Q0.15 out).
//
// The int16 paths differ from the int32 ones (nn_fixedpoint.c) in more than width: every
// constant is the int32 one rounding-shifted right by 16 (RescaleConstantInitializer),
// products are the int16 SaturatingRoundingDoublingHighMul, the Taylor step's last add
// saturates (AddSaturatingIf16Bit), and + and - wrap in 16 bits. "Qm" here is m integer
// bits and 15 - m fractional bits.
#include "nn_fixedpoint.h"
#include "nn_functions.h"

static inline int16_t wrap16(int32_t v) {
    return (int16_t)(uint16_t)(uint32_t)v;
}

static inline int16_t add16(int16_t a, int16_t b) {
    return wrap16((int32_t)a + b);
}

static inline int16_t sub16(int16_t a, int16_t b) {
    return wrap16((int32_t)a - b);
}

static inline int16_t sat_add16(int16_t a, int16_t b) {
    return (int16_t)nn_sat_s16((int32_t)a + b);
}

// SaturatingRoundingDoublingHighMul for int16.
static inline int16_t mul16(int16_t a, int16_t b) {
    if (a == INT16_MIN && b == INT16_MIN) {
        return INT16_MAX;
    }
    const int32_t ab = (int32_t)a * b;
    const int32_t nudge = ab >= 0 ? (1 << 14) : (1 - (1 << 14));
    return (int16_t)((ab + nudge) / (1 << 15));
}

// RoundingDivideByPOT in int16 arithmetic (exponent 0..15).
static inline int16_t div_pot16(int16_t x, int32_t exponent) {
    const int32_t mask = (int32_t)((1u << exponent) - 1);
    const int32_t remainder = x & mask;
    const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return wrap16((x >> exponent) + (remainder > threshold ? 1 : 0));
}

// SaturatingRoundingMultiplyByPOT<exponent> for int16.
static int16_t mul_pot16(int16_t x, int32_t exponent) {
    if (exponent < 0) {
        return div_pot16(x, -exponent);
    }
    if (exponent == 0) {
        return x;
    }
    const int32_t threshold = (1 << (15 - exponent)) - 1;
    if (x > threshold) {
        return INT16_MAX;
    }
    if (x < -threshold) {
        return INT16_MIN;
    }
    return wrap16((int32_t)((uint32_t)(int32_t)x << exponent));
}

// A gemmlowp int32 constant as its int16 one.
static inline int16_t k16(int32_t v) {
    return (int16_t)nn_divide_by_pot(v, 16);
}

// exp(a) for a in [-1/4, 0), Q0 in and out.
static int16_t exp_on_quarter_interval16(int16_t a) {
    const int16_t constant_term = k16(1895147668), one_third = k16(715827883);
    const int16_t x = add16(a, 1 << 12); // a + 1/8
    const int16_t x2 = mul16(x, x), x3 = mul16(x2, x), x4 = mul16(x2, x2);
    const int16_t x4_over_4 = mul_pot16(x4, -2);
    const int16_t poly = mul_pot16(add16(mul16(add16(x4_over_4, x3), one_third), x2), -1);
    return sat_add16(constant_term, mul16(constant_term, add16(x, poly)));
}

// exp(a) for a <= 0 in Q(integer_bits), 0 <= integer_bits <= 7; Q0 out.
static int16_t exp_on_negative_values16(int16_t a, int32_t integer_bits) {
    static const int32_t exp_of_minus_pot[7] = {
        1672461947, 1302514674, 790015084, 290630308, 39332535, 720401, 242,
    };
    const int32_t frac_bits = 15 - integer_bits;
    const int16_t one_quarter = (int16_t)(1 << (frac_bits - 2));
    const int16_t a_mod_quarter_minus_quarter = sub16((int16_t)(a & (one_quarter - 1)),
        one_quarter);
    int16_t result = exp_on_quarter_interval16(mul_pot16(a_mod_quarter_minus_quarter,
        integer_bits));
    const int16_t remainder = sub16(a_mod_quarter_minus_quarter, a);
    for (int32_t k = -2; k <= 4; k++) {
        if (integer_bits > k && (remainder & (1 << (frac_bits + k)))) {
            result = mul16(result, k16(exp_of_minus_pot[k + 2]));
        }
    }
    if (integer_bits > 5 && a < k16(-(1 << (36 - integer_bits)))) {
        result = 0;
    }
    return a == 0 ? INT16_MAX : result;
}

// 1 / ((1 + a) / 2) in Q2 for a in [0, 1) (Q0): three Newton-Raphson steps.
static int16_t reciprocal_half_sum_q2_16(int16_t a) {
    const int32_t sum = (int32_t)a + INT16_MAX;
    const int16_t half_denominator = (int16_t)((sum + (sum >= 0 ? 1 : -1)) / 2);
    const int16_t q2_one = 1 << 13;
    int16_t x = add16(k16(1515870810), mul16(half_denominator, k16(-1010580540)));
    for (int i = 0; i < 3; i++) {
        const int16_t one_minus = sub16(q2_one, mul16(half_denominator, x));
        x = add16(x, mul_pot16(mul16(x, one_minus), 2));
    }
    return x;
}

int16_t nn_fp16_logistic(int16_t a, int32_t integer_bits) {
    if (a == 0) {
        return 1 << 14; // one half
    }
    const int16_t abs_a = a > 0 ? a : wrap16(-(int32_t)a);
    const int16_t e = exp_on_negative_values16(wrap16(-(int32_t)abs_a), integer_bits);
    const int16_t positive = mul_pot16(reciprocal_half_sum_q2_16(e), 1);
    return a > 0 ? positive : sub16(INT16_MAX, positive);
}

int16_t nn_fp16_tanh(int16_t a, int32_t integer_bits) {
    if (a == 0) {
        return 0;
    }
    const int16_t n = a < 0 ? a : wrap16(-(int32_t)a);
    const int16_t e = exp_on_negative_values16(n, integer_bits + 1);
    const int16_t t = mul_pot16(sub16(reciprocal_half_sum_q2_16(e), 1 << 13), 2);
    return a < 0 ? wrap16(-(int32_t)t) : t;
}
