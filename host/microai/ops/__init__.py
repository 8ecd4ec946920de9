"""Lowering: each supported TFLite op becomes one blob op (or an alias).

Each op family's module registers its lowering functions with @lowering("OPCODE"); the
registry is the one list of supported ops (the converter's error message prints it).

A lowering function takes (graph, op, golden) and returns a Lowered, or raises
ConvertError naming the op (graph.describe(op)) and what is not supported; `golden` is
for the few values the two goldens compute differently.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .. import quant
from ..ir import ConvertError, Graph, Op, Tensor

LOWERINGS: dict[str, Callable[[Graph, Op, str], Lowered]] = {}


@dataclass
class Lowered:
    """One blob op.

    type: the mai_op_type name without MAI_OP_ (e.g. "CONV").
    params: the field values of the op type's C params struct (params_type, from the C
        table), as a dict (nested structs as dicts, arrays as lists), packed by cffi.
    inputs: graph tensor ids in the order the executor reads them (-1 = omitted);
        a numpy array in the list becomes a new constant tensor (e.g. per-channel
        multipliers and shifts).
    kernel, scratch: the nn_kernel name (e.g. "CONV_IM2COL_S8") and the scratch bytes it
        needs, chosen from the C table (passes/choose_kernels.py), not by the lowering.
    in_place: the output may share the arena bytes of input 0 (elementwise ops).
    rounding: "" for the golden's rounding of the op type (golden.rounding()), else the
        one this op needs (LiteRT's block-sparse FULLY_CONNECTED rounds twice).
    """

    type: str
    params: dict
    inputs: list[int | np.ndarray]
    outputs: list[int]
    kernel: str = ""  # chosen from the C table by passes/choose_kernels.py
    scratch: int = 0
    in_place: bool = False
    rounding: str = ""  # the golden's rounding for this op when it is not its op type's

    @property
    def params_type(self) -> str:
        """The op type's C params struct, from the C table (e.g. "nn_conv_params")."""
        from .. import native

        return native.table()["op_params"][self.type]


def lowering(*opcodes: str):
    def register(fn):
        for code in opcodes:
            if code in LOWERINGS:
                raise RuntimeError(f"two lowerings for {code}")
            LOWERINGS[code] = fn
        return fn

    return register


ACTIVATIONS = ("NONE", "RELU", "RELU6", "RELU_N1_TO_1")


def scale_product(golden: str, a: float, b: float) -> float:
    """Two float32 scales' product as the golden's Prepare forms it
    (GetQuantizedConvolutionMultipler and kin): in float32, then widened (LiteRT's
    reference kernels), or in double (TFLite-Micro)."""
    if golden == "litert":
        return float(np.float32(a) * np.float32(b))
    return float(np.float32(a)) * float(np.float32(b))


def fail(graph: Graph, op: Op, why: str) -> ConvertError:
    """A ConvertError naming the op, its index and tensors, and why."""
    return ConvertError(f"{graph.describe(op)}: {why}")


def activation(graph: Graph, op: Op, y: Tensor) -> dict:
    """The op's fused activation as a clamp on output y (an nn_activation) in y's type
    (int8, or int16 for 16x8)."""
    act = op.options.get("fused_activation_function", "NONE")
    if act not in ACTIVATIONS:
        raise fail(graph, op, f"fused activation {act} is not supported")
    lo, hi = quant.activation_range(act, y.scale1, y.zp, y.dtype)
    return {"min": lo, "max": hi}


ALIASES = ("RESHAPE", "SQUEEZE")  # no op: the output is a view of the input's bytes


def supported_ops() -> list[str]:
    return sorted([*LOWERINGS, *ALIASES])


def lower(graph: Graph, op: Op, golden: str | None = None) -> Lowered:
    """The op's lowering for `golden`'s arithmetic (the default golden's if None), with
    the kernel the C table prefers for it (passes/choose_kernels.py may pick another for
    a recipe); ConvertError naming the op for anything it cannot take, including what
    the lowering did not foresee (a numpy or arithmetic error on odd shapes, options or
    quantization)."""
    from ..golden import DEFAULT_GOLDEN, rounding
    from ..passes.choose_kernels import choose

    golden = golden or DEFAULT_GOLDEN
    low = _lower(graph, op, golden)
    choose(graph, low, rounding(golden, low.type), where=f"{graph.describe(op)}: ")
    return low


def _lower(graph: Graph, op: Op, golden: str) -> Lowered:
    fn = LOWERINGS.get(op.opcode)
    if fn is None:
        raise ConvertError(
            f"unsupported op {graph.describe(op)}; supported ops: {', '.join(supported_ops())}"
        )
    try:
        # A division by zero or an overflow in numpy raises (FloatingPointError) instead
        # of printing a warning and going on with inf or nan.
        with np.errstate(divide="raise", over="raise", invalid="raise"):
            return fn(graph, op, golden)
    except ConvertError:
        raise
    except (ArithmeticError, ValueError, TypeError, IndexError, KeyError, AssertionError) as e:
        first = (str(e).strip().splitlines() or [""])[0]
        raise fail(graph, op, f"cannot be lowered ({type(e).__name__}: {first})") from None


# The op family modules register their lowerings on import.
from . import binary, conv, misc, recurrent  # noqa: E402, F401
