// CONV_2D 1x1, stride 1, no padding, with block-sparse weights (nn_block4): four pixels
// at a time widened into two column pairs (nn_dot.h), then only each output channel's
// stored blocks multiplied (nn_conv_gemm_block4_s8()) and requantized as the dense
// nn_conv_pw_s8 does. Bit-exact with it on the same weights.
//
// Scratch (4-byte aligned): the output channels' constants, two column pairs of in_ch
// taps (nn_conv_block4_scratch()).
#include <string.h>

#include "nn_conv_gemm.h"

size_t nn_conv_pw_s8_block4_scratch_size(const nn_conv_params *p, const nn_dims *in_dims,
    const nn_dims *f_dims, const nn_dims *out_dims) {
    return nn_conv_gemm_scratch(f_dims->n, f_dims->c, 1) + nn_col_bytes(f_dims->c);
}

nn_status nn_conv_pw_s8_block4(const nn_conv_params *p, const nn_quant *q,
    const nn_dims *in_dims, const int8_t *in,
    const nn_dims *f_dims, const nn_block4 *filter, const int32_t *bias,
    const nn_dims *out_dims, int8_t *out, void *scratch, size_t scratch_size) {
    const int32_t ch = in_dims->c, out_ch = out_dims->c;
    if (f_dims->h != 1 || f_dims->w != 1 || f_dims->c != ch || f_dims->n != out_ch
        || in_dims->n != out_dims->n || in_dims->h != out_dims->h
        || in_dims->w != out_dims->w) {
        return NN_ERR_ARG;
    }
    if (scratch == NULL || (uintptr_t)scratch % sizeof(int32_t) != 0
        || scratch_size < nn_conv_pw_s8_block4_scratch_size(p, in_dims, f_dims, out_dims)) {
        return NN_ERR_SCRATCH;
    }
    // The constants and a zeroed first pair (no int8 row is copied: the blocks are whole
    // words), then the second pair zeroed too: the taps past k stay 0.
    const int flags = nn_conv_gemm_init_s8(p, q, NULL, bias, ch, out_ch, 1, scratch)
        & ~NN_CONV_GEMM_W16;
    const nn_conv_chan *chan = scratch;
    int16_t *col = nn_conv_gemm_col(scratch, out_ch);
    const int32_t pair = (int32_t)(nn_col_bytes(ch) / sizeof(int16_t));
    memset(col + pair, 0, nn_col_bytes(ch));
    const int32_t in_off = p->input_offset;
    int32_t pix = in_dims->n * in_dims->h * in_dims->w;
    for (; pix > 0; pix -= 4) {
        // The last pass repeats its last pixel into the columns past the end.
        int8_t *o[4];
        for (int32_t j = 0; j < 4; j++) {
            const int32_t at = j < pix ? j : pix - 1;
            o[j] = out + (size_t)at * out_ch;
            nn_col_put(col + (j >> 1) * pair, j & 1, 0, in + (size_t)at * ch, ch, in_off);
        }
        nn_conv_gemm_block4_s8(p, chan, filter, out_ch, col, pair, o, flags);
        in += 4 * (size_t)ch;
        out += 4 * (size_t)out_ch;
    }
    return NN_OK;
}
