// CONCATENATION of n int8 tensors along one NHWC axis (TFLite reference Concatenation;
// int8 inputs and output share scale and zero point, so this only moves bytes).
#include <string.h>

#include "nn_functions.h"

static inline int32_t dim(const nn_dims *d, int32_t axis) {
    return axis == 0 ? d->n : axis == 1 ? d->h : axis == 2 ? d->w : d->c;
}

nn_status nn_concat_s8(const nn_concat_params *p, int32_t n, const nn_dims *const *in_dims,
    const int8_t *const *in, const nn_dims *out_dims, int8_t *out) {
    const int32_t axis = p->axis;
    size_t outer = 1, inner = 1;
    for (int32_t d = 0; d < axis; d++) {
        outer *= (size_t)dim(out_dims, d);
    }
    for (int32_t d = axis + 1; d < 4; d++) {
        inner *= (size_t)dim(out_dims, d);
    }
    for (size_t o = 0; o < outer; o++) {
        for (int32_t k = 0; k < n; k++) {
            const size_t chunk = (size_t)dim(in_dims[k], axis) * inner;
            memcpy(out, in[k] + o * chunk, chunk);
            out += chunk;
        }
    }
    return NN_OK;
}
