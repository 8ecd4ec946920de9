// microai nn: the kernels' public API.
//
// Conventions (CMSIS-NN style):
// - Tensors are int8 NHWC, row-major, unless stated. Weights int8 (symmetric, zero point
//   0, per output channel or per tensor), bias int32 (may be NULL = all zero).
// - Each kernel returns nn_status; nothing allocates. Kernels that need scratch take a
//   caller-provided buffer; `<kernel>_scratch_size()` gives its size in bytes, using the
//   same selection predicates as the wrapper that dispatches. A size of 0 means none;
//   scratch may then be NULL.
// - Arithmetic is bit-exact with TFLite's reference kernels (LiteRT BUILTIN_REF):
//   requantization by nn_requantize() (QuantizeMultiplier / MultiplyByQuantizedMultiplier
//   with double rounding).
// - Input and output buffers must not overlap unless a kernel says so. Elementwise
//   kernels (add, mul, requantize, lut) and softmax allow out == in1/in2 (exactly in
//   place, same shape); quantize/dequantize allow out to start where in starts.
#ifndef MICROAI_NN_FUNCTIONS_H
#define MICROAI_NN_FUNCTIONS_H

#include "nn_types.h"
#include "nn_fixedpoint.h"
#include "nn_requantize.h"

// ---- requantization -----------------------------------------------------------------
// Defined static inline in nn_requantize.h; declared again here for the host's cffi.

/// TFLite MultiplyByQuantizedMultiplier(acc, multiplier, shift): the one place int32
/// accumulators are rescaled. multiplier is Q31 in [2^30, 2^31) (or 0); shift in [-31, 30].
int32_t nn_requantize(int32_t acc, int32_t multiplier, int32_t shift);
/// TFLite's single-rounding MultiplyByQuantizedMultiplier: (acc * multiplier) rounded
/// once at 2^(31 - shift). LiteRT's reference FULLY_CONNECTED rescales this way.
int32_t nn_requantize_single(int32_t acc, int32_t multiplier, int32_t shift);
/// 16x8's rescaling of int64 sums: TFLite-Micro's (the multiplier rounded to 16 bits) and
/// LiteRT's (the exact product rounded once); shift in [-31, 14], |x| < 2^47.
int32_t nn_requantize64(int64_t x, int32_t multiplier, int32_t shift);
int32_t nn_requantize64_single(int64_t x, int32_t multiplier, int32_t shift);

/// nn_requantize() for shift <= -1 in one 64-bit multiply-accumulate and a shift, as the
/// convolutions' output tails do it: k_lo, k_hi = nn_requantize_k(-shift) (low and high
/// words), hi_shift = -shift - 1.
int32_t nn_requantize_hi(int32_t acc, int32_t multiplier, uint32_t k_lo, int32_t k_hi,
    int32_t hi_shift);
uint64_t nn_requantize_k(int32_t right);

/// SaturatingRoundingDoublingHighMul and RoundingDivideByPOT (gemmlowp), exposed for
/// kernels and tests.
int32_t nn_doubling_high_mul(int32_t a, int32_t b);
int32_t nn_divide_by_pot(int32_t x, int32_t exponent);

// ---- convolution --------------------------------------------------------------------

/// CONV_2D wrapper: picks nn_conv_pw_s8 for 1x1 / stride 1 / no padding / dilation 1,
/// else nn_conv_im2col_s8. in_dims NHWC, f_dims OHWI, out_dims NHWC.
nn_status nn_conv_s8(const nn_conv_params *p, const nn_quant *q,
    const nn_dims *in_dims, const int8_t *in,
    const nn_dims *f_dims, const int8_t *filter, const int32_t *bias,
    const nn_dims *out_dims, int8_t *out, void *scratch, size_t scratch_size);
size_t nn_conv_s8_scratch_size(const nn_conv_params *p, const nn_dims *in_dims,
    const nn_dims *f_dims, const nn_dims *out_dims);
nn_kernel nn_conv_s8_kernel(const nn_conv_params *p, const nn_dims *in_dims,
    const nn_dims *f_dims, const nn_dims *out_dims);

