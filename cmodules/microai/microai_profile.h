// microai profiling: instruction-count markers for the QEMU plugin, and a cycle counter.
//
// Two ways to measure what the code costs, both deterministic:
//
// 1. Markers, for the emulated boards. microai_mark_begin(), microai_mark_layer() and
//    microai_mark_end() do nothing on the board. The host reads their addresses from the
//    firmware ELF and hands them to microai's QEMU plugin (firmware/qemu-plugin/
//    maicount.c), which counts every guest instruction and, at each call, writes
//
//        invoke seq=<n> total=<T> layers=<n1>,<n2>,...
//
//    where T is the number of instructions executed from the first instruction of
//    microai_mark_begin() up to (not including) the first instruction of
//    microai_mark_end(), and n_i the instructions from the previous mark (begin or
//    layer) to the i-th microai_mark_layer(). The caller's own `bl` to each marker and
//    the marker's `bx lr` are part of the numbers: a few instructions per mark, constant
//    (host/microai/device/icount.py measures them with microai._spin()).
//    Put begin before an invoke, a layer mark after each layer, end after the invoke.
//
// 2. microai_cycles(), for Model.profile() on any board: a free-running 32-bit counter
//    read in a few instructions; differences of two reads (unsigned, modulo 2^32) give
//    the cost of what ran between them. What one unit is depends on the source picked
//    by microai_cycles_init() and named by microai_cycles_source():
//
//    - "dwt": the DWT cycle counter (DWT_CYCCNT) of a real Cortex-M3/M4/M7: one unit is
//      one core clock cycle. Picked when DWT_CYCCNT counts after enabling it (DEMCR.TRCENA,
//      DWT_CTRL.CYCCNTENA). QEMU 7.2 implements no DWT: DEMCR, DWT_CTRL, DWT_CYCCNT
//      and DWT_LAR read as zero and ignore writes (privileged access to the unassigned
//      PPB), so the check fails there and a substitute is used:
//    - "qemu-tim2": on the emulated STM32F205/F405 (QEMU machines netduino2,
//      netduinoplus2), TIM2's counter, which QEMU 7.2 clocks at 1 GHz from its virtual
//      clock: one unit is one nanosecond of virtual time. Under `-icount shift=0` (which
//      host/microai/device/icount.py adds) QEMU advances virtual time by exactly 1 ns per
//      guest instruction, so one unit is one executed instruction, deterministically.
//    - "qemu-cmsdk-timer": on mps2-an500 (QEMU_M7), CMSDK APB timer 0, which counts at
//      the 25 MHz system clock; the value is scaled by 40 so one unit is again one
//      nanosecond of virtual time = one instruction under -icount shift=0, at a
//      resolution of 40 instructions.
//    - "none": no counter (the unix port, or a board with none of the above): always 0.
//
//    Without -icount, QEMU's virtual clock follows the host's clock and the qemu-*
//    numbers are host nanoseconds, not a cost. SysTick is not used: it is 24 bits wide
//    and QEMU 7.2 clocks it at the modelled core clock (168 MHz netduinoplus2, 120 MHz
//    netduino2, 25 MHz mps2-an500) or refclk (core/8; 1 MHz on mps2), so under
//    -icount shift=0 it ticks only every 6, 8 or 40 instructions.
//
// Neither touches interrupts: nothing is enabled that could fire.
#ifndef MICROAI_PROFILE_H
#define MICROAI_PROFILE_H

#include <stdint.h>

#include "py/obj.h"

// Markers for the instruction-counting QEMU plugin. Never inlined, kept, distinct.
void microai_mark_begin(void);
void microai_mark_layer(void);
void microai_mark_end(void);

// Pick and start the cycle source (idempotent; microai_cycles() calls it once itself).
void microai_cycles_init(void);
// The counter now; see above for what one unit is.
uint32_t microai_cycles(void);
// "dwt", "qemu-tim2", "qemu-cmsdk-timer" or "none" (initialises if needed).
const char *microai_cycles_source(void);

// microai._spin(n): microai_mark_begin(), a loop of n iterations of exactly two
// instructions on ARM (`subs; bne`), microai_mark_end(); 1 <= n < 2**31. For validating
// the instruction counts: the plugin's total is 2 * n + a constant. Returns None.
MP_DECLARE_CONST_FUN_OBJ_1(microai_spin_obj);

// microai._cycles(n) -> (source, count): the same loop of n iterations between two
// reads of microai_cycles(), without markers; source is microai_cycles_source() and
// count the difference of the reads. For tests of the cycle source: under QEMU with
// -icount shift=0, _cycles(n + k)[1] - _cycles(n)[1] == 2 * k (to 40 on mps2-an500).
MP_DECLARE_CONST_FUN_OBJ_1(microai_cycles_obj);

#endif // MICROAI_PROFILE_H
