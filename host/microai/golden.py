"""The goldens microai is bit-exact with, behind one interface.

- **tflm** (the default): TFLite-Micro, through the `tflite-micro` package's
  interpreter, with all tensors kept (InterpreterConfig.kPreserveAllTensors) so that
  every intermediate tensor can be compared. It is what runs on microcontrollers, and
  CMSIS-NN is bit-exact with it.
- **litert**: LiteRT with its *reference* op resolver (BUILTIN_REF), never the default
  resolver or XNNPACK, which are not bit-exact with TFLite's reference kernels.

A model with Larq Compute Engine's binary ops runs op by op (LceGolden): its builtin ops
by the chosen golden, its Lce ops by microai's numpy reference of LCE's kernels (lce.py).

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
            m = tflite.Model.GetRootAsModel(model, 0)
            sg = m.Subgraphs(0)
            svdf = tflite.BuiltinOperator.SVDF
            for k in range(sg.OperatorsLength()):
                op = sg.Operators(k)
                code = m.OperatorCodes(op.OpcodeIndex())
                if (
                    max(code.BuiltinCode(), code.DeprecatedBuiltinCode()) == svdf
                    and op.InputsLength() > 3
                    and op.Inputs(3) < 0
                ):
                    raise self._fail(
                        "refused the model",
                        f"op {k} is an SVDF without a bias, which its SVDF cannot run "
                        "(it reads the missing bias's scale)",
                    )
            total = 0
            for k in range(sg.TensorsLength()):
                t = sg.Tensors(k)
                n = 1
                for d in range(t.ShapeLength()):
                    n *= max(int(t.Shape(d)), 1)
                total += n * itemsize.get(t.Type(), 4)
            return sg.TensorsLength(), sg.InputsLength(), sg.OutputsLength(), total
        except GoldenError:
            raise
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


def _lce_opcode(opcode: str) -> str | None:
    """'LceBconv2d' for 'CUSTOM(LceBconv2d)', else None."""
    if opcode.startswith("CUSTOM(Lce") and opcode.endswith(")"):
        return opcode[len("CUSTOM(") : -1]
    return None


class LceGolden(Golden):
    """A model with Larq Compute Engine ops, op by op: each builtin op by the chosen
    golden (TFLite-Micro or LiteRT) as a model of that one op, each Lce op by microai's
    numpy reference of LCE's kernels (lce.py, checked against LCE's own interpreter on
    stored outputs: LCE's builtin kernels are TFLite's optimized ones, not a golden).
    Every tensor is kept, so tensor(t) always works."""

    def __init__(self, model: bytes, base: str, label: str = ""):
        super().__init__(model, True, label)
        from . import tflite as T
        from . import tflite_edit
        from .ir import ConvertError

        self.name = base
        self.title = f"{TITLES[base]} + microai's LCE reference"
        self.package = _CLASSES[base].package
        try:
            self.graph = g = T.read_model(model, label or "model")
            m = tflite_edit.load(model)
        except ConvertError as e:
            raise self._fail("refused the model", _first_line(e)) from None
        self._steps = []  # (op, one-op golden or None for an Lce op)
        for op in g.ops:
            if _lce_opcode(op.opcode):
                self._steps.append((op, None))
                continue
            sub = self._one_op(m, op)
            self._steps.append((op, _CLASSES[base](sub, False, label)))
        self.inputs = [self._detail(k, t) for k, t in enumerate(g.inputs)]
        self.outputs = [self._detail(k, t) for k, t in enumerate(g.outputs)]
        self._values: dict = {}

    def _detail(self, k: int, t: int) -> dict:
        import numpy as np

        T = self.graph.t(t)
        q = {"scales": np.zeros(0, np.float32), "zero_points": np.zeros(0, np.int64)}
        if T.scale is not None:
            q = {"scales": T.scale, "zero_points": T.zero_point}
        return {
            "index": k,
            "name": T.name,
            "shape": np.array(T.shape, np.int32),
            "dtype": np.dtype(T.dtype),
            "quantization_parameters": q,
        }

    @staticmethod
    def _one_op(m, op) -> bytes:
        """The model cut down to op: its non-constant inputs become the model's inputs
        (flatbuffer object API; unused tensors stay, unreferenced buffers go)."""
        import copy

        from . import tflite_edit

        one = copy.deepcopy(m)
        sg = one.subgraphs[0]
        o = sg.operators[op.index]
        sg.operators = [o]

        def const(t: int) -> bool:
            data = one.buffers[sg.tensors[t].buffer].data
            return data is not None and len(data) > 0

        sg.inputs = list(dict.fromkeys(t for t in o.inputs if t >= 0 and not const(t)))
        sg.outputs = list(o.outputs)
        one.signatureDefs = None
        return tflite_edit.save(one)

    def set_input(self, i: int, x: np.ndarray) -> None:
        self._values[self.graph.inputs[i]] = self._as_input(i, x)

    def invoke(self) -> None:
        import numpy as np

        from . import lce

        g, v = self.graph, self._values
        for t in g.inputs:
            if t not in v:
                raise self._fail("failed to run the model", f"input tensor {t} was not set")
        for op, sub in self._steps:
            ins = [None if t < 0 else v[t] if t in v else g.t(t).data for t in op.inputs]
            if sub is None:
                y = g.t(op.outputs[0])
                x = g.t(op.inputs[0])
                out_q = (y.scale1, y.zp) if y.scale is not None else None
                try:
                    v[op.outputs[0]] = lce.run_op(
                        _lce_opcode(op.opcode), op.options, ins, x.zp, y.dtype, y.shape, out_q
                    )
                except lce.Unsupported as e:
                    raise self._fail("failed to run the model", f"{g.describe(op)}: {e}") from None
                continue
            fed = dict.fromkeys(t for t in op.inputs if t >= 0 and g.t(t).data is None)
            for k, t in enumerate(fed):
                sub.set_input(k, v[t])
            sub.invoke()
            for j, t in enumerate(op.outputs):
                v[t] = np.asarray(sub.output(j)).reshape(g.t(t).shape)

    def output(self, i: int) -> np.ndarray:
        return self._values[self.graph.outputs[i]].copy()

    def tensor(self, t: int) -> np.ndarray:
        if t not in self._values:
            data = self.graph.t(t).data
            if data is None:
                raise IndexError(f"tensor {t} has no value (run the model first)")
            return data.copy()
        return self._values[t].copy()


def short_title(ref: Golden) -> str:
    """How reports name the golden an open interpreter is: "TFLite-Micro", or "TFLite-Micro
    + microai's LCE reference" for a model with Lce ops."""
    return ref.title if isinstance(ref, LceGolden) else TITLES[ref.name]


def has_lce_ops(model: bytes) -> bool:
    """Whether the model has Larq Compute Engine custom ops (read from its operator codes
    without building the IR)."""
    import tflite

    try:
        m = tflite.Model.GetRootAs(bytes(model), 0)
        for i in range(m.OperatorCodesLength()):
            code = m.OperatorCodes(i).CustomCode()
            if code and code.decode(errors="replace").startswith("Lce"):
                return True
    except Exception:  # not a readable model: the golden's own error follows
        return False
    return False


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
    if has_lce_ops(model):
        return LceGolden(model, golden, name)
    return _CLASSES[golden](model, preserve_all_tensors, name)


def run_reference(
    model: bytes, inputs: list[np.ndarray], golden: str = DEFAULT_GOLDEN
) -> list[np.ndarray]:
    """Outputs of the model on inputs, by `golden`'s kernels."""
    return open_golden(model, golden).run(inputs)
