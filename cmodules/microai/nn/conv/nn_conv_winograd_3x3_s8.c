// CONV_2D 3x3, stride 1, dilation 1, by Winograd's F(2x2, 3x3), exact in integers.
//
// With G' = 2G = [[2,0,0],[1,1,1],[1,-1,1],[0,0,2]], the host transforms each (output,
// input) channel pair's 3x3 weights g to U = G' g G'^T, 4x4 int16 (|U| <= 9 * 128), in
// the blob (nn_conv_winograd_prepare(), MAI_LAYOUT_WINOGRAD). For each 4x4 input tile d
// (a 2x2 output tile; the raw int8 input, the padding pixels holding the zero point) the
// kernel computes V = B^T d B per input channel (B^T = [[1,0,-1,0],[0,1,1,0],
// [0,-1,1,0],[0,1,0,-1]]; int16, |V| <= 512), then per output channel the 16 sums
// M = sum over input channels of U (.) V in int32, and Y = A^T M A (A^T = [[1,1,1,0],
// [0,1,-1,-1]]). Y is 4x the direct convolution's sum of w * x, exactly, so Y >> 2 is
// that sum bit for bit while |sum| < 2^29: in_ch <= NN_WINOGRAD_MAX_IN (every sum on
// the way wraps, as the accumulators do, and agrees with it mod 2^32). The input offset
// joins the bias as input_offset * sum(w) (sum(w) over an input channel is U's element
// (1, 1)), so that the padding pixels add nothing, as in the reference; the usual
// requantization follows (nn_conv_out.h).
//
// The products are nn_dot.h's 2x2 block of widened rows against a column pair: U's
// rows for element e of two output channels against element e of two tiles' V, kept as
// a column pair of in_ch taps (the same order 0, 2, 1, 3 in groups of 4 for both). So
// 16 x 4 taps x 4 = 64 MACs per input channel give 2 channels x 2 tiles x 4 outputs,
// where the direct kernels need 144: 2.25x fewer, at 16/9 x 2 the int8 weights' bytes.
// On a DSP core the input transform takes four channels a pass, as two pairs of int16
// halves (SXTB16), by SADD16/SSUB16; the column pair's order is the one SXTB16 gives.
//
// Scratch (4-byte aligned): the output channels' constants (nn_conv_gemm.h), then the
// 16 column pairs of V (16 x nn_col_bytes(in_ch)), then one padding pixel (in_ch bytes
// of the zero point, rounded up to 4).
#include <stddef.h>
#include <string.h>

#include "nn_conv_gemm.h"
#include "nn_conv_out.h"

#define NN_WINO_E (16) // elements of a transformed tile

static inline int32_t nn_wino_c4(int32_t in_ch) {
    return (in_ch + 3) & ~3;
}

size_t nn_conv_winograd_bytes(int32_t out_ch, int32_t in_ch) {
    return (size_t)out_ch * NN_WINO_E * (size_t)nn_wino_c4(in_ch) * sizeof(int16_t);
}

void nn_conv_winograd_prepare(const int8_t *w, int32_t out_ch, int32_t in_ch, int16_t *dst) {
    const int32_t c4 = nn_wino_c4(in_ch);
    memset(dst, 0, nn_conv_winograd_bytes(out_ch, in_ch));
    for (int32_t oc = 0; oc < out_ch; oc++) {
        for (int32_t c = 0; c < in_ch; c++) {
            const int8_t *g = w + (size_t)oc * 9 * in_ch + c; // [oc][r][s][c]
            int32_t t[4][3]; // G' g
            for (int32_t s = 0; s < 3; s++) {
                const int32_t g0 = g[s * in_ch], g1 = g[(3 + s) * in_ch];
                const int32_t g2 = g[(6 + s) * in_ch];
                t[0][s] = 2 * g0;
                t[1][s] = g0 + g1 + g2;
                t[2][s] = g0 - g1 + g2;
                t[3][s] = 2 * g2;
            }
            // Tap c of the rows' order (nn_dot.h's column order within a group of 4).
            const int32_t at = nn_col_index(0, c) - (c & ~3);
            for (int32_t r = 0; r < 4; r++) {
                const int32_t u[4] = { 2 * t[r][0], t[r][0] + t[r][1] + t[r][2],
                                       t[r][0] - t[r][1] + t[r][2], 2 * t[r][2] };
                for (int32_t s = 0; s < 4; s++) {
                    dst[((size_t)oc * NN_WINO_E + 4 * r + s) * c4 + at] = (int16_t)u[s];
                }
            }
        }
    }
}

