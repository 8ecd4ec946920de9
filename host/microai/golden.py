"""The golden: LiteRT with its *reference* op resolver (BUILTIN_REF), never the default
resolver or XNNPACK, which are not bit-exact with TFLite's reference kernels."""

from __future__ import annotations

import numpy as np


def reference_interpreter(model: bytes, preserve_all_tensors: bool = False):
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    it = Interpreter(
        model_content=model,
        experimental_op_resolver_type=OpResolverType.BUILTIN_REF,
        experimental_preserve_all_tensors=preserve_all_tensors,
    )
    it.allocate_tensors()
    return it


def run_reference(model: bytes, inputs: list[np.ndarray]) -> list[np.ndarray]:
    """Outputs of the model on inputs, by LiteRT's reference kernels."""
    it = reference_interpreter(model)
    for detail, x in zip(it.get_input_details(), inputs, strict=True):
        it.set_tensor(
            detail["index"], np.asarray(x, dtype=detail["dtype"]).reshape(detail["shape"])
        )
    it.invoke()
    return [it.get_tensor(d["index"]).copy() for d in it.get_output_details()]
