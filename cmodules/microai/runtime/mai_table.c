// microai: the rows of mai_table.h, placed at their numbers, and the accessors the host
// reads them through (cffi): names, op of a kernel, storage bits, preference order.
#include "mai_table.h"

#define MAI_OP_ROW(NAME, prepare, params) \
    [MAI_OP_##NAME] = {#NAME, #params, sizeof(params), prepare},
const mai_op_row mai_op_rows[MAI_OP_COUNT] = {MAI_OP_TABLE(MAI_OP_ROW)};

#define MAI_KERNEL_ROW(NAME, OP, ALGORITHM, WEIGHTS, supports, scratch, eval) \
    [NN_KERNEL_##NAME] = {#NAME, #ALGORITHM, MAI_OP_##OP, MAI_WEIGHTS_##WEIGHTS, supports, \
                          scratch, eval},
const mai_kernel_row mai_kernel_rows[NN_KERNEL_COUNT] = {MAI_KERNEL_TABLE(MAI_KERNEL_ROW)};

#define MAI_WEIGHTS_ROW(NAME, STORAGE, LAYOUT) \
    [MAI_WEIGHTS_##NAME] = {#NAME, MAI_STORAGE_##STORAGE, MAI_LAYOUT_##LAYOUT},
const mai_weights_row mai_weights_rows[MAI_WEIGHTS_COUNT] = {MAI_WEIGHTS_TABLE(MAI_WEIGHTS_ROW)};

#define MAI_KERNEL_ID(NAME, OP, ALGORITHM, WEIGHTS, supports, scratch, eval) NN_KERNEL_##NAME,
static const uint8_t kernel_order[] = {MAI_KERNEL_TABLE(MAI_KERNEL_ID)};

#define MAI_STORAGE_NAME(NAME, bits) [MAI_STORAGE_##NAME] = #NAME,
static const char *const storage_names[MAI_STORAGE_COUNT] = {MAI_STORAGE_TABLE(MAI_STORAGE_NAME)};
#define MAI_STORAGE_BITS(NAME, bits) [MAI_STORAGE_##NAME] = bits,
static const uint8_t storage_bits[MAI_STORAGE_COUNT] = {MAI_STORAGE_TABLE(MAI_STORAGE_BITS)};

const char *mai_op_name(uint32_t type) {
    return type < MAI_OP_COUNT ? mai_op_rows[type].name : NULL;
}

const char *mai_op_params_type(uint32_t type) {
    return type < MAI_OP_COUNT ? mai_op_rows[type].params_type : NULL;
}

const char *mai_kernel_name(uint32_t kernel) {
    return kernel < NN_KERNEL_COUNT ? mai_kernel_rows[kernel].name : NULL;
}

const char *mai_kernel_algorithm(uint32_t kernel) {
    return mai_kernel_name(kernel) ? mai_kernel_rows[kernel].algorithm : NULL;
}

int32_t mai_kernel_op(uint32_t kernel) {
    return mai_kernel_name(kernel) ? mai_kernel_rows[kernel].op : -1;
}

int32_t mai_kernel_weights(uint32_t kernel) {
    return mai_kernel_name(kernel) ? mai_kernel_rows[kernel].weights : -1;
}

const char *mai_weights_name(uint32_t weights) {
    return weights < MAI_WEIGHTS_COUNT ? mai_weights_rows[weights].name : NULL;
}

int32_t mai_weights_storage(uint32_t weights) {
    return weights < MAI_WEIGHTS_COUNT ? mai_weights_rows[weights].storage : -1;
}

int32_t mai_weights_layout(uint32_t weights) {
    return weights < MAI_WEIGHTS_COUNT ? mai_weights_rows[weights].layout : -1;
}

uint32_t mai_kernel_order(uint32_t i) {
    return i < sizeof(kernel_order) ? kernel_order[i] : NN_KERNEL_NONE;
}

const char *mai_storage_name(uint32_t storage) {
    return storage < MAI_STORAGE_COUNT ? storage_names[storage] : NULL;
}

uint32_t mai_storage_bits(uint32_t storage) {
    return storage < MAI_STORAGE_COUNT ? storage_bits[storage] : 0;
}

const char *mai_kernel_supports(uint32_t kernel, const mai_op_ctx *ctx) {
    if (mai_kernel_name(kernel) == NULL) {
        return "no such kernel";
    }
    return mai_kernel_rows[kernel].supports(ctx);
}

uint32_t mai_kernel_scratch(uint32_t kernel, const mai_op_ctx *ctx) {
    return mai_kernel_name(kernel) ? mai_kernel_rows[kernel].scratch(ctx) : 0;
}

// The rows of kernels that take every op their op type's checks pass.
const char *mai_supports_any(const mai_op_ctx *ctx) {
    (void)ctx;
    return NULL;
}

uint32_t mai_scratch_none(const mai_op_ctx *ctx) {
    (void)ctx;
    return 0;
}
