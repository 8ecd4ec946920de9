// LceBconv2d, bit-exact with Larq Compute Engine's reference kernel (bconv2d/reference.h
// and the output transforms of output_transform.h; see nn_bconv_params).
//
// For each output pixel the taps' words are gathered into one row (im2col: a padding tap
// is all +1, bit 0), unless the filter is 1x1 without padding, whose row is the input
// pixel itself. Each output channel is then one XOR-popcount of that row against the
// channel's filter row (OHWI: the same tap order), and the output transform.
#include "nn_functions.h"

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

// Words in one gathered row: every tap's.
static inline uint32_t row_words(const nn_bconv_params *p, const nn_dims *f_dims) {
    return (uint32_t)f_dims->h * (uint32_t)f_dims->w * NN_B1_WORDS(p->channels_in);
}

static inline int direct_rows(const nn_bconv_params *p, const nn_dims *f_dims) {
    return f_dims->h == 1 && f_dims->w == 1 && p->pad_h == 0 && p->pad_w == 0;
}

size_t nn_bconv_b1_scratch_size(const nn_bconv_params *p, const nn_dims *f_dims) {
    const size_t acc = (size_t)f_dims->n * sizeof(int32_t);
    return direct_rows(p, f_dims) ? acc : acc + row_words(p, f_dims) * sizeof(uint32_t);
}

// The taps of output pixel (oy, ox) in one row of words.
static void gather(const nn_bconv_params *p, const nn_dims *in_dims, const uint32_t *in_b,
    const nn_dims *f_dims, int32_t oy, int32_t ox, uint32_t *row) {
    const int32_t words = NN_B1_WORDS(p->channels_in);
    const int32_t y0 = oy * p->stride_h - p->pad_h, x0 = ox * p->stride_w - p->pad_w;
    for (int32_t ky = 0; ky < f_dims->h; ky++) {
        const int32_t y = y0 + ky * p->dilation_h;
        for (int32_t kx = 0; kx < f_dims->w; kx++) {
            const int32_t x = x0 + kx * p->dilation_w;
            if (y < 0 || y >= in_dims->h || x < 0 || x >= in_dims->w) {
                for (int32_t k = 0; k < words; k++) {
                    row[k] = 0;
                }
            } else {
                const uint32_t *src = in_b + ((size_t)y * in_dims->w + (size_t)x) * words;
                for (int32_t k = 0; k < words; k++) {
                    row[k] = src[k];
                }
            }
            row += words;
        }
    }
}

nn_status nn_bconv_b1(const nn_bconv_params *p, const nn_dims *in_dims, const uint32_t *in,
    const nn_dims *f_dims, const uint32_t *filter, const float *mul, const float *bias,
    const int32_t *thresholds, const nn_dims *out_dims, void *out, int32_t out_storage,
    void *scratch) {
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
                const uint32_t *w = filter;
                for (int32_t c = 0; c < out_ch; c++, w += len) {
                    acc[c] = (int32_t)nn_xor_popcount(r, w, len);
                }
                if (out_storage == 2) {
                    for (int32_t c0 = 0; c0 < out_ch; c0 += 32) {
                        const int32_t n = out_ch - c0 < 32 ? out_ch - c0 : 32;
                        uint32_t bits = 0;
                        for (int32_t k = 0; k < n; k++) {
                            bits |= (uint32_t)(acc[c0 + k] > thresholds[c0 + k]) << k;
                        }
                        *out_b1++ = bits;
                    }
                } else if (out_storage == 1) {
                    for (int32_t c = 0; c < out_ch; c++) {
                        *out_f32++ = nn_bconv_out_f32(acc[c], p->clamp_min, p->clamp_max,
                            mul[c], bias[c]);
                    }
                } else {
                    for (int32_t c = 0; c < out_ch; c++) {
                        *out_s8++ = (int8_t)nn_bconv_out_s8(acc[c], p->clamp_min,
                            p->clamp_max, mul[c], bias[c]);
                    }
                }
            }
        }
    }
    return NN_OK;
}
