"""The goldens microai is bit-exact with, behind one interface.

- **tflm** (the default): TFLite-Micro, through the `tflite-micro` package's
  interpreter, with all tensors kept (InterpreterConfig.kPreserveAllTensors) so that
  every intermediate tensor can be compared. It is what runs on microcontrollers, and
  CMSIS-NN is bit-exact with it.
- **litert**: LiteRT with its *reference* op resolver (BUILTIN_REF), never the default
  resolver or XNNPACK, which are not bit-exact with TFLite's reference kernels.

They differ in one place: LiteRT >= 2's reference FULLY_CONNECTED rescales its
accumulators with a single rounding, TFLite-Micro with gemmlowp's double rounding
(rounding() below). A blob records the rounding of the golden it was converted for.

A model a golden refuses (its flatbuffer checks, an op's Prepare) or fails to run is a
GoldenError: one line naming the golden, its own first line of complaint, and the
other golden to try.
"""

from __future__ import annotations

import importlib
import os
import re
import sys
import tempfile
from contextlib import contextmanager
from typing import TYPE_CHECKING

from . import BuildError, InputError

if TYPE_CHECKING:  # numpy is imported when a golden runs, not with the command line
    import numpy as np


class GoldenError(InputError):
    pass


GOLDENS = ("tflm", "litert")
DEFAULT_GOLDEN = "tflm"
TITLES = {"tflm": "TFLite-Micro", "litert": "LiteRT BUILTIN_REF"}


def rounding(golden: str, op_type: str) -> str:
    """How `golden` rescales the accumulators of a blob op type (a mai_op_type name):
    LiteRT >= 2's reference FULLY_CONNECTED rounds once; everything else, and every op
    of TFLite-Micro (and CMSIS-NN), uses gemmlowp's double rounding."""
    _check_name(golden)
    return "single" if golden == "litert" and op_type == "FC" else "double"


def op_rounding(golden: str, low) -> str:
    """A lowered op's rounding: its own when the lowering set one, else its op type's."""
    return low.rounding or rounding(golden, low.type)


def _check_name(golden: str) -> None:
    if golden not in GOLDENS:
        raise InputError(f"unknown golden {golden!r}; choose one of {', '.join(GOLDENS)}")


def _first_line(e: BaseException | str) -> str:
    """The first line of a complaint, its sentences spaced (LiteRT runs them together:
    'Was 3.Tensor 2 has ...'), without the final full stop."""
    lines = [ln.strip() for ln in str(e).strip().splitlines() if ln.strip()]
    line = lines[0] if lines else type(e).__name__
    return re.sub(r"\.(?=[A-Z])", ". ", line).rstrip(".")


def _other(golden: str) -> str:
    return next(g for g in GOLDENS if g != golden)


class Golden:
    """One golden interpreter on one model: set_input(i, x), invoke(), output(i) and, when
    opened with all tensors kept, tensor(t) for any of the model's tensors (subgraph 0).
    `inputs` and `outputs` describe the model's edges: dicts with shape, dtype and
    quantization_parameters (scales, zero_points), as LiteRT's details."""

    name = ""
    title = ""
    package = ""  # the Python package it comes from, for errors

    def __init__(self, model: bytes, preserve_all_tensors: bool, label: str):
        self.label = label
        self.preserve_all_tensors = preserve_all_tensors
        self.inputs: list[dict] = []
        self.outputs: list[dict] = []

    def _fail(self, what: str, detail: str) -> GoldenError:
        prefix = f"{self.label}: " if self.label else ""
        return GoldenError(
            f"{prefix}{self.title} {what}: {detail}; try --golden {_other(self.name)}"
        )

    def _library(self, module: str):
        try:
            return importlib.import_module(module)
        except ImportError as e:
            raise BuildError(f"{self.package} cannot be imported: {e}; run make setup") from None

    def set_input(self, i: int, x: np.ndarray) -> None:
        raise NotImplementedError

    def invoke(self) -> None:
        raise NotImplementedError

    def output(self, i: int) -> np.ndarray:
        raise NotImplementedError

    def tensor(self, t: int) -> np.ndarray:
        raise NotImplementedError

    def run(self, inputs: list[np.ndarray]) -> list[np.ndarray]:
        """The outputs on `inputs` (one array per model input)."""
        if len(inputs) != len(self.inputs):
            raise InputError(f"the model takes {len(self.inputs)} inputs, got {len(inputs)}")
        for i, x in enumerate(inputs):
            self.set_input(i, x)
        self.invoke()
        return [self.output(i) for i in range(len(self.outputs))]

    def _as_input(self, i: int, x: np.ndarray) -> np.ndarray:
        import numpy as np

        d = self.inputs[i]
        return np.ascontiguousarray(np.asarray(x, d["dtype"]).reshape(d["shape"]))


