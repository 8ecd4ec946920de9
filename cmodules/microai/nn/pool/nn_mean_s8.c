// MEAN over H and W of an NHWC int8 tensor, bit-exact with TFLite's reference
// QuantizedMeanOrSum (LiteRT's BUILTIN_REF path for int8 MEAN, keep_dims or not): an
// int32 sum per (batch, channel), minus the input zero point times H * W, requantized
// with a multiplier that already holds 1 / (H * W) (see nn_mean_params).
#include "nn_functions.h"

nn_status nn_mean_s8(const nn_mean_params *p, const nn_dims *in_dims, const int8_t *in,
    const nn_dims *out_dims, int8_t *out) {
    const int32_t depth = in_dims->c;
    const int32_t count = in_dims->h * in_dims->w;
    // The reference sums in int32 and subtracts in int64 before narrowing to int32:
    // the same as wrapping uint32 arithmetic.
    const uint32_t zero_sum = (uint32_t)p->input_zero_point * (uint32_t)count;
    for (int32_t b = 0; b < in_dims->n; b++) {
        const int8_t *in_b = in + (size_t)b * count * depth;
        for (int32_t c = 0; c < depth; c++) {
            uint32_t sum = 0;
            for (int32_t i = 0; i < count; i++) {
                sum += (uint32_t)(int32_t)in_b[(size_t)i * depth + c];
            }
            int32_t o = nn_add_wrap(
                nn_requantize((int32_t)(sum - zero_sum), p->multiplier, p->shift),
                p->output_zero_point);
            o = o < INT8_MIN ? INT8_MIN : (o > INT8_MAX ? INT8_MAX : o);
            *out++ = (int8_t)o;
        }
    }
    (void)out_dims;
    return NN_OK;
}
