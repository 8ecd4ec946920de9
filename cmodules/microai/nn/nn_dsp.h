// microai nn: the Cortex-M DSP instructions the kernels use (ARMv7E-M: Cortex-M4, M7),
// and bit-exact C versions of them, so that the DSP-shaped loops also run on the host.
//
// NN_HAS_DSP selects a kernel's DSP loop: MICROAI_HAS_DSP when a build sets it (a host
// build with -DMICROAI_HAS_DSP=1 runs the DSP loops on the C versions below), else the
// compiler's __ARM_FEATURE_DSP (microai_config.h's rule, repeated here because the
// kernels do not see the MicroPython build's headers). Each kernel file tests it once.
#ifndef MICROAI_NN_DSP_H
#define MICROAI_NN_DSP_H

#include <stdint.h>
#include <string.h>

#if defined(MICROAI_HAS_DSP)
#define NN_HAS_DSP (MICROAI_HAS_DSP)
#elif defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
#define NN_HAS_DSP (1)
#else
#define NN_HAS_DSP (0)
#endif

/// Four int8 from p (any alignment) as one word, element 0 in the low byte (a single
/// LDR on Cortex-M3/M4/M7, which load unaligned words).
static inline uint32_t nn_read_s8x4(const int8_t *p) {
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP

/// Bytes 0 and 2 of x sign-extended into two int16 halves.
static inline uint32_t nn_sxtb16(uint32_t x) {
    uint32_t r;
    __asm__ volatile ("sxtb16 %0, %1" : "=r" (r) : "r" (x));
    return r;
}

/// Bytes 1 and 3 of x sign-extended into two int16 halves.
static inline uint32_t nn_sxtb16_ror8(uint32_t x) {
    uint32_t r;
    __asm__ volatile ("sxtb16 %0, %1, ror #8" : "=r" (r) : "r" (x));
    return r;
}

/// acc + x.lo * y.lo (int16 halves), wrapping.
static inline int32_t nn_smlabb(uint32_t x, uint32_t y, int32_t acc) {
    int32_t r;
    __asm__ volatile ("smlabb %0, %1, %2, %3" : "=r" (r) : "r" (x), "r" (y), "r" (acc));
    return r;
}

/// acc + x.hi * y.hi (int16 halves), wrapping.
static inline int32_t nn_smlatt(uint32_t x, uint32_t y, int32_t acc) {
    int32_t r;
    __asm__ volatile ("smlatt %0, %1, %2, %3" : "=r" (r) : "r" (x), "r" (y), "r" (acc));
    return r;
}

/// acc + x.lo * y.lo + x.hi * y.hi (int16 halves), wrapping.
static inline int32_t nn_smlad(uint32_t x, uint32_t y, int32_t acc) {
    int32_t r;
    __asm__ volatile ("smlad %0, %1, %2, %3" : "=r" (r) : "r" (x), "r" (y), "r" (acc));
    return r;
}

/// (a * b + 2^31) >> 32: the rounded high word of the product (SMMULR).
static inline int32_t nn_smmulr(int32_t a, int32_t b) {
    int32_t r;
    __asm__ volatile ("smmulr %0, %1, %2" : "=r" (r) : "r" (a), "r" (b));
    return r;
}

/// x saturated to int8 (SSAT #8).
static inline int32_t nn_ssat8(int32_t x) {
    int32_t r;
    __asm__ volatile ("ssat %0, #8, %1" : "=r" (r) : "r" (x));
    return r;
}

/// Bytewise signed max of four int8 lanes (SSUB8 sets the GE flags SEL reads).
static inline uint32_t nn_smax8(uint32_t x, uint32_t y) {
    uint32_t r, t;
    __asm__ volatile ("ssub8 %1, %2, %3\n\tsel %0, %2, %3"
        : "=r" (r), "=&r" (t) : "r" (x), "r" (y) : "cc");
    return r;
}

/// Bytewise signed min of four int8 lanes.
static inline uint32_t nn_smin8(uint32_t x, uint32_t y) {
    uint32_t r, t;
    __asm__ volatile ("ssub8 %1, %2, %3\n\tsel %0, %3, %2"
        : "=r" (r), "=&r" (t) : "r" (x), "r" (y) : "cc");
    return r;
}

#else // the same, in C, bit for bit

static inline uint32_t nn_sxtb16(uint32_t x) {
    return ((uint32_t)(int16_t)(int8_t)(x & 0xff) & 0xffffu)
           | ((uint32_t)(int16_t)(int8_t)((x >> 16) & 0xff) << 16);
}

static inline uint32_t nn_sxtb16_ror8(uint32_t x) {
    return nn_sxtb16((x >> 8) | (x << 24));
}

static inline int32_t nn_smlabb(uint32_t x, uint32_t y, int32_t acc) {
    int32_t p = (int32_t)(int16_t)(x & 0xffff) * (int32_t)(int16_t)(y & 0xffff);
    return (int32_t)((uint32_t)acc + (uint32_t)p);
}

static inline int32_t nn_smlatt(uint32_t x, uint32_t y, int32_t acc) {
    return nn_smlabb(x >> 16, y >> 16, acc);
}

static inline int32_t nn_smlad(uint32_t x, uint32_t y, int32_t acc) {
    return nn_smlatt(x, y, nn_smlabb(x, y, acc));
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
        int8_t a = (int8_t)(x >> i), b = (int8_t)(y >> i);
        r |= (uint32_t)(uint8_t)(a >= b ? a : b) << i;
    }
    return r;
}

static inline uint32_t nn_smin8(uint32_t x, uint32_t y) {
    uint32_t r = 0;
    for (int i = 0; i < 32; i += 8) {
        int8_t a = (int8_t)(x >> i), b = (int8_t)(y >> i);
        r |= (uint32_t)(uint8_t)(a >= b ? b : a) << i;
    }
    return r;
}

#endif

#endif // MICROAI_NN_DSP_H
