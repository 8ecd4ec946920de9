// microai.Model(blob, arena=None): validate a blob once, then run it from an arena.
//
// Like framebuf.FrameBuffer: the blob is a buffer used in place and kept referenced so
// the GC keeps the weights alive. Every check is done once, in mai_load(); invoke() is
// a thin walk over the op table. So the blob's bytes must not change after the check:
// bytes, a sealed microai.Blob and the frozen blobs in flash are used in place; any other
// buffer (a bytearray, a writable memoryview) is copied once into a sealed Blob.
#include <string.h>

#include "py/binary.h"
#include "py/gc.h"
#include "py/runtime.h"
#include "py/objarray.h"
#include "py/objtuple.h"

#include "microai_blob.h"
#include "microai_config.h"
#include "microai_frozen.h"
#include "microai_model.h"
#include "microai_profile.h"
#include "runtime/mai_exec.h"

// The one static tensor arena, sized per board (board.json "arena_bytes") and placed
// where the board says (the STM32F405 keeps it in a 64 KiB region of its own).
static uint8_t microai_arena[MICROAI_ARENA_SIZE] MICROAI_ARENA_ATTR;

typedef struct _microai_model_obj_t {
    mp_obj_base_t base;
    mp_obj_t blob;   // keeps the blob's buffer alive
    mp_obj_t arena;  // a user bytearray, or mp_const_none for the static arena
    mai_model m;
    void *arena_buf; // the user arena's buffer and length at load, checked at each use
    size_t arena_len;
    uint32_t token;  // unique per Model ever made (see arena_owner)
    uint8_t closed;  // one of the MODEL_* states below
} microai_model_obj_t;

enum { MODEL_OPEN, MODEL_CLOSED, MODEL_ARENA_TAKEN };

// The Model using the static arena: a new one takes it over, and the old one is closed
// (its tensors would be overwritten). Plain C statics, not a GC root: they survive a
// soft reset, which frees the heap under them, so the owner is trusted only while its
// address is still a live heap block holding a Model with the same token (tokens are
// never reused). An owner the GC collected, or one from before a soft reset, is gone.
static microai_model_obj_t *arena_owner;
static uint32_t arena_owner_token;
static uint32_t next_token;

static microai_model_obj_t *live_arena_owner(void) {
    microai_model_obj_t *o = arena_owner;
    if (o == NULL || gc_nbytes(o) < sizeof(*o) || o->base.type != &microai_type_Model
        || o->token != arena_owner_token) {
        return NULL;
    }
    return o;
}

uint8_t *microai_static_arena(size_t *size) {
    *size = sizeof(microai_arena);
    return microai_arena;
}

static const char *op_type_name(uint32_t type) {
    const char *name = mai_op_name(type);
    return name ? name : "?";
}

// Raise ValueError naming what failed and where: "blob rejected: invalid op at op 3
// (CONV): shapes do not agree".
static NORETURN void raise_mai(const uint8_t *blob, const char *what, mai_status s,
    const mai_error *err) {
    const char *status = mai_status_str(s);
    if (s == MAI_E_OP || s == MAI_E_KERNEL) {
        const mai_header *h = (const mai_header *)blob;
        const char *type = "?";
        if (err->index >= 0 && (uint32_t)err->index < h->n_ops) {
            type = op_type_name(((const mai_op *)(blob + h->ops_offset))[err->index].type);
        }
        if (err->why != NULL) {
            // The chosen kernel's own reason: "kernel CONV_PW_S8 does not take it: needs ..."
            const mai_op *op = (const mai_op *)(blob + h->ops_offset) + err->index;
            const char *kernel = mai_kernel_name(op->kernel);
            mp_raise_msg_varg(&mp_type_ValueError,
                MP_ERROR_TEXT("%s: %s at op %d (%s): kernel %s does not take it: %s"), what,
                status, (int)err->index, type, kernel ? kernel : "?", err->why);
        }
        mp_raise_msg_varg(&mp_type_ValueError, MP_ERROR_TEXT("%s: %s at op %d (%s): %s"), what,
            status, (int)err->index, type,
            s == MAI_E_KERNEL ? "the kernel refused" : mai_check_str((mai_check)err->detail));
    }
    if (s == MAI_E_TENSOR || s == MAI_E_IO) {
        mp_raise_msg_varg(&mp_type_ValueError, MP_ERROR_TEXT("%s: %s %d: %s"), what, status,
            (int)err->index, mai_check_str((mai_check)err->detail));
    }
    mp_raise_msg_varg(&mp_type_ValueError, MP_ERROR_TEXT("%s: %s"), what, status);
}

