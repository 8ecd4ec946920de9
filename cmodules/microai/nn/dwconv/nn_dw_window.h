// microai nn: what the depthwise kernels share — a folded bias and windows read in place.
//
// The kernels never test a tap against the input's edges. An output's window (the
// kh x kw taps under its filter) is read where it lies in the input when it lies wholly
// inside; else it is gathered into a patch, the input zero point where it leaves the
// input. A padding tap then adds (zero_point + input_offset) * w = 0, and the input
// offset leaves the inner loop: sum((x + input_offset) * w) = sum(x * w) + input_offset
// * sum(w), the second term folded into the bias once per call. Every pixel takes the
// fast path, and the sums are the reference kernel's, bit for bit (int32 arithmetic wraps
// the same way). Nothing of the input is copied but the edge windows, so the output may
// trail the input (mai_conv_trail_bytes): an output row is written only after the input
// rows before its first window row are no longer read.
//
// nn_dw_conv_s8 and nn_dw_conv_s4 read windows (below); nn_dw_conv_3x3_s8 keeps one
// group of four channels at a time (its file tells its layout) and shares the rest.
//
// Scratch (nn_dw_window_scratch_size), 4-byte aligned:
//   int32 bias[out_ch]        bias + input_offset * (sum of the channel's weights)
//   int8  patch[kh][kw][ch]   an edge window (rounded up to 4 bytes)
#ifndef MICROAI_NN_DW_WINDOW_H
#define MICROAI_NN_DW_WINDOW_H

#include <string.h>
#include "nn_functions.h"

typedef struct {
    int32_t *bias;     // folded bias, out_ch entries
    int8_t *patch;     // kh x kw x ch
    int8_t zp;         // the input zero point
} nn_dw_window;

// A window: tap (ky, kx) of input channel c is at x[ky * row + kx * col + c].
typedef struct {
    const int8_t *x;
    int32_t row, col;
} nn_dw_view;

// Columns of zero points right of the input that the last output's window reaches.
static inline int32_t nn_dw_pad_right(const nn_conv_params *p, int32_t in_w, int32_t kw,
    int32_t out_w) {
    int32_t r = (out_w - 1) * p->stride_w + (kw - 1) * p->dilation_w + 1 - p->pad_w - in_w;
    return r > 0 ? r : 0;
}

static inline size_t nn_dw_window_scratch_size(const nn_dims *in_dims, const nn_dims *f_dims,
    const nn_dims *out_dims) {
    size_t patch = (size_t)f_dims->h * (size_t)f_dims->w * (size_t)in_dims->c;
    return 4 * (size_t)out_dims->c + ((patch + 3) & ~(size_t)3);
}

// Weight e (TFLite's element order) of a depthwise filter: int8, or with s4 int4 in
// TFLite's packing (element 2i in the low nibble of byte i).
static inline int32_t nn_dw_weight(const void *filter, int s4, size_t e) {
    if (s4) {
        const uint32_t b = ((const uint8_t *)filter)[e >> 1];
        return (int32_t)(b << (28 - 4 * (e & 1))) >> 28;
    }
    return ((const int8_t *)filter)[e];
}

// Lay the scratch out and fold the bias. The filter is int8, or with s4 int4
// (nn_dw_weight()).
static inline nn_status nn_dw_window_init(nn_dw_window *r, const nn_conv_params *p,
    const nn_dims *in_dims, const nn_dims *f_dims, const void *filter, int s4,
    const int32_t *bias, const nn_dims *out_dims, void *scratch, size_t scratch_size) {
    if (scratch == NULL || ((uintptr_t)scratch & 3) != 0
        || scratch_size < nn_dw_window_scratch_size(in_dims, f_dims, out_dims)) {
        return NN_ERR_ARG;
    }
    const int32_t out_ch = out_dims->c;
    // The zero point -input_offset is in [-128, 127] (checked at load).
    r->zp = (int8_t)-p->input_offset;
    r->bias = scratch;
    r->patch = (int8_t *)(r->bias + out_ch);
    for (int32_t c = 0; c < out_ch; c++) {
        r->bias[c] = bias != NULL ? bias[c] : 0;
    }
    const int32_t taps = f_dims->h * f_dims->w;
    for (int32_t k = 0; k < taps; k++) {
        const size_t e = (size_t)k * out_ch;
        for (int32_t c = 0; c < out_ch; c++) {
            r->bias[c] = (int32_t)((uint32_t)r->bias[c]
                + (uint32_t)(nn_dw_weight(filter, s4, e + c) * p->input_offset));
        }
    }
    return NN_OK;
}

