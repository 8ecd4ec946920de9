// A small filesystem for the emulated boards: a RAM block device (microai.RAMDisk) with
// LittleFS on it, mounted at "/" by every mp_init() (MICROPY_PORT_INIT_FUNC, set by the
// QEMU boards' mpconfigboard.mk), so that `mpremote cp` and `ls` work there.
//
// The disk lives in .bss, which a soft reset does not clear: files stay from one
// mpremote session to the next, and are lost only when QEMU stops. The first mount
// finds no filesystem and makes one. Real boards keep their port's own flash filesystem:
// this file compiles to nothing without MICROAI_RAMFS_BYTES.
#include "py/runtime.h"
#include "py/mperrno.h"

#if defined(MICROAI_RAMFS_BYTES) && MICROAI_RAMFS_BYTES > 0 && MICROPY_VFS_LFS2

#include "extmod/vfs.h"
#include "extmod/vfs_lfs.h"
#include "py/mphal.h"

// LittleFS dates each file; the qemu port has no clock, so files are dated at the epoch.
uint64_t mp_hal_time_ns(void) {
    return 0;
}

#define RAMFS_BLOCK (128)
#define RAMFS_BLOCKS (MICROAI_RAMFS_BYTES / RAMFS_BLOCK)

static uint8_t microai_ramfs[RAMFS_BLOCKS * RAMFS_BLOCK] __attribute__((aligned(4)));

typedef struct {
    mp_obj_base_t base;
} microai_ramdisk_obj_t;

// The byte range [block * RAMFS_BLOCK + offset, + len) inside the disk, else an OSError.
static uint8_t *ramdisk_at(mp_obj_t block_in, mp_obj_t offset_in, size_t len) {
    mp_int_t block = mp_obj_get_int(block_in);
    mp_int_t offset = offset_in == MP_OBJ_NULL ? 0 : mp_obj_get_int(offset_in);
    if (block < 0 || block >= RAMFS_BLOCKS || offset < 0
        || (size_t)offset > sizeof(microai_ramfs) - (size_t)block * RAMFS_BLOCK
        || len > sizeof(microai_ramfs) - (size_t)block * RAMFS_BLOCK - (size_t)offset) {
        mp_raise_OSError(MP_EIO);
    }
    return microai_ramfs + (size_t)block * RAMFS_BLOCK + (size_t)offset;
}

// readblocks(block, buf[, offset])
static mp_obj_t ramdisk_readblocks(size_t n_args, const mp_obj_t *args) {
    mp_buffer_info_t b;
    mp_get_buffer_raise(args[2], &b, MP_BUFFER_WRITE);
    memcpy(b.buf, ramdisk_at(args[1], n_args > 3 ? args[3] : MP_OBJ_NULL, b.len), b.len);
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(ramdisk_readblocks_obj, 3, 4, ramdisk_readblocks);

// writeblocks(block, buf[, offset])
static mp_obj_t ramdisk_writeblocks(size_t n_args, const mp_obj_t *args) {
    mp_buffer_info_t b;
    mp_get_buffer_raise(args[2], &b, MP_BUFFER_READ);
    memcpy(ramdisk_at(args[1], n_args > 3 ? args[3] : MP_OBJ_NULL, b.len), b.buf, b.len);
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(ramdisk_writeblocks_obj, 3, 4, ramdisk_writeblocks);

static mp_obj_t ramdisk_ioctl(mp_obj_t self, mp_obj_t op_in, mp_obj_t arg) {
    switch (mp_obj_get_int(op_in)) {
        case MP_BLOCKDEV_IOCTL_BLOCK_COUNT:
            return MP_OBJ_NEW_SMALL_INT(RAMFS_BLOCKS);
        case MP_BLOCKDEV_IOCTL_BLOCK_SIZE:
            return MP_OBJ_NEW_SMALL_INT(RAMFS_BLOCK);
        case MP_BLOCKDEV_IOCTL_BLOCK_ERASE:
            memset(ramdisk_at(arg, MP_OBJ_NULL, RAMFS_BLOCK), 0xff, RAMFS_BLOCK);
            return MP_OBJ_NEW_SMALL_INT(0);
        default: // init, deinit, sync: nothing to do in RAM
            return MP_OBJ_NEW_SMALL_INT(0);
    }
}
static MP_DEFINE_CONST_FUN_OBJ_3(ramdisk_ioctl_obj, ramdisk_ioctl);

static const mp_rom_map_elem_t ramdisk_locals_table[] = {
    { MP_ROM_QSTR(MP_QSTR_readblocks), MP_ROM_PTR(&ramdisk_readblocks_obj) },
    { MP_ROM_QSTR(MP_QSTR_writeblocks), MP_ROM_PTR(&ramdisk_writeblocks_obj) },
    { MP_ROM_QSTR(MP_QSTR_ioctl), MP_ROM_PTR(&ramdisk_ioctl_obj) },
};
static MP_DEFINE_CONST_DICT(ramdisk_locals, ramdisk_locals_table);

MP_DEFINE_CONST_OBJ_TYPE(microai_type_ramdisk, MP_QSTR_RAMDisk, MP_TYPE_FLAG_NONE,
    locals_dict, &ramdisk_locals);

const microai_ramdisk_obj_t microai_ramdisk = { { &microai_type_ramdisk } };

// Mount the disk at "/", making the filesystem first if there is none. A failure leaves
// the board without a filesystem, as before, and says so on the console.
void microai_ramfs_init(void) {
    nlr_buf_t nlr;
    if (nlr_push(&nlr) == 0) {
        mp_obj_t bdev = MP_OBJ_FROM_PTR(&microai_ramdisk);
        mp_obj_t type = MP_OBJ_FROM_PTR(&mp_type_vfs_lfs2);
        mp_obj_t vfs;
        nlr_buf_t first;
        if (nlr_push(&first) == 0) {
            vfs = mp_call_function_1(type, bdev);
            nlr_pop();
        } else { // no filesystem yet (a fresh QEMU): make one
            mp_call_function_1(mp_load_attr(type, MP_QSTR_mkfs), bdev);
            vfs = mp_call_function_1(type, bdev);
        }
        mp_obj_t args[2] = { vfs, MP_OBJ_NEW_QSTR(MP_QSTR__slash_) };
        mp_vfs_mount(2, args, (mp_map_t *)&mp_const_empty_map);
        nlr_pop();
    } else {
        mp_printf(&mp_plat_print, "microai: no RAM filesystem: ");
        mp_obj_print_exception(&mp_plat_print, MP_OBJ_FROM_PTR(nlr.ret_val));
    }
}

#endif
