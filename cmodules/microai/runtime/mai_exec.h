// microai blob executor: validates a blob once (load), then runs it from the arena.
// Pure C99: no allocation, no printf; errors are codes with the op/tensor at fault, and
// the front ends (cffi host engine, MicroPython module) turn them into messages.
#ifndef MICROAI_MAI_EXEC_H
#define MICROAI_MAI_EXEC_H

#include <stddef.h>
#include <stdint.h>

#include "mai_blob.h"
#include "nn_types.h"

typedef enum {
    MAI_OK = 0,
    MAI_E_TRUNCATED = 1,      ///< blob shorter than its header or its total_size
    MAI_E_MAGIC = 2,          ///< not a microai blob
    MAI_E_VERSION = 3,        ///< blob version this runtime does not read
    MAI_E_CRC = 4,            ///< CRC mismatch: corrupted blob
    MAI_E_LAYOUT = 5,         ///< a section or table outside the blob, or misaligned
    MAI_E_TENSOR = 6,         ///< tensor `index` invalid (bounds, dtype, rank, size)
    MAI_E_OP = 7,             ///< op `index` invalid (type, io, params, kernel, shapes)
    MAI_E_ARENA_TOO_SMALL = 8,///< the arena is smaller than the blob's arena_size
    MAI_E_ARENA_ALIGN = 9,    ///< the arena is not 16-byte aligned
    MAI_E_KERNEL = 10,        ///< a kernel returned an error at invoke (op `index`)
    MAI_E_IO = 11,            ///< model input/output index out of range
    MAI_E_ARENA_OVERLAP = 12, ///< the arena and the blob share bytes
} mai_status;

/// Which load-time check failed (mai_error.detail for MAI_E_TENSOR / MAI_E_OP).
typedef enum {
    MAI_CHECK_NONE = 0,
    MAI_CHECK_BOUNDS = 1,      ///< offset/size outside the blob or the arena
    MAI_CHECK_ALIGN = 2,       ///< data not aligned for its type
    MAI_CHECK_DTYPE = 3,       ///< unknown storage type, or not the one the op takes
    MAI_CHECK_RANK = 4,        ///< rank > MAI_MAX_RANK or not the one the op takes
    MAI_CHECK_SIZE = 5,        ///< size disagrees with the dims packed in the storage
    MAI_CHECK_OP_TYPE = 6,     ///< unknown op type
    MAI_CHECK_IO_COUNT = 7,    ///< wrong number of inputs/outputs for the op
    MAI_CHECK_IO_ID = 8,       ///< an input/output tensor id out of range
    MAI_CHECK_PARAMS_SIZE = 9, ///< params_size is not the op's params struct size
    MAI_CHECK_PARAM = 10,      ///< a parameter value out of range
    MAI_CHECK_SHAPE = 11,      ///< input/weight/output shapes do not agree
    MAI_CHECK_KERNEL = 12,     ///< kernel field is not what the wrapper would pick
    MAI_CHECK_SCRATCH = 13,    ///< scratch_size differs from the kernel's scratch size
    MAI_CHECK_CONST = 14,      ///< a weight/bias/multiplier input is not a blob constant
    MAI_CHECK_DIMS = 15,       ///< a dim outside 1..MAI_MAX_DIM, or too many elements
    MAI_CHECK_OVERLAP = 16,    ///< scratch, inputs and outputs share arena bytes
    MAI_CHECK_COUNT = 17,      ///< a model with no inputs or no outputs
    MAI_CHECK_ZERO_POINT = 18, ///< zero point outside the storage's range (0: s32, f32, b1)
    MAI_CHECK_QUANT = 19,      ///< scale negative, NaN or infinite
    MAI_CHECK_LAYOUT = 20,     ///< a layout (or its metadata) the tensor or op cannot take
    MAI_CHECK_ROUNDING = 21,   ///< a rounding the op's kernel does not do
    MAI_CHECK_SUPPORTS = 22,   ///< the chosen kernel does not take this op (mai_error.why)
} mai_check;

/// Where an error is: the op or tensor index, and what failed.
typedef struct {
    int32_t index;   ///< op or tensor index, or -1
    int32_t detail;  ///< mai_check for load errors; nn_status for MAI_E_KERNEL
    const char *why; ///< MAI_CHECK_SUPPORTS: the kernel's reason (a fixed string), else NULL
} mai_error;