/// CONV_2D with groups (filter input channels = input channels / groups, output channels
/// a multiple of groups), TFLite's reference ConvPerChannel: a direct loop, no scratch.
nn_status nn_conv_grouped_s8(const nn_conv_params *p, const nn_quant *q,
    const nn_dims *in_dims, const int8_t *in,
    const nn_dims *f_dims, const int8_t *filter, const int32_t *bias,
    const nn_dims *out_dims, int8_t *out);

/// CONV_2D 16x8 (int16 activations, int8 weights, int64 sums; groups too), TFLite's
/// reference ConvPerChannel with an int64 bias: a direct loop, no scratch.
nn_status nn_conv_s16(const nn_conv_params *p, const nn_quant *q,
    const nn_dims *in_dims, const int16_t *in,
    const nn_dims *f_dims, const int8_t *filter, const int32_t *bias,
    const nn_dims *out_dims, int16_t *out);

nn_status nn_conv_im2col_s8(const nn_conv_params *p, const nn_quant *q,
    const nn_dims *in_dims, const int8_t *in,
    const nn_dims *f_dims, const int8_t *filter, const int32_t *bias,
    const nn_dims *out_dims, int8_t *out, void *scratch, size_t scratch_size);
size_t nn_conv_im2col_s8_scratch_size(const nn_conv_params *p, const nn_dims *in_dims,
    const nn_dims *f_dims, const nn_dims *out_dims);

nn_status nn_conv_pw_s8(const nn_conv_params *p, const nn_quant *q,
    const nn_dims *in_dims, const int8_t *in,
    const nn_dims *f_dims, const int8_t *filter, const int32_t *bias,
    const nn_dims *out_dims, int8_t *out, void *scratch, size_t scratch_size);
size_t nn_conv_pw_s8_scratch_size(const nn_conv_params *p, const nn_dims *in_dims,
    const nn_dims *f_dims, const nn_dims *out_dims);

/// Weights widened on the host for the *_s8w16 convolutions: rows (output channels) of
/// k = kh * kw * in_ch taps as int16, each padded with zeros to 4 * ceil(k / 4) taps,
/// every four in the order 0, 2, 1, 3 (nn_dot.h). Twice the int8 weights' bytes (and
/// the padding); the inner loop needs no SXTB16. The blob's MAI_LAYOUT_WIDE.
size_t nn_conv_w16_bytes(int32_t rows, int32_t k);
void nn_conv_w16_prepare(const int8_t *w, int32_t rows, int32_t k, int16_t *dst);

/// nn_conv_im2col_s8 and nn_conv_pw_s8 with widened weights (4-byte aligned).
nn_status nn_conv_im2col_s8w16(const nn_conv_params *p, const nn_quant *q,
    const nn_dims *in_dims, const int8_t *in,
    const nn_dims *f_dims, const int16_t *filter, const int32_t *bias,
    const nn_dims *out_dims, int8_t *out, void *scratch, size_t scratch_size);
size_t nn_conv_im2col_s8w16_scratch_size(const nn_conv_params *p, const nn_dims *in_dims,
    const nn_dims *f_dims, const nn_dims *out_dims);
nn_status nn_conv_pw_s8w16(const nn_conv_params *p, const nn_quant *q,
    const nn_dims *in_dims, const int8_t *in,
    const nn_dims *f_dims, const int16_t *filter, const int32_t *bias,
    const nn_dims *out_dims, int8_t *out, void *scratch, size_t scratch_size);
size_t nn_conv_pw_s8w16_scratch_size(const nn_conv_params *p, const nn_dims *in_dims,
    const nn_dims *f_dims, const nn_dims *out_dims);

/// Winograd F(2x2, 3x3) weights for nn_conv_winograd_3x3_s8 (the blob's
/// MAI_LAYOUT_WINOGRAD): CONV weights [out_ch][3][3][in_ch] transformed to
/// U = G' g G'^T (G' = [[2,0,0],[1,1,1],[1,-1,1],[0,0,2]]) per channel pair, as int16
/// [out_ch][16][c4] (element e = 4 * row + column of U; c4 = 4 * ceil(in_ch / 4) input
/// channels, zeros past in_ch, every four in the order 0, 2, 1, 3 as nn_dot.h's widened
/// rows). 32 * c4 bytes an output channel: 3.56x the int8 weights for in_ch % 4 == 0.
size_t nn_conv_winograd_bytes(int32_t out_ch, int32_t in_ch);
void nn_conv_winograd_prepare(const int8_t *w, int32_t out_ch, int32_t in_ch, int16_t *dst);

