// microai: the op checks of MAI_OP_CONV, MAI_OP_DWCONV and MAI_OP_FC, and the table
// glue (supports, scratch, eval) of their kernels.
//
// Inputs: [0] activation int8, [1] weights (const) in the kernel's format (mai_table.h:
// int8; CONV's widened to int16 on the host, MAI_LAYOUT_WIDE, for the *_S8W16 kernels,
// or Winograd-transformed, MAI_LAYOUT_WINOGRAD, for CONV_WINOGRAD_3X3_S8;
// int4, TFLite's packing for DWCONV, MAI_LAYOUT_S4_ROWS for CONV and FC, for *_S4),
// [2] bias int32 (const) or omitted, [3] multipliers int32[n], [4] shifts int32[n]
// (const, n = out channels or 1).
// Output: [0] int8. prepare() checks everything the kernels trust; eval() only calls.
#include "common.h"

// Checks common to the three ops: io counts, dtypes, constness, zero points against the
// params' offsets, bias and requantization arrays for `channels` output channels.
static mai_check mai_check_weighted_op(const mai_op_ctx *ctx, uint32_t channels,
    int32_t input_offset, int32_t output_offset, int in_place_ok, int s16_ok) {
    if (ctx->n_in != 5 || ctx->n_out != 1) {
        return MAI_CHECK_IO_COUNT;
    }
    const mai_tensor_view *in = &ctx->in[0], *w = &ctx->in[1], *bias = &ctx->in[2];
    const mai_tensor_view *mult = &ctx->in[3], *shift = &ctx->in[4], *out = &ctx->out[0];
    if (in->data == NULL || w->data == NULL || mult->data == NULL || shift->data == NULL) {
        return MAI_CHECK_IO_ID;
    }
    // The weights' storage and layout are the kernel's format (the loader checks them).
    // Activations int8, or (FC, s16_ok) int16 in and out with zero points 0 (16x8).
    const int s16 = s16_ok && in->storage == MAI_STORAGE_S16;
    const uint8_t act = s16 ? MAI_STORAGE_S16 : MAI_STORAGE_S8;
    if (s16 && (in->zero_point != 0 || out->zero_point != 0)) {
        return MAI_CHECK_ZERO_POINT;
    }
    if (in->storage != act
        || out->storage != act || mult->storage != MAI_STORAGE_S32
        || shift->storage != MAI_STORAGE_S32
        || (bias->data != NULL && bias->storage != MAI_STORAGE_S32)) {
        return MAI_CHECK_DTYPE;
    }
    if (!w->is_const || !mult->is_const || !shift->is_const
        || (bias->data != NULL && !bias->is_const)) {
        return MAI_CHECK_CONST;
    }
    if (input_offset != -in->zero_point || output_offset != out->zero_point) {
        return MAI_CHECK_PARAM;
    }
    // The kernels read the input while they write the output: no shared bytes; for
    // CONV and DWCONV (in_place_ok) the output may start exactly at the input, no
    // bigger than it, or before it (its gap checked with the shapes:
    // mai_check_conv_common), and its kernel's supports() says whether it can write
    // there (mai_overlap()).
    const uint8_t *i0 = in->data, *o0 = out->data;
    if (i0 < o0 + out->size && o0 < i0 + in->size
        && !(in_place_ok && ((i0 == o0 && out->size <= in->size) || o0 < i0))) {
        return MAI_CHECK_OVERLAP;
    }
    if (bias->data != NULL && ops_elements(&bias->dims) != channels) {
        return MAI_CHECK_SHAPE;
    }
    uint32_t n = ops_elements(&mult->dims);
    if ((n != 1 && n != channels) || ops_elements(&shift->dims) != n) {
        return MAI_CHECK_SHAPE;
    }
    // nn_requantize's contract: Q31 multiplier >= 0, shift in [-31, 30]; 16x8's
    // nn_requantize64 shifts right by 15 - shift >= 1.
    const int32_t *m = mult->data, *s = shift->data;
    const int32_t max_shift = s16 ? 14 : 30;
    for (uint32_t i = 0; i < n; i++) {
        if (m[i] < 0 || s[i] < -31 || s[i] > max_shift) {
            return MAI_CHECK_PARAM;
        }
    }
    return MAI_CHECK_NONE;
}

