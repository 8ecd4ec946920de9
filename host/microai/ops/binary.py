"""Lowering of Larq Compute Engine's binary ops (custom ops LceQuantize, LceDequantize,
LceBconv2d, LceBMaxPool2d) to BQUANTIZE, BDEQUANTIZE, BCONV and BMAXPOOL.

A bit-packed tensor is int32 words [..., ceil(C / 32)] in the model; in the IR and the
blob it is stored "b1" with its logical shape [..., C] (the channels, which the words do
not tell: LceQuantize's input, LceBconv2d's filter and channels_in do). Each lowering
marks the bit-packed tensors it makes or reads (_bits), so that a consumer sees its
producer's channels; marking twice is a check. A constant b1 tensor (a filter) keeps its
words as data.

The arithmetic is lce.py's (LCE's, from its sources); the blob gets what LCE's Prepare and
OneTimeSetup compute: the output transform's float32 multiplier and bias and int32 clamp
(with, for an int8 output, its integer form, lce.fixed_point), or the thresholds of a
bit-packed output, or the int8 values of LceDequantize's +1/-1.
"""

from __future__ import annotations

import numpy as np

from .. import lce
from ..ir import Graph, Op, Tensor
from . import Lowered, fail, lowering

_INT16_MAX = 2**15 - 1


def _bits(graph: Graph, op: Op, t: Tensor, logical: tuple[int, ...]) -> None:
    """Mark t (int32 words in the model) as bit-packed with `logical` shape, checking its
    words; a tensor already marked must agree."""
    logical = tuple(int(d) for d in logical)
    if t.storage == "b1":
        if tuple(t.shape) != logical:
            raise fail(
                graph,
                op,
                f"bit-packed '{t.name}' has {t.shape[-1]} channels here "
                f"and {logical[-1]} elsewhere",
            )
        return
    want = (*logical[:-1], lce.words(logical[-1]))
    if t.dtype != np.int32 or tuple(t.shape) != want:
        raise fail(
            graph,
            op,
            f"'{t.name}' is {t.dtype} {list(t.shape)}; bit-packed "
            f"{logical[-1]} channels are int32 {list(want)}",
        )
    if t.is_const:
        w = np.ascontiguousarray(t.data, np.int32)
        spare = lce.words(logical[-1]) * 32 - logical[-1]
        if spare and np.any(w[..., -1].view(np.uint32) >> np.uint32(32 - spare)):
            raise fail(graph, op, f"'{t.name}' has bits set past its {logical[-1]} channels")
    t.shape = logical
    t.storage_override = "b1"


def _bit_input(graph: Graph, op: Op, t: Tensor) -> tuple[int, ...]:
    """A bit-packed input's word shape; it must come from an Lce op."""
    if t.storage != "b1":
        if t.index in graph.inputs:
            raise fail(
                graph,
                op,
                f"bit-packed model input '{t.name}' is not supported; "
                "give the model int8 or float32 input (LceQuantize inside)",
            )
        raise fail(
            graph,
            op,
            f"input '{t.name}' is not bit-packed by LceQuantize, LceBconv2d or LceBMaxPool2d",
        )
    return (*t.shape[:-1], lce.words(t.shape[-1]))


def _io(graph: Graph, op: Op, n_in: int) -> None:
    if len(op.inputs) != n_in or len(op.outputs) != 1:
        raise fail(
            graph,
            op,
            f"{len(op.inputs)} inputs / {len(op.outputs)} outputs; {op.opcode} has {n_in} / 1",
        )
    if op.inputs[0] < 0:
        raise fail(graph, op, "input 0 is omitted")


def _geometry(graph: Graph, op: Op, fn, *args):
    try:
        return fn(op.options, *args)
    except lce.Unsupported as e:
        raise fail(graph, op, str(e)) from None


def _per_tensor(graph: Graph, op: Op, role: str, t: Tensor) -> None:
    if t.scale is None or t.scale.size != 1:
        raise fail(graph, op, f"{role} '{t.name}' must be int8 quantized per tensor")


@lowering("CUSTOM(LceQuantize)")
def _quantize(graph: Graph, op: Op, golden: str) -> Lowered:
    _io(graph, op, 1)
    x, y = graph.t(op.inputs[0]), graph.t(op.outputs[0])
    if x.dtype not in (np.int8, np.float32):
        raise fail(graph, op, f"input '{x.name}' is {x.dtype}; int8 or float32 are supported")
    if not 1 <= len(x.shape) <= 4:
        raise fail(graph, op, f"input '{x.name}' has rank {len(x.shape)}; 1 to 4")
    _bits(graph, op, y, x.shape)
    zp = x.zp if x.dtype == np.int8 else 0
    return Lowered("BQUANTIZE", {"zero_point": zp, "plus": 0, "minus": 0}, [x.index], [y.index])


@lowering("CUSTOM(LceDequantize)")
def _dequantize(graph: Graph, op: Op, golden: str) -> Lowered:
    _io(graph, op, 1)
    x, y = graph.t(op.inputs[0]), graph.t(op.outputs[0])
    _bit_input(graph, op, x)
    if y.dtype not in (np.int8, np.float32):
        raise fail(graph, op, f"output '{y.name}' is {y.dtype}; int8 or float32 are supported")
    if tuple(y.shape) != tuple(x.shape):
        raise fail(
            graph, op, f"output shape {list(y.shape)} is not the input's {list(x.shape)} channels"
        )
    if y.dtype == np.int8:
        _per_tensor(graph, op, "output", y)
        plus, minus = lce.dequantize_values(np.int8, y.scale1, y.zp)
    else:
        plus, minus = lce.dequantize_values(np.float32)
    return Lowered(
        "BDEQUANTIZE", {"zero_point": 0, "plus": plus, "minus": minus}, [x.index], [y.index]
    )