/// CONV_2D 3x3, stride 1, dilation 1 (any padding, any channels up to
/// NN_WINOGRAD_MAX_IN inputs, else NN_ERR_UNSUPPORTED) by Winograd F(2x2, 3x3), bit-exact
/// with nn_conv_im2col_s8; weights as nn_conv_winograd_prepare() left them (4-byte
/// aligned). Scratch (4-byte aligned): the output channels' constants, 16 column pairs
/// of in_ch taps, one padding pixel.
nn_status nn_conv_winograd_3x3_s8(const nn_conv_params *p, const nn_quant *q,
    const nn_dims *in_dims, const int8_t *in,
    const nn_dims *f_dims, const int16_t *filter, const int32_t *bias,
    const nn_dims *out_dims, int8_t *out, void *scratch, size_t scratch_size);
size_t nn_conv_winograd_3x3_s8_scratch_size(const nn_conv_params *p, const nn_dims *in_dims,
    const nn_dims *f_dims, const nn_dims *out_dims);

/// Block-sparse int8 weights (the blob's MAI_LAYOUT_BLOCK_SPARSE, weights format
/// S8_BLOCK4): rows (output channels) of k taps (CONV [out, kh, kw, in], FC [out, in]),
/// each padded with zeros to whole blocks of 4 consecutive taps; only the blocks with a
/// non-zero tap are stored. For rows = 2, k = 6, w = {1 2 3 4 0 0 | 0 0 0 0 5 0}:
///   data      = {1, 2, 3, 4,  5, 0, 0, 0}     (4 bytes a block, row 0's, then row 1's)
///   row_start = {0, 1, 2}                      (u32 [rows + 1]: row r's blocks are
///                                               [row_start[r], row_start[r + 1]))
///   block     = {0, 1}                         (u16 [nnz]: block b = taps 4b..4b+3,
///                                               increasing within a row)
/// The blob keeps data as the tensor and row_start, block (zero-padded to 4 bytes) as
/// its aux; the loader checks every index once.
typedef struct {
    const int8_t *data;         ///< 4 * nnz bytes, 4-byte aligned
    const uint32_t *row_start;  ///< rows + 1
    const uint16_t *block;      ///< nnz
} nn_block4;

/// The blocks of 4 with a non-zero tap in w (int8 [rows][k]), and w in the layout:
/// data (4 * nnz bytes) and aux (nn_block4_aux_bytes(rows, nnz): row_start, block, 0
/// padding).
size_t nn_block4_nnz(const int8_t *w, int32_t rows, int32_t k);
size_t nn_block4_aux_bytes(int32_t rows, size_t nnz);
void nn_block4_prepare(const int8_t *w, int32_t rows, int32_t k, int8_t *data,
    uint8_t *aux);

/// nn_conv_pw_s8 and nn_conv_im2col_s8 with block-sparse weights: zero-skipping, four
/// output pixels per pass, bit-exact with the dense kernels on the same weights.
/// Scratch (4-byte aligned): the channels' constants, two column pairs (and the int8
/// staging column of im2col when in_ch % 4 != 0).
nn_status nn_conv_pw_s8_block4(const nn_conv_params *p, const nn_quant *q,
    const nn_dims *in_dims, const int8_t *in,
    const nn_dims *f_dims, const nn_block4 *filter, const int32_t *bias,
    const nn_dims *out_dims, int8_t *out, void *scratch, size_t scratch_size);
size_t nn_conv_pw_s8_block4_scratch_size(const nn_conv_params *p, const nn_dims *in_dims,
    const nn_dims *f_dims, const nn_dims *out_dims);
nn_status nn_conv_im2col_s8_block4(const nn_conv_params *p, const nn_quant *q,
    const nn_dims *in_dims, const int8_t *in,
    const nn_dims *f_dims, const nn_block4 *filter, const int32_t *bias,
    const nn_dims *out_dims, int8_t *out, void *scratch, size_t scratch_size);
