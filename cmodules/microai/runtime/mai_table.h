// microai: THE table of op types, kernels and storage types.
//
// Every list of them — the loader's checks, the executor's dispatch, the names the
// MicroPython module prints, the names and numbers the host reads through cffi
// (mai_op_name(), mai_kernel_name(), ...) — is an expansion of these macros, so
// nothing can drift. The numbers themselves are the blob format's (mai_blob.h:
// mai_op_type, mai_storage; nn_types.h: nn_kernel); rows are placed at those numbers.
//
// Adding a kernel variant: its C file in nn/<family>/, one MAI_KERNEL_TABLE row (with
// its supports/scratch/eval glue in ops/<family>.c), one host lowering rule.
#ifndef MICROAI_MAI_TABLE_H
#define MICROAI_MAI_TABLE_H

#include "mai_exec.h"

// X(NAME, bits): storage types (mai_storage).
#define MAI_STORAGE_TABLE(X) \
    X(S8, 8) \
    X(S32, 32) \
    X(F32, 32) \
    X(S16, 16) \
    X(S4, 4) \
    X(B1, 1)

// X(NAME, prepare, params): op types (mai_op_type), the checks every kernel of the op
// relies on (params size and values, io counts, storage types, shapes, zero points,
// overlaps), and the op's params struct (nn_types.h).
#define MAI_OP_TABLE(X) \
    X(CONV, mai_prepare_conv, nn_conv_params) \
    X(DWCONV, mai_prepare_dwconv, nn_conv_params) \
    X(FC, mai_prepare_fc, nn_fc_params) \
    X(AVGPOOL, mai_prepare_avgpool, nn_pool_params) \
    X(MAXPOOL, mai_prepare_maxpool, nn_pool_params) \
    X(ADD, mai_prepare_add, nn_add_params) \
    X(MUL, mai_prepare_mul, nn_mul_params) \
    X(SOFTMAX, mai_prepare_softmax, nn_softmax_params) \
    X(LUT, mai_prepare_lut, nn_lut_params) \
    X(MEAN, mai_prepare_mean, nn_mean_params) \
    X(PAD, mai_prepare_pad, nn_pad_params) \
    X(CONCAT, mai_prepare_concat, nn_concat_params) \
    X(REQUANTIZE, mai_prepare_requantize, nn_requantize_params) \
    X(QUANTIZE, mai_prepare_quantize, nn_affine_params) \
    X(DEQUANTIZE, mai_prepare_dequantize, nn_affine_params) \
    X(BCONV, mai_prepare_bconv, nn_bconv_params) \
    X(BMAXPOOL, mai_prepare_bmaxpool, nn_bpool_params) \
    X(BQUANTIZE, mai_prepare_bquantize, nn_bquant_params) \
    X(BDEQUANTIZE, mai_prepare_bdequantize, nn_bquant_params) \
    X(TRANSPOSE, mai_prepare_transpose, nn_transpose_params) \
    X(RELU, mai_prepare_relu, nn_relu_params) \
    X(MINMAX, mai_prepare_minmax, nn_minmax_params) \
    X(SLICE, mai_prepare_slice, nn_slice_params) \
    X(SPLIT, mai_prepare_split, nn_split_params) \
    X(GATHER, mai_prepare_gather, nn_gather_params) \
    X(BATCH_MATMUL, mai_prepare_batch_matmul, nn_batch_matmul_params) \
    X(SOFTMAX16, mai_prepare_softmax16, nn_softmax16_params) \
    X(SVDF, mai_prepare_svdf, nn_svdf_params) \
    X(LSTM, mai_prepare_lstm, nn_lstm_params)

// X(NAME, STORAGE, LAYOUT): the formats a kernel reads its weights (input 1) in, as a
// storage type and a layout (mai_blob.h); NONE: the op has no weights (every input is
// in the standard layout, its storage the op's checks').
#define MAI_WEIGHTS_TABLE(X) \
    X(NONE, S8, STANDARD) \
    X(S8, S8, STANDARD) \
    X(WIDE, S16, WIDE) \
    X(S4, S4, STANDARD) \
    X(S4_ROWS, S4, S4_ROWS) \
    X(S8_BLOCK4, S8, BLOCK_SPARSE) \
    X(WINOGRAD, S16, WINOGRAD) \
    X(B1, B1, B1_DENSE)

