// XOR-popcount: the number of bits that differ between two rows of bit-packed words,
// the inner loop of every binary convolution (one binary multiply-accumulate per bit);
// inlined into the binary kernels, exported by nn_popcount.c.
//
// ARMv7-M has no popcount instruction. Each word is counted SWAR-style into eight 4-bit
// fields (0..4 each); two words' fields are added (0..8) and folded into four bytes
// (0..16); up to 15 such pairs add up in the bytes (<= 240) before they are summed: by
// USADA8 on the DSP cores, by a fold and a multiply on the M3. About 10 instructions a
// word with its two loads, 0.33 per binary multiply-accumulate.
#ifndef MICROAI_NN_POPCOUNT_H
#define MICROAI_NN_POPCOUNT_H

#include "nn_functions.h"
#include "nn_dsp.h"

#define NN_POP_M1 (0x55555555u)
#define NN_POP_M2 (0x33333333u)
#define NN_POP_M4 (0x0f0f0f0fu)

// Eight 4-bit fields, each the number of set bits among its own 4 bits.
NN_ALWAYS_INLINE uint32_t nn_pop_nibbles(uint32_t v) {
    v = v - ((v >> 1) & NN_POP_M1);
    return (v & NN_POP_M2) + ((v >> 2) & NN_POP_M2);
}

// The sum of the four bytes of v, added to acc.
NN_ALWAYS_INLINE uint32_t nn_pop_add_bytes(uint32_t acc, uint32_t v) {
#if NN_DSP_ASM
    __asm__("usada8 %0, %1, %2, %3" : "=r"(acc) : "r"(v), "r"(0), "r"(acc));
    return acc;
#else
    v = (v & 0x00ff00ffu) + ((v >> 8) & 0x00ff00ffu); // two halves, each <= 480
    return acc + ((v * 0x00010001u) >> 16);
#endif
}

// The bytes of `pairs` (1..15) pairs of words of a XOR b: each byte 0..16 a pair.
#if defined(__arm__) && defined(__ARM_ARCH_ISA_THUMB) && __ARM_ARCH_ISA_THUMB >= 2 \
    && !MICROAI_DSP_EMULATE
// Thumb-2: the masks in registers, so each mask step is one AND with a shifted operand
// (GCC keeps them as immediates: a shift and an AND), the b words' registers reused as
// temporaries (11 registers in all). 2 LDRD, 2 EOR, 15 ALU, SUBS, BNE: 21 a pair.
NN_ALWAYS_INLINE uint32_t nn_pop_pair_bytes(const uint32_t **pa, const uint32_t **pb,
    uint32_t pairs) {
    uint32_t bytes = 0, a0, a1, b0, b1;
    const uint32_t *a = *pa, *b = *pb;
    __asm__ volatile (
        "1:\n\t"
        "ldrd   %[a0], %[a1], [%[a]], #8\n\t"
        "ldrd   %[b0], %[b1], [%[b]], #8\n\t"
        "eor    %[a0], %[a0], %[b0]\n\t"
        "eor    %[a1], %[a1], %[b1]\n\t"
        "and    %[b0], %[m1], %[a0], lsr #1\n\t"
        "and    %[b1], %[m1], %[a1], lsr #1\n\t"
        "sub    %[a0], %[a0], %[b0]\n\t"
        "sub    %[a1], %[a1], %[b1]\n\t"
        "and    %[b0], %[m2], %[a0], lsr #2\n\t"
        "and    %[b1], %[m2], %[a1], lsr #2\n\t"
        "and    %[a0], %[a0], %[m2]\n\t"
        "and    %[a1], %[a1], %[m2]\n\t"
        "add    %[a0], %[a0], %[b0]\n\t"
        "add    %[a0], %[a0], %[a1]\n\t"
        "add    %[a0], %[a0], %[b1]\n\t"
        "and    %[b0], %[m4], %[a0], lsr #4\n\t"
        "and    %[a0], %[a0], %[m4]\n\t"
        "add    %[bytes], %[bytes], %[a0]\n\t"
        "add    %[bytes], %[bytes], %[b0]\n\t"
        "subs   %[n], %[n], #1\n\t"
        "bne    1b\n\t"
        : [bytes] "+r" (bytes), [a] "+r" (a), [b] "+r" (b), [n] "+r" (pairs),
        [a0] "=&r" (a0), [a1] "=&r" (a1), [b0] "=&r" (b0), [b1] "=&r" (b1)
        : [m1] "r" (NN_POP_M1), [m2] "r" (NN_POP_M2), [m4] "r" (NN_POP_M4)
        : "cc", "memory");
    *pa = a;
    *pb = b;
    return bytes;
}
#else
NN_ALWAYS_INLINE uint32_t nn_pop_pair_bytes(const uint32_t **pa, const uint32_t **pb,
    uint32_t pairs) {
    const uint32_t *a = *pa, *b = *pb;
    uint32_t bytes = 0;
    do {
        const uint32_t s = nn_pop_nibbles(a[0] ^ b[0]) + nn_pop_nibbles(a[1] ^ b[1]);
        bytes += (s & NN_POP_M4) + ((s >> 4) & NN_POP_M4);
        a += 2;
        b += 2;
    } while (--pairs);
    *pa = a;
    *pb = b;
    return bytes;
}
#endif

// The last word of an odd row, as bytes.
NN_ALWAYS_INLINE uint32_t nn_pop_word_bytes(uint32_t v) {
    const uint32_t s = nn_pop_nibbles(v);
    return (s & NN_POP_M4) + ((s >> 4) & NN_POP_M4);
}

// popcount(a XOR b) over n words, with the block structure (15 pairs, then the rest, then
// an odd word) the caller hoisted out of its loop: nn_xor_popcount_rows.
NN_ALWAYS_INLINE uint32_t nn_pop_row(const uint32_t *a, const uint32_t *b, uint32_t blocks,
    uint32_t rest, uint32_t odd) {
    uint32_t total = 0;
    for (uint32_t k = 0; k < blocks; k++) {
        total = nn_pop_add_bytes(total, nn_pop_pair_bytes(&a, &b, 15));
    }
    if (rest) {
        total = nn_pop_add_bytes(total, nn_pop_pair_bytes(&a, &b, rest));
    }
    if (odd) {
        total = nn_pop_add_bytes(total, nn_pop_word_bytes(a[0] ^ b[0]));
    }
    return total;
}

NN_ALWAYS_INLINE uint32_t nn_xor_popcount_inline(const uint32_t *a, const uint32_t *b,
    uint32_t n) {
    return nn_pop_row(a, b, n / 30, n / 2 % 15, n % 2);
}

#endif // MICROAI_NN_POPCOUNT_H
