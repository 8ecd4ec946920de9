// microai.conv2d / depthwise_conv2d / fully_connected: the kernels on caller buffers.
//
// Every argument is checked before the kernel runs (the API is in microai_kernels.h);
// the kernel then gets exactly what the blob executor would give it.
#include <stdint.h>
#include <string.h>

#include "py/runtime.h"

#include "microai_kernels.h"
#include "nn/nn_functions.h"

// Largest element count of a tensor: the kernels index with int32.
#define KERNELS_MAX_ELEMENTS (0x7fffffff)
// fully_connected's default rounding: the default golden's (TFLite-Micro: double).
#define MICROAI_FC_ROUNDING MP_ROM_QSTR(MP_QSTR_double)
// Largest dimension of a shape (so a product of four fits 64 bits).
#define KERNELS_MAX_DIM (0xffff)

static const char *status_name(nn_status s) {
    switch (s) {
        case NN_OK:
            return "NN_OK";
        case NN_ERR_ARG:
            return "NN_ERR_ARG";
        case NN_ERR_SCRATCH:
            return "NN_ERR_SCRATCH";
        case NN_ERR_UNSUPPORTED:
            return "NN_ERR_UNSUPPORTED";
    }
    return "?";
}

static void check_status(const char *kernel, nn_status s) {
    if (s != NN_OK) {
        mp_raise_msg_varg(&mp_type_ValueError, MP_ERROR_TEXT("%s failed: %s (%d)"), kernel,
            status_name(s), (int)s);
    }
}

// ---- arguments ----------------------------------------------------------------------

// A buffer, readable (flags MP_BUFFER_READ) or writable; None is allowed if `optional`
// (then buf = NULL, len = 0).
static void get_buf(mp_obj_t obj, mp_buffer_info_t *b, mp_uint_t flags, qstr name,
    bool optional) {
    if (optional && obj == mp_const_none) {
        b->buf = NULL;
        b->len = 0;
        b->typecode = 'B';
        return;
    }
    if (!mp_get_buffer(obj, b, flags)) {
        if (flags & MP_BUFFER_WRITE) {
            mp_raise_msg_varg(&mp_type_TypeError,
                MP_ERROR_TEXT("%q: a writable buffer is required, got %s"), name,
                mp_obj_get_type_str(obj));
        }
        mp_raise_msg_varg(&mp_type_TypeError, MP_ERROR_TEXT("%q: a buffer is required, got %s"),
            name, mp_obj_get_type_str(obj));
    }
}

// An int in lo..hi.
static int32_t get_int(mp_obj_t obj, qstr name, int32_t lo, int32_t hi) {
    if (!mp_obj_is_integer(obj)) {
        mp_raise_msg_varg(&mp_type_TypeError, MP_ERROR_TEXT("%q: int expected, got %s"), name,
            mp_obj_get_type_str(obj));
    }
    if (mp_obj_is_small_int(obj) || mp_obj_is_bool(obj)) {
        mp_int_t v = mp_obj_get_int(obj);
        if (v >= lo && v <= hi) {
            return (int32_t)v;
        }
        if (v >= INT32_MIN && v <= INT32_MAX) {
            mp_raise_msg_varg(&mp_type_ValueError, MP_ERROR_TEXT("%q: %d given, must be %d..%d"),
                name, (int)v, (int)lo, (int)hi);
        }
    } else if (mp_obj_is_true(mp_binary_op(MP_BINARY_OP_MORE_EQUAL, obj, mp_obj_new_int(lo)))
               && mp_obj_is_true(mp_binary_op(MP_BINARY_OP_LESS_EQUAL, obj, mp_obj_new_int(hi)))) {
        return (int32_t)mp_obj_get_int(obj);
    }
    mp_raise_msg_varg(&mp_type_ValueError, MP_ERROR_TEXT("%q: out of range, must be %d..%d"),
        name, (int)lo, (int)hi);
}

// The items of a tuple or list of exactly n items.
static mp_obj_t *get_tuple(mp_obj_t obj, qstr name, size_t n, const char *what) {
    if (!mp_obj_is_type(obj, &mp_type_tuple) && !mp_obj_is_type(obj, &mp_type_list)) {
        mp_raise_msg_varg(&mp_type_TypeError, MP_ERROR_TEXT("%q: a tuple %s expected, got %s"),
            name, what, mp_obj_get_type_str(obj));
    }
    size_t len;
    mp_obj_t *items;
    mp_obj_get_array(obj, &len, &items);
    if (len != n) {
        mp_raise_msg_varg(&mp_type_ValueError,
            MP_ERROR_TEXT("%q: a tuple %s expected, got %d items"), name, what, (int)len);
    }
    return items;
}