// Output size along one axis agrees with the input size, filter, stride, dilation and
// leading padding (TFLite's SAME/VALID arithmetic; the trailing padding is implied).
// In 64 bits, and the dilated filter no wider than a tensor may be, so that the kernels'
// int32 index arithmetic cannot overflow.
static int mai_conv_axis_ok(int32_t in, int32_t filter, int32_t stride, int32_t dilation,
    int32_t pad, int32_t out) {
    int64_t eff = (int64_t)(filter - 1) * dilation + 1;
    int64_t trailing = (int64_t)(out - 1) * stride + eff - in - pad;
    return out >= 1 && pad >= 0 && pad < eff && eff <= MAI_MAX_DIM && trailing <= eff - 1
           && trailing > -stride;
}

static mai_check mai_check_conv_params(const mai_op_ctx *ctx) {
    if (ctx->params_size != sizeof(nn_conv_params)) {
        return MAI_CHECK_PARAMS_SIZE;
    }
    const nn_conv_params *p = ctx->params;
    if (p->stride_h < 1 || p->stride_w < 1 || p->dilation_h < 1 || p->dilation_w < 1
        || p->input_offset < -127 || p->input_offset > 128 || p->output_offset < -128
        || p->output_offset > 127 || !ops_act_ok_for(ctx->out[0].storage, &p->act)) {
        return MAI_CHECK_PARAM;
    }
    return MAI_CHECK_NONE;
}

// Shapes shared by CONV and DWCONV: ranks, batch, spatial sizes against the padding.
static mai_check mai_check_conv_shapes(const mai_op_ctx *ctx) {
    const nn_conv_params *p = ctx->params;
    const mai_tensor_view *in = &ctx->in[0], *w = &ctx->in[1], *out = &ctx->out[0];
    if (in->rank != 4 || w->rank != 4 || out->rank != 4) {
        return MAI_CHECK_RANK;
    }
    const nn_dims *i = &in->dims, *f = &w->dims, *o = &out->dims;
    if (i->n != o->n
        || !mai_conv_axis_ok(i->h, f->h, p->stride_h, p->dilation_h, p->pad_h, o->h)
        || !mai_conv_axis_ok(i->w, f->w, p->stride_w, p->dilation_w, p->pad_w, o->w)) {
        return MAI_CHECK_SHAPE;
    }
    return MAI_CHECK_NONE;
}

static nn_quant mai_quant(const mai_op_ctx *ctx) {
    nn_quant q;
    q.multiplier = ctx->in[3].data;
    q.shift = ctx->in[4].data;
    q.per_channel = ops_elements(&ctx->in[3].dims) > 1;
    q.rounding = ctx->rounding;
    return q;
}

// The checks CONV and DWCONV share: params, weighted-op inputs (s16_ok: 16x8 too), and
// the spatial shapes.
static mai_check mai_check_conv_common(const mai_op_ctx *ctx, int in_place_ok, int s16_ok) {
    mai_check c = mai_check_conv_params(ctx);
    if (c == MAI_CHECK_NONE) {
        const nn_conv_params *p = ctx->params;
        c = mai_check_weighted_op(ctx, (uint32_t)ctx->out[0].dims.c, p->input_offset,
            p->output_offset, in_place_ok, s16_ok);
    }
    if (c == MAI_CHECK_NONE) {
        c = mai_check_conv_shapes(ctx);
    }
    if (c == MAI_CHECK_NONE && mai_overlap(ctx) == MAI_OVERLAP_TRAILING
        && (uint64_t)((const uint8_t *)ctx->in[0].data - (const uint8_t *)ctx->out[0].data)
        < mai_conv_trail_bytes(ctx)) {
        c = MAI_CHECK_OVERLAP;
    }
    return c;
}

