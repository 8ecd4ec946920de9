"""The host engine: the C executor through cffi, with the API the board has.

    m = Model(blob)
    m.input(0)[:] = x          # a writable view into the arena
    m.invoke()
    y = m.output(0)            # a view; copy it before the next invoke
    y = m.run(x)               # the same in one call, returning a copy

The blob is used in place (kept alive by the Model); the arena is a 16-byte aligned
buffer sized from the blob, or a caller's bytearray. The blob's arena_size is trusted
only after the C loader has checked the header, the CRC and the layout, and only up to
MAX_ARENA_BYTES.
"""

from __future__ import annotations

import numpy as np

from . import MAX_ARENA_BYTES, InputError, native
from . import blob as B

# numpy views of each storage type; s4 is shown as its raw bytes, b1 as its int32 words
# [..., ceil(channels / 32)] (Larq Compute Engine's bit-packed tensors).
_NP = {0: np.int8, 1: np.int32, 2: np.float32, 3: np.int16, 4: np.uint8, 5: np.int32}
# As the board names them; a b1 tensor's shape counts channels, its view holds words.
_DTYPE_NAMES = {0: "int8", 1: "int32", 2: "float32", 3: "int16", 5: "b1"}


class ModelError(InputError):
    pass


def _message(lib, ffi, status: int, err, blob: bytes = b"") -> str:
    text = ffi.string(lib.mai_status_str(status)).decode()
    if status in (lib.MAI_E_OP, lib.MAI_E_KERNEL, lib.MAI_E_TENSOR, lib.MAI_E_IO):
        what = {lib.MAI_E_TENSOR: "tensor", lib.MAI_E_IO: "model input/output"}.get(status, "op")
        text += f" at {what} {err.index}"
        if status == lib.MAI_E_KERNEL:
            text += f" (kernel status {err.detail})"
        elif err.why != ffi.NULL:
            # The kernel's own reason, with the kernel's name from the blob's op table.
            h = B.read_header(blob)
            op = B.OP.unpack(blob, h["ops_offset"] + err.index * B.OP.size)
            name = lib.mai_kernel_name(op["kernel"])
            kernel = "?" if name == ffi.NULL else ffi.string(name).decode()
            text += f": kernel {kernel} does not take it: {ffi.string(err.why).decode()}"
        elif err.detail:
            text += ": " + ffi.string(lib.mai_check_str(err.detail)).decode()
    return text


