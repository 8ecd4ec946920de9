// microai.conv2d, microai.depthwise_conv2d, microai.fully_connected: the C kernels called
// directly on caller buffers, without a blob, for experiments at the REPL.
//
// They call the same wrappers as the blob executor (nn_conv_s8, nn_dw_conv_wrapper_s8,
// nn_fc_s8), so the same fast paths are picked, and check every argument first, as the
// executor's prepare() does: an error is a TypeError or ValueError naming the argument.
// They write into `output` and return None.
//
// Buffers are any objects with the buffer protocol (bytes, bytearray, array, memoryview),
// read as raw bytes: int8 tensors 1 byte per element, bias/multiplier/shift 4 bytes
// (int32, native byte order, 4-byte aligned) per element. `output` (and `scratch`) must be
// writable and must not overlap any other buffer.
//
// conv2d(input, input_shape, weights, weights_shape, bias, output, output_shape, *,
//        stride=(1, 1), dilation=(1, 1), padding=(0, 0), input_offset=0, output_offset=0,
//        multiplier, shift, act=(-128, 127), scratch=None, weights_bits=8)
//   Shapes are 4-tuples: input and output NHWC, weights OHWI (O = output channels,
//   I = input channels). bias: None or int32[O].
// depthwise_conv2d(..., depth_multiplier=1, ...): the same arguments plus
//   depth_multiplier; weights 1HWC with C = output channels = input C * depth_multiplier.
//
//   stride, dilation: (h, w), 1..32767. padding: (top, left) rows/columns of input zero
//   point added above/left of the input, 0..32767, less than the dilated filter size;
//   the bottom/right padding is implied by the output shape. Along each axis the output
//   size must be one whose windows all touch the input, as the executor checks:
//   with eff = (k - 1) * dilation + 1, (in + pad - eff) // stride + 1 <= out
//   <= (in + pad - 1) // stride + 1 (lower bound 1 if in + pad < eff). TFLite's SAME
//   (pad = ((out - 1) * stride + eff - in) // 2, clamped at 0) and VALID (pad = 0,
//   out = (in - eff) // stride + 1) shapes are in that range.
//   scratch: None (a buffer is allocated on the heap for the call if the kernel needs
//   one) or a writable buffer of at least the kernel's _scratch_size() bytes, counted
//   from its first 4-byte aligned byte.
//
// fully_connected(input, weights, bias, output, *, batches=1, input_offset=0,
//                 filter_offset=0, output_offset=0, multiplier, shift, act=(-128, 127),
//                 rounding='double', weights_bits=8)
//   in_depth = len(input) / batches and out_depth = len(output) / batches (both exact);
//   weights [out_depth][in_depth] (len out_depth * in_depth); bias None or int32[out_depth].
//   rounding: 'double' (the default, as the default golden TFLite-Micro) or 'single' (as
//   LiteRT); any other value is a ValueError. A blob op's rounding is in the blob.
//
// Common arguments:
//   input_offset = -input zero point, -127..128; filter_offset = -weights zero point,
//   -127..128 (FC only; conv weights are symmetric); output_offset = output zero point,
//   -128..127; act = (min, max) clamp of the int8 output, -128 <= min <= max <= 127.
//   multiplier, shift: TFLite's QuantizeMultiplier pair, either both ints (per tensor) or
//   both int32 buffers of one value (per tensor) or one per output channel (per channel);
//   multiplier >= 0 (Q31), shift -31..30 (> 0: left shift). conv2d and depthwise_conv2d
//   requantize with double rounding (nn_requantize), as both goldens do;
//   fully_connected with rounding='double' (nn_requantize: gemmlowp's
//   SaturatingRoundingDoublingHighMul then RoundingDivideByPOT, as TFLite-Micro and
//   CMSIS-NN) or 'single' (nn_requantize_single: one rounding in 64 bits, as LiteRT's
//   reference FULLY_CONNECTED). They differ by 1 on a few outputs, e.g. acc = 1,
//   multiplier = 1288490189 (0.6 in Q31), shift = -1: 1 with double, 0 with single.
//   weights_bits: 8 (the default: int8 weights, 1 byte each) or 4 (int4 weights in
//   TFLite's INT4 packing of the same shape: (elements + 1) // 2 bytes, element 2i in the
//   low nibble of byte i, values -8..7), for all three. conv2d and fully_connected then
//   repack them into the GEMM's int4 rows (nn_s4_rows_prepare()) in a heap block of
//   about the same size for the call; depthwise_conv2d reads them as given. They run
//   nn_conv_s4, nn_dw_conv_wrapper_s4 and nn_fc_s4, the blob executor's int4 kernels.
// A kernel status other than NN_OK is a ValueError naming the kernel and the status.
#ifndef MICROAI_KERNELS_H
#define MICROAI_KERNELS_H

#include "py/obj.h"

MP_DECLARE_CONST_FUN_OBJ_KW(microai_conv2d_obj);
MP_DECLARE_CONST_FUN_OBJ_KW(microai_depthwise_conv2d_obj);
MP_DECLARE_CONST_FUN_OBJ_KW(microai_fully_connected_obj);

#endif // MICROAI_KERNELS_H