// The output's bytes against the input's: apart, starting at the same byte, or starting
// before the input and running into it (trailing it).
mai_overlap_kind mai_overlap(const mai_op_ctx *ctx) {
    const uint8_t *i0 = ctx->in[0].data, *o0 = ctx->out[0].data;
    if (o0 + ctx->out[0].size <= i0 || i0 + ctx->in[0].size <= o0) {
        return MAI_OVERLAP_NONE;
    }
    return o0 == i0 ? MAI_OVERLAP_SAME_START : o0 < i0 ? MAI_OVERLAP_TRAILING
        : MAI_OVERLAP_AHEAD;
}

// The least gap D for an output that starts D bytes before its input and trails it: a
// kernel that writes output rows in order (batch by batch) and, while it writes row y,
// reads only input rows from y * stride_h - pad_h on, never overwrites an input byte it
// has still to read when every row's end stays at or before the first input row it
// reads: out_row * (b * OH + y + 1) <= D + b * in_batch + in_row * max(0, y * s - pad).
// That is linear in b and piecewise linear in y (the bend where y * s passes pad), so
// its largest value is at b = 0 or n - 1 and at y = 0, the bend or OH - 1. In bytes
// (int16 activations: two a value; input and output have one storage, checked).
uint64_t mai_conv_trail_bytes(const mai_op_ctx *ctx) {
    const nn_conv_params *p = ctx->params;
    const nn_dims *i = &ctx->in[0].dims, *o = &ctx->out[0].dims;
    const int64_t es = ctx->in[0].storage == MAI_STORAGE_S16 ? 2 : 1; // bytes an element
    const int64_t in_row = es * i->w * i->c, out_row = es * o->w * o->c;
    const int64_t in_batch = in_row * i->h, out_batch = out_row * o->h;
    const int64_t bend = p->pad_h / p->stride_h; // 32-bit division (no libgcc helper)
    const int64_t ys[4] = { 0, bend < o->h ? bend : o->h - 1, bend + 1 < o->h ? bend + 1 : 0,
                            o->h - 1 };
    const int64_t bs[2] = { 0, o->n - 1 };
    int64_t d = 0;
    for (int b = 0; b < 2; b++) {
        for (int k = 0; k < 4; k++) {
            int64_t first = ys[k] * p->stride_h - p->pad_h;
            int64_t gap = out_batch * bs[b] + out_row * (ys[k] + 1)
                - (in_batch * bs[b] + in_row * (first > 0 ? first : 0));
            d = gap > d ? gap : d;
        }
    }
    return (uint64_t)d;
}

// ---- CONV ---------------------------------------------------------------------------

mai_status mai_prepare_conv(const mai_op_ctx *ctx, mai_error *err) {
    mai_check c = mai_check_conv_common(ctx, 1, 1);
    if (c != MAI_CHECK_NONE) {
        return ops_fail(err, c);
    }
    const nn_conv_params *p = ctx->params;
    const nn_dims *i = &ctx->in[0].dims, *f = &ctx->in[1].dims, *o = &ctx->out[0].dims;
    if (p->depth_multiplier != 1) {
        return ops_fail(err, MAI_CHECK_PARAM);
    }
    // groups = i->c / f->c (1 but for grouped convolutions), out channels a multiple.
    if (f->c < 1 || i->c % f->c != 0 || f->n != o->c || o->c % (i->c / f->c) != 0) {
        return ops_fail(err, MAI_CHECK_SHAPE);
    }
    return MAI_OK;
}

// Both goldens' conv and depthwise kernels round twice; so do ours.
static const char *mai_rounds_double(const mai_op_ctx *ctx) {
    return ctx->rounding == NN_ROUNDING_DOUBLE ? NULL : "rounds double only";
}

// A kernel that reads input pixels after writing outputs needs them apart.
static const char *mai_separate(const mai_op_ctx *ctx) {
    return mai_overlap(ctx) == MAI_OVERLAP_NONE ? NULL
        : "cannot write its output over its input";
}

// The im2col and direct depthwise kernels write output rows in order, each after
// reading its input rows (from y * stride - pad on): an output may trail its input
// (the op's check measures the gap, mai_conv_trail_bytes), not start at it.
static const char *mai_rows_in_order(const mai_op_ctx *ctx) {
    mai_overlap_kind k = mai_overlap(ctx);
    return k == MAI_OVERLAP_NONE || k == MAI_OVERLAP_TRAILING ? NULL
        : "cannot write its output over its input, only trailing it";
}