/// A tensor as an op sees it.
typedef struct {
    void *data;     ///< NULL for an omitted optional input
    nn_dims dims;   ///< 4-D right-aligned view of the shape
    uint32_t size;  ///< bytes
    uint8_t storage;  ///< mai_storage
    uint8_t rank;
    uint8_t is_const; ///< 1 when the bytes are a blob constant (weights, bias, ...)
    uint8_t layout;   ///< mai_layout
    uint8_t is_state; ///< 1 for a state tensor (MAI_MEM_STATE): the op may update it
    int32_t zero_point;
    float scale;
    const void *aux;  ///< the layout's metadata in the blob (checked at load), or NULL
    uint32_t aux_size;
} mai_tensor_view;

#define MAI_MAX_OP_IO (8)

/// What an op's prepare/eval functions get.
typedef struct {
    const void *params;
    uint32_t params_size;
    uint8_t kernel;
    uint8_t rounding; ///< mai_rounding
    uint8_t n_in;
    uint8_t n_out;
    mai_tensor_view in[MAI_MAX_OP_IO];
    mai_tensor_view out[MAI_MAX_OP_IO];
    void *scratch;
    uint32_t scratch_size;
} mai_op_ctx;

/// A loaded model: the blob (in place), the arena, and the checked tables.
typedef struct {
    const uint8_t *blob;
    const mai_header *header;
    const mai_tensor *tensors;
    const mai_op *ops;
    uint8_t *arena;
    uint32_t arena_size;
    uint16_t n_tensors; ///< the checked counts: the walk does not re-read the header
    uint16_t n_ops;
} mai_model;

/// Check everything in the blob once; on success m is ready to invoke.
mai_status mai_load(mai_model *m, const void *blob, size_t blob_size, void *arena,
    size_t arena_size, mai_error *err);
/// Run every op in order.
mai_status mai_invoke(const mai_model *m, mai_error *err);
/// Fill every state tensor (MAI_MEM_STATE) with its zero point, as at load: the model
/// forgets every earlier invocation (a recurrent model's new sequence).
void mai_reset(const mai_model *m);
/// Run op i alone (the host engine uses it to look at every intermediate tensor).
mai_status mai_invoke_op(const mai_model *m, uint32_t i, mai_error *err);
/// Address of tensor t's bytes (in the arena or the blob), or NULL if t is out of range.
void *mai_tensor_data(const mai_model *m, uint32_t t);
/// Tensor id of model input/output i, or MAI_NO_TENSOR.
uint32_t mai_input(const mai_model *m, uint32_t i);
uint32_t mai_output(const mai_model *m, uint32_t i);
/// Fixed, human-readable names (no formatting).
const char *mai_status_str(mai_status s);
const char *mai_check_str(mai_check c);
/// CRC-32 (IEEE 802.3, as zlib.crc32) of n bytes, continuing from crc (0 to start).
uint32_t mai_crc32(uint32_t crc, const void *data, size_t n);

/// op's context (tensor views, params, scratch) as the kernels see it; for the loader.
void mai_make_ctx(const mai_model *m, const mai_op *op, mai_op_ctx *ctx);

/// The table (mai_table.h), for the host: names (NULL for a number with no row), a
/// kernel's algorithm name, the op type it runs (-1 for none), kernels in order of preference (i = 0, 1, ... until
/// NN_KERNEL_NONE), storage bits, and a kernel's checks on a context the host built.
const char *mai_op_name(uint32_t type);
const char *mai_op_params_type(uint32_t type);
const char *mai_kernel_name(uint32_t kernel);
const char *mai_kernel_algorithm(uint32_t kernel);
int32_t mai_kernel_op(uint32_t kernel);
int32_t mai_kernel_weights(uint32_t kernel);
const char *mai_weights_name(uint32_t weights);
int32_t mai_weights_storage(uint32_t weights);
int32_t mai_weights_layout(uint32_t weights);
uint32_t mai_kernel_order(uint32_t i);
const char *mai_storage_name(uint32_t storage);
uint32_t mai_storage_bits(uint32_t storage);
const char *mai_kernel_supports(uint32_t kernel, const mai_op_ctx *ctx);
uint32_t mai_kernel_scratch(uint32_t kernel, const mai_op_ctx *ctx);

/// How a CONV's or DWCONV's output 0 lies against its input 0 (MAI_OVERLAP_TRAILING: it
/// starts before the input and runs into it), and the least gap for a trailing output
/// (ops/conv.c); the host's planner places outputs with them.
typedef enum {
    MAI_OVERLAP_NONE,
    MAI_OVERLAP_SAME_START,
    MAI_OVERLAP_TRAILING,
    MAI_OVERLAP_AHEAD,
} mai_overlap_kind;
mai_overlap_kind mai_overlap(const mai_op_ctx *ctx);
uint64_t mai_conv_trail_bytes(const mai_op_ctx *ctx);

#endif // MICROAI_MAI_EXEC_H
