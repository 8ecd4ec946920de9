// microai nn: the one DSP switch and the Cortex-M DSP instructions the kernels use
// (ARMv7E-M: Cortex-M4, M7), with bit-exact C versions of them, so that the DSP-shaped
// loops also run on the host.
//
// - MICROAI_HAS_DSP: the target has the DSP instructions (the compiler's
//   __ARM_FEATURE_DSP). microai_config.h takes it from here (microai.HAS_DSP); a build may
//   set it to 0 to get the Cortex-M3 loops on a Cortex-M4, never to 1 on a core without.
// - MICROAI_DSP_EMULATE=1 (a host compiler flag): the DSP-shaped loops with the
//   instructions below written in C, so that host tests run those loops too.
// - NN_DSP: the one switch the kernels test, 1 when they take their DSP-shaped loops
//   (real or emulated instructions). Each kernel file tests it once.
// - NN_DSP_ASM: 1 when the helpers are the instructions themselves (for hand-written
//   assembly of the same loops, nn_dot.h).
#ifndef MICROAI_NN_DSP_H
#define MICROAI_NN_DSP_H

#include <stdint.h>
#include <string.h>

/// For helpers that must be inlined (into every kernel's output tail, or to be
/// specialized by constant flags), whatever the compiler's size heuristics say.
#ifndef NN_ALWAYS_INLINE
#if defined(__GNUC__)
#define NN_ALWAYS_INLINE static inline __attribute__((always_inline))
#else
#define NN_ALWAYS_INLINE static inline
#endif
#endif

/// For the host engine's hottest kernels on x86-64: compiled twice, for the baseline
/// and for AVX2 (wider multiply-adds), the one the CPU has picked at load time (GCC's
/// function multi-versioning). Nothing on Cortex-M.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && defined(__linux__)
#define NN_HOST_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define NN_HOST_CLONES
#endif

#ifndef MICROAI_HAS_DSP
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
#define MICROAI_HAS_DSP (1)
#else
#define MICROAI_HAS_DSP (0)
#endif
#endif

#if MICROAI_HAS_DSP && !(defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP)
#error "MICROAI_HAS_DSP=1 needs a DSP core; use MICROAI_DSP_EMULATE=1 on the host"
#endif

#ifndef MICROAI_DSP_EMULATE
#define MICROAI_DSP_EMULATE (0)
#endif

#define NN_DSP (MICROAI_HAS_DSP || MICROAI_DSP_EMULATE)
#define NN_DSP_ASM (MICROAI_HAS_DSP && !MICROAI_DSP_EMULATE)

/// Four bytes at p (any alignment) as one word, byte 0 lowest. memcpy keeps it defined
/// C; the compiler makes it one LDR (unaligned LDR is allowed on ARMv7-M normal memory).
static inline uint32_t nn_read_u32(const void *p) {
    uint32_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}

/// acc + a * b, wrapping as the reference's int32 accumulators do (an MLA; a * b itself
/// must fit: int8 by int16 products always do).
static inline int32_t nn_mac(int32_t acc, int32_t a, int32_t b) {
    return (int32_t)((uint32_t)acc + (uint32_t)(a * b));
}

#if NN_DSP_ASM
#include <arm_acle.h>

// Each helper is the form that gave the fewest instructions per inference on the F405
// (microai hil): plain asm for SXTB16 (GCC 12 schedules __sxtb16 worse in the depthwise
// row fill), volatile asm for SMLABB/SMLATT (their fixed order keeps the 3x3 depthwise
// tap loop from spilling), ACLE where GCC does as well.

/// Bytes 0 and 2 of x, sign-extended to the two halfwords.
static inline uint32_t nn_sxtb16(uint32_t x) {
    uint32_t r;
    __asm__ ("sxtb16 %0, %1" : "=r" (r) : "r" (x));
    return r;
}

/// Bytes 1 and 3 of x, sign-extended to the two halfwords (SXTB16 with ROR #8, which
/// GCC does not form from __sxtb16(__ror(x, 8))).
static inline uint32_t nn_sxtb16_ror8(uint32_t x) {
    uint32_t r;
    __asm__ ("sxtb16 %0, %1, ror #8" : "=r" (r) : "r" (x));
    return r;
}