static microai_model_obj_t *get_open(mp_obj_t self_in) {
    microai_model_obj_t *self = MP_OBJ_TO_PTR(self_in);
    if (self->closed == MODEL_OPEN && self->arena != mp_const_none) {
        // A bytearray that grew or shrank after Model() may have moved: never write
        // through the old address.
        mp_buffer_info_t a;
        if (!mp_get_buffer(self->arena, &a, MP_BUFFER_WRITE) || a.buf != self->arena_buf
            || a.len < self->arena_len) {
            self->closed = MODEL_CLOSED;
            mp_raise_msg(&mp_type_OSError,
                MP_ERROR_TEXT("model is closed: its arena buffer was resized after Model()"));
        }
    }
    if (self->closed == MODEL_ARENA_TAKEN) {
        mp_raise_msg(&mp_type_OSError,
            MP_ERROR_TEXT("model is closed: a newer Model took the static arena"));
    }
    if (self->closed) {
        mp_raise_msg(&mp_type_OSError, MP_ERROR_TEXT("model is closed"));
    }
    return self;
}

// Bytes that cannot change for as long as the Model holds obj: bytes objects, sealed
// Blobs, and views of the blobs frozen into flash.
static bool blob_is_immutable(mp_obj_t obj, const mp_buffer_info_t *b) {
    if (mp_obj_is_type(obj, &mp_type_bytes) || microai_blob_is_sealed(obj)) {
        return true;
    }
    for (size_t i = 0; i < microai_frozen_count; i++) {
        const microai_frozen_t *f = &microai_frozen_models[i];
        const uint8_t *p = b->buf;
        if (p >= f->blob && b->len <= f->size && (size_t)(p - f->blob) <= f->size - b->len) {
            return true;
        }
    }
    return false;
}

static mp_obj_t microai_model_make_new(const mp_obj_type_t *type, size_t n_args, size_t n_kw,
    const mp_obj_t *all_args) {
    enum { ARG_blob, ARG_arena };
    static const mp_arg_t allowed_args[] = {
        { MP_QSTR_blob, MP_ARG_REQUIRED | MP_ARG_OBJ, {.u_rom_obj = MP_ROM_NONE} },
        { MP_QSTR_arena, MP_ARG_OBJ, {.u_rom_obj = MP_ROM_NONE} },
    };
    mp_arg_val_t args[MP_ARRAY_SIZE(allowed_args)];
    mp_arg_parse_all_kw_array(n_args, n_kw, all_args, MP_ARRAY_SIZE(allowed_args), allowed_args, args);

    mp_obj_t blob_obj = args[ARG_blob].u_obj;
    mp_buffer_info_t blob;
    mp_get_buffer_raise(blob_obj, &blob, MP_BUFFER_READ);
    if (!blob_is_immutable(blob_obj, &blob) || (uintptr_t)blob.buf % 4) {
        // Copy what the header says the blob is (the loader then checks the copy).
        size_t n = blob.len;
        if (n >= sizeof(mai_header) && ((const mai_header *)blob.buf)->total_size < n) {
            n = ((const mai_header *)blob.buf)->total_size;
        }
        blob_obj = microai_blob_copy(blob.buf, n ? n : 1);
        mp_get_buffer_raise(blob_obj, &blob, MP_BUFFER_READ);
        blob.len = n;
    }

    uint8_t *arena;
    size_t arena_size;
    mp_buffer_info_t a = {0};
    if (args[ARG_arena].u_obj == mp_const_none) {
        arena = microai_static_arena(&arena_size);
    } else {
        if (!mp_get_buffer(args[ARG_arena].u_obj, &a, MP_BUFFER_WRITE)) {
            mp_raise_TypeError(MP_ERROR_TEXT("arena must be a writable buffer (a bytearray)"));
        }
        // Use the 16-byte aligned part of the caller's buffer.
        size_t pad = (16 - ((uintptr_t)a.buf & 15)) & 15;
        arena = (uint8_t *)a.buf + pad;
        arena_size = a.len > pad ? a.len - pad : 0;
    }

    microai_model_obj_t *self = mp_obj_malloc(microai_model_obj_t, type);
    self->blob = blob_obj;
    self->arena = args[ARG_arena].u_obj;
    self->arena_buf = a.buf;
    self->arena_len = a.len;
    self->token = ++next_token;
    self->closed = MODEL_OPEN;
    mai_error err;
    mai_status s = mai_load(&self->m, blob.buf, blob.len, arena, arena_size, &err);
    if (s == MAI_E_ARENA_TOO_SMALL) {
        const mai_header *h = blob.buf;
        mp_raise_msg_varg(&mp_type_ValueError,
            MP_ERROR_TEXT("arena too small: the model needs %u bytes, the arena has %u"),
            (unsigned)h->arena_size, (unsigned)arena_size);
    }
    if (s != MAI_OK) {
        raise_mai(blob.buf, "blob rejected", s, &err);
    }
    if (self->arena == mp_const_none) {
        microai_model_obj_t *owner = live_arena_owner();
        if (owner != NULL) {
            owner->closed = MODEL_ARENA_TAKEN;
        }
        arena_owner = self;
        arena_owner_token = self->token;
    }
    return MP_OBJ_FROM_PTR(self);
}

