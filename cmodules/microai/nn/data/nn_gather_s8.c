// GATHER of a 4-D int8 tensor along one axis (TFLite's reference Gather, batch_dims 0):
// for each position of the axes before it, the slices (all the axes after it) at the
// given indices, in turn.
#include <string.h>

#include "nn_axis.h"
#include "nn_functions.h"

nn_status nn_gather_s8(const nn_gather_params *p, const nn_dims *in_dims, const int8_t *in,
    const int32_t *indices, int32_t count, int8_t *out) {
    size_t outer, inner;
    nn_axis_sizes(in_dims, p->axis, &outer, &inner);
    const int32_t dims[4] = {in_dims->n, in_dims->h, in_dims->w, in_dims->c};
    const size_t along = (size_t)dims[p->axis] * inner;
    for (size_t o = 0; o < outer; o++) {
        for (int32_t k = 0; k < count; k++) {
            memcpy(out, in + o * along + (size_t)indices[k] * inner, inner);
            out += inner;
        }
    }
    return NN_OK;
}
