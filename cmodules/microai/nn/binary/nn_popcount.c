// nn_xor_popcount (nn_popcount.h), exported for the host's tests.
#include "nn_popcount.h"

uint32_t nn_xor_popcount(const uint32_t *a, const uint32_t *b, uint32_t n) {
    return nn_xor_popcount_inline(a, b, n);
}
