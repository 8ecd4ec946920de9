// microai nn: types shared by the kernels and the blob executor.
//
// Pure C99: no allocation, no printf, no MicroPython. Every struct here with a fixed
// layout (fixed-width fields, natural alignment, no pointers) is stored as-is in the
// blob's op parameters and mirrored field for field in host/microai/blob.py.
#ifndef MICROAI_NN_TYPES_H
#define MICROAI_NN_TYPES_H

#include <stddef.h>
#include <stdint.h>

/// Kernel status. NN_OK is 0; everything else names what the kernel refused.
typedef enum {
    NN_OK = 0,
    NN_ERR_ARG = 1,         ///< a shape, size or parameter the kernel cannot take
    NN_ERR_SCRATCH = 2,     ///< the scratch buffer is smaller than ..._scratch_size()
    NN_ERR_UNSUPPORTED = 3, ///< a valid case this kernel does not implement
} nn_status;

/// Kernel variants a wrapper may dispatch to; stored in the blob's op table so the
/// host can show (and the executor check) which one runs.
typedef enum {
    NN_KERNEL_NONE = 0,
    NN_KERNEL_CONV_IM2COL_S8 = 1,   ///< nn_conv_im2col_s8: any conv, im2col + GEMM
    NN_KERNEL_CONV_PW_S8 = 2,       ///< nn_conv_pw_s8: 1x1, stride 1, no padding
    NN_KERNEL_DW_CONV_S8 = 3,       ///< nn_dw_conv_s8: generic depthwise
    NN_KERNEL_DW_CONV_3X3_S8 = 4,   ///< nn_dw_conv_3x3_s8: 3x3, multiplier 1, dilation 1
    NN_KERNEL_FC_S8 = 5,
    NN_KERNEL_AVGPOOL_S8 = 6,
    NN_KERNEL_MAXPOOL_S8 = 7,
    NN_KERNEL_ADD_S8 = 8,
    NN_KERNEL_MUL_S8 = 9,
    NN_KERNEL_SOFTMAX_S8 = 10,
    NN_KERNEL_LUT_S8 = 11,
    NN_KERNEL_MEAN_S8 = 12,
    NN_KERNEL_PAD_S8 = 13,
    NN_KERNEL_CONCAT_S8 = 14,
    NN_KERNEL_REQUANTIZE_S8 = 15,
    NN_KERNEL_QUANTIZE_F32_S8 = 16,
    NN_KERNEL_DEQUANTIZE_S8_F32 = 17,
    NN_KERNEL_CONV_IM2COL_S8W16 = 18, ///< nn_conv_im2col_s8w16: weights widened on the host
    NN_KERNEL_CONV_PW_S8W16 = 19,     ///< nn_conv_pw_s8w16: weights widened on the host
    NN_KERNEL_CONV_PW_S4 = 20,        ///< nn_conv_pw_s4: int4 weights (S4_ROWS)
    NN_KERNEL_CONV_IM2COL_S4 = 21,    ///< nn_conv_im2col_s4: int4 weights (S4_ROWS)
    NN_KERNEL_DW_CONV_3X3_S4 = 22,    ///< nn_dw_conv_3x3_s4: int4 weights (TFLite's packing)
    NN_KERNEL_DW_CONV_S4 = 23,        ///< nn_dw_conv_s4: int4 weights (TFLite's packing)
    NN_KERNEL_FC_S4 = 24,             ///< nn_fc_s4: int4 weights (S4_ROWS)
    NN_KERNEL_CONV_PW_S8_BLOCK4 = 25,     ///< nn_conv_pw_s8_block4: block-sparse weights
    NN_KERNEL_CONV_IM2COL_S8_BLOCK4 = 26, ///< nn_conv_im2col_s8_block4: block-sparse weights
    NN_KERNEL_FC_S8_BLOCK4 = 27,          ///< nn_fc_s8_block4: block-sparse weights
    NN_KERNEL_CONV_WINOGRAD_3X3_S8 = 28,  ///< nn_conv_winograd_3x3_s8: Winograd F(2x2, 3x3)
    NN_KERNEL_BCONV_B1 = 29,              ///< nn_bconv_b1: binary conv, XOR-popcount
    NN_KERNEL_BMAXPOOL_B1 = 30,           ///< nn_bmaxpool_b1: binary max pool, AND
    NN_KERNEL_BQUANTIZE_B1 = 31,          ///< nn_bquantize_*: int8 / float32 -> bits
    NN_KERNEL_BDEQUANTIZE_B1 = 32,        ///< nn_bdequantize_*: bits -> int8 / float32
    NN_KERNEL_TRANSPOSE_S8 = 33,          ///< nn_transpose_s8
    NN_KERNEL_RELU_S8 = 34,               ///< nn_relu_s8: RELU, RELU6, LEAKY_RELU
    NN_KERNEL_MINMAX_S8 = 35,             ///< nn_minmax_s8: MAXIMUM, MINIMUM
    NN_KERNEL_STRIDED_SLICE_S8 = 36,      ///< nn_strided_slice_s8
    NN_KERNEL_SPLIT_S8 = 37,              ///< nn_split_s8: SPLIT, SPLIT_V
    NN_KERNEL_GATHER_S8 = 38,             ///< nn_gather_s8
    NN_KERNEL_CONV_GROUPED_S8 = 39,       ///< nn_conv_grouped_s8: CONV_2D with groups
    NN_KERNEL_BATCH_MATMUL_S8 = 40,       ///< nn_batch_matmul_s8
    NN_KERNEL_FC_S16 = 41,                ///< nn_fc_s16: 16x8 FULLY_CONNECTED
    NN_KERNEL_QUANTIZE_F32_S16 = 42,      ///< nn_quantize_f32_s16
    NN_KERNEL_DEQUANTIZE_S16_F32 = 43,    ///< nn_dequantize_s16_f32
    NN_KERNEL_CONV_S16 = 44,              ///< nn_conv_s16: 16x8 CONV_2D
    NN_KERNEL_SOFTMAX_S16 = 45,           ///< nn_softmax_s16
    NN_KERNEL_DW_CONV_S16 = 46,           ///< nn_dw_conv_s16: 16x8 DEPTHWISE_CONV_2D
    NN_KERNEL_SVDF_S8 = 47,               ///< nn_svdf_s8: int8 SVDF, int8 or int16 state
    NN_KERNEL_LSTM_S8 = 48,               ///< nn_lstm_s8: UNIDIRECTIONAL_SEQUENCE_LSTM 8x8->16
    NN_KERNEL_ADD_S16 = 49,               ///< nn_add_s16: 16x8 ADD
    NN_KERNEL_COUNT = 50,
} nn_kernel;

