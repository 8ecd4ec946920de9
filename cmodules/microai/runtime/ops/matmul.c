// microai: the op checks and kernel glue of MAI_OP_BATCH_MATMUL.
#include "common.h"

// Every matrix the params say inside its tensor: the last one's start, by the batch
// strides, plus one matrix, at most the tensor's elements.
static int reaches(const mai_tensor_view *t, int32_t b0, int32_t s0, int32_t b1, int32_t s1,
    int32_t matrix) {
    const uint64_t last = (uint64_t)(b0 - 1) * (uint32_t)s0 + (uint64_t)(b1 - 1) * (uint32_t)s1;
    return last + (uint64_t)matrix <= ops_elements(&t->dims);
}

// lhs, rhs int8 (either may be a constant); the output holds batch0 x batch1 x rows x
// cols values, apart from both inputs; offsets, multiplier and shift in range.
mai_status mai_prepare_batch_matmul(const mai_op_ctx *ctx, mai_error *err) {
    mai_check c = ops_check_common(ctx, sizeof(nn_batch_matmul_params), 2, 2, MAI_STORAGE_S8,
        MAI_STORAGE_S8);
    if (c != MAI_CHECK_NONE) {
        return ops_fail(err, c);
    }
    const mai_tensor_view *l = &ctx->in[0], *r = &ctx->in[1], *o = &ctx->out[0];
    if (r->storage != MAI_STORAGE_S8) {
        return ops_fail(err, MAI_CHECK_DTYPE);
    }
    const nn_batch_matmul_params *p = ctx->params;
    const int32_t dims[5] = { p->rows, p->cols, p->depth, p->batch0, p->batch1 };
    for (int i = 0; i < 5; i++) {
        if (dims[i] < 1 || dims[i] > MAI_MAX_DIM) {
            return ops_fail(err, MAI_CHECK_PARAM);
        }
    }
    if (p->lhs_stride0 < 0 || p->lhs_stride1 < 0 || p->rhs_stride0 < 0 || p->rhs_stride1 < 0
        || (uint32_t)p->adj_x > 1 || (uint32_t)p->adj_y > 1
        || p->lhs_offset < -127 || p->lhs_offset > 128 || p->rhs_offset < -127
        || p->rhs_offset > 128 || p->output_offset < -128 || p->output_offset > 127
        || !ops_requant_ok(p->multiplier, p->shift)) {
        return ops_fail(err, MAI_CHECK_PARAM);
    }
    const uint64_t lm = (uint64_t)p->rows * (uint32_t)p->depth;
    const uint64_t rm = (uint64_t)p->depth * (uint32_t)p->cols;
    const uint64_t om = (uint64_t)p->rows * (uint32_t)p->cols;
    if (lm > UINT32_MAX || rm > UINT32_MAX
        || !reaches(l, p->batch0, p->lhs_stride0, p->batch1, p->lhs_stride1, (int32_t)lm)
        || !reaches(r, p->batch0, p->rhs_stride0, p->batch1, p->rhs_stride1, (int32_t)rm)
        || (uint64_t)p->batch0 * (uint32_t)p->batch1 * om != ops_elements(&o->dims)) {
        return ops_fail(err, MAI_CHECK_SHAPE);
    }
    if (!ops_overlap_ok(l, o, 0) || !ops_overlap_ok(r, o, 0)) {
        return ops_fail(err, MAI_CHECK_OVERLAP);
    }
    return MAI_OK;
}

nn_status mai_eval_batch_matmul(const mai_op_ctx *ctx) {
    return nn_batch_matmul_s8(ctx->params, ctx->rounding, ctx->in[0].data, ctx->in[1].data,
        ctx->out[0].data);
}