static size_t nn_wino_pad_bytes(int32_t in_ch) {
    return (size_t)nn_wino_c4(in_ch);
}

static size_t nn_wino_scratch(const nn_dims *f_dims) {
    return (size_t)f_dims->n * sizeof(nn_conv_chan) + NN_WINO_E * nn_col_bytes(f_dims->c)
           + nn_wino_pad_bytes(f_dims->c);
}

size_t nn_conv_winograd_3x3_s8_scratch_size(const nn_conv_params *p, const nn_dims *in_dims,
    const nn_dims *f_dims, const nn_dims *out_dims) {
    return nn_wino_scratch(f_dims);
}

// V = B^T d B (B^T d's rows: d0 - d2, d1 + d2, d2 - d1, d1 - d3; then the same across
// each row), in two arithmetics: int32 (one channel) and two int16 halves (two
// channels, SADD16/SSUB16). Row i of d B is h_i; V's rows are h0 - h2, h1 + h2,
// h2 - h1, h1 - h3, made in an order that keeps 12 values live at most.
static inline uint32_t nn_add32(uint32_t a, uint32_t b) {
    return a + b;
}

static inline uint32_t nn_sub32(uint32_t a, uint32_t b) {
    return a - b;
}

// Row r of d B: its four pixels' values (LOAD(i), i = 4r .. 4r + 3) across.
#define NN_WINO_ROW(ADD, SUB, LOAD, r, h) do { \
        const uint32_t x0 = LOAD(4 * (r)), x1 = LOAD(4 * (r) + 1); \
        const uint32_t x2 = LOAD(4 * (r) + 2), x3 = LOAD(4 * (r) + 3); \
        h[0] = SUB(x0, x2); \
        h[1] = ADD(x1, x2); \
        h[2] = SUB(x2, x1); \
        h[3] = SUB(x1, x3); \
} while (0)

// V of the values LOAD(i) (i: the tile's pixels, row-major), each element e given to
// STORE(e, value).
#define NN_WINO_BTDB(ADD, SUB, LOAD, STORE) do { \
        uint32_t h1[4], h2[4], h[4]; \
        NN_WINO_ROW(ADD, SUB, LOAD, 1, h1); \
        NN_WINO_ROW(ADD, SUB, LOAD, 2, h2); \
        for (int32_t j = 0; j < 4; j++) { \
            STORE(4 + j, ADD(h1[j], h2[j])); \
            STORE(8 + j, SUB(h2[j], h1[j])); \
        } \
        NN_WINO_ROW(ADD, SUB, LOAD, 0, h); \
        for (int32_t j = 0; j < 4; j++) { \
            STORE(j, SUB(h[j], h2[j])); \
        } \
        NN_WINO_ROW(ADD, SUB, LOAD, 3, h); \
        for (int32_t j = 0; j < 4; j++) { \
            STORE(12 + j, SUB(h1[j], h[j])); \
        } \
} while (0)

#if !NN_GEMM_ASM

// One channel c of the tile's pixels pix into its int16 slot d of the column pairs
// (element e at d + e * pair bytes).
static void nn_wino_one(const int8_t *const *pix, int32_t c, int16_t *d, int32_t pair) {
    uint8_t *b = (uint8_t *)d;
    #define NN_WINO_ONE(i) ((uint32_t)(int32_t)pix[i][c])
    #define NN_WINO_PUT(e, x) do { const int16_t h_ = (int16_t)(x); \
        memcpy(b + (e) * pair, &h_, sizeof(h_)); } while (0)
    NN_WINO_BTDB(nn_add32, nn_sub32, NN_WINO_ONE, NN_WINO_PUT);
    #undef NN_WINO_ONE
    #undef NN_WINO_PUT
}

#endif

#if NN_GEMM_ASM