/// The most taps one output of an int4-weights GEMM kernel sums (nn_dot.h: its DSP sums
/// are 16 times the taps' and exact while below 2^31).
#define NN_S4_MAX_TAPS (65536)

/// The most input channels nn_conv_winograd_3x3_s8 takes: its Y is 4 times the direct
/// sum of w * x over 9 * in_ch taps, which is exact while below 2^29 in magnitude
/// (9 * 3,640 * 128 * 128 < 2^29).
#define NN_WINOGRAD_MAX_IN (3640)

/// A 4-D NHWC shape. [batch, depth] is {n = batch, h = 1, w = 1, c = depth}.
/// Filters: conv OHWI is {n = out_ch, h, w, c = in_ch}; depthwise 1HWO is
/// {n = 1, h, w, c = out_ch}.
typedef struct {
    int32_t n;
    int32_t h;
    int32_t w;
    int32_t c;
} nn_dims;

/// Fused activation as a clamp on the int8 output, already in output units.
typedef struct {
    int32_t min;
    int32_t max;
} nn_activation;

/// How accumulators are rescaled: the two goldens differ here (stored per op in the
/// blob as mai_op.rounding).
typedef enum {
    NN_ROUNDING_DOUBLE = 0, ///< gemmlowp's SaturatingRoundingDoublingHighMul, then
                            ///< RoundingDivideByPOT: TFLite-Micro, CMSIS-NN (nn_requantize)
    NN_ROUNDING_SINGLE = 1, ///< one rounding in 64 bits: LiteRT >= 2's reference
                            ///< FULLY_CONNECTED (nn_requantize_single)
    NN_ROUNDING_COUNT = 2,
} nn_rounding;