size_t nn_conv_im2col_s8_block4_scratch_size(const nn_conv_params *p,
    const nn_dims *in_dims, const nn_dims *f_dims, const nn_dims *out_dims);

/// Int4 weights rows for the *_s4 convolutions and nn_fc_s4 (the blob's
/// MAI_LAYOUT_S4_ROWS): rows (output channels) of k taps, each padded with zero taps to
/// whole groups of 8; group g of a row is 4 bytes, byte j holding tap 8g + j in its low
/// nibble and tap 8g + 4 + j in its high nibble. E.g. a row of taps 1, 2, .., 7, -8, -1
/// (k = 9) is the bytes 0x51 0x62 0x73 0x84, 0x0f 0x00 0x00 0x00. rows * 4 * ceil(k / 8)
/// bytes (nn_s4_rows_bytes()), 4-byte aligned. nn_s4_rows_prepare() makes them from
/// TFLite's INT4 packing of [rows][k] (element 2i in the low nibble of byte i).
size_t nn_s4_rows_bytes(int32_t rows, int32_t k);
void nn_s4_rows_prepare(const uint8_t *packed, int32_t rows, int32_t k, uint8_t *dst);

/// nn_conv_s8 (and its kernels) with int4 weights rows (4-byte aligned; at most 65,536
/// taps kh * kw * in_ch, else NN_ERR_UNSUPPORTED: the DSP sums are x16, nn_dot.h).
nn_status nn_conv_s4(const nn_conv_params *p, const nn_quant *q,
    const nn_dims *in_dims, const int8_t *in,
    const nn_dims *f_dims, const uint8_t *filter, const int32_t *bias,
    const nn_dims *out_dims, int8_t *out, void *scratch, size_t scratch_size);
size_t nn_conv_s4_scratch_size(const nn_conv_params *p, const nn_dims *in_dims,
    const nn_dims *f_dims, const nn_dims *out_dims);
nn_kernel nn_conv_s4_kernel(const nn_conv_params *p, const nn_dims *in_dims,
    const nn_dims *f_dims, const nn_dims *out_dims);
nn_status nn_conv_im2col_s4(const nn_conv_params *p, const nn_quant *q,
    const nn_dims *in_dims, const int8_t *in,
    const nn_dims *f_dims, const uint8_t *filter, const int32_t *bias,
    const nn_dims *out_dims, int8_t *out, void *scratch, size_t scratch_size);
size_t nn_conv_im2col_s4_scratch_size(const nn_conv_params *p, const nn_dims *in_dims,
    const nn_dims *f_dims, const nn_dims *out_dims);
nn_status nn_conv_pw_s4(const nn_conv_params *p, const nn_quant *q,
    const nn_dims *in_dims, const int8_t *in,
    const nn_dims *f_dims, const uint8_t *filter, const int32_t *bias,
    const nn_dims *out_dims, int8_t *out, void *scratch, size_t scratch_size);
size_t nn_conv_pw_s4_scratch_size(const nn_conv_params *p, const nn_dims *in_dims,
    const nn_dims *f_dims, const nn_dims *out_dims);

/// DEPTHWISE_CONV_2D wrapper: nn_dw_conv_3x3_s8 for 3x3 / multiplier 1 / dilation 1,
/// else nn_dw_conv_s8. f_dims is {1, kh, kw, out_ch}; out_ch = in_ch * depth_multiplier.
nn_status nn_dw_conv_wrapper_s8(const nn_conv_params *p, const nn_quant *q,
    const nn_dims *in_dims, const int8_t *in,
    const nn_dims *f_dims, const int8_t *filter, const int32_t *bias,
    const nn_dims *out_dims, int8_t *out, void *scratch, size_t scratch_size);
size_t nn_dw_conv_wrapper_s8_scratch_size(const nn_conv_params *p, const nn_dims *in_dims,
    const nn_dims *f_dims, const nn_dims *out_dims);
nn_kernel nn_dw_conv_wrapper_s8_kernel(const nn_conv_params *p, const nn_dims *in_dims,
    const nn_dims *f_dims, const nn_dims *out_dims);

