"""The IR: a model's tensors and ops as plain Python objects with numpy data.

Made by the TFLite reader (tflite.py), transformed (fusion, aliasing), lowered op by op
to the blob's ops (ops/), planned (planner.py) and packed (blob.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import InputError


class ConvertError(InputError):
    """The model cannot be converted; the message names the op, its index and tensors."""


STORAGE_OF = {  # numpy dtype -> blob storage type (blob.STORAGES)
    np.dtype(np.int8): "s8",
    np.dtype(np.int16): "s16",
    np.dtype(np.int32): "s32",
    np.dtype(np.float32): "f32",
}


@dataclass
class Tensor:
    index: int
    name: str
    shape: tuple[int, ...]
    dtype: np.dtype
    scale: np.ndarray | None = None  # float32, 1 entry or one per channel
    zero_point: np.ndarray | None = None  # int64, same length as scale
    quantized_dimension: int = 0
    data: np.ndarray | None = None  # constant data, shaped and typed
    # How the blob stores it (a key of blob.STORAGES; "" = as its dtype says) and in
    # which layout: the compression passes (int4, binary, sparse, Winograd) set these.
    storage_override: str = ""
    layout: str = "standard"
    # Stored with TFLite's sparse encoding (SparsityParameters) in the model, densified on
    # read: LiteRT runs such FC weights with its own (double-rounding) kernel.
    sparse: bool = False
    # A variable tensor (is_variable: an SVDF's or LSTM's state): kept from one invocation
    # to the next in bytes of its own (blob.MEM_STATE), zero-point-filled at load.
    variable: bool = False
    # A band of another tensor's rows (passes/patches.py): (that tensor, its first row).
    rows_of: tuple[int, int] | None = None

    @property
    def storage(self) -> str:
        """The blob storage type: s8, s16, s32, f32 from the dtype, unless a pass chose
        another (s4, b1)."""
        if self.storage_override:
            return self.storage_override
        return STORAGE_OF.get(np.dtype(self.dtype), "")

    @property
    def is_const(self) -> bool:
        return self.data is not None

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) * self.dtype.itemsize

    @property
    def zp(self) -> int:
        """The per-tensor zero point (activations are always per-tensor)."""
        return 0 if self.zero_point is None else int(self.zero_point[0])

    @property
    def scale1(self) -> float:
        """The per-tensor scale as a float (requires a quantized tensor)."""
        if self.scale is None:
            raise ConvertError(f"tensor {self.index} '{self.name}' is not quantized")
        return float(self.scale[0])


@dataclass
class Op:
    index: int  # position in the source model's operator list
    opcode: str  # TFLite builtin name, e.g. "CONV_2D"
    inputs: list[int]  # tensor indices; -1 = omitted optional input
    outputs: list[int]
    options: dict = field(default_factory=dict)  # snake_case option fields, e.g. stride_w
    # The converter's intermediate tensors (an integer LSTM's gate and hidden scales).
    intermediates: list[int] = field(default_factory=list)


@dataclass
class Graph:
    tensors: list[Tensor]
    ops: list[Op]
    inputs: list[int]
    outputs: list[int]
    name: str = "model"

    def t(self, i: int) -> Tensor:
        if not 0 <= i < len(self.tensors):  # -1 is an omitted input, never the last tensor
            raise IndexError(f"tensor {i} is omitted or does not exist")
        return self.tensors[i]

    def describe(self, op: Op) -> str:
        """'CONV_2D (op 3; inputs: a, b; outputs: c)' for error messages."""
        names = lambda ids: ", ".join(self.tensors[i].name if i >= 0 else "-" for i in ids)  # noqa: E731
        return (
            f"{op.opcode} (op {op.index}; inputs: {names(op.inputs)}; outputs: {names(op.outputs)})"
        )
