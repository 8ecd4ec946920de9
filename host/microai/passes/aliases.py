"""aliases: RESHAPE and SQUEEZE become views, not ops.

Reads: the model's ops.
Changes: Compilation.ops (the ops that become blob ops), alias_of (a view's output ->
its input), and a reshaped constant's data.
Guarantees: every remaining op has a lowering; a view has its input's type, bytes and
quantization; the model's inputs and outputs are int8 or float32.
"""

from __future__ import annotations

import numpy as np

from ..ir import ConvertError, Graph
from ..ops import ALIASES, LOWERINGS, supported_ops


def _check_alias(g: Graph, op) -> None:
    if not op.inputs or op.inputs[0] < 0 or len(op.outputs) != 1:
        raise ConvertError(f"{g.describe(op)}: needs an input and one output")
    src, dst = g.t(op.inputs[0]), g.t(op.outputs[0])
    same_q = (src.scale is None) == (dst.scale is None) and (
        src.scale is None
        or (np.array_equal(src.scale, dst.scale) and np.array_equal(src.zero_point, dst.zero_point))
    )
    if src.dtype != dst.dtype or src.nbytes != dst.nbytes or not same_q:
        raise ConvertError(
            f"{g.describe(op)}: input and output differ in type, size or quantization"
        )


def run(c):
    g, name = c.graph, c.name
    unsupported = [op for op in g.ops if op.opcode not in LOWERINGS and op.opcode not in ALIASES]
    if unsupported:
        lines = "\n".join(f"  {g.describe(op)}" for op in unsupported)
        raise ConvertError(
            f"{name}: {len(unsupported)} unsupported op(s):\n{lines}\n"
            f"supported ops: {', '.join(supported_ops())}"
        )
    for op in g.ops:
        if op.opcode in ALIASES:
            _check_alias(g, op)
            src, dst = op.inputs[0], op.outputs[0]
            if g.t(src).is_const:
                g.t(dst).data = g.t(src).data.reshape(g.t(dst).shape)
            else:
                c.alias_of[dst] = src
        else:
            c.ops.append(op)
    for t in g.inputs + g.outputs:
        if g.t(t).dtype not in (np.dtype(np.int8), np.dtype(np.float32)):
            raise ConvertError(
                f"{name}: model input/output '{g.t(t).name}' is {g.t(t).dtype}; "
                "microai takes int8 or float32 at the model's edges"
            )
    return c
