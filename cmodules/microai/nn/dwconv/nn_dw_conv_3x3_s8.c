// DEPTHWISE_CONV_2D fast path: 3x3 filter, depth multiplier 1, dilation 1, any stride
// and padding; int8 weights (nn_dw_conv_3x3_s8) or int4 in TFLite's packing
// (nn_dw_conv_3x3_s4: only the group's nine widened taps are ever unpacked). Four
// channels go together (a "group"); every pixel of a group takes one unrolled 9-tap
// loop, with the group's requantization right behind its sums.
//
// Per group, the input rows are copied into scratch padded and widened: row[column] is
// the group's four channels as int16 pairs in SXTB16's layout (lanes 0, 2 and 1, 3), the
// input zero point around the input and in the lanes past the last channel. The group's
// nine weights are widened the same way once (zeros past the last channel), its
// requantization constants computed once, and the input offset folded into its bias
// (nn_dw_window.h tells why that is exact). A tap is then two pairs of words at fixed
// offsets from three row pointers and the weights: SMLABB/SMLATT on a DSP core; four
// byte loads (the columns stay int8 there), four halfword loads and four multiply-adds
// elsewhere. When the group's sums are known to
// be small (nn_requantize_small.h), its weights and bias are also scaled by each lane's
// 2^(left + 1): the sums arrive ready for SMMULR.
//
// Scratch (nn_dw_conv_3x3_s8_scratch_size), in 32-bit words, Wp = pad_w + in_w +
// trailing pad: tag[3], row[3][Wp][2]. Input row iy sits in slot (iy mod 3), where it
// stays for the next output rows.
#include "nn_dsp.h"
#include "nn_dw_window.h"
#include "nn_requantize_small.h"

#define NN_DW_TAG_ZP (-1) // a slot's tag: zero points only

// Four lanes as int16 pairs, SXTB16's layout: v02 holds lanes 0 and 2, v13 lanes 1, 3.
typedef struct {
    uint32_t v02, v13;
} nn_dw_s16x4;

#if NN_DSP
// A padded row's column: the group's four channels widened once when the row is filled.
typedef nn_dw_s16x4 nn_dw_col;

static inline nn_dw_col nn_dw_col_make(uint32_t v) {
    nn_dw_col r = {nn_sxtb16(v), nn_sxtb16_ror8(v)};
    return r;
}

// One tap of a group: acc[lane] += x[lane] * w[lane].
static inline void nn_dw_tap4_s8(const nn_dw_col *x, const nn_dw_s16x4 *w, int32_t *acc) {
    const uint32_t x02 = x->v02, x13 = x->v13, w02 = w->v02, w13 = w->v13;
    acc[0] = nn_smlabb(x02, w02, acc[0]);
    acc[1] = nn_smlabb(x13, w13, acc[1]);
    acc[2] = nn_smlatt(x02, w02, acc[2]);
    acc[3] = nn_smlatt(x13, w13, acc[3]);
}

#else
// A padded row's column: the group's four int8 channels as they are (widening them
// without SXTB16 costs more than it saves), in the scratch a DSP build's column takes.
typedef struct {
    int8_t v[4];
    uint32_t unused;
} nn_dw_col;

static inline nn_dw_col nn_dw_col_make(uint32_t v) {
    nn_dw_col r;
    memcpy(r.v, &v, 4);
    r.unused = 0;
    return r;
}

// An int16 at p (byte offsets 0, 2 of v02 are lanes 0, 2; of v13 lanes 1, 3).
static inline int32_t nn_dw_s16(const char *p) {
    int16_t v;
    memcpy(&v, p, 2);
    return v;
}

static inline void nn_dw_tap4_s8(const nn_dw_col *x, const nn_dw_s16x4 *w, int32_t *acc) {
    const int8_t *xb = x->v;
    const char *wb = (const char *)w;
    acc[0] = (int32_t)((uint32_t)acc[0] + (uint32_t)(xb[0] * nn_dw_s16(wb)));
    acc[1] = (int32_t)((uint32_t)acc[1] + (uint32_t)(xb[1] * nn_dw_s16(wb + 4)));
    acc[2] = (int32_t)((uint32_t)acc[2] + (uint32_t)(xb[2] * nn_dw_s16(wb + 2)));
    acc[3] = (int32_t)((uint32_t)acc[3] + (uint32_t)(xb[3] * nn_dw_s16(wb + 6)));
}

#endif

