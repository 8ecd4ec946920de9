// microai blob (.mai) format, version 2: the contract between the host converter and
// the runtime. Documented in docs/blob-format.md; mirrored field for field, in the
// same order, by host/microai/blob.py (a test checks sizes and offsets through cffi).
//
// Little-endian. Offsets are from the start of the blob. Every section starts on a
// 16-byte boundary; the blob is used in place (weights are never copied).
//
//   mai_header | mai_tensor[n_tensors] | mai_op[n_ops] | u16 io ids | params | const data
#ifndef MICROAI_MAI_BLOB_H
#define MICROAI_MAI_BLOB_H

#include <stdint.h>

#define MAI_MAGIC (0x3149414du)   // "MAI1" read as a little-endian u32
#define MAI_VERSION (2)        // version 1 blobs are refused: reconvert the model
#define MAI_ALIGN (16)
#define MAI_MAX_RANK (4)
#define MAI_NO_TENSOR (0xffffu)   // an omitted optional op input
// Format limits, checked at load: every dim is 1..MAI_MAX_DIM and a tensor holds at most
// MAI_MAX_ELEMENTS elements, so that no index, size or int32 sum of int8 values
// (255 x MAI_MAX_ELEMENTS < 2^31) a kernel computes can overflow.
#define MAI_MAX_DIM (65535)
#define MAI_MAX_ELEMENTS (0x800000u) // 2^23

/// How a tensor's elements are stored, with their width in bits.
///   S4: two per byte over the whole tensor, element 2i in the low nibble, two's
///       complement, an odd count leaves a zero high nibble (TFLite's INT4 order):
///       {1, -2, 3} -> bytes 0xE1 0x03.
///   B1: bit-packed along the innermost axis into little-endian 32-bit words: channel c
///       is bit c % 32 of word c / 32, bit 1 means -1, padding bits 0 (Larq Compute
///       Engine's convention); a [2, 40] tensor is 2 rows of 2 words = 16 bytes.
typedef enum {
    MAI_STORAGE_S8 = 0,
    MAI_STORAGE_S32 = 1,
    MAI_STORAGE_F32 = 2,
    MAI_STORAGE_S16 = 3,
    MAI_STORAGE_S4 = 4,
    MAI_STORAGE_B1 = 5,
    MAI_STORAGE_COUNT = 6,
} mai_storage;

/// How a constant tensor's bytes are arranged: the standard TFLite order, or an order
/// the host prepared for the kernels whose table row reads it (mai_table.h).
typedef enum {
    MAI_LAYOUT_STANDARD = 0,    ///< TFLite's order (OHWI, 1HWO, [out, in]) in `storage`
    MAI_LAYOUT_WINOGRAD = 1,    ///< transformed for a Winograd kernel
    MAI_LAYOUT_BLOCK_SPARSE = 2,///< non-zero blocks; the index/mask is the tensor's aux
    MAI_LAYOUT_WIDE = 3,        ///< int8 weights widened to int16 (storage S16) for SMLAD:
                                ///< rows (dims[0]) padded to whole groups of 4 taps, each
                                ///< group in the order 0, 2, 1, 3 (nn_conv_w16_prepare())
    MAI_LAYOUT_S4_ROWS = 4,     ///< int4 weights (storage S4) for SXTB16: rows (dims[0])
                                ///< padded to whole groups of 8 taps, 4 bytes a group, byte
                                ///< j holding taps j (low nibble) and 4 + j (high nibble)
                                ///< (nn_s4_rows_prepare())
    MAI_LAYOUT_B1_DENSE = 5,    ///< binary weights (storage B1): each row's (dims[0])
                                ///< taps x channels bits back to back, no padding
                                ///< between taps, then zeros to a whole word
                                ///< (nn_b1_dense_prepare())
    MAI_LAYOUT_COUNT = 6,
} mai_layout;


/// Where a tensor's bytes live.
typedef enum {
    MAI_MEM_ARENA = 0, ///< offset is into the arena (activations, model inputs/outputs)
    MAI_MEM_BLOB = 1,  ///< offset is into the blob (constants: weights, bias, multipliers)
    MAI_MEM_STATE = 2, ///< offset is into the arena, bytes no other tensor or scratch
                       ///< shares, kept from one invocation to the next (an SVDF's or
                       ///< LSTM's variable tensor): filled with the zero point at load
                       ///< and by mai_reset()
    MAI_MEM_COUNT = 3,
} mai_mem;

