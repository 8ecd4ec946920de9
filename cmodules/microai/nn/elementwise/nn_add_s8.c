// ADD int8 with 4-D broadcasting, bit-exact with TFLite's reference_integer_ops::Add and
// BroadcastAdd6DSlow: both inputs are shifted left by left_shift (20), rescaled to a
// common scale (twice the larger input scale), summed, rescaled to the output.
//
// An input's rescaled value depends on its int8 value alone, so with scratch
// (nn_add_s8_scratch_size(): 2 x 256 int32) the kernel tabulates both once per call and
// each element costs two table reads, one add and the output's requantization (the
// short one of nn_requantize_small.h when the tables bound every sum). Four elements go
// together; on a DSP core they are loaded and stored as words and clamped four at a
// time (SSAT, SSUB8/SEL). Without scratch each element is rescaled directly.
//
// out may be in1 or in2 exactly (in place) when that input has the output's shape.
//
// nn_add_s16 is 16x8's ADD: the same arithmetic on int16 with left_shift 15 (both
// goldens' general int16 path), element by element.
#include "nn_broadcast.h"
#include "nn_dsp.h"
#include "nn_functions.h"
#include "nn_requantize_small.h"

// Element count from which the tables pay for their 512 rescalings.
#define NN_ADD_TABLE_MIN_ELEMENTS (1024)
#define NN_ADD_TABLE_BYTES (2 * 256 * sizeof(int32_t))

static inline int32_t nn_add_scale(int32_t v, int32_t offset, int32_t left_shift,
    int32_t multiplier, int32_t shift) {
    return nn_requantize((v + offset) * ((int32_t)1 << left_shift), multiplier, shift);
}

// t[v] = nn_add_scale(v, ...) for v in [-128, 127] (t indexed from -128): the short
// requantization when |(v + offset) << left_shift| <= 255 << left_shift allows it.
static void nn_add_table(int32_t *t, int32_t offset, int32_t left_shift, int32_t multiplier,
    int32_t shift) {
    nn_rq_small rq;
    if (nn_rq_small_init(&rq, (uint32_t)255 << left_shift, multiplier, shift)) {
        for (int32_t v = -128; v < 128; v++) {
            t[v] = nn_rq_small_apply(&rq, (v + offset) * ((int32_t)1 << left_shift));
        }
        return;
    }
    for (int32_t v = -128; v < 128; v++) {
        t[v] = nn_add_scale(v, offset, left_shift, multiplier, shift);
    }
}

static inline int32_t nn_add_out(const nn_add_params *p, int32_t sx, int32_t sy) {
    return nn_add_wrap(
        nn_requantize(nn_add_wrap(sx, sy), p->output_multiplier, p->output_shift),
        p->output_offset);
}

static inline int8_t nn_add_clamp(const nn_add_params *p, int32_t o) {
    return (int8_t)(o < p->act.min ? p->act.min : (o > p->act.max ? p->act.max : o));
}

static inline int8_t add1(const nn_add_params *p, int32_t a, int32_t b) {
    const int32_t sx = nn_add_scale(a, p->input1_offset, p->left_shift, p->input1_multiplier,
        p->input1_shift);
    const int32_t sy = nn_add_scale(b, p->input2_offset, p->left_shift, p->input2_multiplier,
        p->input2_shift);
    return nn_add_clamp(p, nn_add_out(p, sx, sy));
}

// The output's requantization of one element's table sum: the short form when the
// tables bound every sum (rq != NULL), else nn_requantize().
static inline int32_t nn_add_out_t(const nn_add_params *p, const nn_rq_small *rq, int32_t sx,
    int32_t sy) {
    if (rq != NULL) {
        return nn_rq_small_apply(rq, sx + sy) + p->output_offset;
    }
    return nn_add_out(p, sx, sy);
}

#if NN_DSP
// The table sums of four elements: word loads of both inputs.
static inline void nn_add_load4_s8(const int32_t *t1, const int32_t *t2, const int8_t *a,
    const int8_t *b, int32_t *s) {
    const uint32_t av = nn_read_u32(a), bv = nn_read_u32(b);
    s[0] = nn_add_wrap(t1[(int8_t)av], t2[(int8_t)bv]);
    s[1] = nn_add_wrap(t1[(int8_t)(av >> 8)], t2[(int8_t)(bv >> 8)]);
    s[2] = nn_add_wrap(t1[(int8_t)(av >> 16)], t2[(int8_t)(bv >> 16)]);
    s[3] = nn_add_wrap(t1[(int8_t)(av >> 24)], t2[(int8_t)(bv >> 24)]);
}

#else
static inline void nn_add_load4_s8(const int32_t *t1, const int32_t *t2, const int8_t *a,
    const int8_t *b, int32_t *s) {
    s[0] = nn_add_wrap(t1[a[0]], t2[b[0]]);
    s[1] = nn_add_wrap(t1[a[1]], t2[b[1]]);
    s[2] = nn_add_wrap(t1[a[2]], t2[b[2]]);
    s[3] = nn_add_wrap(t1[a[3]], t2[b[3]]);
}

#endif