size_t nn_dw_conv_3x3_s8_scratch_size(const nn_conv_params *p, const nn_dims *in_dims,
    const nn_dims *f_dims, const nn_dims *out_dims) {
    const size_t wp = (size_t)p->pad_w + (size_t)in_dims->w
                      + (size_t)nn_dw_pad_right(p, in_dims->w, 3, out_dims->w);
    return 4 * (3 + 3 * 2 * wp);
}

// Four int8 lanes from p, n of them real (1..4), the others `pad`.
static inline uint32_t nn_dw_lanes(const int8_t *p, int32_t n, int8_t pad) {
    if (n >= 4) {
        return nn_read_u32(p);
    }
    uint32_t v = 0;
    for (int32_t i = 0; i < 4; i++) {
        v |= (uint32_t)(uint8_t)(i < n ? p[i] : pad) << (8 * i);
    }
    return v;
}

// The rows of one group of one batch: slot `slot` holding input row iy (tag: iy, or
// NN_DW_TAG_ZP outside the input), filled now if it holds another. The zero-point
// columns left and right never change.
typedef struct {
    int32_t *tag;
    nn_dw_col *row; // 3 x wp columns
    int32_t wp, pad_w;
    const int8_t *in; // the batch's input at the group's first channel
    int32_t lanes;    // real channels in the group (1..4)
    uint32_t zp4;     // the zero point in every byte
    nn_dw_col zp;     // a column of zero points
} nn_dw_3x3_rows;

static void nn_dw_3x3_fill(const nn_dw_3x3_rows *r, int32_t slot, int32_t iy, int32_t tag,
    const nn_dims *in_dims) {
    r->tag[slot] = tag;
    nn_dw_col *dst = r->row + (size_t)slot * r->wp + r->pad_w;
    const int32_t w = in_dims->w, ch = in_dims->c;
    if (tag == NN_DW_TAG_ZP) {
        for (int32_t x = 0; x < w; x++) {
            dst[x] = r->zp;
        }
    } else {
        const int8_t *src = r->in + (size_t)iy * w * ch;
        if (r->lanes == 4) {
            for (int32_t x = 0; x < w; x++) {
                dst[x] = nn_dw_col_make(nn_read_u32(src));
                src += ch;
            }
        } else {
            for (int32_t x = 0; x < w; x++) {
                dst[x] = nn_dw_col_make(nn_dw_lanes(src, r->lanes, (int8_t)r->zp4));
                src += ch;
            }
        }
    }
}

static inline const nn_dw_col *nn_dw_3x3_row(const nn_dw_3x3_rows *r, int32_t slot, int32_t iy,
    const nn_dims *in_dims) {
    const int32_t tag = iy >= 0 && iy < in_dims->h ? iy : NN_DW_TAG_ZP;
    if (r->tag[slot] != tag) {
        nn_dw_3x3_fill(r, slot, iy, tag, in_dims);
    }
    return r->row + (size_t)slot * r->wp;
}

// What one group's output rows need, prepared once per group.
typedef struct {
    nn_dw_s16x4 w[9]; // scaled with the bias when small
    int32_t bias[4];
    nn_dw_rq rq[4];
    nn_rq_small rqs[4];
    int32_t small; // every lane's nn_rq_small applies
    int32_t out_offset, act_min, act_max;
    uint32_t lo4, hi4; // act_min, act_max in every byte
    int32_t lanes, stride, ch, out_w;
} nn_dw_3x3_group;