// NN_WINO_BTDB in assembly (the compiler spills the C form's values to the stack), for
// one value of each pixel, loaded by LD(X, I) from pixel I / 4 (pix r0, c r1), added
// and subtracted by ADD and SUB, stored by ST; d r2 (element 0), pair r3 (bytes between
// elements); the rows of the tile in r4-r7 and r8-r11, r12 and lr temporaries.
// A row of d B in place: x0..x3 -> x0 - x2, x1 + x2, x2 - x1, x1 - x3.
#define NN_WINO_ROW_R(ADD, SUB, A, B, C, D) \
    SUB "   " A ", " A ", " C "\n\t" \
    SUB "   " D ", " B ", " D "\n\t" \
    SUB "   r12, " C ", " B "\n\t" \
    ADD "   " B ", " B ", " C "\n\t" \
    "mov    " C ", r12\n\t"
#define NN_WINO_ROW_LD_R(LD, ADD, SUB, A, B, C, D, I0, I1, I2, I3) \
    LD(A, I0) LD(B, I1) LD(C, I2) LD(D, I3) \
    NN_WINO_ROW_R(ADD, SUB, A, B, C, D)
// V's rows 1 and 2 (h1 + h2, h2 - h1) of column j, at lr and lr + 4 pair; lr += pair.
#define NN_WINO_V12_R(ADD, SUB, ST, H1, H2) \
    ADD "   r12, " H1 ", " H2 "\n\t" \
    ST "    r12, [lr]\n\t" \
    SUB "   r12, " H2 ", " H1 "\n\t" \
    ST "    r12, [lr, r3, lsl #2]\n\t" \
    "add    lr, lr, r3\n\t"
// One element A - B at lr; lr += pair.
#define NN_WINO_VSUB_R(SUB, ST, A, B) \
    SUB "   r12, " A ", " B "\n\t" \
    ST "    r12, [lr]\n\t" \
    "add    lr, lr, r3\n\t"
#define NN_WINO_BTDB_R(LD, ADD, SUB, ST) \
    NN_WINO_ROW_LD_R(LD, ADD, SUB, "r4", "r5", "r6", "r7", "16", "20", "24", "28") /* h1 */ \
    NN_WINO_ROW_LD_R(LD, ADD, SUB, "r8", "r9", "r10", "r11", "32", "36", "40", "44") \
    "add    lr, r2, r3, lsl #2\n\t"                                      /* element 4 */ \
    NN_WINO_V12_R(ADD, SUB, ST, "r4", "r8") NN_WINO_V12_R(ADD, SUB, ST, "r5", "r9") \
    NN_WINO_V12_R(ADD, SUB, ST, "r6", "r10") NN_WINO_V12_R(ADD, SUB, ST, "r7", "r11") \
    "push   {r4-r7}\n\t"                                                 /* h1 */ \
    NN_WINO_ROW_LD_R(LD, ADD, SUB, "r4", "r5", "r6", "r7", "0", "4", "8", "12") /* h0 */ \
    "mov    lr, r2\n\t"                                                  /* element 0 */ \
    NN_WINO_VSUB_R(SUB, ST, "r4", "r8") NN_WINO_VSUB_R(SUB, ST, "r5", "r9") \
    NN_WINO_VSUB_R(SUB, ST, "r6", "r10") NN_WINO_VSUB_R(SUB, ST, "r7", "r11") \
    "pop    {r4-r7}\n\t" \
    NN_WINO_ROW_LD_R(LD, ADD, SUB, "r8", "r9", "r10", "r11", "48", "52", "56", "60") /* h3 */ \
    "add    lr, r2, r3, lsl #3\n\t" \
    "add    lr, lr, r3, lsl #2\n\t"                                      /* element 12 */ \
    NN_WINO_VSUB_R(SUB, ST, "r4", "r8") NN_WINO_VSUB_R(SUB, ST, "r5", "r9") \
    NN_WINO_VSUB_R(SUB, ST, "r6", "r10") NN_WINO_VSUB_R(SUB, ST, "r7", "r11")

// One channel: LDRSB, ADD/SUB, STRH (d: the channel's int16 slot of element 0).
#define NN_WINO_LD1_R(X, I) \
    "ldr    r12, [r0, #" I "]\n\t" \
    "ldrsb  " X ", [r12, r1]\n\t"

__attribute__((naked, noinline)) static void nn_wino_one(const int8_t *const *pix, int32_t c,
    int16_t *d, int32_t pair) {
    __asm__ (
        "push   {r4-r11, lr}\n\t"
        NN_WINO_BTDB_R(NN_WINO_LD1_R, "add", "sub", "strh")
        "pop    {r4-r11, pc}\n\t"
        );
}

