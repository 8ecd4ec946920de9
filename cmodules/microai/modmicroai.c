// The microai MicroPython module: globals table and registration.
#include "py/runtime.h"
#include "py/objstr.h"

#include "microai_config.h"

// The one static tensor arena, sized per board (board.json "arena_bytes") and placed
// where the board says (the STM32F405 keeps it in a 64 KiB region of its own).
static uint8_t microai_arena[MICROAI_ARENA_SIZE] MICROAI_ARENA_ATTR;

MP_DEFINE_STR_OBJ(microai_version_obj, MICROAI_VERSION);

static void dict_store_str(mp_obj_t dict, qstr key, const char *value) {
    mp_obj_dict_store(dict, MP_OBJ_NEW_QSTR(key), mp_obj_new_str_from_cstr(value));
}

// info() -> dict describing this firmware: board, mcu, cpu, DSP path, static arena.
static mp_obj_t microai_info(void) {
    mp_obj_t dict = mp_obj_new_dict(7);
    mp_obj_dict_store(dict, MP_OBJ_NEW_QSTR(MP_QSTR_version), MP_OBJ_FROM_PTR(&microai_version_obj));
    dict_store_str(dict, MP_QSTR_board, MICROAI_BOARD_NAME);
    dict_store_str(dict, MP_QSTR_mcu, MICROAI_MCU_NAME);
    dict_store_str(dict, MP_QSTR_cpu, MICROAI_CPU_NAME);
    mp_obj_dict_store(dict, MP_OBJ_NEW_QSTR(MP_QSTR_dsp), mp_obj_new_bool(MICROAI_HAS_DSP));
    mp_obj_dict_store(dict, MP_OBJ_NEW_QSTR(MP_QSTR_arena_size), mp_obj_new_int_from_uint(sizeof(microai_arena)));
    mp_obj_dict_store(dict, MP_OBJ_NEW_QSTR(MP_QSTR_arena_addr), mp_obj_new_int_from_uint((uintptr_t)microai_arena));
    return dict;
}
static MP_DEFINE_CONST_FUN_OBJ_0(microai_info_obj, microai_info);

static const mp_rom_map_elem_t microai_module_globals_table[] = {
    { MP_ROM_QSTR(MP_QSTR___name__), MP_ROM_QSTR(MP_QSTR_microai) },
    { MP_ROM_QSTR(MP_QSTR___version__), MP_ROM_PTR(&microai_version_obj) },
    { MP_ROM_QSTR(MP_QSTR_info), MP_ROM_PTR(&microai_info_obj) },
    { MP_ROM_QSTR(MP_QSTR_HAS_DSP), MICROAI_HAS_DSP ? MP_ROM_TRUE : MP_ROM_FALSE },
};
static MP_DEFINE_CONST_DICT(microai_module_globals, microai_module_globals_table);

const mp_obj_module_t microai_user_cmodule = {
    .base = { &mp_type_module },
    .globals = (mp_obj_dict_t *)&microai_module_globals,
};

MP_REGISTER_MODULE(MP_QSTR_microai, microai_user_cmodule);