/// DEPTHWISE_CONV_2D 16x8 (int16 activations, int8 weights, int64 sums), TFLite's
/// reference DepthwiseConvPerChannel with an int64 bias: a direct loop, no scratch.
nn_status nn_dw_conv_s16(const nn_conv_params *p, const nn_quant *q,
    const nn_dims *in_dims, const int16_t *in,
    const nn_dims *f_dims, const int8_t *filter, const int32_t *bias,
    const nn_dims *out_dims, int16_t *out);

/// The two depthwise kernels read the input through padded rows in scratch (4-byte
/// aligned, at least their _scratch_size(): int32 folded bias per output channel, then
/// the filter height's rows of (pad + width + trailing pad) x channels bytes).
nn_status nn_dw_conv_s8(const nn_conv_params *p, const nn_quant *q,
    const nn_dims *in_dims, const int8_t *in,
    const nn_dims *f_dims, const int8_t *filter, const int32_t *bias,
    const nn_dims *out_dims, int8_t *out, void *scratch, size_t scratch_size);
size_t nn_dw_conv_s8_scratch_size(const nn_conv_params *p, const nn_dims *in_dims,
    const nn_dims *f_dims, const nn_dims *out_dims);
nn_status nn_dw_conv_3x3_s8(const nn_conv_params *p, const nn_quant *q,
    const nn_dims *in_dims, const int8_t *in,
    const nn_dims *f_dims, const int8_t *filter, const int32_t *bias,
    const nn_dims *out_dims, int8_t *out, void *scratch, size_t scratch_size);
size_t nn_dw_conv_3x3_s8_scratch_size(const nn_conv_params *p, const nn_dims *in_dims,
    const nn_dims *f_dims, const nn_dims *out_dims);

/// The depthwise kernels with int4 weights in TFLite's packing ({1, kh, kw, out_ch},
/// element 2i in the low nibble of byte i); scratch as their int8 twins'.
nn_status nn_dw_conv_wrapper_s4(const nn_conv_params *p, const nn_quant *q,
    const nn_dims *in_dims, const int8_t *in,
    const nn_dims *f_dims, const uint8_t *filter, const int32_t *bias,
    const nn_dims *out_dims, int8_t *out, void *scratch, size_t scratch_size);
nn_kernel nn_dw_conv_wrapper_s4_kernel(const nn_conv_params *p, const nn_dims *in_dims,
    const nn_dims *f_dims, const nn_dims *out_dims);
nn_status nn_dw_conv_s4(const nn_conv_params *p, const nn_quant *q,
    const nn_dims *in_dims, const int8_t *in,
    const nn_dims *f_dims, const uint8_t *filter, const int32_t *bias,
    const nn_dims *out_dims, int8_t *out, void *scratch, size_t scratch_size);
nn_status nn_dw_conv_3x3_s4(const nn_conv_params *p, const nn_quant *q,
    const nn_dims *in_dims, const int8_t *in,
    const nn_dims *f_dims, const uint8_t *filter, const int32_t *bias,
    const nn_dims *out_dims, int8_t *out, void *scratch, size_t scratch_size);

// ---- fully connected ----------------------------------------------------------------

/// FULLY_CONNECTED: out[b][o] = act(requant(sum_i (in[b][i] + in_off) * (w[o][i] + f_off)
/// + bias[o]) + out_off). Weights [out_depth][in_depth].
nn_status nn_fc_s8(const nn_fc_params *p, const nn_quant *q, int32_t batches,
    int32_t in_depth, const int8_t *in, int32_t out_depth, const int8_t *weights,
    const int32_t *bias, int8_t *out);
/// nn_fc_s8 with int4 weights rows (nn_s4_rows_prepare(), 4-byte aligned; in_depth at
/// most 65,536, else NN_ERR_UNSUPPORTED).
nn_status nn_fc_s4(const nn_fc_params *p, const nn_quant *q, int32_t batches,
    int32_t in_depth, const int8_t *in, int32_t out_depth, const uint8_t *weights,
    const int32_t *bias, int8_t *out);

