// The microai MicroPython module: globals table and registration.
#include "py/runtime.h"
#include "py/objstr.h"

#include "microai_blob.h"
#include "microai_serial.h"
#include "microai_config.h"
#include "microai_frozen.h"
#include "microai_kernels.h"
#include "microai_model.h"
#include "microai_profile.h"

MP_DEFINE_STR_OBJ(microai_version_obj, MICROAI_VERSION);

static void dict_store_str(mp_obj_t dict, qstr key, const char *value) {
    mp_obj_dict_store(dict, MP_OBJ_NEW_QSTR(key), mp_obj_new_str_from_cstr(value));
}

// info() -> dict describing this firmware: board, mcu, cpu, DSP path, static arena,
// and the source of Model.profile()'s counts.
static mp_obj_t microai_info(void) {
    size_t arena_size;
    uint8_t *arena = microai_static_arena(&arena_size);
    mp_obj_t dict = mp_obj_new_dict(8);
    mp_obj_dict_store(dict, MP_OBJ_NEW_QSTR(MP_QSTR_version), MP_OBJ_FROM_PTR(&microai_version_obj));
    dict_store_str(dict, MP_QSTR_board, MICROAI_BOARD_NAME);
    dict_store_str(dict, MP_QSTR_mcu, MICROAI_MCU_NAME);
    dict_store_str(dict, MP_QSTR_cpu, MICROAI_CPU_NAME);
    mp_obj_dict_store(dict, MP_OBJ_NEW_QSTR(MP_QSTR_dsp), mp_obj_new_bool(MICROAI_HAS_DSP));
    mp_obj_dict_store(dict, MP_OBJ_NEW_QSTR(MP_QSTR_arena_size), mp_obj_new_int_from_uint(arena_size));
    mp_obj_dict_store(dict, MP_OBJ_NEW_QSTR(MP_QSTR_arena_addr), mp_obj_new_int_from_uint((uintptr_t)arena));
    dict_store_str(dict, MP_QSTR_cycles, microai_cycles_source());
    return dict;
}
static MP_DEFINE_CONST_FUN_OBJ_0(microai_info_obj, microai_info);

// frozen() -> dict of the blobs frozen into this firmware: name -> read-only memoryview
// of the blob in flash (pass it to Model: nothing is copied).
static mp_obj_t microai_frozen(void) {
    mp_obj_t dict = mp_obj_new_dict(microai_frozen_count);
    for (size_t i = 0; i < microai_frozen_count; i++) {
        const microai_frozen_t *f = &microai_frozen_models[i];
        mp_obj_dict_store(dict, mp_obj_new_str_from_cstr(f->name),
            mp_obj_new_memoryview('B', f->size, (void *)f->blob));
    }
    return dict;
}
static MP_DEFINE_CONST_FUN_OBJ_0(microai_frozen_obj, microai_frozen);

static const mp_rom_map_elem_t microai_module_globals_table[] = {
    { MP_ROM_QSTR(MP_QSTR___name__), MP_ROM_QSTR(MP_QSTR_microai) },
    { MP_ROM_QSTR(MP_QSTR___version__), MP_ROM_PTR(&microai_version_obj) },
    { MP_ROM_QSTR(MP_QSTR_info), MP_ROM_PTR(&microai_info_obj) },
    { MP_ROM_QSTR(MP_QSTR_Model), MP_ROM_PTR(&microai_type_Model) },
    { MP_ROM_QSTR(MP_QSTR_Blob), MP_ROM_PTR(&microai_type_Blob) },
    { MP_ROM_QSTR(MP_QSTR_frozen), MP_ROM_PTR(&microai_frozen_obj) },
    #if MICROAI_HAS_KERNEL_API
    { MP_ROM_QSTR(MP_QSTR_conv2d), MP_ROM_PTR(&microai_conv2d_obj) },
    { MP_ROM_QSTR(MP_QSTR_depthwise_conv2d), MP_ROM_PTR(&microai_depthwise_conv2d_obj) },
    { MP_ROM_QSTR(MP_QSTR_fully_connected), MP_ROM_PTR(&microai_fully_connected_obj) },
    #endif
    { MP_ROM_QSTR(MP_QSTR__spin), MP_ROM_PTR(&microai_spin_obj) },
    { MP_ROM_QSTR(MP_QSTR__cycles), MP_ROM_PTR(&microai_cycles_obj) },
    { MP_ROM_QSTR(MP_QSTR__drain), MP_ROM_PTR(&microai_drain_obj) },
    { MP_ROM_QSTR(MP_QSTR_HAS_DSP), MICROAI_HAS_DSP ? MP_ROM_TRUE : MP_ROM_FALSE },
    { MP_ROM_QSTR(MP_QSTR_HAS_KERNEL_API), MICROAI_HAS_KERNEL_API ? MP_ROM_TRUE : MP_ROM_FALSE },
};
static MP_DEFINE_CONST_DICT(microai_module_globals, microai_module_globals_table);

const mp_obj_module_t microai_user_cmodule = {
    .base = { &mp_type_module },
    .globals = (mp_obj_dict_t *)&microai_module_globals,
};

MP_REGISTER_MODULE(MP_QSTR_microai, microai_user_cmodule);
