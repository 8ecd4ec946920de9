"""lower: each op becomes one blob op (ops/: params, constants, checks).

Reads: Compilation.ops, the golden (the few values the goldens compute differently),
the recipe (checked here against the model).
Changes: Compilation.lowered (one ops.Lowered per op, with the table's preferred kernel).
Guarantees: every op's params and constants are what the golden's kernels compute;
anything the lowering cannot take is a ConvertError naming the op, all of them at once.
"""

from __future__ import annotations

import numpy as np

from ..ir import ConvertError
from ..ops import lower

WEIGHTED = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")


def _check_int4(graph, op) -> None:
    """INT4 tensors only as the weights (input 1) of a weighted op, symmetric."""
    for k, t in enumerate(op.inputs):
        if t < 0 or graph.t(t).storage != "s4":
            continue
        T = graph.t(t)
        if op.opcode not in WEIGHTED or k != 1:
            raise ConvertError(
                f"{graph.describe(op)}: INT4 tensor {t} '{T.name}' as input {k}; microai "
                f"takes INT4 only as the weights of {', '.join(WEIGHTED)}"
            )
        if T.zero_point is not None and np.any(T.zero_point != 0):
            raise ConvertError(
                f"{graph.describe(op)}: INT4 weights '{T.name}' have a nonzero zero point"
            )


def run(c):
    """Every op is tried, so that a model with several things microai cannot run is
    refused once, with all of them listed (each naming its op and tensors)."""
    from .aliases import refuse

    c.recipe.check(c.graph, c.ops)
    lowered = []
    for op in c.ops:
        try:
            _check_int4(c.graph, op)
            lowered.append(lower(c.graph, op, c.golden))
        except ConvertError as e:
            c.problems.append(str(e))
    refuse(c)
    c.lowered = lowered
    return c
