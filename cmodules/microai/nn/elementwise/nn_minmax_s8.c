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
    int32_t s1[4], s2[4];
    nn_broadcast_strides(in1_dims, s1);
    nn_broadcast_strides(in2_dims, s2);
    for (int32_t b = 0; b < out_dims->n; b++) {
        for (int32_t y = 0; y < out_dims->h; y++) {
            for (int32_t x = 0; x < out_dims->w; x++) {
                const int8_t *a = in1 + b * s1[0] + y * s1[1] + x * s1[2];
                const int8_t *c2 = in2 + b * s2[0] + y * s2[1] + x * s2[2];
                for (int32_t c = 0; c < out_dims->c; c++) {
                    *out++ = pick(minimum, a[c * s1[3]], c2[c * s2[3]]);
                }
            }
        }
    }
    return NN_OK;
}
