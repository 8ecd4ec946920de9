// PAD of a 4-D int8 tensor with a constant (TFLite reference Pad; for int8 the constant
// is the output zero point): before[d] values ahead of and after[d] values behind the
// input along each NHWC dimension d. out_dims = in_dims + before + after.
#include <string.h>

#include "nn_functions.h"

nn_status nn_pad_s8(const nn_pad_params *p, const nn_dims *in_dims, const int8_t *in,
    const nn_dims *out_dims, int8_t *out) {
    const int value = (int8_t)p->pad_value;
    const size_t in_row = (size_t)in_dims->c;
    const size_t out_row = (size_t)out_dims->c;
    const size_t out_plane = out_row * (size_t)out_dims->w;
    const size_t out_image = out_plane * (size_t)out_dims->h;
    for (int32_t b = 0; b < out_dims->n; b++) {
        const int32_t ib = b - p->before[0];
        if (ib < 0 || ib >= in_dims->n) {
            memset(out, value, out_image);
            out += out_image;
            continue;
        }
        for (int32_t y = 0; y < out_dims->h; y++) {
            const int32_t iy = y - p->before[1];
            if (iy < 0 || iy >= in_dims->h) {
                memset(out, value, out_plane);
                out += out_plane;
                continue;
            }
            for (int32_t x = 0; x < out_dims->w; x++) {
                const int32_t ix = x - p->before[2];
                if (ix < 0 || ix >= in_dims->w) {
                    memset(out, value, out_row);
                    out += out_row;
                    continue;
                }
                const int8_t *src = in + (((size_t)ib * in_dims->h + iy) * in_dims->w + ix) * in_row;
                memset(out, value, (size_t)p->before[3]);
                memcpy(out + p->before[3], src, in_row);
                memset(out + p->before[3] + in_row, value, (size_t)p->after[3]);
                out += out_row;
            }
        }
    }
    return NN_OK;
}
