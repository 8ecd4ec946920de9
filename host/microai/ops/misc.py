"""Lowering of the pooling, elementwise, activation and data-movement ops (int8).

AVERAGE_POOL_2D, MAX_POOL_2D, MEAN (over H and W), ADD, MUL, SOFTMAX, LOGISTIC, TANH,
HARD_SWISH, RELU, RELU6, LEAKY_RELU, MAXIMUM, MINIMUM, PAD, PADV2, TRANSPOSE (rank 1 to
4), STRIDED_SLICE, SPLIT, SPLIT_V, GATHER, BATCH_MATMUL, CONCATENATION, QUANTIZE
(float32 -> int8, and int8 -> int8 as REQUANTIZE) and DEQUANTIZE (int8 -> float32).

Every precomputed value follows the Prepare() of LiteRT's reference kernels (the golden,
BUILTIN_REF), in the same float/double arithmetic:
- ADD: inputs brought to 2 * max(input scales) after a left shift of 20
  (QuantizeMultiplierSmallerThanOneExp for the three multipliers).
- MUL: QuantizeMultiplier(float(s1 * s2 / s_out)) -- LiteRT multiplies the float scales
  in float32.
- SOFTMAX: PreprocessSoftmaxScaling(beta, s_in, 5 integer bits) and diff_min from
  CalculateInputRadius.
- LOGISTIC, TANH, HARD_SWISH: one LUT op, a 256-entry table of the golden's int8 values.
  LiteRT's LOGISTIC and TANH are such tables filled in float (LUTPopulate with
  1 / (1 + expf(-x)), tanhf), built here with the C library's functions; TFLite-Micro's
  TANH is gemmlowp fixed point (the C core's nn_lut_tanh_s8); both goldens' HARD_SWISH
  is reference_ops::HardSwish's int16 fixed point (hard_swish_lut).
- MEAN: QuantizeMultiplier(s_in / s_out), then QuantizedMeanOrSum's adjustment that
  folds 1 / (H * W) into multiplier and shift.
- AVERAGE_POOL_2D / MAX_POOL_2D: ComputePaddingHeightWidth.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import math
from functools import cache

import numpy as np

from .. import quant
from ..ir import Graph, Op, Tensor
from . import Lowered, activation, fail, lowering, scale_product

_SOFTMAX_DIFF_INT_BITS = 5  # kScaledDiffIntegerBits in TFLite's softmax


def _io(graph: Graph, op: Op, n_in: int | tuple[int, ...], n_out: int = 1) -> None:
    counts = (n_in,) if isinstance(n_in, int) else n_in
    if len(op.inputs) not in counts or len(op.outputs) != n_out:
        raise fail(graph, op, f"{len(op.inputs)} inputs / {len(op.outputs)} outputs")
    if any(i < 0 for i in op.inputs):
        raise fail(graph, op, "an omitted input is not supported")


def _int16(graph: Graph, op: Op, role: str, t: Tensor) -> Tensor:
    """t, checked to be a per-tensor quantized int16 tensor of rank <= 4 (16x8)."""
    if t.scale is None or t.scale.size != 1:
        raise fail(graph, op, f"{role} '{t.name}' is not quantized per tensor")
    if len(t.shape) > 4:
        raise fail(graph, op, f"{role} '{t.name}' has rank {len(t.shape)}; at most 4")
    return t


def _int8(graph: Graph, op: Op, role: str, t: Tensor) -> Tensor:
    """t, checked to be a per-tensor quantized int8 tensor of rank <= 4."""
    if t.dtype != np.int8:
        raise fail(graph, op, f"{role} '{t.name}' is {t.dtype}; only int8 is supported")
    if t.scale is None:
        raise fail(graph, op, f"{role} '{t.name}' is not quantized")
    if t.scale.size != 1:
        raise fail(graph, op, f"{role} '{t.name}' is quantized per channel")
    if len(t.shape) > 4:
        raise fail(graph, op, f"{role} '{t.name}' has rank {len(t.shape)}; at most 4")
    return t


def _dims4(shape: tuple[int, ...]) -> tuple[int, ...]:
    """The 4-D right-aligned view the runtime uses (rank 2 [a, b] -> (1, 1, a, b))."""
    return (1,) * (4 - len(shape)) + tuple(int(d) for d in shape)


def _elements(shape: tuple[int, ...]) -> int:
    return int(np.prod(shape, dtype=np.int64))


def _same_quant(a: Tensor, b: Tensor) -> bool:
    return a.zp == b.zp and np.float32(a.scale1) == np.float32(b.scale1)


def _quantize_multiplier(graph: Graph, op: Op, real: float, what: str) -> tuple[int, int]:
    m, s = quant.quantize_multiplier(real)
    if not -31 <= s <= 30:
        raise fail(graph, op, f"{what} multiplier {real!r} is out of range")
    return m, s


# ---- pooling ------------------------------------------------------------------------


def _pool_axis(graph: Graph, op: Op, padding: str, size: int, filt: int, stride: int):
    """TFLite ComputePaddingHeightWidth along one axis: (output size, leading padding)."""
    if filt < 1 or stride < 1:
        raise fail(graph, op, f"filter {filt} / stride {stride} must be >= 1")
    if padding == "SAME":
        out = (size + stride - 1) // stride
    elif padding == "VALID":
        out = (size - filt + stride) // stride
    else:
        raise fail(graph, op, f"padding {padding} is not supported")
    total = max((out - 1) * stride + filt - size, 0)
    return out, total // 2


@lowering("AVERAGE_POOL_2D", "MAX_POOL_2D")
def _pool(graph: Graph, op: Op, golden: str) -> Lowered:
    _io(graph, op, 1)
    x = _int8(graph, op, "input", graph.t(op.inputs[0]))
    y = _int8(graph, op, "output", graph.t(op.outputs[0]))
    if len(x.shape) != 4 or len(y.shape) != 4:
        raise fail(graph, op, "input and output must be 4-D NHWC")
    if x.zp != y.zp or abs(x.scale1 - y.scale1) > 1e-6:
        raise fail(graph, op, "input and output quantization differ (TFLite requires equal)")
    o = op.options
    padding = o.get("padding", "SAME")
    n, h, w, c = x.shape
    fh, fw = int(o.get("filter_height", 0)), int(o.get("filter_width", 0))
    sh, sw = int(o.get("stride_h", 0)), int(o.get("stride_w", 0))
    oh, pad_h = _pool_axis(graph, op, padding, h, fh, sh)
    ow, pad_w = _pool_axis(graph, op, padding, w, fw, sw)
    if (n, oh, ow, c) != tuple(y.shape):
        raise fail(graph, op, f"output shape {list(y.shape)}, expected {[n, oh, ow, c]}")
    if oh < 1 or ow < 1 or max(fh, fw, sh, sw, pad_h, pad_w) > 2**15 - 1:
        raise fail(graph, op, "pool geometry out of range")
    avg = op.opcode == "AVERAGE_POOL_2D"
    return Lowered(
        type="AVGPOOL" if avg else "MAXPOOL",
        params={
            "stride_h": sh,
            "stride_w": sw,
            "filter_h": fh,
            "filter_w": fw,
            "pad_h": pad_h,
            "pad_w": pad_w,
            "act": activation(graph, op, y),
        },
        inputs=[op.inputs[0]],
        outputs=[op.outputs[0]],
    )


@lowering("MEAN")
def _mean(graph: Graph, op: Op, golden: str) -> Lowered:
    _io(graph, op, 2)
    x = _int8(graph, op, "input", graph.t(op.inputs[0]))
    y = _int8(graph, op, "output", graph.t(op.outputs[0]))
    axes_t = graph.t(op.inputs[1])
    if not axes_t.is_const or axes_t.dtype not in (np.int32, np.int64):
        raise fail(graph, op, "axes must be a constant int32/int64 tensor")
    if len(x.shape) != 4:
        raise fail(graph, op, f"input has rank {len(x.shape)}; only 4-D NHWC is supported")
    axes = sorted({int(a) + 4 if int(a) < 0 else int(a) for a in axes_t.data.ravel()})
    if axes != [1, 2]:
        raise fail(graph, op, f"mean over axes {axes} is not supported (only H, W = [1, 2])")
    n, h, w, c = x.shape
    keep = bool(op.options.get("keep_dims", False))
    expect = (n, 1, 1, c) if keep else (n, c)
    if tuple(y.shape) != expect:
        raise fail(graph, op, f"output shape {list(y.shape)}, expected {list(expect)}")
    # PrepareMeanOrSum: QuantizeMultiplier(double(s_in) / double(s_out)); then
    # QuantizedMeanOrSum folds 1 / (H * W) in, keeping shift within MultiplyByQuantized-
    # Multiplier's range.
    mult, shift = quant.quantize_multiplier(x.scale1 / y.scale1, cap_shift=False)
    count = h * w
    s = min(count.bit_length() - 1, 32, 31 + shift)
    mult = (mult << s) // count  # s >= 0: count >= 1 and shift >= -31
    shift -= s
    if not -31 <= shift <= 30 or not 0 <= mult < 2**31:
        raise fail(graph, op, "input/output scale ratio out of range")
    return Lowered(
        type="MEAN",
        params={
            "input_zero_point": x.zp,
            "output_zero_point": y.zp,
            "multiplier": mult,
            "shift": shift,
        },
        inputs=[op.inputs[0]],
        outputs=[op.outputs[0]],
    )


# ---- elementwise --------------------------------------------------------------------


def _broadcast(graph: Graph, op: Op, a: Tensor, b: Tensor, y: Tensor) -> None:
    da, db, dy = _dims4(a.shape), _dims4(b.shape), _dims4(y.shape)
    for i, j, k in zip(da, db, dy, strict=True):
        if (i != j and 1 not in (i, j)) or k != max(i, j):
            raise fail(
                graph,
                op,
                f"shapes {list(a.shape)} and {list(b.shape)} do not broadcast to {list(y.shape)}",
            )


def _binary(graph: Graph, op: Op, check=_int8) -> tuple[Tensor, Tensor, Tensor]:
    """Inputs 1 and 2 and the output, each passed by `check` (_int8, or _int16 for
    16x8), with shapes that broadcast."""
    _io(graph, op, 2)
    a = check(graph, op, "input 1", graph.t(op.inputs[0]))
    b = check(graph, op, "input 2", graph.t(op.inputs[1]))
    y = check(graph, op, "output", graph.t(op.outputs[0]))
    _broadcast(graph, op, a, b, y)
    return a, b, y


@lowering("ADD")
def _add(graph: Graph, op: Op, golden: str) -> Lowered:
    """int8, or int16 (16x8): the goldens' general path, left_shift 20 or 15."""
    ts = [graph.t(i) for i in (*op.inputs[:2], *op.outputs[:1]) if i >= 0]
    if ts and all(t.dtype == np.int16 for t in ts):
        a, b, y = _binary(graph, op, _int16)
        if a.zp or b.zp or y.zp:
            raise fail(graph, op, "int16 ADD with a non-zero zero point (16x8 is symmetric)")
        if (
            golden == "litert"
            and op.options.get("pot_scale_int16", True)
            and all(quant.checked_log2(t.scale1) is not None for t in (a, b, y))
        ):
            raise fail(
                graph,
                op,
                "LiteRT's power-of-two int16 ADD (pot_scale_int16) is not supported; "
                "the converter's 16x8 models clear it, and --golden tflm takes it",
            )
        left_shift = 15
    else:
        a, b, y = _binary(graph, op)
        left_shift = 20
    s1, s2, so = a.scale1, b.scale1, y.scale1  # float32 values, exact as Python floats
    twice_max = 2 * max(s1, s2)
    reals = (s1 / twice_max, s2 / twice_max, twice_max / (float(1 << left_shift) * so))
    (m1, sh1), (m2, sh2), (mo, sho) = (
        _quantize_multiplier(graph, op, r, what)
        for r, what in zip(reals, ("input 1", "input 2", "output"), strict=True)
    )
    if max(sh1, sh2, sho) > 0:  # QuantizeMultiplierSmallerThanOneExp would abort
        raise fail(graph, op, "output scale too small for ADD's fixed-point path")
    return Lowered(
        type="ADD",
        params={
            "input1_offset": -a.zp,
            "input2_offset": -b.zp,
            "output_offset": y.zp,
            "left_shift": left_shift,
            "input1_multiplier": m1,
            "input1_shift": sh1,
            "input2_multiplier": m2,
            "input2_shift": sh2,
            "output_multiplier": mo,
            "output_shift": sho,
            "act": activation(graph, op, y),
        },
        inputs=[op.inputs[0], op.inputs[1]],
        outputs=[op.outputs[0]],
        in_place=_dims4(a.shape) == _dims4(y.shape),
    )