// First tap t in [0, k] with start + t * step >= 0 (step >= 1).
static inline int32_t nn_dw_first_in(int32_t start, int32_t step, int32_t k) {
    int32_t t = 0;
    while (t < k && start + t * step < 0) {
        t++;
    }
    return t;
}

// The window of the output whose first tap is input (iy0, ix0) in the batch at `in`:
// in place when it lies inside the input, else gathered into the patch.
static inline nn_dw_view nn_dw_view_at(nn_dw_window *r, const nn_conv_params *p,
    const nn_dims *in_dims, const nn_dims *f_dims, const int8_t *in, int32_t iy0,
    int32_t ix0) {
    const int32_t kh = f_dims->h, kw = f_dims->w, ch = in_dims->c;
    const int32_t dh = p->dilation_h, dw = p->dilation_w;
    const int32_t in_len = in_dims->w * ch;
    if (iy0 >= 0 && iy0 + (kh - 1) * dh < in_dims->h && ix0 >= 0
        && ix0 + (kw - 1) * dw < in_dims->w) {
        return (nn_dw_view){in + (size_t)iy0 * in_len + (size_t)ix0 * ch, dh * in_len, dw * ch};
    }
    // Taps [lo, hi) of a row are inside the input; the rest are zero points.
    const int32_t lo = nn_dw_first_in(ix0, dw, kw);
    int32_t hi = lo;
    while (hi < kw && ix0 + hi * dw < in_dims->w) {
        hi++;
    }
    int8_t *q = r->patch;
    for (int32_t ky = 0; ky < kh; ky++, q += kw * ch) {
        const int32_t iy = iy0 + ky * dh;
        if (iy < 0 || iy >= in_dims->h || lo == hi) {
            memset(q, r->zp, (size_t)(kw * ch));
            continue;
        }
        memset(q, r->zp, (size_t)(lo * ch));
        const int8_t *x = in + (size_t)iy * in_len + (size_t)(ix0 + lo * dw) * ch;
        if (dw == 1) {
            memcpy(q + lo * ch, x, (size_t)((hi - lo) * ch));
        } else {
            for (int32_t kx = lo; kx < hi; kx++, x += dw * ch) {
                memcpy(q + kx * ch, x, (size_t)ch);
            }
        }
        memset(q + hi * ch, r->zp, (size_t)((kw - hi) * ch));
    }
    return (nn_dw_view){r->patch, kw * ch, ch};
}

// nn_requantize() with its per-channel part done once per channel (same arithmetic,
// for multiplier >= 0 as every caller's contract has it): hm = gemmlowp's
// SaturatingRoundingDoublingHighMul, whose truncating division of (ab +- 2^30) equals
// the floor of (ab + 2^30) / 2^31 for every ab and cannot saturate for b >= 0; then
// RoundingDivideByPOT with its mask precomputed.
typedef struct {
    int32_t mult, left, right, mask;
} nn_dw_rq;

static inline void nn_dw_rq_init(nn_dw_rq *r, int32_t mult, int32_t shift) {
    r->mult = mult;
    r->left = shift > 0 ? shift : 0;
    r->right = shift > 0 ? 0 : -shift;
    r->mask = (int32_t)(((int64_t)1 << r->right) - 1);
}

static inline int32_t nn_dw_rq_apply(const nn_dw_rq *r, int32_t acc) {
    const int32_t x = (int32_t)((uint32_t)acc << r->left);
    const int32_t hm = (int32_t)(((int64_t)x * r->mult + ((int64_t)1 << 30)) >> 31);
    const int32_t threshold = (r->mask >> 1) + (hm < 0 ? 1 : 0);
    return (hm >> r->right) + ((hm & r->mask) > threshold ? 1 : 0);
}

#endif // MICROAI_NN_DW_WINDOW_H
