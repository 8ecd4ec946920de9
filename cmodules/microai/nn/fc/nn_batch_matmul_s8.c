// BATCH_MATMUL int8, as TFLite's reference BatchMatMul computes it: per output matrix
// (batch0 x batch1 of them, each input's batch strides 0 where it broadcasts), out[i][j]
// = requantize(sum_k (lhs(i, k) + lhs_offset) * (rhs(k, j) + rhs_offset)) + offset,
// saturated. lhs(i, k) is lhs[i * depth + k], or lhs[k * rows + i] with adj_x; rhs(k, j)
// is rhs[k * cols + j], or rhs[j * depth + k] with adj_y. int32 sums wrap as TFLite's.
#include "nn_functions.h"

nn_status nn_batch_matmul_s8(const nn_batch_matmul_params *p, int32_t rounding,
    const int8_t *lhs, const int8_t *rhs, int8_t *out) {
    const int32_t rows = p->rows, cols = p->cols, depth = p->depth;
    if (rows < 1 || cols < 1 || depth < 1 || p->batch0 < 1 || p->batch1 < 1) {
        return NN_ERR_ARG;
    }
    const int32_t l_row = p->adj_x ? 1 : depth, l_k = p->adj_x ? rows : 1;
    const int32_t r_k = p->adj_y ? 1 : cols, r_col = p->adj_y ? depth : 1;
    const int32_t lo = p->lhs_offset, ro = p->rhs_offset, off = p->output_offset;
    const int single = rounding == NN_ROUNDING_SINGLE;
    for (int32_t b0 = 0; b0 < p->batch0; b0++) {
        for (int32_t b1 = 0; b1 < p->batch1; b1++) {
            const int8_t *l = lhs + (size_t)b0 * p->lhs_stride0 + (size_t)b1 * p->lhs_stride1;
            const int8_t *r = rhs + (size_t)b0 * p->rhs_stride0 + (size_t)b1 * p->rhs_stride1;
            for (int32_t i = 0; i < rows; i++) {
                for (int32_t j = 0; j < cols; j++) {
                    const int8_t *a = l + (size_t)i * l_row, *b = r + (size_t)j * r_col;
                    uint32_t acc = 0;
                    for (int32_t k = 0; k < depth; k++) {
                        acc += (uint32_t)((a[(size_t)k * l_k] + lo) * (b[(size_t)k * r_k] + ro));
                    }
                    int32_t v = single ? nn_requantize_single((int32_t)acc, p->multiplier, p->shift)
                        : nn_requantize((int32_t)acc, p->multiplier, p->shift);
                    v = (int32_t)((uint32_t)v + (uint32_t)off);
                    *out++ = (int8_t)(v < -128 ? -128 : (v > 127 ? 127 : v));
                }
            }
        }
    }
    return NN_OK;
}