@lowering("MUL")
def _mul(graph: Graph, op: Op, golden: str) -> Lowered:
    a, b, y = _binary(graph, op)
    # mul.cc: input1->params.scale * input2->params.scale / output->params.scale, in float.
    real = float(np.float32(a.scale1) * np.float32(b.scale1) / np.float32(y.scale1))
    mult, shift = _quantize_multiplier(graph, op, real, "output")
    return Lowered(
        type="MUL",
        params={
            "input1_offset": -a.zp,
            "input2_offset": -b.zp,
            "output_offset": y.zp,
            "output_multiplier": mult,
            "output_shift": shift,
            "act": activation(graph, op, y),
        },
        inputs=[op.inputs[0], op.inputs[1]],
        outputs=[op.outputs[0]],
        in_place=_dims4(a.shape) == _dims4(y.shape),
    )


@lowering("MAXIMUM", "MINIMUM")
def _minmax(graph: Graph, op: Op, golden: str) -> Lowered:
    """maximum_minimum.cc: the stored int8 values compared as they are, no rescaling (so
    the goldens' answer is the real one when the three quantizations agree)."""
    a, b, y = _binary(graph, op)
    return Lowered(
        type="MINMAX",
        params={"minimum": int(op.opcode == "MINIMUM")},
        inputs=[op.inputs[0], op.inputs[1]],
        outputs=[op.outputs[0]],
        in_place=_dims4(a.shape) == _dims4(y.shape),
    )


