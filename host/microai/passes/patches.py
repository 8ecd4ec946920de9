"""patches: the network's first stage run band by band (MCUNetV2's patch-based
inference), so that its large activations are never whole in the arena at once.

Reads: Compilation.ops (after aliases) and Compilation.patch: (k, n), the stage
c.ops[0..k] in n bands of its output's rows, or None (then nothing changes).
Changes: Compilation.ops (the stage's ops replaced by each band's ops, band after band),
the graph's tensors (one per band of each tensor the stage computes inside, each with
Tensor.rows_of), alias_of and view_at (a band of the stage's input or output, and the
rows of a band an op reads, are views of those rows).
Guarantees: a band op is its layer's op on a band of rows, with the padding the band has
at the tensor's edges (explicit, options "fused_pad"; the horizontal padding is the
layer's): the same sums as the whole layer's for those rows, bit for bit. Each band of
the stage's output is written once, and a band recomputes only the rows its filters'
windows overlap with the next band's (the halo). The stage (stages()) is ops 0..k that
are CONV_2D, DEPTHWISE_CONV_2D or ADD without broadcasting, on 4-D int8 tensors of batch
1, where every other op's output is read, and only inside the stage, and is no model
output.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..ir import Graph, Op
from ..ops.conv import conv_axis

STAGE_OPS = ("CONV_2D", "DEPTHWISE_CONV_2D", "ADD")


def _spatial(g: Graph, t: int) -> bool:
    T = g.t(t)
    return len(T.shape) == 4 and T.shape[0] == 1 and T.dtype == np.int8 and not T.is_const


def _activations(op: Op) -> list[int]:
    """The input slots a band reads rows of: the data input, or both of an ADD's."""
    return [0, 1] if op.opcode == "ADD" else [0]


def _fits(g: Graph, op: Op) -> bool:
    if op.opcode not in STAGE_OPS or len(op.outputs) != 1 or not _spatial(g, op.outputs[0]):
        return False
    slots = _activations(op)
    if len(op.inputs) < len(slots) or any(
        op.inputs[i] < 0 or not _spatial(g, op.inputs[i]) for i in slots
    ):
        return False
    if op.opcode == "ADD":
        return all(g.t(op.inputs[i]).shape == g.t(op.outputs[0]).shape for i in slots)
    return len(op.inputs) >= 2 and op.inputs[1] >= 0 and len(g.t(op.inputs[1]).shape) == 4


def stages(c) -> list[int]:
    """Each k (an index into c.ops, k >= 1) for which c.ops[0..k] can run in bands."""
    g = c.graph
    readers: dict[int, set[int]] = {}
    for i, op in enumerate(c.ops):
        for t in op.inputs:
            readers.setdefault(c.root(t), set()).add(i)
    kept = {c.root(t) for t in g.outputs} | set(c.alias_of.values())
    out = []
    for k, op in enumerate(c.ops):
        if not _fits(g, op):
            break
        if k == 0:
            continue
        # Each inner tensor is read, and only inside the stage (so every op of it is
        # one the stage's output needs).
        inner = [o.outputs[0] for o in c.ops[:k]]
        if all(t not in kept and t in readers and max(readers[t]) <= k for t in inner):
            out.append(k)
    return out


def _axis(size: int, before: int, after: int, filt: int, stride: int, dil: int, padding: str):
    """(leading pad, filter extent) of a conv along one axis, its padding as the model's."""
    _, lead = conv_axis(size, before, after, filt, stride, dil, padding)
    return lead, (filt - 1) * dil + 1


def _conv_rows(g: Graph, op: Op, lo: int, hi: int):
    """The input rows [r0, r1) output rows [lo, hi) read (r0 may be < 0 and r1 past the
    input: padding), for a CONV_2D or DEPTHWISE_CONV_2D."""
    o = op.options
    x, w = g.t(op.inputs[0]), g.t(op.inputs[1])
    pt, pb = o.get("fused_pad", (0, 0, 0, 0))[:2]
    s = o.get("stride_h", 1)
    lead, eff = _axis(
        int(x.shape[1]), pt, pb, int(w.shape[1]), s, o.get("dilation_h_factor", 1),
        o.get("padding", "SAME"),
    )  # fmt: skip
    return lo * s - lead, (hi - 1) * s - lead + eff