@lowering("CUSTOM(LceBMaxPool2d)")
def _bmaxpool(graph: Graph, op: Op, golden: str) -> Lowered:
    _io(graph, op, 1)
    x, y = graph.t(op.inputs[0]), graph.t(op.outputs[0])
    g = _geometry(graph, op, lce.bmaxpool_geometry, _bit_input(graph, op, x))
    if max(g.filt + g.stride + g.pad) > _INT16_MAX:
        raise fail(graph, op, "pool geometry out of range")
    n, _, _, c = x.shape
    _bits(graph, op, y, (n, *g.out_hw, c))
    params = {
        "filter_h": g.filt[0],
        "filter_w": g.filt[1],
        "stride_h": g.stride[0],
        "stride_w": g.stride[1],
        "pad_h": g.pad[0],
        "pad_w": g.pad[1],
    }
    return Lowered("BMAXPOOL", params, [x.index], [y.index])


def _const(graph: Graph, op: Op, k: int, dtype, n: int) -> Tensor:
    if op.inputs[k] < 0:
        raise fail(graph, op, f"input {k} is omitted")
    t = graph.t(op.inputs[k])
    if not t.is_const or t.dtype != dtype or t.data.size != n:
        raise fail(graph, op, f"input {k} '{t.name}' must be a constant {np.dtype(dtype)} [{n}]")
    if dtype == np.float32 and not np.all(np.isfinite(t.data)):
        raise fail(graph, op, f"input {k} '{t.name}' is not finite")
    return t


@lowering("CUSTOM(LceBconv2d)")
def _bconv(graph: Graph, op: Op, golden: str) -> Lowered:
    _io(graph, op, 5)
    x, f, y = graph.t(op.inputs[0]), graph.t(op.inputs[1]), graph.t(op.outputs[0])
    xw = _bit_input(graph, op, x)
    if not f.is_const or f.dtype != np.int32 or f.data.ndim != 4:
        raise fail(
            graph, op, f"filter '{f.name}' must be a constant bit-packed int32 [out, kh, kw, words]"
        )
    g = _geometry(graph, op, lce.bconv_geometry, xw, f.data.shape)
    if x.shape[-1] != g.channels_in:
        raise fail(
            graph,
            op,
            f"input '{x.name}' has {x.shape[-1]} channels, channels_in is {g.channels_in}",
        )
    if max(g.stride + g.dilation + g.pad) > _INT16_MAX:
        raise fail(graph, op, "convolution geometry out of range")
    out_ch, kh, kw, _ = f.data.shape
    _bits(graph, op, f, (out_ch, kh, kw, g.channels_in))
    out_shape = (x.shape[0], *g.out_hw, out_ch)
    params = {
        "channels_in": g.channels_in,
        "stride_h": g.stride[0],
        "stride_w": g.stride[1],
        "dilation_h": g.dilation[0],
        "dilation_w": g.dilation[1],
        "pad_h": g.pad[0],
        "pad_w": g.pad[1],
        "clamp_min": 0,
        "clamp_max": 2 * g.k,
    }
    if y.dtype == np.int32:
        _bits(graph, op, y, out_shape)
        th = _const(graph, op, 4, np.int32, out_ch).data.reshape(-1).astype(np.int64)
        # acc is in [0, K]: clamped to [-1, K], every threshold gives the same bits, and
        # the kernel's threshold - acc cannot overflow (LCE writes +/-2^31 for a channel
        # that is always or never set).
        th = np.clip(th, -1, g.k).astype(np.int32)
        return Lowered("BCONV", params, [x.index, f.index, -1, -1, th], [y.index])
    if y.dtype not in (np.int8, np.float32):
        raise fail(
            graph,
            op,
            f"output '{y.name}' is {y.dtype}; int8, float32 or bit-packed int32 are supported",
        )
    if tuple(y.shape) != out_shape:
        raise fail(graph, op, f"output shape {list(y.shape)}, expected {list(out_shape)}")
    mul = _const(graph, op, 2, np.float32, out_ch).data.reshape(-1)
    bias = _const(graph, op, 3, np.float32, out_ch).data.reshape(-1)
    if y.dtype == np.int8:
        _per_tensor(graph, op, "output", y)
    scale = y.scale1 if y.dtype == np.int8 else None
    t = lce.output_transform(mul, bias, g.k, g.activation, scale, y.zp)
    if not (np.all(np.isfinite(t.mul)) and np.all(np.isfinite(t.bias))):
        raise fail(graph, op, "the output transform (multiplier / scale) is not finite")
    params.update(clamp_min=t.clamp_min, clamp_max=t.clamp_max)
    # int8: the integer transform, proved equal to LCE's float32 one on every reachable
    # accumulator of every channel (lce.fixed_point; float32 where none matched).
    fixed = lce.fixed_point(t, g.k) if y.dtype == np.int8 else -1
    return Lowered("BCONV", params, [x.index, f.index, t.mul, t.bias, fixed], [y.index])