@lowering("QUANTIZE")
def _quantize(graph: Graph, op: Op, golden: str) -> Lowered:
    _io(graph, op, 1)
    x, y = graph.t(op.inputs[0]), graph.t(op.outputs[0])
    if x.dtype == np.float32 and y.dtype == np.int16:  # into a 16x8 model
        _int16(graph, op, "output", y)
        return Lowered(
            type="QUANTIZE",
            params={"scale": float(y.scale[0]), "zero_point": y.zp},
            inputs=[op.inputs[0]],
            outputs=[op.outputs[0]],
        )
    y = _int8(graph, op, "output", y)
    if x.dtype == np.float32:
        if len(x.shape) > 4:
            raise fail(graph, op, f"input has rank {len(x.shape)}; at most 4")
        return Lowered(
            type="QUANTIZE",
            params={"scale": float(y.scale[0]), "zero_point": y.zp},
            inputs=[op.inputs[0]],
            outputs=[op.outputs[0]],
        )
    x = _int8(graph, op, "input", x)
    mult, shift = _quantize_multiplier(graph, op, x.scale1 / y.scale1, "requantization")
    return Lowered(
        type="REQUANTIZE",
        params={"input_offset": -x.zp, "output_offset": y.zp, "multiplier": mult, "shift": shift},
        inputs=[op.inputs[0]],
        outputs=[op.outputs[0]],
        in_place=True,
    )


@lowering("DEQUANTIZE")
def _dequantize(graph: Graph, op: Op, golden: str) -> Lowered:
    _io(graph, op, 1)
    x = graph.t(op.inputs[0])
    x = (_int16 if x.dtype == np.int16 else _int8)(graph, op, "input", x)
    y = graph.t(op.outputs[0])
    if y.dtype != np.float32:
        raise fail(graph, op, f"output '{y.name}' is {y.dtype}; only float32 is supported")
    return Lowered(
        type="DEQUANTIZE",
        params={"scale": float(x.scale[0]), "zero_point": x.zp},
        inputs=[op.inputs[0]],
        outputs=[op.outputs[0]],
    )


# ---- activations --------------------------------------------------------------------


def softmax_params(beta: float, input_scale: float) -> dict:
    """PreprocessSoftmaxScaling + CalculateInputRadius (double rounding build), as LiteRT's
    SoftmaxPrepare for int8. beta and input_scale are the float32 values."""
    bits = _SOFTMAX_DIFF_INT_BITS
    real = min(beta * input_scale * float(1 << (31 - bits)), float((1 << 31) - 1))
    mult, left_shift = quant.quantize_multiplier(real, cap_shift=False)
    radius = math.floor(1.0 * ((1 << bits) - 1) * (1 << (31 - bits)) / (1 << left_shift))
    return {"input_multiplier": mult, "input_left_shift": left_shift, "diff_min": -radius}


