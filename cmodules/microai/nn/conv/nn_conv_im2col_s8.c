// CONV_2D, any shape: im2col two output pixels at a time into a column pair (nn_dot.h:
// int16, input offset added, padding taps 0), then a GEMM over all output channels,
// two channels x two pixels per pass, requantized as it goes (nn_conv_gemm.h).
//
// A column is copied by runs, not tap by tap: each kernel row's in-bounds taps are one
// contiguous run of the input row (dilation 1), the taps over the padding one run of
// zeros on each side. With in_ch a multiple of 4 the runs are widened straight into
// the column pair; else they are copied into an int8 column first (memcpy, memset with
// the zero point), which is then widened in groups of four.
//
// nn_conv_im2col_s8w16 is the same with the weights widened on the host
// (nn_conv_w16_prepare()), nn_conv_im2col_s4 with int4 weights rows
// (nn_s4_rows_prepare(); the column pair then has 8 * ceil(k / 8) taps). Scratch
// (4-byte aligned): the GEMM's (nn_conv_gemm.h: the output channels' constants, one
// column pair of k = kh * kw * in_ch taps, ...), then for in_ch not a multiple of 4
// an int8 staging column of k bytes (rounded up to 4).
#include <string.h>

#include "nn_conv_gemm.h"

// The int8 staging column, when in_ch is not a multiple of 4.
static size_t nn_im2col_stage_bytes(const nn_dims *f_dims) {
    const size_t k = (size_t)f_dims->h * f_dims->w * f_dims->c;
    return f_dims->c % 4 != 0 ? (k + 3) & ~(size_t)3 : 0;
}

static size_t nn_im2col_scratch(const nn_dims *f_dims, int form) {
    return nn_conv_gemm_scratch(f_dims->n, f_dims->h * f_dims->w * f_dims->c, form)
           + nn_im2col_stage_bytes(f_dims);
}

size_t nn_conv_im2col_s8_scratch_size(const nn_conv_params *p, const nn_dims *in_dims,
    const nn_dims *f_dims, const nn_dims *out_dims) {
    return nn_im2col_scratch(f_dims, 0);
}

size_t nn_conv_im2col_s8w16_scratch_size(const nn_conv_params *p, const nn_dims *in_dims,
    const nn_dims *f_dims, const nn_dims *out_dims) {
    return nn_im2col_scratch(f_dims, NN_CONV_GEMM_W16);
}