// Every conv and depthwise kernel but CONV_S16 reads int8 activations.
static const char *mai_int8_activations(const mai_op_ctx *ctx) {
    return ctx->in[0].storage == MAI_STORAGE_S8 ? NULL : "takes int8 activations";
}

const char *mai_supports_conv_s8(const mai_op_ctx *ctx) {
    const char *why = mai_int8_activations(ctx);
    why = why != NULL ? why : mai_rounds_double(ctx);
    return why != NULL ? why : mai_rows_in_order(ctx);
}

const char *mai_supports_conv_s16(const mai_op_ctx *ctx) {
    if (ctx->in[0].storage != MAI_STORAGE_S16) {
        return "takes int16 activations (16x8)";
    }
    if (ctx->in[1].layout != MAI_LAYOUT_STANDARD) {
        return "reads standard int8 weights";
    }
    return mai_separate(ctx);
}

nn_status mai_eval_dw_conv_s16(const mai_op_ctx *ctx) {
    nn_quant q = mai_quant(ctx);
    return nn_dw_conv_s16(ctx->params, &q, &ctx->in[0].dims, ctx->in[0].data,
        &ctx->in[1].dims, ctx->in[1].data, ctx->in[2].data, &ctx->out[0].dims,
        ctx->out[0].data);
}

nn_status mai_eval_conv_s16(const mai_op_ctx *ctx) {
    nn_quant q = mai_quant(ctx);
    return nn_conv_s16(ctx->params, &q, &ctx->in[0].dims, ctx->in[0].data, &ctx->in[1].dims,
        ctx->in[1].data, ctx->in[2].data, &ctx->out[0].dims, ctx->out[0].data);
}

// The CONV kernels but CONV_GROUPED_S8 read every input channel for each output.
static const char *mai_ungrouped(const mai_op_ctx *ctx) {
    return ctx->in[1].dims.c == ctx->in[0].dims.c ? NULL : "takes no groups";
}

const char *mai_supports_conv_im2col_s8(const mai_op_ctx *ctx) {
    const char *why = mai_ungrouped(ctx);
    return why != NULL ? why : mai_supports_conv_s8(ctx);
}

const char *mai_supports_conv_grouped(const mai_op_ctx *ctx) {
    const char *why = ctx->in[1].layout == MAI_LAYOUT_STANDARD ? mai_supports_conv_s8(ctx)
        : "reads standard int8 weights";
    return why != NULL ? why : mai_separate(ctx);
}

nn_status mai_eval_conv_grouped(const mai_op_ctx *ctx) {
    nn_quant q = mai_quant(ctx);
    return nn_conv_grouped_s8(ctx->params, &q, &ctx->in[0].dims, ctx->in[0].data,
        &ctx->in[1].dims, ctx->in[1].data, ctx->in[2].data, &ctx->out[0].dims,
        ctx->out[0].data);
}

const char *mai_supports_conv_pw_s8(const mai_op_ctx *ctx) {
    const nn_conv_params *p = ctx->params;
    const nn_dims *i = &ctx->in[0].dims, *f = &ctx->in[1].dims, *o = &ctx->out[0].dims;
    if (f->h != 1 || f->w != 1 || p->stride_h != 1 || p->stride_w != 1 || p->pad_h != 0
        || p->pad_w != 0 || p->dilation_h != 1 || p->dilation_w != 1 || i->h != o->h
        || i->w != o->w) {
        return "needs a 1x1 filter, stride 1, dilation 1, no padding";
    }
    const char *why = mai_int8_activations(ctx);
    why = why != NULL ? why : mai_ungrouped(ctx);
    return why != NULL ? why : mai_rounds_double(ctx); // in place or not
}

// The widened kernels: the same, with the weights as nn_conv_w16_prepare() left them
// (the loader has checked the layout and its size).
const char *mai_supports_conv_s8w16(const mai_op_ctx *ctx) {
    return ctx->in[1].layout == MAI_LAYOUT_WIDE ? mai_supports_conv_im2col_s8(ctx)
        : "needs weights widened on the host";
}

