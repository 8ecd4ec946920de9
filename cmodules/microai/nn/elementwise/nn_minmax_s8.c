// MAXIMUM and MINIMUM int8 with 4-D broadcasting, bit-exact with TFLite's reference
// MaximumMinimumBroadcastSlow: the stored values compared as they are.
//
// out may be in1 or in2 exactly (in place) when that input has the output's shape.
#include "nn_broadcast.h"
#include "nn_functions.h"

static inline int8_t pick(int32_t minimum, int8_t a, int8_t b) {
    return minimum ? (a < b ? a : b) : (a > b ? a : b);
}

nn_status nn_minmax_s8(const nn_minmax_params *p, const nn_dims *in1_dims, const int8_t *in1,
    const nn_dims *in2_dims, const int8_t *in2, const nn_dims *out_dims, int8_t *out) {
    const int32_t minimum = p->minimum;
    NN_BROADCAST_EACH(in1_dims, in1, in2_dims, in2, out_dims, va, vb,
        *out++ = pick(minimum, va, vb));
    return NN_OK;
}
