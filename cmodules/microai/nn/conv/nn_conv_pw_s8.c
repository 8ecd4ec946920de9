// CONV_2D 1x1, stride 1, no padding: a GEMM straight on the NHWC pixels, no im2col.
//
// Two pixels at a time are widened to a column pair with the input offset added
// (nn_dot.h), then multiplied by every output channel, two channels at a time, and
// requantized (nn_conv_gemm.h). The input offset costs nothing in the inner loop and
// the weights are never summed.
//
// nn_conv_pw_s8w16 is the same with the weights widened on the host
// (nn_conv_w16_prepare()), nn_conv_pw_s4 with int4 weights rows (nn_s4_rows_prepare()).
// Scratch (4-byte aligned): the GEMM's (nn_conv_gemm.h: the
// output channels' constants, one column pair of in_ch taps, ...).
#include <string.h>

#include "nn_conv_gemm.h"

size_t nn_conv_pw_s8_scratch_size(const nn_conv_params *p, const nn_dims *in_dims,
    const nn_dims *f_dims, const nn_dims *out_dims) {
    return nn_conv_gemm_scratch(f_dims->n, f_dims->c, 0);
}

size_t nn_conv_pw_s8w16_scratch_size(const nn_conv_params *p, const nn_dims *in_dims,
    const nn_dims *f_dims, const nn_dims *out_dims) {
    return nn_conv_gemm_scratch(f_dims->n, f_dims->c, NN_CONV_GEMM_W16);
}

size_t nn_conv_pw_s4_scratch_size(const nn_conv_params *p, const nn_dims *in_dims,
    const nn_dims *f_dims, const nn_dims *out_dims) {
    return nn_conv_gemm_scratch(f_dims->n, f_dims->c, NN_CONV_GEMM_S4);
}

static void nn_pw_run(const nn_conv_params *p, const nn_conv_chan *chan,
    const int8_t *in, int32_t ch, int32_t pixels, const void *filter, int8_t *out,
    int32_t out_ch, int16_t *col, int flags) {
    const int32_t in_off = p->input_offset;
    int32_t pix = pixels;
    for (; pix >= 2; pix -= 2) {
        nn_col_put(col, 0, 0, in, ch, in_off);
        nn_col_put(col, 1, 0, in + ch, ch, in_off);
        nn_conv_gemm_pair_s8(p, chan, filter, ch, out_ch, col, out, out + out_ch, flags);
        in += 2 * ch;
        out += 2 * out_ch;
    }
    if (pix) {
        nn_col_put(col, 0, 0, in, ch, in_off);
        nn_col_put(col, 1, 0, in, ch, in_off);
        nn_conv_gemm_pair_s8(p, chan, filter, ch, out_ch, col, out, out, flags);
    }
}

static nn_status nn_pw(const nn_conv_params *p, const nn_quant *q,
    const nn_dims *in_dims, const int8_t *in, const nn_dims *f_dims, const void *filter,
    const int32_t *bias, const nn_dims *out_dims, int8_t *out, void *scratch,
    size_t scratch_size, int form) {
    const int32_t ch = in_dims->c;
    const int32_t out_ch = out_dims->c;
    if (f_dims->h != 1 || f_dims->w != 1 || f_dims->c != ch || f_dims->n != out_ch
        || in_dims->n != out_dims->n || in_dims->h != out_dims->h
        || in_dims->w != out_dims->w) {
        return NN_ERR_ARG;
    }
    if (scratch == NULL || (uintptr_t)scratch % sizeof(int32_t) != 0
        || scratch_size < nn_conv_gemm_scratch(out_ch, ch, form)) {
        return NN_ERR_SCRATCH;
    }
    const int32_t pixels = in_dims->n * in_dims->h * in_dims->w;
    const int flags = nn_conv_gemm_init_s8(p, q, filter, bias, ch, out_ch, form, scratch);
    const nn_conv_chan *chan = scratch;
    int16_t *col = nn_conv_gemm_col(scratch, out_ch);
    nn_pw_run(p, chan, in, ch, pixels, filter, out, out_ch, col, flags);
    return NN_OK;
}

nn_status nn_conv_pw_s8(const nn_conv_params *p, const nn_quant *q,
    const nn_dims *in_dims, const int8_t *in,
    const nn_dims *f_dims, const int8_t *filter, const int32_t *bias,
    const nn_dims *out_dims, int8_t *out, void *scratch, size_t scratch_size) {
    return nn_pw(p, q, in_dims, in, f_dims, filter, bias, out_dims, out, scratch,
        scratch_size, 0);
}

nn_status nn_conv_pw_s8w16(const nn_conv_params *p, const nn_quant *q,
    const nn_dims *in_dims, const int8_t *in,
    const nn_dims *f_dims, const int16_t *filter, const int32_t *bias,
    const nn_dims *out_dims, int8_t *out, void *scratch, size_t scratch_size) {
    if ((uintptr_t)filter % sizeof(int32_t) != 0) {
        return NN_ERR_ARG; // read by LDRD
    }
    return nn_pw(p, q, in_dims, in, f_dims, filter, bias, out_dims, out, scratch,
        scratch_size, NN_CONV_GEMM_W16);
}

nn_status nn_conv_pw_s4(const nn_conv_params *p, const nn_quant *q,
    const nn_dims *in_dims, const int8_t *in,
    const nn_dims *f_dims, const uint8_t *filter, const int32_t *bias,
    const nn_dims *out_dims, int8_t *out, void *scratch, size_t scratch_size) {
    if ((uintptr_t)filter % sizeof(int32_t) != 0) {
        return NN_ERR_ARG; // read by LDR
    }
    if (f_dims->c > NN_S4_MAX_TAPS) {
        return NN_ERR_UNSUPPORTED; // the x16 sums could overflow (nn_dot.h)
    }
    return nn_pw(p, q, in_dims, in, f_dims, filter, bias, out_dims, out, scratch,
        scratch_size, NN_CONV_GEMM_S4);
}