// A pair of ints in lo..hi, such as stride=(h, w).
static void get_pair(mp_obj_t obj, qstr name, const char *what, int32_t lo, int32_t hi,
    int32_t *a, int32_t *b) {
    mp_obj_t *items = get_tuple(obj, name, 2, what);
    *a = get_int(items[0], name, lo, hi);
    *b = get_int(items[1], name, lo, hi);
}

// A 4-D shape, each dimension 1..KERNELS_MAX_DIM.
static void get_shape(mp_obj_t obj, qstr name, nn_dims *d) {
    mp_obj_t *items = get_tuple(obj, name, 4, "of 4 dimensions");
    d->n = get_int(items[0], name, 1, KERNELS_MAX_DIM);
    d->h = get_int(items[1], name, 1, KERNELS_MAX_DIM);
    d->w = get_int(items[2], name, 1, KERNELS_MAX_DIM);
    d->c = get_int(items[3], name, 1, KERNELS_MAX_DIM);
}

// The number of elements of a shape, at most KERNELS_MAX_ELEMENTS.
static size_t shape_elements(const nn_dims *d, qstr name) {
    uint64_t n = (uint64_t)d->n * (uint64_t)d->h * (uint64_t)d->w * (uint64_t)d->c;
    if (n > KERNELS_MAX_ELEMENTS) {
        mp_raise_msg_varg(&mp_type_ValueError,
            MP_ERROR_TEXT("%q: shape (%d, %d, %d, %d) has more than %u elements"), name,
            (int)d->n, (int)d->h, (int)d->w, (int)d->c, (unsigned)KERNELS_MAX_ELEMENTS);
    }
    return (size_t)n;
}

// An int8 buffer holding exactly the elements of its shape.
static void check_tensor(const mp_buffer_info_t *b, qstr name, const nn_dims *d, qstr shape_name) {
    size_t need = shape_elements(d, shape_name);
    if (b->len != need) {
        mp_raise_msg_varg(&mp_type_ValueError,
            MP_ERROR_TEXT("%q: %u bytes given, %q (%d, %d, %d, %d) needs %u"), name,
            (unsigned)b->len, shape_name, (int)d->n, (int)d->h, (int)d->w, (int)d->c,
            (unsigned)need);
    }
}

// weights_bits=8 (int8) or 4 (int4, TFLite's packing: two a byte, element 2i in the
// low nibble of byte i).
static int32_t get_weights_bits(mp_obj_t obj) {
    int32_t bits = get_int(obj, MP_QSTR_weights_bits, 4, 8);
    if (bits != 4 && bits != 8) {
        mp_raise_msg_varg(&mp_type_ValueError,
            MP_ERROR_TEXT("weights_bits: %d given, must be 8 (int8) or 4 (int4)"), (int)bits);
    }
    return bits;
}

// An int4 weights buffer in TFLite's packing of `elements` values: (elements + 1) / 2
// bytes.
static void check_int4(const mp_buffer_info_t *b, size_t elements) {
    size_t need = elements / 2 + elements % 2;
    if (b->len != need) {
        mp_raise_msg_varg(&mp_type_ValueError,
            MP_ERROR_TEXT("weights: %u bytes given, %u int4 weights need %u"),
            (unsigned)b->len, (unsigned)elements, (unsigned)need);
    }
}

// The int4 weights [rows][k] repacked as the kernels' rows (nn_s4_rows_prepare()) in a
// heap block (4-byte aligned, half the int8 weights' size): free with m_del(uint32_t,
// rows_buf, *words).
static uint32_t *int4_rows(const mp_buffer_info_t *w, int32_t rows, int32_t k, size_t *words) {
    *words = nn_s4_rows_bytes(rows, k) / 4;
    uint32_t *buf = m_new(uint32_t, *words);
    nn_s4_rows_prepare(w->buf, rows, k, (uint8_t *)buf);
    return buf;
}

static void check_aligned(const mp_buffer_info_t *b, qstr name) {
    if ((uintptr_t)b->buf % sizeof(int32_t) != 0) {
        mp_raise_msg_varg(&mp_type_ValueError,
            MP_ERROR_TEXT("%q: int32 data must start at a 4-byte aligned address"), name);
    }
}

// bias: None or int32[channels].
static const int32_t *get_bias(mp_obj_t obj, size_t channels) {
    mp_buffer_info_t b;
    get_buf(obj, &b, MP_BUFFER_READ, MP_QSTR_bias, true);
    if (b.buf == NULL) {
        return NULL;
    }
    if (b.len != channels * sizeof(int32_t)) {
        mp_raise_msg_varg(&mp_type_ValueError,
            MP_ERROR_TEXT("bias: %u bytes given, %u output channels need %u (int32 each)"),
            (unsigned)b.len, (unsigned)channels, (unsigned)(channels * sizeof(int32_t)));
    }
    check_aligned(&b, MP_QSTR_bias);
    return b.buf;
}

