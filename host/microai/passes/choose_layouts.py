"""choose_layouts: which layers' weights to prepare for a target (boards.Target), and
in which layout, within the bytes its blob may have.

Reads: a Compilation converted with every layer's weights in the standard layout (its
layers, tensors and blob), the recipe, the golden's rounding, the target.
Returns: {op index in the .tflite: algorithm}, the layers to convert again with a kernel
that reads prepared weights (Recipe.choose). Only layers whose recipe algorithm is
"auto" are switched, to a kernel of the same op type that supports the op, reads a
format made from the weights as stored (int4 weights are never widened), and that
cost.py says is faster on the target's core (a block-sparse kernel's, CONV's or FC's,
counted over the weights' stored blocks only; Winograd's whole layer against the direct
kernel's inner loop and gathering). Formats that also save bytes (block-sparse weights with enough
zero blocks) are taken first, the one that saves the most instructions per layer; then
formats that cost bytes (widened weights, Winograd's), one upgrade at a time, the one
that saves the most instructions per extra byte over the layer's format so far first,
while the blob stays within the target's budget. A layer whose weights have few zero
blocks, on a target without the DSP extension, gains nothing from widened weights
(cost.INNER_LOOP); Winograd pays on both cores where the layer has enough channels.
"""

from __future__ import annotations

import numpy as np

from .. import cost, layouts
from ..boards import Target
from ..golden import op_rounding
from . import Compilation
from .choose_kernels import kernels_for, supports, weights_storage


def _aligned(n: int) -> int:
    return -(-n // 16) * 16  # constants are 16-byte aligned in the blob (blob.pack)


def _stored(fmt: str, w: np.ndarray) -> float:
    """The fraction of the weights' MACs a kernel reading `fmt` multiplies."""
    if fmt != "s8_block4":
        return 1.0
    rows = int(w.shape[0])
    k = w.size // max(rows, 1)
    return layouts.nbytes(fmt, w.shape, w) / max(w.size, 1) if k else 1.0


def _options(c: Compilation, target: Target, op, low, layer) -> list[tuple[float, int, str]]:
    """(instructions saved, extra blob bytes, algorithm) of each faster format."""
    if layer.kernel not in cost.INNER_LOOP and layer.kernel not in cost.FC:
        return []
    t = c.tensors[layer.inputs[1]]
    w = None
    if t.data is not None and t.storage == "s8" and t.layout == "standard":
        w = np.frombuffer(t.data, np.int8).reshape(t.shape)
    k = int(np.prod(t.shape[1:])) if len(t.shape) > 1 else 1
    outputs = layer.macs // max(k, 1)
    pixels = outputs // max(int(t.shape[0]), 1)
    shape = c.tensors[layer.outputs[0]].shape

    def instructions(kernel: str, stored: float = 1.0) -> float | None:
        return cost.inner_instructions(
            kernel, target.dsp, layer.macs, stored, outputs, pixels, shape
        )

    now = instructions(layer.kernel)
    if now is None:
        return []
    out = []
    stored_as = weights_storage(c.graph, low)
    for kern in kernels_for(low.type):
        # Only formats made from the weights as stored: int4 weights stay int4.
        if kern.weights not in layouts.PREPARED or layouts.SOURCE.get(kern.weights) != stored_as:
            continue
        if w is None:
            continue
        stored = _stored(kern.weights, w)
        after = instructions(kern.name, stored)
        if after is None or after >= now:
            continue
        if supports(c.graph, low, kern, op_rounding(c.golden, low)) is not None:
            continue
        extra = layouts.blob_bytes(kern.weights, w) - _aligned(t.size)
        out.append((now - after, extra, kern.algorithm))
    return out


def choose(c: Compilation, target: Target) -> dict[int, str]:
    chosen: dict[int, str] = {}
    room = float("inf") if target.blob_bytes is None else target.blob_bytes - len(c.blob)
    options: dict[int, list[tuple[float, int, str]]] = {}
    now: dict[int, tuple[float, int]] = {}  # op index -> (saved, extra) of its choice
    for op, low, layer in zip(c.ops, c.lowered, c.layers, strict=True):
        if c.recipe.algorithm(c.graph, op) != "auto":
            continue
        opts = _options(c, target, op, low, layer)
        free = [o for o in opts if o[1] <= 0]
        now[op.index] = (0.0, 0)
        if free:  # fewer bytes and fewer instructions: always
            saved, extra, algorithm = max(free)
            chosen[op.index] = algorithm
            now[op.index] = (saved, extra)
            room -= extra
        options[op.index] = opts
    # Then, while the bytes last, the upgrade (a layer's faster format, over the one it
    # has) that saves the most instructions per extra byte: widened weights first where
    # they pay best, Winograd's (more bytes, more saved) where room remains.
    while True:
        best = None
        for index, opts in options.items():
            saved0, extra0 = now[index]
            for saved, extra, algorithm in opts:
                more, cost_bytes = saved - saved0, extra - extra0
                if more > 0 and 0 < cost_bytes <= room:
                    offer = (more / cost_bytes, index, algorithm, saved, extra)
                    best = max(best, offer) if best else offer
        if best is None:
            return chosen
        _, index, algorithm, saved, extra = best
        room -= extra - now[index][1]
        chosen[index] = algorithm
        now[index] = (saved, extra)