// One output row of one group: x0..x2 the padded rows at the first window's column 0,
// o the row's first output of the group.
#if defined(__GNUC__)
__attribute__((noinline))
#endif
static void nn_dw_3x3_out_row(const nn_dw_3x3_group *g, const nn_dw_col *x0,
    const nn_dw_col *x1, const nn_dw_col *x2, int8_t *o) {
    const int32_t stride = g->stride, ch = g->ch;
    for (int32_t ox = g->out_w; ox > 0; ox--) {
        int32_t acc[4] = {g->bias[0], g->bias[1], g->bias[2], g->bias[3]};
        nn_dw_tap4_s8(x0, &g->w[0], acc);
        nn_dw_tap4_s8(x0 + 1, &g->w[1], acc);
        nn_dw_tap4_s8(x0 + 2, &g->w[2], acc);
        nn_dw_tap4_s8(x1, &g->w[3], acc);
        nn_dw_tap4_s8(x1 + 1, &g->w[4], acc);
        nn_dw_tap4_s8(x1 + 2, &g->w[5], acc);
        nn_dw_tap4_s8(x2, &g->w[6], acc);
        nn_dw_tap4_s8(x2 + 1, &g->w[7], acc);
        nn_dw_tap4_s8(x2 + 2, &g->w[8], acc);
        if (g->small) {
            acc[0] = nn_rq_small_apply_scaled(&g->rqs[0], acc[0]) + g->out_offset;
            acc[1] = nn_rq_small_apply_scaled(&g->rqs[1], acc[1]) + g->out_offset;
            acc[2] = nn_rq_small_apply_scaled(&g->rqs[2], acc[2]) + g->out_offset;
            acc[3] = nn_rq_small_apply_scaled(&g->rqs[3], acc[3]) + g->out_offset;
        } else {
            acc[0] = nn_add_wrap(nn_dw_rq_apply(&g->rq[0], acc[0]), g->out_offset);
            acc[1] = nn_add_wrap(nn_dw_rq_apply(&g->rq[1], acc[1]), g->out_offset);
            acc[2] = nn_add_wrap(nn_dw_rq_apply(&g->rq[2], acc[2]), g->out_offset);
            acc[3] = nn_add_wrap(nn_dw_rq_apply(&g->rq[3], acc[3]), g->out_offset);
        }
        if (g->lanes == 4) {
            nn_store4_s8(o, acc, g->lo4, g->hi4);
        } else {
            for (int32_t i = 0; i < g->lanes; i++) {
                int32_t v = acc[i] < g->act_min ? g->act_min : acc[i];
                o[i] = (int8_t)(v > g->act_max ? g->act_max : v);
            }
        }
        x0 += stride;
        x1 += stride;
        x2 += stride;
        o += ch;
    }
}

