"""`microai compress --prune-channels R`: whole channels removed from an int8 model,
written as a smaller standard .tflite (its own golden: LiteRT and TFLite-Micro run it).

Channels are followed through the graph as *spaces*: a CONV_2D or FULLY_CONNECTED
output starts a space (its channels, in order); DEPTHWISE_CONV_2D (depth multiplier 1),
pooling, MEAN over the spatial axes, PAD, the activations and QUANTIZE carry their
input's channels to their output; ADD and MUL tie both inputs and the output to one
space (a residual's branches keep the same channels); CONCATENATION on the channel axis
lays its inputs' channels end to end; a RESHAPE that flattens [N, H, W, C] repeats them
per pixel. A space is pruned only when every tensor it reaches is consumed by one of
these ops, a CONV_2D or a FULLY_CONNECTED (which then lose the matching input columns),
and none is a model input or output.

In each prunable space the R fraction of channels with the smallest importance goes, by
the criterion (CRITERIA): the L2 norm ("l2", the default without data) or the L1 norm
("l1") of the real weights that make it, summed over its producers, or ("output", the
default with data) the energy it adds to the outputs of the layers that read it:
E[x**2] on the data times the squared norm of their weights that read it. The
kept count is rounded to a multiple of 4 when the space has a multiple of 4 channels
(the DSP kernels' groups). With data, the spaces are pruned one at a time in the order
of the ops, each ranked on the activations of the model pruned so far, and a consumer
that loses input columns is compensated (COMPENSATIONS):
- "refit" (the default with data): its kept weights and its bias are solved again by
  least squares on the data (ridge REFIT_RIDGE), so that from the activations of the
  model pruned so far it gives the accumulators it gave from the unpruned model's
  activations (He et al. 2017, "Channel pruning for accelerating very deep neural
  networks"; Luo et al. 2017, ThiNet), then re-quantized to int8 (per channel or per
  tensor, as it was; the bias at input scale x weight scale). The earlier layers'
  pruning error is corrected there too.
- "bias": the removed inputs' mean contribution is folded into its bias (E[x - zp]
  times the removed weights), so its outputs' mean does not move.
- "none": the removed columns just go.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .compress import (
    CompressError,
    _patches,
    evaluation_inputs,
    measure,
    real_weights,
    sample_batches,
)
from .ir import Graph, Op
from .tflite import read_model

PRODUCERS = ("CONV_2D", "FULLY_CONNECTED")
CRITERIA = ("l2", "l1", "output")
COMPENSATIONS = ("refit", "bias", "none")
REFIT_RIDGE = 0.1  # the refit's ridge, a fraction of its inputs' mean square
REFIT_ROWS = 1 << 16  # the most rows (samples x output pixels) a refit sums over
CARRY = (  # output channels = input 0's channels
    "DEPTHWISE_CONV_2D",
    "AVERAGE_POOL_2D",
    "MAX_POOL_2D",
    "RELU",
    "RELU6",
    "RELU_N1_TO_1",
    "LOGISTIC",
    "TANH",
    "QUANTIZE",
    "PAD",
    "MEAN",
)
TIE = ("ADD", "MUL", "SUB", "MAXIMUM", "MINIMUM")


@dataclass
class SpaceReport:
    producers: list[int]  # op indices in the .tflite
    channels: int
    kept: int
    reason: str | None = None  # why it is not pruned


@dataclass
class PruneResult:
    model: bytes
    spaces: list[SpaceReport]
    ops: list[dict]  # per weighted op: op, opcode, weight bytes and MACs before and after
    samples: int
    accuracy: dict = field(default_factory=dict)
    output_sqnr: float | None = None  # None: not measured
    criterion: str = "l2"  # CRITERIA
    compensation: str = "none"  # COMPENSATIONS


class _Spaces:
    """Union-find over spaces, and each tensor's channel map: a list of (space, channel)."""

    def __init__(self):
        self.parent: list[int] = []
        self.size: list[int] = []
        self.fixed: dict[int, str] = {}
        self.producers: dict[int, list[Op]] = {}

    def new(self, n: int, op: Op) -> int:
        self.parent.append(len(self.parent))
        self.size.append(n)
        s = len(self.parent) - 1
        self.producers[s] = [op]
        return s

    def find(self, s: int) -> int:
        while self.parent[s] != s:
            self.parent[s] = self.parent[self.parent[s]]
            s = self.parent[s]
        return s

    def union(self, a: int, b: int) -> None:
        a, b = self.find(a), self.find(b)
        if a != b:
            self.parent[b] = a
            self.producers[a] = self.producers.get(a, []) + self.producers.pop(b, [])
            if b in self.fixed:
                self.fixed.setdefault(a, self.fixed.pop(b))

    def fix(self, chmap, why: str) -> None:
        for s, _ in chmap or []:
            self.fixed.setdefault(self.find(s), why)


