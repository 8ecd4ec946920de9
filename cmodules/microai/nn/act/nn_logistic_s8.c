// LOGISTIC int8 -> int8 (output scale 1/256, zero point -128). LiteRT's reference kernel
// for int8 looks every value up in a 256-entry table built in Prepare; the host builds the
// same table (nn_logistic_params), so this is a lookup: out = lut[(uint8_t)in].
// out == in (exactly in place) is allowed.
#include "nn_functions.h"

nn_status nn_logistic_s8(const nn_logistic_params *p, int32_t size, const int8_t *in,
    int8_t *out) {
    const int8_t *lut = p->lut;
    for (int32_t i = 0; i < size; i++) {
        out[i] = lut[(uint8_t)in[i]];
    }
    return NN_OK;
}
