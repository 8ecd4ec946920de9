// CONV_2D, any shape: im2col two output pixels at a time into the scratch buffer, then
// a GEMM over all output channels, two channels x two pixels per pass.
//
// The input offset is folded out of the inner loop: padding taps are filled with the
// input zero point (= -input_offset), so for every output channel
//   sum_k w[k] * (x[k] + input_offset) = sum_k w[k] * x[k] + input_offset * sum_k w[k]
// and bias[oc] + input_offset * sum_k w[oc][k] is computed once per call, into scratch.
//
// Scratch (4-byte aligned): int32 corrected bias[out_ch], then two int8 columns of
// kh * kw * in_ch bytes, each rounded up to 4.
#include <string.h>

#include "nn_dot.h"
#include "nn_functions.h"

// acc + bias (wrapping like the reference's int32 accumulator), requantized and clamped.
static inline int8_t nn_conv_out(int32_t acc, int32_t bias, const nn_quant *q, int32_t oc,
    const nn_conv_params *p) {
    int32_t i = q->per_channel ? oc : 0;
    acc = (int32_t)((uint32_t)acc + (uint32_t)bias);
    int32_t v = nn_add_wrap(nn_requantize(acc, q->multiplier[i], q->shift[i]), p->output_offset);
    v = v < p->act.min ? p->act.min : v;
    v = v > p->act.max ? p->act.max : v;
    return (int8_t)v;
}

static size_t nn_im2col_bias_bytes(int32_t out_ch) {
    return (size_t)out_ch * sizeof(int32_t);
}

size_t nn_conv_im2col_s8_scratch_size(const nn_conv_params *p, const nn_dims *in_dims,
    const nn_dims *f_dims, const nn_dims *out_dims) {
    size_t k = (size_t)f_dims->h * (size_t)f_dims->w * (size_t)f_dims->c;
    return nn_im2col_bias_bytes(f_dims->n) + 2 * ((k + 3) & ~(size_t)3);
}

static inline void nn_next_pixel(const nn_dims *out_dims, int32_t *b, int32_t *oy,
    int32_t *ox) {
    if (++*ox == out_dims->w) {
        *ox = 0;
        if (++*oy == out_dims->h) {
            *oy = 0;
            ++*b;
        }
    }
}

// The column of output pixel (b, oy, ox): kh x kw taps of in_ch bytes each.
static void nn_im2col_pixel(const nn_conv_params *p, const nn_dims *in_dims,
    const int8_t *in, const nn_dims *f_dims, int32_t b, int32_t oy, int32_t ox,
    int8_t *col) {
    const int32_t ch = in_dims->c;
    const int8_t pad_value = (int8_t)(-p->input_offset);
    const int32_t iy0 = oy * p->stride_h - p->pad_h;
    const int32_t ix0 = ox * p->stride_w - p->pad_w;
    for (int32_t ky = 0; ky < f_dims->h; ky++) {
        int32_t iy = iy0 + ky * p->dilation_h;
        if (iy < 0 || iy >= in_dims->h) {
            memset(col, pad_value, (size_t)(f_dims->w * ch));
            col += f_dims->w * ch;
            continue;
        }
        const int8_t *row = in + ((size_t)b * in_dims->h + iy) * in_dims->w * ch;
        for (int32_t kx = 0; kx < f_dims->w; kx++) {
            int32_t ix = ix0 + kx * p->dilation_w;
            if (ix < 0 || ix >= in_dims->w) {
                memset(col, pad_value, (size_t)ch);
            } else {
                memcpy(col, row + (size_t)ix * ch, (size_t)ch);
            }
            col += ch;
        }
    }
}

nn_status nn_conv_im2col_s8(const nn_conv_params *p, const nn_quant *q,
    const nn_dims *in_dims, const int8_t *in,
    const nn_dims *f_dims, const int8_t *filter, const int32_t *bias,
    const nn_dims *out_dims, int8_t *out, void *scratch, size_t scratch_size) {
    const int32_t out_ch = out_dims->c;
    const int32_t k = f_dims->h * f_dims->w * f_dims->c;
    if (f_dims->c != in_dims->c || f_dims->n != out_ch || in_dims->n != out_dims->n
        || p->stride_h < 1 || p->stride_w < 1 || p->dilation_h < 1 || p->dilation_w < 1) {
        return NN_ERR_ARG;
    }
    if (scratch == NULL || (uintptr_t)scratch % sizeof(int32_t) != 0
        || scratch_size < nn_conv_im2col_s8_scratch_size(p, in_dims, f_dims, out_dims)) {
        return NN_ERR_SCRATCH;
    }
    int32_t *bias_eff = (int32_t *)scratch;
    int8_t *col0 = (int8_t *)scratch + nn_im2col_bias_bytes(out_ch);
    int8_t *col1 = col0 + ((k + 3) & ~3);

    // bias + input_offset * sum(w), wrapping like the reference's int32 accumulator.
    for (int32_t oc = 0; oc < out_ch; oc++) {
        const int8_t *w = filter + (size_t)oc * k;
        int32_t sum = 0;
        for (int32_t i = 0; i < k; i++) {
            sum += w[i];
        }
        uint32_t acc = (uint32_t)(bias != NULL ? bias[oc] : 0);
        bias_eff[oc] = (int32_t)(acc + (uint32_t)sum * (uint32_t)p->input_offset);
    }

    const int32_t pixels = out_dims->n * out_dims->h * out_dims->w;
    int32_t b = 0, oy = 0, ox = 0; // coordinates of the next pixel to im2col
    for (int32_t pix = 0; pix < pixels; pix += 2) {
        const int two = pix + 1 < pixels;
        nn_im2col_pixel(p, in_dims, in, f_dims, b, oy, ox, col0);
        nn_next_pixel(out_dims, &b, &oy, &ox);
        if (two) {
            nn_im2col_pixel(p, in_dims, in, f_dims, b, oy, ox, col1);
            nn_next_pixel(out_dims, &b, &oy, &ox);
        }
        const int8_t *x1 = two ? col1 : col0;
        int8_t *out0 = out + (size_t)pix * out_ch;
        int8_t *out1 = out0 + out_ch;
        for (int32_t oc = 0; oc < out_ch; oc += 2) {
            const int32_t oc1 = oc + 1 < out_ch ? oc + 1 : oc;
            int32_t acc[4];
            nn_dot_2x2_s8(filter + (size_t)oc * k, filter + (size_t)oc1 * k, col0, x1, k, acc);
            out0[oc] = nn_conv_out(acc[0], bias_eff[oc], q, oc, p);
            if (two) {
                out1[oc] = nn_conv_out(acc[1], bias_eff[oc], q, oc, p);
            }
            if (oc1 != oc) {
                out0[oc1] = nn_conv_out(acc[2], bias_eff[oc1], q, oc1, p);
                if (two) {
                    out1[oc1] = nn_conv_out(acc[3], bias_eff[oc1], q, oc1, p);
                }
            }
        }
    }
    return NN_OK;
}