/// Requantization of int32 accumulators: per output channel, or one for all.
/// multiplier is Q31 (TFLite QuantizeMultiplier), shift > 0 is a left shift.
typedef struct {
    const int32_t *multiplier;
    const int32_t *shift;
    int32_t per_channel; ///< 1: arrays have one entry per output channel; 0: one entry
    int32_t rounding;    ///< nn_rounding (FULLY_CONNECTED takes both; conv kernels DOUBLE)
} nn_quant;

/// CONV_2D and DEPTHWISE_CONV_2D.
typedef struct {
    int32_t input_offset;     ///< -input zero point
    int32_t output_offset;    ///< output zero point
    int16_t stride_h;
    int16_t stride_w;
    int16_t dilation_h;
    int16_t dilation_w;
    int16_t pad_h;            ///< padding rows above the input (bottom is implied by shapes)
    int16_t pad_w;            ///< padding columns left of the input
    int32_t depth_multiplier; ///< depthwise only; 1 for CONV_2D
    nn_activation act;
} nn_conv_params;

/// FULLY_CONNECTED.
typedef struct {
    int32_t input_offset;  ///< -input zero point
    int32_t filter_offset; ///< -weights zero point (0 for symmetric int8 weights)
    int32_t output_offset; ///< output zero point
    nn_activation act;
} nn_fc_params;

/// AVERAGE_POOL_2D and MAX_POOL_2D.
typedef struct {
    int16_t stride_h;
    int16_t stride_w;
    int16_t filter_h;
    int16_t filter_w;
    int16_t pad_h;
    int16_t pad_w;
    nn_activation act;
} nn_pool_params;

/// ADD (int8, TFLite reference arithmetic: inputs scaled to a common 2^left_shift base).
typedef struct {
    int32_t input1_offset; ///< -input1 zero point
    int32_t input2_offset; ///< -input2 zero point
    int32_t output_offset; ///< output zero point
    int32_t left_shift;    ///< 20 for int8
    int32_t input1_multiplier;
    int32_t input1_shift;
    int32_t input2_multiplier;
    int32_t input2_shift;
    int32_t output_multiplier;
    int32_t output_shift;
    nn_activation act;
} nn_add_params;

/// MUL (int8).
typedef struct {
    int32_t input1_offset;
    int32_t input2_offset;
    int32_t output_offset;
    int32_t output_multiplier;
    int32_t output_shift;
    nn_activation act;
} nn_mul_params;

/// SOFTMAX (int8 in, int8 out with scale 1/256 and zero point -128), along the last axis.
typedef struct {
    int32_t input_multiplier;
    int32_t input_left_shift;
    int32_t diff_min;
} nn_softmax_params;

/// LUT: an int8 -> int8 function of one value, as a 256-entry table: out =
/// lut[(uint8_t)in]. The host fills it as the golden computes the op: LOGISTIC and TANH as
/// LiteRT's Prepare does (LUTPopulate: the float function of each dequantized value) or
/// TFLite-Micro's integer kernels do (gemmlowp fixed point: nn_lut_tanh_s8()), HARD_SWISH
/// as both goldens' integer kernel does.
typedef struct {
    int8_t lut[256];
} nn_lut_params;

