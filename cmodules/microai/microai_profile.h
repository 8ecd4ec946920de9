// Instruction-count markers and the cycle counter behind Model.profile().
#ifndef MICROAI_PROFILE_H
#define MICROAI_PROFILE_H

#include <stdint.h>

#include "py/obj.h"

void microai_mark_begin(void);
void microai_mark_layer(void);
void microai_mark_end(void);
void microai_cycles_init(void);
uint32_t microai_cycles(void);
const char *microai_cycles_source(void);
MP_DECLARE_CONST_FUN_OBJ_1(microai_spin_obj);

#endif // MICROAI_PROFILE_H
