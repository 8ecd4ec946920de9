// Profiling: the instruction-count markers, the cycle counter, microai._spin and
// microai._cycles. What the numbers mean is documented in microai_profile.h.
#include "py/runtime.h"

#include "microai_profile.h"

// Cortex-M (M-profile): memory-mapped DWT and the QEMU substitutes below.
#if defined(__arm__) && defined(__ARM_ARCH_PROFILE) && __ARM_ARCH_PROFILE == 'M'
#define MICROAI_CORTEX_M (1)
#else
#define MICROAI_CORTEX_M (0)
#endif

// ---- markers ---------------------------------------------------------------------------
// On ARM each is one `bx lr`: the asm comments differ, so GCC's identical-code folding
// (-fipa-icf) cannot merge them, and GNU ld does not fold code: three distinct addresses
// for the plugin. Elsewhere (the unix port) each bumps its own volatile counter.
// `used` keeps them even where nothing calls them.

#if defined(__arm__)
#define MARK_BODY(i, name) __asm volatile ("@ " name ::: "memory")
#else
static volatile uint32_t mark_calls[3];
#define MARK_BODY(i, name) (mark_calls[i]++)
#endif

__attribute__((noinline, noclone, used)) void microai_mark_begin(void) {
    MARK_BODY(0, "microai_mark_begin");
}

__attribute__((noinline, noclone, used)) void microai_mark_layer(void) {
    MARK_BODY(1, "microai_mark_layer");
}

__attribute__((noinline, noclone, used)) void microai_mark_end(void) {
    MARK_BODY(2, "microai_mark_end");
}

// ---- cycle counter ---------------------------------------------------------------------

enum {
    SRC_UNSET,
    SRC_NONE,
    SRC_DWT,
    SRC_QEMU_TIM2,
    SRC_QEMU_CMSDK,
};

static uint8_t cycles_src = SRC_UNSET;

#if MICROAI_CORTEX_M

#define REG32(addr) (*(volatile uint32_t *)(addr))

// Debug Exception and Monitor Control Register and the DWT (ARMv7-M ARM, C1.6 and C1.8).
#define DEMCR REG32(0xE000EDFCu)
#define DEMCR_TRCENA (1u << 24)
#define DWT_CTRL REG32(0xE0001000u)
#define DWT_CTRL_CYCCNTENA (1u << 0)
#define DWT_CYCCNT REG32(0xE0001004u)
#define DWT_LAR REG32(0xE0001FB0u) // Cortex-M7: writes to the DWT need this unlocked

// STM32F2/F4 TIM2 counter (TIM2 at 0x40000000, CNT at 0x24). QEMU 7.2 clocks it at
// 1 GHz from the virtual clock and counts from reset, enabled or not.
#define TIM2_CNT REG32(0x40000024u)

// MPS2 CMSDK APB timer 0 (0x40000000): CTRL, VALUE (counts down at 25 MHz), RELOAD.
#define CMSDK_TIMER0_CTRL REG32(0x40000000u)
#define CMSDK_TIMER0_VALUE REG32(0x40000004u)
#define CMSDK_TIMER0_RELOAD REG32(0x40000008u)
#define CMSDK_NS_PER_TICK (40u) // 25 MHz

static uint32_t read_src(uint8_t src) {
    switch (src) {
        case SRC_DWT:
            return DWT_CYCCNT;
        #if defined(QEMU_SOC_STM32)
        case SRC_QEMU_TIM2:
            return TIM2_CNT;
        #endif
        #if defined(QEMU_SOC_MPS2)
        case SRC_QEMU_CMSDK:
            // Counting up in nanoseconds; modulo 2^32 this stays consistent across the
            // timer's wrap, so differences are right.
            return (0xFFFFFFFFu - CMSDK_TIMER0_VALUE) * CMSDK_NS_PER_TICK;
        #endif
        default:
            return 0;
    }
}

// Does src move over a short busy loop?
static bool src_counts(uint8_t src) {
    uint32_t t0 = read_src(src);
    for (volatile uint32_t i = 0; i < 1000; i++) {
    }
    return read_src(src) != t0;
}

