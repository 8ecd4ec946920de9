// microai nn: the GEMM step the convolutions (nn_conv_pw_s8, nn_conv_im2col_s8) share:
// a column pair (two output pixels, nn_dot.h's layout, input offset already added)
// against every output channel, two channels at a time, requantized as it goes
// (nn_conv_gemm_s8.c). The weights are int8 as TFLite stores them, widened on the host
// (NN_CONV_GEMM_W16: nn_conv_w16_prepare(), nn_dot.h's widened rows), or int4 rows
// (NN_CONV_GEMM_S4: nn_s4_rows_prepare(), nn_dot.h's int4 rows; the column pair then has
// k8 = 8 * ceil(k / 8) taps, the ones past k zero).
//
// Scratch of a kernel that uses it (4-byte aligned), nn_conv_gemm_scratch(): the output
// channels' constants (nn_conv_chan[out_ch]), one column pair (nn_dot.h), and for int8
// weights with k not a multiple of 4 the last weights row padded with zeros to whole
// words (read in words, the real row would be read past the weights' end).
#ifndef MICROAI_NN_CONV_GEMM_H
#define MICROAI_NN_CONV_GEMM_H

#include <stddef.h>

#include "nn_dot.h"
#include "nn_functions.h"

/// One output channel's constants, prepared once per call so that the output tail of
/// the 2x2 block only loads them.
typedef struct {
    int32_t bias;     ///< 0 without a bias
    int32_t mult;     ///< Q31 multiplier
    uint32_t k_lo;    ///< nn_requantize_k(-shift), when shift <= -1 (8-byte offset: LDRD)
    int32_t k_hi;
    int32_t hi_shift; ///< max(-shift, 0) - 1 (nn_requantize_hi())
    int32_t left;     ///< max(shift, 0)
} nn_conv_chan;

// nn_conv_gemm_s8.c's assembly reads mult at 4, k_lo and k_hi at 8, hi_shift at 16.
typedef char nn_conv_chan_layout_ok[(offsetof(nn_conv_chan, mult) == 4
    && offsetof(nn_conv_chan, k_lo) == 8 && offsetof(nn_conv_chan, k_hi) == 12
    && offsetof(nn_conv_chan, hi_shift) == 16) ? 1 : -1];

/// Flags for nn_conv_gemm_pair_s8().
enum {
    NN_CONV_GEMM_FULL = 1, ///< the activation clamps to [-128, 127] only (one SSAT)
    NN_CONV_GEMM_HI = 2,   ///< every channel's shift <= -1 (nn_requantize_hi())
    NN_CONV_GEMM_W16 = 4,  ///< the weights are widened rows (int16, k4 taps each)
    NN_CONV_GEMM_S4 = 8,   ///< the weights are int4 rows (4 * ceil(k / 8) bytes each)
};

/// `form`: 0 (int8 weights), NN_CONV_GEMM_W16 or NN_CONV_GEMM_S4.
static inline size_t nn_conv_gemm_scratch(int32_t out_ch, int32_t k, int form) {
    if (form == NN_CONV_GEMM_S4) {
        return (size_t)out_ch * sizeof(nn_conv_chan) + nn_col_bytes((k + 7) & ~7);
    }
    return (size_t)out_ch * sizeof(nn_conv_chan) + nn_col_bytes(k)
           + (!form && k % 4 != 0 ? (size_t)(k + 3) & ~(size_t)3 : 0);
}

/// The column pair in scratch as nn_conv_gemm_init_s8() leaves it.
static inline int16_t *nn_conv_gemm_col(void *scratch, int32_t out_ch) {
    return (int16_t *)((nn_conv_chan *)scratch + out_ch);
}

/// Prepares scratch (nn_conv_gemm_scratch(out_ch, k, form) bytes, 4-byte aligned) for
/// the weights (int8 [out_ch][k]; form NN_CONV_GEMM_W16: widened rows [out_ch][k4];
/// NN_CONV_GEMM_S4: int4 rows): the channels' constants, a zeroed column pair, the
/// padded last int8 row. Returns the NN_CONV_GEMM_* flags for p, q and the weights.
int nn_conv_gemm_init_s8(const nn_conv_params *p, const nn_quant *q, const void *filter,
    const int32_t *bias, int32_t k, int32_t out_ch, int form, void *scratch);

/// out0[oc] and out1[oc] for every output channel oc, from the column pair col (k taps)
/// and the weights (as flags say). out1 may equal out0 when col's two columns are the
/// same.
void nn_conv_gemm_pair_s8(const nn_conv_params *p, const nn_conv_chan *chan,
    const void *filter, int32_t k, int32_t out_ch, const int16_t *col, int8_t *out0,
    int8_t *out1, int flags);