class LiteRTGolden(Golden):
    name = "litert"
    title = "LiteRT's reference interpreter"
    package = "LiteRT (ai-edge-litert)"

    def __init__(self, model: bytes, preserve_all_tensors: bool = False, label: str = ""):
        super().__init__(model, preserve_all_tensors, label)
        litert = self._library("ai_edge_litert.interpreter")
        model = _for_builtin_ref(model)
        Interpreter, OpResolverType = litert.Interpreter, litert.OpResolverType
        try:
            it = Interpreter(
                model_content=model,
                experimental_op_resolver_type=OpResolverType.BUILTIN_REF,
                experimental_preserve_all_tensors=preserve_all_tensors,
            )
            it.allocate_tensors()
        except Exception as e:  # ValueError from its model checks, RuntimeError from Prepare
            raise self._fail("refused the model", _first_line(e)) from None
        self.it = it
        self.inputs = it.get_input_details()
        self.outputs = it.get_output_details()

    def set_input(self, i: int, x: np.ndarray) -> None:
        self.it.set_tensor(self.inputs[i]["index"], self._as_input(i, x))

    def invoke(self) -> None:
        try:
            self.it.invoke()
        except Exception as e:
            raise self._fail("failed to run the model", _first_line(e)) from None

    def output(self, i: int) -> np.ndarray:
        return self.it.get_tensor(self.outputs[i]["index"]).copy()

    def tensor(self, t: int) -> np.ndarray:
        if not self.preserve_all_tensors:
            raise ValueError("tensor(): open the golden with preserve_all_tensors=True")
        return self.it.get_tensor(t).copy()


def _for_builtin_ref(model: bytes) -> bytes:
    """BUILTIN_REF registers DEPTHWISE_CONV_2D up to version 6, though its kernel runs
    int4 weights, which converters label version 7: relabel in an in-memory copy (the
    tensors and their indices stay as they are)."""
    import tflite

    from . import tflite_edit
    from .ir import ConvertError

    try:
        return tflite_edit.relabel(model, tflite.BuiltinOperator.DEPTHWISE_CONV_2D, 7, 6)
    except ConvertError:
        return model  # not a model LiteRT can read either: its own error follows


@contextmanager
def _c_stderr():
    """What C code writes to file descriptor 2 meanwhile (TFLite-Micro's MicroPrintf),
    as a list of lines filled in on exit; nothing of it reaches the terminal."""
    lines: list[str] = []
    sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:  # no stderr at all: nothing to capture
        yield lines
        return
    with tempfile.TemporaryFile() as f:
        os.dup2(f.fileno(), 2)
        try:
            yield lines
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            f.seek(0)
            lines += f.read(1 << 16).decode(errors="replace").splitlines()


def _tflm_complaint(e: BaseException, printed: list[str]) -> str:
    """TFLite-Micro's own reason: the first line it printed (e.g. a failed check in a
    kernel's Prepare), else the exception's."""
    for ln in printed:
        ln = ln.strip()
        if ln and not ln.startswith("Node ") and "failed to prepare" not in ln:
            return _first_line(ln)
    return _first_line(e)


