"""Larq Compute Engine's binary ops, as numpy: the reference microai's binary kernels are
checked against (itself checked against LCE's own interpreter on the fixtures' stored
outputs, tests/host/test_binary.py), and the arithmetic the converter precomputes.

Bit-packed tensors are LCE's: int32 words along the innermost axis, channel c is bit
c % 32 of word c / 32, bit 1 means -1, bit 0 means +1, the bits past the last channel 0.

Semantics, from LCE's sources (larq_compute_engine/core/bconv2d/reference.h and
output_transform.h, tflite/kernels/bconv2d.cc, bmaxpool.h, quantization.cc):
- LceQuantize: bit = x < zero point (0 for float32).
- LceDequantize: +1 / -1 as float32; as int8, zero point +/- round(1 / scale) saturated.
- LceBconv2d: acc = popcount(x XOR w) over every tap (a padding tap is +1: pad_values =
  1) and over whole words. Bit-packed output: bit = acc > threshold. Float32 / int8
  output: x = clamp(2 * acc) and x * mul + bias in float32 (two roundings), int8 rounded
  half away from zero and saturated, where mul, bias and the clamp fold the
  back-transformation K - 2 * acc, the fused activation and the output quantization
  (output_transform(), computed in double as LCE's OneTimeSetup).
- LceBMaxPool2d: the AND of the window's words, the window clipped to the input.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

# tflite's ActivationFunctionType values LCE's converter writes, and their clamps on the
# true (+/-1) output, as CalculateActivationRange gives them for int32.
_I32 = (-(2**31), 2**31 - 1)
ACTIVATIONS = {0: ("NONE", _I32), 1: ("RELU", (0, _I32[1])), 2: ("RELU_N1_TO_1", (-1, 1))}
ACTIVATIONS[3] = ("RELU6", (0, 6))
PADDINGS = {0: "SAME", 1: "VALID"}  # tflite's Padding enum


def words(channels: int) -> int:
    return (int(channels) + 31) // 32


def pack(bits: np.ndarray) -> np.ndarray:
    """bool [..., C] (True = -1) -> int32 words [..., ceil(C / 32)]."""
    bits = np.asarray(bits, bool)
    c = bits.shape[-1]
    pad = words(c) * 32 - c
    b = np.concatenate([bits, np.zeros((*bits.shape[:-1], pad), bool)], axis=-1)
    b = b.reshape(*bits.shape[:-1], words(c), 32).astype(np.uint64)
    w = (b << np.arange(32, dtype=np.uint64)).sum(axis=-1).astype(np.uint32)
    return w.view(np.int32)


def unpack(w: np.ndarray, channels: int | None = None) -> np.ndarray:
    """int32 words [..., n] -> bool [..., channels] (all 32 n bits when None)."""
    w = np.ascontiguousarray(w, dtype=np.int32).view(np.uint32)
    bits = (w[..., None] >> np.arange(32, dtype=np.uint32)) & 1
    bits = bits.reshape(*w.shape[:-1], w.shape[-1] * 32).astype(bool)
    return bits if channels is None else bits[..., :channels]


def quantize(x: np.ndarray, zero_point: int = 0) -> np.ndarray:
    x = np.asarray(x)
    zp = np.float32(0) if x.dtype == np.float32 else int(zero_point)
    return pack(x < zp)


def dequantize_values(dtype, scale: float = 0.0, zero_point: int = 0) -> tuple[int, int]:
    """(value of bit 0, value of bit 1): +/-1 for float32; for int8, LCE's
    zero point +/- TfLiteRound(1.0f / scale), saturated."""
    if np.dtype(dtype) == np.float32:
        return 1, -1
    offset = round_half_away(np.float32(1.0) / np.float32(scale))
    offset = min(int(offset), 1 << 16)  # beyond the int8 range either way
    return min(127, zero_point + offset), max(-128, zero_point - offset)


def dequantize(w: np.ndarray, channels: int, dtype, plus: int, minus: int) -> np.ndarray:
    bits = unpack(w, channels)
    return np.where(bits, minus, plus).astype(dtype)


def round_half_away(y) -> np.ndarray:
    """TfLiteRound (std::round) of float32 values, exactly (in float64)."""
    y = np.asarray(y, np.float64)
    return np.sign(y) * np.floor(np.abs(y) + 0.5)


class Transform(NamedTuple):
    """LCE's output transform of a float32 / int8 LceBconv2d output (OneTimeSetup)."""

    mul: np.ndarray  # float32 [out]
    bias: np.ndarray  # float32 [out]
    clamp_min: int  # on 2 * acc
    clamp_max: int


