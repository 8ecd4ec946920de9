"""Lowering of the ops with a state kept between invocations: SVDF and
UNIDIRECTIONAL_SEQUENCE_LSTM (int8).

The state is the op's variable tensor (ir.Tensor.variable): the blob gives it bytes of
its own (blob.MEM_STATE), filled with its zero point at load and by reset(), as both
goldens start it. Every precomputed value follows the goldens' Prepare(), which agree
here (TFLite-Micro's svdf_common.cc and LiteRT's svdf.cc).
"""

from __future__ import annotations

from functools import cache

import numpy as np

from .. import quant
from ..ir import ConvertError, Graph, Op, Tensor
from . import Lowered, fail, lowering, scale_product


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
        raise fail(
            graph, op, f"{len(op.inputs)} inputs / {len(op.outputs)} outputs; SVDF has 5 / 1"
        )
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
        raise fail(
            graph, op, f"weights_feature shape {list(wf.shape)}, expected {[filters, n_input]}"
        )
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


# UNIDIRECTIONAL_SEQUENCE_LSTM's inputs (TFLite's lstm_shared.h): 1-4 input weights, 5-8
# recurrent weights, 12-15 biases, each for gates input, forget, cell, output; 18 the
# hidden state, 19 the cell state (variables); 9-11 peephole, 16-17 projection, 20-23
# layer norm: LSTM variants TFLite-Micro's integer LSTM does not take.
_LSTM_VARIANTS = {
    9: "peephole",
    10: "peephole",
    11: "peephole",
    16: "projection",
    17: "projection",
    20: "layer norm",
    21: "layer norm",
    22: "layer norm",
    23: "layer norm",
}
Q3_12, Q0_15 = 2.0**-12, 2.0**-15  # the gates' FC outputs, and their activations


@cache
def sigmoid_table() -> tuple[int, ...]:
    """TFLite's sigmoid_table_uint16, which its int16 LOGISTIC and TANH interpolate (about
    sigmoid(i / 24) in 0.16, i = 0..255, but not exactly any formula), read back from
    TFLite-Micro's own int16 TANH: with the input scale just above 2 / 12288 it sees
    v = 2x, so x = 128 k lands on entry k (output entry k - 32768), and one input between
    entries 254 and 255 gives the last step. ConvertError without tflite-micro."""
    from ..golden import GoldenError, open_golden
    from ..testing.tflite_builder import ModelBuilder

    xs = np.array([128 * k for k in range(255)] + [128 * 254 + 127], np.int16)
    mb = ModelBuilder("sigmoid table probe")
    scale = float(np.nextafter(np.float32(2.0 / 12288.0), np.float32(1.0)))
    x = mb.input("x", (1, xs.size), np.int16, scale=scale)
    y = mb.tensor("y", (1, xs.size), np.int16, scale=2.0**-15)
    mb.op("TANH", [x], [y])
    mb.output(y)
    try:
        out = open_golden(mb.build(), "tflm").run([xs[None]])[0].reshape(-1).astype(np.int64)
    except (GoldenError, ImportError) as e:
        raise ConvertError(
            f"LSTM needs TFLite-Micro's sigmoid table, from tflite-micro: {e}"
        ) from None
    table = [int(v) + 32768 for v in out[:255]]
    step = int(out[255] - out[254])  # floor((254 d + 128) / 256) == d for d <= 64
    if table[0] != 32768 or not 0 <= step <= 64 or table != sorted(table):
        raise ConvertError("TFLite-Micro's int16 TANH did not give its sigmoid table back")
    return (*table, table[-1] + step)


def _gate_scale(golden: str, x: Tensor, w: Tensor) -> float:
    """A gate FC's scale into Q3.12: TFLite-Micro's GetQuantizedConvolutionMultipler (in
    double), or LiteRT's effective scale (w x x / 2^-12 in float32)."""
    if golden == "litert":
        return float(np.float32(w.scale1) * np.float32(x.scale1) / np.float32(Q3_12))
    return scale_product(golden, x.scale1, w.scale1) / Q3_12