// multiplier or shift: an int (stored in *one) or int32[1] or int32[channels], every
// value in lo..hi. Returns the number of values.
static size_t get_quant_array(mp_obj_t obj, qstr name, size_t channels, int32_t lo, int32_t hi,
    int32_t *one, const int32_t **values) {
    if (mp_obj_is_integer(obj)) {
        *one = get_int(obj, name, lo, hi);
        *values = one;
        return 1;
    }
    mp_buffer_info_t b;
    if (!mp_get_buffer(obj, &b, MP_BUFFER_READ)) {
        mp_raise_msg_varg(&mp_type_TypeError,
            MP_ERROR_TEXT("%q: an int or a buffer of int32 is required, got %s"), name,
            mp_obj_get_type_str(obj));
    }
    if (b.len != sizeof(int32_t) && b.len != channels * sizeof(int32_t)) {
        mp_raise_msg_varg(&mp_type_ValueError,
            MP_ERROR_TEXT("%q: %u bytes given, needs 4 (one int32) or %u (%u channels)"),
            name, (unsigned)b.len, (unsigned)(channels * sizeof(int32_t)), (unsigned)channels);
    }
    check_aligned(&b, name);
    const int32_t *v = b.buf;
    size_t n = b.len / sizeof(int32_t);
    for (size_t i = 0; i < n; i++) {
        if (v[i] < lo || v[i] > hi) {
            mp_raise_msg_varg(&mp_type_ValueError, MP_ERROR_TEXT("%q[%u]: %d given, must be %d..%d"),
                name, (unsigned)i, (int)v[i], (int)lo, (int)hi);
        }
    }
    *values = v;
    return n;
}

// The requantization: both per tensor or both per channel; nn_requantize's contract
// (multiplier >= 0, shift -31..30), as the executor checks.
typedef struct {
    nn_quant q;
    int32_t multiplier;
    int32_t shift;
} kernels_quant;

static void get_quant(kernels_quant *kq, mp_obj_t mult, mp_obj_t shift, size_t channels) {
    size_t nm = get_quant_array(mult, MP_QSTR_multiplier, channels, 0, INT32_MAX,
        &kq->multiplier, &kq->q.multiplier);
    size_t ns = get_quant_array(shift, MP_QSTR_shift, channels, -31, 30, &kq->shift,
        &kq->q.shift);
    if (nm != ns) {
        mp_raise_msg_varg(&mp_type_ValueError,
            MP_ERROR_TEXT("shift: %u value(s), multiplier %u: both per tensor or both per channel"),
            (unsigned)ns, (unsigned)nm);
    }
    kq->q.per_channel = nm > 1;
    kq->q.rounding = NN_ROUNDING_DOUBLE;
}

// rounding='double' (gemmlowp, as TFLite-Micro and CMSIS-NN) or 'single' (as LiteRT's
// reference FULLY_CONNECTED).
static int32_t get_rounding(mp_obj_t obj) {
    qstr q = mp_obj_is_str(obj) ? mp_obj_str_get_qstr(obj) : MP_QSTRnull;
    if (q == MP_QSTR_double) {
        return NN_ROUNDING_DOUBLE;
    }
    if (q == MP_QSTR_single) {
        return NN_ROUNDING_SINGLE;
    }
    mp_raise_ValueError(MP_ERROR_TEXT("rounding: 'double' or 'single' expected"));
}

static void get_act(mp_obj_t obj, nn_activation *act) {
    get_pair(obj, MP_QSTR_act, "(min, max)", -128, 127, &act->min, &act->max);
    if (act->min > act->max) {
        mp_raise_msg_varg(&mp_type_ValueError, MP_ERROR_TEXT("act: min %d is above max %d"),
            (int)act->min, (int)act->max);
    }
}

// `a` (written by the kernel) and `b` must not share a byte.
static void check_disjoint(const mp_buffer_info_t *a, qstr a_name, const mp_buffer_info_t *b,
    qstr b_name) {
    if (a->buf == NULL || b->buf == NULL || a->len == 0 || b->len == 0) {
        return;
    }
    uintptr_t a0 = (uintptr_t)a->buf, b0 = (uintptr_t)b->buf;
    if (a0 < b0 + b->len && b0 < a0 + a->len) {
        mp_raise_msg_varg(&mp_type_ValueError, MP_ERROR_TEXT("%q: overlaps %q"), a_name, b_name);
    }
}

// ---- conv2d and depthwise_conv2d ----------------------------------------------------