@cache
def softmax16_tables(golden: str) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The int16 SOFTMAX's two 513-entry tables (exp on [-10, 0], 1 / (1 + x) on [0, 1],
    Q0.15 with the midpoint bias) as the golden's Prepare fills them: TFLite-Micro by
    LUTPopulate<int16_t> in float32 (expf), LiteRT by gen_lut in double (exp)."""
    if golden == "litert":

        def gen(fn, lo: float, hi: float) -> tuple[int, ...]:
            step = (hi - lo) / 512
            half = step / 2.0
            out = []
            for i in range(512):
                sample = quant.tflite_round(fn(lo + i * step) * 32768.0)
                interp = quant.tflite_round(
                    (
                        fn(lo + (i + 1) * step) * 32768.0
                        + quant.tflite_round(fn(lo + i * step) * 32768.0)
                    )
                    / 2.0
                )
                mid = quant.tflite_round(fn(lo + i * step + half) * 32768.0)
                bias = quant.tflite_round((interp - mid) / 2.0)
                out.append(int(min(max(sample - bias, -32768.0), 32767.0)))
            out.append(int(min(max(quant.tflite_round(fn(hi) * 32768.0), -32768.0), 32767.0)))
            return tuple(out)

        return gen(math.exp, -10.0, 0.0), gen(lambda v: 1.0 / (1.0 + v), 0.0, 1.0)
    f = np.float32

    def rnd(v) -> np.float32:
        return f(quant.tflite_round(float(v)))

    def populate(fn, in_scale, in_zp: int) -> tuple[int, ...]:
        out_scale = f(2.0) / f(65535)
        in_min = in_scale * f(-32768 - in_zp)
        in_max = in_scale * f(32767 - in_zp)
        out_min, out_max = out_scale * f(-32768), out_scale * f(32767)
        step = (in_max - in_min) / f(512)
        half = step / f(2)
        inv = f(65536) / (out_max - out_min)
        out = []
        for i in range(512):
            val = fn(in_min + f(i) * step)
            mid = fn(in_min + f(i) * step + half)
            nxt = fn(in_min + f(i + 1) * step)
            sample = rnd(val * inv)
            interp = rnd((nxt * inv + rnd(val * inv)) / f(2))
            err = interp - rnd(mid * inv)
            v = sample - rnd(err / f(2))
            out.append(int(min(max(v, f(-32768)), f(32767))))
        out.append(int(min(max(rnd(fn(in_max) * inv), f(-32768)), f(32767))))
        return tuple(out)

    expf = _f32_fn("expf", np.exp)
    with np.errstate(over="ignore"):
        exp_lut = populate(expf, f(10.0) / f(65535), 32767)
        recip_lut = populate(lambda v: f(1) / (f(1) + v), f(1.0) / f(65535), -32768)
    return exp_lut, recip_lut


def _softmax16(graph: Graph, op: Op, golden: str, x: Tensor, y: Tensor) -> Lowered:
    """SOFTMAX of int16 (16x8): zero points 0, output scale 1/32768; the input rescaled
    so that [-65535, 0] is [-10, 0] (QuantizeMultiplier of s_in * beta / (10 / 65535):
    the scale times beta in float32 for LiteRT, double for TFLite-Micro)."""
    y = _int16(graph, op, "output", y)
    if y.dtype != np.int16 or x.zp != 0 or y.zp != 0:
        raise fail(graph, op, "int16 SOFTMAX wants int16 out and zero points 0")
    if abs(float(np.float32(y.scale1)) - 1 / 32768) > 0.001 / 32768:
        raise fail(graph, op, "int16 output must have scale 1/32768")
    if tuple(x.shape) != tuple(y.shape):
        raise fail(graph, op, "input and output shapes differ")
    product = scale_product(golden, x.scale1, op.options.get("beta", 1.0))
    m, shift = quant.quantize_multiplier(product / (10.0 / 65535.0))
    if m <= 0:
        raise fail(graph, op, f"input scale x beta {product!r} gives no multiplier")
    exp_lut, recip_lut = softmax16_tables(golden)
    return Lowered(
        type="SOFTMAX16",
        params={
            "input_multiplier": m,
            "input_left_shift": shift,
            "exp_lut": list(exp_lut),
            "recip_lut": list(recip_lut),
        },
        inputs=[op.inputs[0]],
        outputs=[op.outputs[0]],
        in_place=True,
    )


@lowering("SOFTMAX")
def _softmax(graph: Graph, op: Op, golden: str) -> Lowered:
    _io(graph, op, 1)
    if graph.t(op.inputs[0]).dtype == np.int16:
        x = _int16(graph, op, "input", graph.t(op.inputs[0]))
        return _softmax16(graph, op, golden, x, graph.t(op.outputs[0]))
    x = _int8(graph, op, "input", graph.t(op.inputs[0]))
    y = _int8(graph, op, "output", graph.t(op.outputs[0]))
    if y.zp != -128 or abs(np.float32(y.scale1) - 1 / 256) > 0.001 / 256:
        raise fail(graph, op, "int8 output must have scale 1/256 and zero point -128")
    if len(x.shape) < 1 or tuple(x.shape) != tuple(y.shape):
        raise fail(graph, op, "input and output shapes differ")
    beta = float(op.options.get("beta", 1.0))
    params = softmax_params(beta, x.scale1)
    if params["input_left_shift"] < 0:  # QuantizeMultiplierGreaterThanOne would abort
        raise fail(graph, op, f"beta * input scale {beta * x.scale1!r} is too small")
    return Lowered(
        type="SOFTMAX",
        params=params,
        inputs=[op.inputs[0]],
        outputs=[op.outputs[0]],
        in_place=True,
    )


@cache
def _libm(name: str):
    """The C library's float function `name` (expf, tanhf: what LiteRT's std::exp(float)
    and std::tanh(float) call), or None."""
    try:
        libm = ctypes.CDLL(ctypes.util.find_library("m") or "libm.so.6")
        fn = getattr(libm, name)
    except (OSError, AttributeError):
        return None
    fn.restype = ctypes.c_float
    fn.argtypes = [ctypes.c_float]
    return fn


def _f32_fn(name: str, fallback):
    fn = _libm(name)
    f32 = np.float32
    return (lambda v: f32(fn(float(v)))) if fn else (lambda v: fallback(f32(v)))


def lut_populate(fn, input_scale: float, input_zp: int, output_scale: float, output_zp: int):
    """LiteRT's LUTPopulate<int8_t>, in the same float32 operations: entry (uint8)v =
    clamp((int)(round(fn(s_in * (v - zp_in)) * (1 / s_out)) + zp_out))."""
    f32 = np.float32
    inverse_scale = f32(1) / f32(output_scale)
    lut = np.zeros(256, np.int8)
    with np.errstate(over="ignore"):
        for v in range(-128, 128):
            dequantized = f32(input_scale) * f32(v - input_zp)
            rescaled = float(f32(fn(dequantized)) * inverse_scale)
            q = int(f32(quant.tflite_round(rescaled)) + f32(output_zp))
            lut[v & 0xFF] = min(max(q, -128), 127)
    return lut


def logistic_lut(input_scale: float, input_zp: int, output_scale: float, output_zp: int):
    """LiteRT's table for LOGISTIC: 1 / (1 + expf(-x)) in float32."""
    f32 = np.float32
    exp = _f32_fn("expf", np.exp)
    return lut_populate(
        lambda v: f32(1) / (f32(1) + exp(-v)), input_scale, input_zp, output_scale, output_zp
    )


