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

// Every channel's popcount of one row of `pairs` (1..15) pairs of words and `odd` (0, 1)
// more against its own row of w (rows back to back), into acc[0..out_ch): the loop over
// channels in assembly too, so a short row (a 3x3 tap of 24 channels is 7 words) pays
// ~10 instructions a channel on top of its 22 a pair and 11 a last odd word, not a C
// loop's spills.
#if defined(__arm__) && defined(__ARM_ARCH_ISA_THUMB) && __ARM_ARCH_ISA_THUMB >= 2 \
    && !MICROAI_DSP_EMULATE
// One row's popcount against the next filter row (w advances), left in `bytes`: the
// pairs (at least one), then the odd word if the row has one, then the bytes summed.
// Operands: a (row), w, n, bytes, a0, a1, b0, b1 (temporaries), m1, m2 (masks), and row
// and pairs in memory.
#define NN_POP_PAIRS_ASM \
    "2:\n\t" \
    "ldr    %[a], %[row]\n\t" \
    "ldr    %[n], %[pairs]\n\t" \
    "movs   %[bytes], #0\n\t" \
    "1:\n\t" \
    "ldrd   %[a0], %[a1], [%[a]], #8\n\t" \
    "ldrd   %[b0], %[b1], [%[w]], #8\n\t" \
    "eor    %[a0], %[a0], %[b0]\n\t" \
    "eor    %[a1], %[a1], %[b1]\n\t" \
    "and    %[b0], %[m1], %[a0], lsr #1\n\t" \
    "and    %[b1], %[m1], %[a1], lsr #1\n\t" \
    "sub    %[a0], %[a0], %[b0]\n\t" \
    "sub    %[a1], %[a1], %[b1]\n\t" \
    "and    %[b0], %[m2], %[a0], lsr #2\n\t" \
    "and    %[b1], %[m2], %[a1], lsr #2\n\t" \
    "and    %[a0], %[a0], %[m2]\n\t" \
    "and    %[a1], %[a1], %[m2]\n\t" \
    "add    %[a0], %[a0], %[b0]\n\t" \
    "add    %[a0], %[a0], %[a1]\n\t" \
    "add    %[a0], %[a0], %[b1]\n\t" \
    "lsr    %[b0], %[a0], #4\n\t" \
    "and    %[a0], %[a0], #0x0f0f0f0f\n\t" \
    "and    %[b0], %[b0], #0x0f0f0f0f\n\t" \
    "add    %[bytes], %[bytes], %[a0]\n\t" \
    "add    %[bytes], %[bytes], %[b0]\n\t" \
    "subs   %[n], %[n], #1\n\t" \
    "bne    1b\n\t"

#define NN_POP_ODD_ASM \
    "ldr    %[a0], [%[a]]\n\t" \
    "ldr    %[b0], [%[w]], #4\n\t" \
    "eor    %[a0], %[a0], %[b0]\n\t" \
    "and    %[b0], %[m1], %[a0], lsr #1\n\t" \
    "sub    %[a0], %[a0], %[b0]\n\t" \
    "and    %[b0], %[m2], %[a0], lsr #2\n\t" \
    "and    %[a0], %[a0], %[m2]\n\t" \
    "add    %[a0], %[a0], %[b0]\n\t" \
    "add    %[a0], %[a0], %[a0], lsr #4\n\t" \
    "and    %[a0], %[a0], #0x0f0f0f0f\n\t" \
    "add    %[bytes], %[bytes], %[a0]\n\t"

#if NN_DSP_ASM
#define NN_POP_FOLD_ASM \
    "movs   %[b0], #0\n\t" \
    "usad8  %[bytes], %[bytes], %[b0]\n\t"
#else
#define NN_POP_FOLD_ASM \
    "lsr    %[b0], %[bytes], #8\n\t" \
    "and    %[bytes], %[bytes], #0x00ff00ff\n\t" \
    "and    %[b0], %[b0], #0x00ff00ff\n\t" \
    "add    %[bytes], %[bytes], %[b0]\n\t" \
    "add    %[bytes], %[bytes], %[bytes], lsl #16\n\t" \
    "lsr    %[bytes], %[bytes], #16\n\t"
#endif