// One spatial axis: output size `out` against the input size, filter, stride, dilation
// and leading padding. The executor's rule (mai_ops_conv.c): every window touches the
// input, so (in + pad - eff) // stride + 1 <= out <= (in + pad - 1) // stride + 1.
static void check_axis(const char *axis, int32_t in, int32_t k, int32_t stride,
    int32_t dilation, int32_t pad, int32_t out) {
    int64_t eff = (int64_t)(k - 1) * dilation + 1;
    if (pad >= eff) {
        mp_raise_msg_varg(&mp_type_ValueError,
            MP_ERROR_TEXT("padding: %s %d must be less than the dilated filter %s %d"), axis,
            (int)pad, axis, (int)eff);
    }
    // in, pad <= 0xffff, so in + pad - eff fits int32 when it is not negative (and the
    // divisions stay 32-bit: no libgcc 64-bit division helper).
    int32_t lo = in + pad < eff ? 1 : (in + pad - (int32_t)eff) / stride + 1;
    int32_t hi = (in + pad - 1) / stride + 1;
    if (out < lo || out > hi) {
        mp_raise_msg_varg(&mp_type_ValueError,
            MP_ERROR_TEXT("output_shape: %s %d; in %d, k %d, stride %d, dil %d, pad %d: %d..%d"),
            axis, (int)out, (int)in, (int)k, (int)stride, (int)dilation, (int)pad, (int)lo,
            (int)hi);
    }
}

enum {
    ARG_input, ARG_input_shape, ARG_weights, ARG_weights_shape, ARG_bias, ARG_output,
    ARG_output_shape, ARG_stride, ARG_dilation, ARG_padding, ARG_input_offset,
    ARG_output_offset, ARG_multiplier, ARG_shift, ARG_act, ARG_scratch, ARG_weights_bits,
    ARG_groups, ARG_depth_multiplier,
};

static const mp_arg_t conv_allowed_args[] = {
    { MP_QSTR_input, MP_ARG_REQUIRED | MP_ARG_OBJ, {.u_rom_obj = MP_ROM_NONE} },
    { MP_QSTR_input_shape, MP_ARG_REQUIRED | MP_ARG_OBJ, {.u_rom_obj = MP_ROM_NONE} },
    { MP_QSTR_weights, MP_ARG_REQUIRED | MP_ARG_OBJ, {.u_rom_obj = MP_ROM_NONE} },
    { MP_QSTR_weights_shape, MP_ARG_REQUIRED | MP_ARG_OBJ, {.u_rom_obj = MP_ROM_NONE} },
    { MP_QSTR_bias, MP_ARG_REQUIRED | MP_ARG_OBJ, {.u_rom_obj = MP_ROM_NONE} },
    { MP_QSTR_output, MP_ARG_REQUIRED | MP_ARG_OBJ, {.u_rom_obj = MP_ROM_NONE} },
    { MP_QSTR_output_shape, MP_ARG_REQUIRED | MP_ARG_OBJ, {.u_rom_obj = MP_ROM_NONE} },
    { MP_QSTR_stride, MP_ARG_KW_ONLY | MP_ARG_OBJ, {.u_rom_obj = MP_ROM_NONE} },
    { MP_QSTR_dilation, MP_ARG_KW_ONLY | MP_ARG_OBJ, {.u_rom_obj = MP_ROM_NONE} },
    { MP_QSTR_padding, MP_ARG_KW_ONLY | MP_ARG_OBJ, {.u_rom_obj = MP_ROM_NONE} },
    { MP_QSTR_input_offset, MP_ARG_KW_ONLY | MP_ARG_OBJ, {.u_rom_obj = MP_ROM_INT(0)} },
    { MP_QSTR_output_offset, MP_ARG_KW_ONLY | MP_ARG_OBJ, {.u_rom_obj = MP_ROM_INT(0)} },
    { MP_QSTR_multiplier, MP_ARG_KW_ONLY | MP_ARG_REQUIRED | MP_ARG_OBJ, {.u_rom_obj = MP_ROM_NONE} },
    { MP_QSTR_shift, MP_ARG_KW_ONLY | MP_ARG_REQUIRED | MP_ARG_OBJ, {.u_rom_obj = MP_ROM_NONE} },
    { MP_QSTR_act, MP_ARG_KW_ONLY | MP_ARG_OBJ, {.u_rom_obj = MP_ROM_NONE} },
    { MP_QSTR_scratch, MP_ARG_KW_ONLY | MP_ARG_OBJ, {.u_rom_obj = MP_ROM_NONE} },
    { MP_QSTR_weights_bits, MP_ARG_KW_ONLY | MP_ARG_OBJ, {.u_rom_obj = MP_ROM_INT(8)} },
    // conv2d only (depthwise_conv2d refuses it but for 1).
    { MP_QSTR_groups, MP_ARG_KW_ONLY | MP_ARG_OBJ, {.u_rom_obj = MP_ROM_INT(1)} },
    // depthwise_conv2d only: conv2d parses one argument less.
    { MP_QSTR_depth_multiplier, MP_ARG_KW_ONLY | MP_ARG_OBJ, {.u_rom_obj = MP_ROM_INT(1)} },
};