/// MEAN over H and W of an NHWC tensor (GlobalAveragePooling), int8, as TFLite's
/// reference QuantizedMeanOrSum: out = requant(sum(in) - input_zero_point * H * W) +
/// output_zero_point. multiplier/shift already include the 1 / (H * W) factor (the host
/// applies the reference's adjustment of QuantizeMultiplier(in_scale / out_scale)).
typedef struct {
    int32_t input_zero_point;
    int32_t output_zero_point;
    int32_t multiplier;
    int32_t shift;
} nn_mean_params;

/// PAD of a 4-D tensor with a constant (the input zero point for int8).
typedef struct {
    int32_t before[4]; ///< N, H, W, C
    int32_t after[4];
    int32_t pad_value;
} nn_pad_params;

/// QUANTIZE int8 -> int8 (a requantize).
typedef struct {
    int32_t input_offset;  ///< -input zero point
    int32_t output_offset; ///< output zero point
    int32_t multiplier;
    int32_t shift;
} nn_requantize_params;

/// QUANTIZE float32 -> int8 and DEQUANTIZE int8 -> float32 at the model's edges.
typedef struct {
    float scale;
    int32_t zero_point;
} nn_affine_params;

/// Binary (bit-packed) tensors, as Larq Compute Engine stores them: along the innermost
/// axis, channel c is bit c % 32 of little-endian 32-bit word c / 32; bit 1 means -1,
/// bit 0 means +1; the bits past the last channel of a row are 0.
#define NN_B1_WORDS(c) (((c) + 31) / 32)

/// LceBconv2d: a binary convolution with Larq Compute Engine's semantics. Input and
/// filter (OHWI, c = channels_in) are bit-packed; for each output and channel,
/// acc = sum over the kh x kw taps of popcount(x XOR w) (0..K, K = kh * kw * channels_in;
/// a padding tap is +1: LCE's pad_values = 1). Then, per output storage:
/// - bit-packed: bit = acc > threshold[c];
/// - int8 / float32: x = clamp(2 * acc, clamp_min, clamp_max); y = (float)x * mul[c]
///   + bias[c] in single precision, a multiply and then an add (never fused); int8 is y
///   rounded half away from zero and saturated. mul, bias and the clamp are LCE's
///   output transform (its OneTimeSetup), computed by the host.
typedef struct {
    int32_t channels_in;
    int16_t stride_h;
    int16_t stride_w;
    int16_t dilation_h;
    int16_t dilation_w;
    int16_t pad_h; ///< padding rows above the input (bottom is implied by shapes)
    int16_t pad_w;
    int32_t clamp_min; ///< on 2 * acc (int8 / float32 outputs)
    int32_t clamp_max;
} nn_bconv_params;

/// LceBMaxPool2d: the AND of the window's words (the max of +1/-1 values), the window
/// clipped to the input.
typedef struct {
    int16_t stride_h;
    int16_t stride_w;
    int16_t filter_h;
    int16_t filter_w;
    int16_t pad_h;
    int16_t pad_w;
} nn_bpool_params;

/// LceQuantize (int8 or float32 -> bits): bit 1 where x < zero_point (0 for float32).
/// LceDequantize (bits -> int8 or float32): bit 0 becomes plus, bit 1 minus (the int8
/// values LCE computes from the output quantization; +1 and -1 for float32).
typedef struct {
    int32_t zero_point; ///< quantize
    int32_t plus;       ///< dequantize
    int32_t minus;
} nn_bquant_params;

/// RELU, RELU6 and LEAKY_RELU (int8), as TFLite's reference kernels: x - input_zero_point
/// rescaled by multiplier[0]/shift[0] where it is >= 0 and by multiplier[1]/shift[1] below
/// (LEAKY_RELU's alpha; RELU's are the same), plus the output zero point, clamped to act.
typedef struct {
    int32_t input_zero_point;
    int32_t output_zero_point;
    int32_t multiplier[2];
    int32_t shift[2];
    nn_activation act;
} nn_relu_params;