// X(NAME, OP, ALGORITHM, WEIGHTS, supports, scratch, eval): kernels (nn_kernel). NAME
// runs op type OP with ALGORITHM (the name a recipe asks for it by), reading its weights
// in format MAI_WEIGHTS_<WEIGHTS> (the loader checks input 1 against it) and every other
// input in the standard layout; supports(ctx) is NULL when the kernel takes the op as
// the loader saw it, else why not (a fixed string); scratch(ctx) is the arena bytes it
// needs; eval(ctx) runs it. Within an op, rows are in the host's order of preference
// (the first that supports the op wins; a format that costs flash is chosen by the cost
// model, not by this order).
#define MAI_KERNEL_TABLE(X) \
    X(CONV_PW_S8, CONV, pointwise, S8, mai_supports_conv_pw_s8, \
    mai_scratch_conv_pw_s8, mai_eval_conv_pw_s8) \
    X(CONV_PW_S8_BLOCK4, CONV, pointwise_sparse, S8_BLOCK4, mai_supports_conv_pw_s8, \
    mai_scratch_conv_pw_s8_block4, mai_eval_conv_pw_s8_block4) \
    X(CONV_PW_S4, CONV, pointwise, S4_ROWS, mai_supports_conv_pw_s4, \
    mai_scratch_conv_pw_s4, mai_eval_conv_pw_s4) \
    X(CONV_IM2COL_S8, CONV, im2col, S8, mai_supports_conv_im2col_s8, \
    mai_scratch_conv_im2col_s8, mai_eval_conv_im2col_s8) \
    X(CONV_IM2COL_S8_BLOCK4, CONV, im2col_sparse, S8_BLOCK4, mai_supports_conv_im2col_s8, \
    mai_scratch_conv_im2col_s8_block4, mai_eval_conv_im2col_s8_block4) \
    X(CONV_IM2COL_S4, CONV, im2col, S4_ROWS, mai_supports_conv_s4, \
    mai_scratch_conv_im2col_s4, mai_eval_conv_im2col_s4) \
    X(CONV_PW_S8W16, CONV, pointwise_wide, WIDE, mai_supports_conv_pw_s8w16, \
    mai_scratch_conv_pw_s8w16, mai_eval_conv_pw_s8w16) \
    X(CONV_IM2COL_S8W16, CONV, im2col_wide, WIDE, mai_supports_conv_s8w16, \
    mai_scratch_conv_im2col_s8w16, mai_eval_conv_im2col_s8w16) \
    X(CONV_WINOGRAD_3X3_S8, CONV, winograd, WINOGRAD, mai_supports_conv_winograd, \
    mai_scratch_conv_winograd, mai_eval_conv_winograd) \
    X(CONV_GROUPED_S8, CONV, grouped, S8, mai_supports_conv_grouped, mai_scratch_none, \
    mai_eval_conv_grouped) \
    X(CONV_S16, CONV, 16x8, S8, mai_supports_conv_s16, mai_scratch_none, mai_eval_conv_s16) \
    X(DW_CONV_3X3_S8, DWCONV, 3x3, S8, mai_supports_dw_conv_3x3_s8, \
    mai_scratch_dw_conv_3x3_s8, mai_eval_dw_conv_3x3_s8) \
    X(DW_CONV_3X3_S4, DWCONV, 3x3, S4, mai_supports_dw_conv_3x3_s8, \
    mai_scratch_dw_conv_3x3_s8, mai_eval_dw_conv_3x3_s4) \
    X(DW_CONV_S8, DWCONV, direct, S8, mai_supports_conv_s8, mai_scratch_dw_conv_s8, \
    mai_eval_dw_conv_s8) \
    X(DW_CONV_S4, DWCONV, direct, S4, mai_supports_conv_s8, mai_scratch_dw_conv_s8, \
    mai_eval_dw_conv_s4) \
    X(DW_CONV_S16, DWCONV, 16x8, S8, mai_supports_conv_s16, mai_scratch_none, \
    mai_eval_dw_conv_s16) \
    X(FC_S8, FC, direct, S8, mai_supports_fc_s8, mai_scratch_none, mai_eval_fc_s8) \
    X(FC_S8_BLOCK4, FC, direct_sparse, S8_BLOCK4, mai_supports_fc_s8, \
    mai_scratch_fc_s8_block4, mai_eval_fc_s8_block4) \
    X(FC_S4, FC, direct, S4_ROWS, mai_supports_fc_s4, mai_scratch_none, mai_eval_fc_s4) \
    X(FC_S16, FC, 16x8, S8, mai_supports_fc_s16, mai_scratch_none, mai_eval_fc_s16) \
    X(AVGPOOL_S8, AVGPOOL, direct, NONE, mai_supports_any, mai_scratch_none, \
    mai_eval_avgpool) \
    X(MAXPOOL_S8, MAXPOOL, direct, NONE, mai_supports_any, mai_scratch_none, \
    mai_eval_maxpool) \
    X(ADD_S8, ADD, direct, NONE, mai_supports_add_s8, mai_scratch_add, mai_eval_add) \
    X(ADD_S16, ADD, 16x8, NONE, mai_supports_add_s16, mai_scratch_none, mai_eval_add_s16) \
    X(MUL_S8, MUL, direct, NONE, mai_supports_any, mai_scratch_none, mai_eval_mul) \
    X(SOFTMAX_S8, SOFTMAX, direct, NONE, mai_supports_any, mai_scratch_none, \
    mai_eval_softmax) \
    X(LUT_S8, LUT, direct, NONE, mai_supports_any, mai_scratch_none, mai_eval_lut) \
    X(MEAN_S8, MEAN, direct, NONE, mai_supports_any, mai_scratch_none, mai_eval_mean) \
    X(PAD_S8, PAD, direct, NONE, mai_supports_any, mai_scratch_none, mai_eval_pad) \
    X(CONCAT_S8, CONCAT, direct, NONE, mai_supports_any, mai_scratch_none, \
    mai_eval_concat) \
    X(REQUANTIZE_S8, REQUANTIZE, direct, NONE, mai_supports_any, mai_scratch_none, \
    mai_eval_requantize) \
    X(QUANTIZE_F32_S8, QUANTIZE, direct, NONE, mai_supports_out_s8, mai_scratch_none, \
    mai_eval_quantize) \
    X(QUANTIZE_F32_S16, QUANTIZE, 16x8, NONE, mai_supports_out_s16, mai_scratch_none, \
    mai_eval_quantize_s16) \
    X(DEQUANTIZE_S8_F32, DEQUANTIZE, direct, NONE, mai_supports_in_s8, mai_scratch_none, \
    mai_eval_dequantize) \
    X(DEQUANTIZE_S16_F32, DEQUANTIZE, 16x8, NONE, mai_supports_in_s16, mai_scratch_none, \
    mai_eval_dequantize_s16) \
    X(BCONV_B1, BCONV, xnor_popcount, B1, mai_supports_any, mai_scratch_bconv_b1, \
    mai_eval_bconv_b1) \
    X(BMAXPOOL_B1, BMAXPOOL, direct, NONE, mai_supports_any, mai_scratch_none, \
    mai_eval_bmaxpool_b1) \
    X(BQUANTIZE_B1, BQUANTIZE, direct, NONE, mai_supports_any, mai_scratch_none, \
    mai_eval_bquantize) \
    X(BDEQUANTIZE_B1, BDEQUANTIZE, direct, NONE, mai_supports_any, mai_scratch_none, \
    mai_eval_bdequantize) \
    X(TRANSPOSE_S8, TRANSPOSE, direct, NONE, mai_supports_any, mai_scratch_none, \
    mai_eval_transpose) \
    X(RELU_S8, RELU, direct, NONE, mai_supports_any, mai_scratch_none, mai_eval_relu) \
    X(MINMAX_S8, MINMAX, direct, NONE, mai_supports_any, mai_scratch_none, mai_eval_minmax) \
    X(STRIDED_SLICE_S8, SLICE, direct, NONE, mai_supports_any, mai_scratch_none, \
    mai_eval_slice) \
    X(SPLIT_S8, SPLIT, direct, NONE, mai_supports_any, mai_scratch_none, mai_eval_split) \
    X(GATHER_S8, GATHER, direct, NONE, mai_supports_any, mai_scratch_none, mai_eval_gather) \
    X(BATCH_MATMUL_S8, BATCH_MATMUL, direct, NONE, mai_supports_any, mai_scratch_none, \
    mai_eval_batch_matmul) \
    X(SOFTMAX_S16, SOFTMAX16, direct, NONE, mai_supports_any, mai_scratch_none, \
    mai_eval_softmax16) \
    X(SVDF_S8, SVDF, direct, S8, mai_supports_any, mai_scratch_none, mai_eval_svdf) \
    X(LSTM_S8, LSTM, direct, S8, mai_supports_any, mai_scratch_lstm, mai_eval_lstm)