const char *mai_supports_conv_pw_s8w16(const mai_op_ctx *ctx) {
    return ctx->in[1].layout == MAI_LAYOUT_WIDE ? mai_supports_conv_pw_s8(ctx)
        : "needs weights widened on the host";
}

uint32_t mai_scratch_conv_im2col_s8w16(const mai_op_ctx *ctx) {
    return (uint32_t)nn_conv_im2col_s8w16_scratch_size(ctx->params, &ctx->in[0].dims,
        &ctx->in[1].dims, &ctx->out[0].dims);
}

nn_status mai_eval_conv_im2col_s8w16(const mai_op_ctx *ctx) {
    nn_quant q = mai_quant(ctx);
    return nn_conv_im2col_s8w16(ctx->params, &q, &ctx->in[0].dims, ctx->in[0].data,
        &ctx->in[1].dims, ctx->in[1].data, ctx->in[2].data, &ctx->out[0].dims,
        ctx->out[0].data, ctx->scratch, ctx->scratch_size);
}

uint32_t mai_scratch_conv_pw_s8w16(const mai_op_ctx *ctx) {
    return (uint32_t)nn_conv_pw_s8w16_scratch_size(ctx->params, &ctx->in[0].dims,
        &ctx->in[1].dims, &ctx->out[0].dims);
}

nn_status mai_eval_conv_pw_s8w16(const mai_op_ctx *ctx) {
    nn_quant q = mai_quant(ctx);
    return nn_conv_pw_s8w16(ctx->params, &q, &ctx->in[0].dims, ctx->in[0].data,
        &ctx->in[1].dims, ctx->in[1].data, ctx->in[2].data, &ctx->out[0].dims,
        ctx->out[0].data, ctx->scratch, ctx->scratch_size);
}

// Winograd F(2x2, 3x3) (nn_conv_winograd_3x3_s8.c): 3x3, stride 1, dilation 1, the
// weights transformed on the host (the loader has checked the layout and its size).
const char *mai_supports_conv_winograd(const mai_op_ctx *ctx) {
    const nn_conv_params *p = ctx->params;
    const nn_dims *f = &ctx->in[1].dims;
    if (f->h != 3 || f->w != 3 || p->stride_h != 1 || p->stride_w != 1 || p->dilation_h != 1
        || p->dilation_w != 1) {
        return "needs a 3x3 filter, stride 1, dilation 1";
    }
    if (f->c > NN_WINOGRAD_MAX_IN) {
        return "Winograd: at most 3,640 input channels";
    }
    // Tiles of two output rows, each from four input rows: no overlap.
    const char *why = ctx->in[1].layout == MAI_LAYOUT_WINOGRAD
        ? mai_supports_conv_im2col_s8(ctx) : "needs weights transformed on the host";
    return why != NULL ? why : mai_separate(ctx);
}

uint32_t mai_scratch_conv_winograd(const mai_op_ctx *ctx) {
    return (uint32_t)nn_conv_winograd_3x3_s8_scratch_size(ctx->params, &ctx->in[0].dims,
        &ctx->in[1].dims, &ctx->out[0].dims);
}

nn_status mai_eval_conv_winograd(const mai_op_ctx *ctx) {
    nn_quant q = mai_quant(ctx);
    return nn_conv_winograd_3x3_s8(ctx->params, &q, &ctx->in[0].dims, ctx->in[0].data,
        &ctx->in[1].dims, ctx->in[1].data, ctx->in[2].data, &ctx->out[0].dims,
        ctx->out[0].data, ctx->scratch, ctx->scratch_size);
}

// The int4 kernels (the loader has checked the weights' format and size): the GEMM's
// DSP sums are x16, exact up to 65,536 taps (nn_dot.h).
const char *mai_supports_conv_s4(const mai_op_ctx *ctx) {
    const nn_dims *f = &ctx->in[1].dims;
    if ((int64_t)f->h * f->w * f->c > NN_S4_MAX_TAPS) {
        return "int4 weights: at most 65,536 taps per output channel";
    }
    return mai_supports_conv_im2col_s8(ctx);
}

