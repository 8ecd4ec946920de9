// SPLIT and SPLIT_V of a 4-D int8 tensor (TFLite's reference Split): for each position of
// the axes before `axis`, each output's run of lengths[k] x (the axes after) values, in
// order.
#include <string.h>

#include "nn_axis.h"
#include "nn_functions.h"

nn_status nn_split_s8(const nn_split_params *p, const nn_dims *in_dims, const int8_t *in,
    int32_t n_out, const int32_t *lengths, int8_t *const *out) {
    size_t outer, inner;
    nn_axis_sizes(in_dims, p->axis, &outer, &inner);
    for (size_t o = 0; o < outer; o++) {
        for (int32_t k = 0; k < n_out; k++) {
            const size_t run = (size_t)lengths[k] * inner;
            memcpy(out[k] + o * run, in, run);
            in += run;
        }
    }
    return NN_OK;
}