// The store of acc[c], or the threshold's bit entering `bits` at the top (acc >
// threshold is the sign of threshold - acc: thresholds lie in [-1, K]).
#define NN_POP_STORE_ASM "str    %[bytes], [%[acc]], #4\n\t"
#define NN_POP_BIT_ASM \
    "ldr    %[b0], [%[th]], #4\n\t" \
    "sub    %[b0], %[b0], %[bytes]\n\t" \
    "and    %[b0], %[b0], #0x80000000\n\t" \
    "orr    %[bits], %[b0], %[bits], lsr #1\n\t"
#define NN_POP_NEXT_ASM \
    "subs   %[ch], %[ch], #1\n\t" \
    "bne    2b\n\t"

#define NN_POP_OPERANDS(...) \
    : [a] "=&r" (a), [w] "+r" (w), [n] "=&r" (n), [bytes] "=&r" (bytes), \
    [a0] "=&r" (a0), [a1] "=&r" (a1), [b0] "=&r" (b0), [b1] "=&r" (b1), \
    [ch] "+r" (ch), __VA_ARGS__ \
    : [row] "m" (row), [pairs] "m" (pairs), [m1] "r" (NN_POP_M1), [m2] "r" (NN_POP_M2) \
    : "cc", "memory"

// rows of 2 pairs + odd words, pairs >= 1.
NN_ALWAYS_INLINE void nn_pop_rows_short(const uint32_t *row, const uint32_t *w,
    uint32_t pairs, uint32_t odd, int32_t out_ch, int32_t *acc) {
    uint32_t a, n, bytes, a0, a1, b0, b1;
    int32_t ch = out_ch;
    if (odd) {
        __asm__ volatile (NN_POP_PAIRS_ASM NN_POP_ODD_ASM NN_POP_FOLD_ASM NN_POP_STORE_ASM
            NN_POP_NEXT_ASM NN_POP_OPERANDS([acc] "+r" (acc)));
    } else {
        __asm__ volatile (NN_POP_PAIRS_ASM NN_POP_FOLD_ASM NN_POP_STORE_ASM NN_POP_NEXT_ASM
            NN_POP_OPERANDS([acc] "+r" (acc)));
    }
}

// The same for a bit-packed output: after n_ch (1..32) channels the first one's bit is
// bit 32 - n_ch. *pw and *pth advance past them.
NN_ALWAYS_INLINE uint32_t nn_pop_bits_short(const uint32_t *row, const uint32_t **pw,
    uint32_t pairs, uint32_t odd, int32_t n_ch, const int32_t **pth) {
    uint32_t a, n, bytes, a0, a1, b0, b1, bits = 0;
    int32_t ch = n_ch;
    const uint32_t *w = *pw;
    const int32_t *th = *pth;
    if (odd) {
        __asm__ volatile (NN_POP_PAIRS_ASM NN_POP_ODD_ASM NN_POP_FOLD_ASM NN_POP_BIT_ASM
            NN_POP_NEXT_ASM NN_POP_OPERANDS([th] "+r" (th), [bits] "+r" (bits)));
    } else {
        __asm__ volatile (NN_POP_PAIRS_ASM NN_POP_FOLD_ASM NN_POP_BIT_ASM NN_POP_NEXT_ASM
            NN_POP_OPERANDS([th] "+r" (th), [bits] "+r" (bits)));
    }
    *pw = w;
    *pth = th;
    return bits;
}
#else
NN_ALWAYS_INLINE void nn_pop_rows_short(const uint32_t *row, const uint32_t *w,
    uint32_t pairs, uint32_t odd, int32_t out_ch, int32_t *acc) {
    for (int32_t c = 0; c < out_ch; c++, w += 2 * pairs + odd) {
        acc[c] = (int32_t)nn_pop_row(row, w, 0, pairs, odd);
    }
}

NN_ALWAYS_INLINE uint32_t nn_pop_bits_short(const uint32_t *row, const uint32_t **pw,
    uint32_t pairs, uint32_t odd, int32_t n_ch, const int32_t **pth) {
    uint32_t bits = 0;
    for (int32_t c = 0; c < n_ch; c++) {
        const int32_t acc = (int32_t)nn_pop_row(row, *pw, 0, pairs, odd);
        bits = (bits >> 1) | ((uint32_t)(**pth - acc) & 0x80000000u);
        *pw += 2 * pairs + odd;
        *pth += 1;
    }
    return bits;
}
#endif

NN_ALWAYS_INLINE uint32_t nn_xor_popcount_inline(const uint32_t *a, const uint32_t *b,
    uint32_t n) {
    return nn_pop_row(a, b, n / 30, n / 2 % 15, n % 2);
}

#endif // MICROAI_NN_POPCOUNT_H