const char *mai_supports_conv_pw_s4(const mai_op_ctx *ctx) {
    const nn_dims *f = &ctx->in[1].dims;
    if ((int64_t)f->c > NN_S4_MAX_TAPS) {
        return "int4 weights: at most 65,536 taps per output channel";
    }
    return mai_supports_conv_pw_s8(ctx);
}

uint32_t mai_scratch_conv_im2col_s4(const mai_op_ctx *ctx) {
    return (uint32_t)nn_conv_im2col_s4_scratch_size(ctx->params, &ctx->in[0].dims,
        &ctx->in[1].dims, &ctx->out[0].dims);
}

nn_status mai_eval_conv_im2col_s4(const mai_op_ctx *ctx) {
    nn_quant q = mai_quant(ctx);
    return nn_conv_im2col_s4(ctx->params, &q, &ctx->in[0].dims, ctx->in[0].data,
        &ctx->in[1].dims, ctx->in[1].data, ctx->in[2].data, &ctx->out[0].dims,
        ctx->out[0].data, ctx->scratch, ctx->scratch_size);
}

uint32_t mai_scratch_conv_pw_s4(const mai_op_ctx *ctx) {
    return (uint32_t)nn_conv_pw_s4_scratch_size(ctx->params, &ctx->in[0].dims,
        &ctx->in[1].dims, &ctx->out[0].dims);
}

nn_status mai_eval_conv_pw_s4(const mai_op_ctx *ctx) {
    nn_quant q = mai_quant(ctx);
    return nn_conv_pw_s4(ctx->params, &q, &ctx->in[0].dims, ctx->in[0].data,
        &ctx->in[1].dims, ctx->in[1].data, ctx->in[2].data, &ctx->out[0].dims,
        ctx->out[0].data, ctx->scratch, ctx->scratch_size);
}

uint32_t mai_scratch_conv_im2col_s8(const mai_op_ctx *ctx) {
    return (uint32_t)nn_conv_im2col_s8_scratch_size(ctx->params, &ctx->in[0].dims,
        &ctx->in[1].dims, &ctx->out[0].dims);
}

nn_status mai_eval_conv_im2col_s8(const mai_op_ctx *ctx) {
    nn_quant q = mai_quant(ctx);
    return nn_conv_im2col_s8(ctx->params, &q, &ctx->in[0].dims, ctx->in[0].data,
        &ctx->in[1].dims, ctx->in[1].data, ctx->in[2].data, &ctx->out[0].dims,
        ctx->out[0].data, ctx->scratch, ctx->scratch_size);
}

uint32_t mai_scratch_conv_pw_s8(const mai_op_ctx *ctx) {
    return (uint32_t)nn_conv_pw_s8_scratch_size(ctx->params, &ctx->in[0].dims,
        &ctx->in[1].dims, &ctx->out[0].dims);
}

nn_status mai_eval_conv_pw_s8(const mai_op_ctx *ctx) {
    nn_quant q = mai_quant(ctx);
    return nn_conv_pw_s8(ctx->params, &q, &ctx->in[0].dims, ctx->in[0].data,
        &ctx->in[1].dims, ctx->in[1].data, ctx->in[2].data, &ctx->out[0].dims,
        ctx->out[0].data, ctx->scratch, ctx->scratch_size);
}

// ---- DWCONV -------------------------------------------------------------------------

mai_status mai_prepare_dwconv(const mai_op_ctx *ctx, mai_error *err) {
    mai_check c = mai_check_conv_common(ctx, 1, 1);
    if (c != MAI_CHECK_NONE) {
        return ops_fail(err, c);
    }
    const nn_conv_params *p = ctx->params;
    const nn_dims *i = &ctx->in[0].dims, *f = &ctx->in[1].dims, *o = &ctx->out[0].dims;
    if (p->depth_multiplier < 1) {
        return ops_fail(err, MAI_CHECK_PARAM);
    }
    if (f->n != 1 || f->c != o->c || (int64_t)i->c * p->depth_multiplier != o->c) {
        return ops_fail(err, MAI_CHECK_SHAPE);
    }
    return MAI_OK;
}

