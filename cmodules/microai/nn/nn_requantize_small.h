// microai nn: nn_requantize() for accumulators known to be small, in five instructions.
//
// When a caller can bound |acc| <= bound for every acc it will requantize (a bias plus
// a known number of int8 products, or a table's extremes), and the shift is a right
// shift of at least 1, then with |acc << left| < 2^29:
//   - gemmlowp's doubling high multiply of (acc << left) is SMMULR(acc << (left + 1),
//     multiplier) = ((acc << (left + 1)) * multiplier + 2^31) >> 32, exactly (the same
//     integer; no saturation for multiplier >= 0), and |hm| < 2^29;
//   - its rounding division by 2^right (half away from zero) is
//     (hm + 2^(right - 1) - (hm < 0)) >> right, and the sum cannot overflow.
// nn_rq_small_init() says whether that holds; otherwise use nn_requantize().
#ifndef MICROAI_NN_REQUANTIZE_SMALL_H
#define MICROAI_NN_REQUANTIZE_SMALL_H

#include <stdint.h>
#include "nn_dsp.h"

typedef struct {
    int32_t sh, mult, half, right;
} nn_rq_small;

/// Prepare r for multiplier (>= 0) and shift; 1 if every |acc| <= bound may take it.
static inline int nn_rq_small_init(nn_rq_small *r, uint32_t bound, int32_t multiplier,
    int32_t shift) {
    const int32_t left = shift > 0 ? shift : 0;
    r->sh = left + 1;
    r->mult = multiplier;
    r->right = shift > 0 ? 0 : -shift;
    r->half = r->right > 0 ? (int32_t)1 << (r->right - 1) : 0;
    return ((int64_t)bound << (left + 1)) < ((int64_t)1 << 30) && r->right >= 1;
}

static inline int32_t nn_rq_small_apply(const nn_rq_small *r, int32_t acc) {
    const int32_t hm = nn_smmulr((int32_t)((uint32_t)acc << r->sh), r->mult);
    return (hm + r->half + (hm >> 31)) >> r->right;
}

/// The same for acc_scaled = acc << (left + 1) computed by the caller (e.g. with weights
/// and bias scaled by 2^sh).
static inline int32_t nn_rq_small_apply_scaled(const nn_rq_small *r, int32_t acc_scaled) {
    const int32_t hm = nn_smmulr(acc_scaled, r->mult);
    return (hm + r->half + (hm >> 31)) >> r->right;
}

#endif // MICROAI_NN_REQUANTIZE_SMALL_H