#endif

#if NN_GEMM_ASM && NN_DSP_ASM

// Four channels: each pixel's word split by SXTB16 into bytes 0, 2 (then 1, 3) as int16
// halves, which are the column pair's taps 4g, 4g + 2 (then 4g + 1, 4g + 3; nn_dot.h),
// by SADD16/SSUB16 (d: element 0's first word; the second follows it).
#define NN_WINO_LDLO_R(X, I) \
    "ldr    r12, [r0, #" I "]\n\t" \
    "ldr    " X ", [r12, r1]\n\t" \
    "sxtb16 " X ", " X "\n\t"
#define NN_WINO_LDHI_R(X, I) \
    "ldr    r12, [r0, #" I "]\n\t" \
    "ldr    " X ", [r12, r1]\n\t" \
    "sxtb16 " X ", " X ", ror #8\n\t"

__attribute__((naked, noinline)) static void nn_wino_group4(const int8_t *const *pix,
    int32_t c, int16_t *d, int32_t pair) {
    __asm__ (
        "push   {r4-r11, lr}\n\t"
        NN_WINO_BTDB_R(NN_WINO_LDLO_R, "sadd16", "ssub16", "str")
        "add    r2, r2, #4\n\t"
        NN_WINO_BTDB_R(NN_WINO_LDHI_R, "sadd16", "ssub16", "str")
        "pop    {r4-r11, pc}\n\t"
        );
}

#elif NN_DSP

// Channels c .. c + 3 of the tile's pixels pix into the column pairs at d (element e's
// two words at d + e * pair bytes): bytes 0, 2 (then 1, 3) of each pixel's word as
// int16 halves, which are the column pair's taps 4g, 4g + 2 (then 4g + 1, 4g + 3;
// nn_dot.h), by SADD16/SSUB16.
static void nn_wino_group4(const int8_t *const *pix, int32_t c, int16_t *d, int32_t pair) {
    uint8_t *b = (uint8_t *)d;
    #define NN_WINO_LO(i) nn_sxtb16(nn_read_u32(pix[i] + c))
    #define NN_WINO_HI(i) nn_sxtb16_ror8(nn_read_u32(pix[i] + c))
    #define NN_WINO_PUT_LO(e, x) do { const uint32_t w_ = (x); \
        memcpy(b + (e) * pair, &w_, sizeof(w_)); } while (0)
    #define NN_WINO_PUT_HI(e, x) do { const uint32_t w_ = (x); \
        memcpy(b + (e) * pair + 4, &w_, sizeof(w_)); } while (0)
    NN_WINO_BTDB(nn_sadd16, nn_ssub16, NN_WINO_LO, NN_WINO_PUT_LO);
    NN_WINO_BTDB(nn_sadd16, nn_ssub16, NN_WINO_HI, NN_WINO_PUT_HI);
    #undef NN_WINO_LO
    #undef NN_WINO_HI
    #undef NN_WINO_PUT_LO
    #undef NN_WINO_PUT_HI
}

#endif

// The tile whose output's top left is (oy, ox) of image `in` (one batch's pixels),
// transformed into slot `slot` of the 16 column pairs at v.
static void nn_wino_tile(const nn_conv_params *p, const nn_dims *in_dims, const int8_t *in,
    int32_t oy, int32_t ox, const int8_t *pad, int16_t *v, int32_t slot) {
    const int32_t ch = in_dims->c, pair = 2 * nn_wino_c4(ch);
    const int8_t *pix[NN_WINO_E];
    for (int32_t r = 0; r < 4; r++) {
        const int32_t y = oy - p->pad_h + r;
        for (int32_t s = 0; s < 4; s++) {
            const int32_t x = ox - p->pad_w + s;
            pix[4 * r + s] = y >= 0 && y < in_dims->h && x >= 0 && x < in_dims->w
                ? in + ((size_t)y * in_dims->w + x) * ch : pad;
        }
    }
    int32_t c = 0;
    #if NN_DSP
    for (; c + 4 <= ch; c += 4) {
        nn_wino_group4(pix, c, v + 2 * c + 4 * slot, pair * (int32_t)sizeof(int16_t));
    }
    #endif
    for (; c < ch; c++) {
        nn_wino_one(pix, c, v + nn_col_index(slot, c), pair * (int32_t)sizeof(int16_t));
    }
}