def tanh_lut(golden: str, input_scale: float, input_zp: int, output_scale: float, output_zp: int):
    """The golden's int8 TANH as a table. LiteRT: LUTPopulate with tanhf. TFLite-Micro:
    reference_integer_ops::Tanh, gemmlowp's fixed-point tanh of the input in Q4 (the C
    core's nn_lut_tanh_s8), with TanhPrepare's multiplier (frexp of s_in * 2^27 in double,
    rounded to Q31), left shift and input radius; its output is Q0.7 whatever the output
    tensor's scale says (the converter makes it 1/128, zero point 0)."""
    if golden == "litert":
        return lut_populate(
            _f32_fn("tanhf", np.tanh), input_scale, input_zp, output_scale, output_zp
        )
    from .. import native

    q, shift = math.frexp(float(np.float32(input_scale)) * float(1 << 27))
    multiplier = int(quant.tflite_round(q * (1 << 31)))
    if not 0 < multiplier < 1 << 31 or not 0 <= shift <= 30:
        raise ValueError(f"input scale {input_scale:g} is out of TanhPrepare's range")
    # CalculateInputRadius(4, shift, 31): where the rescaled input reaches 15.
    radius = math.floor(15 * (1 << 27) / 2.0**shift)
    ffi, lib = native.load()
    out = bytearray(256)
    lib.nn_lut_tanh_s8(
        input_zp, radius, multiplier, shift, ffi.cast("int8_t *", ffi.from_buffer(out))
    )
    return np.frombuffer(bytes(out), np.int8)


def _i16(v: int) -> int:
    return (v + 0x8000) % 0x10000 - 0x8000  # an int16 store: wraps


def _srdhm16(a: int, b: int) -> int:
    """gemmlowp SaturatingRoundingDoublingHighMul for int16."""
    if a == b == -0x8000:
        return 0x7FFF
    ab = a * b
    return _i16(int((ab + ((1 << 14) if ab >= 0 else 1 - (1 << 14))) / (1 << 15)))


def _rdbp16(x: int, exponent: int) -> int:
    """gemmlowp RoundingDivideByPOT for int16."""
    mask = (1 << exponent) - 1
    threshold = (mask >> 1) + (1 if x < 0 else 0)
    return (x >> exponent) + (1 if (x & mask) > threshold else 0)


def _sat_left16(v: int, amount: int) -> int:
    return min(max(v * (1 << amount), -0x8000), 0x7FFF)


def hard_swish_lut(input_scale: float, input_zp: int, output_scale: float, output_zp: int):
    """Both goldens' int8 HARD_SWISH (reference_ops::HardSwish with HardSwishPrepare's
    params, computed in float32 as both compute them) for every int8 value, as a table."""
    f32 = np.float32
    hires = f32(1) / f32(128) * f32(input_scale)
    out_m, out_e = quant.quantize_multiplier(float(hires / f32(output_scale)))
    relu_m, relu_e = quant.quantize_multiplier(float(hires / (f32(3) / f32(32768))))
    if out_e > 0:
        raise ValueError("output scale below input scale / 128: HardSwishPrepare refuses it")

    def down16(m: int) -> int:  # DownScaleInt32ToInt16Multiplier
        return 0x7FFF if m >= 0x7FFFFFFF - (1 << 15) else (m + (1 << 15)) >> 16

    out_m16, relu_m16 = down16(out_m), down16(relu_m)
    lut = np.zeros(256, np.int8)
    for v in range(-128, 128):
        hires_v = _i16((v - input_zp) * 128)
        preshift = _srdhm16(hires_v, out_m16)
        r = hires_v
        if relu_e > 0:
            r = _sat_left16(r, relu_e - 1)
        r = _srdhm16(r, relu_m16)
        if relu_e > 0:
            r = _sat_left16(r, 1)
        if relu_e < 0:
            r = _rdbp16(r, -relu_e)
        r = (r + (1 << 15)) >> 1
        if r == preshift == -0x8000:
            y = 0x7FFF
        else:
            y = _i16(int(r * preshift / (1 << 15)))  # SaturatingDoublingHighMul: toward 0
        y = _i16(_rdbp16(y, -out_e) + output_zp)
        lut[v & 0xFF] = min(max(y, -128), 127)
    return lut


@lowering("LOGISTIC", "TANH", "HARD_SWISH")
def _lut(graph: Graph, op: Op, golden: str) -> Lowered:
    """The int8 functions of one value, as a 256-entry table (nn_lut_s8)."""
    _io(graph, op, 1)
    x = _int8(graph, op, "input", graph.t(op.inputs[0]))
    y = _int8(graph, op, "output", graph.t(op.outputs[0]))
    if _elements(x.shape) != _elements(y.shape):
        raise fail(graph, op, "input and output sizes differ")
    q = (x.scale1, x.zp, y.scale1, y.zp)
    try:
        if op.opcode == "LOGISTIC":
            if float(np.float32(y.scale1)) != 1 / 256:
                raise fail(graph, op, "int8 output must have scale 1/256")
            lut = logistic_lut(*q)
        elif op.opcode == "TANH":
            lut = tanh_lut(golden, *q)
        else:
            lut = hard_swish_lut(*q)
    except ValueError as e:
        raise fail(graph, op, str(e)) from None
    return Lowered(
        type="LUT",
        params={"lut": [int(v) for v in lut]},
        inputs=[op.inputs[0]],
        outputs=[op.outputs[0]],
        in_place=True,
    )


def _const_int32(graph: Graph, op: Op, k: int, what: str) -> list[int]:
    """Input k's values, which must be a constant int32 tensor (perm, begin, axis...)."""
    t = graph.t(op.inputs[k])
    if not t.is_const or t.dtype != np.int32:
        raise fail(graph, op, f"{what} must be a constant int32 tensor")
    return [int(v) for v in t.data.reshape(-1)]