// Both kernels: the filter int8, or with s4 int4 in TFLite's packing (read once per
// group, nn_dw_weight()).
static nn_status nn_dw_conv_3x3(const nn_conv_params *p, const nn_quant *q,
    const nn_dims *in_dims, const int8_t *in,
    const nn_dims *f_dims, const void *filter, int s4, const int32_t *bias,
    const nn_dims *out_dims, int8_t *out, void *scratch, size_t scratch_size) {
    const int32_t ch = in_dims->c;
    if (f_dims->h != 3 || f_dims->w != 3 || f_dims->n != 1 || f_dims->c != ch
        || out_dims->c != ch || p->depth_multiplier != 1 || p->dilation_h != 1
        || p->dilation_w != 1 || in_dims->n != out_dims->n || p->stride_h < 1
        || p->stride_w < 1 || p->pad_h < 0 || p->pad_w < 0 || p->input_offset < -127
        || p->input_offset > 128 || scratch == NULL || ((uintptr_t)scratch & 3) != 0
        || scratch_size < nn_dw_conv_3x3_s8_scratch_size(p, in_dims, f_dims, out_dims)) {
        return NN_ERR_ARG;
    }
    nn_dw_3x3_rows r;
    r.tag = scratch;
    r.row = (nn_dw_col *)(r.tag + 3);
    r.wp = p->pad_w + in_dims->w + nn_dw_pad_right(p, in_dims->w, 3, out_dims->w);
    r.pad_w = p->pad_w;
    r.zp4 = 0x01010101u * (uint8_t)-p->input_offset; // the zero point is in [-128, 127]
    r.zp = nn_dw_col_make(r.zp4);

    const int32_t in_h = in_dims->h, out_h = out_dims->h, out_w = out_dims->w;
    const size_t in_batch = (size_t)in_h * in_dims->w * ch;
    const size_t out_batch = (size_t)out_h * out_w * ch;
    const size_t out_row = (size_t)out_w * ch;
    nn_dw_3x3_group grp;
    grp.out_offset = p->output_offset;
    grp.act_min = p->act.min;
    grp.act_max = p->act.max;
    grp.lo4 = 0x01010101u * (uint8_t)p->act.min;
    grp.hi4 = 0x01010101u * (uint8_t)p->act.max;
    grp.stride = p->stride_w;
    grp.ch = ch;
    grp.out_w = out_dims->w;
    const int32_t q_step = q->per_channel ? 1 : 0;
    for (int32_t b = 0; b < out_dims->n; b++) {
        for (int32_t c = 0; c < ch; c += 4) {
            const int32_t lanes = ch - c < 4 ? ch - c : 4;
            // The group's weights, folded bias (int32 wrap-around) and requantization.
            grp.lanes = lanes;
            int small = 1;
            for (int32_t i = 0; i < 4; i++) {
                uint32_t sum = i < lanes && bias != NULL ? (uint32_t)bias[c + i] : 0;
                for (int32_t k = 0; i < lanes && k < 9; k++) {
                    sum += (uint32_t)(nn_dw_weight(filter, s4, (size_t)k * ch + c + i)
                        * p->input_offset);
                }
                grp.bias[i] = (int32_t)sum;
                const int32_t qi = (i < lanes ? c + i : c) * q_step;
                nn_dw_rq_init(&grp.rq[i], q->multiplier[qi], q->shift[qi]);
                // |acc| <= |bias| + nine products of at most 128 * 128.
                const int64_t mag = grp.bias[i] < 0 ? -(int64_t)grp.bias[i] : grp.bias[i];
                small &= nn_rq_small_init(&grp.rqs[i], (uint32_t)mag + 9 * 128 * 128,
                    q->multiplier[qi], q->shift[qi]);
                small &= grp.rqs[i].sh <= 8; // |w| << sh must fit an int16
            }
            grp.small = small;
            // Weights widened to int16 and, when small, both they and the bias scaled by
            // 2^sh (exact: the bound above keeps every scaled sum inside int32).
            int32_t sh[4];
            for (int32_t i = 0; i < 4; i++) {
                sh[i] = small ? grp.rqs[i].sh : 0;
                grp.bias[i] = (int32_t)((uint32_t)grp.bias[i] << sh[i]);
            }
            for (int32_t k = 0; k < 9; k++) {
                int32_t v[4];
                for (int32_t i = 0; i < 4; i++) {
                    v[i] = i < lanes
                        ? nn_dw_weight(filter, s4, (size_t)k * ch + c + i) * (1 << sh[i]) : 0;
                }
                grp.w[k].v02 = ((uint32_t)v[0] & 0xffffu) | (uint32_t)v[2] << 16;
                grp.w[k].v13 = ((uint32_t)v[1] & 0xffffu) | (uint32_t)v[3] << 16;
            }
            r.in = in + (size_t)b * in_batch + c;
            r.lanes = lanes;
            for (int32_t i = 0; i < 3; i++) {
                r.tag[i] = NN_DW_TAG_ZP;
            }
            for (int32_t i = 0; i < 3 * r.wp; i++) {
                r.row[i] = r.zp;
            }
            int8_t *o = out + (size_t)b * out_batch + c;
            // Slot s0 = iy0 mod 3, stepped by the stride mod 3 from row to row.
            const int32_t step = p->stride_h % 3;
            int32_t s0 = (3 - p->pad_h % 3) % 3;
            for (int32_t oy = 0; oy < out_h; oy++) {
                const int32_t iy0 = oy * p->stride_h - p->pad_h;
                const int32_t s1 = s0 == 2 ? 0 : s0 + 1, s2 = s1 == 2 ? 0 : s1 + 1;
                const nn_dw_col *x0 = nn_dw_3x3_row(&r, s0, iy0, in_dims);
                const nn_dw_col *x1 = nn_dw_3x3_row(&r, s1, iy0 + 1, in_dims);
                const nn_dw_col *x2 = nn_dw_3x3_row(&r, s2, iy0 + 2, in_dims);
                s0 += step;
                s0 = s0 >= 3 ? s0 - 3 : s0;
                nn_dw_3x3_out_row(&grp, x0, x1, x2, o);
                o += out_row;
            }
        }
    }
    return NN_OK;
}

nn_status nn_dw_conv_3x3_s8(const nn_conv_params *p, const nn_quant *q,
    const nn_dims *in_dims, const int8_t *in,
    const nn_dims *f_dims, const int8_t *filter, const int32_t *bias,
    const nn_dims *out_dims, int8_t *out, void *scratch, size_t scratch_size) {
    return nn_dw_conv_3x3(p, q, in_dims, in, f_dims, filter, 0, bias, out_dims, out, scratch,
        scratch_size);
}

nn_status nn_dw_conv_3x3_s4(const nn_conv_params *p, const nn_quant *q,
    const nn_dims *in_dims, const int8_t *in,
    const nn_dims *f_dims, const uint8_t *filter, const int32_t *bias,
    const nn_dims *out_dims, int8_t *out, void *scratch, size_t scratch_size) {
    return nn_dw_conv_3x3(p, q, in_dims, in, f_dims, filter, 1, bias, out_dims, out, scratch,
        scratch_size);
}
