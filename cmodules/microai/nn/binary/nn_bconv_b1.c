// LceBconv2d, bit-exact with Larq Compute Engine's reference kernel (bconv2d/reference.h
// and the output transforms of output_transform.h; see nn_bconv_params).
//
// For each output pixel the taps' bits are gathered into one dense row (im2col, every
// tap's channels back to back, no word padding between taps: a padding tap is all +1,
// bit 0), unless the filter is 1x1 without padding, whose row is the input pixel itself.
// Each output channel is then one XOR-popcount of that row against the channel's filter
// row, laid out the same way by the host (MAI_LAYOUT_B1_DENSE, nn_b1_dense_prepare()),
// and the output transform. Counting bits, not words, is LCE's sum: the padding bits of
// LCE's words are 0 in both operands.
#include "nn_popcount.h"

// y rounded half away from zero (TfLiteRound) and saturated to int8. (int32_t)y
// truncates; y - t is exact (Sterbenz), so the half is decided without rounding error.
static int32_t round_s8(float y) {
    if (!(y < 128.0f)) {
        return INT8_MAX;
    }
    if (!(y > -129.0f)) {
        return INT8_MIN;
    }
    int32_t t = (int32_t)y;
    const float r = y - (float)t;
    if (r >= 0.5f) {
        t++;
    } else if (r <= -0.5f) {
        t--;
    }
    return t > INT8_MAX ? INT8_MAX : (t < INT8_MIN ? INT8_MIN : t);
}

static inline int32_t clamp_acc(int32_t acc, int32_t lo, int32_t hi) {
    const int32_t x = acc * 2;
    return x < lo ? lo : (x > hi ? hi : x);
}

float nn_bconv_out_f32(int32_t acc, int32_t clamp_min, int32_t clamp_max, float mul,
    float bias) {
    // Two statements and -ffp-contract=off: a multiply, then an add, each rounded.
    const float m = (float)clamp_acc(acc, clamp_min, clamp_max) * mul;
    return m + bias;
}

int32_t nn_bconv_out_s8(int32_t acc, int32_t clamp_min, int32_t clamp_max, float mul,
    float bias) {
    return round_s8(nn_bconv_out_f32(acc, clamp_min, clamp_max, mul, bias));
}

int32_t nn_bconv_out_fixed(int32_t acc, int32_t clamp_min, int32_t clamp_max,
    const int32_t *fixed) {
    const int32_t x = clamp_acc(acc, clamp_min, clamp_max) << (fixed[3] & 0xff);
    const int64_t b = (int64_t)((uint64_t)(uint32_t)fixed[2] << 32 | (uint32_t)fixed[1]);
    const int64_t v = (int64_t)fixed[0] * x + b;  // SMLAL
    const int32_t q = (int32_t)(v >> 32) >> (fixed[3] >> 8); // arithmetic shifts
    return q > INT8_MAX ? INT8_MAX : (q < INT8_MIN ? INT8_MIN : q);
}

// A row of bits written back to back: n (1..32) bits at a time, the rest of w 0; cur holds
// the `used` (0..31) bits not yet stored.
typedef struct {
    uint32_t *out;
    uint32_t cur;
    uint32_t used;
} bit_row;

static inline void bits_put(bit_row *r, uint32_t w, uint32_t n) {
    r->cur |= w << r->used;
    uint32_t total = r->used + n;
    if (total >= 32) {
        *r->out++ = r->cur;
        r->cur = r->used ? w >> (32 - r->used) : 0;
        total -= 32;
    }
    r->used = total;
}

static inline void bits_end(bit_row *r) {
    if (r->used) {
        *r->out++ = r->cur;
    }
}