_IDENTITY = (1 << 30, 1)  # nn_requantize(x, 2^30, 1) == x: no rescaling


def _ratio(golden: str, *factors_over_out: float) -> float:
    """in_scale [x alpha] / out_scale as the golden's Prepare computes it: in double
    (TFLite-Micro), or in float32 then widened (LiteRT's reference kernels)."""
    *num, den = factors_over_out
    if golden == "litert":
        v = np.float32(num[0])
        for f in num[1:]:
            v = np.float32(v * np.float32(f))
        return float(np.float32(v / np.float32(den)))
    v = float(np.float32(num[0]))
    for f in num[1:]:
        v *= float(np.float32(f))
    return v / float(np.float32(den))


@lowering("RELU", "RELU6", "LEAKY_RELU")
def _relu(graph: Graph, op: Op, golden: str) -> Lowered:
    """TFLite's int8 RELU, RELU6 (QuantizedReluX: rescaled to the output, clamped to
    [0, 6] there) and LEAKY_RELU (QuantizeLeakyRelu). TFLite-Micro's RELU6 differs: it
    clamps the input to [its zero point, 6 in its units] and writes it as it is."""
    _io(graph, op, 1)
    x = _int8(graph, op, "input", graph.t(op.inputs[0]))
    y = _int8(graph, op, "output", graph.t(op.outputs[0]))
    if _elements(x.shape) != _elements(y.shape):
        raise fail(graph, op, "input and output sizes differ")
    out_zp = y.zp
    if op.opcode == "RELU6" and golden != "litert":
        six = int(quant.quantize_input(np.float32(6.0), x.scale1, x.zp))
        pos = neg = _IDENTITY
        out_zp, act = x.zp, {"min": x.zp, "max": six}
    else:
        pos = neg = _quantize_multiplier(graph, op, _ratio(golden, x.scale1, y.scale1), "output")
        lo, hi = -128, 127
        if op.opcode in ("RELU", "RELU6"):
            lo, hi = quant.activation_range(op.opcode, y.scale1, y.zp)
        else:
            alpha = float(op.options.get("alpha", 0.0))
            if not (np.isfinite(alpha) and alpha >= 0):
                raise fail(graph, op, f"alpha {alpha}: only a finite alpha >= 0 is supported")
            neg = _quantize_multiplier(
                graph, op, _ratio(golden, x.scale1, alpha, y.scale1), "alpha"
            )
        act = {"min": lo, "max": hi}
    return Lowered(
        type="RELU",
        params={
            "input_zero_point": x.zp,
            "output_zero_point": out_zp,
            "multiplier": [pos[0], neg[0]],
            "shift": [pos[1], neg[1]],
            "act": act,
        },
        inputs=[op.inputs[0]],
        outputs=[op.outputs[0]],
        in_place=True,
    )


# ---- data movement ------------------------------------------------------------------


@lowering("PAD", "PADV2")
def _pad(graph: Graph, op: Op, golden: str) -> Lowered:
    _io(graph, op, (2, 3) if op.opcode == "PADV2" else 2)
    x = _int8(graph, op, "input", graph.t(op.inputs[0]))
    y = _int8(graph, op, "output", graph.t(op.outputs[0]))
    pads = graph.t(op.inputs[1])
    if not pads.is_const or pads.dtype not in (np.int32, np.int64):
        raise fail(graph, op, "paddings must be a constant int32/int64 tensor")
    rank = len(x.shape)
    p = pads.data.astype(np.int64).reshape(-1)
    if p.size != 2 * rank:
        raise fail(graph, op, f"paddings have {p.size} values for a rank-{rank} input")
    p = p.reshape(rank, 2)
    if (p < 0).any():
        raise fail(graph, op, "negative paddings are not supported")
    if not _same_quant(x, y):
        raise fail(graph, op, "input and output quantization differ")
    value = y.zp  # pad.cc: the output zero point when no constant is given
    if len(op.inputs) == 3:
        cv = graph.t(op.inputs[2])
        if not cv.is_const or cv.dtype != np.int8 or cv.data.size != 1:
            raise fail(graph, op, "constant_values must be one constant int8 value")
        if cv.scale is not None and not _same_quant(cv, y):
            raise fail(graph, op, "constant_values quantization differs from the output's")
        value = int(cv.data.ravel()[0])
    before = [0] * (4 - rank) + [int(v) for v in p[:, 0]]
    after = [0] * (4 - rank) + [int(v) for v in p[:, 1]]
    expect = tuple(int(d) + int(b) + int(a) for d, (b, a) in zip(x.shape, p, strict=True))
    if tuple(y.shape) != expect:
        raise fail(graph, op, f"output shape {list(y.shape)}, expected {list(expect)}")
    return Lowered(
        type="PAD",
        params={"before": before, "after": after, "pad_value": value},
        inputs=[op.inputs[0]],
        outputs=[op.outputs[0]],
    )


@lowering("TRANSPOSE")
def _transpose(graph: Graph, op: Op, golden: str) -> Lowered:
    _io(graph, op, 2)
    x = _int8(graph, op, "input", graph.t(op.inputs[0]))
    y = _int8(graph, op, "output", graph.t(op.outputs[0]))
    # TFLite-Micro reads perm as int32 whatever its type (an int64 one is misread).
    perm = _const_int32(graph, op, 1, "perm")
    rank = len(x.shape)
    if rank < 1 or sorted(perm) != list(range(rank)):
        raise fail(graph, op, f"perm {perm} is not a permutation of a rank-{rank} input's axes")
    if not _same_quant(x, y):
        raise fail(graph, op, "input and output quantization differ (TFLite requires equal)")
    expect = tuple(int(x.shape[a]) for a in perm)
    if tuple(y.shape) != expect:
        raise fail(graph, op, f"output shape {list(y.shape)}, expected {list(expect)}")
    lead = 4 - rank  # the 4-D right-aligned view: leading unit axes stay in place
    return Lowered(
        type="TRANSPOSE",
        params={"perm": list(range(lead)) + [a + lead for a in perm]},
        inputs=[op.inputs[0]],
        outputs=[op.outputs[0]],
    )