/// nn_fc_s8 with block-sparse weights (zero-skipping; any filter offset, folded out as
/// in nn_fc_s8). Scratch (4-byte aligned): nn_fc_s8_block4_scratch_size(in_depth), a
/// column pair of two batch rows.
nn_status nn_fc_s8_block4(const nn_fc_params *p, const nn_quant *q, int32_t batches,
    int32_t in_depth, const int8_t *in, int32_t out_depth, const nn_block4 *weights,
    const int32_t *bias, int8_t *out, void *scratch, size_t scratch_size);
size_t nn_fc_s8_block4_scratch_size(int32_t in_depth);

/// FULLY_CONNECTED 16x8 (TFLite's int16 activations, int8 weights): int16 input, zero
/// points 0, int64 sums (bias widened from int32), requantized by
/// nn_requantize64() per tensor or per channel, clamped to p->act (int16), no offsets.
nn_status nn_fc_s16(const nn_fc_params *p, const nn_quant *q, int32_t batches,
    int32_t in_depth, const int16_t *in, int32_t out_depth, const int8_t *weights,
    const int32_t *bias, int16_t *out);

// ---- pooling ------------------------------------------------------------------------

/// AVERAGE_POOL_2D / MAX_POOL_2D, NHWC, input and output with the same scale and zero
/// point. pad_h/pad_w are the leading paddings (TFLite ComputePaddingHeightWidth); the
/// window is clipped to the input, and the average divides by the taps inside it,
/// rounding half away from zero.
nn_status nn_avgpool_s8(const nn_pool_params *p, const nn_dims *in_dims, const int8_t *in,
    const nn_dims *out_dims, int8_t *out);
nn_status nn_maxpool_s8(const nn_pool_params *p, const nn_dims *in_dims, const int8_t *in,
    const nn_dims *out_dims, int8_t *out);

/// MEAN over H and W (keep_dims or not: the output holds N x C values either way).
/// p->multiplier/shift include the 1 / (H * W) factor (see nn_mean_params).
nn_status nn_mean_s8(const nn_mean_params *p, const nn_dims *in_dims, const int8_t *in,
    const nn_dims *out_dims, int8_t *out);

// ---- elementwise --------------------------------------------------------------------

/// ADD and MUL with 4-D broadcasting: a dimension of size 1 in one input is broadcast.
/// ADD: with scratch of nn_add_s8_scratch_size() bytes (4-byte aligned; 0 for small
/// outputs), both inputs' rescaling is tabulated once per call; scratch may be NULL.
nn_status nn_add_s8(const nn_add_params *p, const nn_dims *in1_dims, const int8_t *in1,
    const nn_dims *in2_dims, const int8_t *in2, const nn_dims *out_dims, int8_t *out,
    void *scratch, size_t scratch_size);

/// ADD of int16 (16x8): nn_add_params with left_shift 15 and zero offsets, 4-D
/// broadcasting; out may be in1 or in2 exactly when that input has the output's shape.
nn_status nn_add_s16(const nn_add_params *p, const nn_dims *in1_dims, const int16_t *in1,
    const nn_dims *in2_dims, const int16_t *in2, const nn_dims *out_dims, int16_t *out);
size_t nn_add_s8_scratch_size(const nn_dims *out_dims);
nn_status nn_mul_s8(const nn_mul_params *p, const nn_dims *in1_dims, const int8_t *in1,
    const nn_dims *in2_dims, const int8_t *in2, const nn_dims *out_dims, int8_t *out);

nn_status nn_minmax_s8(const nn_minmax_params *p, const nn_dims *in1_dims, const int8_t *in1,
    const nn_dims *in2_dims, const int8_t *in2, const nn_dims *out_dims, int8_t *out);

nn_status nn_requantize_s8(const nn_requantize_params *p, int32_t size, const int8_t *in,
    int8_t *out);
/// float32 -> int8: round(x / scale) half away from zero (float division, as LiteRT) +
/// zero point, saturated. int8 -> float32: scale * (q - zero point), one float multiply.
nn_status nn_quantize_f32_s8(const nn_affine_params *p, int32_t size, const float *in,
    int8_t *out);