// Y = A^T M A of one output channel's 16 sums m[4 e] (every fourth: m holds the 2x2
// block's four), over 4: the direct sums of w * x of the tile's four outputs, plus
// the bias.
NN_ALWAYS_INLINE void nn_wino_output(const int32_t *m, uint32_t bias, int32_t y[4]) {
    uint32_t a0[4], a1[4];
    for (int32_t s = 0; s < 4; s++) {
        const uint32_t m0 = (uint32_t)m[4 * s], m1 = (uint32_t)m[4 * (4 + s)];
        const uint32_t m2 = (uint32_t)m[4 * (8 + s)], m3 = (uint32_t)m[4 * (12 + s)];
        a0[s] = m0 + m1 + m2;
        a1[s] = m1 - m2 - m3;
    }
    y[0] = (int32_t)(((uint32_t)((int32_t)(a0[0] + a0[1] + a0[2]) >> 2)) + bias);
    y[1] = (int32_t)(((uint32_t)((int32_t)(a0[1] - a0[2] - a0[3]) >> 2)) + bias);
    y[2] = (int32_t)(((uint32_t)((int32_t)(a1[0] + a1[1] + a1[2]) >> 2)) + bias);
    y[3] = (int32_t)(((uint32_t)((int32_t)(a1[1] - a1[2] - a1[3]) >> 2)) + bias);
}

// One output channel (constants c) of a tile: its sums m (nn_wino_output()), requantized
// into the tile's pixels o[0..3] + oc (o[1], o[3]: NULL past the right edge; o[2], o[3]:
// NULL past the bottom).
NN_ALWAYS_INLINE void nn_wino_store(const int32_t *m, const nn_conv_chan *c, int32_t off,
    int32_t lo, int32_t hi, int flags, int8_t *const o[4], int32_t oc) {
    int32_t y[4];
    nn_wino_output(m, (uint32_t)c->bias, y);
    if (o[3] != NULL) { // the whole tile
        nn_conv_out2(y[0], y[1], c, off, lo, hi, flags, o[0] + oc, o[1] + oc);
        nn_conv_out2(y[2], y[3], c, off, lo, hi, flags, o[2] + oc, o[3] + oc);
        return;
    }
    int8_t sink;
    nn_conv_out2(y[0], y[1], c, off, lo, hi, flags, o[0] + oc, o[1] != NULL ? o[1] + oc : &sink);
    if (o[2] != NULL) {
        nn_conv_out2(y[2], y[3], c, off, lo, hi, flags, o[2] + oc, &sink);
    }
}

// A tile's four output pixels (NULL outside the output): the tile at (b, oy, ox).
static void nn_wino_pixels(const nn_dims *o, int32_t b, int32_t oy, int32_t ox, int8_t *out,
    int8_t *px[4]) {
    for (int32_t r = 0; r < 2; r++) {
        for (int32_t s = 0; s < 2; s++) {
            px[2 * r + s] = oy + r < o->h && ox + s < o->w
                ? out + (((size_t)b * o->h + oy + r) * o->w + ox + s) * o->c : NULL;
        }
    }
}

// m[4e .. 4e + 4) = the 2x2 block of element e (nn_dot.h: channels oc, oc + 1 = U's rows
// u + e * c4 and u + d + e * c4 against the column pair v + 2 * e * c4), e < 16: the
// rows of U and the column pairs of V follow each other, so that one walk through
// them does all 16.
#if NN_GEMM_ASM

typedef struct {
    const int16_t *u; // 0: channel oc's U
    int32_t d;        // 4: bytes from channel oc's U to channel oc + 1's
    const int16_t *v; // 8: the column pairs
    int32_t *m;       // 12: the sums (advanced in place)
    int32_t n;        // 16: bytes of a row of U (2 * c4: whole groups of 4 taps)
    int32_t *end;     // 20: m + 64
} nn_wino_job;

typedef char nn_wino_job_layout_ok[offsetof(nn_wino_job, end) == 20 ? 1 : -1];

