"""Type stubs for the `microai` module on the board (MicroPython), for IDE completion.

Install the package and point your editor's stub path at microai/stubs (or copy this
file next to your board scripts). The same names exist in the unix port's firmware.
"""

from typing import Any

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

class Model:
    """A blob (.mai) ready to run: checked once by the loader, its activations in the
    firmware's static arena (or `arena`, a bytearray of at least the blob's arena size)."""

    def __init__(
        self, blob: bytes | bytearray | memoryview | Blob, arena: bytearray | None = None
    ) -> None: ...
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
    def profile(self) -> list[tuple[str, int]]:
        """One inference op by op: (op type, cost in info()['cycles'] units) per op."""
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