/// a + bytes 0 and 2 of x sign-extended, per halfword.
static inline uint32_t nn_sxtab16(uint32_t a, uint32_t x) {
    return __sxtab16(a, x);
}

/// a + bytes 1 and 3 of x sign-extended, per halfword.
static inline uint32_t nn_sxtab16_ror8(uint32_t a, uint32_t x) {
    uint32_t r;
    __asm__ ("sxtab16 %0, %1, %2, ror #8" : "=r" (r) : "r" (a), "r" (x));
    return r;
}

/// acc + x.lo * y.lo (signed halfwords), wrapping.
static inline int32_t nn_smlabb(uint32_t x, uint32_t y, int32_t acc) {
    int32_t r;
    __asm__ volatile ("smlabb %0, %1, %2, %3" : "=r" (r) : "r" (x), "r" (y), "r" (acc));
    return r;
}

/// acc + x.hi * y.hi (signed halfwords), wrapping.
static inline int32_t nn_smlatt(uint32_t x, uint32_t y, int32_t acc) {
    int32_t r;
    __asm__ volatile ("smlatt %0, %1, %2, %3" : "=r" (r) : "r" (x), "r" (y), "r" (acc));
    return r;
}

/// acc + x.lo * y.hi (signed halfwords), wrapping.
static inline int32_t nn_smlabt(uint32_t x, uint32_t y, int32_t acc) {
    int32_t r;
    __asm__ volatile ("smlabt %0, %1, %2, %3" : "=r" (r) : "r" (x), "r" (y), "r" (acc));
    return r;
}

/// acc + x.lo * y.lo + x.hi * y.hi (signed halfwords), wrapping.
static inline int32_t nn_smlad(uint32_t x, uint32_t y, int32_t acc) {
    return __smlad(x, y, acc);
}

/// x + y and x - y per halfword, wrapping (SADD16, SSUB16).
static inline uint32_t nn_sadd16(uint32_t x, uint32_t y) {
    return (uint32_t)__sadd16((int16x2_t)x, (int16x2_t)y);
}

static inline uint32_t nn_ssub16(uint32_t x, uint32_t y) {
    return (uint32_t)__ssub16((int16x2_t)x, (int16x2_t)y);
}

/// (a * b + 2^31) >> 32: the rounded high word of the product (SMMULR).
static inline int32_t nn_smmulr(int32_t a, int32_t b) {
    int32_t r;
    __asm__ ("smmulr %0, %1, %2" : "=r" (r) : "r" (a), "r" (b));
    return r;
}

/// x saturated to int8 (SSAT #8).
static inline int32_t nn_ssat8(int32_t x) {
    return __ssat(x, 8);
}

/// Bytewise signed max of four int8 lanes (SSUB8 sets the GE flags SEL reads).
static inline uint32_t nn_smax8(uint32_t x, uint32_t y) {
    uint32_t r, t;
    __asm__ ("ssub8 %1, %2, %3\n\tsel %0, %2, %3"
        : "=r" (r), "=&r" (t) : "r" (x), "r" (y) : "cc");
    return r;
}

/// Bytewise signed min of four int8 lanes.
static inline uint32_t nn_smin8(uint32_t x, uint32_t y) {
    uint32_t r, t;
    __asm__ ("ssub8 %1, %2, %3\n\tsel %0, %3, %2"
        : "=r" (r), "=&r" (t) : "r" (x), "r" (y) : "cc");
    return r;
}

#else // the same, in C, bit for bit

/// Two int16 halves as one word.
static inline uint32_t nn_halves(int32_t lo, int32_t hi) {
    return ((uint32_t)lo & 0xffffu) | ((uint32_t)hi << 16);
}

static inline uint32_t nn_sxtb16(uint32_t x) {
    return nn_halves((int8_t)x, (int8_t)(x >> 16));
}

static inline uint32_t nn_sxtb16_ror8(uint32_t x) {
    return nn_halves((int8_t)(x >> 8), (int8_t)(x >> 24));
}

static inline uint32_t nn_sxtab16(uint32_t a, uint32_t x) {
    return nn_halves((int16_t)a + (int8_t)x, (int16_t)(a >> 16) + (int8_t)(x >> 16));
}

static inline uint32_t nn_sxtab16_ror8(uint32_t a, uint32_t x) {
    return nn_halves((int16_t)a + (int8_t)(x >> 8), (int16_t)(a >> 16) + (int8_t)(x >> 24));
}

