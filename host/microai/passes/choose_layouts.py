"""choose_layouts: which layers' weights to prepare for a target (boards.Target), and
in which layout, within the bytes its blob may have.

Reads: a Compilation converted with every layer's weights in the standard layout (its
layers, tensors and blob), the recipe, the golden's rounding, the target.
Returns: {op index in the .tflite: algorithm}, the layers to convert again with a kernel
that reads prepared weights (Recipe.choose). Only layers whose recipe algorithm is
"auto" are switched, to a kernel of the same op type that supports the op, reads a
format made from the weights as stored (int4 weights are never widened), and that
cost.py's inner-loop instructions say is faster on the target's core; the most
instructions saved per extra blob byte first, while the blob stays within the target's
budget. A target without the DSP extension gains nothing (cost.INNER_LOOP), so its
blob is unchanged.
"""

from __future__ import annotations

from .. import cost, layouts
from ..boards import Target
from ..golden import op_rounding
from . import Compilation
from .choose_kernels import kernels_for, supports, weights_storage


def _aligned(n: int) -> int:
    return -(-n // 16) * 16  # constants are 16-byte aligned in the blob (blob.pack)


def choose(c: Compilation, target: Target) -> dict[int, str]:
    offers = []  # (instructions saved per byte, op index, algorithm, extra bytes)
    for op, low, layer in zip(c.ops, c.lowered, c.layers, strict=True):
        if c.recipe.algorithm(c.graph, op) != "auto":
            continue
        now = cost.inner_instructions(layer.kernel, target.dsp, layer.macs)
        if now is None:
            continue
        best = None
        stored = weights_storage(c.graph, low)
        for k in kernels_for(low.type):
            # Only formats made from the weights as stored: int4 weights stay int4.
            if k.weights not in layouts.EXTRA_FLASH or layouts.SOURCE.get(k.weights) != stored:
                continue
            after = cost.inner_instructions(k.name, target.dsp, layer.macs)
            if after is None or after >= now:
                continue
            if supports(c.graph, low, k, op_rounding(c.golden, low)) is not None:
                continue
            w = c.tensors[layer.inputs[1]]
            extra = _aligned(layouts.nbytes(k.weights, w.shape)) - _aligned(w.size)
            offer = ((now - after) / max(extra, 1), op.index, k.algorithm, extra)
            best = max(best, offer) if best else offer
        if best:
            offers.append(best)
    room = float("inf") if target.blob_bytes is None else target.blob_bytes - len(c.blob)
    chosen = {}
    for _, index, algorithm, extra in sorted(offers, reverse=True):
        if extra <= room:
            chosen[index] = algorithm
            room -= extra
    return chosen
