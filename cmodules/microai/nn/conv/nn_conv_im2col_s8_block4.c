// CONV_2D, any shape, with block-sparse weights (nn_block4): im2col four output pixels
// at a time into two column pairs (nn_conv_im2col_pixel(), as nn_conv_im2col_s8 does),
// then only each output channel's stored blocks multiplied (nn_conv_gemm_block4_s8())
// and requantized as the dense kernel does. Bit-exact with nn_conv_im2col_s8 on the
// same weights.
//
// Scratch (4-byte aligned): the output channels' constants, two column pairs of
// k = kh * kw * in_ch taps, then for in_ch not a multiple of 4 an int8 staging column
// of k bytes (rounded up to 4).
#include <string.h>

#include "nn_conv_gemm.h"

static size_t nn_block4_cols(const nn_dims *f_dims, int32_t k) {
    return nn_conv_gemm_scratch(f_dims->n, k, 1) + nn_col_bytes(k);
}

size_t nn_conv_im2col_s8_block4_scratch_size(const nn_conv_params *p,
    const nn_dims *in_dims, const nn_dims *f_dims, const nn_dims *out_dims) {
    const int32_t k = f_dims->h * f_dims->w * f_dims->c;
    return nn_block4_cols(f_dims, k) + (f_dims->c % 4 != 0 ? ((size_t)k + 3) & ~(size_t)3 : 0);
}

nn_status nn_conv_im2col_s8_block4(const nn_conv_params *p, const nn_quant *q,
    const nn_dims *in_dims, const int8_t *in,
    const nn_dims *f_dims, const nn_block4 *filter, const int32_t *bias,
    const nn_dims *out_dims, int8_t *out, void *scratch, size_t scratch_size) {
    if (f_dims->c != in_dims->c || f_dims->n != out_dims->c || in_dims->n != out_dims->n
        || p->stride_h < 1 || p->stride_w < 1 || p->dilation_h < 1 || p->dilation_w < 1) {
        return NN_ERR_ARG;
    }
    if (scratch == NULL || (uintptr_t)scratch % sizeof(int32_t) != 0
        || scratch_size < nn_conv_im2col_s8_block4_scratch_size(p, in_dims, f_dims, out_dims)) {
        return NN_ERR_SCRATCH;
    }
    const int32_t k = f_dims->h * f_dims->w * f_dims->c, out_ch = out_dims->c;
    const int flags = nn_conv_gemm_init_s8(p, q, NULL, bias, k, out_ch, 1, scratch)
        & ~NN_CONV_GEMM_W16; // no int8 row copied: the blocks are whole words
    const nn_conv_chan *chan = scratch;
    int16_t *col = nn_conv_gemm_col(scratch, out_ch);
    const int32_t pair = (int32_t)(nn_col_bytes(k) / sizeof(int16_t));
    memset(col + pair, 0, nn_col_bytes(k)); // the taps past k stay 0
    int8_t *stage = f_dims->c % 4 != 0 ? (int8_t *)scratch + nn_block4_cols(f_dims, k) : NULL;
    int32_t pix = out_dims->n * out_dims->h * out_dims->w;
    int32_t b = 0, oy = 0, ox = 0; // the next pixel to im2col
    for (; pix > 0; pix -= 4) {
        // The last pass repeats its last pixel into the columns past the end.
        int8_t *o[4];
        for (int32_t j = 0; j < 4; j++) {
            o[j] = out + (size_t)(j < pix ? j : pix - 1) * out_ch;
            nn_conv_im2col_pixel(p, in_dims, in, f_dims, b, oy, ox, col + (j >> 1) * pair,
                j & 1, stage);
            if (j + 1 < pix && ++ox == out_dims->w) {
                ox = 0;
                if (++oy == out_dims->h) {
                    oy = 0;
                    ++b;
                }
            }
        }
        nn_conv_gemm_block4_s8(p, chan, filter, out_ch, col, pair, o, flags);
        out += 4 * (size_t)out_ch;
    }
    return NN_OK;
}