def _channel_maps(graph: Graph) -> tuple[_Spaces, dict[int, list]]:
    sp = _Spaces()
    maps: dict[int, list] = {}
    for t in graph.inputs:
        maps[t] = None  # the model's own channels: not prunable
    for op in graph.ops:
        ins = [t for t in op.inputs if t >= 0]
        x = ins[0] if ins else -1
        xmap = maps.get(x)
        out = op.outputs[0] if op.outputs else -1
        if op.opcode in PRODUCERS:
            y = graph.t(out)
            n = int(y.shape[-1])
            s = sp.new(n, op)
            maps[out] = [(s, c) for c in range(n)]
            w = graph.t(op.inputs[1])
            if op.opcode == "CONV_2D" and w.shape[-1] != graph.t(x).shape[-1]:
                why = f"grouped CONV_2D (op {op.index}) keeps its groups"
                sp.fix(xmap, why)
                sp.fix(maps[out], why)
            continue
        if op.opcode in CARRY:
            y = graph.t(out)
            ok = xmap is not None and len(xmap) == y.shape[-1]
            if op.opcode == "DEPTHWISE_CONV_2D" and y.shape[-1] != graph.t(x).shape[-1]:
                ok = False  # a depth multiplier > 1
            if op.opcode == "MEAN" and len(y.shape) != len(graph.t(x).shape):
                ok = ok and graph.t(x).shape[-1] == y.shape[-1]
            if op.opcode == "PAD":
                pads = graph.t(op.inputs[1]).data if len(op.inputs) > 1 else None
                ok = ok and pads is not None and not np.any(np.asarray(pads)[-1])
            maps[out] = xmap if ok else None
            if not ok:
                sp.fix(xmap, f"{op.opcode} (op {op.index}) changes the channels")
            continue
        if op.opcode in TIE:
            amap = [maps.get(t) for t in ins]
            shapes = [graph.t(t).shape for t in ins]
            full = [m for m, s in zip(amap, shapes, strict=True) if m is not None]
            consts_ok = all(
                graph.t(t).is_const and (not s or s[-1] == 1)
                for t, m, s in zip(ins, amap, shapes, strict=True)
                if m is None
            )
            same = all(len(m) == len(full[0]) for m in full)
            aligned = same and all(
                ca == cb for m in full[1:] for (_, ca), (_, cb) in zip(full[0], m, strict=True)
            )
            if full and consts_ok and aligned:
                for m in full[1:]:
                    for (a, _), (b, _) in zip(full[0], m, strict=True):
                        sp.union(a, b)
                maps[out] = full[0]
            else:
                for m in amap:
                    sp.fix(m, f"{op.opcode} (op {op.index}) broadcasts or mixes channels")
                maps[out] = None
            continue
        if op.opcode == "CONCATENATION":
            y = graph.t(out)
            axis = op.options.get("axis", -1) % len(y.shape)
            amap = [maps.get(t) for t in ins]
            if axis == len(y.shape) - 1 and all(m is not None for m in amap):
                maps[out] = [c for m in amap for c in m]
            else:
                for m in amap:
                    sp.fix(m, f"CONCATENATION (op {op.index}) not on the channel axis")
                maps[out] = None
            continue
        if op.opcode in ("RESHAPE", "SQUEEZE"):
            xs, y = graph.t(x).shape, graph.t(out).shape
            if xmap is not None and len(xs) == 4 and len(y) == 2 and y[-1] == np.prod(xs[1:]):
                maps[out] = xmap * int(xs[1] * xs[2])  # [N, H*W*C]: channel c at p*C + c
            elif xmap is not None and y and y[-1] == xs[-1]:
                maps[out] = xmap
            else:
                sp.fix(xmap, f"{op.opcode} (op {op.index}) moves the channels")
                maps[out] = None
            continue
        # Any other op: what it reads keeps its channels.
        for t in ins:
            sp.fix(maps.get(t), f"{op.opcode} (op {op.index}) reads it")
        for t in op.outputs:
            maps[t] = None
    for t in graph.outputs:
        sp.fix(maps.get(t), "a model output")
    # Consumers: CONV_2D and FULLY_CONNECTED take any input channels (they drop columns).
    return sp, maps