def output_transform(
    post_mul: np.ndarray,
    post_bias: np.ndarray,
    k: int,
    activation: int,
    out_scale: float | None,
    out_zero_point: int,
) -> Transform:
    """The multiplier, bias and clamp LCE's OneTimeSetup computes, in double then stored
    as float32; out_scale None for a float32 output. k: filter taps x input channels."""
    scale = 1.0 if out_scale is None else float(np.float32(out_scale))
    zp = 0.0 if out_scale is None else float(out_zero_point)
    pm = np.asarray(post_mul, np.float32).astype(np.float64)
    pb = np.asarray(post_bias, np.float32).astype(np.float64)
    mul = (-1 * pm / scale).astype(np.float32)
    bias = ((pb + float(k) * pm) / scale + zp).astype(np.float32)
    lo, hi = ACTIVATIONS[activation][1]
    lo, hi = max(lo, -k), min(hi, k)
    return Transform(mul, bias, -hi + k, -lo + k)


def _f32_of_x(x: np.ndarray, t: Transform) -> np.ndarray:
    """x * mul + bias: a float32 multiply, then a float32 add (never fused)."""
    return (np.asarray(x).astype(np.float32) * t.mul).astype(np.float32) + t.bias


def _s8_of_x(x: np.ndarray, t: Transform) -> np.ndarray:
    return np.clip(round_half_away(_f32_of_x(x, t)), -128, 127).astype(np.int8)


def transform_f32(acc: np.ndarray, t: Transform) -> np.ndarray:
    """float32 outputs of accumulators acc [..., out]."""
    return _f32_of_x(np.clip(2 * np.asarray(acc, np.int64), t.clamp_min, t.clamp_max), t)


def transform_s8(acc: np.ndarray, t: Transform) -> np.ndarray:
    return _s8_of_x(np.clip(2 * np.asarray(acc, np.int64), t.clamp_min, t.clamp_max), t)


# The integer form of the int8 transform (what the kernels run, float32 only where it
# fails): q = saturate(hi32(A * (x << e) + B) >> r) on x = clamp(2 * acc): a 32 x 32 + 64
# bit multiply-accumulate (SMLAL) and two 32-bit shifts. The host finds A, B, e and r per
# channel and checks them against transform_s8 on every x the channel can reach (every
# acc in 0..K): a proof by exhaustion, not an approximation.
FIXED_FLOAT = -1  # the shifts of a channel left to the float32 transform


def reachable_x(t: Transform, k: int) -> np.ndarray:
    return np.unique(np.clip(2 * np.arange(k + 1, dtype=np.int64), t.clamp_min, t.clamp_max))