// One tap's channels (`words` words, the last holding `rem` bits, 0: whole) after the row's.
static inline void tap_put(bit_row *r, const uint32_t *src, int32_t words, uint32_t rem) {
    const int32_t whole = rem ? words - 1 : words;
    if (r->used == 0) {
        for (int32_t k = 0; k < whole; k++) {
            *r->out++ = src[k];
        }
    } else {
        for (int32_t k = 0; k < whole; k++) {
            bits_put(r, src[k], 32);
        }
    }
    if (rem) {
        bits_put(r, src[whole] & ((1u << rem) - 1u), rem);
    }
}

uint32_t nn_b1_dense_words(int32_t taps, int32_t channels) {
    return (uint32_t)(((int64_t)taps * channels + 31) / 32);
}

void nn_b1_dense_prepare(const uint32_t *w, int32_t rows, int32_t taps, int32_t channels,
    uint32_t *out) {
    const int32_t words = NN_B1_WORDS(channels);
    const uint32_t rem = (uint32_t)channels % 32;
    for (int32_t r = 0; r < rows; r++) {
        bit_row row = {out, 0, 0};
        for (int32_t t = 0; t < taps; t++, w += words) {
            tap_put(&row, w, words, rem);
        }
        bits_end(&row);
        out = row.out;
    }
}

// Words in one gathered row: every tap's bits, back to back.
static inline uint32_t row_words(const nn_bconv_params *p, const nn_dims *f_dims) {
    return nn_b1_dense_words(f_dims->h * f_dims->w, p->channels_in);
}

static inline int direct_rows(const nn_bconv_params *p, const nn_dims *f_dims) {
    return f_dims->h == 1 && f_dims->w == 1 && p->pad_h == 0 && p->pad_w == 0;
}

size_t nn_bconv_b1_scratch_size(const nn_bconv_params *p, const nn_dims *f_dims) {
    const size_t acc = (size_t)f_dims->n * sizeof(int32_t);
    return direct_rows(p, f_dims) ? acc : acc + row_words(p, f_dims) * sizeof(uint32_t);
}

// The taps of output pixel (oy, ox) in one dense row (a padding tap is +1: bits 0).
static void gather(const nn_bconv_params *p, const nn_dims *in_dims, const uint32_t *in_b,
    const nn_dims *f_dims, int32_t oy, int32_t ox, uint32_t *row) {
    static const uint32_t zeros[1] = {0};
    const int32_t words = NN_B1_WORDS(p->channels_in);
    const uint32_t rem = (uint32_t)p->channels_in % 32;
    const int32_t y0 = oy * p->stride_h - p->pad_h, x0 = ox * p->stride_w - p->pad_w;
    bit_row r = {row, 0, 0};
    for (int32_t ky = 0; ky < f_dims->h; ky++) {
        const int32_t y = y0 + ky * p->dilation_h;
        for (int32_t kx = 0; kx < f_dims->w; kx++) {
            const int32_t x = x0 + kx * p->dilation_w;
            if (y < 0 || y >= in_dims->h || x < 0 || x >= in_dims->w) {
                for (int32_t k = 0; k < words; k++) {
                    tap_put(&r, zeros, 1, k == words - 1 ? rem : 0);
                }
            } else {
                tap_put(&r, in_b + ((size_t)y * in_dims->w + (size_t)x) * words, words, rem);
            }
        }
    }
    bits_end(&r);
}

// acc[c] = popcount(row XOR filter row c) for every output channel: a function of its own,
// so that the inlined popcount has the registers to itself (no spills per channel).
__attribute__((noinline)) static void xor_popcount_rows(const uint32_t *row,
    const uint32_t *w, uint32_t len, int32_t out_ch, int32_t *acc) {
    if (len >= 2 && len <= 31) {
        nn_pop_rows_short(row, w, len / 2, len % 2, out_ch, acc);
        return;
    }
    if (len == 1) { // up to 32 taps x channels: one word a channel
        const uint32_t x = row[0];
        for (int32_t c = 0; c < out_ch; c++) {
            acc[c] = (int32_t)nn_pop_add_bytes(0, nn_pop_word_bytes(x ^ w[c]));
        }
        return;
    }
    const uint32_t blocks = len / 30, rest = len / 2 % 15, odd = len % 2;
    for (int32_t c = 0; c < out_ch; c++, w += len) {
        acc[c] = (int32_t)nn_pop_row(row, w, blocks, rest, odd);
    }
}