// In assembly: nn_conv_gemm.h's group of four taps, twice a pass (an odd number of
// groups enters halfway), the four sums of an element stored by one STM.
__attribute__((naked, noinline)) static void nn_wino_dot_job(nn_wino_job *job) {
    __asm__ (
        "push   {r0, r4-r11, lr}\n\t"
        "ldr    r2, [r0, #8]\n\t"            // v
        "ldr    r1, [r0, #4]\n\t"            // d
        "ldr    r0, [r0, #0]\n\t"            // u
        NN_GEMM_ROW1_W16
        "1:\n\t"                              // each element
        "ldr    r12, [sp]\n\t"               // job
        "mov    r4, #0\n\t"
        "mov    r5, #0\n\t"
        "mov    r6, #0\n\t"
        "mov    r7, #0\n\t"
        "ldr    r3, [r12, #16]\n\t"          // n
        "tst    r3, #8\n\t"                  // odd groups: enter halfway
        "add    r3, r0, r3\n\t"              // the end of row 0
        "bne    3f\n\t"
        "2:\n\t"
        NN_DOT_2X2_GROUP_W16_R
        "3:\n\t"
        NN_DOT_2X2_GROUP_W16_R
        "cmp    r0, r3\n\t"
        "bne    2b\n\t"
        "ldr    r12, [sp]\n\t"
        "ldr    r8, [r12, #12]\n\t"          // m
        "ldr    r3, [r12, #20]\n\t"          // end
        "stmia  r8!, {r4-r7}\n\t"
        "str    r8, [r12, #12]\n\t"
        "cmp    r8, r3\n\t"
        "bne    1b\n\t"
        "pop    {r0, r4-r11, pc}\n\t"
        );
}

static void nn_wino_dot(const int16_t *u, int32_t d, const int16_t *v, int32_t c4,
    int32_t *m) {
    nn_wino_job job = { u, d * (int32_t)sizeof(int16_t), v, m, c4 * (int32_t)sizeof(int16_t),
                        m + 4 * NN_WINO_E };
    nn_wino_dot_job(&job);
}

#else

static void nn_wino_dot(const int16_t *u, int32_t d, const int16_t *v, int32_t c4,
    int32_t *m) {
    for (int32_t e = 0; e < NN_WINO_E; e++, u += c4, v += 2 * c4, m += 4) {
        m[0] = m[1] = m[2] = m[3] = 0;
        nn_dot_2x2_s16s16(u, d, v, c4, m);
    }
}

#endif

// The two tiles in v (their pixels t0, t1; t1 all NULL for a single tile) against
// every output channel, two at a time; flags constant (nn_conv_gemm_init_s8()'s).
NN_ALWAYS_INLINE void nn_wino_gemm_flags(const nn_conv_params *p, const nn_conv_chan *chan,
    const int16_t *u, int32_t c4, int32_t out_ch, const int16_t *v, int8_t *const t0[4],
    int8_t *const t1[4], int flags) {
    const int32_t off = p->output_offset, lo = p->act.min, hi = p->act.max;
    const int32_t row = NN_WINO_E * c4; // one output channel's U
    for (int32_t oc = 0; oc < out_ch; oc += 2, u += 2 * row) {
        const int32_t two = oc + 1 < out_ch;
        int32_t m[NN_WINO_E * 4];
        nn_wino_dot(u, two ? row : 0, v, c4, m);
        // m[4e + j]: j = 0 channel oc tile 0, 1 oc tile 1, 2 oc + 1 tile 0, 3 oc + 1 tile 1.
        nn_wino_store(&m[0], &chan[oc], off, lo, hi, flags, t0, oc);
        if (t1[0] != NULL) {
            nn_wino_store(&m[1], &chan[oc], off, lo, hi, flags, t1, oc);
        }
        if (two) {
            nn_wino_store(&m[2], &chan[oc + 1], off, lo, hi, flags, t0, oc + 1);
            if (t1[0] != NULL) {
                nn_wino_store(&m[3], &chan[oc + 1], off, lo, hi, flags, t1, oc + 1);
            }
        }
    }
}

static void nn_wino_gemm(const nn_conv_params *p, const nn_conv_chan *chan,
    const int16_t *u, int32_t c4, int32_t out_ch, const int16_t *v, int8_t *const t0[4],
    int8_t *const t1[4], int flags) {
    // The common case (every shift <= -1, the whole int8 range) with its flags
    // constant, the rest as they come.
    if ((flags & (NN_CONV_GEMM_HI | NN_CONV_GEMM_FULL)) == (NN_CONV_GEMM_HI | NN_CONV_GEMM_FULL)) {
        nn_wino_gemm_flags(p, chan, u, c4, out_ch, v, t0, t1,
            NN_CONV_GEMM_HI | NN_CONV_GEMM_FULL);
    } else {
        nn_wino_gemm_flags(p, chan, u, c4, out_ch, v, t0, t1, flags);
    }
}

