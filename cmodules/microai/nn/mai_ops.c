// microai: the one table from op type to its prepare/eval functions.
#include "mai_ops.h"

const mai_op_impl mai_op_impls[MAI_OP_COUNT] = {
    [MAI_OP_CONV] = {mai_prepare_conv, mai_eval_conv},
    [MAI_OP_DWCONV] = {mai_prepare_dwconv, mai_eval_dwconv},
    [MAI_OP_FC] = {mai_prepare_fc, mai_eval_fc},
    [MAI_OP_AVGPOOL] = {mai_prepare_avgpool, mai_eval_avgpool},
    [MAI_OP_MAXPOOL] = {mai_prepare_maxpool, mai_eval_maxpool},
    [MAI_OP_ADD] = {mai_prepare_add, mai_eval_add},
    [MAI_OP_MUL] = {mai_prepare_mul, mai_eval_mul},
    [MAI_OP_SOFTMAX] = {mai_prepare_softmax, mai_eval_softmax},
    [MAI_OP_LOGISTIC] = {mai_prepare_logistic, mai_eval_logistic},
    [MAI_OP_MEAN] = {mai_prepare_mean, mai_eval_mean},
    [MAI_OP_PAD] = {mai_prepare_pad, mai_eval_pad},
    [MAI_OP_CONCAT] = {mai_prepare_concat, mai_eval_concat},
    [MAI_OP_REQUANTIZE] = {mai_prepare_requantize, mai_eval_requantize},
    [MAI_OP_QUANTIZE] = {mai_prepare_quantize, mai_eval_quantize},
    [MAI_OP_DEQUANTIZE] = {mai_prepare_dequantize, mai_eval_dequantize},
};