/// The weights formats (MAI_WEIGHTS_TABLE), numbered in its order.
#define MAI_WEIGHTS_ENUM(NAME, STORAGE, LAYOUT) MAI_WEIGHTS_##NAME,
typedef enum {
    MAI_WEIGHTS_TABLE(MAI_WEIGHTS_ENUM)
    MAI_WEIGHTS_COUNT
} mai_weights;
#undef MAI_WEIGHTS_ENUM

/// A weights format's row.
typedef struct {
    const char *name;
    uint8_t storage; ///< mai_storage
    uint8_t layout;  ///< mai_layout
} mai_weights_row;

extern const mai_weights_row mai_weights_rows[MAI_WEIGHTS_COUNT];

/// Set err to (index, detail) and return s: how the loader and executor report.
static inline mai_status mai_fail(mai_error *err, mai_status s, int32_t index,
    mai_check detail) {
    err->index = index;
    err->detail = detail;
    err->why = NULL;
    return s;
}

/// An op type's row.
typedef struct {
    const char *name;
    const char *params_type; ///< the C struct of its params, e.g. "nn_conv_params"
    uint32_t params_size;
    mai_status (*prepare)(const mai_op_ctx *ctx, mai_error *err);
} mai_op_row;

/// A kernel's row.
typedef struct {
    const char *name;
    const char *algorithm; ///< what a recipe calls it ("im2col", "pointwise", "direct")
    uint8_t op;            ///< mai_op_type it runs
    uint8_t weights;       ///< mai_weights: the format of its weights (input 1)
    const char *(*supports)(const mai_op_ctx *ctx);
    uint32_t (*scratch)(const mai_op_ctx *ctx);
    nn_status (*eval)(const mai_op_ctx *ctx);
} mai_kernel_row;

/// Indexed by mai_op_type and nn_kernel; a number with no row has a NULL name.
extern const mai_op_row mai_op_rows[MAI_OP_COUNT];
extern const mai_kernel_row mai_kernel_rows[NN_KERNEL_COUNT];

// Every function the table names.
#define MAI_DECLARE_OP(NAME, prepare, params) \
    mai_status prepare(const mai_op_ctx *ctx, mai_error *err);
#define MAI_DECLARE_KERNEL(NAME, OP, ALGORITHM, WEIGHTS, supports, scratch, eval) \
    const char *supports(const mai_op_ctx *ctx); \
    uint32_t scratch(const mai_op_ctx *ctx); \
    nn_status eval(const mai_op_ctx *ctx);
MAI_OP_TABLE(MAI_DECLARE_OP)
MAI_KERNEL_TABLE(MAI_DECLARE_KERNEL)
#undef MAI_DECLARE_OP
#undef MAI_DECLARE_KERNEL

#endif // MICROAI_MAI_TABLE_H
