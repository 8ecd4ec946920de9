// Block-sparse int8 weights (nn_functions.h: nn_block4), made on the host: the blocks of
// 4 consecutive taps of each row that hold a non-zero tap, and their indices.
#include <string.h>

#include "nn_functions.h"

// Block b of a row of k taps has a non-zero tap (taps past k are zero).
static int nn_block4_used(const int8_t *row, int32_t k, int32_t b) {
    for (int32_t t = 4 * b; t < 4 * b + 4 && t < k; t++) {
        if (row[t] != 0) {
            return 1;
        }
    }
    return 0;
}

size_t nn_block4_nnz(const int8_t *w, int32_t rows, int32_t k) {
    const int32_t blocks = (k + 3) / 4;
    size_t nnz = 0;
    for (int32_t r = 0; r < rows; r++, w += k) {
        for (int32_t b = 0; b < blocks; b++) {
            nnz += (size_t)nn_block4_used(w, k, b);
        }
    }
    return nnz;
}

size_t nn_block4_aux_bytes(int32_t rows, size_t nnz) {
    return ((size_t)rows + 1) * sizeof(uint32_t) + ((nnz * sizeof(uint16_t) + 3) & ~(size_t)3);
}

void nn_block4_prepare(const int8_t *w, int32_t rows, int32_t k, int8_t *data,
    uint8_t *aux) {
    const int32_t blocks = (k + 3) / 4;
    const size_t nnz = nn_block4_nnz(w, rows, k);
    memset(aux, 0, nn_block4_aux_bytes(rows, nnz));
    uint8_t *index = aux + ((size_t)rows + 1) * sizeof(uint32_t);
    uint32_t n = 0;
    for (int32_t r = 0; r < rows; r++, w += k) {
        memcpy(aux + (size_t)r * sizeof(uint32_t), &n, sizeof(n));
        for (int32_t b = 0; b < blocks; b++) {
            if (!nn_block4_used(w, k, b)) {
                continue;
            }
            for (int32_t t = 0; t < 4; t++) {
                data[4 * n + (uint32_t)t] = 4 * b + t < k ? w[4 * b + t] : 0;
            }
            const uint16_t i = (uint16_t)b;
            memcpy(index + (size_t)n * sizeof(uint16_t), &i, sizeof(i));
            n++;
        }
    }
    memcpy(aux + (size_t)rows * sizeof(uint32_t), &n, sizeof(n));
}