// A bit-packed output pixel of rows up to 31 words: the thresholds compared in the
// popcount's own loop, 32 channels a word. Returns where the next pixel's words go.
__attribute__((noinline)) static uint32_t *bits_rows(const uint32_t *row,
    const uint32_t *w, uint32_t len, int32_t out_ch, const int32_t *th, uint32_t *out) {
    for (int32_t c0 = 0; c0 < out_ch; c0 += 32) {
        const int32_t n = out_ch - c0 < 32 ? out_ch - c0 : 32;
        *out++ = nn_pop_bits_short(row, &w, len / 2, len % 2, n, &th) >> (32 - n);
    }
    return out;
}

nn_status nn_bconv_b1(const nn_bconv_params *p, const nn_dims *in_dims, const uint32_t *in,
    const nn_dims *f_dims, const uint32_t *filter, const float *mul, const float *bias,
    const int32_t *thresholds, const int32_t *fixed, const nn_dims *out_dims, void *out,
    int32_t out_storage, void *scratch) {
    const int32_t out_ch = f_dims->n, in_words = NN_B1_WORDS(p->channels_in);
    const uint32_t len = row_words(p, f_dims);
    const int direct = direct_rows(p, f_dims);
    int32_t *acc = scratch;
    uint32_t *row = (uint32_t *)(acc + out_ch);
    int8_t *out_s8 = out;
    float *out_f32 = out;
    uint32_t *out_b1 = out;
    for (int32_t b = 0; b < out_dims->n; b++) {
        const uint32_t *in_b = in + (size_t)b * in_dims->h * in_dims->w * in_words;
        for (int32_t oy = 0; oy < out_dims->h; oy++) {
            for (int32_t ox = 0; ox < out_dims->w; ox++) {
                const uint32_t *r = row;
                if (direct) {
                    r = in_b + ((size_t)(oy * p->stride_h) * in_dims->w
                                + (size_t)(ox * p->stride_w)) * in_words;
                } else {
                    gather(p, in_dims, in_b, f_dims, oy, ox, row);
                }
                if (out_storage == 2 && len >= 2 && len <= 31) {
                    out_b1 = bits_rows(r, filter, len, out_ch, thresholds, out_b1);
                    continue;
                }
                xor_popcount_rows(r, filter, len, out_ch, acc);
                if (out_storage == 2) {
                    // Channel c's bit enters at the top and moves down: acc > threshold is
                    // the sign of threshold - acc (both within 0..K, no overflow).
                    for (int32_t c0 = 0; c0 < out_ch; c0 += 32) {
                        const int32_t n = out_ch - c0 < 32 ? out_ch - c0 : 32;
                        const int32_t *a = acc + c0, *th = thresholds + c0;
                        uint32_t bits = 0;
                        for (int32_t k = 0; k < n; k++) {
                            bits = (bits >> 1) | ((uint32_t)(th[k] - a[k]) & 0x80000000u);
                        }
                        *out_b1++ = bits >> (32 - n);
                    }
                } else if (out_storage == 1) {
                    for (int32_t c = 0; c < out_ch; c++) {
                        *out_f32++ = nn_bconv_out_f32(acc[c], p->clamp_min, p->clamp_max,
                            mul[c], bias[c]);
                    }
                } else {
                    const int32_t *fx = fixed;
                    for (int32_t c = 0; c < out_ch; c++, fx += 4) {
                        *out_s8++ = (int8_t)(fx[3] >= 0
                            ? nn_bconv_out_fixed(acc[c], p->clamp_min, p->clamp_max, fx)
                            : nn_bconv_out_s8(acc[c], p->clamp_min, p->clamp_max, mul[c],
                                bias[c]));
                    }
                }
            }
        }
    }
    return NN_OK;
}