class Model:
    def __init__(self, blob: bytes | bytearray | memoryview, arena: bytearray | None = None):
        self._ffi, self._lib = ffi, lib = native.load()
        self.blob = bytes(blob)
        # The blob's bytes must be aligned for the C tables: copied into an aligned buffer
        # of exactly its size (the board uses the blob in place).
        self._blob_buf = blob_ptr = native.aligned(len(self.blob))
        ffi.memmove(blob_ptr, self.blob, len(self.blob))
        self._m = ffi.new("mai_model *")
        err = ffi.new("mai_error *")
        if arena is None:
            # Exactly the arena the blob asks for, aligned: no slack past its end.
            usable = self._arena_needed(blob_ptr, err)
            self._arena_obj = base = native.aligned(usable)
            pad = 0
        else:
            self._arena_obj = arena
            base = ffi.from_buffer(arena)
            pad = (-int(ffi.cast("uintptr_t", base))) % B.ALIGN
            usable = len(arena) - pad
        status = lib.mai_load(self._m, blob_ptr, len(self.blob), base + pad, max(usable, 0), err)
        if status != lib.MAI_OK:
            raise ModelError(f"blob rejected: {_message(lib, ffi, status, err, self.blob)}")
        self._arena = base + pad
        self.header = B.read_header(self.blob)
        self._entries: dict[int, dict] = {}
        self._closed = False

    def _arena_needed(self, blob_ptr, err) -> int:
        """The blob's arena_size, read once the C loader has checked the header, CRC and
        layout (a load against an empty arena); at most MAX_ARENA_BYTES."""
        ffi, lib = self._ffi, self._lib
        probe = bytearray(2 * B.ALIGN)
        base = ffi.from_buffer(probe)
        base += (-int(ffi.cast("uintptr_t", base))) % B.ALIGN
        status = lib.mai_load(self._m, blob_ptr, len(self.blob), base, 0, err)
        if status not in (lib.MAI_OK, lib.MAI_E_ARENA_TOO_SMALL):
            raise ModelError(f"blob rejected: {_message(lib, ffi, status, err, self.blob)}")
        need = B.read_header(self.blob)["arena_size"]
        if need > MAX_ARENA_BYTES:
            raise ModelError(
                f"blob rejected: its arena_size is {need:,} bytes; the host engine takes "
                f"at most {MAX_ARENA_BYTES:,}"
            )
        return need

    # ---- tensors ----------------------------------------------------------------------

    def _tensor_entry(self, t: int) -> dict:
        """Tensor t's entry in the blob's table, read once: the blob does not change and
        re-reading it cost more than invoking a small model."""
        e = self._entries.get(t)
        if e is None:
            h = self.header
            if not 0 <= t < h["n_tensors"]:
                raise ModelError(f"tensor {t} out of range (model has {h['n_tensors']})")
            e = self._entries[t] = B.TENSOR.unpack(
                self.blob, h["tensors_offset"] + t * B.TENSOR.size
            )
        return e

    def tensor(self, t: int) -> np.ndarray:
        """A view of tensor t's bytes (read-only for constants)."""
        e = self._tensor_entry(t)
        ptr = self._lib.mai_tensor_data(self._m, t)
        buf = self._ffi.buffer(ptr, e["size"])
        shape = tuple(e["dims"][B.MAX_RANK - e["rank"] :])
        if e["storage"] == B.STORAGES["s4"]:  # packed: the bytes as stored
            shape = (e["size"],)
        elif e["storage"] == B.STORAGES["b1"] and shape:  # words along the innermost axis
            shape = (*shape[:-1], (shape[-1] + 31) // 32)
        arr = np.frombuffer(buf, dtype=_NP[e["storage"]]).reshape(shape)
        if e["mem"] == B.MEM_BLOB:
            arr.flags.writeable = False
        return arr

    def _io(self, i: int, which: str) -> np.ndarray:
        self._check_open()
        fn = self._lib.mai_input if which == "input" else self._lib.mai_output
        t = fn(self._m, i)
        if t == B.NO_TENSOR:
            n = self.header["n_inputs" if which == "input" else "n_outputs"]
            raise ModelError(f"model has {n} {which}(s); no {which} {i}")
        return self.tensor(t)

    def input(self, i: int = 0) -> np.ndarray:
        return self._io(i, "input")

    def output(self, i: int = 0) -> np.ndarray:
        return self._io(i, "output")

    # ---- running ----------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise ModelError("model is closed")

    def invoke(self) -> None:
        self._check_open()
        err = self._ffi.new("mai_error *")
        status = self._lib.mai_invoke(self._m, err)
        if status != self._lib.MAI_OK:
            raise ModelError(_message(self._lib, self._ffi, status, err))

    def reset(self) -> None:
        """Forget earlier invocations: every state tensor (an SVDF's or LSTM's memory)
        back to its zero point, as at load."""
        self._check_open()
        self._lib.mai_reset(self._m)

    def invoke_op(self, i: int) -> None:
        self._check_open()
        err = self._ffi.new("mai_error *")
        status = self._lib.mai_invoke_op(self._m, i, err)
        if status != self._lib.MAI_OK:
            raise ModelError(_message(self._lib, self._ffi, status, err))

    def run(self, *inputs: np.ndarray) -> np.ndarray | list[np.ndarray]:
        """Set the inputs, invoke, return a copy of the output (a list if several)."""
        if len(inputs) != self.header["n_inputs"]:
            raise ModelError(f"model takes {self.header['n_inputs']} input(s), got {len(inputs)}")
        for i, x in enumerate(inputs):
            dst = self.input(i)
            x = np.asarray(x)
            if x.size != dst.size:
                raise ModelError(
                    f"input {i}: {x.size} elements given, the model takes {dst.size} "
                    f"(shape {list(dst.shape)})"
                )
            if x.dtype != dst.dtype:
                raise ModelError(f"input {i}: dtype {x.dtype} given, the model takes {dst.dtype}")
            dst[...] = x.reshape(dst.shape)
        self.invoke()
        outs = [self.output(i).copy() for i in range(self.header["n_outputs"])]
        return outs[0] if len(outs) == 1 else outs

    # ---- the board module's API (microai.Model on the board has the same) ---------------

    def _io_entry(self, input: bool) -> dict:
        self._check_open()
        fn = self._lib.mai_input if input else self._lib.mai_output
        return self._tensor_entry(fn(self._m, 0))

    def _shape(self, input: bool) -> tuple[int, ...]:
        e = self._io_entry(input)
        return tuple(e["dims"][B.MAX_RANK - e["rank"] :])

    @property
    def input_shape(self) -> tuple[int, ...]:
        return self._shape(True)

    @property
    def output_shape(self) -> tuple[int, ...]:
        return self._shape(False)

    @property
    def input_dtype(self) -> str:
        return _DTYPE_NAMES.get(self._io_entry(True)["storage"], "?")

    @property
    def output_dtype(self) -> str:
        return _DTYPE_NAMES.get(self._io_entry(False)["storage"], "?")

    @property
    def input_scale(self) -> float | None:
        return float(self._io_entry(True)["scale"]) or None

    @property
    def output_scale(self) -> float | None:
        return float(self._io_entry(False)["scale"]) or None

    @property
    def input_zero_point(self) -> int:
        return int(self._io_entry(True)["zero_point"])

    @property
    def output_zero_point(self) -> int:
        return int(self._io_entry(False)["zero_point"])

    def predict(self, x) -> np.ndarray:
        """Input 0 from bytes or int8 values as they are, or from real (float) values
        (any shape: numpy, array('f'), nested lists) quantized with the input's scale and
        zero point (TFLite's QUANTIZE), as numpy.asarray(x) sees them; output 0 as
        float32 real values when it has a scale, else its int8 values. The board's
        Model.predict() does the same (returning array('f'))."""
        from .quant import quantize_input

        if self.input_dtype != "int8" or self.output_dtype != "int8":
            raise ModelError("predict() takes int8 in and out; use run()")
        if isinstance(x, (bytes, bytearray)) or (
            isinstance(x, memoryview) and x.itemsize == 1 and x.format != "b"
        ):
            q = np.frombuffer(bytes(x), np.int8)
        else:
            a = np.asarray(x)
            if a.dtype.kind == "f":
                if self.input_scale is None:
                    raise ModelError("real inputs, but the input has no scale")
                q = quantize_input(a, self.input_scale, self.input_zero_point)
            elif a.dtype.kind in "iu" and (a.size == 0 or (a.min() >= -128 and a.max() <= 127)):
                q = a.astype(np.int8)
            else:
                raise ModelError("predict(): bytes, int8 or float values")
        y = self.run(q.reshape(-1)).reshape(-1)
        if self.output_scale is None:
            return y
        return (y.astype(np.float32) - self.output_zero_point) * np.float32(self.output_scale)

    def arena_info(self) -> dict:
        return {
            "arena_size": self.header["arena_size"],
            "blob_bytes": self.header["total_size"],
            "n_ops": self.header["n_ops"],
            "n_tensors": self.header["n_tensors"],
        }

    def close(self) -> None:
        self._closed = True

    def __enter__(self) -> Model:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
