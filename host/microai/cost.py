"""The one cost model: what a layer costs, from the shapes and params the blob holds.

`convert` (each Layer), `inspect` (read back from a blob), `hil` and the coming search
all ask here, so they cannot count differently. MACs are the weighted ops'
multiply-accumulates (CONV, DWCONV, FC), as MLPerf Tiny counts them (DS-CNN: 2,656,768);
weight bytes are the op's blob constants (weights, bias, multipliers, shifts); scratch
bytes are the kernel's own (the C table's).
Instructions per kernel come next, from the QEMU plugin's per-layer counts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


def _n(shape) -> int:
    return math.prod(int(d) for d in shape)


def macs(op_type: str, inputs: list, outputs: list, params: dict) -> int:
    """MACs of one op. inputs/outputs: shapes (None for an omitted input), in the
    executor's order (CONV/DWCONV/FC: activation, weights, ...); params: the op's params
    struct as a dict (for the kernels whose cost depends on them)."""
    if not outputs:
        return 0
    out = _n(outputs[0])
    if op_type == "CONV":  # weights [out_c, kh, kw, in_c]
        return out * _n(inputs[1][-3:])
    if op_type == "DWCONV":  # weights [1, kh, kw, out_c]
        return out * _n(inputs[1][-3:-1])
    if op_type == "FC":  # weights [out_depth, in_depth]
        return out * int(inputs[1][-1])
    return 0


@dataclass
class LayerCost:
    macs: int
    weight_bytes: int
    scratch_bytes: int


def layer_cost(
    op_type: str, inputs: list, outputs: list, params: dict, const_bytes: int, scratch: int
) -> LayerCost:
    return LayerCost(macs(op_type, inputs, outputs, params), const_bytes, scratch)