/// Op types: one per executor entry (RESHAPE and SQUEEZE become aliases, not ops).
typedef enum {
    MAI_OP_CONV = 0,        ///< CONV_2D: in, filter, bias|none, multiplier, shift
    MAI_OP_DWCONV = 1,      ///< DEPTHWISE_CONV_2D: same inputs
    MAI_OP_FC = 2,          ///< FULLY_CONNECTED: in, weights, bias|none, multiplier, shift
    MAI_OP_AVGPOOL = 3,     ///< AVERAGE_POOL_2D
    MAI_OP_MAXPOOL = 4,     ///< MAX_POOL_2D
    MAI_OP_ADD = 5,
    MAI_OP_MUL = 6,
    MAI_OP_SOFTMAX = 7,
    MAI_OP_LUT = 8,
    MAI_OP_MEAN = 9,
    MAI_OP_PAD = 10,
    MAI_OP_CONCAT = 11,
    MAI_OP_REQUANTIZE = 12, ///< QUANTIZE int8 -> int8
    MAI_OP_QUANTIZE = 13,   ///< QUANTIZE float32 -> int8
    MAI_OP_DEQUANTIZE = 14, ///< DEQUANTIZE int8 -> float32
    MAI_OP_BCONV = 15,      ///< LceBconv2d: in (b1), filter (b1), mul|none, bias|thresholds
    MAI_OP_BMAXPOOL = 16,   ///< LceBMaxPool2d
    MAI_OP_BQUANTIZE = 17,  ///< LceQuantize: int8 / float32 -> b1
    MAI_OP_BDEQUANTIZE = 18,///< LceDequantize: b1 -> int8 / float32
    MAI_OP_TRANSPOSE = 19,  ///< TRANSPOSE
    MAI_OP_RELU = 20,       ///< RELU, RELU6, LEAKY_RELU
    MAI_OP_MINMAX = 21,     ///< MAXIMUM, MINIMUM
    MAI_OP_SLICE = 22,      ///< STRIDED_SLICE
    MAI_OP_SPLIT = 23,      ///< SPLIT, SPLIT_V: one input, up to MAI_MAX_OP_IO outputs
    MAI_OP_GATHER = 24,     ///< GATHER: in, indices (a constant s32 tensor)
    MAI_OP_BATCH_MATMUL = 25, ///< BATCH_MATMUL: lhs, rhs (int8, either may be constant)
    MAI_OP_SOFTMAX16 = 26,  ///< SOFTMAX of int16 (16x8), its tables in the params
    MAI_OP_SVDF = 27,       ///< SVDF: in, weights_feature, weights_time, bias?, state
    MAI_OP_LSTM = 28,       ///< UNIDIRECTIONAL_SEQUENCE_LSTM: in, w_in, w_rec, bias,
                            ///< hidden state, cell state
    MAI_OP_COUNT = 29,
} mai_op_type;

/// The blob header (64 bytes).
typedef struct {
    uint32_t magic;          ///< MAI_MAGIC
    uint16_t version;        ///< MAI_VERSION
    uint16_t header_size;    ///< sizeof(mai_header)
    uint32_t total_size;     ///< bytes in the whole blob
    uint32_t crc32;          ///< CRC-32 (IEEE, as zlib) of bytes [16, total_size)
    uint32_t arena_size;     ///< bytes of arena the model needs (activations + scratch)
    uint32_t flags;          ///< reserved, 0
    uint16_t n_tensors;
    uint16_t n_ops;
    uint16_t n_inputs;
    uint16_t n_outputs;
    uint32_t tensors_offset; ///< mai_tensor[n_tensors]
    uint32_t ops_offset;     ///< mai_op[n_ops]
    uint32_t io_offset;      ///< u16 model inputs[n_inputs], then outputs[n_outputs]
    uint32_t params_offset;  ///< start of the op parameter section
    uint32_t data_offset;    ///< start of the constant data section
    uint32_t data_size;
    uint32_t reserved[2];
} mai_header;

/// One tensor (48 bytes).
typedef struct {
    uint8_t storage;     ///< mai_storage
    uint8_t rank;        ///< 0..MAI_MAX_RANK
    uint8_t mem;         ///< mai_mem
    uint8_t layout;      ///< mai_layout (STANDARD for arena tensors)
    uint32_t offset;     ///< into the arena or the blob, per mem
    uint32_t size;       ///< bytes, as `storage` packs the dims (a layout may add bytes)
    int32_t dims[MAI_MAX_RANK]; ///< shape, right-aligned: rank 2 [a, b] is {1, 1, a, b}
    int32_t zero_point;  ///< per-tensor zero point (0 when not quantized)
    float scale;         ///< per-tensor scale: real = scale * (q - zero_point); 0 if none
    uint32_t aux_offset; ///< the layout's metadata (a sparse block mask...) in the blob
    uint32_t aux_size;   ///< its bytes; 0 for none
    uint32_t reserved;
} mai_tensor;

/// One op (32 bytes).
typedef struct {
    uint8_t type;            ///< mai_op_type
    uint8_t kernel;          ///< the kernel the host chose; the loader runs its checks
    uint8_t n_in;
    uint8_t n_out;
    uint32_t io_offset;      ///< u16 tensor ids: n_in inputs, then n_out outputs
    uint32_t params_offset;  ///< the op's params struct (nn_conv_params, ...)
    uint32_t params_size;
    uint32_t scratch_offset; ///< into the arena
    uint32_t scratch_size;
    uint8_t rounding;        ///< nn_rounding of the requantization (nn_types.h)
    uint8_t reserved[3];
    uint32_t reserved2;
} mai_op;

#endif // MICROAI_MAI_BLOB_H
