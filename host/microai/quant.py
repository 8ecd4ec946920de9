"""Quantization arithmetic, mirrored from TFLite's reference kernels.

The one Python port of the C requantization (cmodules/microai/nn/nn_requantize.h);
tests compare the two through cffi. Used by the converter to compute multipliers
and shifts, and by tests as an oracle.
"""

from __future__ import annotations

import math

import numpy as np

INT32_MIN = -(2**31)
INT32_MAX = 2**31 - 1


def checked_log2(scale: float) -> int | None:
    """TFLite's CheckedLog2: p where scale = 2^p, or None when log2(scale) is not within
    1e-3 of an integer (the goldens' power-of-two scales)."""
    p = round(math.log2(scale))
    return p if abs(math.log2(scale) - p) < 1e-3 else None


def quantize_multiplier(real: float, cap_shift: bool = True) -> tuple[int, int]:
    """TFLite QuantizeMultiplier: real = q * 2^(shift - 31), q in [2^30, 2^31) (or 0).

    cap_shift saturates shift at 30, as TFLite does for its single-rounding
    requantization; the double-rounding users (SOFTMAX's input scaling, MEAN) keep 31.
    """
    if real == 0.0:
        return 0, 0
    mantissa, shift = math.frexp(real)
    q = int(tflite_round(mantissa * (1 << 31)))
    if q == 1 << 31:
        q //= 2
        shift += 1
    if shift < -31:
        return 0, 0
    if cap_shift and shift > 30:
        shift = 30
        q = (1 << 31) - 1
    return q, shift


def doubling_high_mul(a: int, b: int) -> int:
    """gemmlowp SaturatingRoundingDoublingHighMul."""
    if a == b == INT32_MIN:
        return INT32_MAX
    ab = a * b
    nudge = (1 << 30) if ab >= 0 else (1 - (1 << 30))
    return _trunc_div(ab + nudge, 1 << 31)


def _trunc_div(a: int, b: int) -> int:
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


def divide_by_pot(x: int, exponent: int) -> int:
    """gemmlowp RoundingDivideByPOT."""
    mask = (1 << exponent) - 1
    remainder = x & mask
    threshold = (mask >> 1) + (1 if x < 0 else 0)
    return (x >> exponent) + (1 if remainder > threshold else 0)


def _wrap32(x: int) -> int:
    return ((x + (1 << 31)) & 0xFFFFFFFF) - (1 << 31)


def requantize(acc: int, multiplier: int, shift: int) -> int:
    """TFLite MultiplyByQuantizedMultiplier (double rounding); C: nn_requantize()."""
    left = shift if shift > 0 else 0
    right = 0 if shift > 0 else -shift
    return divide_by_pot(doubling_high_mul(_wrap32(acc << left), multiplier), right)


def requantize_single(acc: int, multiplier: int, shift: int) -> int:
    """TFLite's single-rounding MultiplyByQuantizedMultiplier; C: nn_requantize_single()."""
    total = 31 - shift
    return (acc * multiplier + (1 << (total - 1))) >> total


def activation_range(
    activation: str, scale: float, zero_point: int, dtype=np.int8
) -> tuple[int, int]:
    """TFLite CalculateActivationRangeQuantized for int8 (or int16) outputs (x / scale in
    float32)."""
    info = np.iinfo(dtype)
    qmin, qmax = int(info.min), int(info.max)

    def q(x: float) -> int:
        return zero_point + int(tflite_round(float(np.float32(x) / np.float32(scale))))

    if activation == "NONE":
        return qmin, qmax
    if activation == "RELU":
        return max(qmin, q(0.0)), qmax
    if activation == "RELU6":
        return max(qmin, q(0.0)), min(qmax, q(6.0))
    if activation == "RELU_N1_TO_1":
        return max(qmin, q(-1.0)), min(qmax, q(1.0))
    raise ValueError(f"unsupported fused activation {activation}")


def quantize_input(x, scale: float, zero_point: int) -> np.ndarray:
    """Real values as int8, as TFLite's QUANTIZE (AffineQuantize) computes them: x / scale
    in float32, rounded half away from zero, plus the zero point, saturated; the board's
    Model.predict() does the same."""
    v = np.asarray(x, np.float32) / np.float32(scale)
    r = np.sign(v) * np.floor(np.abs(v) + np.float32(0.5))
    return np.clip(r.astype(np.int64) + zero_point, -128, 127).astype(np.int8)


def tflite_round(x: float) -> float:
    """TfLiteRound / std::round of a double (or a float32 value): half away from zero,
    exactly (a double's fraction is exact; x + 0.5 may not be)."""
    a = abs(x)
    q = math.floor(a)
    return math.copysign(q + (1 if a - q >= 0.5 else 0), x)


def quantize_multipliers(reals: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """quantize_multiplier over an array: (multipliers, shifts) as int32 arrays."""
    pairs = [quantize_multiplier(float(r)) for r in np.asarray(reals, dtype=np.float64).ravel()]
    return (
        np.array([p[0] for p in pairs], dtype=np.int32),
        np.array([p[1] for p in pairs], dtype=np.int32),
    )