size_t nn_conv_im2col_s4_scratch_size(const nn_conv_params *p, const nn_dims *in_dims,
    const nn_dims *f_dims, const nn_dims *out_dims) {
    return nn_im2col_scratch(f_dims, NN_CONV_GEMM_S4);
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

// First tap index t in [0, kw] with start + t * step >= limit (step >= 1).
static inline int32_t nn_first_tap(int32_t start, int32_t step, int32_t limit, int32_t kw) {
    if (start >= limit) {
        return 0;
    }
    int32_t t = (limit - start + step - 1) / step;
    return t < kw ? t : kw;
}

// The taps [x0, x1) of every kernel row of output column ox that are inside the
// input's width.
static inline void nn_im2col_span(const nn_conv_params *p, const nn_dims *in_dims,
    int32_t kw, int32_t ox, int32_t *ix0, int32_t *x0, int32_t *x1) {
    const int32_t dw = p->dilation_w;
    *ix0 = ox * p->stride_w - p->pad_w;
    *x0 = nn_first_tap(*ix0, dw, 0, kw);
    *x1 = *x0 + nn_first_tap(*ix0 + *x0 * dw, dw, in_dims->w, kw - *x0);
}

// Column `slot` of col: the kh x kw taps of in_ch bytes of output pixel (b, oy, ox),
// widened straight from the input. Every run starts and ends at a multiple of four
// taps when in_ch is (the caller's condition), so only whole groups are written.
static void nn_im2col_widen(const nn_conv_params *p, const nn_dims *in_dims,
    const int8_t *in, const nn_dims *f_dims, int32_t b, int32_t oy, int32_t ox,
    int16_t *col, int32_t slot) {
    const int32_t ch = in_dims->c, kw = f_dims->w;
    const int32_t row_taps = kw * ch;
    const int32_t iy0 = oy * p->stride_h - p->pad_h;
    const int32_t dw = p->dilation_w, off = p->input_offset;
    int32_t ix0, x0, x1;
    nn_im2col_span(p, in_dims, kw, ox, &ix0, &x0, &x1);
    int32_t pos = 0;
    for (int32_t ky = 0; ky < f_dims->h; ky++, pos += row_taps) {
        const int32_t iy = iy0 + ky * p->dilation_h;
        if (iy < 0 || iy >= in_dims->h || x1 == x0) {
            nn_col_zero(col, slot, pos, row_taps);
            continue;
        }
        const int8_t *row = in + ((size_t)b * in_dims->h + iy) * in_dims->w * ch;
        if (x0 > 0) {
            nn_col_zero(col, slot, pos, x0 * ch);
        }
        if (dw == 1) {
            nn_col_put(col, slot, pos + x0 * ch, row + (size_t)(ix0 + x0) * ch,
                (x1 - x0) * ch, off);
        } else {
            for (int32_t kx = x0; kx < x1; kx++) {
                nn_col_put(col, slot, pos + kx * ch, row + (size_t)(ix0 + kx * dw) * ch,
                    ch, off);
            }
        }
        if (x1 < kw) {
            nn_col_zero(col, slot, pos + x1 * ch, (kw - x1) * ch);
        }
    }
}

// The same column as int8 in stage (k bytes, padding taps = the input zero point) by
// memcpy and memset runs, then widened as a whole: for in_ch not a multiple of 4.
static void nn_im2col_stage(const nn_conv_params *p, const nn_dims *in_dims,
    const int8_t *in, const nn_dims *f_dims, int32_t b, int32_t oy, int32_t ox,
    int16_t *col, int32_t slot, int8_t *stage) {
    const int32_t ch = in_dims->c, kw = f_dims->w;
    const int32_t k = f_dims->h * kw * ch, row_taps = kw * ch;
    const int32_t iy0 = oy * p->stride_h - p->pad_h;
    const int32_t dw = p->dilation_w;
    const int zero = -p->input_offset;
    int32_t ix0, x0, x1;
    nn_im2col_span(p, in_dims, kw, ox, &ix0, &x0, &x1);
    int8_t *s = stage;
    for (int32_t ky = 0; ky < f_dims->h; ky++, s += row_taps) {
        const int32_t iy = iy0 + ky * p->dilation_h;
        if (iy < 0 || iy >= in_dims->h || x1 == x0) {
            memset(s, zero, (size_t)row_taps);
            continue;
        }
        const int8_t *row = in + ((size_t)b * in_dims->h + iy) * in_dims->w * ch;
        memset(s, zero, (size_t)(x0 * ch));
        if (dw == 1) {
            memcpy(s + x0 * ch, row + (size_t)(ix0 + x0) * ch, (size_t)((x1 - x0) * ch));
        } else {
            for (int32_t kx = x0; kx < x1; kx++) {
                memcpy(s + kx * ch, row + (size_t)(ix0 + kx * dw) * ch, (size_t)ch);
            }
        }
        memset(s + x1 * ch, zero, (size_t)((kw - x1) * ch));
    }
    nn_col_put(col, slot, 0, stage, k, p->input_offset);
}

void nn_conv_im2col_pixel(const nn_conv_params *p, const nn_dims *in_dims,
    const int8_t *in, const nn_dims *f_dims, int32_t b, int32_t oy, int32_t ox,
    int16_t *col, int32_t slot, int8_t *stage) {
    if (stage == NULL) {
        nn_im2col_widen(p, in_dims, in, f_dims, b, oy, ox, col, slot);
    } else {
        nn_im2col_stage(p, in_dims, in, f_dims, b, oy, ox, col, slot, stage);
    }
}

static void nn_im2col_run(const nn_conv_params *p, const nn_conv_chan *chan,
    const nn_dims *in_dims, const int8_t *in, const nn_dims *f_dims, const void *filter,
    const nn_dims *out_dims, int8_t *out, int16_t *col, int8_t *stage, int flags) {
    const int32_t out_ch = out_dims->c;
    const int32_t k = f_dims->h * f_dims->w * f_dims->c;
    int32_t pix = out_dims->n * out_dims->h * out_dims->w;
    int32_t b = 0, oy = 0, ox = 0; // coordinates of the next pixel to im2col
    for (; pix >= 2; pix -= 2) {
        nn_conv_im2col_pixel(p, in_dims, in, f_dims, b, oy, ox, col, 0, stage);
        nn_next_pixel(out_dims, &b, &oy, &ox);
        nn_conv_im2col_pixel(p, in_dims, in, f_dims, b, oy, ox, col, 1, stage);
        nn_next_pixel(out_dims, &b, &oy, &ox);
        nn_conv_gemm_pair_s8(p, chan, filter, k, out_ch, col, out, out + out_ch, flags);
        out += 2 * out_ch;
    }
    if (pix) {
        nn_conv_im2col_pixel(p, in_dims, in, f_dims, b, oy, ox, col, 0, stage);
        nn_conv_im2col_pixel(p, in_dims, in, f_dims, b, oy, ox, col, 1, stage);
        nn_conv_gemm_pair_s8(p, chan, filter, k, out_ch, col, out, out, flags);
    }
}

static nn_status nn_im2col(const nn_conv_params *p, const nn_quant *q,
    const nn_dims *in_dims, const int8_t *in, const nn_dims *f_dims, const void *filter,
    const int32_t *bias, const nn_dims *out_dims, int8_t *out, void *scratch,
    size_t scratch_size, int form) {
    if (f_dims->c != in_dims->c || f_dims->n != out_dims->c || in_dims->n != out_dims->n
        || p->stride_h < 1 || p->stride_w < 1 || p->dilation_h < 1 || p->dilation_w < 1) {
        return NN_ERR_ARG;
    }
    if (scratch == NULL || (uintptr_t)scratch % sizeof(int32_t) != 0
        || scratch_size < nn_im2col_scratch(f_dims, form)) {
        return NN_ERR_SCRATCH;
    }
    const int32_t k = f_dims->h * f_dims->w * f_dims->c;
    const int flags = nn_conv_gemm_init_s8(p, q, filter, bias, k, out_dims->c, form, scratch);
    const nn_conv_chan *chan = scratch;
    int16_t *col = nn_conv_gemm_col(scratch, out_dims->c);
    int8_t *stage = nn_im2col_stage_bytes(f_dims)
        ? (int8_t *)scratch + nn_conv_gemm_scratch(out_dims->c, k, form) : NULL;
    nn_im2col_run(p, chan, in_dims, in, f_dims, filter, out_dims, out, col, stage, flags);
    return NN_OK;
}

nn_status nn_conv_im2col_s8(const nn_conv_params *p, const nn_quant *q,
    const nn_dims *in_dims, const int8_t *in,
    const nn_dims *f_dims, const int8_t *filter, const int32_t *bias,
    const nn_dims *out_dims, int8_t *out, void *scratch, size_t scratch_size) {
    return nn_im2col(p, q, in_dims, in, f_dims, filter, bias, out_dims, out, scratch,
        scratch_size, 0);
}

nn_status nn_conv_im2col_s8w16(const nn_conv_params *p, const nn_quant *q,
    const nn_dims *in_dims, const int8_t *in,
    const nn_dims *f_dims, const int16_t *filter, const int32_t *bias,
    const nn_dims *out_dims, int8_t *out, void *scratch, size_t scratch_size) {
    if ((uintptr_t)filter % sizeof(int32_t) != 0) {
        return NN_ERR_ARG; // read by LDRD
    }
    return nn_im2col(p, q, in_dims, in, f_dims, filter, bias, out_dims, out, scratch,
        scratch_size, NN_CONV_GEMM_W16);
}

nn_status nn_conv_im2col_s4(const nn_conv_params *p, const nn_quant *q,
    const nn_dims *in_dims, const int8_t *in,
    const nn_dims *f_dims, const uint8_t *filter, const int32_t *bias,
    const nn_dims *out_dims, int8_t *out, void *scratch, size_t scratch_size) {
    if ((uintptr_t)filter % sizeof(int32_t) != 0) {
        return NN_ERR_ARG; // read by LDR
    }
    if ((int64_t)f_dims->h * f_dims->w * f_dims->c > NN_S4_MAX_TAPS) {
        return NN_ERR_UNSUPPORTED; // the x16 sums could overflow (nn_dot.h)
    }
    return nn_im2col(p, q, in_dims, in, f_dims, filter, bias, out_dims, out, scratch,
        scratch_size, NN_CONV_GEMM_S4);
}
