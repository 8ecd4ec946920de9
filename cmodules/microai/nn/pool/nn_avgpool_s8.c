// AVERAGE_POOL_2D int8, bit-exact with TFLite's reference_integer_ops::AveragePool:
// the window is clipped to the input (padding is not counted), the sum is divided by
// the number of taps rounding half away from zero, then clamped to the activation.
// Input and output share scale and zero point (TFLite's rule), so no requantization.
#include "nn_functions.h"
#include "nn_pool_window.h"

nn_status nn_avgpool_s8(const nn_pool_params *p, const nn_dims *in_dims, const int8_t *in,
    const nn_dims *out_dims, int8_t *out) {
    const int32_t in_h = in_dims->h, in_w = in_dims->w, depth = in_dims->c;
    const int32_t act_min = p->act.min, act_max = p->act.max;
    for (int32_t b = 0; b < out_dims->n; b++) {
        const int8_t *in_b = in + (size_t)b * in_h * in_w * depth;
        for (int32_t oy = 0; oy < out_dims->h; oy++) {
            const nn_window wy = nn_pool_window(oy, p->stride_h, p->pad_h, p->filter_h, in_h);
            const int32_t y0 = wy.start, fy0 = wy.first, fy1 = wy.end;
            for (int32_t ox = 0; ox < out_dims->w; ox++) {
                const nn_window wx = nn_pool_window(ox, p->stride_w, p->pad_w, p->filter_w, in_w);
                const int32_t x0 = wx.start, fx0 = wx.first, fx1 = wx.end;
                const int32_t count = (fy1 - fy0) * (fx1 - fx0);
                for (int32_t c = 0; c < depth; c++) {
                    int32_t acc = 0;
                    for (int32_t fy = fy0; fy < fy1; fy++) {
                        // From the first tap inside the input: never a negative column.
                        const int8_t *row =
                            in_b + ((size_t)(y0 + fy) * in_w + (size_t)(x0 + fx0)) * depth + c;
                        for (int32_t fx = 0; fx < fx1 - fx0; fx++) {
                            acc += row[(size_t)fx * depth];
                        }
                    }
                    // Round to nearest, half away from zero (C division truncates).
                    acc = acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count;
                    acc = acc < act_min ? act_min : (acc > act_max ? act_max : acc);
                    *out++ = (int8_t)acc;
                }
            }
        }
    }
    return NN_OK;
}