@lowering("STRIDED_SLICE")
def _strided_slice(graph: Graph, op: Op, golden: str) -> Lowered:
    """begin, end and strides (constant int32) with begin_mask, end_mask and
    shrink_axis_mask resolved per axis as TFLite's StartForAxis / StopForAxis do (Python's
    slice semantics: negative indices count from the end, out-of-range ones clamp)."""
    _io(graph, op, 4)
    x = _int8(graph, op, "input", graph.t(op.inputs[0]))
    y = _int8(graph, op, "output", graph.t(op.outputs[0]))
    begin, end, strides = (
        _const_int32(graph, op, k, what) for k, what in ((1, "begin"), (2, "end"), (3, "strides"))
    )
    o = op.options
    for mask in ("ellipsis_mask", "new_axis_mask"):
        if int(o.get(mask, 0)):
            raise fail(graph, op, f"{mask} {o.get(mask)} is not supported")
    if o.get("offset"):
        raise fail(graph, op, "offset=true is not supported")
    rank = len(x.shape)
    if not len(begin) == len(end) == len(strides) <= rank:
        raise fail(
            graph,
            op,
            f"begin/end/strides of {len(begin)}/{len(end)}/{len(strides)} "
            f"values for a rank-{rank} input",
        )
    bmask, emask = int(o.get("begin_mask", 0)), int(o.get("end_mask", 0))
    shrink = int(o.get("shrink_axis_mask", 0))
    starts, steps, counts, out_shape = [], [], [], []
    for d in range(rank):
        size = int(x.shape[d])
        if d >= len(begin):  # axes past the vectors are taken whole
            b, e, s, shrunk = 0, size, 1, False
        else:
            b, e, s, shrunk = begin[d], end[d], strides[d], bool(shrink >> d & 1)
            if s == 0:
                raise fail(graph, op, f"stride 0 on axis {d}")
            if shrunk:
                b = b + size if b < 0 else b
                if not 0 <= b < size:
                    raise fail(graph, op, f"shrunk axis {d}: index {begin[d]} out of range")
                e, s = b + 1, 1
            else:
                b = None if bmask >> d & 1 else b
                e = None if emask >> d & 1 else e
        start, stop, step = slice(b, e, s).indices(size)
        n = len(range(start, stop, step))
        if n == 0:
            raise fail(graph, op, f"axis {d} slices to nothing; microai needs every dim >= 1")
        starts.append(start)
        steps.append(step)
        counts.append(n)
        if not shrunk:
            out_shape.append(n)
    if tuple(y.shape) != tuple(out_shape):
        raise fail(graph, op, f"output shape {list(y.shape)}, expected {out_shape}")
    if not _same_quant(x, y):
        raise fail(graph, op, "input and output quantization differ (TFLite requires equal)")
    lead = 4 - rank
    return Lowered(
        type="SLICE",
        params={
            "begin": [0] * lead + starts,
            "stride": [1] * lead + steps,
            "count": [1] * lead + counts,
        },
        inputs=[op.inputs[0]],
        outputs=[op.outputs[0]],
    )