static uint8_t pick_src(void) {
    DEMCR |= DEMCR_TRCENA;
    DWT_CYCCNT = 0;
    DWT_CTRL |= DWT_CTRL_CYCCNTENA;
    if (src_counts(SRC_DWT)) {
        return SRC_DWT;
    }
    // A Cortex-M7 may keep its DWT locked until the CoreSight lock access key is written.
    DWT_LAR = 0xC5ACCE55u;
    DWT_CTRL |= DWT_CTRL_CYCCNTENA;
    if (src_counts(SRC_DWT)) {
        return SRC_DWT;
    }
    #if defined(QEMU_SOC_STM32)
    if (src_counts(SRC_QEMU_TIM2)) {
        return SRC_QEMU_TIM2;
    }
    #endif
    #if defined(QEMU_SOC_MPS2)
    // Free-running, no interrupt: enable only (CTRL.EN), reload at 2^32 - 1.
    CMSDK_TIMER0_CTRL = 0;
    CMSDK_TIMER0_RELOAD = 0xFFFFFFFFu;
    CMSDK_TIMER0_VALUE = 0xFFFFFFFFu;
    CMSDK_TIMER0_CTRL = 1;
    if (src_counts(SRC_QEMU_CMSDK)) {
        return SRC_QEMU_CMSDK;
    }
    #endif
    return SRC_NONE;
}

#else

static uint32_t read_src(uint8_t src) {
    (void)src;
    return 0;
}

static uint8_t pick_src(void) {
    return SRC_NONE;
}

#endif // MICROAI_CORTEX_M

void microai_cycles_init(void) {
    if (cycles_src == SRC_UNSET) {
        cycles_src = pick_src();
    }
}

uint32_t microai_cycles(void) {
    if (cycles_src == SRC_UNSET) {
        microai_cycles_init();
    }
    return read_src(cycles_src);
}

const char *microai_cycles_source(void) {
    microai_cycles_init();
    switch (cycles_src) {
        case SRC_DWT:
            return "dwt";
        case SRC_QEMU_TIM2:
            return "qemu-tim2";
        case SRC_QEMU_CMSDK:
            return "qemu-cmsdk-timer";
        default:
            return "none";
    }
}

// ---- microai._spin(n) and microai._cycles() --------------------------------------------

// The loop both use: exactly two instructions per iteration on ARM, in ARM and Thumb
// state alike (`subs; bne`); a plain C loop elsewhere. count >= 1.
static inline __attribute__((always_inline)) void spin_loop(uint32_t count) {
    #if defined(__arm__)
    __asm volatile (
        "1: subs %0, %0, #1\n"
        "   bne 1b\n"
        : "+r" (count) : : "cc");
    #else
    for (volatile uint32_t i = count; i != 0; i--) {
    }
    #endif
}

static uint32_t spin_count(mp_obj_t n_in) {
    mp_int_t n = mp_obj_get_int(n_in);
    if (n < 1 || n > 0x7fffffff) {
        mp_raise_ValueError(MP_ERROR_TEXT("n must be 1 <= n < 2**31"));
    }
    return (uint32_t)n;
}

static mp_obj_t microai_spin(mp_obj_t n_in) {
    uint32_t count = spin_count(n_in);
    microai_mark_begin();
    spin_loop(count);
    microai_mark_end();
    return mp_const_none;
}
MP_DEFINE_CONST_FUN_OBJ_1(microai_spin_obj, microai_spin);

static mp_obj_t microai_cycles_fun(mp_obj_t n_in) {
    uint32_t count = spin_count(n_in);
    microai_cycles_init();
    uint32_t t0 = microai_cycles();
    spin_loop(count);
    uint32_t t1 = microai_cycles();
    mp_obj_t items[2] = {
        mp_obj_new_str_from_cstr(microai_cycles_source()),
        mp_obj_new_int_from_uint(t1 - t0),
    };
    return mp_obj_new_tuple(2, items);
}
MP_DEFINE_CONST_FUN_OBJ_1(microai_cycles_obj, microai_cycles_fun);
