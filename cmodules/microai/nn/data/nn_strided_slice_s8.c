// STRIDED_SLICE of a 4-D int8 tensor (TFLite's reference StridedSlice, with the host's
// StartForAxis / StopForAxis resolved into begin, stride and count per axis).
#include "nn_functions.h"

nn_status nn_strided_slice_s8(const nn_slice_params *p, const nn_dims *in_dims,
    const int8_t *in, int8_t *out) {
    const ptrdiff_t st[4] = {
        (ptrdiff_t)in_dims->h * in_dims->w * in_dims->c * p->stride[0],
        (ptrdiff_t)in_dims->w * in_dims->c * p->stride[1],
        (ptrdiff_t)in_dims->c * p->stride[2], (ptrdiff_t)p->stride[3]};
    const int8_t *base = in + ((((ptrdiff_t)p->begin[0] * in_dims->h + p->begin[1])
                                   * in_dims->w + p->begin[2]) * in_dims->c + p->begin[3]);
    for (int32_t a = 0; a < p->count[0]; a++) {
        for (int32_t b = 0; b < p->count[1]; b++) {
            for (int32_t c = 0; c < p->count[2]; c++) {
                const int8_t *src = base + a * st[0] + b * st[1] + c * st[2];
                for (int32_t d = 0; d < p->count[3]; d++) {
                    *out++ = src[d * st[3]];
                }
            }
        }
    }
    return NN_OK;
}