@lowering("SPLIT", "SPLIT_V")
def _split(graph: Graph, op: Op, golden: str) -> Lowered:
    """SPLIT (axis, input; num_splits equal parts) and SPLIT_V (input, size_splits, axis;
    one size may be -1): the values copied into each output as they are."""
    split_v = op.opcode == "SPLIT_V"
    _io(graph, op, 3 if split_v else 2, n_out=len(op.outputs))
    x_id = op.inputs[0] if split_v else op.inputs[1]
    axes = _const_int32(graph, op, 2 if split_v else 0, "axis")
    x = _int8(graph, op, "input", graph.t(x_id))
    ys = [_int8(graph, op, f"output {k}", graph.t(t)) for k, t in enumerate(op.outputs)]
    if not 1 <= len(ys) <= 8:
        raise fail(graph, op, f"{len(ys)} outputs; microai takes 1 to 8")
    if len(axes) != 1:
        raise fail(graph, op, f"axis has {len(axes)} values; one is needed")
    rank = len(x.shape)
    axis = axes[0] + rank if axes[0] < 0 else axes[0]
    if not 0 <= axis < rank:
        raise fail(graph, op, f"axis {axes[0]} out of range")
    size = int(x.shape[axis])
    if split_v:
        sizes = _const_int32(graph, op, 1, "size_splits")
        if len(sizes) != len(ys):
            raise fail(graph, op, f"{len(sizes)} size_splits for {len(ys)} outputs")
        if sizes.count(-1) == 1:
            sizes[sizes.index(-1)] = size - (sum(sizes) + 1)
    else:
        n = int(op.options.get("num_splits", len(ys)))
        if n != len(ys) or size % n:
            raise fail(graph, op, f"{size} along axis {axis} does not split into {n}")
        sizes = [size // n] * n
    if min(sizes) < 1 or sum(sizes) != size:
        raise fail(graph, op, f"sizes {sizes} do not split {size}")
    for y, n in zip(ys, sizes, strict=True):
        want = tuple(n if d == axis else int(v) for d, v in enumerate(x.shape))
        if tuple(y.shape) != want:
            raise fail(graph, op, f"output '{y.name}' shape {list(y.shape)}, expected {list(want)}")
    return Lowered(
        type="SPLIT",
        params={"axis": axis + 4 - rank},
        inputs=[x_id],
        outputs=list(op.outputs),
    )


@lowering("GATHER")
def _gather(graph: Graph, op: Op, golden: str) -> Lowered:
    """Constant int32 indices (any shape), batch_dims 0, int8 values copied as they are."""
    _io(graph, op, 2)
    x = _int8(graph, op, "input", graph.t(op.inputs[0]))
    y = _int8(graph, op, "output", graph.t(op.outputs[0]))
    idx = np.array(_const_int32(graph, op, 1, "indices"), np.int64)
    it = graph.t(op.inputs[1])  # its shape goes into the output's
    if int(op.options.get("batch_dims", 0)):
        raise fail(graph, op, f"batch_dims {op.options.get('batch_dims')} is not supported")
    rank = len(x.shape)
    axis = int(op.options.get("axis", 0))
    axis = axis + rank if axis < 0 else axis
    if not 0 <= axis < rank:
        raise fail(graph, op, f"axis {op.options.get('axis')} out of range for rank {rank}")
    if idx.size == 0 or idx.min() < 0 or idx.max() >= x.shape[axis]:
        raise fail(graph, op, f"indices outside 0..{x.shape[axis] - 1} along axis {axis}")
    want = (*x.shape[:axis], *it.shape, *x.shape[axis + 1 :])
    if tuple(y.shape) != tuple(int(d) for d in want):
        raise fail(graph, op, f"output shape {list(y.shape)}, expected {list(want)}")
    return Lowered(
        type="GATHER",
        params={"axis": axis + 4 - rank},
        inputs=[op.inputs[0], op.inputs[1]],
        outputs=[op.outputs[0]],
    )


@lowering("BATCH_MATMUL")
def _batch_matmul(graph: Graph, op: Op, golden: str) -> Lowered:
    """int8 lhs and rhs (per-tensor; either may be a constant), ranks 2 to 4, batch dims
    broadcast, adj_x / adj_y; no fused activation (the op has none)."""
    _io(graph, op, 2)
    a = _int8(graph, op, "lhs", graph.t(op.inputs[0]))
    b = _int8(graph, op, "rhs", graph.t(op.inputs[1]))
    y = _int8(graph, op, "output", graph.t(op.outputs[0]))
    if op.options.get("asymmetric_quantize_inputs"):
        raise fail(graph, op, "hybrid (asymmetric_quantize_inputs) BATCH_MATMUL")
    for t in (a, b, y):
        if not 2 <= len(t.shape) <= 4:
            raise fail(graph, op, f"'{t.name}' has rank {len(t.shape)}; 2 to 4 are supported")
    ash = (1,) * (4 - len(a.shape)) + tuple(int(d) for d in a.shape)
    bsh = (1,) * (4 - len(b.shape)) + tuple(int(d) for d in b.shape)
    adj_x, adj_y = bool(op.options.get("adj_x")), bool(op.options.get("adj_y"))
    rows, depth = (ash[3], ash[2]) if adj_x else (ash[2], ash[3])
    depth_b, cols = (bsh[3], bsh[2]) if adj_y else (bsh[2], bsh[3])
    if depth != depth_b:
        raise fail(graph, op, f"lhs {list(a.shape)} and rhs {list(b.shape)}: depths differ")
    batch = []
    for la, lb in zip(ash[:2], bsh[:2], strict=True):
        if la != lb and 1 not in (la, lb):
            raise fail(graph, op, f"batch dims of {list(a.shape)} and {list(b.shape)} differ")
        batch.append(max(la, lb))
    want = (*batch, rows, cols)[4 - len(y.shape) :]
    if tuple(y.shape) != want or any(d != 1 for d in (*batch, rows, cols)[: 4 - len(y.shape)]):
        raise fail(graph, op, f"output shape {list(y.shape)}, expected {list(want)}")
    # GetQuantizedConvolutionMultipler: the input scales' product, over the output scale
    # in double.
    real = scale_product(golden, a.scale1, b.scale1) / float(np.float32(y.scale1))
    if not 0.0 < real < 1 << 30:
        raise fail(graph, op, f"scales give a multiplier of {real:g}")
    m, s = quant.quantize_multiplier(real)

    def strides(sh: tuple[int, ...], matrix: int) -> tuple[int, int]:
        return (0 if sh[0] == 1 else sh[1] * matrix), (0 if sh[1] == 1 else matrix)

    ls0, ls1 = strides(ash, rows * depth)
    rs0, rs1 = strides(bsh, depth * cols)
    return Lowered(
        type="BATCH_MATMUL",
        params={
            "rows": rows,
            "cols": cols,
            "depth": depth,
            "batch0": batch[0],
            "batch1": batch[1],
            "lhs_stride0": ls0,
            "lhs_stride1": ls1,
            "rhs_stride0": rs0,
            "rhs_stride1": rs1,
            "adj_x": int(adj_x),
            "adj_y": int(adj_y),
            "lhs_offset": -a.zp,
            "rhs_offset": -b.zp,
            "output_offset": y.zp,
            "multiplier": m,
            "shift": s,
        },
        inputs=[op.inputs[0], op.inputs[1]],
        outputs=[op.outputs[0]],
    )


@lowering("CONCATENATION")
def _concat(graph: Graph, op: Op, golden: str) -> Lowered:
    if not 1 <= len(op.inputs) <= 16:
        raise fail(graph, op, f"{len(op.inputs)} inputs; 1 to 16 are supported")
    _io(graph, op, len(op.inputs))
    y = _int8(graph, op, "output", graph.t(op.outputs[0]))
    xs = [_int8(graph, op, f"input {k + 1}", graph.t(i)) for k, i in enumerate(op.inputs)]
    if op.options.get("fused_activation_function", "NONE") != "NONE":
        raise fail(graph, op, "a fused activation on int8 CONCATENATION is not supported")
    for x in xs:
        if not _same_quant(x, y):
            raise fail(
                graph,
                op,
                f"input '{x.name}' scale/zero point differ from the output's "
                "(TFLite int8 CONCATENATION requires them equal)",
            )
    rank = len(y.shape)
    axis = int(op.options.get("axis", 0))
    if axis < 0:
        axis += rank
    if not 0 <= axis < rank:
        raise fail(graph, op, f"axis {op.options.get('axis')} out of range for rank {rank}")
    for x in xs:
        if len(x.shape) != rank or any(
            d != e for k, (d, e) in enumerate(zip(x.shape, y.shape, strict=True)) if k != axis
        ):
            raise fail(graph, op, f"input shape {list(x.shape)} does not fit {list(y.shape)}")
    if sum(x.shape[axis] for x in xs) != y.shape[axis]:
        raise fail(graph, op, "input sizes along the axis do not add up to the output's")
    return Lowered(
        type="CONCAT",
        params={"axis": axis + 4 - rank},
        inputs=list(op.inputs),
        outputs=[op.outputs[0]],
    )