/// MAXIMUM and MINIMUM (int8, 4-D broadcasting): the larger (or smaller) of the two
/// stored values, as TFLite's reference kernels compare them (no rescaling).
typedef struct {
    int32_t minimum; ///< 0: MAXIMUM, 1: MINIMUM
} nn_minmax_params;

/// STRIDED_SLICE of a 4-D tensor (the host resolves masks, negative indices and
/// clamping): along axis d, count[d] values from begin[d] every stride[d] (which may be
/// negative). A shrunk axis is a count of 1: the output holds the same values in order.
typedef struct {
    int32_t begin[4];
    int32_t stride[4];
    int32_t count[4];
} nn_slice_params;

/// SPLIT and SPLIT_V: the input cut along `axis` (0..3 of the 4-D view) into the outputs,
/// in order, each as long along it as its own dims say (values copied as they are).
typedef struct {
    int32_t axis;
} nn_split_params;

/// GATHER along `axis` (0..3 of the input's 4-D view) with constant indices: for each
/// position of the axes before it, the slices at indices[0..count) in turn.
typedef struct {
    int32_t axis;
} nn_gather_params;

/// SOFTMAX of int16 (16x8; zero points 0, output scale 1/32768), TFLite's SoftmaxInt16:
/// each value's difference from its row's maximum rescaled (input_multiplier,
/// input_left_shift: [-65535, 0] to [-10, 0]) and looked up in exp_lut, the sum's
/// reciprocal in recip_lut (1 / (1 + x)); both 513-entry tables (512 steps and an end,
/// 7 bits interpolated) as the golden fills them.
typedef struct {
    int32_t input_multiplier;
    int32_t input_left_shift;
    int16_t exp_lut[513];
    int16_t recip_lut[513];
} nn_softmax16_params;

/// BATCH_MATMUL, int8: for each of batch0 x batch1 output matrices, [rows, depth] x
/// [depth, cols] (lhs read transposed with adj_x, rhs with adj_y: TFLite's storage is
/// [depth, rows] / [cols, depth] then), each product's sum of (lhs + lhs_offset) *
/// (rhs + rhs_offset) requantized (multiplier, shift; the op's rounding) plus
/// output_offset, saturated to int8. The batch strides are in elements; 0 broadcasts.
typedef struct {
    int32_t rows;
    int32_t cols;
    int32_t depth;
    int32_t batch0;
    int32_t batch1;
    int32_t lhs_stride0;
    int32_t lhs_stride1;
    int32_t rhs_stride0;
    int32_t rhs_stride1;
    int32_t adj_x;
    int32_t adj_y;
    int32_t lhs_offset;    ///< -lhs zero point
    int32_t rhs_offset;    ///< -rhs zero point
    int32_t output_offset; ///< output zero point
    int32_t multiplier;
    int32_t shift;
} nn_batch_matmul_params;

/// SVDF, int8 (TFLite's integer SVDF): per batch row, the state's memory x filters
/// values move one step back; each filter's newest value is the feature dot product
/// sum((in + input_offset) * weights_feature), requantized (feature_multiplier /
/// feature_shift), saturated to the state's type, plus state_zero_point; each unit's
/// output is bias + the sum over its `rank` filters of weights_time . (state -
/// state_zero_point), requantized (output_*) plus output_offset, saturated to int8.
/// filters = units x rank. No fused activation: the goldens' integer kernels apply none.
typedef struct {
    int32_t batch;
    int32_t input_size;
    int32_t units;
    int32_t rank;
    int32_t memory;
    int32_t input_offset;     ///< -input zero point
    int32_t state_zero_point; ///< 0 for an int16 state
    int32_t feature_multiplier;
    int32_t feature_shift;
    int32_t output_multiplier;
    int32_t output_shift;
    int32_t output_offset;    ///< output zero point
} nn_svdf_params;

