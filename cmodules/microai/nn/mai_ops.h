// microai: per-op-type prepare/eval functions, one pair per mai_op_type.
//
// prepare() runs once at load: it checks the op's params size and values, input and
// output counts, dtypes, shapes, the host's kernel choice and scratch size, and sets
// err->detail (an mai_check) on failure. eval() runs the kernel; it trusts prepare.
// The table that maps mai_op_type to these is mai_op_impls[] in mai_ops.c.
#ifndef MICROAI_MAI_OPS_H
#define MICROAI_MAI_OPS_H

#include "mai_exec.h"

#define MAI_DECLARE_OP(name) \
    mai_status mai_prepare_##name(const mai_op_ctx *ctx, mai_error *err); \
    nn_status mai_eval_##name(const mai_op_ctx *ctx);

MAI_DECLARE_OP(conv)
MAI_DECLARE_OP(dwconv)
MAI_DECLARE_OP(fc)
MAI_DECLARE_OP(avgpool)
MAI_DECLARE_OP(maxpool)
MAI_DECLARE_OP(add)
MAI_DECLARE_OP(mul)
MAI_DECLARE_OP(softmax)
MAI_DECLARE_OP(logistic)
MAI_DECLARE_OP(mean)
MAI_DECLARE_OP(pad)
MAI_DECLARE_OP(concat)
MAI_DECLARE_OP(requantize)
MAI_DECLARE_OP(quantize)
MAI_DECLARE_OP(dequantize)

extern const mai_op_impl mai_op_impls[MAI_OP_COUNT];

#endif // MICROAI_MAI_OPS_H
