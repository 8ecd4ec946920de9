"""The golden: LiteRT with its *reference* op resolver (BUILTIN_REF), never the default
resolver or XNNPACK, which are not bit-exact with TFLite's reference kernels.

A model LiteRT refuses (its flatbuffer checks, an op's Prepare) or fails to run is a
GoldenError whose message is the first line of LiteRT's own.
"""

from __future__ import annotations

import numpy as np

from . import BuildError, InputError


class GoldenError(InputError):
    pass


GOLDENS = ("litert", "tflm")
DEFAULT_GOLDEN = "litert"


def rounding(golden: str, op_type: str) -> str:
    """How `golden` rescales the accumulators of a blob op type (a mai_op_type name):
    LiteRT >= 2's reference FULLY_CONNECTED rounds once; everything else, and every op
    of TFLite-Micro (and CMSIS-NN), uses gemmlowp's double rounding."""
    if golden not in GOLDENS:
        raise InputError(f"unknown golden {golden!r}; choose one of {', '.join(GOLDENS)}")
    return "single" if golden == "litert" and op_type == "FC" else "double"


def _first_line(e: BaseException) -> str:
    lines = str(e).strip().splitlines()
    return lines[0] if lines else type(e).__name__


def reference_interpreter(model: bytes, preserve_all_tensors: bool = False, name: str = ""):
    try:
        from ai_edge_litert.interpreter import Interpreter, OpResolverType
    except ImportError as e:
        raise BuildError(
            f"LiteRT (ai-edge-litert) cannot be imported: {e}; run make setup"
        ) from None
    prefix = f"{name}: " if name else ""
    try:
        it = Interpreter(
            model_content=model,
            experimental_op_resolver_type=OpResolverType.BUILTIN_REF,
            experimental_preserve_all_tensors=preserve_all_tensors,
        )
        it.allocate_tensors()
    except Exception as e:  # ValueError from its model checks, RuntimeError from Prepare
        raise GoldenError(
            f"{prefix}LiteRT's reference interpreter refused the model: {_first_line(e)}"
        ) from None
    return it


def invoke(it, name: str = "") -> None:
    """it.invoke(), with LiteRT's failure as a GoldenError."""
    try:
        it.invoke()
    except Exception as e:
        prefix = f"{name}: " if name else ""
        raise GoldenError(
            f"{prefix}LiteRT's reference interpreter failed to run the model: {_first_line(e)}"
        ) from None


def run_reference(model: bytes, inputs: list[np.ndarray]) -> list[np.ndarray]:
    """Outputs of the model on inputs, by LiteRT's reference kernels."""
    it = reference_interpreter(model)
    for detail, x in zip(it.get_input_details(), inputs, strict=True):
        it.set_tensor(
            detail["index"], np.asarray(x, dtype=detail["dtype"]).reshape(detail["shape"])
        )
    invoke(it)
    return [it.get_tensor(d["index"]).copy() for d in it.get_output_details()]
