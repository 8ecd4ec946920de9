// microai.Blob(n): n bytes on the heap that are written once, checked, then sealed.
//
// microai.Model runs a blob in place after checking it once, so the bytes must not
// change afterwards. A bytearray can (and can move when it grows); a sealed Blob
// cannot: its buffer is read-only to Python from the start (write() is the only way
// in, and only until seal()), so Model uses it in place with no copy. The serial
// upload fills one chunk by chunk, checks each chunk's CRC, and seals it when the
// whole CRC matches:
//
//     b = microai.Blob(n)
//     b.write(0, chunk0); b.crc32(0, len(chunk0))   # -> the chunk's CRC-32
//     ...
//     b.seal(crc)          # ValueError unless the CRC-32 of all n bytes is crc
//     m = microai.Model(b)
//
// or, over a serial console, b.receive(): framed binary chunks straight from the UART,
// so the REPL never sees upload bytes (see receive() below).
#include <string.h>

#include "py/gc.h"
#include "py/runtime.h"

#include "microai_blob.h"
#include "microai_serial.h"
#include "runtime/mai_exec.h"

typedef struct _microai_blob_obj_t {
    mp_obj_base_t base;
    uint8_t *mem;  // the heap block (the GC sees it through this pointer)
    uint8_t *data; // 16-byte aligned inside mem
    size_t len;
    bool sealed;
} microai_blob_obj_t;

static microai_blob_obj_t *blob_new(size_t n) {
    microai_blob_obj_t *self = mp_obj_malloc(microai_blob_obj_t, &microai_type_Blob);
    // Room for 16-byte alignment; after a collection if the heap is fragmented.
    size_t want = n + 15;
    uint8_t *mem = m_malloc_maybe(want);
    if (mem == NULL) {
        gc_collect();
        mem = m_malloc_maybe(want);
    }
    if (mem == NULL) {
        mp_raise_msg_varg(&mp_type_MemoryError,
            MP_ERROR_TEXT("no room for a %u-byte blob in the heap"), (unsigned)n);
    }
    self->mem = mem;
    self->data = mem + ((16 - ((uintptr_t)mem & 15)) & 15);
    self->len = n;
    self->sealed = false;
    memset(self->data, 0, n);
    return self;
}

mp_obj_t microai_blob_copy(const void *data, size_t n) {
    microai_blob_obj_t *self = blob_new(n);
    memcpy(self->data, data, n);
    self->sealed = true;
    return MP_OBJ_FROM_PTR(self);
}

bool microai_blob_is_sealed(mp_obj_t obj) {
    return mp_obj_is_type(obj, &microai_type_Blob)
           && ((microai_blob_obj_t *)MP_OBJ_TO_PTR(obj))->sealed;
}

static mp_obj_t microai_blob_make_new(const mp_obj_type_t *type, size_t n_args, size_t n_kw,
    const mp_obj_t *args) {
    mp_arg_check_num(n_args, n_kw, 1, 1, false);
    mp_int_t n = mp_obj_get_int(args[0]);
    if (n < 0 || n > 0x7fffffff) {
        mp_raise_ValueError(MP_ERROR_TEXT("a blob has 0 to 2^31 - 1 bytes"));
    }
    return MP_OBJ_FROM_PTR(blob_new((size_t)n));
}

// [offset, offset + n) inside the blob, or ValueError naming the range.
static void check_range(microai_blob_obj_t *self, mp_int_t offset, mp_int_t n) {
    if (offset < 0 || n < 0 || (size_t)offset > self->len || (size_t)n > self->len - offset) {
        mp_raise_msg_varg(&mp_type_ValueError,
            MP_ERROR_TEXT("bytes %d..%d are outside the %u-byte blob"), (int)offset,
            (int)(offset + n), (unsigned)self->len);
    }
}