def _fixed_channel(x: np.ndarray, q: np.ndarray, mul: float, bias: float):
    """(A, B, e, r) with floor((A (x << e) + B) / 2^(32 + r)) saturated to int8 equal to q
    on every x, or None. A is about mul * 2^(32 + r - e) in [2^29, 2^30] (or 0); for each
    A tried near it, B is bounded below and above by every x."""
    m = float(mul)
    xmax = int(x.max()) if x.size else 0
    if m == 0.0:
        e, r, a_centre = 0, 0, 0
    else:
        s = int(np.floor(np.log2(2.0**30 / abs(m))))  # A = m 2^s is below 2^30
        e, r = (0, min(s - 32, 31)) if s >= 32 else (32 - s, 0)
        if e > 0 and xmax << e >= 2**31:
            return None
        a_centre = int(round(m * 2.0 ** (32 + r - e)))
    xs = x << e
    total = 32 + r
    one = np.int64(1) << np.int64(total)
    q = q.astype(np.int64)
    big = np.int64(1) << np.int64(62)
    lo_q = np.where(q == -128, -big, q * one)
    hi_q = np.where(q == 127, big, (q + 1) * one - 1)
    want_b = int(np.floor((float(bias) + 0.5) * 2.0**total))
    for d in (0, -1, 1, -2, 2, -3, 3, -4, 4, -8, 8, -16, 16):
        a = a_centre + d
        if not -(2**31) <= a < 2**31:
            continue
        ax = np.int64(a) * xs
        lower, upper = int((lo_q - ax).max()), int((hi_q - ax).min())
        lower, upper = max(lower, -(2**55)), min(upper, 2**55 - 1)
        if lower <= upper:
            return a, min(max(want_b, lower), upper), e, r
    return None


def fixed_point(t: Transform, k: int) -> np.ndarray:
    """int32 [out, 4] per channel: A, B's low and high words, e | r << 8 (FIXED_FLOAT
    where no integer form matched: that channel runs the float32 transform)."""
    x = reachable_x(t, k)
    qs = _s8_of_x(x[:, None], t)
    out = np.zeros((len(t.mul), 4), np.int64)
    for c in range(len(t.mul)):
        f = _fixed_channel(x, qs[:, c], t.mul[c], t.bias[c])
        if f is None:
            out[c] = (0, 0, 0, FIXED_FLOAT)
            continue
        a, b, e, r = f
        out[c] = (a, b & 0xFFFFFFFF, (b >> 32) & 0xFFFFFFFF, e | r << 8)
    w = np.empty(out.shape, np.int32)
    w[:, 0] = out[:, 0].astype(np.int32)
    w[:, 1:3] = out[:, 1:3].astype(np.uint32).view(np.int32)
    w[:, 3] = out[:, 3].astype(np.int32)
    return w


def transform_fixed(acc: np.ndarray, t: Transform, fixed: np.ndarray) -> np.ndarray:
    """The kernels' int8 transform: the integer form where a channel has one, else
    float32 (as transform_s8)."""
    x = np.clip(2 * np.asarray(acc, np.int64), t.clamp_min, t.clamp_max)
    a = fixed[:, 0].astype(np.int64)
    b = (fixed[:, 2].astype(np.int64) << 32) | fixed[:, 1].astype(np.uint32).astype(np.int64)
    sh = fixed[:, 3].astype(np.int64)
    e, r = np.where(sh < 0, 0, sh & 0xFF), np.where(sh < 0, 0, sh >> 8)
    q = np.clip((((a * (x << e)) + b) >> 32) >> r, -128, 127)
    return np.where(sh == FIXED_FLOAT, transform_s8(acc, t), q).astype(np.int8)


def conv_axis(padding: str, size: int, filt: int, stride: int, dilation: int):
    """TFLite's ComputePaddingHeightWidth along one axis: (output size, leading pad)."""
    eff = (filt - 1) * dilation + 1
    if padding == "SAME":
        out = (size + stride - 1) // stride
    else:
        out = (size - eff + stride) // stride
    return out, max((out - 1) * stride + eff - size, 0) // 2


