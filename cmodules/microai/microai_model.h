// microai.Model: a blob loaded in place, run out of an arena.
#ifndef MICROAI_MODEL_H
#define MICROAI_MODEL_H

#include "py/obj.h"

extern const mp_obj_type_t microai_type_Model;

/// The static arena (board.json "arena_bytes") and its size.
uint8_t *microai_static_arena(size_t *size);

#endif // MICROAI_MODEL_H
