// CONV_2D 1x1, stride 1, no padding: a GEMM straight on the NHWC input, no im2col.
//
// Output channels two at a time in the outer loop, so the input offset folds into one
// per-channel correction computed once per channel pair:
//   sum_c w[c] * (x[c] + input_offset) = sum_c w[c] * x[c] + input_offset * sum_c w[c]
// then every pixel pair costs one 2x2 int8 dot product.
#include "nn_dot.h"
#include "nn_functions.h"

// bias + input_offset * sum(w), wrapping like the reference's int32 accumulator.
static int32_t nn_pw_bias(const int8_t *w, int32_t n, const int32_t *bias, int32_t oc,
    int32_t input_offset) {
    int32_t sum = 0;
    for (int32_t k = 0; k < n; k++) {
        sum += w[k];
    }
    uint32_t b = (uint32_t)(bias != NULL ? bias[oc] : 0);
    return (int32_t)(b + (uint32_t)sum * (uint32_t)input_offset);
}

static inline int8_t nn_pw_out(int32_t acc, int32_t bias, int32_t mult, int32_t shift,
    const nn_conv_params *p) {
    acc = (int32_t)((uint32_t)acc + (uint32_t)bias);
    int32_t v = nn_add_wrap(nn_requantize(acc, mult, shift), p->output_offset);
    v = v < p->act.min ? p->act.min : v;
    v = v > p->act.max ? p->act.max : v;
    return (int8_t)v;
}

nn_status nn_conv_pw_s8(const nn_conv_params *p, const nn_quant *q,
    const nn_dims *in_dims, const int8_t *in,
    const nn_dims *f_dims, const int8_t *filter, const int32_t *bias,
    const nn_dims *out_dims, int8_t *out) {
    const int32_t ch = in_dims->c;
    const int32_t out_ch = out_dims->c;
    if (f_dims->h != 1 || f_dims->w != 1 || f_dims->c != ch || f_dims->n != out_ch
        || in_dims->n != out_dims->n || in_dims->h != out_dims->h
        || in_dims->w != out_dims->w) {
        return NN_ERR_ARG;
    }
    const int32_t pixels = in_dims->n * in_dims->h * in_dims->w;
    for (int32_t oc = 0; oc < out_ch; oc += 2) {
        const int32_t oc1 = oc + 1 < out_ch ? oc + 1 : oc;
        const int8_t *w0 = filter + (size_t)oc * ch;
        const int8_t *w1 = filter + (size_t)oc1 * ch;
        const int32_t b0 = nn_pw_bias(w0, ch, bias, oc, p->input_offset);
        const int32_t b1 = nn_pw_bias(w1, ch, bias, oc1, p->input_offset);
        const int32_t i0 = q->per_channel ? oc : 0;
        const int32_t i1 = q->per_channel ? oc1 : 0;
        const int32_t m0 = q->multiplier[i0], s0 = q->shift[i0];
        const int32_t m1 = q->multiplier[i1], s1 = q->shift[i1];
        for (int32_t pix = 0; pix < pixels; pix += 2) {
            const int two = pix + 1 < pixels;
            const int8_t *x0 = in + (size_t)pix * ch;
            const int8_t *x1 = two ? x0 + ch : x0;
            int8_t *o0 = out + (size_t)pix * out_ch;
            int32_t acc[4];
            nn_dot_2x2_s8(w0, w1, x0, x1, ch, acc);
            o0[oc] = nn_pw_out(acc[0], b0, m0, s0, p);
            if (two) {
                o0[out_ch + oc] = nn_pw_out(acc[1], b0, m0, s0, p);
            }
            if (oc1 != oc) {
                o0[oc1] = nn_pw_out(acc[2], b1, m1, s1, p);
                if (two) {
                    o0[out_ch + oc1] = nn_pw_out(acc[3], b1, m1, s1, p);
                }
            }
        }
    }
    return NN_OK;
}
