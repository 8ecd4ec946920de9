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
"""

from __future__ import annotations

import math

import numpy as np

from . import blob as B
from . import native

# The IR storage (ir.Tensor.storage) each format is made from.
SOURCE = {"s8": "s8", "wide": "s8", "s4": "s4", "s4_rows": "s4"}
# Formats that cost flash beyond the model's own weights: only the cost model picks them
# (passes/choose_layouts.py), or a recipe; "auto" never does.
EXTRA_FLASH = frozenset({"wide"})


def storage(fmt: str) -> str:
    return native.table()["weights"][fmt][0]


def layout(fmt: str) -> str:
    return native.table()["weights"][fmt][1]


def natural(fmt: str, ir_storage: str) -> bool:
    """A kernel reading `fmt` is one "auto" may take for weights stored as `ir_storage`
    (a kernel without weights always is)."""
    return fmt == "none" or (SOURCE.get(fmt) == ir_storage and fmt not in EXTRA_FLASH)


def _rows_k(shape) -> tuple[int, int]:
    rows = int(shape[0]) if len(shape) else 1
    return rows, math.prod(int(d) for d in shape) // max(rows, 1)


def nbytes(fmt: str, shape) -> int:
    """Bytes of weights of `shape` in format `fmt`."""
    if fmt == "wide":
        _, lib = native.load()
        return int(lib.nn_conv_w16_bytes(*_rows_k(shape)))
    if fmt == "s4_rows":
        _, lib = native.load()
        return int(lib.nn_s4_rows_bytes(*_rows_k(shape)))
    if layout(fmt) == "standard":
        return B.storage_bytes(storage(fmt), tuple(shape))
    raise ValueError(f"no host preparation for weights format {fmt!r}")


def prepare(fmt: str, data: np.ndarray) -> bytes:
    """The bytes of the IR's weights `data` (int8 values, as ir.Tensor.data holds them)
    in format `fmt`, as the kernel reads them."""
    if fmt == "wide":
        ffi, lib = native.load()
        rows, k = _rows_k(data.shape)
        src = np.ascontiguousarray(data, dtype=np.int8)
        out = bytearray(nbytes(fmt, data.shape))
        lib.nn_conv_w16_prepare(
            ffi.from_buffer("int8_t[]", src), rows, k, ffi.from_buffer("int16_t[]", out)
        )
        return bytes(out)
    if fmt == "s8":
        return np.ascontiguousarray(data, dtype=np.int8).tobytes()
    if fmt == "s4":
        return B.element_bytes("s4", data)
    if fmt == "s4_rows":
        ffi, lib = native.load()
        rows, k = _rows_k(data.shape)
        packed = B.element_bytes("s4", data)
        out = bytearray(nbytes(fmt, data.shape))
        lib.nn_s4_rows_prepare(
            ffi.from_buffer("uint8_t[]", packed), rows, k, ffi.from_buffer("uint8_t[]", out)
        )
        return bytes(out)
    raise ValueError(f"no host preparation for weights format {fmt!r}")
