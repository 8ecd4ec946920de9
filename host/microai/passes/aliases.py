"""aliases: RESHAPE and SQUEEZE become views, not ops.

Reads: the model's ops.
Changes: Compilation.ops (the ops that become blob ops), alias_of (a view's output ->
its input), and a reshaped constant's data.
Guarantees: every remaining op has a lowering; a view has its input's type, bytes and
quantization; the model's inputs and outputs are int8, int16 or float32.
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
    """Views become aliases; unsupported ops and the model's edges' types are noted in
    c.unsupported and c.problems (lower.run refuses them together)."""
    g = c.graph
    c.unsupported = [op for op in g.ops if op.opcode not in LOWERINGS and op.opcode not in ALIASES]
    for op in g.ops:
        if op in c.unsupported:
            continue
        if op.opcode in ALIASES:
            try:
                _check_alias(g, op)
            except ConvertError as e:
                c.problems.append(str(e))
                continue
            src, dst = op.inputs[0], op.outputs[0]
            if g.t(src).is_const:
                g.t(dst).data = g.t(src).data.reshape(g.t(dst).shape)
            else:
                c.alias_of[dst] = src
        else:
            c.ops.append(op)
    for t in g.inputs + g.outputs:
        if g.t(t).dtype not in (np.dtype(np.int8), np.dtype(np.int16), np.dtype(np.float32)):
            c.problems.append(
                f"model input/output '{g.t(t).name}' is {g.t(t).dtype}; "
                "microai takes int8, int16 (16x8) or float32 at the model's edges"
            )
    return c


def refuse(c) -> None:
    """One ConvertError listing everything c.unsupported and c.problems hold (nothing
    when both are empty)."""
    g, name = c.graph, c.name
    if not c.unsupported and not c.problems:
        return
    if not c.unsupported and len(c.problems) == 1:
        text = c.problems[0]
        raise ConvertError(text if text.startswith(f"{name}:") else f"{name}: {text}")
    parts = []
    if c.unsupported:
        lines = "\n".join(f"  {g.describe(op)}" for op in c.unsupported)
        parts.append(f"{len(c.unsupported)} unsupported op(s):\n{lines}")
    if c.problems:
        lines = "\n".join(f"  {p}" for p in c.problems)
        more = "and " if c.unsupported else ""
        parts.append(f"{more}{len(c.problems)} other problem(s):\n{lines}")
    tail = f"\nsupported ops: {', '.join(supported_ops())}" if c.unsupported else ""
    raise ConvertError(f"{name}: " + "\n".join(parts) + tail)
