"""Weights layouts the host prepares for a kernel (blob.LAYOUTS; the C table's
`weights` column says which kernel reads which): their storage, their bytes, and the
bytes themselves, made by the C core's own functions (through cffi) so that the host
and the board cannot disagree on an order.

- "wide" (MAI_LAYOUT_WIDE): CONV weights [out, kh, kw, in] widened to int16 for SMLAD,
  each row padded with zeros to whole groups of 4 taps, every group in the order 0, 2,
  1, 3 (nn_conv_w16_prepare(); read by the *_S8W16 kernels). About twice the flash of
  int8; a quarter fewer inner-loop instructions on a DSP core (cost.INNER_LOOP).
"""

from __future__ import annotations

import math

import numpy as np

from . import native

STORAGE = {"standard": None, "wide": "s16"}  # None: the tensor's own


def _rows_k(shape) -> tuple[int, int]:
    rows = int(shape[0]) if len(shape) else 1
    return rows, math.prod(int(d) for d in shape) // max(rows, 1)


def nbytes(layout: str, shape) -> int:
    """Bytes of a tensor of `shape` prepared in `layout` (not "standard")."""
    if layout == "wide":
        _, lib = native.load()
        return int(lib.nn_conv_w16_bytes(*_rows_k(shape)))
    raise ValueError(f"no host preparation for layout {layout!r}")


def prepare(layout: str, data: np.ndarray) -> bytes:
    """The bytes of int8 weights `data` in `layout`, as the kernel reads them."""
    if layout == "wide":
        ffi, lib = native.load()
        rows, k = _rows_k(data.shape)
        src = np.ascontiguousarray(data, dtype=np.int8)
        out = bytearray(nbytes(layout, data.shape))
        lib.nn_conv_w16_prepare(
            ffi.from_buffer("int8_t[]", src), rows, k, ffi.from_buffer("int16_t[]", out)
        )
        return bytes(out)
    raise ValueError(f"no host preparation for layout {layout!r}")