// write(offset, data): copy data into the blob at offset (only before seal()).
static mp_obj_t microai_blob_write(mp_obj_t self_in, mp_obj_t offset_in, mp_obj_t data_in) {
    microai_blob_obj_t *self = MP_OBJ_TO_PTR(self_in);
    if (self->sealed) {
        mp_raise_msg(&mp_type_OSError, MP_ERROR_TEXT("blob is sealed: it cannot change"));
    }
    mp_buffer_info_t data;
    mp_get_buffer_raise(data_in, &data, MP_BUFFER_READ);
    mp_int_t offset = mp_obj_get_int(offset_in);
    check_range(self, offset, data.len);
    memmove(self->data + offset, data.buf, data.len);
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_3(microai_blob_write_obj, microai_blob_write);

// crc32(offset=0, n=len - offset): CRC-32 (as binascii.crc32) of a range.
static mp_obj_t microai_blob_crc32(size_t n_args, const mp_obj_t *args) {
    microai_blob_obj_t *self = MP_OBJ_TO_PTR(args[0]);
    mp_int_t offset = n_args > 1 ? mp_obj_get_int(args[1]) : 0;
    mp_int_t n = n_args > 2 ? mp_obj_get_int(args[2]) : (mp_int_t)self->len - offset;
    check_range(self, offset, n);
    return mp_obj_new_int_from_uint(mai_crc32(0, self->data + offset, n));
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(microai_blob_crc32_obj, 1, 3, microai_blob_crc32);

// seal(crc): the blob becomes read-only for good, if its whole CRC-32 is crc.
static mp_obj_t microai_blob_seal(mp_obj_t self_in, mp_obj_t crc_in) {
    microai_blob_obj_t *self = MP_OBJ_TO_PTR(self_in);
    uint32_t want = mp_obj_get_int_truncated(crc_in);
    uint32_t got = mai_crc32(0, self->data, self->len);
    if (got != want) {
        mp_raise_msg_varg(&mp_type_ValueError,
            MP_ERROR_TEXT("blob CRC-32 is %u, expected %u: not sealed"), (unsigned)got,
            (unsigned)want);
    }
    self->sealed = true;
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_2(microai_blob_seal_obj, microai_blob_seal);

// ---- receive(): chunks framed for a faulty serial line -------------------------------
//
// The host (host/microai/device/upload.py) sends frames, each ended by a 0x00 byte:
//
//     type (1) | offset (u32 LE) | data (0..RX_DATA_MAX) | CRC-32 of all before (u32 LE)
//
// type 'W' writes data at offset, 'E' ends the session. Inside a frame the bytes 0x00
// to 0x05 and DLE (0x10) go as DLE, byte ^ 0x20: no control character of the REPL is
// ever on the line, a raw 0x00 only ends frames, and a raw Ctrl-C (0x03) stops the
// receiver and gives the REPL back (the host's recovery starts with Ctrl-C). For each
// frame the board answers one token on stdout,
//
//     <K oooooooo cccccccc>     written at offset o      (c: CRC-32 of "K oooooooo")
//     <N 00000000 cccccccc>     damaged or out of range: send it again
//     <E nnnnnnnn cccccccc>     session ended (n: the blob's length)
//
// and <R ...> once when it starts listening. A lost byte shortens a frame, a lost 0x00
// merges two: the CRC fails either way and the frame is sent again. Writes are
// idempotent; seal() checks the whole blob at the end.
#define RX_DATA_MAX (4096)
#define RX_FRAME_MAX (1 + 4 + RX_DATA_MAX + 4)
#define RX_DLE (0x10)

#if MICROAI_SERIAL
static uint32_t get_le32(const uint8_t *p) {
    return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

// Acts on one frame; true when it ends the session.
static bool rx_frame(microai_blob_obj_t *self, const uint8_t *f, size_t n) {
    if (n < 9 || n > RX_FRAME_MAX || get_le32(f + n - 4) != mai_crc32(0, f, n - 4)) {
        microai_serial_answer('N', 0);
        return false;
    }
    uint32_t offset = get_le32(f + 1);
    size_t len = n - 9;
    if (f[0] == 'E' && len == 0) {
        microai_serial_answer('E', self->len);
        return true;
    }
    if (f[0] != 'W' || len == 0 || offset > self->len || len > self->len - offset) {
        microai_serial_answer('N', 0);
        return false;
    }
    memcpy(self->data + offset, f + 5, len);
    microai_serial_answer('K', offset);
    return false;
}
#endif

// receive(): take frames (above) until the host ends the session (True) or sends a
// Ctrl-C between frames (False). Waits for bytes as the REPL does: for ever.
static mp_obj_t microai_blob_receive(mp_obj_t self_in) {
    microai_blob_obj_t *self = MP_OBJ_TO_PTR(self_in);
    if (self->sealed) {
        mp_raise_msg(&mp_type_OSError, MP_ERROR_TEXT("blob is sealed: it cannot change"));
    }
    #if MICROAI_SERIAL
    uint8_t *frame = m_new(uint8_t, RX_FRAME_MAX + 1);
    size_t n = 0;
    bool escaped = false, ended = false;
    microai_serial_answer('R', self->len);
    for (;;) {
        int c = microai_serial_rx();
        if (c < 0) {
            continue;
        }
        if (c == 0x03) {
            break;
        }
        if (c == 0x00) {
            if (n > 0 && rx_frame(self, frame, n)) {
                ended = true;
                break;
            }
            n = 0;
            escaped = false;
            continue;
        }
        if (c == RX_DLE) {
            escaped = true;
            continue;
        }
        if (escaped) {
            c ^= 0x20;
            escaped = false;
        }
        if (n <= RX_FRAME_MAX) { // one byte over marks the frame too long
            frame[n++] = c;
        }
    }
    m_del(uint8_t, frame, RX_FRAME_MAX + 1);
    return mp_obj_new_bool(ended);
    #else
    mp_raise_msg(&mp_type_OSError, MP_ERROR_TEXT("receive() needs a serial console"));
    #endif
}
static MP_DEFINE_CONST_FUN_OBJ_1(microai_blob_receive_obj, microai_blob_receive);

static mp_obj_t microai_blob_unary_op(mp_unary_op_t op, mp_obj_t self_in) {
    microai_blob_obj_t *self = MP_OBJ_TO_PTR(self_in);
    if (op == MP_UNARY_OP_LEN) {
        return MP_OBJ_NEW_SMALL_INT(self->len);
    }
    return MP_OBJ_NULL;
}

// Read-only to Python: memoryview(b), bytes(b), binascii.crc32(b) work; writes do not.
static mp_int_t microai_blob_get_buffer(mp_obj_t self_in, mp_buffer_info_t *bufinfo,
    mp_uint_t flags) {
    microai_blob_obj_t *self = MP_OBJ_TO_PTR(self_in);
    if (flags & MP_BUFFER_WRITE) {
        return 1;
    }
    bufinfo->buf = self->data;
    bufinfo->len = self->len;
    bufinfo->typecode = 'B';
    return 0;
}

static void microai_blob_attr(mp_obj_t self_in, qstr attr, mp_obj_t *dest) {
    if (dest[0] == MP_OBJ_NULL && attr == MP_QSTR_sealed) {
        dest[0] = mp_obj_new_bool(((microai_blob_obj_t *)MP_OBJ_TO_PTR(self_in))->sealed);
        return;
    }
    dest[1] = MP_OBJ_SENTINEL; // continue lookup in locals_dict
}

static const mp_rom_map_elem_t microai_blob_locals_dict_table[] = {
    { MP_ROM_QSTR(MP_QSTR_write), MP_ROM_PTR(&microai_blob_write_obj) },
    { MP_ROM_QSTR(MP_QSTR_crc32), MP_ROM_PTR(&microai_blob_crc32_obj) },
    { MP_ROM_QSTR(MP_QSTR_seal), MP_ROM_PTR(&microai_blob_seal_obj) },
    { MP_ROM_QSTR(MP_QSTR_receive), MP_ROM_PTR(&microai_blob_receive_obj) },
};
static MP_DEFINE_CONST_DICT(microai_blob_locals_dict, microai_blob_locals_dict_table);

MP_DEFINE_CONST_OBJ_TYPE(
    microai_type_Blob,
    MP_QSTR_Blob,
    MP_TYPE_FLAG_NONE,
    make_new, microai_blob_make_new,
    unary_op, microai_blob_unary_op,
    buffer, microai_blob_get_buffer,
    attr, microai_blob_attr,
    locals_dict, &microai_blob_locals_dict
    );
