// The block-sparse GEMM step of the convolutions (nn_conv_gemm.h): four output pixels,
// as two column pairs (nn_dot.h's layout), against each weights row's stored blocks
// only (nn_block4), requantized by the dense kernels' output tail (nn_conv_out.h).
//
// A block is four taps of one row: one word of int8 weights and its index b; its taps
// are group b of both column pairs (int16 [8b, 8b + 8) of each). Four columns share the
// block's load and its two SXTB16, so the loop costs per block (DSP, GCC 12 -O2, counted
// in the listing): LDR w, LDRH b, ADD, 4 LDRD, 2 SXTB16, 8 SMLAD, CMP, BNE = 19
// instructions for 16 MACs, against 16 for 16 MACs (4 taps x 2 rows x 2 columns) in the
// dense 2x2 block: the sparse loop breaks even at ~84 % of the blocks stored
// (cost.INNER_LOOP). Cortex-M3: 4 LDRSB, 16 LDRSH, 16 MLA and the loop's 5 for 16 MACs.
#include "nn_conv_gemm.h"
#include "nn_conv_out.h"

#if NN_DSP

// acc[0..3] += row block's taps . columns 0..3, for the blocks [b, end).
NN_ALWAYS_INLINE void nn_block4_dot4(const int8_t *w, const uint16_t *b, const uint16_t *end,
    const int16_t *col, int32_t pair, int32_t *acc) {
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
    for (; b != end; b++, w += 4) {
        const uint32_t wv = nn_read_u32(w);
        const uint32_t w02 = nn_sxtb16(wv), w13 = nn_sxtb16_ror8(wv);
        const int16_t *x = col + 8 * (uint32_t)*b, *y = x + pair;
        a0 = nn_smlad(w02, nn_read_u32(x), a0);
        a0 = nn_smlad(w13, nn_read_u32(x + 2), a0);
        a1 = nn_smlad(w02, nn_read_u32(x + 4), a1);
        a1 = nn_smlad(w13, nn_read_u32(x + 6), a1);
        a2 = nn_smlad(w02, nn_read_u32(y), a2);
        a2 = nn_smlad(w13, nn_read_u32(y + 2), a2);
        a3 = nn_smlad(w02, nn_read_u32(y + 4), a3);
        a3 = nn_smlad(w13, nn_read_u32(y + 6), a3);
    }
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
}

#else

// The same, scalar: the column's tap order 0, 2, 1, 3 against the weights' 0, 1, 2, 3.
NN_ALWAYS_INLINE void nn_block4_dot4(const int8_t *w, const uint16_t *b, const uint16_t *end,
    const int16_t *col, int32_t pair, int32_t *acc) {
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
    for (; b != end; b++, w += 4) {
        const int16_t *x = col + 8 * (uint32_t)*b, *y = x + pair;
        const int32_t w0 = w[0], w1 = w[1], w2 = w[2], w3 = w[3];
        a0 = nn_mac(a0, w0, x[0]);
        a1 = nn_mac(a1, w0, x[4]);
        a2 = nn_mac(a2, w0, y[0]);
        a3 = nn_mac(a3, w0, y[4]);
        a0 = nn_mac(a0, w2, x[1]);
        a1 = nn_mac(a1, w2, x[5]);
        a2 = nn_mac(a2, w2, y[1]);
        a3 = nn_mac(a3, w2, y[5]);
        a0 = nn_mac(a0, w1, x[2]);
        a1 = nn_mac(a1, w1, x[6]);
        a2 = nn_mac(a2, w1, y[2]);
        a3 = nn_mac(a3, w1, y[6]);
        a0 = nn_mac(a0, w3, x[3]);
        a1 = nn_mac(a1, w3, x[7]);
        a2 = nn_mac(a2, w3, y[3]);
        a3 = nn_mac(a3, w3, y[7]);
    }
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
}

#endif

NN_ALWAYS_INLINE void nn_conv_gemm_block4(const nn_conv_params *p, const nn_conv_chan *chan,
    const nn_block4 *w, int32_t out_ch, const int16_t *col, int32_t pair,
    int8_t *const out[4], int flags) {
    const int32_t off = p->output_offset, lo = p->act.min, hi = p->act.max;
    const uint32_t *rs = w->row_start;
    int8_t *o0 = out[0], *o1 = out[1], *o2 = out[2], *o3 = out[3];
    for (int32_t oc = 0; oc < out_ch; oc++, chan++) {
        const uint32_t start = rs[oc], end = rs[oc + 1];
        int32_t acc[4] = { chan->bias, chan->bias, chan->bias, chan->bias };
        nn_block4_dot4(w->data + 4 * start, w->block + start, w->block + end, col, pair, acc);
        nn_conv_out2(acc[0], acc[1], chan, off, lo, hi, flags, &o0[oc], &o1[oc]);
        nn_conv_out2(acc[2], acc[3], chan, off, lo, hi, flags, &o2[oc], &o3[oc]);
    }
}

void nn_conv_gemm_block4_s8(const nn_conv_params *p, const nn_conv_chan *chan,
    const nn_block4 *w, int32_t out_ch, const int16_t *col, int32_t pair,
    int8_t *const out[4], int flags) {
    if (flags & NN_CONV_GEMM_HI) {
        nn_conv_gemm_block4(p, chan, w, out_ch, col, pair, out, NN_CONV_GEMM_HI);
    } else {
        nn_conv_gemm_block4(p, chan, w, out_ch, col, pair, out, 0);
    }
}