static mp_obj_t conv_common(size_t n_args, const mp_obj_t *pos_args, mp_map_t *kw_args,
    bool depthwise) {
    mp_arg_val_t args[MP_ARRAY_SIZE(conv_allowed_args)];
    size_t n_allowed = MP_ARRAY_SIZE(conv_allowed_args) - (depthwise ? 0 : 1);
    mp_arg_parse_all(n_args, pos_args, kw_args, n_allowed, conv_allowed_args, args);
    const int32_t bits = get_weights_bits(args[ARG_weights_bits].u_obj);
    const int32_t groups = get_int(args[ARG_groups].u_obj, MP_QSTR_groups, 1, KERNELS_MAX_DIM);
    if (depthwise && groups != 1) {
        mp_raise_msg(&mp_type_ValueError,
            MP_ERROR_TEXT("groups: depthwise_conv2d takes depth_multiplier"));
    }
    if (groups != 1 && bits != 8) {
        mp_raise_msg(&mp_type_ValueError, MP_ERROR_TEXT("groups: int8 weights only"));
    }
    const char *kernel = depthwise
        ? (bits == 4 ? "nn_dw_conv_wrapper_s4" : "nn_dw_conv_wrapper_s8")
        : groups != 1 ? "nn_conv_grouped_s8"
        : (bits == 4 ? "nn_conv_s4" : "nn_conv_s8");

    mp_buffer_info_t in, w, out, scratch;
    get_buf(args[ARG_input].u_obj, &in, MP_BUFFER_READ, MP_QSTR_input, false);
    get_buf(args[ARG_weights].u_obj, &w, MP_BUFFER_READ, MP_QSTR_weights, false);
    get_buf(args[ARG_output].u_obj, &out, MP_BUFFER_WRITE, MP_QSTR_output, false);
    get_buf(args[ARG_scratch].u_obj, &scratch, MP_BUFFER_WRITE, MP_QSTR_scratch, true);

    nn_dims in_dims, f_dims, out_dims;
    get_shape(args[ARG_input_shape].u_obj, MP_QSTR_input_shape, &in_dims);
    get_shape(args[ARG_weights_shape].u_obj, MP_QSTR_weights_shape, &f_dims);
    get_shape(args[ARG_output_shape].u_obj, MP_QSTR_output_shape, &out_dims);

    nn_conv_params p;
    int32_t a, b;
    a = b = 1;
    if (args[ARG_stride].u_obj != mp_const_none) {
        get_pair(args[ARG_stride].u_obj, MP_QSTR_stride, "(h, w)", 1, INT16_MAX, &a, &b);
    }
    p.stride_h = (int16_t)a;
    p.stride_w = (int16_t)b;
    a = b = 1;
    if (args[ARG_dilation].u_obj != mp_const_none) {
        get_pair(args[ARG_dilation].u_obj, MP_QSTR_dilation, "(h, w)", 1, INT16_MAX, &a, &b);
    }
    p.dilation_h = (int16_t)a;
    p.dilation_w = (int16_t)b;
    a = b = 0;
    if (args[ARG_padding].u_obj != mp_const_none) {
        get_pair(args[ARG_padding].u_obj, MP_QSTR_padding, "(top, left)", 0, INT16_MAX, &a, &b);
    }
    p.pad_h = (int16_t)a;
    p.pad_w = (int16_t)b;
    p.input_offset = get_int(args[ARG_input_offset].u_obj, MP_QSTR_input_offset, -127, 128);
    p.output_offset = get_int(args[ARG_output_offset].u_obj, MP_QSTR_output_offset, -128, 127);
    p.depth_multiplier = 1;
    if (depthwise) {
        p.depth_multiplier = get_int(args[ARG_depth_multiplier].u_obj, MP_QSTR_depth_multiplier,
            1, KERNELS_MAX_DIM);
    }
    p.act.min = -128;
    p.act.max = 127;
    if (args[ARG_act].u_obj != mp_const_none) {
        get_act(args[ARG_act].u_obj, &p.act);
    }

    // Shapes against each other.
    if (out_dims.n != in_dims.n) {
        mp_raise_msg_varg(&mp_type_ValueError,
            MP_ERROR_TEXT("output_shape: batch %d given, input_shape has %d"), (int)out_dims.n,
            (int)in_dims.n);
    }
    if (depthwise) {
        if (f_dims.n != 1) {
            mp_raise_msg_varg(&mp_type_ValueError,
                MP_ERROR_TEXT("weights_shape: (1, H, W, C) expected, first dimension is %d"),
                (int)f_dims.n);
        }
        int64_t ch = (int64_t)in_dims.c * p.depth_multiplier;
        if (out_dims.c != ch) {
            mp_raise_msg_varg(&mp_type_ValueError,
                MP_ERROR_TEXT("output_shape: %d channels, input %d x depth_multiplier %d need %u"),
                (int)out_dims.c, (int)in_dims.c, (int)p.depth_multiplier, (unsigned)ch);
        }
        if (f_dims.c != out_dims.c) {
            mp_raise_msg_varg(&mp_type_ValueError,
                MP_ERROR_TEXT("weights_shape: %d channels given, output_shape has %d"),
                (int)f_dims.c, (int)out_dims.c);
        }
    } else {
        if ((int64_t)f_dims.c * groups != in_dims.c) {
            mp_raise_msg_varg(&mp_type_ValueError,
                MP_ERROR_TEXT("weights_shape: in channels %d x groups %d, input_shape has %d"),
                (int)f_dims.c, (int)groups, (int)in_dims.c);
        }
        if (out_dims.c % groups != 0) {
            mp_raise_msg_varg(&mp_type_ValueError,
                MP_ERROR_TEXT("output_shape: %d channels, not a multiple of groups %d"),
                (int)out_dims.c, (int)groups);
        }
        if (f_dims.n != out_dims.c) {
            mp_raise_msg_varg(&mp_type_ValueError,
                MP_ERROR_TEXT("weights_shape: output channels (first) %d given, output_shape has %d"),
                (int)f_dims.n, (int)out_dims.c);
        }
    }
    check_axis("height", in_dims.h, f_dims.h, p.stride_h, p.dilation_h, p.pad_h, out_dims.h);
    check_axis("width", in_dims.w, f_dims.w, p.stride_w, p.dilation_w, p.pad_w, out_dims.w);

    // Buffers against the shapes.
    check_tensor(&in, MP_QSTR_input, &in_dims, MP_QSTR_input_shape);
    if (bits == 4) {
        check_int4(&w, shape_elements(&f_dims, MP_QSTR_weights_shape));
    } else {
        check_tensor(&w, MP_QSTR_weights, &f_dims, MP_QSTR_weights_shape);
    }
    check_tensor(&out, MP_QSTR_output, &out_dims, MP_QSTR_output_shape);
    const size_t channels = (size_t)out_dims.c;
    const int32_t *bias = get_bias(args[ARG_bias].u_obj, channels);
    kernels_quant kq;
    get_quant(&kq, args[ARG_multiplier].u_obj, args[ARG_shift].u_obj, channels);

    // Nothing the kernel writes may overlap what it reads.
    mp_buffer_info_t bias_b = { .buf = (void *)bias, .len = bias ? channels * 4 : 0 };
    mp_buffer_info_t mult_b = { .buf = (void *)kq.q.multiplier, .len = kq.q.per_channel ? channels * 4 : 4 };
    mp_buffer_info_t shift_b = { .buf = (void *)kq.q.shift, .len = kq.q.per_channel ? channels * 4 : 4 };
    const mp_buffer_info_t *reads[] = { &in, &w, &bias_b, &mult_b, &shift_b };
    const qstr read_names[] = { MP_QSTR_input, MP_QSTR_weights, MP_QSTR_bias, MP_QSTR_multiplier, MP_QSTR_shift };
    for (size_t i = 0; i < MP_ARRAY_SIZE(reads); i++) {
        check_disjoint(&out, MP_QSTR_output, reads[i], read_names[i]);
        check_disjoint(&scratch, MP_QSTR_scratch, reads[i], read_names[i]);
    }
    check_disjoint(&scratch, MP_QSTR_scratch, &out, MP_QSTR_output);

    // Scratch: the caller's (from its first aligned byte) or a heap block for this call.
    // (int4 depthwise kernels take their int8 twins' scratch.)
    size_t need = depthwise ? nn_dw_conv_wrapper_s8_scratch_size(&p, &in_dims, &f_dims, &out_dims)
        : groups != 1 ? 0
        : bits == 4 ? nn_conv_s4_scratch_size(&p, &in_dims, &f_dims, &out_dims)
        : nn_conv_s8_scratch_size(&p, &in_dims, &f_dims, &out_dims);
    void *s_buf = NULL;
    size_t s_len = 0;
    uint32_t *heap = NULL;
    if (scratch.buf != NULL) {
        size_t pad = (sizeof(int32_t) - ((uintptr_t)scratch.buf % sizeof(int32_t))) % sizeof(int32_t);
        s_len = scratch.len > pad ? scratch.len - pad : 0;
        s_buf = (uint8_t *)scratch.buf + pad;
        if (s_len < need) {
            if (pad != 0) {
                mp_raise_msg_varg(&mp_type_ValueError,
                    MP_ERROR_TEXT("scratch: %u bytes (%u from its first 4-aligned byte), %s needs %u"),
                    (unsigned)scratch.len, (unsigned)s_len, kernel, (unsigned)need);
            }
            mp_raise_msg_varg(&mp_type_ValueError,
                MP_ERROR_TEXT("scratch: %u bytes given, %s needs %u"), (unsigned)scratch.len,
                kernel, (unsigned)need);
        }
    } else if (need > 0) {
        heap = m_new(uint32_t, (need + 3) / 4);
        s_buf = heap;
        s_len = need;
    }

    nn_status s;
    if (depthwise && bits == 4) {
        s = nn_dw_conv_wrapper_s4(&p, &kq.q, &in_dims, in.buf, &f_dims, w.buf, bias, &out_dims,
            out.buf, s_buf, s_len);
    } else if (depthwise) {
        s = nn_dw_conv_wrapper_s8(&p, &kq.q, &in_dims, in.buf, &f_dims, w.buf, bias, &out_dims,
            out.buf, s_buf, s_len);
    } else if (groups != 1) {
        s = nn_conv_grouped_s8(&p, &kq.q, &in_dims, in.buf, &f_dims, w.buf, bias, &out_dims,
            out.buf);
    } else if (bits == 4) {
        // Repacked as the GEMM reads them: int4 rows (still packed, never widened).
        size_t words;
        uint32_t *rows = int4_rows(&w, f_dims.n, f_dims.h * f_dims.w * f_dims.c, &words);
        s = nn_conv_s4(&p, &kq.q, &in_dims, in.buf, &f_dims, (const uint8_t *)rows, bias,
            &out_dims, out.buf, s_buf, s_len);
        m_del(uint32_t, rows, words);
    } else {
        s = nn_conv_s8(&p, &kq.q, &in_dims, in.buf, &f_dims, w.buf, bias, &out_dims, out.buf,
            s_buf, s_len);
    }
    if (heap != NULL) {
        m_del(uint32_t, heap, (need + 3) / 4);
    }
    check_status(kernel, s);
    return mp_const_none;
}

