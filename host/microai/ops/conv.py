"""Lowering of CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED (int8).

Multipliers, padding and activation ranges are computed exactly as TFLite's reference
kernels do (PopulateConvolutionQuantizationParams, ComputePaddingHeightWidth,
CalculateActivationRangeQuantized); the kernel and its scratch size are picked
afterwards from the C table (passes/choose_kernels.py), whose checks the runtime runs.
"""

from __future__ import annotations

import numpy as np

from .. import lce, quant
from ..ir import Graph, Op, Tensor
from . import Lowered, activation, fail, lowering, scale_product

_INT16_MAX = 2**15 - 1


def _check_io(
    graph: Graph, op: Op, s16: bool = False
) -> tuple[Tensor, Tensor, Tensor | None, Tensor]:
    """Input, weights, bias (or None) and output, with the dtype checks all three share;
    s16: the op takes 16x8 too (int16 activations, int8 weights, an int64 bias)."""
    if len(op.inputs) not in (2, 3) or len(op.outputs) != 1:
        raise fail(graph, op, f"{len(op.inputs)} inputs / {len(op.outputs)} outputs")
    x, w = graph.t(op.inputs[0]), graph.t(op.inputs[1])
    b = graph.t(op.inputs[2]) if len(op.inputs) == 3 and op.inputs[2] >= 0 else None
    y = graph.t(op.outputs[0])
    if x.dtype == np.float32 and w.dtype == np.int8:
        raise fail(graph, op, "hybrid (float input, int8 weights) is not supported")
    act16 = s16 and x.dtype == np.int16
    for role, t in (("input", x), ("weights", w), ("output", y)):
        want = np.int16 if act16 and role != "weights" else np.int8
        if t.dtype != want:
            only = "int8 (or int16 activations: 16x8)" if s16 else "int8"
            raise fail(graph, op, f"{role} '{t.name}' is {t.dtype}; only {only} is supported")
        if t.scale is None:
            raise fail(graph, op, f"{role} '{t.name}' is not quantized")
    if not w.is_const:
        raise fail(graph, op, f"weights '{w.name}' are not constant")
    if x.scale.size != 1 or y.scale.size != 1:
        raise fail(graph, op, "per-channel quantized activations are not supported")
    bias_type = np.int64 if act16 else np.int32
    if b is not None and (b.dtype != bias_type or not b.is_const):
        raise fail(
            graph,
            op,
            f"bias '{b.name}' must be a constant {np.dtype(bias_type)} tensor, got {b.dtype}",
        )
    if act16 and (x.zp != 0 or y.zp != 0 or np.any(w.zero_point != 0)):
        raise fail(graph, op, "16x8 wants zero points 0 on input, weights and output")
    return x, w, b, y


def _check_16x8_shifts(graph: Graph, op: Op, x: Tensor, shift: np.ndarray) -> None:
    """16x8 rescales int64 sums by 2^(shift - 15): a shift above 14 (an effective scale
    of 2^14 or more, which saturates every output) has no rounding step."""
    if x.dtype == np.int16 and np.any(shift > 14):
        raise fail(graph, op, "16x8: an effective scale of 2^14 or more")


def _bias(graph: Graph, op: Op, b: Tensor | None) -> int | np.ndarray:
    """The op's bias input: its tensor, -1 for none, or for 16x8 (an int64 bias) an int32
    copy -- the kernels sum in int64 and add the bias sign-extended, so it is the same
    bias when every value fits."""
    if b is None:
        return -1
    if b.dtype != np.int64:
        return op.inputs[2]
    if np.any(np.abs(b.data) > 2**31 - 1):
        raise fail(graph, op, f"16x8 bias '{b.name}' has values beyond int32")
    return b.data.astype(np.int32)


def _check_scale(graph: Graph, op: Op, real: np.ndarray) -> None:
    """An effective scale of 2^30 or more saturates every output, and the reference
    kernels' left shift overflows int32 there: no golden to be bit-exact with."""
    big = np.flatnonzero(np.asarray(real, np.float64) >= 2.0**30)
    if big.size:
        c = int(big[0])
        raise fail(
            graph,
            op,
            f"input x weights / output scale is {float(np.ravel(real)[c]):.3g} (channel {c}),"
            " 2^30 or more: the requantization overflows; check the model's scales",
        )


