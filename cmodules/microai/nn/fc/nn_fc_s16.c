// FULLY_CONNECTED 16x8, as TFLite's reference FullyConnected (and FullyConnectedPerChannel)
// runs int16 inputs with int8 weights and int64 bias: zero points 0, the sum of x * w
// over the input depth in int64 (the bias, stored as int32 when every value fits, added
// sign-extended), rescaled and clamped to the activation's int16 range by
// nn_requantize_s16() (nn_requantize.h). On a DSP core the products go two at a time
// (SMLALD).
#include "nn_dsp.h"
#include "nn_functions.h"

// sum_i x[i] * w[i] over n taps, int64.
static int64_t nn_dot_s16_s8(const int16_t *x, const int8_t *w, int32_t n) {
    int64_t acc = 0;
    int32_t i = 0;
    #if NN_DSP_ASM
    uint32_t lo = 0;
    int32_t hi = 0;
    for (; i + 4 <= n; i += 4) {
        const uint32_t wv = nn_read_u32(w + i);
        const uint32_t w02 = nn_sxtb16(wv), w13 = nn_sxtb16_ror8(wv);
        uint32_t x01, x23;
        memcpy(&x01, x + i, 4);
        memcpy(&x23, x + i + 2, 4);
        // Pairs (x0, x2) and (x1, x3) to meet SXTB16's (w0, w2) and (w1, w3).
        const uint32_t x02 = (x01 & 0xffffu) | (x23 << 16);
        const uint32_t x13 = (x01 >> 16) | (x23 & 0xffff0000u);
        __asm__ ("smlald %0, %1, %2, %3" : "+r" (lo), "+r" (hi) : "r" (x02), "r" (w02));
        __asm__ ("smlald %0, %1, %2, %3" : "+r" (lo), "+r" (hi) : "r" (x13), "r" (w13));
    }
    acc = (int64_t)(((uint64_t)(uint32_t)hi << 32) | lo);
    #endif
    for (; i < n; i++) {
        acc += (int32_t)x[i] * w[i];
    }
    return acc;
}

nn_status nn_fc_s16(const nn_fc_params *p, const nn_quant *q, int32_t batches,
    int32_t in_depth, const int16_t *in, int32_t out_depth, const int8_t *weights,
    const int32_t *bias, int16_t *out) {
    if (batches < 0 || in_depth < 1 || out_depth < 1) {
        return NN_ERR_ARG;
    }
    const int32_t lo = p->act.min, hi = p->act.max;
    for (int32_t b = 0; b < batches; b++, in += in_depth) {
        const int8_t *w = weights;
        for (int32_t u = 0; u < out_depth; u++, w += in_depth) {
            *out++ = nn_requantize_s16(nn_dot_s16_s8(in, w, in_depth), bias, u, q, lo, hi);
        }
    }
    return NN_OK;
}
