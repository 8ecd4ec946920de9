// The sizes around one axis of a 4-D tensor, for the data-movement kernels that cut or
// pick along it (SPLIT, GATHER).
#ifndef MICROAI_NN_AXIS_H
#define MICROAI_NN_AXIS_H

#include <stddef.h>

#include "nn_types.h"

/// The values of a 4-D NHWC tensor before and after `axis` (0..3): outer x dims[axis] x
/// inner is every value (SPLIT and GATHER walk them so).
static inline void nn_axis_sizes(const nn_dims *d, int32_t axis, size_t *outer,
    size_t *inner) {
    const int32_t dims[4] = {d->n, d->h, d->w, d->c};
    *outer = 1;
    *inner = 1;
    for (int32_t k = 0; k < 4; k++) {
        if (k < axis) {
            *outer *= (size_t)dims[k];
        } else if (k > axis) {
            *inner *= (size_t)dims[k];
        }
    }
}

#endif // MICROAI_NN_AXIS_H