def _band_options(g: Graph, op: Op, r0: int, r1: int) -> dict:
    """op's options for reading input rows [max(r0, 0), min(r1, H)): the band's own
    padding above and below, the layer's left and right, explicit (VALID + fused_pad)."""
    o = op.options
    x, w, y = g.t(op.inputs[0]), g.t(op.inputs[1]), g.t(op.outputs[0])
    h = int(x.shape[1])
    left, right = o.get("fused_pad", (0, 0, 0, 0))[2:]
    s_w, d_w = o.get("stride_w", 1), o.get("dilation_w_factor", 1)
    lead_w, eff_w = _axis(
        int(x.shape[2]), left, right, int(w.shape[2]), s_w, d_w, o.get("padding", "SAME")
    )
    trail_w = max(0, (int(y.shape[2]) - 1) * s_w + eff_w - int(x.shape[2]) - lead_w)
    pad = (max(0, -r0), max(0, r1 - h), lead_w, trail_w)
    return {**o, "padding": "VALID", "fused_pad": pad}


def bands(h: int, n: int) -> list[tuple[int, int]]:
    """n bands of h rows, as even as rows allow."""
    return [(h * j // n, h * (j + 1) // n) for j in range(n)]


def split(c, k: int, n: int) -> None:
    """Replace c.ops[0..k] (a stage, stages()) by its ops band by band, n bands."""
    g = c.graph
    stage = c.ops[: k + 1]
    out = stage[-1].outputs[0]
    produced = {op.outputs[0] for op in stage}
    row_bytes = lambda t: int(np.prod(g.t(t).shape[2:])) * g.t(t).dtype.itemsize  # noqa: E731

    def tensor(t: int, lo: int, hi: int, of: int | None = None, at: int = 0) -> int:
        """A new tensor for rows [lo, hi) of t; a view `at` bytes into `of` if given."""
        T = g.t(t)
        shape = (1, hi - lo, *T.shape[2:])
        root, first = T.rows_of or (t, 0)
        name = f"{g.t(root).name}[{first + lo}:{first + hi}]"
        new = replace(T, index=len(g.tensors), name=name, shape=shape, rows_of=(root, first + lo))
        g.tensors.append(new)
        if of is not None:
            c.alias_of[new.index], c.view_at[new.index] = of, at
        return new.index

    ops = []
    for a, b in bands(int(g.t(out).shape[1]), n):
        need = {out: (a, b)}  # rows of each tensor the band computes or reads
        reads: dict[tuple[int, int], tuple[int, int]] = {}  # (op, slot) -> rows read
        for i in range(k, -1, -1):
            op = stage[i]
            lo, hi = need[op.outputs[0]]
            for slot in _activations(op):
                t = op.inputs[slot]
                if op.opcode == "ADD":
                    r = (lo, hi)
                else:
                    r0, r1 = _conv_rows(g, op, lo, hi)
                    r = (max(r0, 0), min(r1, int(g.t(t).shape[1])))
                reads[i, slot] = r
                p = need.get(t, r)
                need[t] = (min(p[0], r[0]), max(p[1], r[1]))
        band = {
            t: tensor(t, lo, hi, t, lo * row_bytes(t))  # a view of the whole tensor's rows
            if t == out or t not in produced
            else tensor(t, lo, hi)
            for t, (lo, hi) in need.items()
        }
        for i, op in enumerate(stage):
            ins = list(op.inputs)
            for slot in _activations(op):
                t = ins[slot]
                lo, hi = reads[i, slot]
                first = need[t][0]
                ins[slot] = (
                    band[t]
                    if (lo, hi) == need[t]
                    else tensor(t, lo, hi, band[t], (lo - first) * row_bytes(t))
                )
            options = op.options
            if op.opcode != "ADD":
                lo, hi = need[op.outputs[0]]
                options = _band_options(g, op, *_conv_rows(g, op, lo, hi))
            ops.append(replace(op, inputs=ins, outputs=[band[op.outputs[0]]], options=options))
    c.ops[: k + 1] = ops


def run(c):
    if c.patch is not None:
        k, n = c.patch
        split(c, k, n)
    return c