static inline void nn_wino_next(int32_t th, int32_t tw, int32_t *b, int32_t *ty,
    int32_t *tx) {
    if (++*tx == tw) {
        *tx = 0;
        if (++*ty == th) {
            *ty = 0;
            ++*b;
        }
    }
}

nn_status nn_conv_winograd_3x3_s8(const nn_conv_params *p, const nn_quant *q,
    const nn_dims *in_dims, const int8_t *in,
    const nn_dims *f_dims, const int16_t *filter, const int32_t *bias,
    const nn_dims *out_dims, int8_t *out, void *scratch, size_t scratch_size) {
    if (f_dims->c != in_dims->c || f_dims->n != out_dims->c || in_dims->n != out_dims->n
        || f_dims->h != 3 || f_dims->w != 3 || p->stride_h != 1 || p->stride_w != 1
        || p->dilation_h != 1 || p->dilation_w != 1
        || (uintptr_t)filter % sizeof(int32_t) != 0) { // read by LDRD
        return NN_ERR_ARG;
    }
    if (in_dims->c > NN_WINOGRAD_MAX_IN) {
        return NN_ERR_UNSUPPORTED; // Y = 4 x the sums could wrap past them
    }
    if (scratch == NULL || (uintptr_t)scratch % sizeof(int32_t) != 0
        || scratch_size < nn_wino_scratch(f_dims)) {
        return NN_ERR_SCRATCH;
    }
    const int32_t ch = in_dims->c, c4 = nn_wino_c4(ch), out_ch = out_dims->c;
    const int flags = nn_conv_gemm_init_s8(p, q, filter, bias, ch, out_ch,
        NN_CONV_GEMM_W16, scratch);
    nn_conv_chan *chan = scratch;
    int16_t *v = (int16_t *)(chan + out_ch);
    int8_t *pad = (int8_t *)v + NN_WINO_E * nn_col_bytes(ch);
    // The column pairs' taps past in_ch stay 0 (U's are 0 too); the padding pixel.
    memset(v, 0, NN_WINO_E * nn_col_bytes(ch));
    memset(pad, -p->input_offset, nn_wino_pad_bytes(ch));
    // The input offset times each output channel's sum of weights (U's element (1, 1)).
    for (int32_t oc = 0; oc < out_ch; oc++) {
        const int16_t *u5 = filter + ((size_t)oc * NN_WINO_E + 5) * c4;
        uint32_t sum = 0;
        for (int32_t i = 0; i < c4; i++) {
            sum += (uint32_t)(int32_t)u5[i];
        }
        chan[oc].bias = (int32_t)((uint32_t)chan[oc].bias + sum * (uint32_t)p->input_offset);
    }
    const int32_t th = (out_dims->h + 1) / 2, tw = (out_dims->w + 1) / 2;
    const size_t image = (size_t)in_dims->h * in_dims->w * ch;
    int32_t tiles = out_dims->n * th * tw;
    int32_t b = 0, ty = 0, tx = 0; // the next tile
    int8_t *t0[4], *t1[4];
    for (; tiles > 0; tiles -= 2) {
        nn_wino_tile(p, in_dims, in + b * image, 2 * ty, 2 * tx, pad, v, 0);
        nn_wino_pixels(out_dims, b, 2 * ty, 2 * tx, out, t0);
        nn_wino_next(th, tw, &b, &ty, &tx);
        if (tiles >= 2) {
            nn_wino_tile(p, in_dims, in + b * image, 2 * ty, 2 * tx, pad, v, 1);
            nn_wino_pixels(out_dims, b, 2 * ty, 2 * tx, out, t1);
            nn_wino_next(th, tw, &b, &ty, &tx);
        } else {
            t1[0] = t1[1] = t1[2] = t1[3] = NULL;
        }
        nn_wino_gemm(p, chan, filter, c4, out_ch, v, t0, t1, flags);
    }
    return NN_OK;
}