def _multipliers(
    graph: Graph, op: Op, x: Tensor, w: Tensor, y: Tensor, channels: int
) -> tuple[np.ndarray, ...]:
    """Per channel (or one, for per-tensor weights), as TFLite's conv/depthwise:
    double(input_scale) * double(filter_scale[c]) / double(output_scale)."""
    scales = np.asarray(w.scale, dtype=np.float32)
    assert scales.size in (1, channels)
    real = (
        np.float64(np.float32(x.scale1))
        * scales.astype(np.float64)
        / np.float64(np.float32(y.scale1))
    )
    _check_scale(graph, op, real)
    return quant.quantize_multipliers(real)


def conv_axis(
    size: int, before: int, after: int, filt: int, stride: int, dilation: int, padding: str
) -> tuple[int, int] | None:
    """lce.conv_axis (TFLite's ComputeOutSize + ComputePadding) for one axis of `size`
    padded first by `before` and `after` (a PAD folded into the op, passes/aliases.py):
    (the output size, the leading padding over the unpadded input), or None for a
    padding TFLite lacks. The trailing padding is implied by the sizes."""
    if padding not in ("SAME", "VALID"):
        return None
    out, lead = lce.conv_axis(padding, size + before + after, filt, stride, dilation)
    return out, before + lead


def _padding(
    graph: Graph, op: Op, size: int, filt: int, stride: int, dilation: int, out: int, axis: str
) -> int:
    """conv_axis() for the op's padding (and its options' "fused_pad"); checks the model's
    output size."""
    before, after = op.options.get("fused_pad", (0, 0, 0, 0))[0 if axis == "height" else 2 :][:2]
    padding = op.options.get("padding", "SAME")
    r = conv_axis(size, before, after, filt, stride, dilation, padding)
    if r is None:
        raise fail(graph, op, f"padding {padding} is not supported")
    expect, lead = r
    if expect != out or out < 1:
        raise fail(graph, op, f"output {axis} is {out}, {padding} padding gives {expect}")
    return lead


