// LUT: any int8 -> int8 function of one value (LOGISTIC, TANH, HARD_SWISH), as the
// 256-entry table the host built with the golden's arithmetic (nn_lut_params): out =
// lut[(uint8_t)in]. out == in (exactly in place) is allowed.
#include "nn_fixedpoint.h"
#include "nn_functions.h"

nn_status nn_lut_s8(const nn_lut_params *p, int32_t size, const int8_t *in,
    int8_t *out) {
    const int8_t *lut = p->lut;
    for (int32_t i = 0; i < size; i++) {
        out[i] = lut[(uint8_t)in[i]];
    }
    return NN_OK;
}

void nn_lut_tanh_s8(int32_t input_zp, int32_t radius, int32_t multiplier, int32_t shift,
    int8_t *lut) {
    for (int32_t v = -128; v < 128; v++) {
        const int32_t x = v - input_zp;
        int32_t q;
        if (x <= -radius) {
            q = -128;
        } else if (x >= radius) {
            q = 127;
        } else {
            // The input in Q4 (|x| < radius keeps it in range), tanh in Q0, to Q0.7.
            const int32_t t = nn_fp_tanh(nn_requantize(x, multiplier, shift), 4);
            q = nn_divide_by_pot(t, 24);
            q = q < -128 ? -128 : (q > 127 ? 127 : q);
        }
        lut[(uint8_t)v] = (int8_t)q;
    }
}