/// One LSTM gate's two int8 FULLY_CONNECTEDs to int16 at 2^-12 (Q3.12): the input's
/// (with the gate's bias) and the hidden state's, each requantized on its own.
typedef struct {
    int32_t input_multiplier;
    int32_t input_shift;
    int32_t recurrent_multiplier;
    int32_t recurrent_shift;
} nn_lstm_gate;

/// UNIDIRECTIONAL_SEQUENCE_LSTM int8 x int8 -> int16 cell, as a golden's integer LSTM
/// computes it, one batch row at a time (rows are independent). Per time step, gates
/// input, forget, cell, output = act(FC(x) + FC(h)), each FC requantized to int16 at
/// 2^-12 (Q3.12), act sigmoid (tanh for the cell gate) to Q0.15; then the cell, clipped
/// to +/-cell_clip (0: none); then h = tanh(cell) x output gate requantized (hidden_*)
/// plus hidden_out_offset, int8; the step's output is h. The goldens differ (litert):
/// - 0, TFLite-Micro (lstm_eval.h): the two FCs saturated, then their saturated sum;
///   sigmoid and tanh by TFLite's interpolation table (sigmoid_table; the cell's tanh
///   scales by tanh_multiplier, 0: 3 << tanh_shift, and rounds off tanh_shift bits);
///   cell = sat16(mul(forget, cell) + mul(input, cell gate)), each mul TFLite's
///   MulElementwise (forget_*, input_*).
/// - 1, LiteRT (lstm_eval.cc, 8x8_16): the recurrent FC added to the saturated input one
///   before saturating; gemmlowp's int16 logistic and tanh (nn_fp16_*; the cell's tanh
///   reads it in Q(tanh_integer_bits)); cell = sat16(round(forget x cell / 2^15) +
///   round(input x cell gate / 2^cell_shift)), each product cut to int16.
typedef struct {
    int32_t batch;
    int32_t time;
    int32_t input_size;
    int32_t state_size;
    int32_t time_major;  ///< input and output [time, batch, ...], else [batch, time, ...]
    int32_t input_offset;  ///< -input zero point
    int32_t hidden_zero_point; ///< of the hidden state tensor (the recurrent FC's input)
    int32_t hidden_out_offset; ///< added to each new h (LiteRT: its hidden intermediate's)
    int32_t litert;            ///< the arithmetic: 0 TFLite-Micro's, 1 LiteRT's
    nn_lstm_gate gate[4]; ///< input, forget, cell, output
    int32_t forget_multiplier; ///< forget x cell -> cell (TFLite-Micro)
    int32_t forget_shift;
    int32_t input_multiplier;  ///< input gate x cell gate -> cell (TFLite-Micro)
    int32_t input_shift;
    int32_t cell_shift;        ///< input gate x cell gate -> cell (LiteRT): 30 + log2(scale)
    int32_t hidden_multiplier; ///< tanh(cell) x output gate -> h
    int32_t hidden_shift;
    int32_t cell_clip;         ///< quantized, 0: no clipping
    int32_t tanh_multiplier;   ///< TFLite-Micro
    int32_t tanh_shift;
    int32_t tanh_integer_bits; ///< LiteRT: 15 + log2(cell scale), 0..6
    uint16_t sigmoid_table[256]; ///< sigmoid(i / 24) in 0.16, TFLite's interpolation table
} nn_lstm_params;

/// TRANSPOSE of a 4-D tensor: output dimension d is input dimension perm[d] (NHWC, the
/// 4-D right-aligned view: a rank-r permutation is shifted by 4 - r behind 0..3 - r).
typedef struct {
    int32_t perm[4];
} nn_transpose_params;

/// CONCATENATION: inputs and output share scale and zero point (TFLite int8 rule).
typedef struct {
    int32_t axis; ///< 0..3 in the 4-D NHWC view
} nn_concat_params;

#endif // MICROAI_NN_TYPES_H