nn_status nn_dequantize_s8_f32(const nn_affine_params *p, int32_t size, const int8_t *in,
    float *out);
/// The same with int16 values (16x8 models' edges).
nn_status nn_quantize_f32_s16(const nn_affine_params *p, int32_t size, const float *in,
    int16_t *out);
nn_status nn_dequantize_s16_f32(const nn_affine_params *p, int32_t size, const int16_t *in,
    float *out);

/// STRIDED_SLICE (nn_slice_params), int8: out holds count[0] x .. x count[3] values.
nn_status nn_strided_slice_s8(const nn_slice_params *p, const nn_dims *in_dims,
    const int8_t *in, int8_t *out);

/// SPLIT (nn_split_params), int8: out[k] gets lengths[k] of the axis, n_out outputs.
nn_status nn_split_s8(const nn_split_params *p, const nn_dims *in_dims, const int8_t *in,
    int32_t n_out, const int32_t *lengths, int8_t *const *out);

/// SVDF (nn_svdf_params), int8 in and out; weights_time and the state (updated in
/// place) both int8 (state_bytes 1) or both int16 (2); bias int32 [units], or NULL.
nn_status nn_svdf_s8(const nn_svdf_params *p, const int8_t *in, const int8_t *weights_feature,
    const void *weights_time, const int32_t *bias, void *state, int32_t state_bytes,
    int8_t *out);

/// UNIDIRECTIONAL_SEQUENCE_LSTM (nn_lstm_params): in int8; w_in int8 [4][state][input],
/// w_rec int8 [4][state][state], bias int32 [4][state] (gates input, forget, cell,
/// output); hidden int8 and cell int16 [batch][state], updated in place; out int8;
/// scratch: 4 x state_size int16, 4-byte aligned.
nn_status nn_lstm_s8(const nn_lstm_params *p, const int8_t *in, const int8_t *w_in,
    const int8_t *w_rec, const int32_t *bias, int8_t *hidden, int16_t *cell, int8_t *out,
    int16_t *scratch);

/// BATCH_MATMUL (nn_batch_matmul_params), int8; rounding: nn_rounding.
nn_status nn_batch_matmul_s8(const nn_batch_matmul_params *p, int32_t rounding,
    const int8_t *lhs, const int8_t *rhs, int8_t *out);

/// GATHER (nn_gather_params), int8: indices (count, each in [0, the axis's length)).
nn_status nn_gather_s8(const nn_gather_params *p, const nn_dims *in_dims, const int8_t *in,
    const int32_t *indices, int32_t count, int8_t *out);

/// TRANSPOSE (nn_transpose_params), int8: out[i0, i1, i2, i3] = in[j] with j[perm[d]] =
/// i[d]; out_dims are in_dims permuted.
nn_status nn_transpose_s8(const nn_transpose_params *p, const nn_dims *in_dims,
    const int8_t *in, int8_t *out);

// ---- binary (Larq Compute Engine) ---------------------------------------------------
// Bit-packed tensors: NN_B1_WORDS(c) little-endian uint32 words per row (nn_types.h).

/// LceBconv2d (nn_bconv_params). out_storage: 0 int8, 1 float32, 2 bit-packed. Bit-packed
/// outputs read thresholds; float32 ones mul and bias; int8 ones `fixed` (int32 [out][4]:
/// A, B's low and high words, e | r << 8: q = saturate(hi32(A * (x << e) + B) >> r),
/// which the host proved equal to the float32 transform on every reachable acc of the
/// channel; -1: the channel runs the float32 transform on mul and bias). scratch:
/// nn_bconv_b1_scratch_size() bytes, 4-byte aligned.
nn_status nn_bconv_b1(const nn_bconv_params *p, const nn_dims *in_dims, const uint32_t *in,
    const nn_dims *f_dims, const uint32_t *filter, const float *mul, const float *bias,
    const int32_t *thresholds, const int32_t *fixed, const nn_dims *out_dims, void *out,
    int32_t out_storage, void *scratch);
size_t nn_bconv_b1_scratch_size(const nn_bconv_params *p, const nn_dims *f_dims);
/// The int8 and float32 output transforms of one accumulator (exposed for the host's
/// exhaustive check against LCE's arithmetic).
int32_t nn_bconv_out_s8(int32_t acc, int32_t clamp_min, int32_t clamp_max, float mul,
    float bias);
