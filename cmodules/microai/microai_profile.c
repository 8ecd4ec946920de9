// PLACEHOLDER until the profiling work lands (markers only; cycles read 0).
#include "py/runtime.h"
#include "microai_profile.h"

static volatile uint32_t marks[3];
void __attribute__((noinline, used)) microai_mark_begin(void) { marks[0]++; }
void __attribute__((noinline, used)) microai_mark_layer(void) { marks[1]++; }
void __attribute__((noinline, used)) microai_mark_end(void) { marks[2]++; }
void microai_cycles_init(void) {}
uint32_t microai_cycles(void) { return 0; }
const char *microai_cycles_source(void) { return "none"; }
static mp_obj_t microai_spin(mp_obj_t n) { (void)n; return mp_const_none; }
MP_DEFINE_CONST_FUN_OBJ_1(microai_spin_obj, microai_spin);