class TFLMGolden(Golden):
    name = "tflm"
    title = "TFLite-Micro's interpreter"
    package = "TFLite-Micro (tflite-micro)"

    # The arena TFLite-Micro gets: every tensor's bytes twice (all kept, plus alignment
    # and bookkeeping), with a floor for its own structures and a ceiling.
    ARENA_MIN = 256 << 10
    ARENA_MAX = 1 << 30

    def __init__(self, model: bytes, preserve_all_tensors: bool = False, label: str = ""):
        super().__init__(model, preserve_all_tensors, label)
        runtime = self._library("tflite_micro.python.tflite_micro.runtime")
        self._n_tensors, n_in, n_out, tensor_bytes = self._shape_of(model)
        arena = max(self.ARENA_MIN, 2 * tensor_bytes + 1024 * self._n_tensors)
        if arena > self.ARENA_MAX:
            raise self._fail(
                "refused the model",
                f"its tensors take {tensor_bytes:,} bytes, more than this golden is given",
            )
        config = (
            runtime.InterpreterConfig.kPreserveAllTensors
            if preserve_all_tensors
            else runtime.InterpreterConfig.kAllocationRecording
        )
        with _c_stderr() as printed:
            try:
                self._model = bytes(model)  # kept alive for as long as the interpreter
                self.it = runtime.Interpreter.from_bytes(
                    self._model, arena_size=arena, intrepreter_config=config
                )
                self.inputs = [dict(self.it.get_input_details(i)) for i in range(n_in)]
                self.outputs = [dict(self.it.get_output_details(i)) for i in range(n_out)]
                err = None
            except Exception as e:  # RuntimeError from AllocateTensors (an op's Prepare)
                err = e
        if err is not None:
            raise self._fail("refused the model", _tflm_complaint(err, printed)) from None
        import numpy as np

        for k, d in enumerate(self.inputs + self.outputs):
            d["index"] = k  # an edge number here, not a tensor index (LiteRT's)
            d["dtype"] = np.dtype(d["dtype"])

    def _shape_of(self, model: bytes) -> tuple[int, int, int, int]:
        """(tensors, inputs, outputs, bytes of all tensors) of subgraph 0, read before
        TFLite-Micro sees the model: its GetTensor() trusts the index it is given."""
        import tflite

        T = tflite.TensorType
        itemsize = {T.INT8: 1, T.UINT8: 1, T.BOOL: 1, T.INT16: 2, T.FLOAT16: 2}
        itemsize.update({T.INT64: 8, T.FLOAT64: 8, T.COMPLEX64: 8, T.UINT64: 8})
        try:
            sg = tflite.Model.GetRootAsModel(model, 0).Subgraphs(0)
            total = 0
            for k in range(sg.TensorsLength()):
                t = sg.Tensors(k)
                n = 1
                for d in range(t.ShapeLength()):
                    n *= max(int(t.Shape(d)), 1)
                total += n * itemsize.get(t.Type(), 4)
            return sg.TensorsLength(), sg.InputsLength(), sg.OutputsLength(), total
        except Exception as e:  # a flatbuffer that does not parse
            detail = f"not a readable model ({_first_line(e)})"
            raise self._fail("refused the model", detail) from None

    def set_input(self, i: int, x: np.ndarray) -> None:
        self.it.set_input(self._as_input(i, x), i)

    def invoke(self) -> None:
        with _c_stderr() as printed:
            try:
                self.it.invoke()
                err = None
            except Exception as e:
                err = e
        if err is not None:
            raise self._fail("failed to run the model", _tflm_complaint(err, printed)) from None

    def output(self, i: int) -> np.ndarray:
        import numpy as np

        return np.array(self.it.get_output(i))

    def tensor(self, t: int) -> np.ndarray:
        if not self.preserve_all_tensors:
            raise ValueError("tensor(): open the golden with preserve_all_tensors=True")
        if not 0 <= t < self._n_tensors:
            raise IndexError(f"tensor {t}: the model has {self._n_tensors}")
        import numpy as np

        return np.array(self.it.GetTensor(t, 0)["tensor_data"])


_CLASSES = {"tflm": TFLMGolden, "litert": LiteRTGolden}


def open_golden(
    model: bytes,
    golden: str = DEFAULT_GOLDEN,
    preserve_all_tensors: bool = False,
    name: str = "",
) -> Golden:
    """`golden`'s interpreter on `model`, ready to run; GoldenError (one line, naming the
    golden and pointing to the other) when it refuses the model. preserve_all_tensors
    keeps every intermediate tensor for tensor(t)."""
    _check_name(golden)
    return _CLASSES[golden](model, preserve_all_tensors, name)


def run_reference(
    model: bytes, inputs: list[np.ndarray], golden: str = DEFAULT_GOLDEN
) -> list[np.ndarray]:
    """Outputs of the model on inputs, by `golden`'s kernels."""
    return open_golden(model, golden).run(inputs)
