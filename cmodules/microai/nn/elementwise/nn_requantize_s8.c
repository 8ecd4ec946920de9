// QUANTIZE int8 -> int8 (a requantize), bit-exact with TFLite's reference_ops::Requantize:
// (in - input zero point) rescaled by in_scale / out_scale, plus the output zero point,
// saturated to int8. out == in (exactly in place) is allowed.
#include "nn_functions.h"

nn_status nn_requantize_s8(const nn_requantize_params *p, int32_t size, const int8_t *in,
    int8_t *out) {
    for (int32_t i = 0; i < size; i++) {
        int32_t o = nn_add_wrap(nn_requantize(in[i] + p->input_offset, p->multiplier, p->shift),
            p->output_offset);
        o = o < INT8_MIN ? INT8_MIN : (o > INT8_MAX ? INT8_MAX : o);
        out[i] = (int8_t)o;
    }
    return NN_OK;
}