def _conv_like(graph: Graph, op: Op, depthwise: bool) -> Lowered:
    x, w, b, y = _check_io(graph, op, s16=True)
    for role, t in (("input", x), ("weights", w), ("output", y)):
        if len(t.shape) != 4:
            raise fail(graph, op, f"{role} '{t.name}' has shape {list(t.shape)}, not 4-D")
    n, in_h, in_w, in_c = x.shape
    fo, kh, kw, fi = w.shape
    on, out_h, out_w, out_c = y.shape
    if on != n:
        raise fail(graph, op, f"batch {on} of the output differs from the input's {n}")
    if depthwise:
        if fo != 1 or fi != out_c or out_c % in_c != 0:
            raise fail(graph, op, f"filter {list(w.shape)} does not fit {in_c} -> {out_c}")
        # Like TFLite's reference kernel: the multiplier comes from the shapes.
        depth_multiplier = out_c // in_c
        qdim = 3
    else:
        # Groups: the filter reads in_c / groups channels, each group out_c / groups.
        if fi < 1 or in_c % fi != 0 or out_c % (in_c // fi) != 0:
            raise fail(
                graph, op, f"filter {list(w.shape)} does not group {in_c} -> {out_c} channels"
            )
        if fo != out_c:
            raise fail(graph, op, f"filter {list(w.shape)} does not give {out_c} channels")
        depth_multiplier = 1
        qdim = 0
    if np.any(w.zero_point != 0):
        raise fail(graph, op, f"weights '{w.name}' have a nonzero zero point")
    if w.scale.size not in (1, out_c) or (w.scale.size > 1 and w.quantized_dimension != qdim):
        raise fail(graph, op, f"weights '{w.name}': unsupported quantization axis/size")
    if b is not None and b.data.size != out_c:
        raise fail(graph, op, f"bias '{b.name}' has {b.data.size} values, not {out_c}")
    sh, sw = op.options.get("stride_h", 1), op.options.get("stride_w", 1)
    dh, dw = op.options.get("dilation_h_factor", 1), op.options.get("dilation_w_factor", 1)
    if not all(1 <= v <= _INT16_MAX for v in (sh, sw, dh, dw)):
        raise fail(graph, op, f"stride {sh}x{sw} / dilation {dh}x{dw} out of range")
    pad_h = _padding(graph, op, in_h, kh, sh, dh, out_h, "height")
    pad_w = _padding(graph, op, in_w, kw, sw, dw, out_w, "width")
    params = {
        "input_offset": -x.zp,
        "output_offset": y.zp,
        "stride_h": sh,
        "stride_w": sw,
        "dilation_h": dh,
        "dilation_w": dw,
        "pad_h": pad_h,
        "pad_w": pad_w,
        "depth_multiplier": depth_multiplier,
        "act": activation(graph, op, y),
    }
    mult, shift = _multipliers(graph, op, x, w, y, out_c)
    _check_16x8_shifts(graph, op, x, shift)
    return Lowered(
        type="DWCONV" if depthwise else "CONV",
        params=params,
        inputs=[op.inputs[0], op.inputs[1], _bias(graph, op, b), mult, shift],
        outputs=[op.outputs[0]],
    )


@lowering("CONV_2D")
def lower_conv(graph: Graph, op: Op, golden: str) -> Lowered:
    return _conv_like(graph, op, depthwise=False)


@lowering("DEPTHWISE_CONV_2D")
def lower_dwconv(graph: Graph, op: Op, golden: str) -> Lowered:
    return _conv_like(graph, op, depthwise=True)


@lowering("FULLY_CONNECTED")
def lower_fc(graph: Graph, op: Op, golden: str) -> Lowered:
    x, w, b, y = _check_io(graph, op, s16=True)
    if op.options.get("weights_format", 0) != 0:
        raise fail(graph, op, "shuffled weights format is not supported")
    if len(w.shape) != 2:
        raise fail(graph, op, f"weights '{w.name}' have shape {list(w.shape)}, not 2-D")
    out_depth, in_depth = w.shape
    in_size = int(np.prod(x.shape, dtype=np.int64))
    if in_depth < 1 or in_size % in_depth != 0:
        raise fail(graph, op, f"input {list(x.shape)} is not a whole number of rows of {in_depth}")
    batches = in_size // in_depth
    y_size = int(np.prod(y.shape, dtype=np.int64))
    if not y.shape or y.shape[-1] != out_depth or y_size != batches * out_depth:
        raise fail(graph, op, f"output {list(y.shape)} is not {batches} rows of {out_depth}")
    if op.options.get("keep_num_dims") and x.shape[-1] != in_depth:
        raise fail(graph, op, f"keep_num_dims with input {list(x.shape)}, depth {in_depth}")
    if b is not None and b.data.size != out_depth:
        raise fail(graph, op, f"bias '{b.name}' has {b.data.size} values, not {out_depth}")
    per_channel = w.scale.size > 1
    if per_channel:
        if w.scale.size != out_depth or w.quantized_dimension != 0:
            raise fail(graph, op, f"weights '{w.name}': unsupported quantization axis/size")
        if np.any(w.zero_point != 0):
            raise fail(graph, op, f"per-channel weights '{w.name}' have nonzero zero points")
        mult, shift = _multipliers(graph, op, x, w, y, out_depth)
    else:
        # Per-tensor: the scales' product as each golden forms it, over the output scale
        # in double.
        real = scale_product(golden, x.scale1, w.scale1) / float(np.float64(y.scale1))
        _check_scale(graph, op, np.array([real]))
        m, s = quant.quantize_multiplier(real)
        mult, shift = np.array([m], np.int32), np.array([s], np.int32)
    _check_16x8_shifts(graph, op, x, shift)
    params = {
        "input_offset": -x.zp,
        "filter_offset": -w.zp,
        "output_offset": y.zp,
        "act": activation(graph, op, y),
    }
    return Lowered(
        type="FC",
        params=params,
        inputs=[op.inputs[0], op.inputs[1], _bias(graph, op, b), mult, shift],
        outputs=[op.outputs[0]],
        # LiteRT runs FC weights stored sparse (a block map, no DENSIFY) with its sparse
        # kernel, which rounds twice where its dense reference FC rounds once.
        rounding="double" if golden == "litert" and w.sparse else "",
    )
