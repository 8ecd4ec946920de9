// microai: the op checks and kernel glue of MAI_OP_BATCH_MATMUL, MAI_OP_SVDF and MAI_OP_LSTM.
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

// SVDF: in int8 [batch, input_size]; weights_feature int8 [filters, input_size] and
// weights_time (int8 or int16) [filters, memory], constants; bias int32 [units], a
// constant or omitted; the state, weights_time's type, a state tensor (MAI_MEM_STATE)
// [batch, filters x memory] (an int16 one with zero point 0); out int8 [batch, units].
mai_status mai_prepare_svdf(const mai_op_ctx *ctx, mai_error *err) {
    if (ctx->params_size != sizeof(nn_svdf_params)) {
        return ops_fail(err, MAI_CHECK_PARAMS_SIZE);
    }
    if (ctx->n_in != 5 || ctx->n_out != 1) {
        return ops_fail(err, MAI_CHECK_IO_COUNT);
    }
    if (ctx->rounding != NN_ROUNDING_DOUBLE) {
        return ops_fail(err, MAI_CHECK_ROUNDING);
    }
    const mai_tensor_view *x = &ctx->in[0], *wf = &ctx->in[1], *wt = &ctx->in[2];
    const mai_tensor_view *bias = &ctx->in[3], *st = &ctx->in[4], *o = &ctx->out[0];
    if (x->data == NULL || wf->data == NULL || wt->data == NULL || st->data == NULL) {
        return ops_fail(err, MAI_CHECK_IO_ID);
    }
    if (x->storage != MAI_STORAGE_S8 || wf->storage != MAI_STORAGE_S8
        || o->storage != MAI_STORAGE_S8
        || (wt->storage != MAI_STORAGE_S8 && wt->storage != MAI_STORAGE_S16)
        || st->storage != wt->storage
        || (bias->data != NULL && bias->storage != MAI_STORAGE_S32)) {
        return ops_fail(err, MAI_CHECK_DTYPE);
    }
    if (!wf->is_const || !wt->is_const || (bias->data != NULL && !bias->is_const)) {
        return ops_fail(err, MAI_CHECK_CONST);
    }
    if (!st->is_state || (st->storage == MAI_STORAGE_S16 && st->zero_point != 0)) {
        return ops_fail(err, MAI_CHECK_LAYOUT);
    }
    const nn_svdf_params *p = ctx->params;
    const int32_t dims[5] = { p->batch, p->input_size, p->units, p->rank, p->memory };
    for (int i = 0; i < 5; i++) {
        if (dims[i] < 1 || dims[i] > MAI_MAX_DIM) {
            return ops_fail(err, MAI_CHECK_PARAM);
        }
    }
    if (p->input_offset < -127 || p->input_offset > 128
        || p->state_zero_point != st->zero_point
        || p->output_offset < -128 || p->output_offset > 127
        || !ops_requant_ok(p->feature_multiplier, p->feature_shift)
        || !ops_requant_ok(p->output_multiplier, p->output_shift)) {
        return ops_fail(err, MAI_CHECK_PARAM);
    }
    const uint64_t filters = (uint64_t)p->units * (uint32_t)p->rank;
    const uint64_t batch = (uint32_t)p->batch;
    if (ops_elements(&x->dims) != batch * (uint32_t)p->input_size
        || ops_elements(&wf->dims) != filters * (uint32_t)p->input_size
        || ops_elements(&wt->dims) != filters * (uint32_t)p->memory
        || (bias->data != NULL && ops_elements(&bias->dims) != (uint32_t)p->units)
        || ops_elements(&st->dims) != batch * filters * (uint32_t)p->memory
        || ops_elements(&o->dims) != batch * (uint32_t)p->units) {
        return ops_fail(err, MAI_CHECK_SHAPE);
    }
    if (!ops_overlap_ok(x, o, 0)) {
        return ops_fail(err, MAI_CHECK_OVERLAP);
    }
    return MAI_OK;
}

nn_status mai_eval_svdf(const mai_op_ctx *ctx) {
    return nn_svdf_s8(ctx->params, ctx->in[0].data, ctx->in[1].data, ctx->in[2].data,
        ctx->in[3].data, ctx->in[4].data, ctx->in[4].storage == MAI_STORAGE_S16 ? 2 : 1,
        ctx->out[0].data);
}