static inline int32_t nn_smlabb(uint32_t x, uint32_t y, int32_t acc) {
    const int32_t p = (int16_t)x * (int16_t)y;
    return (int32_t)((uint32_t)acc + (uint32_t)p);
}

static inline int32_t nn_smlatt(uint32_t x, uint32_t y, int32_t acc) {
    const int32_t p = (int16_t)(x >> 16) * (int16_t)(y >> 16);
    return (int32_t)((uint32_t)acc + (uint32_t)p);
}

static inline int32_t nn_smlabt(uint32_t x, uint32_t y, int32_t acc) {
    const int32_t p = (int16_t)x * (int16_t)(y >> 16);
    return (int32_t)((uint32_t)acc + (uint32_t)p);
}

static inline int32_t nn_smlad(uint32_t x, uint32_t y, int32_t acc) {
    const int32_t lo = (int16_t)x * (int16_t)y, hi = (int16_t)(x >> 16) * (int16_t)(y >> 16);
    return (int32_t)((uint32_t)acc + (uint32_t)lo + (uint32_t)hi);
}

static inline uint32_t nn_sadd16(uint32_t x, uint32_t y) {
    return nn_halves((int16_t)x + (int16_t)y, (int16_t)(x >> 16) + (int16_t)(y >> 16));
}

static inline uint32_t nn_ssub16(uint32_t x, uint32_t y) {
    return nn_halves((int16_t)x - (int16_t)y, (int16_t)(x >> 16) - (int16_t)(y >> 16));
}

static inline int32_t nn_smmulr(int32_t a, int32_t b) {
    return (int32_t)(((int64_t)a * b + ((int64_t)1 << 31)) >> 32);
}

static inline int32_t nn_ssat8(int32_t x) {
    return x < -128 ? -128 : (x > 127 ? 127 : x);
}

static inline uint32_t nn_smax8(uint32_t x, uint32_t y) {
    uint32_t r = 0;
    for (int i = 0; i < 32; i += 8) {
        const int8_t a = (int8_t)(x >> i), b = (int8_t)(y >> i);
        r |= (uint32_t)(uint8_t)(a >= b ? a : b) << i;
    }
    return r;
}

static inline uint32_t nn_smin8(uint32_t x, uint32_t y) {
    uint32_t r = 0;
    for (int i = 0; i < 32; i += 8) {
        const int8_t a = (int8_t)(x >> i), b = (int8_t)(y >> i);
        r |= (uint32_t)(uint8_t)(a >= b ? b : a) << i;
    }
    return r;
}

#endif

/// Four int32 lanes (output offset added) to o as int8, clamped to lo4/hi4 (act.min and
/// act.max in every byte). DSP: SSAT each, pack, clamp all four with SSUB8/SEL, one
/// word store; otherwise four compares and byte stores.
#if NN_DSP
static inline void nn_store4_s8(int8_t *o, const int32_t *v, uint32_t lo4, uint32_t hi4) {
    const uint32_t p02 = ((uint32_t)nn_ssat8(v[0]) & 0xffffu) | (uint32_t)nn_ssat8(v[2]) << 16;
    const uint32_t p13 = ((uint32_t)nn_ssat8(v[1]) & 0xffffu) | (uint32_t)nn_ssat8(v[3]) << 16;
    uint32_t w = (p02 & 0x00ff00ffu) | (p13 & 0x00ff00ffu) << 8;
    w = nn_smin8(nn_smax8(w, lo4), hi4);
    memcpy(o, &w, 4);
}
#else
static inline void nn_store4_s8(int8_t *o, const int32_t *v, uint32_t lo4, uint32_t hi4) {
    const int32_t lo = (int8_t)lo4, hi = (int8_t)hi4;
    o[0] = (int8_t)(v[0] < lo ? lo : (v[0] > hi ? hi : v[0]));
    o[1] = (int8_t)(v[1] < lo ? lo : (v[1] > hi ? hi : v[1]));
    o[2] = (int8_t)(v[2] < lo ? lo : (v[2] > hi ? hi : v[2]));
    o[3] = (int8_t)(v[3] < lo ? lo : (v[3] > hi ? hi : v[3]));
}
#endif

#endif // MICROAI_NN_DSP_H