/// Column `slot` (0, 1) of the column pair col: the taps of output pixel (b, oy, ox)
/// (nn_conv_im2col_s8.c; stage: its int8 staging column when in_ch % 4 != 0, else NULL).
void nn_conv_im2col_pixel(const nn_conv_params *p, const nn_dims *in_dims,
    const int8_t *in, const nn_dims *f_dims, int32_t b, int32_t oy, int32_t ox,
    int16_t *col, int32_t slot, int8_t *stage);

/// The block-sparse GEMM step (nn_conv_gemm_block4_s8.c): four output pixels at once,
/// as two column pairs (pixels 0, 1 at col; pixels 2, 3 at col + pair, pair int16
/// elements on), against every row of w (nn_block4: only its stored blocks are
/// multiplied), requantized into out[j][oc] (out[j] may repeat a pixel's pointer when
/// its columns repeat that pixel's). flags: nn_conv_gemm_init_s8()'s, without W16.
void nn_conv_gemm_block4_s8(const nn_conv_params *p, const nn_conv_chan *chan,
    const nn_block4 *w, int32_t out_ch, const int16_t *col, int32_t pair,
    int8_t *const out[4], int flags);

// The GEMM loops in hand-written assembly (Thumb-2; the DSP or the Cortex-M3 form),
// for nn_conv_gemm_s8.c and nn_conv_winograd_3x3_s8.c.
#if defined(__arm__) && defined(__ARM_ARCH_ISA_THUMB) && __ARM_ARCH_ISA_THUMB >= 2 \
    && !MICROAI_DSP_EMULATE
#define NN_GEMM_ASM (1)
#else
#define NN_GEMM_ASM (0)
#endif

#if NN_GEMM_ASM

// Four taps of nn_dot.h's 2x2 block of widened rows: row 0 r0, row 1 r1, the column
// pair r2 (all three post-incremented), the accumulators a00 r4, a01 r5, a10 r6,
// a11 r7; the pairs as they are loaded (nn_dot.h), temporaries r8-r12, lr.
#define NN_GEMM_ROW1_W16 "add    r1, r0, r1\n\t" // r1 = row 1
#if NN_DSP_ASM
// The 2x2 block's eight SMLADs over four taps, the same for every weights form: row 0's
// pairs in r8, r10 and row 1's in r9, r11, against column 0's (r12, lr, loaded before),
// then column 1's (loaded here).
#define NN_DOT_2X2_SMLAD_R \
    "smlad  r4, r8, r12, r4\n\t" \
    "smlad  r4, r10, lr, r4\n\t" \
    "smlad  r6, r9, r12, r6\n\t" \
    "smlad  r6, r11, lr, r6\n\t" \
    "ldrd   r12, lr, [r2], #8\n\t" \
    "smlad  r5, r8, r12, r5\n\t" \
    "smlad  r5, r10, lr, r5\n\t" \
    "smlad  r7, r9, r12, r7\n\t" \
    "smlad  r7, r11, lr, r7\n\t"
// 4 LDRD, 8 SMLAD for 16 MACs.
#define NN_DOT_2X2_GROUP_W16_R \
    "ldrd   r8, r10, [r0], #8\n\t" \
    "ldrd   r9, r11, [r1], #8\n\t" \
    "ldrd   r12, lr, [r2], #8\n\t" \
    NN_DOT_2X2_SMLAD_R
#else
// A tap of the 2x2 block on the Cortex-M3: row 0's weight r8, row 1's r9, against the
// columns' r12 and lr (the same for every weights form).
#define NN_DOT_2X2_MLA_R \
    "mla    r4, r8, r12, r4\n\t" \
    "mla    r5, r8, lr, r5\n\t" \
    "mla    r6, r9, r12, r6\n\t" \
    "mla    r7, r9, lr, r7\n\t"
// Cortex-M3: LDRSH for both, the weights' taps at the column 0 offsets.
#define NN_DOT_2X2_TAP_W16_R(X0, X1) \
    "ldrsh  r8, [r0, #" X0 "]\n\t" \
    "ldrsh  r9, [r1, #" X0 "]\n\t" \
    "ldrsh  r12, [r2, #" X0 "]\n\t" \
    "ldrsh  lr, [r2, #" X1 "]\n\t" \
    NN_DOT_2X2_MLA_R
#define NN_DOT_2X2_GROUP_W16_R \
    NN_DOT_2X2_TAP_W16_R("2", "10") \
    NN_DOT_2X2_TAP_W16_R("4", "12") \
    NN_DOT_2X2_TAP_W16_R("6", "14") \
    "ldrsh  r8, [r0], #8\n\t" \
    "ldrsh  r9, [r1], #8\n\t" \
    "ldrsh  lr, [r2, #8]\n\t" \
    "ldrsh  r12, [r2], #16\n\t" \
    NN_DOT_2X2_MLA_R
#endif

#endif // NN_GEMM_ASM

#endif // MICROAI_NN_CONV_GEMM_H
