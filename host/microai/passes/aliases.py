"""aliases: RESHAPE and SQUEEZE become views, not ops; a PAD feeding one convolution
becomes that convolution's own padding; a CONCATENATION whose inputs lie one after
another in its output has their producers write straight into their slices.

Reads: the model's ops.
Changes: Compilation.ops (the ops that become blob ops), alias_of (a view's output ->
its input), a reshaped constant's data; a CONV_2D or DEPTHWISE_CONV_2D whose input
is a PAD's output only it reads takes the PAD's input instead, the padding in its
options ("fused_pad": top, bottom, left, right), and the PAD is no op (no padded tensor
in the arena, no pass over it). A CONCATENATION along an axis with only 1s before it
(its inputs' bytes follow one another in the output), without an activation, whose
inputs each have the output's type and quantization and are computed by ops of the
model (not a model input or output, a constant, a state, nor a tensor a view reads),
once each: each input becomes a view of the output at its bytes (view_at), and the
CONCATENATION is no op (the concatenation is where the producers wrote).
Guarantees: every remaining op has a lowering; a view has its input's type, bytes and
quantization; a fused PAD padded height and width only, with the input's zero point
(what a convolution's own padding adds: nothing), and the convolution's kernels can
express it (leading padding under the filter's extent, the trailing implied); the
model's inputs and outputs are int8, int16 or float32.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..ir import ConvertError, Graph, Op
from ..ops import ALIASES, LOWERINGS, supported_ops
from ..ops.conv import conv_axis


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


def _conv_axis_ok(
    size: int, before: int, after: int, filt: int, stride: int, dil: int, padding: str, out: int
) -> bool:
    """The kernels take the convolution along one axis with the PAD folded in: the
    output size is the model's, the leading padding under the filter's extent and the
    trailing one implied (mai_conv_axis_ok's limits)."""
    r = conv_axis(size, before, after, filt, stride, dil, padding)
    if r is None or r[0] != out or out < 1:
        return False
    eff = (filt - 1) * dil + 1
    trailing = (out - 1) * stride + eff - size - r[1]
    return r[1] < eff and -stride < trailing <= eff - 1


def _fused_pad(g: Graph, pad: Op, conv: Op) -> Op | None:
    """conv reading pad's input with the padding in its options, or None when the PAD
    cannot be folded into it (see the module's guarantees)."""
    x, y = g.t(pad.inputs[0]), g.t(pad.outputs[0])
    if len(pad.inputs) < 2 or pad.inputs[1] < 0 or len(x.shape) != 4 or len(y.shape) != 4:
        return None
    p = g.t(pad.inputs[1])
    if not p.is_const or p.data.size != 8 or x.dtype != np.int8 or y.dtype != np.int8:
        return None
    (nb, na), (hb, ha), (wb, wa), (cb, ca) = p.data.astype(np.int64).reshape(4, 2).tolist()
    if (nb, na, cb, ca) != (0, 0, 0, 0) or min(hb, ha, wb, wa) < 0:
        return None
    if (
        x.scale is None
        or y.scale is None
        or not (np.array_equal(x.scale, y.scale) and np.array_equal(x.zero_point, y.zero_point))
    ):
        return None
    if len(pad.inputs) == 3:  # PADV2: the constant must be the zero point
        cv = g.t(pad.inputs[2])
        if not cv.is_const or cv.data.size != 1 or int(cv.data.ravel()[0]) != y.zp:
            return None
        if cv.scale is not None and not np.array_equal(cv.scale, y.scale):
            return None
    out = g.t(conv.outputs[0]).shape
    w = g.t(conv.inputs[1]).shape
    if len(out) != 4 or len(w) != 4:
        return None
    o, padding = conv.options, conv.options.get("padding", "SAME")
    ok = [
        _conv_axis_ok(int(x.shape[1]), hb, ha, int(w[1]), o.get("stride_h", 1),
                      o.get("dilation_h_factor", 1), padding, int(out[1])),
        _conv_axis_ok(int(x.shape[2]), wb, wa, int(w[2]), o.get("stride_w", 1),
                      o.get("dilation_w_factor", 1), padding, int(out[2])),
    ]  # fmt: skip
    if not all(ok):
        return None
    return replace(
        conv,
        inputs=[pad.inputs[0], *conv.inputs[1:]],
        options={**o, "fused_pad": (hb, ha, wb, wa)},
    )


def _concat_slices(c) -> None:
    """Each CONCATENATION the module's docstring allows becomes views (its inputs, of
    its output at their bytes) and no op."""
    g = c.graph
    produced = {t for op in c.ops for t in op.outputs}
    edges = set(g.inputs) | set(g.outputs)
    for cat in [op for op in c.ops if op.opcode == "CONCATENATION"]:
        if len(cat.outputs) != 1 or cat.options.get("fused_activation_function", "NONE") != "NONE":
            continue
        y = g.t(cat.outputs[0])
        rank = len(y.shape)
        axis = int(cat.options.get("axis", 0))
        axis = axis + rank if axis < 0 else axis
        if not 0 <= axis < rank or any(d != 1 for d in y.shape[:axis]) or y.is_const:
            continue
        xs = [g.t(t) if t >= 0 else None for t in cat.inputs]
        ok = len(set(cat.inputs)) == len(cat.inputs) and all(
            x is not None
            and x.index in produced
            and x.index not in edges
            and x.index not in c.alias_of
            and x.index not in c.alias_of.values()
            and not x.is_const
            and not x.variable
            and x.dtype == y.dtype
            and len(x.shape) == rank
            and all(
                d == e for k, (d, e) in enumerate(zip(x.shape, y.shape, strict=True)) if k != axis
            )
            and x.scale is not None
            and y.scale is not None
            and np.array_equal(x.scale, y.scale)
            and np.array_equal(x.zero_point, y.zero_point)
            for x in xs
        )
        if not ok or sum(x.shape[axis] for x in xs) != y.shape[axis]:
            continue
        at = 0
        for x in xs:
            c.alias_of[x.index], c.view_at[x.index] = y.index, at
            at += x.nbytes
        c.ops.remove(cat)


def _fuse_pads(c) -> None:
    """A PAD whose output only a CONV_2D or DEPTHWISE_CONV_2D reads, as its input 0,
    becomes that convolution's padding (see the module's docstring)."""
    g = c.graph
    readers: dict[int, list[Op]] = {}
    for op in c.ops:
        for t in op.inputs:
            readers.setdefault(t, []).append(op)
    kept = set(g.outputs) | set(c.alias_of.values())
    for pad in [op for op in c.ops if op.opcode in ("PAD", "PADV2")]:
        y = pad.outputs[0] if len(pad.outputs) == 1 else -1
        users = readers.get(y, [])
        if y < 0 or y in kept or len(users) != 1:
            continue
        conv = users[0]
        if conv.opcode not in ("CONV_2D", "DEPTHWISE_CONV_2D") or conv.inputs.count(y) != 1:
            continue
        if conv.inputs[0] != y or len(conv.inputs) < 2 or conv.inputs[1] < 0:
            continue
        fused = _fused_pad(g, pad, conv)
        if fused is None:
            continue
        c.ops[c.ops.index(conv)] = fused
        c.ops.remove(pad)
        readers[pad.inputs[0]] = [fused if r is pad else r for r in readers.get(pad.inputs[0], [])]


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
    _fuse_pads(c)
    _concat_slices(c)
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