@lowering("UNIDIRECTIONAL_SEQUENCE_LSTM")
def _lstm(graph: Graph, op: Op, golden: str) -> Lowered:
    """int8 input, weights and hidden state, int16 cell (zero point 0, a power-of-two
    scale), int32 biases, gates in Q3.12 and Q0.15; each golden's integer LSTM
    (nn_lstm_params): TFLite-Micro's (lstm_eval.h) or LiteRT's (lstm_eval.cc), which
    also reads the converter's hidden intermediate (its 5th) for h's scale and zero
    point. No peephole, projection, layer norm or CIFG (TFLite-Micro takes none)."""
    if len(op.inputs) != 24 or len(op.outputs) != 1:
        raise fail(graph, op, f"{len(op.inputs)} inputs / {len(op.outputs)} outputs; 24 / 1")
    ins = op.inputs
    for k, what in _LSTM_VARIANTS.items():
        if ins[k] >= 0:
            raise fail(graph, op, f"a {what} LSTM (input {k}); TFLite-Micro's takes none")
    missing = [k for k in (0, *range(1, 9), *range(12, 16), 18, 19) if ins[k] < 0]
    if missing:
        raise fail(graph, op, f"inputs {missing} are omitted (a CIFG LSTM has no input gate)")
    if op.options.get("diagonal_recurrent_tensors"):
        raise fail(graph, op, "diagonal recurrent weights are not supported")
    x, h, c = graph.t(ins[0]), graph.t(ins[18]), graph.t(ins[19])
    y = graph.t(op.outputs[0])
    if x.dtype == np.float32:
        raise fail(graph, op, "a float32 (or hybrid) LSTM; microai takes the int8 one")
    _per_tensor(graph, op, "input", x, (np.int8,), 3)
    _per_tensor(graph, op, "output", y, (np.int8,), 3)
    _per_tensor(graph, op, "hidden state", h, (np.int8,), len(h.shape))
    _per_tensor(graph, op, "cell state", c, (np.int16,), len(c.shape))
    for t in (h, c):
        if not t.variable:
            raise fail(graph, op, f"state '{t.name}' is not a variable tensor")
    if c.zp != 0:
        raise fail(graph, op, f"cell state '{c.name}' has zero point {c.zp}; it must be 0")
    power = quant.checked_log2(c.scale1)
    if power is None:
        raise fail(graph, op, f"cell state scale {c.scale1:g} is not a power of two")
    time_major = bool(op.options.get("time_major", False))
    d0, d1, n_in = x.shape
    batch, time = (d1, d0) if time_major else (d0, d1)
    n_state = int(graph.t(ins[5]).shape[0]) if graph.t(ins[5]).shape else 0
    if y.shape != (d0, d1, n_state):
        raise fail(graph, op, f"output shape {list(y.shape)}, expected {[d0, d1, n_state]}")
    for t in (h, c):
        if int(np.prod(t.shape)) != batch * n_state:
            raise fail(graph, op, f"state '{t.name}' has {list(t.shape)}; {batch} x {n_state}")
    w_in, w_rec, biases, gates = [], [], [], []
    for g in range(4):
        wi, wr, b = graph.t(ins[1 + g]), graph.t(ins[5 + g]), graph.t(ins[12 + g])
        for t, want in ((wi, (n_state, n_in)), (wr, (n_state, n_state))):
            _per_tensor(graph, op, "weights", t, (np.int8,), 2)
            if not t.is_const or t.shape != want or t.zp != 0:
                raise fail(
                    graph,
                    op,
                    f"weights '{t.name}' must be constant int8 {list(want)}, zero point 0",
                )
        if not b.is_const or b.dtype != np.int32 or b.shape != (n_state,):
            raise fail(graph, op, f"bias '{b.name}' must be a constant int32 [{n_state}]")
        m_in, s_in = _multiplier(graph, op, "gate", _gate_scale(golden, x, wi))
        m_rec, s_rec = _multiplier(graph, op, "gate", _gate_scale(golden, h, wr))
        gates.append(
            {
                "input_multiplier": m_in,
                "input_shift": s_in,
                "recurrent_multiplier": m_rec,
                "recurrent_shift": s_rec,
            }
        )
        w_in.append(wi.data)
        w_rec.append(wr.data)
        biases.append(b.data)
    act = op.options.get("fused_activation_function", "TANH")
    if act != "TANH":
        raise fail(graph, op, f"cell activation {act}; TFLite-Micro's integer LSTM takes TANH")
    cs = float(np.float32(c.scale1))
    m_f, s_f = _multiplier(graph, op, "forget", Q0_15 * cs / cs)
    m_i, s_i = _multiplier(graph, op, "input", Q0_15 * Q0_15 / cs)
    shift = 15 + power - 3
    tanh_multiplier, tanh_shift = (0, shift) if shift >= 0 else (3, -shift)
    if tanh_shift > 15:
        raise fail(graph, op, f"cell state scale {c.scale1:g} is out of range")
    clip = np.float32(op.options.get("cell_clip", 0.0))
    cell_shift = tanh_integer_bits = 0  # LiteRT's
    if golden == "litert":
        # LiteRT's ApplyTanh reads the cell in Q0 to Q6.
        if not 0 <= 15 + power <= 6:
            raise fail(graph, op, f"cell state scale {c.scale1:g}: LiteRT takes 2^-15 to 2^-9")
        cell_shift, tanh_integer_bits = 30 + power, 15 + power
        # The hidden intermediate's scale and zero point; float32 arithmetic throughout.
        if len(op.intermediates) != 5:
            raise fail(
                graph,
                op,
                f"{len(op.intermediates)} intermediate tensors; LiteRT's integer LSTM reads "
                "the converter's five (the last: the hidden state's quantization)",
            )
        hid = graph.t(op.intermediates[4])
        if hid.scale is None or not -128 <= hid.zp <= 127:
            raise fail(graph, op, f"hidden intermediate '{hid.name}' is not quantized int8")
        h_scale, h_out = float(np.float32(Q0_15 / float(np.float32(hid.scale1)) * Q0_15)), hid.zp
        q_clip = np.float32(min(max(clip / np.float32(cs), np.float32(-32768)), np.float32(32767)))
    else:
        h_scale, h_out = Q0_15 * Q0_15 / float(np.float32(h.scale1)), h.zp
        q_clip = min(max(float(clip) / cs, -32768.0), 32767.0)
    m_h, s_h = _multiplier(graph, op, "hidden", h_scale)
    q_clip = int(q_clip) if clip > 0 else 0
    return Lowered(
        type="LSTM",
        params={
            "batch": batch,
            "time": time,
            "input_size": n_in,
            "state_size": n_state,
            "time_major": int(time_major),
            "input_offset": -x.zp,
            "hidden_zero_point": h.zp,
            "hidden_out_offset": h_out,
            "litert": int(golden == "litert"),
            "gate": gates,
            "forget_multiplier": m_f,
            "forget_shift": s_f,
            "input_multiplier": m_i,
            "input_shift": s_i,
            "hidden_multiplier": m_h,
            "hidden_shift": s_h,
            "cell_clip": max(q_clip, 0),
            "tanh_multiplier": tanh_multiplier,
            "tanh_shift": tanh_shift,
            "cell_shift": cell_shift,
            "tanh_integer_bits": tanh_integer_bits,
            "sigmoid_table": list(sigmoid_table()) if golden != "litert" else [0] * 256,
        },
        inputs=[
            ins[0],
            np.concatenate(w_in).astype(np.int8),
            np.concatenate(w_rec).astype(np.int8),
            np.concatenate(biases).astype(np.int32),
            ins[18],
            ins[19],
        ],
        outputs=[op.outputs[0]],
    )
