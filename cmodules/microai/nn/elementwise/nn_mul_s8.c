// MUL int8 with 4-D broadcasting, bit-exact with TFLite's reference_integer_ops::Mul and
// BroadcastMul6DSlow: (in1 - zp1) * (in2 - zp2) requantized by in1_scale * in2_scale /
// out_scale, plus the output zero point, clamped to the activation.
//
// out may be in1 or in2 exactly (in place) when that input has the output's shape.
#include "nn_broadcast.h"
#include "nn_functions.h"

static inline int8_t mul1(const nn_mul_params *p, int32_t a, int32_t b) {
    const int32_t prod = (a + p->input1_offset) * (b + p->input2_offset);
    int32_t o = nn_add_wrap(
        nn_requantize(prod, p->output_multiplier, p->output_shift), p->output_offset);
    o = o < p->act.min ? p->act.min : (o > p->act.max ? p->act.max : o);
    return (int8_t)o;
}

nn_status nn_mul_s8(const nn_mul_params *p, const nn_dims *in1_dims, const int8_t *in1,
    const nn_dims *in2_dims, const int8_t *in2, const nn_dims *out_dims, int8_t *out) {
    if (nn_same_dims(in1_dims, out_dims) && nn_same_dims(in2_dims, out_dims)) {
        const int32_t size = out_dims->n * out_dims->h * out_dims->w * out_dims->c;
        for (int32_t i = 0; i < size; i++) {
            out[i] = mul1(p, in1[i], in2[i]);
        }
        return NN_OK;
    }
    int32_t s1[4], s2[4];
    nn_broadcast_strides(in1_dims, s1);
    nn_broadcast_strides(in2_dims, s2);
    for (int32_t b = 0; b < out_dims->n; b++) {
        for (int32_t y = 0; y < out_dims->h; y++) {
            for (int32_t x = 0; x < out_dims->w; x++) {
                const int8_t *a = in1 + b * s1[0] + y * s1[1] + x * s1[2];
                const int8_t *c2 = in2 + b * s2[0] + y * s2[1] + x * s2[2];
                for (int32_t c = 0; c < out_dims->c; c++) {
                    *out++ = mul1(p, a[c * s1[3]], c2[c * s2[3]]);
                }
            }
        }
    }
    return NN_OK;
}
