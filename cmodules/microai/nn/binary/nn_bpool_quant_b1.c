// LceBMaxPool2d, LceQuantize and LceDequantize, bit-exact with Larq Compute Engine's
// kernels (core/bmaxpool.h, bitpacking/bitpack.h, tflite/kernels/quantization.cc).
#include "nn_functions.h"
#include "../pool/nn_pool_window.h"

nn_status nn_bmaxpool_b1(const nn_bpool_params *p, const nn_dims *in_dims,
    const uint32_t *in, const nn_dims *out_dims, uint32_t *out) {
    const int32_t in_h = in_dims->h, in_w = in_dims->w, words = NN_B1_WORDS(in_dims->c);
    for (int32_t b = 0; b < out_dims->n; b++) {
        const uint32_t *in_b = in + (size_t)b * in_h * in_w * words;
        for (int32_t oy = 0; oy < out_dims->h; oy++) {
            const nn_window wy = nn_pool_window(oy, p->stride_h, p->pad_h, p->filter_h, in_h);
            const int32_t y0 = wy.start, fy0 = wy.first, fy1 = wy.end;
            for (int32_t ox = 0; ox < out_dims->w; ox++) {
                const nn_window wx = nn_pool_window(ox, p->stride_w, p->pad_w, p->filter_w, in_w);
                const int32_t x0 = wx.start, fx0 = wx.first, fx1 = wx.end;
                for (int32_t k = 0; k < words; k++) {
                    uint32_t v = ~0u; // the max of +1/-1 values: -1 (bit 1) only if all are
                    for (int32_t fy = fy0; fy < fy1; fy++) {
                        const uint32_t *px =
                            in_b + ((size_t)(y0 + fy) * in_w + (size_t)(x0 + fx0)) * words + k;
                        for (int32_t fx = fx0; fx < fx1; fx++, px += words) {
                            v &= *px;
                        }
                    }
                    *out++ = v;
                }
            }
        }
    }
    return NN_OK;
}

nn_status nn_bquantize_s8_b1(const nn_bquant_params *p, int32_t rows, int32_t depth,
    const int8_t *in, uint32_t *out) {
    const int32_t zp = p->zero_point;
    for (int32_t r = 0; r < rows; r++) {
        for (int32_t c0 = 0; c0 < depth; c0 += 32) {
            const int32_t n = depth - c0 < 32 ? depth - c0 : 32;
            uint32_t bits = 0;
            for (int32_t k = 0; k < n; k++) {
                bits |= (uint32_t)(in[k] < zp) << k;
            }
            in += n;
            *out++ = bits;
        }
    }
    return NN_OK;
}

nn_status nn_bquantize_f32_b1(int32_t rows, int32_t depth, const float *in, uint32_t *out) {
    for (int32_t r = 0; r < rows; r++) {
        for (int32_t c0 = 0; c0 < depth; c0 += 32) {
            const int32_t n = depth - c0 < 32 ? depth - c0 : 32;
            uint32_t bits = 0;
            for (int32_t k = 0; k < n; k++) {
                bits |= (uint32_t)(in[k] < 0.0f) << k;
            }
            in += n;
            *out++ = bits;
        }
    }
    return NN_OK;
}

nn_status nn_bdequantize_b1_s8(const nn_bquant_params *p, int32_t rows, int32_t depth,
    const uint32_t *in, int8_t *out) {
    const int8_t plus = (int8_t)p->plus, minus = (int8_t)p->minus;
    for (int32_t r = 0; r < rows; r++) {
        for (int32_t c = 0; c < depth; c++) {
            *out++ = (in[c / 32] >> (c % 32)) & 1u ? minus : plus;
        }
        in += NN_B1_WORDS(depth);
    }
    return NN_OK;
}

nn_status nn_bdequantize_b1_f32(int32_t rows, int32_t depth, const uint32_t *in,
    float *out) {
    for (int32_t r = 0; r < rows; r++) {
        for (int32_t c = 0; c < depth; c++) {
            *out++ = (in[c / 32] >> (c % 32)) & 1u ? -1.0f : 1.0f;
        }
        in += NN_B1_WORDS(depth);
    }
    return NN_OK;
}
