// SPLIT and SPLIT_V of a 4-D int8 tensor (TFLite's reference Split): for each position of
// the axes before `axis`, each output's run of lengths[k] x (the axes after) values, in
// order.
#include <string.h>

#include "nn_functions.h"

nn_status nn_split_s8(const nn_split_params *p, const nn_dims *in_dims, const int8_t *in,
    int32_t n_out, const int32_t *lengths, int8_t *const *out) {
    const int32_t dims[4] = {in_dims->n, in_dims->h, in_dims->w, in_dims->c};
    size_t outer = 1, inner = 1;
    for (int32_t d = 0; d < p->axis; d++) {
        outer *= (size_t)dims[d];
    }
    for (int32_t d = p->axis + 1; d < 4; d++) {
        inner *= (size_t)dims[d];
    }
    for (size_t o = 0; o < outer; o++) {
        for (int32_t k = 0; k < n_out; k++) {
            const size_t run = (size_t)lengths[k] * inner;
            memcpy(out[k] + o * run, in, run);
            in += run;
        }
    }
    return NN_OK;
}