def kept_channels(n: int, ratio: float) -> int:
    """Channels a space of n keeps when the fraction `ratio` is pruned: at least one,
    a multiple of 4 (at least 4) when n is one (the DSP kernels' groups)."""
    keep = max(1, int(round(n * (1 - ratio))))
    if n % 4 == 0 and n >= 8:
        keep = max(4, int(round(keep / 4)) * 4)
    return keep


def _means(model: bytes, graph: Graph, tensors: set[int], xs: np.ndarray) -> dict:
    """Per tensor, over every element but the last axis: the mean of (q - zp) and the mean
    real**2."""
    from .golden import open_golden

    g = open_golden(model, "litert", preserve_all_tensors=True)
    sums = {t: 0.0 for t in tensors}
    sqs = {t: 0.0 for t in tensors}
    rows = dict.fromkeys(tensors, 0)
    for x, real in sample_batches(graph, xs):
        g.run([x])
        for t in tensors:
            T = graph.t(t)
            v = g.tensor(t)[:real].astype(np.float64) - T.zp
            flat = v.reshape(-1, v.shape[-1])
            sums[t] = sums[t] + flat.sum(axis=0)
            sqs[t] = sqs[t] + (flat**2).sum(axis=0) * T.scale1**2
            rows[t] += len(flat)
    return {t: (sums[t] / max(rows[t], 1), sqs[t] / max(rows[t], 1)) for t in tensors}


def _output_energy(graph: Graph, stats: dict) -> dict[int, np.ndarray]:
    """Per tensor read by a CONV_2D or FULLY_CONNECTED (input 0), per position of its last
    axis: the energy it adds to that consumer's outputs, E[x**2] times the squared norm of
    the weights that read it (real units; summed over the consumers)."""
    out: dict[int, np.ndarray] = {}
    for op in graph.ops:
        t = op.inputs[0] if op.inputs else -1
        if op.opcode not in PRODUCERS or t not in stats:
            continue
        w = real_weights(graph, op)
        col = (w.reshape(-1, w.shape[-1]) ** 2).sum(axis=0)
        out[t] = out.get(t, 0.0) + stats[t][1] * col
    return out


def _columns(graph: Graph, op: Op, x: np.ndarray) -> np.ndarray:
    """A CONV_2D's or FULLY_CONNECTED's input x (real, [N, ...]) as the rows its weights
    read: [rows, taps], taps in the weights' order ([kh, kw, in] for a conv)."""
    w = graph.t(op.inputs[1]).shape
    if op.opcode == "FULLY_CONNECTED":
        return x.reshape(-1, w[-1])
    kh, kw = w[1], w[2]
    return _patches(x, op, kh, kw).reshape(-1, kh * kw * x.shape[3])