// A writable memoryview of a model input or output, straight into the arena; a bit-packed
// (b1) one as its int32 words, as Larq Compute Engine holds them.
static mp_obj_t tensor_view(microai_model_obj_t *self, uint32_t t) {
    const mai_tensor *tensor = &self->m.tensors[t];
    byte typecode = tensor->storage == MAI_STORAGE_F32 ? 'f'
        : tensor->storage == MAI_STORAGE_S32 || tensor->storage == MAI_STORAGE_B1 ? 'i'
        : tensor->storage == MAI_STORAGE_S16 ? 'h' : 'b';
    size_t item = tensor->storage == MAI_STORAGE_S8 ? 1 : tensor->storage == MAI_STORAGE_S16 ? 2 : 4;
    return mp_obj_new_memoryview(typecode | MP_OBJ_ARRAY_TYPECODE_FLAG_RW, tensor->size / item,
        mai_tensor_data(&self->m, t));
}

static uint32_t io_tensor(microai_model_obj_t *self, mp_int_t i, bool input) {
    uint32_t t = input ? mai_input(&self->m, i) : mai_output(&self->m, i);
    if (i < 0 || t == MAI_NO_TENSOR) {
        mp_raise_msg_varg(&mp_type_IndexError, MP_ERROR_TEXT("model has %d %s(s); no %s %d"),
            input ? self->m.header->n_inputs : self->m.header->n_outputs,
            input ? "input" : "output", input ? "input" : "output", (int)i);
    }
    return t;
}