// Same-shape inputs through the tables, four elements at a time, then the tail.
static void nn_add_same_s8(const nn_add_params *p, const nn_rq_small *rq, const int32_t *t1,
    const int32_t *t2, const int8_t *a, const int8_t *b, int8_t *o, int32_t size) {
    const uint32_t lo4 = 0x01010101u * (uint8_t)p->act.min;
    const uint32_t hi4 = 0x01010101u * (uint8_t)p->act.max;
    const int32_t out_offset = p->output_offset;
    int32_t i = 0;
    if (rq != NULL) {
        const nn_rq_small r = *rq;
        for (; i + 4 <= size; i += 4) {
            int32_t v[4];
            nn_add_load4_s8(t1, t2, a + i, b + i, v);
            v[0] = nn_rq_small_apply(&r, v[0]) + out_offset;
            v[1] = nn_rq_small_apply(&r, v[1]) + out_offset;
            v[2] = nn_rq_small_apply(&r, v[2]) + out_offset;
            v[3] = nn_rq_small_apply(&r, v[3]) + out_offset;
            nn_store4_s8(o + i, v, lo4, hi4);
        }
    } else {
        const int32_t mult = p->output_multiplier, shift = p->output_shift;
        for (; i + 4 <= size; i += 4) {
            int32_t v[4];
            nn_add_load4_s8(t1, t2, a + i, b + i, v);
            v[0] = nn_add_wrap(nn_requantize(v[0], mult, shift), out_offset);
            v[1] = nn_add_wrap(nn_requantize(v[1], mult, shift), out_offset);
            v[2] = nn_add_wrap(nn_requantize(v[2], mult, shift), out_offset);
            v[3] = nn_add_wrap(nn_requantize(v[3], mult, shift), out_offset);
            nn_store4_s8(o + i, v, lo4, hi4);
        }
    }
    for (; i < size; i++) {
        o[i] = nn_add_clamp(p, nn_add_out_t(p, rq, t1[a[i]], t2[b[i]]));
    }
}

size_t nn_add_s8_scratch_size(const nn_dims *out_dims) {
    const int64_t n = (int64_t)out_dims->n * out_dims->h * out_dims->w * out_dims->c;
    return n >= NN_ADD_TABLE_MIN_ELEMENTS ? NN_ADD_TABLE_BYTES : 0;
}

// The tables in scratch (indexed from -128 to 127), and the short requantization when
// their extremes let it be exact (else rq stays NULL).
static void nn_add_tables(const nn_add_params *p, int32_t *t1, int32_t *t2, nn_rq_small *small,
    const nn_rq_small **rq) {
    nn_add_table(t1, p->input1_offset, p->left_shift, p->input1_multiplier, p->input1_shift);
    nn_add_table(t2, p->input2_offset, p->left_shift, p->input2_multiplier, p->input2_shift);
    int64_t max1 = 0, max2 = 0; // the largest |t1|, |t2|
    for (int32_t v = -128; v < 128; v++) {
        const int64_t m1 = t1[v] < 0 ? -(int64_t)t1[v] : t1[v];
        const int64_t m2 = t2[v] < 0 ? -(int64_t)t2[v] : t2[v];
        max1 = m1 > max1 ? m1 : max1;
        max2 = m2 > max2 ? m2 : max2;
    }
    *rq = NULL;
    if (max1 + max2 < ((int64_t)1 << 30)
        && nn_rq_small_init(small, (uint32_t)(max1 + max2), p->output_multiplier,
            p->output_shift)) {
        *rq = small;
    }
}

nn_status nn_add_s8(const nn_add_params *p, const nn_dims *in1_dims, const int8_t *in1,
    const nn_dims *in2_dims, const int8_t *in2, const nn_dims *out_dims, int8_t *out,
    void *scratch, size_t scratch_size) {
    const int same = nn_same_dims(in1_dims, out_dims) && nn_same_dims(in2_dims, out_dims);
    const int tables = scratch != NULL && scratch_size >= NN_ADD_TABLE_BYTES
                       && ((uintptr_t)scratch & 3) == 0;
    int32_t *t1 = NULL, *t2 = NULL;
    nn_rq_small rq_small;
    const nn_rq_small *rq = NULL;
    if (tables) {
        t1 = (int32_t *)scratch + 128;
        t2 = t1 + 256;
        nn_add_tables(p, t1, t2, &rq_small, &rq);
    }
    if (same) {
        const int32_t size = out_dims->n * out_dims->h * out_dims->w * out_dims->c;
        if (tables) {
            nn_add_same_s8(p, rq, t1, t2, in1, in2, out, size);
            return NN_OK;
        }
        for (int32_t i = 0; i < size; i++) {
            out[i] = add1(p, in1[i], in2[i]);
        }
        return NN_OK;
    }
    NN_BROADCAST_EACH(in1_dims, in1, in2_dims, in2, out_dims, va, vb,
        *out++ = tables ? nn_add_clamp(p, nn_add_out_t(p, rq, t1[va], t2[vb])) : add1(p, va, vb));
    return NN_OK;
}

nn_status nn_add_s16(const nn_add_params *p, const nn_dims *in1_dims, const int16_t *in1,
    const nn_dims *in2_dims, const int16_t *in2, const nn_dims *out_dims, int16_t *out) {
    NN_BROADCAST_EACH_T(int16_t, in1_dims, in1, in2_dims, in2, out_dims, va, vb, {
        const int32_t sx = nn_add_scale(va, p->input1_offset, p->left_shift,
            p->input1_multiplier, p->input1_shift);
        const int32_t sy = nn_add_scale(vb, p->input2_offset, p->left_shift,
            p->input2_multiplier, p->input2_shift);
        const int32_t o = nn_add_out(p, sx, sy);
        *out++ = (int16_t)(o < p->act.min ? p->act.min : (o > p->act.max ? p->act.max : o));
    });
    return NN_OK;
}