const char *mai_supports_dw_conv_3x3_s8(const mai_op_ctx *ctx) {
    const char *why = mai_int8_activations(ctx);
    if (why != NULL) {
        return why;
    }
    const nn_conv_params *p = ctx->params;
    const nn_dims *f = &ctx->in[1].dims;
    if (f->h != 3 || f->w != 3 || p->depth_multiplier != 1 || p->dilation_h != 1
        || p->dilation_w != 1) {
        return "needs a 3x3 filter, depth multiplier 1, dilation 1";
    }
    // In place: a group of channels writes an output row only over input rows its ring
    // of three has already read (rows < oy * stride - pad + 3), which holds for any
    // stride and padding when the output is no taller and no wider than the input.
    // Each group of channels reads the input from its top again: never trailing.
    const nn_dims *i = &ctx->in[0].dims, *o = &ctx->out[0].dims;
    mai_overlap_kind k = mai_overlap(ctx);
    if (k == MAI_OVERLAP_SAME_START && (o->h > i->h || o->w > i->w)) {
        return "in place only with an output no taller or wider than the input";
    }
    if (k == MAI_OVERLAP_TRAILING) {
        return "cannot write its output trailing its input";
    }
    return mai_rounds_double(ctx);
}

uint32_t mai_scratch_dw_conv_3x3_s8(const mai_op_ctx *ctx) {
    return (uint32_t)nn_dw_conv_3x3_s8_scratch_size(ctx->params, &ctx->in[0].dims,
        &ctx->in[1].dims, &ctx->out[0].dims);
}

uint32_t mai_scratch_dw_conv_s8(const mai_op_ctx *ctx) {
    return (uint32_t)nn_dw_conv_s8_scratch_size(ctx->params, &ctx->in[0].dims,
        &ctx->in[1].dims, &ctx->out[0].dims);
}

nn_status mai_eval_dw_conv_3x3_s8(const mai_op_ctx *ctx) {
    nn_quant q = mai_quant(ctx);
    return nn_dw_conv_3x3_s8(ctx->params, &q, &ctx->in[0].dims, ctx->in[0].data,
        &ctx->in[1].dims, ctx->in[1].data, ctx->in[2].data, &ctx->out[0].dims,
        ctx->out[0].data, ctx->scratch, ctx->scratch_size);
}

nn_status mai_eval_dw_conv_3x3_s4(const mai_op_ctx *ctx) {
    nn_quant q = mai_quant(ctx);
    return nn_dw_conv_3x3_s4(ctx->params, &q, &ctx->in[0].dims, ctx->in[0].data,
        &ctx->in[1].dims, ctx->in[1].data, ctx->in[2].data, &ctx->out[0].dims,
        ctx->out[0].data, ctx->scratch, ctx->scratch_size);
}

nn_status mai_eval_dw_conv_s4(const mai_op_ctx *ctx) {
    nn_quant q = mai_quant(ctx);
    return nn_dw_conv_s4(ctx->params, &q, &ctx->in[0].dims, ctx->in[0].data,
        &ctx->in[1].dims, ctx->in[1].data, ctx->in[2].data, &ctx->out[0].dims,
        ctx->out[0].data, ctx->scratch, ctx->scratch_size);
}

nn_status mai_eval_dw_conv_s8(const mai_op_ctx *ctx) {
    nn_quant q = mai_quant(ctx);
    return nn_dw_conv_s8(ctx->params, &q, &ctx->in[0].dims, ctx->in[0].data,
        &ctx->in[1].dims, ctx->in[1].data, ctx->in[2].data, &ctx->out[0].dims,
        ctx->out[0].data, ctx->scratch, ctx->scratch_size);
}

// ---- FC -----------------------------------------------------------------------------

