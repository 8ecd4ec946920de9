// microai nn: 4-D broadcasting helpers shared by the elementwise kernels (ADD, MUL).
#ifndef MICROAI_NN_BROADCAST_H
#define MICROAI_NN_BROADCAST_H

#include "nn_types.h"

// Element strides of an input in the output's index space: 0 along a broadcast dim.
static inline void nn_broadcast_strides(const nn_dims *d, int32_t s[4]) {
    s[3] = d->c == 1 ? 0 : 1;
    s[2] = d->w == 1 ? 0 : d->c;
    s[1] = d->h == 1 ? 0 : d->w * d->c;
    s[0] = d->n == 1 ? 0 : d->h * d->w * d->c;
}

static inline int nn_same_dims(const nn_dims *a, const nn_dims *b) {
    return a->n == b->n && a->h == b->h && a->w == b->w && a->c == b->c;
}

#endif // MICROAI_NN_BROADCAST_H
