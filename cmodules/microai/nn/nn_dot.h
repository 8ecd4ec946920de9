// microai nn: the dot-product inner loops the convolution kernels share. This is the
// one place for the Cortex-M DSP versions (SXTB16 + SMLAD) behind a single #if.
#ifndef MICROAI_NN_DOT_H
#define MICROAI_NN_DOT_H

#include <stdint.h>

// Two output channels x two columns (im2col columns or pointwise pixels):
// acc[0] = w0.x0, acc[1] = w0.x1, acc[2] = w1.x0, acc[3] = w1.x1.
static inline void nn_dot_2x2_s8(const int8_t *w0, const int8_t *w1, const int8_t *x0,
    const int8_t *x1, int32_t n, int32_t *acc) {
    int32_t a00 = 0, a01 = 0, a10 = 0, a11 = 0;
    for (int32_t k = 0; k < n; k++) {
        int32_t xa = x0[k];
        int32_t xb = x1[k];
        int32_t wa = w0[k];
        int32_t wb = w1[k];
        a00 += wa * xa;
        a01 += wa * xb;
        a10 += wb * xa;
        a11 += wb * xb;
    }
    acc[0] = a00;
    acc[1] = a01;
    acc[2] = a10;
    acc[3] = a11;
}

#endif // MICROAI_NN_DOT_H
