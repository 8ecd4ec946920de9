"""Weights formats (the C table's MAI_WEIGHTS_TABLE: a storage type and a layout each)
and how the host prepares a layer's weights in the one its kernel reads. Prepared
layouts are made by the C core's own functions (through cffi), so that the host and the
board cannot disagree on an order.

- "s8": int8, TFLite's order.
- "wide" (MAI_LAYOUT_WIDE): CONV weights [out, kh, kw, in] widened to int16 for SMLAD,
  each row padded with zeros to whole groups of 4 taps, every group in the order 0, 2,
  1, 3 (nn_conv_w16_prepare(); read by the *_S8W16 kernels). About twice the flash of
  int8; a quarter fewer inner-loop instructions on a DSP core (cost.INNER_LOOP).
- "s4": int4, TFLite's INT4 packing (element 2i in the low nibble of byte i), for the
  depthwise *_S4 kernels.
- "s4_rows" (MAI_LAYOUT_S4_ROWS): CONV weights [out, kh, kw, in] and FC weights
  [out, in] as int4 rows padded with zeros to whole groups of 8 taps, 4 bytes a group,
  byte j holding taps j (low nibble) and 4 + j (high nibble) (nn_s4_rows_prepare(); read
  by the CONV and FC *_S4 kernels). Half the flash of int8.
- "s8_block4" (MAI_LAYOUT_BLOCK_SPARSE): CONV [out, kh, kw, in] or FC [out, in] weights
  as rows of k taps cut into blocks of 4 (rows padded with zeros); only the blocks with
  a non-zero tap are kept (nn_block4_prepare(); read by the *_BLOCK4 kernels, which
  multiply those only). The tensor's bytes are the blocks, its aux the index (u32
  row_start[rows + 1], u16 block[nnz]). Fewer bytes and instructions than int8 when
  enough blocks are zero (cost.inner_instructions with the density).
- "winograd" (MAI_LAYOUT_WINOGRAD): 3x3 CONV weights [out, 3, 3, in] transformed for
  Winograd F(2x2, 3x3): U = G' g G'^T (G' = 2G, exact in int16) per (output, input)
  channel pair, as int16 [out][16][in padded to 4], the inputs in the order 0, 2, 1, 3
  of every four (nn_conv_winograd_prepare(); read by CONV_WINOGRAD_3X3_S8). 3.56x the
  flash of int8 for 2.25x fewer multiplies (cost.winograd_instructions).
- "b1" (MAI_LAYOUT_B1_DENSE): binary weights [out, kh, kw, in] (LCE's bit-packed words,
  a whole number a tap) with each row's kh x kw x in bits back to back
  (nn_b1_dense_prepare(); read by BCONV_B1, which gathers its input the same way).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from . import blob as B
from . import native

# The IR storage (ir.Tensor.storage) each format is made from.
SOURCE = {
    "s8": "s8",
    "wide": "s8",
    "s4": "s4",
    "s4_rows": "s4",
    "s8_block4": "s8",
    "winograd": "s8",
    "b1": "b1",
}
# Prepared formats that pay only on some layers, for some targets (more flash for fewer
# instructions, or fewer of both past a density): only the cost model picks them
# (passes/choose_layouts.py), or a recipe; "auto" never does.
PREPARED = frozenset({"wide", "s8_block4", "winograd"})
# The largest k a block index (u16) reaches.
BLOCK4_MAX_K = 4 * 65536


class Prepared(NamedTuple):
    """Weights in a format: the tensor's bytes, and the layout's metadata (aux) or None."""

    data: bytes
    aux: bytes | None = None


def storage(fmt: str) -> str:
    return native.table()["weights"][fmt][0]


def layout(fmt: str) -> str:
    return native.table()["weights"][fmt][1]


def natural(fmt: str, ir_storage: str) -> bool:
    """A kernel reading `fmt` is one "auto" may take for weights stored as `ir_storage`
    (a kernel without weights always is)."""
    return fmt == "none" or (SOURCE.get(fmt) == ir_storage and fmt not in PREPARED)


def _rows_k(shape) -> tuple[int, int]:
    rows = int(shape[0]) if len(shape) else 1
    return rows, math.prod(int(d) for d in shape) // max(rows, 1)


def _block4_nnz(data: np.ndarray) -> int:
    ffi, lib = native.load()
    rows, k = _rows_k(data.shape)
    src = np.ascontiguousarray(data, dtype=np.int8)
    return int(lib.nn_block4_nnz(ffi.from_buffer("int8_t[]", src), rows, k))


def density(data: np.ndarray) -> float:
    """The fraction of blocks of 4 (rows of k taps, padded) with a non-zero tap."""
    rows, k = _rows_k(data.shape)
    total = rows * -(-k // 4)
    return _block4_nnz(data) / total if total else 1.0


def nbytes(fmt: str, shape, data: np.ndarray | None = None) -> int:
    """Bytes of weights of `shape` in format `fmt` (the tensor's, without aux). A
    block-sparse format's depend on the values (`data`); without them, every block."""
    if fmt == "s8_block4":
        rows, k = _rows_k(shape)
        return 4 * (_block4_nnz(data) if data is not None else rows * -(-k // 4))
    if fmt == "wide":
        _, lib = native.load()
        return int(lib.nn_conv_w16_bytes(*_rows_k(shape)))
    if fmt == "s4_rows":
        _, lib = native.load()
        return int(lib.nn_s4_rows_bytes(*_rows_k(shape)))
    if fmt == "winograd":
        _, lib = native.load()
        return int(lib.nn_conv_winograd_bytes(int(shape[0]), int(shape[-1])))
    if fmt == "b1":
        _, lib = native.load()
        rows, k = _rows_k(shape)
        return rows * 4 * int(lib.nn_b1_dense_words(1, k))
    if layout(fmt) == "standard":
        return B.storage_bytes(storage(fmt), tuple(shape))
    raise ValueError(f"no host preparation for weights format {fmt!r}")


def _aligned(n: int) -> int:
    return -(-n // B.ALIGN) * B.ALIGN


def blob_bytes(fmt: str, data: np.ndarray) -> int:
    """What weights `data` take in a blob in format `fmt`: the tensor's bytes and its
    aux, each 16-byte aligned as blob.pack places them."""
    p = prepare(fmt, data)
    return _aligned(len(p.data)) + (_aligned(len(p.aux)) if p.aux else 0)


def prepare(fmt: str, data: np.ndarray, shape: tuple[int, ...] | None = None) -> Prepared:
    """The IR's weights `data` (int8 values, as ir.Tensor.data holds them; for "b1" LCE's
    int32 words, with the logical `shape` [out, kh, kw, in]) in format `fmt`, as the kernel
    reads them: the tensor's bytes and the layout's aux."""
    if fmt == "b1":
        ffi, lib = native.load()
        out_ch, kh, kw, cin = (int(d) for d in shape)
        src = np.ascontiguousarray(data, dtype=np.int32)
        out = bytearray(nbytes(fmt, shape))
        lib.nn_b1_dense_prepare(
            ffi.cast("uint32_t *", ffi.from_buffer(src)),
            out_ch,
            kh * kw,
            cin,
            ffi.cast("uint32_t *", ffi.from_buffer(out)),
        )
        return Prepared(bytes(out))
    if fmt == "s8_block4":
        ffi, lib = native.load()
        rows, k = _rows_k(data.shape)
        if k > BLOCK4_MAX_K:
            raise ValueError(f"s8_block4 weights have at most {BLOCK4_MAX_K} taps a row")
        src = np.ascontiguousarray(data, dtype=np.int8)
        nnz = _block4_nnz(src)
        out = bytearray(4 * nnz)
        aux = bytearray(int(lib.nn_block4_aux_bytes(rows, nnz)))
        lib.nn_block4_prepare(
            ffi.from_buffer("int8_t[]", src),
            rows,
            k,
            ffi.from_buffer("int8_t[]", out),
            ffi.from_buffer("uint8_t[]", aux),
        )
        return Prepared(bytes(out), bytes(aux))
    if fmt == "wide":
        ffi, lib = native.load()
        rows, k = _rows_k(data.shape)
        src = np.ascontiguousarray(data, dtype=np.int8)
        out = bytearray(nbytes(fmt, data.shape))
        lib.nn_conv_w16_prepare(
            ffi.from_buffer("int8_t[]", src), rows, k, ffi.from_buffer("int16_t[]", out)
        )
        return Prepared(bytes(out))
    if fmt == "winograd":
        ffi, lib = native.load()
        if data.ndim != 4 or data.shape[1:3] != (3, 3):
            raise ValueError(f"winograd weights are [out, 3, 3, in], not {list(data.shape)}")
        src = np.ascontiguousarray(data, dtype=np.int8)
        out = bytearray(nbytes(fmt, data.shape))
        lib.nn_conv_winograd_prepare(
            ffi.from_buffer("int8_t[]", src),
            int(data.shape[0]),
            int(data.shape[3]),
            ffi.from_buffer("int16_t[]", out),
        )
        return Prepared(bytes(out))
    if fmt == "s8":
        return Prepared(np.ascontiguousarray(data, dtype=np.int8).tobytes())
    if fmt == "s4":
        return Prepared(B.element_bytes("s4", data))
    if fmt == "s4_rows":
        ffi, lib = native.load()
        rows, k = _rows_k(data.shape)
        packed = B.element_bytes("s4", data)
        out = bytearray(nbytes(fmt, data.shape))
        lib.nn_s4_rows_prepare(
            ffi.from_buffer("uint8_t[]", packed), rows, k, ffi.from_buffer("uint8_t[]", out)
        )
        return Prepared(bytes(out))
    raise ValueError(f"no host preparation for weights format {fmt!r}")