def bconv_acc(
    x: np.ndarray,
    w: np.ndarray,
    stride: tuple[int, int],
    dilation: tuple[int, int],
    pad: tuple[int, int],
    out_hw: tuple[int, int],
) -> np.ndarray:
    """popcount(x XOR w) per output [N, OH, OW, out] over whole words: x int32 words
    [N, H, W, n], w int32 words [out, KH, KW, n]; a padding tap is all bits 0 (+1)."""
    n, h, wd, nw = x.shape
    out, kh, kw, _ = w.shape
    oh, ow = out_hw
    xs = unpack(x).astype(np.int32) * -2 + 1  # +/-1, every bit of every word
    ws = unpack(w).astype(np.int32) * -2 + 1
    bits = 32 * nw
    padded = np.ones(
        (n, h + oh * stride[0] + kh * dilation[0], wd + ow * stride[1] + kw * dilation[1], bits),
        np.int32,
    )
    padded[:, pad[0] : pad[0] + h, pad[1] : pad[1] + wd] = xs
    dot = np.zeros((n, oh, ow, out), np.int64)
    for ky in range(kh):
        for kx in range(kw):
            y0, x0 = ky * dilation[0], kx * dilation[1]
            tap = padded[
                :, y0 : y0 + oh * stride[0] : stride[0], x0 : x0 + ow * stride[1] : stride[1]
            ]
            dot += tap.astype(np.int64) @ ws[:, ky, kx, :].T.astype(np.int64)
    # Each tap's words: popcount of XOR = (bits - sum of products) / 2.
    return ((kh * kw * bits - dot) // 2).astype(np.int32)


def bmaxpool(
    x: np.ndarray,
    filt: tuple[int, int],
    stride: tuple[int, int],
    pad: tuple[int, int],
    out_hw: tuple[int, int],
) -> np.ndarray:
    """The AND of each window's words, the window clipped to the input."""
    n, h, w, nw = x.shape
    out = np.empty((n, *out_hw, nw), np.int32)
    for oy in range(out_hw[0]):
        y0 = oy * stride[0] - pad[0]
        ys = slice(max(y0, 0), min(y0 + filt[0], h))
        for ox in range(out_hw[1]):
            x0 = ox * stride[1] - pad[1]
            xs = slice(max(x0, 0), min(x0 + filt[1], w))
            win = x[:, ys, xs].reshape(n, -1, nw)
            out[:, oy, ox] = np.bitwise_and.reduce(win, axis=1)
    return out


class Unsupported(ValueError):
    """An Lce op (or option) microai does not run: the converter names the op with it."""


OPS = ("LceQuantize", "LceDequantize", "LceBconv2d", "LceBMaxPool2d")


def _opt(options: dict, key: str) -> int:
    if key not in options:
        raise Unsupported(f"option {key!r} is missing")
    v = options[key]
    if isinstance(v, bool) or not isinstance(v, int):
        raise Unsupported(f"option {key!r} is {v!r}, not an integer")
    return v


def _padding(options: dict) -> str:
    p = _opt(options, "padding")
    if p not in PADDINGS:
        raise Unsupported(f"padding {p} is not SAME (0) or VALID (1)")
    return PADDINGS[p]


class BconvGeometry(NamedTuple):
    channels_in: int
    stride: tuple[int, int]
    dilation: tuple[int, int]
    pad: tuple[int, int]
    out_hw: tuple[int, int]
    activation: int
    k: int  # kh * kw * channels_in: the back-transformation's K


def bconv_geometry(options: dict, in_shape, filter_shape) -> BconvGeometry:
    """LceBconv2d's options checked against its shapes (x [N, H, W, words], filter
    [out, KH, KW, words]); Unsupported naming what microai does not run."""
    cin = _opt(options, "channels_in")
    stride = (_opt(options, "stride_height"), _opt(options, "stride_width"))
    dilation = (_opt(options, "dilation_height_factor"), _opt(options, "dilation_width_factor"))
    padding = _padding(options)
    pad_values = _opt(options, "pad_values")
    act = _opt(options, "fused_activation_function")
    if len(in_shape) != 4 or len(filter_shape) != 4:
        raise Unsupported("input and filter must be 4-D")
    if cin < 1 or min(stride + dilation) < 1:
        raise Unsupported(f"channels_in {cin}, strides {stride}, dilations {dilation}")
    if pad_values not in (0, 1):
        raise Unsupported(f"pad_values {pad_values} is not 0 or 1")
    if padding == "SAME" and pad_values == 0:
        raise Unsupported(
            "SAME padding with pad_values=0 (zero padding) is not supported: LCE's own "
            "kernels disagree there; train with pad_values=1.0 or VALID padding"
        )
    if act not in ACTIVATIONS:
        raise Unsupported(f"fused activation {act} is not NONE, RELU, RELU_N1_TO_1 or RELU6")
    if in_shape[3] != words(cin):
        raise Unsupported(f"input has {in_shape[3]} words, channels_in {cin} needs {words(cin)}")
    if filter_shape[3] != words(cin):
        raise Unsupported(
            f"grouped binary convolutions are not supported (filter has {filter_shape[3]} "
            f"words a tap, channels_in {cin} needs {words(cin)})"
        )
    _, h, w, _ = in_shape
    _, kh, kw, _ = filter_shape
    oh, ph = conv_axis(padding, h, kh, stride[0], dilation[0])
    ow, pw = conv_axis(padding, w, kw, stride[1], dilation[1])
    if oh < 1 or ow < 1:
        raise Unsupported(f"the filter does not fit the {h}x{w} input")
    return BconvGeometry(cin, stride, dilation, (ph, pw), (oh, ow), act, kh * kw * cin)


class PoolGeometry(NamedTuple):
    filt: tuple[int, int]
    stride: tuple[int, int]
    pad: tuple[int, int]
    out_hw: tuple[int, int]


def bmaxpool_geometry(options: dict, in_shape) -> PoolGeometry:
    filt = (_opt(options, "filter_height"), _opt(options, "filter_width"))
    stride = (_opt(options, "stride_height"), _opt(options, "stride_width"))
    padding = _padding(options)
    if len(in_shape) != 4:
        raise Unsupported("the input must be 4-D")
    if min(filt + stride) < 1:
        raise Unsupported(f"filter {filt}, strides {stride}")
    oh, ph = conv_axis(padding, in_shape[1], filt[0], stride[0], 1)
    ow, pw = conv_axis(padding, in_shape[2], filt[1], stride[1], 1)
    if oh < 1 or ow < 1:
        raise Unsupported(f"the filter does not fit the {in_shape[1]}x{in_shape[2]} input")
    return PoolGeometry(filt, stride, (ph, pw), (oh, ow))


def run_op(
    opcode: str, options: dict, ins: list, in_zero_point: int, out_dtype, out_shape, out_q
) -> np.ndarray:
    """One Lce op on LCE's tensors (bit-packed ones as int32 words): ins the op's input
    arrays (None for an omitted one), in_zero_point input 0's, out_q the output's
    (scale, zero point) or None."""
    if opcode == "LceQuantize":
        return quantize(ins[0], in_zero_point).reshape(out_shape)
    if opcode == "LceDequantize":
        scale, zp = out_q if out_q is not None else (0.0, 0)
        plus, minus = dequantize_values(out_dtype, scale, zp)
        return dequantize(ins[0], out_shape[-1], out_dtype, plus, minus).reshape(out_shape)
    if opcode == "LceBMaxPool2d":
        g = bmaxpool_geometry(options, ins[0].shape)
        return bmaxpool(ins[0], g.filt, g.stride, g.pad, g.out_hw)
    if opcode == "LceBconv2d":
        x, w = ins[0], ins[1]
        g = bconv_geometry(options, x.shape, w.shape)
        acc = bconv_acc(x, w, g.stride, g.dilation, g.pad, g.out_hw)
        if np.dtype(out_dtype) == np.int32:
            return pack(acc > ins[4].reshape(-1)).reshape(out_shape)
        scale = None if np.dtype(out_dtype) == np.float32 else out_q[0]
        zp = 0 if scale is None else out_q[1]
        t = output_transform(ins[2], ins[3], g.k, g.activation, scale, zp)
        y = transform_f32(acc, t) if scale is None else transform_s8(acc, t)
        return y.reshape(out_shape)
    raise Unsupported(f"{opcode} is not one of {', '.join(OPS)}")