// Weights [out_depth, in_depth] (rank 2: dims {1, 1, out_depth, in_depth}); the input
// is any shape of batches x in_depth elements, as in TFLite.
mai_status mai_prepare_fc(const mai_op_ctx *ctx, mai_error *err) {
    if (ctx->params_size != sizeof(nn_fc_params)) {
        return ops_fail(err, MAI_CHECK_PARAMS_SIZE);
    }
    const nn_fc_params *p = ctx->params;
    if (ctx->n_in != 5 || ctx->n_out != 1) {
        return ops_fail(err, MAI_CHECK_IO_COUNT);
    }
    // 16x8 (int16 activations): no offsets, an int16 activation range.
    const int s16 = ctx->in[0].storage == MAI_STORAGE_S16;
    const int act_ok = ops_act_ok_for(ctx->out[0].storage, &p->act)
        && (!s16 || (p->input_offset == 0 && p->filter_offset == 0 && p->output_offset == 0));
    if (p->input_offset < -127 || p->input_offset > 128 || p->filter_offset < -127
        || p->filter_offset > 128 || p->output_offset < -128 || p->output_offset > 127
        || !act_ok) {
        return ops_fail(err, MAI_CHECK_PARAM);
    }
    const nn_dims *w = &ctx->in[1].dims;
    mai_check c = mai_check_weighted_op(ctx, (uint32_t)w->w, p->input_offset,
        p->output_offset, 0, 1);
    if (c == MAI_CHECK_NONE && p->filter_offset != -ctx->in[1].zero_point) {
        c = MAI_CHECK_PARAM;
    }
    if (c != MAI_CHECK_NONE) {
        return ops_fail(err, c);
    }
    if (ctx->in[1].rank != 2) {
        return ops_fail(err, MAI_CHECK_RANK);
    }
    uint32_t in_n = ops_elements(&ctx->in[0].dims);
    uint32_t out_n = ops_elements(&ctx->out[0].dims);
    uint32_t in_depth = (uint32_t)w->c, out_depth = (uint32_t)w->w;
    if (in_n % in_depth != 0 || (uint32_t)ctx->out[0].dims.c != out_depth
        || out_n != in_n / in_depth * out_depth) {
        return ops_fail(err, MAI_CHECK_SHAPE);
    }
    return MAI_OK;
}

nn_status mai_eval_fc_s8(const mai_op_ctx *ctx) {
    nn_quant q = mai_quant(ctx);
    const nn_dims *w = &ctx->in[1].dims;
    int32_t batches = (int32_t)(ops_elements(&ctx->in[0].dims) / (uint32_t)w->c);
    return nn_fc_s8(ctx->params, &q, batches, w->c, ctx->in[0].data, w->w, ctx->in[1].data,
        ctx->in[2].data, ctx->out[0].data);
}

// The int8 FC kernels; FC_S16 the 16x8 one.
const char *mai_supports_fc_s8(const mai_op_ctx *ctx) {
    return ctx->in[0].storage == MAI_STORAGE_S8 ? NULL : "takes int8 activations";
}

const char *mai_supports_fc_s4(const mai_op_ctx *ctx) {
    const char *why = mai_supports_fc_s8(ctx);
    return why != NULL ? why : ctx->in[1].dims.c <= NN_S4_MAX_TAPS ? NULL
        : "int4 weights: an input depth of at most 65,536";
}

const char *mai_supports_fc_s16(const mai_op_ctx *ctx) {
    return ctx->in[0].storage == MAI_STORAGE_S16 ? NULL : "takes int16 activations (16x8)";
}

nn_status mai_eval_fc_s16(const mai_op_ctx *ctx) {
    nn_quant q = mai_quant(ctx);
    const nn_dims *w = &ctx->in[1].dims;
    int32_t batches = (int32_t)(ops_elements(&ctx->in[0].dims) / (uint32_t)w->c);
    return nn_fc_s16(ctx->params, &q, batches, w->c, ctx->in[0].data, w->w, ctx->in[1].data,
        ctx->in[2].data, ctx->out[0].data);
}

nn_status mai_eval_fc_s4(const mai_op_ctx *ctx) {
    nn_quant q = mai_quant(ctx);
    const nn_dims *w = &ctx->in[1].dims;
    int32_t batches = (int32_t)(ops_elements(&ctx->in[0].dims) / (uint32_t)w->c);
    return nn_fc_s4(ctx->params, &q, batches, w->c, ctx->in[0].data, w->w, ctx->in[1].data,
        ctx->in[2].data, ctx->out[0].data);
}