static mp_obj_t microai_conv2d(size_t n_args, const mp_obj_t *pos_args, mp_map_t *kw_args) {
    return conv_common(n_args, pos_args, kw_args, false);
}
MP_DEFINE_CONST_FUN_OBJ_KW(microai_conv2d_obj, 0, microai_conv2d);

static mp_obj_t microai_depthwise_conv2d(size_t n_args, const mp_obj_t *pos_args,
    mp_map_t *kw_args) {
    return conv_common(n_args, pos_args, kw_args, true);
}
MP_DEFINE_CONST_FUN_OBJ_KW(microai_depthwise_conv2d_obj, 0, microai_depthwise_conv2d);

// ---- fully_connected ----------------------------------------------------------------

// The depth of a [batches][depth] int8 buffer.
static int32_t fc_depth(const mp_buffer_info_t *b, qstr name, int32_t batches) {
    if (b->len == 0 || b->len % (size_t)batches != 0 || b->len > KERNELS_MAX_ELEMENTS) {
        mp_raise_msg_varg(&mp_type_ValueError,
            MP_ERROR_TEXT("%q: %u bytes given, not a nonzero multiple of batches=%d"), name,
            (unsigned)b->len, (int)batches);
    }
    return (int32_t)(b->len / (size_t)batches);
}

