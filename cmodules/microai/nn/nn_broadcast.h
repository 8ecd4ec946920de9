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

// Runs the statement (the last argument) for every output element in order, with `va`
// and `vb` the two inputs' values there (elements of type T; 4-D broadcasting: a dim of
// 1 repeats). The one loop of ADD, MUL, MAXIMUM and MINIMUM.
#define NN_BROADCAST_EACH_T(T, in1_dims, in1, in2_dims, in2, out_dims, va, vb, ...) \
    do { \
        int32_t s1_[4], s2_[4]; \
        nn_broadcast_strides(in1_dims, s1_); \
        nn_broadcast_strides(in2_dims, s2_); \
        for (int32_t b_ = 0; b_ < (out_dims)->n; b_++) { \
            for (int32_t y_ = 0; y_ < (out_dims)->h; y_++) { \
                for (int32_t x_ = 0; x_ < (out_dims)->w; x_++) { \
                    const T *a_ = (in1) + b_ * s1_[0] + y_ * s1_[1] + x_ * s1_[2]; \
                    const T *c_ = (in2) + b_ * s2_[0] + y_ * s2_[1] + x_ * s2_[2]; \
                    for (int32_t k_ = 0; k_ < (out_dims)->c; k_++) { \
                        const T va = a_[k_ * s1_[3]], vb = c_[k_ * s2_[3]]; \
                        __VA_ARGS__; \
                    } \
                } \
            } \
        } \
    } while (0)

/// NN_BROADCAST_EACH_T over int8 elements.
#define NN_BROADCAST_EACH(...) NN_BROADCAST_EACH_T(int8_t, __VA_ARGS__)

static inline int nn_same_dims(const nn_dims *a, const nn_dims *b) {
    return a->n == b->n && a->h == b->h && a->w == b->w && a->c == b->c;
}

#endif // MICROAI_NN_BROADCAST_H
