// microai nn: what the depthwise kernels share — padded input rows and a folded bias.
//
// The kernels never test a tap against the input's edges. Each output row reads its
// filter rows from padded copies of the input rows: the input zero point fills the
// columns left and right of the input and the rows above and below it. A padding tap
// then adds (zero_point + input_offset) * w = 0, and the input offset leaves the inner
// loop: sum((x + input_offset) * w) = sum(x * w) + input_offset * sum(w), the second term
// folded into the bias once per call. Every pixel takes the fast path, and the sums are
// the reference kernel's, bit for bit (int32 arithmetic wraps the same way).
//
// nn_dw_conv_s8 keeps whole rows in the input's layout, below; nn_dw_conv_3x3_s8 keeps
// one group of four channels at a time (its file tells its layout) and shares the rest.
//
// Scratch (nn_dw_rows_scratch_size), 4-byte aligned:
//   int32 bias[out_ch]      bias + input_offset * (sum of the channel's weights)
//   int32 tag[slots]        the input row a slot holds (NN_DW_TAG_ZP: zero points only)
//   int8  row[slots][len]   len = (pad_w + in_w + pad_right) * in_ch
// slots = the filter height, or 1 (one row of zero points) when the filter never leaves
// the input sideways: the rows inside the input are then read where they are.
#ifndef MICROAI_NN_DW_ROWS_H
#define MICROAI_NN_DW_ROWS_H

#include <string.h>
#include "nn_functions.h"

#define NN_DW_TAG_ZP (-1)

typedef struct {
    int32_t *bias;     // folded bias, out_ch entries
    int32_t *tag;      // per slot
    int8_t *row;       // slots x len
    int32_t slots, len;
    int32_t pad_w;     // bytes of zero points left of the input in a row
    int32_t copy;      // 0: rows inside the input are read in place
    int8_t zp;         // the input zero point
} nn_dw_rows;

// Columns of zero points right of the input that the last output's window reaches.
static inline int32_t nn_dw_pad_right(const nn_conv_params *p, int32_t in_w, int32_t kw,
    int32_t out_w) {
    int32_t r = (out_w - 1) * p->stride_w + (kw - 1) * p->dilation_w + 1 - p->pad_w - in_w;
    return r > 0 ? r : 0;
}

static inline int32_t nn_dw_rows_copy(const nn_conv_params *p, const nn_dims *in_dims,
    const nn_dims *f_dims, const nn_dims *out_dims) {
    return p->pad_w > 0 || nn_dw_pad_right(p, in_dims->w, f_dims->w, out_dims->w) > 0;
}

static inline size_t nn_dw_rows_scratch_size(const nn_conv_params *p, const nn_dims *in_dims,
    const nn_dims *f_dims, const nn_dims *out_dims) {
    size_t cols = (size_t)p->pad_w + (size_t)in_dims->w
                  + (size_t)nn_dw_pad_right(p, in_dims->w, f_dims->w, out_dims->w);
    size_t slots = nn_dw_rows_copy(p, in_dims, f_dims, out_dims) ? (size_t)f_dims->h : 1;
    size_t len = cols * (size_t)in_dims->c;
    return 4 * (size_t)out_dims->c + 4 * slots + ((slots * len + 3) & ~(size_t)3);
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

// Lay the scratch out, fold the bias, fill every row with zero points. The filter is
// int8, or with s4 int4 (nn_dw_weight()).
static inline nn_status nn_dw_rows_init(nn_dw_rows *r, const nn_conv_params *p,
    const nn_dims *in_dims, const nn_dims *f_dims, const void *filter, int s4,
    const int32_t *bias, const nn_dims *out_dims, void *scratch, size_t scratch_size) {
    if (scratch == NULL || ((uintptr_t)scratch & 3) != 0
        || scratch_size < nn_dw_rows_scratch_size(p, in_dims, f_dims, out_dims)) {
        return NN_ERR_ARG;
    }
    const int32_t out_ch = out_dims->c;
    r->copy = nn_dw_rows_copy(p, in_dims, f_dims, out_dims);
    // The zero point -input_offset is in [-128, 127] (checked at load).
    r->zp = (int8_t)-p->input_offset;
    r->slots = r->copy ? f_dims->h : 1;
    r->pad_w = p->pad_w * in_dims->c;
    r->len = (p->pad_w + in_dims->w + nn_dw_pad_right(p, in_dims->w, f_dims->w, out_dims->w))
             * in_dims->c;
    r->bias = scratch;
    r->tag = r->bias + out_ch;
    r->row = (int8_t *)(r->tag + r->slots);
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
    for (int32_t s = 0; s < r->slots; s++) {
        r->tag[s] = NN_DW_TAG_ZP;
    }
    memset(r->row, r->zp, (size_t)r->slots * (size_t)r->len);
    return NN_OK;
}

// Input row iy of the batch at `in` (in_h rows of in_w * ch bytes), padded, as slot
// `slot` holds it (filled now if it holds another); the pointer is at padded column 0.
static inline const int8_t *nn_dw_row(nn_dw_rows *r, int32_t slot, const int8_t *in,
    int32_t iy, int32_t tag_base, const nn_dims *in_dims) {
    const int32_t in_len = in_dims->w * in_dims->c;
    const int32_t inside = iy >= 0 && iy < in_dims->h;
    if (!r->copy) {
        // Read in place; a row outside the input is slot 0's zero points. The pointer
        // stands pad_w (0) bytes before the row.
        return inside ? in + (size_t)iy * in_len : r->row;
    }
    int8_t *row = r->row + (size_t)slot * r->len;
    const int32_t tag = inside ? tag_base + iy : NN_DW_TAG_ZP;
    if (r->tag[slot] != tag) {
        if (inside) {
            memcpy(row + r->pad_w, in + (size_t)iy * in_len, (size_t)in_len);
        } else {
            memset(row + r->pad_w, r->zp, (size_t)in_len);
        }
        r->tag[slot] = tag;
    }
    return row;
}

// The row nn_dw_row() last returned for slot `slot` and input row iy.
static inline const int8_t *nn_dw_row_at(const nn_dw_rows *r, int32_t slot, const int8_t *in,
    int32_t iy, const nn_dims *in_dims) {
    if (r->copy) {
        return r->row + (size_t)slot * r->len;
    }
    return iy >= 0 && iy < in_dims->h ? in + (size_t)iy * in_dims->w * in_dims->c : r->row;
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

#endif // MICROAI_NN_DW_ROWS_H