static mp_obj_t microai_fully_connected(size_t n_args, const mp_obj_t *pos_args,
    mp_map_t *kw_args) {
    enum {
        ARG_input, ARG_weights, ARG_bias, ARG_output, ARG_batches, ARG_input_offset,
        ARG_filter_offset, ARG_output_offset, ARG_multiplier, ARG_shift, ARG_act, ARG_rounding,
        ARG_weights_bits,
    };
    static const mp_arg_t allowed_args[] = {
        { MP_QSTR_input, MP_ARG_REQUIRED | MP_ARG_OBJ, {.u_rom_obj = MP_ROM_NONE} },
        { MP_QSTR_weights, MP_ARG_REQUIRED | MP_ARG_OBJ, {.u_rom_obj = MP_ROM_NONE} },
        { MP_QSTR_bias, MP_ARG_REQUIRED | MP_ARG_OBJ, {.u_rom_obj = MP_ROM_NONE} },
        { MP_QSTR_output, MP_ARG_REQUIRED | MP_ARG_OBJ, {.u_rom_obj = MP_ROM_NONE} },
        { MP_QSTR_batches, MP_ARG_KW_ONLY | MP_ARG_OBJ, {.u_rom_obj = MP_ROM_INT(1)} },
        { MP_QSTR_input_offset, MP_ARG_KW_ONLY | MP_ARG_OBJ, {.u_rom_obj = MP_ROM_INT(0)} },
        { MP_QSTR_filter_offset, MP_ARG_KW_ONLY | MP_ARG_OBJ, {.u_rom_obj = MP_ROM_INT(0)} },
        { MP_QSTR_output_offset, MP_ARG_KW_ONLY | MP_ARG_OBJ, {.u_rom_obj = MP_ROM_INT(0)} },
        { MP_QSTR_multiplier, MP_ARG_KW_ONLY | MP_ARG_REQUIRED | MP_ARG_OBJ, {.u_rom_obj = MP_ROM_NONE} },
        { MP_QSTR_shift, MP_ARG_KW_ONLY | MP_ARG_REQUIRED | MP_ARG_OBJ, {.u_rom_obj = MP_ROM_NONE} },
        { MP_QSTR_act, MP_ARG_KW_ONLY | MP_ARG_OBJ, {.u_rom_obj = MP_ROM_NONE} },
        { MP_QSTR_rounding, MP_ARG_KW_ONLY | MP_ARG_OBJ, {.u_rom_obj = MICROAI_FC_ROUNDING} },
        { MP_QSTR_weights_bits, MP_ARG_KW_ONLY | MP_ARG_OBJ, {.u_rom_obj = MP_ROM_INT(8)} },
    };
    mp_arg_val_t args[MP_ARRAY_SIZE(allowed_args)];
    mp_arg_parse_all(n_args, pos_args, kw_args, MP_ARRAY_SIZE(allowed_args), allowed_args, args);

    mp_buffer_info_t in, w, out;
    get_buf(args[ARG_input].u_obj, &in, MP_BUFFER_READ, MP_QSTR_input, false);
    get_buf(args[ARG_weights].u_obj, &w, MP_BUFFER_READ, MP_QSTR_weights, false);
    get_buf(args[ARG_output].u_obj, &out, MP_BUFFER_WRITE, MP_QSTR_output, false);

    nn_fc_params p;
    int32_t batches = get_int(args[ARG_batches].u_obj, MP_QSTR_batches, 1, KERNELS_MAX_ELEMENTS);
    p.input_offset = get_int(args[ARG_input_offset].u_obj, MP_QSTR_input_offset, -127, 128);
    p.filter_offset = get_int(args[ARG_filter_offset].u_obj, MP_QSTR_filter_offset, -127, 128);
    p.output_offset = get_int(args[ARG_output_offset].u_obj, MP_QSTR_output_offset, -128, 127);
    p.act.min = -128;
    p.act.max = 127;
    if (args[ARG_act].u_obj != mp_const_none) {
        get_act(args[ARG_act].u_obj, &p.act);
    }

    const int32_t bits = get_weights_bits(args[ARG_weights_bits].u_obj);
    int32_t in_depth = fc_depth(&in, MP_QSTR_input, batches);
    int32_t out_depth = fc_depth(&out, MP_QSTR_output, batches);
    uint64_t need = (uint64_t)in_depth * (uint64_t)out_depth;
    if (bits == 4) {
        if (need > KERNELS_MAX_ELEMENTS) {
            mp_raise_ValueError(MP_ERROR_TEXT("weights: too many int4 weights"));
        }
        check_int4(&w, (size_t)need);
    } else if (w.len != need) {
        mp_raise_msg_varg(&mp_type_ValueError,
            MP_ERROR_TEXT("weights: %u bytes given, output depth %d x input depth %d needs %u"),
            (unsigned)w.len, (int)out_depth, (int)in_depth, (unsigned)need);
    }
    const size_t channels = (size_t)out_depth;
    const int32_t *bias = get_bias(args[ARG_bias].u_obj, channels);
    kernels_quant kq;
    get_quant(&kq, args[ARG_multiplier].u_obj, args[ARG_shift].u_obj, channels);
    kq.q.rounding = get_rounding(args[ARG_rounding].u_obj);

    mp_buffer_info_t bias_b = { .buf = (void *)bias, .len = bias ? channels * 4 : 0 };
    mp_buffer_info_t mult_b = { .buf = (void *)kq.q.multiplier, .len = kq.q.per_channel ? channels * 4 : 4 };
    mp_buffer_info_t shift_b = { .buf = (void *)kq.q.shift, .len = kq.q.per_channel ? channels * 4 : 4 };
    check_disjoint(&out, MP_QSTR_output, &in, MP_QSTR_input);
    check_disjoint(&out, MP_QSTR_output, &w, MP_QSTR_weights);
    check_disjoint(&out, MP_QSTR_output, &bias_b, MP_QSTR_bias);
    check_disjoint(&out, MP_QSTR_output, &mult_b, MP_QSTR_multiplier);
    check_disjoint(&out, MP_QSTR_output, &shift_b, MP_QSTR_shift);

    if (bits == 4) {
        // Repacked as the kernel reads them: int4 rows (still packed, never widened).
        size_t words;
        uint32_t *rows = int4_rows(&w, out_depth, in_depth, &words);
        nn_status s = nn_fc_s4(&p, &kq.q, batches, in_depth, in.buf, out_depth,
            (const uint8_t *)rows, bias, out.buf);
        m_del(uint32_t, rows, words);
        check_status("nn_fc_s4", s);
        return mp_const_none;
    }
    check_status("nn_fc_s8", nn_fc_s8(&p, &kq.q, batches, in_depth, in.buf, out_depth, w.buf,
        bias, out.buf));
    return mp_const_none;
}
MP_DEFINE_CONST_FUN_OBJ_KW(microai_fully_connected_obj, 0, microai_fully_connected);
