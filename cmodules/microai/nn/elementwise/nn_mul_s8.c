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
    NN_BROADCAST_EACH(in1_dims, in1, in2_dims, in2, out_dims, va, vb,
        *out++ = mul1(p, va, vb));
    return NN_OK;
}