// UNIDIRECTIONAL_SEQUENCE_LSTM: in int8 [batch x time x input]; w_in int8 [4 x state x
// input], w_rec int8 [4 x state x state] and bias int32 [4 x state], constants (gates
// input, forget, cell, output); the hidden state int8 and the cell int16 (zero point 0),
// state tensors of batch x state; out int8 [batch x time x state], apart from the input.
mai_status mai_prepare_lstm(const mai_op_ctx *ctx, mai_error *err) {
    if (ctx->params_size != sizeof(nn_lstm_params)) {
        return ops_fail(err, MAI_CHECK_PARAMS_SIZE);
    }
    if (ctx->n_in != 6 || ctx->n_out != 1) {
        return ops_fail(err, MAI_CHECK_IO_COUNT);
    }
    if (ctx->rounding != NN_ROUNDING_DOUBLE) {
        return ops_fail(err, MAI_CHECK_ROUNDING);
    }
    for (uint32_t i = 0; i < 6; i++) {
        if (ctx->in[i].data == NULL) {
            return ops_fail(err, MAI_CHECK_IO_ID);
        }
    }
    const mai_tensor_view *x = &ctx->in[0], *wi = &ctx->in[1], *wr = &ctx->in[2];
    const mai_tensor_view *b = &ctx->in[3], *h = &ctx->in[4], *c = &ctx->in[5];
    const mai_tensor_view *o = &ctx->out[0];
    if (x->storage != MAI_STORAGE_S8 || wi->storage != MAI_STORAGE_S8
        || wr->storage != MAI_STORAGE_S8 || b->storage != MAI_STORAGE_S32
        || h->storage != MAI_STORAGE_S8 || c->storage != MAI_STORAGE_S16
        || o->storage != MAI_STORAGE_S8) {
        return ops_fail(err, MAI_CHECK_DTYPE);
    }
    if (!wi->is_const || !wr->is_const || !b->is_const) {
        return ops_fail(err, MAI_CHECK_CONST);
    }
    if (!h->is_state || !c->is_state || c->zero_point != 0) {
        return ops_fail(err, MAI_CHECK_LAYOUT);
    }
    const nn_lstm_params *p = ctx->params;
    const int32_t dims[4] = { p->batch, p->time, p->input_size, p->state_size };
    for (int i = 0; i < 4; i++) {
        if (dims[i] < 1 || dims[i] > MAI_MAX_DIM) {
            return ops_fail(err, MAI_CHECK_PARAM);
        }
    }
    int ok = (uint32_t)p->time_major <= 1
        && p->input_offset >= -127 && p->input_offset <= 128
        && p->hidden_zero_point == h->zero_point
        && p->hidden_out_offset >= INT8_MIN && p->hidden_out_offset <= INT8_MAX
        && (uint32_t)p->litert <= 1 && p->cell_shift >= 0 && p->cell_shift <= 31
        && p->tanh_integer_bits >= 0 && p->tanh_integer_bits <= 6
        && (p->tanh_multiplier == 0 || p->tanh_multiplier == 3)
        && p->tanh_shift >= 0 && p->tanh_shift <= 15
        && p->cell_clip >= 0 && p->cell_clip <= INT16_MAX
        && ops_requant_ok(p->forget_multiplier, p->forget_shift)
        && ops_requant_ok(p->input_multiplier, p->input_shift)
        && ops_requant_ok(p->hidden_multiplier, p->hidden_shift);
    for (int k = 0; k < 4; k++) {
        const nn_lstm_gate *g = &p->gate[k];
        ok = ok && ops_requant_ok(g->input_multiplier, g->input_shift)
            && ops_requant_ok(g->recurrent_multiplier, g->recurrent_shift);
    }
    for (int k = 0; ok && k < 255; k++) { // the interpolation reads a rising table
        ok = p->sigmoid_table[k] <= p->sigmoid_table[k + 1];
    }
    if (!ok) {
        return ops_fail(err, MAI_CHECK_PARAM);
    }
    const uint64_t B = (uint32_t)p->batch, T = (uint32_t)p->time;
    const uint64_t I = (uint32_t)p->input_size, S = (uint32_t)p->state_size;
    if (ops_elements(&x->dims) != B * T * I || ops_elements(&wi->dims) != 4 * S * I
        || ops_elements(&wr->dims) != 4 * S * S || ops_elements(&b->dims) != 4 * S
        || ops_elements(&h->dims) != B * S || ops_elements(&c->dims) != B * S
        || ops_elements(&o->dims) != B * T * S) {
        return ops_fail(err, MAI_CHECK_SHAPE);
    }
    if (!ops_overlap_ok(x, o, 0)) {
        return ops_fail(err, MAI_CHECK_OVERLAP);
    }
    return MAI_OK;
}

// One batch row's four gates, int16.
uint32_t mai_scratch_lstm(const mai_op_ctx *ctx) {
    const nn_lstm_params *p = ctx->params;
    return 4u * 2u * (uint32_t)p->state_size;
}

nn_status mai_eval_lstm(const mai_op_ctx *ctx) {
    return nn_lstm_s8(ctx->params, ctx->in[0].data, ctx->in[1].data, ctx->in[2].data,
        ctx->in[3].data, ctx->in[4].data, ctx->in[5].data, ctx->out[0].data, ctx->scratch);
}
