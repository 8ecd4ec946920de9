"""Type stubs for the `microai` module on the board (MicroPython), for IDE completion.

`microai stubs typings` writes this file into ./typings, where micropython-stubs users
keep their board stubs (Pylance and Pyright look there). The same names exist in the unix
port's firmware; tests/host/test_stubs.py checks the two agree.
"""

from array import array
from collections.abc import Iterable
from typing import Any, NamedTuple

__version__: str
HAS_DSP: bool
"""True when the firmware's kernels use the Cortex-M DSP extension (SMLAD...)."""
HAS_KERNEL_API: bool
"""True when conv2d, depthwise_conv2d and fully_connected are built in."""

def info() -> dict[str, Any]:
    """The firmware's facts: version, board, mcu, cpu, dsp, arena_size, arena_addr, and
    `cycles`, what profile() counts in ("DWT cycles" on hardware, "ticks_us" else)."""

def frozen() -> dict[str, memoryview]:
    """The blobs frozen into this firmware's flash, by name; run one with Model(frozen()[name])."""

class Blob:
    """n bytes on the heap, written once, checked and sealed; Model runs it in place."""

    def __init__(self, n: int) -> None: ...
    def write(self, offset: int, data: bytes) -> None:
        """Copy data to [offset, offset + len(data)) (before seal() only)."""
    def crc32(self, offset: int, n: int) -> int:
        """CRC-32 of bytes [offset, offset + n)."""
    def seal(self, crc: int) -> None:
        """Make the blob read-only; ValueError unless the CRC-32 of all its bytes is crc."""
    def receive(self) -> None:
        """Fill and seal the blob from framed binary chunks on the serial console (the
        host's `microai deploy --port` speaks this protocol); Ctrl-C gives the REPL back."""

class _ProfileRow(NamedTuple):
    """One op of Model.profile()."""

    op: str
    """The op's type, e.g. 'CONV'."""
    kernel: str
    """The kernel that ran it, e.g. 'CONV_IM2COL_S8'."""
    cost: int
    """Its cost, in `unit`."""
    unit: str
    """'cycles' (the DWT cycle counter), 'ns' (QEMU's clock) or 'none' (no counter: 0)."""

class Model:
    """A blob (.mai) ready to run: checked once by the loader, its activations in the
    firmware's static arena (or `arena`, a bytearray of at least the blob's arena size)."""

    input_shape: tuple[int, ...]
    """Input 0's shape, e.g. (1, 8, 8, 1)."""
    output_shape: tuple[int, ...]
    """Output 0's shape, e.g. (1, 10)."""
    input_dtype: str
    """'int8', 'int16', 'int32', 'float32' or 'b1'."""
    output_dtype: str
    input_scale: float | None
    """real = scale x (q - zero_point); None when input 0 has no scale."""
    input_zero_point: int
    output_scale: float | None
    output_zero_point: int

    def __init__(
        self, blob: bytes | bytearray | memoryview | Blob, arena: bytearray | None = None
    ) -> None: ...
    def predict(self, x: bytes | bytearray | memoryview | array | Iterable[Any]) -> array:
        """Run input 0 from x and return output 0 as array('f') of real values
        (array('b') of its int8 values when it has no scale). x is bytes (int8 values as
        they are), integers (int8 values), or floats (array('f'), array('d'), lists, nested
        to the input's shape or flat, ulab arrays) quantized with the input's scale and
        zero point as TFLite's QUANTIZE does. int8 input and output only; else use run()."""
    def input(self, i: int = 0) -> memoryview:
        """A view of input i's bytes in the arena (int8 for int8 models)."""
    def output(self, i: int = 0) -> memoryview:
        """A view of output i's bytes in the arena."""
    def invoke(self) -> None:
        """Run every op on the current input."""
    def reset(self) -> None:
        """Forget earlier inferences: every state (an SVDF's memory) back to its zero
        point, as when the Model was made."""
    def run(self, x: bytes | bytearray | memoryview, layers: int | None = None) -> bytes:
        """Copy x into input 0, run, return a copy of output 0; with `layers`, run only
        the first ops and return the last one's output."""
    def profile(self) -> list[_ProfileRow]:
        """One inference op by op: (op, kernel, cost, unit) per op."""
    def arena_info(self) -> dict[str, Any]:
        """arena_size, arena_used, arena_addr, static, blob_bytes, n_ops."""
    def close(self) -> None:
        """Release the model (the arena becomes free for another)."""

def conv2d(
    input: Any,
    input_shape: tuple[int, int, int, int],
    weights: Any,
    weights_shape: tuple[int, int, int, int],
    bias: Any,
    output: Any,
    output_shape: tuple[int, int, int, int],
    *,
    stride: tuple[int, int] = (1, 1),
    dilation: tuple[int, int] = (1, 1),
    padding: tuple[int, int] = (0, 0),
    input_offset: int = 0,
    output_offset: int = 0,
    multiplier: Any,
    shift: Any,
    act: tuple[int, int] = (-128, 127),
    scratch: bytearray | None = None,
    weights_bits: int = 8,
    groups: int = 1,
) -> None:
    """An int8 CONV_2D (NHWC input, OHWI weights; I = input channels / groups) into
    `output`, TFLite's arithmetic."""

def depthwise_conv2d(
    input: Any,
    input_shape: tuple[int, int, int, int],
    weights: Any,
    weights_shape: tuple[int, int, int, int],
    bias: Any,
    output: Any,
    output_shape: tuple[int, int, int, int],
    *,
    stride: tuple[int, int] = (1, 1),
    dilation: tuple[int, int] = (1, 1),
    padding: tuple[int, int] = (0, 0),
    input_offset: int = 0,
    output_offset: int = 0,
    multiplier: Any,
    shift: Any,
    act: tuple[int, int] = (-128, 127),
    scratch: bytearray | None = None,
    depth_multiplier: int = 1,
    weights_bits: int = 8,
) -> None:
    """An int8 DEPTHWISE_CONV_2D (weights [1, kh, kw, out_c]) into `output`."""

def fully_connected(
    input: Any,
    weights: Any,
    bias: Any,
    output: Any,
    *,
    batches: int = 1,
    input_offset: int = 0,
    filter_offset: int = 0,
    output_offset: int = 0,
    multiplier: Any,
    shift: Any,
    act: tuple[int, int] = (-128, 127),
    rounding: str = "double",
    weights_bits: int = 8,
) -> None:
    """An int8 FULLY_CONNECTED (weights [out, in]) into `output`; rounding 'double'
    (TFLite-Micro's) or 'single' (LiteRT's)."""
