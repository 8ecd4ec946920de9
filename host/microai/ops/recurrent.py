"""Lowering of the ops with a state kept between invocations: SVDF (int8).

The state is the op's variable tensor (ir.Tensor.variable): the blob gives it bytes of
its own (blob.MEM_STATE), filled with its zero point at load and by reset(), as both
goldens start it. Every precomputed value follows the goldens' Prepare(), which agree
here (TFLite-Micro's svdf_common.cc and LiteRT's svdf.cc).
"""

from __future__ import annotations

import numpy as np

from .. import quant
from ..ir import Graph, Op, Tensor
from . import Lowered, fail, lowering


def _per_tensor(graph: Graph, op: Op, role: str, t: Tensor, dtypes: tuple, rank: int) -> Tensor:
    """t, checked: one of dtypes, quantized per tensor, of the given rank."""
    if t.dtype not in [np.dtype(d) for d in dtypes]:
        kinds = " or ".join(str(np.dtype(d)) for d in dtypes)
        raise fail(graph, op, f"{role} '{t.name}' is {t.dtype}; {kinds} is supported")
    if t.scale is None or t.scale.size != 1:
        raise fail(graph, op, f"{role} '{t.name}' is not quantized per tensor")
    if len(t.shape) != rank:
        raise fail(graph, op, f"{role} '{t.name}' has shape {list(t.shape)}; rank {rank}")
    return t


def _multiplier(graph: Graph, op: Op, what: str, real: float) -> tuple[int, int]:
    m, s = quant.quantize_multiplier(real)
    if not (real > 0.0 and -31 <= s <= 30):
        raise fail(graph, op, f"the scales give a {what} multiplier of {real:g}")
    return m, s


@lowering("SVDF")
def _svdf(graph: Graph, op: Op, golden: str) -> Lowered:
    """int8 input, weights_feature and output; weights_time and the state both int8
    (TFLite-Micro only: LiteRT takes int16) or both int16 (zero point 0); bias int32 or
    omitted (TFLite-Micro needs one). The fused activation is not applied: neither
    golden's integer SVDF applies it."""
    if len(op.inputs) != 5 or len(op.outputs) != 1:
        raise fail(graph, op, f"{len(op.inputs)} inputs / {len(op.outputs)} outputs; SVDF has 5 / 1")
    if any(i < 0 for k, i in enumerate(op.inputs) if k != 3):
        raise fail(graph, op, "only the bias (input 3) may be omitted")
    x, wf, wt, st = (graph.t(op.inputs[k]) for k in (0, 1, 2, 4))
    y = graph.t(op.outputs[0])
    if x.dtype == np.float32:
        raise fail(graph, op, "a float32 (or hybrid) SVDF; microai takes the int8 one")
    _per_tensor(graph, op, "input", x, (np.int8,), 2)
    _per_tensor(graph, op, "weights_feature", wf, (np.int8,), 2)
    _per_tensor(graph, op, "weights_time", wt, (np.int8, np.int16), 2)
    _per_tensor(graph, op, "state", st, (wt.dtype,), 2)
    _per_tensor(graph, op, "output", y, (np.int8,), 2)
    if not wf.is_const or not wt.is_const:
        raise fail(graph, op, "weights_feature and weights_time must be constants")
    if not st.variable:
        raise fail(graph, op, f"state '{st.name}' is not a variable tensor")
    if st.dtype == np.int16 and st.zp != 0:
        raise fail(graph, op, f"int16 state '{st.name}' has zero point {st.zp}; it must be 0")
    rank = int(op.options.get("rank", 0))
    batch, n_input = x.shape
    filters, memory = wt.shape
    if rank < 1 or filters % rank:
        raise fail(graph, op, f"rank {rank} does not divide the {filters} filters")
    units = filters // rank
    if wf.shape != (filters, n_input):
        raise fail(graph, op, f"weights_feature shape {list(wf.shape)}, expected {[filters, n_input]}")
    if st.shape != (batch, memory * filters):
        raise fail(graph, op, f"state shape {list(st.shape)}, expected {[batch, memory * filters]}")
    if y.shape != (batch, units):
        raise fail(graph, op, f"output shape {list(y.shape)}, expected {[batch, units]}")
    f32 = np.float32
    state_x_time = f32(st.scale1) * f32(wt.scale1)
    if op.inputs[3] >= 0:
        b = graph.t(op.inputs[3])
        if not b.is_const or b.dtype != np.int32 or b.shape != (units,):
            raise fail(graph, op, f"bias '{b.name}' must be a constant int32 [{units}] tensor")
        # Both goldens' Prepare: |bias scale - state scale x weights_time scale| < 1e-5.
        if b.scale is None or not abs(float(b.scale[0]) - float(state_x_time)) < 1e-5:
            raise fail(graph, op, f"bias '{b.name}' scale is not state x weights_time scale")
    # Both goldens form each scale in float32 (a * b / c), then widen it.
    m1, s1 = _multiplier(
        graph, op, "feature", float(f32(x.scale1) * f32(wf.scale1) / f32(st.scale1))
    )
    m2, s2 = _multiplier(graph, op, "output", float(state_x_time / f32(y.scale1)))
    return Lowered(
        type="SVDF",
        params={
            "batch": batch,
            "input_size": n_input,
            "units": units,
            "rank": rank,
            "memory": memory,
            "input_offset": -x.zp,
            "state_zero_point": st.zp,
            "feature_multiplier": m1,
            "feature_shift": s1,
            "output_multiplier": m2,
            "output_shift": s2,
            "output_offset": y.zp,
        },
        inputs=list(op.inputs),
        outputs=[op.outputs[0]],
    )
