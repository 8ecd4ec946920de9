"""`microai compress --weights int4`: a model's int8 weights re-quantized to int4, per
layer, written as a standard .tflite (TensorType INT4, two per byte) that LiteRT and
TFLite-Micro read, so it is its own golden.

Per layer (CONV_2D and DEPTHWISE_CONV_2D per channel, on their TFLite axes 0 and 3;
FULLY_CONNECTED per tensor, the only int4 FC TFLite-Micro runs), the scale of each
channel is the one of a grid of clipping points that minimises the weights' squared
error, or with calibration data the layer outputs' expected squared error
(d' E[x x'] d over the channel's input patches x, d the weights' error); the bias is
re-quantized to the new scale (TFLite's bias scale is input x weights scale) and, with
data, corrected by E[x] . d, so that the outputs' mean does not move. Layers that
cannot take int4 are listed with the reason and kept as they are.

The model is edited with LiteRT's own object API (tflite_edit.py); the per-layer output
SQNR and, with labels, the accuracy are measured with LiteRT's reference kernels.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import InputError
from .ir import ConvertError, Graph, Op
from .tflite import read_model

# Weighted ops that take int4 weights: their channel axis (None: per tensor), and the op
# version an int4 filter needs (TFLite's op_version.cc).
AXIS = {"CONV_2D": 0, "DEPTHWISE_CONV_2D": 3, "FULLY_CONNECTED": None}
INT4_VERSION = {"CONV_2D": 7, "DEPTHWISE_CONV_2D": 7, "FULLY_CONNECTED": 10}
INT4_TYPE = 17  # tflite.TensorType.INT4
GRID = np.linspace(0.35, 1.0, 66)  # clipping points, as fractions of max |w|
MAX_SAMPLES = 2048  # calibration and evaluation inputs used at most


class CompressError(InputError):
    pass


@dataclass
class LayerReport:
    op: int  # op index in the .tflite
    opcode: str
    name: str  # the weights tensor's name
    bytes_before: int
    bytes_after: int
    reason: str | None = None  # why it stays int8 (None: converted)
    sqnr_db: float | None = None  # of the layer's output, int4 model vs int8 model
    granularity: str = ""


@dataclass
class Result:
    model: bytes
    layers: list[LayerReport]
    samples: int  # inputs the SQNR was measured on
    sqnr_inputs: str  # "calibration data" or "random inputs"
    accuracy: dict = field(default_factory=dict)  # {"int8": ..., "int4": ...} with labels


# ---- inputs -----------------------------------------------------------------------------


def load_data(path, graph: Graph) -> tuple[np.ndarray, np.ndarray | None]:
    """An .npz with `x` (N inputs: int8 as the model takes them, or float, quantized with
    the input's scale and zero point) and optional integer labels `y`."""
    try:
        with np.load(path, allow_pickle=False) as f:
            if "x" not in f:
                raise CompressError(f"{path}: no array 'x' (the inputs) in the .npz")
            x, y = f["x"], f["y"] if "y" in f else None
    except (OSError, ValueError) as e:
        raise CompressError(f"{path}: not a readable .npz ({e})") from None
    t = graph.t(graph.inputs[0])
    shape = tuple(t.shape[1:])
    if x.ndim == len(t.shape) and tuple(x.shape[1:]) == shape:
        pass
    elif tuple(x.shape[1:]) != shape:
        raise CompressError(
            f"{path}: 'x' has shape {list(x.shape)}; the model takes N x {list(shape)}"
        )
    if x.dtype.kind == "f":
        if t.scale is None:
            raise CompressError(f"{path}: float inputs, but the model's input is not quantized")
        from .quant import quantize_input

        x = quantize_input(x, t.scale1, t.zp)
    elif x.dtype.kind not in "iu" or x.min() < -128 or x.max() > 127:
        raise CompressError(f"{path}: 'x' must be int8 values or floats")
    if y is not None and (y.dtype.kind not in "iu" or y.shape[:1] != x.shape[:1]):
        raise CompressError(f"{path}: 'y' must be one integer label per input")
    return x.astype(np.int8)[:MAX_SAMPLES], None if y is None else y[:MAX_SAMPLES]


def _random_inputs(graph: Graph, n: int = 16) -> np.ndarray:
    t = graph.t(graph.inputs[0])
    rng = np.random.default_rng(0)
    return rng.integers(-128, 128, (n, *t.shape[1:]), dtype=np.int8)


def sample_batches(graph: Graph, xs: np.ndarray):
    """The samples xs (each the model's input without its batch axis) as the model's
    inputs, its batch B at a time (1 for most models), the last batch filled up with
    the first samples: (input, how many of its rows are samples of their own)."""
    shape = graph.t(graph.inputs[0]).shape
    b = int(shape[0]) if len(shape) else 1
    for i in range(0, len(xs), b):
        chunk = xs[i : i + b]
        real = len(chunk)
        if real < b:
            chunk = np.concatenate([chunk, np.resize(xs, (b - real, *xs.shape[1:]))])
        yield chunk.reshape(shape), real


# ---- which layers -----------------------------------------------------------------------


def _select(graph: Graph, layers: list[str] | None) -> list[Op]:
    by_key = {str(op.index): op for op in graph.ops}
    by_key.update({graph.t(t).name: op for op in graph.ops for t in op.outputs})
    if layers is None:
        return [op for op in graph.ops if op.opcode in AXIS]
    chosen = []
    for key in layers:
        op = by_key.get(key)
        if op is None:
            raise CompressError(
                f"--layers: no layer {key!r} in the model (name a layer by its op index "
                f"0..{len(graph.ops) - 1} or its output tensor's name)"
            )
        chosen.append(op)
    return chosen


def _why_not(graph: Graph, op: Op, users: dict[int, int]) -> str | None:
    if op.opcode not in AXIS:
        return f"a {op.opcode} has no weights that int4 applies to"
    if len(op.inputs) < 2 or op.inputs[1] < 0:
        return "no weights"
    w = graph.t(op.inputs[1])
    if w.storage == "s4":
        return "already int4"
    if w.dtype != np.int8 or not w.is_const or w.scale is None:
        return "weights are not constant int8"
    if np.any(w.zero_point != 0):
        return "asymmetric weights (a nonzero zero point)"
    if users[op.inputs[1]] > 1:
        return "weights shared with another op"
    b = op.inputs[2] if len(op.inputs) > 2 else -1
    if b >= 0:
        bt = graph.t(b)
        if bt.dtype != np.int32 or not bt.is_const:
            return "bias is not a constant int32"
        if users[b] > 1:
            return "bias shared with another op"
    x = graph.t(op.inputs[0])
    if x.dtype != np.int8 or x.scale is None:
        return "input is not int8"
    return None


# ---- the quantizer ------------------------------------------------------------------------


def real_weights(graph: Graph, op: Op) -> np.ndarray:
    """An op's weights (input 1) as real values: scale x q, per channel or per tensor."""
    w = graph.t(op.inputs[1])
    scale = np.asarray(w.scale, np.float64)
    if scale.size > 1:
        shape = [1] * w.data.ndim
        shape[w.quantized_dimension] = scale.size
        return w.data.astype(np.float64) * scale.reshape(shape)
    return w.data.astype(np.float64) * scale[0]


def _channels(w: np.ndarray, axis: int | None) -> np.ndarray:
    """Weights as [channel, taps] (one channel for per-tensor)."""
    if axis is None:
        return w.reshape(1, -1).astype(np.float64)
    return np.moveaxis(w, axis, 0).reshape(w.shape[axis], -1).astype(np.float64)


def _unchannels(q: np.ndarray, shape, axis: int | None) -> np.ndarray:
    if axis is None:
        return q.reshape(shape)
    moved = (shape[axis], *[d for i, d in enumerate(shape) if i != axis])
    return np.moveaxis(q.reshape(moved), 0, axis)


def quantize_int4(
    w: np.ndarray, cov: np.ndarray | None = None, rows: int = 1
) -> tuple[np.ndarray, np.ndarray]:
    """(q int8 in [-8, 7] like w, float32 scale per channel) for real weights w [C, k],
    minimising the squared error per channel, or d' cov d summed over `rows` rows of k
    taps when cov (k' x k', k = rows * k') is given. Candidate scales are max|w| x GRID
    / 7 and the full range of the negative side (max|w| / 8)."""
    C, k = w.shape
    amax = np.abs(w).max(axis=1)
    amax = np.where(amax > 0, amax, 1.0)
    cands = np.concatenate([GRID / 7.0, [1.0 / 8.0]])[:, None] * amax[None, :]  # [G, C]
    s = cands.astype(np.float32).astype(np.float64)
    q = np.clip(np.rint(w[None] / s[:, :, None]), -8, 7)  # [G, C, k]
    d = w[None] - q * s[:, :, None]
    if cov is None:
        err = (d * d).sum(axis=2)
    else:
        dr = d.reshape(len(s), C * rows, k // rows)
        err = np.einsum("gri,ij,grj->gr", dr, cov, dr).reshape(len(s), C, rows).sum(axis=2)
    best = err.argmin(axis=0)
    pick = np.arange(C)
    return q[best, pick].astype(np.int8), s[best, pick].astype(np.float32)


# ---- calibration statistics -----------------------------------------------------------------


def _patches(x: np.ndarray, op: Op, kh: int, kw: int) -> np.ndarray:
    """[N, oh, ow, kh, kw, C] input patches of a conv op (real values, 0 in padding)."""
    n, h, w, c = x.shape
    sh, sw = op.options.get("stride_h", 1), op.options.get("stride_w", 1)
    dh, dw = op.options.get("dilation_h_factor", 1), op.options.get("dilation_w_factor", 1)

    def axis(size, k, s, d):
        eff = (k - 1) * d + 1
        if op.options.get("padding", "SAME") == "SAME":
            out = (size + s - 1) // s
            pad = max(0, ((out - 1) * s + eff - size) // 2)
        else:
            out, pad = (size - eff + s) // s, 0
        return out, pad, max(0, (out - 1) * s + eff - size - pad)

    oh, ph, ph2 = axis(h, kh, sh, dh)
    ow, pw, pw2 = axis(w, kw, sw, dw)
    xp = np.pad(x, ((0, 0), (ph, ph2), (pw, pw2), (0, 0)))
    out = np.empty((n, oh, ow, kh, kw, c), x.dtype)
    for i in range(kh):
        for j in range(kw):
            out[:, :, :, i, j, :] = xp[
                :,
                i * dh : i * dh + (oh - 1) * sh + 1 : sh,
                j * dw : j * dw + (ow - 1) * sw + 1 : sw,
            ]
    return out


@dataclass
class _Stats:
    cov: np.ndarray | None  # [k, k] or [C, k, k] (depthwise: per channel)
    mean: np.ndarray | None  # [k] or [C, k]


def _stats(op: Op, w_shape, x: np.ndarray) -> _Stats:
    if op.opcode == "FULLY_CONNECTED":
        rows = x.reshape(-1, w_shape[1])
        return _Stats(rows.T @ rows / len(rows), rows.mean(axis=0))
    kh, kw = w_shape[1], w_shape[2]
    p = _patches(x, op, kh, kw)
    if op.opcode == "CONV_2D":
        flat = p.reshape(-1, kh * kw * x.shape[3])
        return _Stats(flat.T @ flat / len(flat), flat.mean(axis=0))
    # Depthwise: channel c of the output reads input channel c // multiplier.
    mult = w_shape[3] // x.shape[3]
    flat = p.reshape(-1, kh * kw, x.shape[3])
    cov = np.einsum("nic,njc->cij", flat, flat) / len(flat)
    mean = flat.mean(axis=0).T
    return _Stats(np.repeat(cov, mult, axis=0), np.repeat(mean, mult, axis=0))


def _layer_inputs(model: bytes, graph: Graph, ops: list[Op], xs: np.ndarray) -> dict:
    """Real-valued input activations of each op, over the calibration inputs."""
    from .golden import open_golden

    g = open_golden(model, "litert", preserve_all_tensors=True)
    seen: dict[int, list[np.ndarray]] = {op.index: [] for op in ops}
    for x, real in sample_batches(graph, xs):
        g.run([x])
        for op in ops:
            t = graph.t(op.inputs[0])
            v = g.tensor(op.inputs[0])[:real]
            seen[op.index].append((v.astype(np.float64) - t.zp) * t.scale1)
    return {k: np.concatenate(v) for k, v in seen.items()}


# ---- the edit ---------------------------------------------------------------------------


def _write(model: bytes, graph: Graph, edits: dict) -> bytes:
    """The model with each op's weights (and bias) replaced: edits[op.index] =
    (q int8 values, scales float32, axis or None, bias int32 or None, bias scales)."""
    from ai_edge_litert import schema_py_generated as S

    from . import tflite_edit as E

    m = E.load(model)
    sg = m.subgraphs[0]
    refs: dict[int, int] = {}
    for t in sg.tensors:
        refs[t.buffer] = refs.get(t.buffer, 0) + 1

    def put(tensor, data: bytes) -> None:
        if refs.get(tensor.buffer, 0) == 1 and tensor.buffer != 0:
            buf = m.buffers[tensor.buffer]
        else:
            buf = S.BufferT()
            m.buffers.append(buf)
            tensor.buffer = len(m.buffers) - 1
        buf.data = np.frombuffer(data, np.uint8)
        buf.offset = buf.size = 0

    def quant(scales, axis) -> object:
        qp = S.QuantizationParametersT()
        qp.scale = [float(s) for s in np.ravel(scales)]
        qp.zeroPoint = [0] * len(qp.scale)
        qp.quantizedDimension = 0 if axis is None else axis
        return qp

    from . import blob as B

    for op in graph.ops:
        if op.index not in edits:
            continue
        q, scales, axis, bias, bias_scales = edits[op.index]
        wt = sg.tensors[op.inputs[1]]
        wt.type = INT4_TYPE
        wt.quantization = quant(scales, axis)
        put(wt, B.element_bytes("s4", q))
        if bias is not None:
            bt = sg.tensors[op.inputs[2]]
            bt.quantization = quant(bias_scales, 0)
            put(bt, bias.astype("<i4").tobytes())
        o = sg.operators[op.index]
        code = m.operatorCodes[o.opcodeIndex]
        version = max(int(code.version or 1), INT4_VERSION[op.opcode])
        o.opcodeIndex = E.opcode_index(m, E.builtin_code(code), version)
    return E.save(m)


# ---- measuring ------------------------------------------------------------------------------


def _sqnr(a: np.ndarray, b: np.ndarray) -> float:
    noise = float(((b - a) ** 2).sum())
    signal = float((a**2).sum())
    if noise == 0:
        return float("inf")
    return 10 * np.log10(max(signal, 1e-30) / noise)


def evaluation_inputs(graph: Graph, data) -> tuple[np.ndarray, np.ndarray | None]:
    """(inputs, labels or None) to measure on: the data given, else random inputs."""
    return data if data is not None else (_random_inputs(graph), None)


def measure(
    before: bytes,
    after: bytes,
    graph: Graph,
    tensors: list[int],
    xs: np.ndarray,
    y,
    names: tuple[str, str] = ("int8", "int4"),
) -> tuple[dict, dict]:
    """The SQNR of each of `tensors` (after vs before, less the zero point: the tensors'
    shapes and quantization must be the same in both) over the inputs, by LiteRT's
    reference kernels, and with labels each model's accuracy, keyed by `names`."""
    from .golden import open_golden

    ga = open_golden(before, "litert", preserve_all_tensors=True)
    gb = open_golden(after, "litert", preserve_all_tensors=True)
    outs = {t: ([], []) for t in tensors}
    hits = dict.fromkeys(names, 0)
    i = 0
    for x, real in sample_batches(graph, xs):
        ya = ga.run([x])[0]
        yb = gb.run([x])[0]
        for t in tensors:
            zp = graph.t(t).zp
            outs[t][0].append(ga.tensor(t)[:real].astype(np.float64) - zp)
            outs[t][1].append(gb.tensor(t)[:real].astype(np.float64) - zp)
        if y is not None:
            want = y[i : i + real]
            hits[names[0]] += int(np.sum(ya.reshape(len(x), -1)[:real].argmax(1) == want))
            hits[names[1]] += int(np.sum(yb.reshape(len(x), -1)[:real].argmax(1) == want))
        i += real
    sqnr = {t: _sqnr(np.concatenate(a), np.concatenate(b)) for t, (a, b) in outs.items()}
    acc = {k: v / len(xs) for k, v in hits.items()} if y is not None else {}
    return sqnr, acc


# ---- the command --------------------------------------------------------------------------


def compress(
    model: bytes,
    name: str = "model",
    weights: str = "int4",
    layers: list[str] | None = None,
    data: tuple[np.ndarray, np.ndarray | None] | None = None,
    eval_data: tuple[np.ndarray, np.ndarray | None] | None = None,
    bias_correction: bool = True,
    measured: bool = True,
) -> Result:
    """The compressed model and what it cost (see the module's text). data: calibration
    (x, y or None); eval_data: where SQNR and accuracy are measured (default: data,
    else random inputs)."""
    if weights != "int4":
        raise CompressError(f"--weights {weights!r}: microai compress makes int4 weights")
    graph = read_model(model, name)
    if len(graph.inputs) != 1:
        raise CompressError(f"{name}: compress takes single-input models")
    ops = _select(graph, layers)
    users: dict[int, int] = {}
    for op in graph.ops:
        for t in op.inputs:
            if t >= 0:
                users[t] = users.get(t, 0) + 1
    reports, chosen = [], []
    for op in ops:
        w = graph.t(op.inputs[1]) if len(op.inputs) > 1 and op.inputs[1] >= 0 else None
        why = _why_not(graph, op, users)
        size = w.nbytes if w is not None and w.storage != "s4" else 0
        if w is not None and w.storage == "s4":
            size = (int(np.prod(w.shape)) + 1) // 2
        reports.append(LayerReport(op.index, op.opcode, w.name if w else "-", size, size, why))
        if why is None:
            chosen.append((op, reports[-1]))
    inputs = None
    if data is not None and chosen:
        inputs = _layer_inputs(model, graph, [op for op, _ in chosen], data[0])
    edits = {}
    for op, rep in chosen:
        w, x = graph.t(op.inputs[1]), graph.t(op.inputs[0])
        axis = AXIS[op.opcode]
        per_channel = axis is not None
        w_scale = np.asarray(w.scale, np.float64)
        wc = _channels(real_weights(graph, op), axis)
        st = _stats(op, w.shape, inputs[op.index]) if inputs is not None else None
        if st is None:
            cov, rows = None, 1
        elif op.opcode == "DEPTHWISE_CONV_2D":
            cov, rows = None, 1  # per channel below
        elif per_channel:
            cov, rows = st.cov, 1
        else:
            cov, rows = st.cov, w.shape[0]
        if st is not None and op.opcode == "DEPTHWISE_CONV_2D":
            q = np.empty_like(wc, dtype=np.int8)
            s = np.empty(wc.shape[0], np.float32)
            for c in range(wc.shape[0]):
                q[c : c + 1], s[c : c + 1] = quantize_int4(wc[c : c + 1], st.cov[c])
        else:
            q, s = quantize_int4(wc, cov, rows)
        d = wc - q.astype(np.float64) * s.astype(np.float64)[:, None]  # [C, k]
        in_scale = np.float64(np.float32(x.scale1))
        bias = None
        bias_scales = None
        if len(op.inputs) > 2 and op.inputs[2] >= 0:
            bt = graph.t(op.inputs[2])
            out_c = bt.data.size
            w_s = w_scale if w_scale.size == out_c else np.full(out_c, w_scale[0])
            b_real = bt.data.astype(np.float64) * in_scale * w_s
            if bias_correction and st is not None:
                if op.opcode == "FULLY_CONNECTED":
                    b_real += d.reshape(out_c, -1) @ st.mean
                elif op.opcode == "DEPTHWISE_CONV_2D":
                    b_real += (d * st.mean).sum(axis=1)
                else:
                    b_real += d @ st.mean
            # One bias scale per weights scale (a per-tensor bias keeps one: LiteRT reads
            # a single-scale tensor's scale only).
            bias_scales = (np.float32(x.scale1) * s).astype(np.float32)
            bq = np.rint(b_real / np.broadcast_to(bias_scales.astype(np.float64), (out_c,)))
            if np.abs(bq).max(initial=0) > 2**31 - 1:
                rep.reason = "the bias overflows int32 at the int4 scale"
                continue
            bias = bq.astype(np.int32)
        qw = _unchannels(q, w.shape, axis)
        edits[op.index] = (qw, s, axis, bias, bias_scales)
        rep.bytes_after = (int(np.prod(w.shape)) + 1) // 2
        rep.granularity = "per channel" if per_channel else "per tensor"
    try:
        out = _write(model, graph, edits) if edits else model
    except ConvertError as e:
        raise CompressError(str(e)) from None
    xs, y = evaluation_inputs(graph, eval_data or data)
    done = {op.index: op.outputs[0] for op in graph.ops if op.index in edits}
    sqnr, acc = ({}, {})
    if done and measured:  # measured: False, the model only (a recipe's)
        sqnr, acc = measure(model, out, graph, list(done.values()), xs, y)
    for rep in reports:
        rep.sqnr_db = sqnr.get(done.get(rep.op))
    return Result(
        out,
        reports,
        len(xs),
        "evaluation data" if eval_data else "calibration data" if data else "random inputs",
        acc,
    )