static mp_obj_t microai_model_input(size_t n_args, const mp_obj_t *args) {
    microai_model_obj_t *self = get_open(args[0]);
    mp_int_t i = n_args > 1 ? mp_obj_get_int(args[1]) : 0;
    return tensor_view(self, io_tensor(self, i, true));
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(microai_model_input_obj, 1, 2, microai_model_input);

static mp_obj_t microai_model_output(size_t n_args, const mp_obj_t *args) {
    microai_model_obj_t *self = get_open(args[0]);
    mp_int_t i = n_args > 1 ? mp_obj_get_int(args[1]) : 0;
    return tensor_view(self, io_tensor(self, i, false));
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(microai_model_output_obj, 1, 2, microai_model_output);

// Run ops [0, n): all of them for an inference, fewer to look at an intermediate.
static void invoke(microai_model_obj_t *self, uint32_t n) {
    mai_error err;
    microai_mark_begin();
    for (uint32_t i = 0; i < n; i++) {
        mai_status s = mai_invoke_op(&self->m, i, &err);
        if (s != MAI_OK) {
            raise_mai(self->m.blob, "invoke failed", s, &err);
        }
        microai_mark_layer();
    }
    microai_mark_end();
}

static mp_obj_t microai_model_invoke(mp_obj_t self_in) {
    microai_model_obj_t *self = get_open(self_in);
    invoke(self, self->m.header->n_ops);
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_1(microai_model_invoke_obj, microai_model_invoke);

// reset(): forget earlier invocations; every state tensor (an SVDF's memory) goes back to
// its zero point, as at load.
static mp_obj_t microai_model_reset(mp_obj_t self_in) {
    microai_model_obj_t *self = get_open(self_in);
    mai_reset(&self->m);
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_1(microai_model_reset_obj, microai_model_reset);

// run(x, layers=None): copy x into input 0, run the model and return a copy of output 0
// as bytes; with `layers`, run only the first `layers` ops and return a copy of the last
// one's output (to look at an intermediate tensor).
static mp_obj_t microai_model_run(size_t n_args, const mp_obj_t *args) {
    microai_model_obj_t *self = get_open(args[0]);
    mp_buffer_info_t x;
    mp_get_buffer_raise(args[1], &x, MP_BUFFER_READ);
    uint32_t in_t = io_tensor(self, 0, true);
    const mai_tensor *in = &self->m.tensors[in_t];
    if (x.len != in->size) {
        mp_raise_msg_varg(&mp_type_ValueError,
            MP_ERROR_TEXT("wrong input size: input 0 takes %u bytes, got %u"),
            (unsigned)in->size, (unsigned)x.len);
    }
    uint32_t n = self->m.header->n_ops;
    uint32_t t = io_tensor(self, 0, false);
    if (n_args > 2 && args[2] != mp_const_none) {
        mp_int_t k = mp_obj_get_int(args[2]);
        if (k < 1 || (uint32_t)k > n) {
            mp_raise_msg_varg(&mp_type_ValueError, MP_ERROR_TEXT("layers must be 1..%d"), (int)n);
        }
        n = k;
        const mai_op *op = &self->m.ops[n - 1];
        t = ((const uint16_t *)(self->m.blob + op->io_offset))[op->n_in];
    }
    // x may itself be a view into the arena (m.run(m.output())): memmove.
    memmove(mai_tensor_data(&self->m, in_t), x.buf, x.len);
    invoke(self, n);
    return mp_obj_new_bytes(mai_tensor_data(&self->m, t), self->m.tensors[t].size);
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(microai_model_run_obj, 2, 3, microai_model_run);

// ---- the OpenMV-style API: shapes, dtypes, scales, predict() ---------------------------

static const char *storage_dtype(uint8_t storage) {
    switch (storage) {
        case MAI_STORAGE_S8: return "int8";
        case MAI_STORAGE_S16: return "int16";
        case MAI_STORAGE_S32: return "int32";
        case MAI_STORAGE_F32: return "float32";
        case MAI_STORAGE_B1: return "b1";
    }
    return "?";
}

static mp_obj_t tensor_shape(const mai_tensor *t) {
    mp_obj_t dims[MAI_MAX_RANK];
    for (int i = 0; i < t->rank; i++) {
        dims[i] = MP_OBJ_NEW_SMALL_INT(t->dims[MAI_MAX_RANK - t->rank + i]);
    }
    return mp_obj_new_tuple(t->rank, dims);
}

// TFLite's QUANTIZE: x / scale in float32, rounded half away from zero, plus the zero
// point, saturated to int8 (exact without libm: the integer part, then the fraction).
static int8_t quantize_s8(float x, float scale, int32_t zero_point) {
    float v = x / scale;
    if (!(v > -1000.0f)) { // also NaN
        return v != v ? (int8_t)zero_point : INT8_MIN;
    }
    if (v > 1000.0f) {
        return INT8_MAX;
    }
    int32_t r = (int32_t)v;
    float frac = v - (float)r;
    r += frac >= 0.5f ? 1 : frac <= -0.5f ? -1 : 0;
    r += zero_point;
    return (int8_t)(r < INT8_MIN ? INT8_MIN : r > INT8_MAX ? INT8_MAX : r);
}

#if MICROPY_PY_BUILTINS_FLOAT
// predict()'s input, gathered as numpy.asarray(x) would see it: every value of x (a
// buffer, or nested lists, tuples and other iterables: a ulab array too), as floats,
// with whether any was a float and whether an integer fell outside int8.
typedef struct {
    float *v;
    size_t n, size;
    bool real, out_of_range;
} predict_input;

static void predict_put(predict_input *in, float v) {
    if (in->n < in->size) {
        in->v[in->n] = v;
    }
    in->n++;
}

static void predict_gather(predict_input *in, mp_obj_t x, int depth) {
    mp_buffer_info_t b;
    if (!mp_obj_is_str(x) && mp_get_buffer(x, &b, MP_BUFFER_READ)) {
        // A typed buffer (array, memoryview, a dense ulab array): its values.
        size_t item = mp_binary_get_size('@', b.typecode, NULL);
        for (size_t i = 0; i < b.len / item; i++) {
            if (b.typecode == 'f' || b.typecode == 'd') {
                float f;
                if (b.typecode == 'f') {
                    memcpy(&f, (const byte *)b.buf + i * 4, 4);
                } else {
                    double d;
                    memcpy(&d, (const byte *)b.buf + i * 8, 8);
                    f = (float)d;
                }
                in->real = true;
                predict_put(in, f);
            } else if (item == 1) { // bytes-like: int8 values as they are
                predict_put(in, (float)((const int8_t *)b.buf)[i]);
            } else {
                mp_obj_t v = mp_binary_get_val_array(b.typecode, b.buf, i);
                mp_int_t q = mp_obj_get_int_truncated(v);
                in->out_of_range |= q < INT8_MIN || q > INT8_MAX;
                predict_put(in, (float)q);
            }
        }
        return;
    }
    if (mp_obj_is_int(x)) {
        mp_int_t q = mp_obj_is_small_int(x) ? MP_OBJ_SMALL_INT_VALUE(x) : INT8_MAX + 1;
        in->out_of_range |= q < INT8_MIN || q > INT8_MAX;
        predict_put(in, (float)q);
        return;
    }
    if (mp_obj_is_float(x)) {
        in->real = true;
        predict_put(in, (float)mp_obj_get_float(x));
        return;
    }
    if (depth == MAI_MAX_RANK || mp_obj_is_str(x)) {
        mp_raise_ValueError(MP_ERROR_TEXT("predict(): bytes, int8 or float values"));
    }
    mp_obj_t iter = mp_getiter(x, NULL), item;
    while ((item = mp_iternext(iter)) != MP_OBJ_STOP_ITERATION) {
        predict_gather(in, item, depth + 1);
    }
}

// predict(x): x is the input's bytes (bytes, bytearray), int8 values as they are, or
// real values (floats: array('f'), lists, ulab arrays, nested to the input's shape or
// flat) quantized with the input's scale and zero point, as numpy.asarray(x) decides on
// the host; runs the model and returns output 0 as array('f') of real values when it has
// a scale, else as array('b').
static mp_obj_t microai_model_predict(mp_obj_t self_in, mp_obj_t x) {
    microai_model_obj_t *self = get_open(self_in);
    uint32_t in_t = io_tensor(self, 0, true), out_t = io_tensor(self, 0, false);
    const mai_tensor *in = &self->m.tensors[in_t], *out = &self->m.tensors[out_t];
    if (in->storage != MAI_STORAGE_S8 || out->storage != MAI_STORAGE_S8) {
        mp_raise_ValueError(MP_ERROR_TEXT("predict() takes int8 in and out; use run()"));
    }
    int8_t *dst = mai_tensor_data(&self->m, in_t);
    size_t n;
    if (mp_obj_is_type(x, &mp_type_bytes) || mp_obj_is_type(x, &mp_type_bytearray)) {
        mp_buffer_info_t b;
        mp_get_buffer_raise(x, &b, MP_BUFFER_READ);
        n = b.len;
        if (n == in->size) {
            memmove(dst, b.buf, n);
        }
    } else {
        predict_input g = { m_new(float, in->size), 0, in->size, false, false };
        predict_gather(&g, x, 0);
        n = g.n;
        if (g.real && n == in->size && !(in->scale > 0.0f)) {
            m_del(float, g.v, in->size);
            mp_raise_ValueError(MP_ERROR_TEXT("real inputs, but the input has no scale"));
        }
        if (!g.real && g.out_of_range) {
            m_del(float, g.v, in->size);
            mp_raise_ValueError(MP_ERROR_TEXT("predict(): bytes, int8 or float values"));
        }
        for (size_t i = 0; i < in->size && n == in->size; i++) {
            dst[i] = g.real ? quantize_s8(g.v[i], in->scale, in->zero_point) : (int8_t)g.v[i];
        }
        m_del(float, g.v, in->size);
    }
    if (n != in->size) {
        mp_raise_msg_varg(&mp_type_ValueError,
            MP_ERROR_TEXT("wrong input size: input 0 takes %u values, got %u"),
            (unsigned)in->size, (unsigned)n);
    }
    invoke(self, self->m.header->n_ops);
    const int8_t *y = mai_tensor_data(&self->m, out_t);
    if (!(out->scale > 0.0f)) {
        return mp_obj_new_bytearray(out->size, y); // no scale: the int8 values
    }
    // array('f', <the floats' bytes>): the array copies them.
    float *real = m_new(float, out->size);
    for (size_t i = 0; i < out->size; i++) {
        real[i] = (float)(y[i] - out->zero_point) * out->scale;
    }
    mp_obj_t args[2] = {
        MP_OBJ_NEW_QSTR(MP_QSTR_f), mp_obj_new_bytes((const byte *)real, out->size * sizeof(float))
    };
    m_del(float, real, out->size);
    return MP_OBJ_TYPE_GET_SLOT(&mp_type_array, make_new)(&mp_type_array, 2, 0, args);
}
static MP_DEFINE_CONST_FUN_OBJ_2(microai_model_predict_obj, microai_model_predict);
#endif

// profile() -> one inference op by op: a list of (op, kernel, cost, unit) named tuples,
// cost in `unit`: "cycles" (the DWT cycle counter), "ns" (QEMU's virtual time), or
// "none" (no counter: cost 0); microai.info()['cycles'] names the counter.
static mp_obj_t microai_model_profile(mp_obj_t self_in) {
    microai_model_obj_t *self = get_open(self_in);
    const uint32_t n = self->m.header->n_ops;
    mp_obj_t list = mp_obj_new_list(0, NULL);
    mai_error err;
    microai_cycles_init();
    const char *src = microai_cycles_source();
    mp_obj_t unit = mp_obj_new_str_from_cstr(strcmp(src, "dwt") == 0 ? "cycles"
        : strcmp(src, "none") == 0 ? "none" : "ns");
    static const qstr fields[] = { MP_QSTR_op, MP_QSTR_kernel, MP_QSTR_cost, MP_QSTR_unit };
    for (uint32_t i = 0; i < n; i++) {
        uint32_t t0 = microai_cycles();
        mai_status s = mai_invoke_op(&self->m, i, &err);
        uint32_t t1 = microai_cycles();
        if (s != MAI_OK) {
            raise_mai(self->m.blob, "invoke failed", s, &err);
        }
        const char *kernel = mai_kernel_name(self->m.ops[i].kernel);
        mp_obj_t row[4] = {
            mp_obj_new_str_from_cstr(op_type_name(self->m.ops[i].type)),
            mp_obj_new_str_from_cstr(kernel ? kernel : "?"),
            mp_obj_new_int_from_uint(t1 - t0),
            unit,
        };
        #if MICROPY_PY_ATTRTUPLE
        mp_obj_list_append(list, mp_obj_new_attrtuple(fields, 4, row));
        #else
        (void)fields;
        mp_obj_list_append(list, mp_obj_new_tuple(4, row));
        #endif
    }
    return list;
}
static MP_DEFINE_CONST_FUN_OBJ_1(microai_model_profile_obj, microai_model_profile);

static mp_obj_t microai_model_arena_info(mp_obj_t self_in) {
    microai_model_obj_t *self = get_open(self_in);
    const mai_header *h = self->m.header;
    mp_obj_t d = mp_obj_new_dict(6);
    mp_obj_dict_store(d, MP_OBJ_NEW_QSTR(MP_QSTR_arena_size), mp_obj_new_int_from_uint(self->m.arena_size));
    mp_obj_dict_store(d, MP_OBJ_NEW_QSTR(MP_QSTR_arena_used), mp_obj_new_int_from_uint(h->arena_size));
    mp_obj_dict_store(d, MP_OBJ_NEW_QSTR(MP_QSTR_arena_addr), mp_obj_new_int_from_uint((uintptr_t)self->m.arena));
    mp_obj_dict_store(d, MP_OBJ_NEW_QSTR(MP_QSTR_static), mp_obj_new_bool(self->arena == mp_const_none));
    mp_obj_dict_store(d, MP_OBJ_NEW_QSTR(MP_QSTR_blob_bytes), mp_obj_new_int_from_uint(h->total_size));
    mp_obj_dict_store(d, MP_OBJ_NEW_QSTR(MP_QSTR_n_ops), mp_obj_new_int_from_uint(h->n_ops));
    return d;
}
static MP_DEFINE_CONST_FUN_OBJ_1(microai_model_arena_info_obj, microai_model_arena_info);

static mp_obj_t microai_model_close(mp_obj_t self_in) {
    microai_model_obj_t *self = MP_OBJ_TO_PTR(self_in);
    self->closed = MODEL_CLOSED;
    if (live_arena_owner() == self) {
        arena_owner = NULL;
    }
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_1(microai_model_close_obj, microai_model_close);

// Attributes: input_shape, output_shape, input_dtype, output_dtype, input_scale,
// output_scale (None without one), input_zero_point, output_zero_point (of input and
// output 0); methods through the locals dict.
static void microai_model_attr(mp_obj_t self_in, qstr attr, mp_obj_t *dest) {
    if (dest[0] != MP_OBJ_NULL) {
        return; // no stores or deletes
    }
    bool input;
    switch (attr) {
        case MP_QSTR_input_shape: case MP_QSTR_input_dtype: case MP_QSTR_input_scale:
        case MP_QSTR_input_zero_point:
            input = true;
            break;
        case MP_QSTR_output_shape: case MP_QSTR_output_dtype: case MP_QSTR_output_scale:
        case MP_QSTR_output_zero_point:
            input = false;
            break;
        default:
            dest[1] = MP_OBJ_SENTINEL; // the locals dict
            return;
    }
    microai_model_obj_t *self = get_open(self_in);
    const mai_tensor *t = &self->m.tensors[io_tensor(self, 0, input)];
    switch (attr) {
        case MP_QSTR_input_shape: case MP_QSTR_output_shape:
            dest[0] = tensor_shape(t);
            break;
        case MP_QSTR_input_dtype: case MP_QSTR_output_dtype:
            dest[0] = mp_obj_new_str_from_cstr(storage_dtype(t->storage));
            break;
        case MP_QSTR_input_zero_point: case MP_QSTR_output_zero_point:
            dest[0] = MP_OBJ_NEW_SMALL_INT(t->zero_point);
            break;
        default:
            #if MICROPY_PY_BUILTINS_FLOAT
            dest[0] = t->scale > 0.0f ? mp_obj_new_float(t->scale) : mp_const_none;
            #else
            dest[0] = mp_const_none;
            #endif
            break;
    }
}

static const mp_rom_map_elem_t microai_model_locals_dict_table[] = {
    #if MICROPY_PY_BUILTINS_FLOAT
    { MP_ROM_QSTR(MP_QSTR_predict), MP_ROM_PTR(&microai_model_predict_obj) },
    #endif
    { MP_ROM_QSTR(MP_QSTR_invoke), MP_ROM_PTR(&microai_model_invoke_obj) },
    { MP_ROM_QSTR(MP_QSTR_reset), MP_ROM_PTR(&microai_model_reset_obj) },
    { MP_ROM_QSTR(MP_QSTR_input), MP_ROM_PTR(&microai_model_input_obj) },
    { MP_ROM_QSTR(MP_QSTR_output), MP_ROM_PTR(&microai_model_output_obj) },
    { MP_ROM_QSTR(MP_QSTR_run), MP_ROM_PTR(&microai_model_run_obj) },
    { MP_ROM_QSTR(MP_QSTR_profile), MP_ROM_PTR(&microai_model_profile_obj) },
    { MP_ROM_QSTR(MP_QSTR_arena_info), MP_ROM_PTR(&microai_model_arena_info_obj) },
    { MP_ROM_QSTR(MP_QSTR_close), MP_ROM_PTR(&microai_model_close_obj) },
};
static MP_DEFINE_CONST_DICT(microai_model_locals_dict, microai_model_locals_dict_table);

MP_DEFINE_CONST_OBJ_TYPE(
    microai_type_Model,
    MP_QSTR_Model,
    MP_TYPE_FLAG_NONE,
    make_new, microai_model_make_new,
    attr, microai_model_attr,
    locals_dict, &microai_model_locals_dict
    );