int32_t nn_bconv_out_fixed(int32_t acc, int32_t clamp_min, int32_t clamp_max,
    const int32_t *fixed);
float nn_bconv_out_f32(int32_t acc, int32_t clamp_min, int32_t clamp_max, float mul,
    float bias);
/// Binary weights for nn_bconv_b1 (MAI_LAYOUT_B1_DENSE): rows x taps x channels in LCE's
/// words (NN_B1_WORDS(channels) a tap) to rows of nn_b1_dense_words(taps, channels)
/// words, each row's taps x channels bits back to back.
uint32_t nn_b1_dense_words(int32_t taps, int32_t channels);
void nn_b1_dense_prepare(const uint32_t *w, int32_t rows, int32_t taps, int32_t channels,
    uint32_t *out);
/// The number of bits that differ between a[0..n) and b[0..n).
uint32_t nn_xor_popcount(const uint32_t *a, const uint32_t *b, uint32_t n);

nn_status nn_bmaxpool_b1(const nn_bpool_params *p, const nn_dims *in_dims,
    const uint32_t *in, const nn_dims *out_dims, uint32_t *out);
/// rows x depth values in, rows x NN_B1_WORDS(depth) words out (and back).
nn_status nn_bquantize_s8_b1(const nn_bquant_params *p, int32_t rows, int32_t depth,
    const int8_t *in, uint32_t *out);
nn_status nn_bquantize_f32_b1(int32_t rows, int32_t depth, const float *in, uint32_t *out);
nn_status nn_bdequantize_b1_s8(const nn_bquant_params *p, int32_t rows, int32_t depth,
    const uint32_t *in, int8_t *out);
nn_status nn_bdequantize_b1_f32(int32_t rows, int32_t depth, const uint32_t *in,
    float *out);

// ---- activations --------------------------------------------------------------------

/// SOFTMAX along the last axis: rows x depth; output scale 1/256, zero point -128.
nn_status nn_softmax_s8(const nn_softmax_params *p, int32_t rows, int32_t depth,
    const int8_t *in, int8_t *out);
/// SOFTMAX of int16 along the last axis (nn_softmax16_params); out may be in.
nn_status nn_softmax_s16(const nn_softmax16_params *p, int32_t rows, int32_t depth,
    const int16_t *in, int16_t *out);
/// TFLite's LUTLookup: an int16 value's interpolated entry of a 513-entry table.
int16_t nn_lut16_lookup(int16_t value, const int16_t *lut);
/// RELU, RELU6, LEAKY_RELU (nn_relu_params); out may be in.
nn_status nn_relu_s8(const nn_relu_params *p, int32_t size, const int8_t *in, int8_t *out);
/// TFLite-Micro's int8 TANH (reference_integer_ops::Tanh) of every int8 value, as the
/// LUT's table: x = v - input_zp saturates to -128 / 127 at -radius / radius, else
/// gemmlowp's tanh of x rescaled to Q4 (nn_requantize(x, multiplier, shift)) is rounded
/// to Q0.7. multiplier, shift and radius are TanhPrepare's (the host computes them).
void nn_lut_tanh_s8(int32_t input_zp, int32_t radius, int32_t multiplier, int32_t shift,
    int8_t *lut);

/// LUT: a lookup in the 256-entry table the host built (see nn_lut_params).
nn_status nn_lut_s8(const nn_lut_params *p, int32_t size, const int8_t *in,
    int8_t *out);

// ---- data movement ------------------------------------------------------------------

nn_status nn_pad_s8(const nn_pad_params *p, const nn_dims *in_dims, const int8_t *in,
    const nn_dims *out_dims, int8_t *out);
/// CONCATENATION of n inputs along axis (0..3 of the NHWC view).
nn_status nn_concat_s8(const nn_concat_params *p, int32_t n, const nn_dims *const *in_dims,
    const int8_t *const *in, const nn_dims *out_dims, int8_t *out);

#endif // MICROAI_NN_FUNCTIONS_H