def _refit(
    model: bytes, graph: Graph, consumers: dict[int, np.ndarray], xs: np.ndarray, reference: bytes
) -> dict[int, tuple]:
    """Per consumer (op index -> its kept input channels' indices, as kept_index gives
    them), its weights and bias solved again (module text, "refit"): (int8 weights over
    the kept inputs, int32 bias or None, weight scales, bias scales)."""
    from .golden import open_golden

    ref_graph = read_model(reference, graph.name)
    cur = open_golden(model, "litert", preserve_all_tensors=True)
    ref = open_golden(reference, "litert", preserve_all_tensors=True)
    weights = {i: real_weights(graph, graph.ops[i]) for i in consumers}  # [out, ..., in]
    sums: dict[int, tuple] = {}
    step: dict[int, int] = {}
    for x, real in sample_batches(graph, xs):
        cur.run([x])
        ref.run([x])
        for i, ki in consumers.items():
            op = graph.ops[i]
            t = op.inputs[0]
            T, R = graph.t(t), ref_graph.t(t)
            xc = (cur.tensor(t)[:real].astype(np.float64) - T.zp) * T.scale1
            xr = xc
            if list(R.shape) == list(T.shape) and (R.scale1, R.zp) == (T.scale1, T.zp):
                xr = (ref.tensor(t)[:real].astype(np.float64) - R.zp) * R.scale1
            w = weights[i]
            rows_c, rows_r = _columns(graph, op, xc), _columns(graph, op, xr)
            if i not in step:
                step[i] = max(1, -(-len(rows_c) * len(xs) // (real * REFIT_ROWS)))
            rows_c, rows_r = rows_c[:: step[i]], rows_r[:: step[i]]
            kept = rows_c.reshape(len(rows_c), -1, w.shape[-1])[:, :, ki]
            kept = kept.reshape(len(rows_c), -1)
            target = rows_r @ w.reshape(len(w), -1).T
            a = np.concatenate([kept, np.ones((len(kept), 1))], axis=1)
            g, h = sums.get(i, (0.0, 0.0))
            sums[i] = (g + a.T @ a, h + a.T @ target)
    out = {}
    for i, (g, h) in sums.items():
        op = graph.ops[i]
        wt = graph.t(op.inputs[1])
        has_bias = len(op.inputs) > 2 and op.inputs[2] >= 0
        if has_bias:
            bt = graph.t(op.inputs[2])
            bias = bt.data.astype(np.float64) * np.asarray(bt.scale, np.float64)
            h = h + np.outer(g[:, -1], bias)  # the target's bias: sum a x b
        else:
            g, h = g[:-1, :-1], h[:-1]
        k = len(g) - has_bias
        # The ridge pulls towards the weights as they are (their kept columns), so that
        # a refit on few rows stays near them.
        w = weights[i]
        prior = w.reshape(len(w), -1, w.shape[-1])[:, :, consumers[i]].reshape(len(w), -1).T
        ridge = REFIT_RIDGE * max(float(np.trace(g[:k, :k])) / max(k, 1), 1e-30)
        h = h.copy()
        h[:k] += ridge * prior
        sol = np.linalg.solve(g + np.diag([ridge] * k + [0.0] * has_bias), h)
        wr = sol[:k].T  # [out, kept taps]
        amax = np.abs(wr).max(axis=1) if np.asarray(wt.scale).size > 1 else np.abs(wr).max()
        old = np.asarray(wt.scale, np.float64)
        w_scales = np.where(amax > 0, amax / 127.0, old).astype(np.float32)
        w_scales = np.broadcast_to(w_scales, old.shape).astype(np.float32)
        per_row = np.broadcast_to(w_scales, (len(wr),)).astype(np.float64)
        q = np.clip(np.rint(wr / per_row[:, None]), -127, 127).astype(np.int8)
        shape = list(wt.shape)
        shape[-1] = len(consumers[i]) if op.opcode == "CONV_2D" else q.shape[1]
        b_scales = bq = None
        if has_bias:
            s_in = np.float32(graph.t(op.inputs[0]).scale1)
            b_scales = (s_in * w_scales).astype(np.float32)
            b_row = np.broadcast_to(b_scales, (len(wr),)).astype(np.float64)
            bq = np.rint(sol[k] / b_row)
            if np.abs(bq).max(initial=0) > 2**31 - 1:
                raise CompressError(f"{graph.describe(op)}: the refit bias overflows int32")
            bq = bq.astype(np.int64)
        out[i] = (q.reshape(shape), bq, w_scales, b_scales)
    return out


def prune_channels(
    model: bytes,
    name: str = "model",
    ratio: float = 0.5,
    layers: list[str] | None = None,
    data: tuple[np.ndarray, np.ndarray | None] | None = None,
    eval_data: tuple[np.ndarray, np.ndarray | None] | None = None,
    compensation: str | None = None,
    criterion: str | None = None,
    measured: bool = True,
) -> PruneResult:
    if not 0.0 < ratio < 1.0:
        raise CompressError(f"--prune-channels {ratio}: a fraction of channels in (0, 1)")
    if compensation is None:
        compensation = "refit" if data is not None else "none"
    if compensation not in COMPENSATIONS:
        raise CompressError(f"--compensation {compensation}: one of {', '.join(COMPENSATIONS)}")
    if compensation != "none" and data is None:
        raise CompressError(f"--compensation {compensation} needs --data (the activations)")
    if criterion is None:
        criterion = "output" if data is not None else "l2"
    if criterion not in CRITERIA:
        raise CompressError(f"--criterion {criterion}: one of {', '.join(CRITERIA)}")
    if criterion == "output" and data is None:
        raise CompressError(f"--criterion {criterion} needs --data (the activations to rank by)")
    graph = read_model(model, name)
    for op in graph.ops:
        if op.opcode in PRODUCERS + ("DEPTHWISE_CONV_2D",):
            w = graph.t(op.inputs[1])
            if w.storage != "s8" or not w.is_const:
                raise CompressError(
                    f"{name}: {graph.describe(op)}: channel pruning takes int8 weights "
                    "(prune first, then compress --weights int4)"
                )
    wanted = None
    if layers is not None:
        by_key = {str(op.index): op.index for op in graph.ops}
        by_key.update({graph.t(t).name: op.index for op in graph.ops for t in op.outputs})
        wanted = set()
        for key in layers:
            if key not in by_key:
                raise CompressError(f"--layers: no layer {key!r} in the model")
            wanted.add(by_key[key])
    sp, _ = _channel_maps(graph)
    plan = _plan(sp, ratio, wanted)
    reports = [r for _, r in plan]
    if data is None:
        out = _prune(model, graph, ratio, wanted, None, "none", criterion)
    else:
        # One space at a time, in the order of the ops: each ranked (and its consumers
        # compensated) on the activations of the model pruned so far, so a later space
        # sees what the earlier ones left.
        out = model
        for _, r in sorted(plan, key=lambda p: min(p[1].producers, default=-1)):
            if r.reason is None:
                g = read_model(out, name)
                out = _prune(out, g, ratio, set(r.producers), data, compensation, criterion, model)
    final = read_model(out, name)
    op_rows = [
        {
            "op": op.index,
            "opcode": op.opcode,
            "weights_before": int(graph.t(op.inputs[1]).data.size),
            "weights_after": int(final.t(final.ops[op.index].inputs[1]).data.size),
        }
        for op in graph.ops
        if op.opcode in PRODUCERS + ("DEPTHWISE_CONV_2D",)
    ]
    xs, y = evaluation_inputs(graph, eval_data or data)
    o = graph.outputs[0]
    sqnr, acc = {o: None}, {}
    if measured:  # False: the model only (a recipe's)
        sqnr, acc = measure(model, out, graph, [o], xs, y, ("int8", "pruned"))
    return PruneResult(out, reports, op_rows, len(xs), acc, sqnr[o], criterion, compensation)


def _plan(sp: _Spaces, ratio: float, wanted: set[int] | None) -> list[tuple[int, SpaceReport]]:
    """(space, its report) of each space: the channels it keeps, or why it keeps them all."""
    out = []
    for s in sorted({sp.find(s) for s in range(len(sp.parent))}):
        prods = sp.producers.get(s, [])
        n = sp.size[s]
        why = sp.fixed.get(s)
        if why is None and wanted is not None and not any(p.index in wanted for p in prods):
            why = "not in --layers"
        keep = kept_channels(n, ratio)
        if why is None and keep >= n:
            why = "too few channels to remove any"
        out.append((s, SpaceReport([p.index for p in prods], n, n if why else keep, why)))
    return out


def _prune(
    model: bytes,
    graph: Graph,
    ratio: float,
    wanted: set[int] | None,
    data: tuple[np.ndarray, np.ndarray | None] | None,
    compensation: str,
    criterion: str,
    reference: bytes | None = None,
) -> bytes:
    """The model with the spaces of the producers `wanted` (None: all) pruned, ranked by
    the criterion and compensated on `data` (refit towards the `reference` model's
    activations: the unpruned model)."""
    from . import tflite_edit as E

    sp, maps = _channel_maps(graph)
    stats = energy = None
    if data is not None:
        tensors = {t for t, m in maps.items() if m is not None}
        stats = _means(model, graph, tensors, data[0])
        energy = _output_energy(graph, stats)
    removed: dict[int, set[int]] = {}
    for s, r in _plan(sp, ratio, wanted):
        if r.reason:
            continue
        imp = np.zeros(r.channels)
        if criterion == "output":
            for t, per in energy.items():
                for i, (ss, c) in enumerate(maps[t]):
                    if sp.find(ss) == s:
                        imp[c] += per[i]
        else:
            for p in sp.producers.get(s, []):
                w = real_weights(graph, p)
                w = w.reshape(w.shape[0], -1)
                imp += np.abs(w).sum(axis=1) if criterion == "l1" else np.sqrt((w**2).sum(axis=1))
        order = np.argsort(imp, kind="stable")
        removed[s] = {int(c) for c in order[: r.channels - r.kept]}

    def kept_index(t: int) -> np.ndarray | None:
        m = maps.get(t)
        if m is None:
            return None
        keep = [i for i, (s, c) in enumerate(m) if c not in removed.get(sp.find(s), ())]
        return None if len(keep) == len(m) else np.array(keep)

    refits = {}
    if compensation == "refit":
        consumers = {}
        for op in graph.ops:
            ki = kept_index(op.inputs[0]) if op.opcode in PRODUCERS else None
            if ki is not None:
                consumers[op.index] = ki
        refits = _refit(model, graph, consumers, data[0], reference or model)

    m = E.load(model)
    sg = m.subgraphs[0]

    def set_data(t: int, a: np.ndarray) -> None:
        from ai_edge_litert import schema_py_generated as S

        tensor = sg.tensors[t]
        buf = S.BufferT()
        buf.data = np.frombuffer(np.ascontiguousarray(a).tobytes(), np.uint8)
        m.buffers.append(buf)
        tensor.buffer = len(m.buffers) - 1
        tensor.shape = np.array(a.shape, np.int32)
        tensor.shapeSignature = None

    def set_quantization(t: int, scales: np.ndarray) -> None:
        q = sg.tensors[t].quantization
        q.scale = [float(v) for v in scales]
        q.zeroPoint = [0] * len(q.scale)

    def set_scales(t: int, keep: np.ndarray) -> None:
        q = sg.tensors[t].quantization
        if q is not None and q.scale is not None and len(q.scale) > 1:
            q.scale = [q.scale[i] for i in keep]
            if q.zeroPoint is not None and len(q.zeroPoint) > 1:
                q.zeroPoint = [q.zeroPoint[i] for i in keep]

    for op in graph.ops:
        out = op.outputs[0] if op.outputs else -1
        ko = kept_index(out) if out >= 0 else None
        if op.opcode in PRODUCERS + ("DEPTHWISE_CONV_2D",):
            w = graph.t(op.inputs[1])
            wd = w.data.astype(np.int64)
            bias = graph.t(op.inputs[2]) if len(op.inputs) > 2 and op.inputs[2] >= 0 else None
            bd = bias.data.astype(np.int64) if bias is not None else None
            before = wd.size
            ki = kept_index(op.inputs[0])
            if ki is not None and op.opcode in PRODUCERS:
                axis = 3 if op.opcode == "CONV_2D" else 1
                gone = np.setdiff1d(np.arange(wd.shape[axis]), ki)
                if op.index in refits:
                    wd, bd, w_scales, b_scales = refits[op.index]
                    set_quantization(op.inputs[1], w_scales)
                    if bias is not None:
                        set_quantization(op.inputs[2], b_scales)
                else:
                    if compensation == "bias" and bd is not None:
                        mean_in = stats[op.inputs[0]][0]  # E[q - zp] per input channel
                        lost = np.take(wd, gone, axis=axis)
                        lost = lost @ mean_in[gone] if axis == 1 else lost * mean_in[gone]
                        bd = bd + np.rint(lost.reshape(len(bd), -1).sum(axis=1)).astype(np.int64)
                    wd = np.take(wd, ki, axis=axis)
            if ko is not None:
                axis = 3 if op.opcode == "DEPTHWISE_CONV_2D" else 0
                wd = np.take(wd, ko, axis=axis)
                if bd is not None:
                    bd = bd[ko]
                set_scales(op.inputs[1], ko)
                if bias is not None:
                    set_scales(op.inputs[2], ko)
            if wd.size != before or ko is not None or ki is not None:
                set_data(op.inputs[1], wd.astype(np.int8))
                if bd is not None:
                    if np.abs(bd).max(initial=0) > 2**31 - 1:
                        raise CompressError(f"{graph.describe(op)}: the bias overflows int32")
                    set_data(op.inputs[2], bd.astype("<i4"))
        if op.opcode == "RESHAPE" and ko is not None:
            shape = list(graph.t(out).shape)
            shape[-1] = len(ko)
            if len(op.inputs) > 1 and op.inputs[1] >= 0 and graph.t(op.inputs[1]).is_const:
                set_data(op.inputs[1], np.array(shape, np.int32))
            o = sg.operators[op.index]
            if o.builtinOptions is not None and hasattr(o.builtinOptions, "newShape"):
                o.builtinOptions.newShape = shape
    # Every tensor with pruned channels gets its new shape.
    for t in maps:
        ki = kept_index(t)
        if ki is None or graph.t(t).is_const:
            continue
        tensor = sg.tensors[t]
        shape = list(graph.t(t).shape)
        shape[-1] = len(ki)
        tensor.shape = np.array(shape, np.int32)
        tensor.shapeSignature = None
    return E.save(m)
