// TRANSPOSE of a 4-D int8 tensor (TFLite's reference Transpose): output dimension d is
// input dimension perm[d]. The output is written in order; the input is walked with the
// strides of the permuted dimensions, the innermost as a tight loop.
#include "nn_functions.h"

nn_status nn_transpose_s8(const nn_transpose_params *p, const nn_dims *in_dims,
    const int8_t *in, int8_t *out) {
    const int32_t dims[4] = {in_dims->n, in_dims->h, in_dims->w, in_dims->c};
    const size_t stride[4] = {
        (size_t)dims[1] * dims[2] * dims[3], (size_t)dims[2] * dims[3], (size_t)dims[3], 1};
    const int32_t n0 = dims[p->perm[0]], n1 = dims[p->perm[1]], n2 = dims[p->perm[2]];
    const int32_t n3 = dims[p->perm[3]];
    const size_t s0 = stride[p->perm[0]], s1 = stride[p->perm[1]], s2 = stride[p->perm[2]];
    const size_t s3 = stride[p->perm[3]];
    for (int32_t i0 = 0; i0 < n0; i0++) {
        for (int32_t i1 = 0; i1 < n1; i1++) {
            for (int32_t i2 = 0; i2 < n2; i2++) {
                const int8_t *src = in + i0 * s0 + i1 * s1 + i2 * s2;
                for (int32_t i3 = 0; i3 < n3; i3++) {
                    *out++ = src[(size_t)i3 * s3];
                }
            }
        }
    }
    return NN_OK;
}
