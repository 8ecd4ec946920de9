"""quant.py (the Python port) against nn_requantize() (the C) through cffi, and
quantize_multiplier() against TFLite's QuantizeMultiplier contract."""

from __future__ import annotations

import math

import numpy as np
import pytest

from microai import native, quant
from microai.quant import INT32_MAX, INT32_MIN

MULT_EDGES = [0, 1, 1 << 30, (1 << 30) + 1, 1518500250, (1 << 31) - 2, INT32_MAX]
ACC_EDGES = [
    INT32_MIN,
    INT32_MIN + 1,
    -(1 << 30),
    -65536,
    -129,
    -1,
    0,
    1,
    127,
    65535,
    1 << 30,
    INT32_MAX - 1,
    INT32_MAX,
]


@pytest.fixture(scope="module")
def lib():
    return native.load()[1]


def test_requantize_extremes(lib):
    for acc in ACC_EDGES:
        for mult in MULT_EDGES:
            for shift in range(-31, 31):
                want = lib.nn_requantize(acc, mult, shift)
                assert quant.requantize(acc, mult, shift) == want, (acc, mult, shift)


def test_requantize_random(lib):
    rng = np.random.default_rng(1)
    accs = rng.integers(INT32_MIN, INT32_MAX, 20000, endpoint=True)
    # Small accumulators too, where rounding ties are frequent.
    accs[::2] = rng.integers(-5000, 5000, accs[::2].size)
    mults = rng.integers(1 << 30, 1 << 31, accs.size)
    shifts = rng.integers(-31, 31, accs.size, endpoint=True)
    for acc, mult, shift in zip(accs.tolist(), mults.tolist(), shifts.tolist(), strict=True):
        assert quant.requantize(acc, mult, shift) == lib.nn_requantize(acc, mult, shift), (
            acc,
            mult,
            shift,
        )


def _requantize_hi(lib, acc: int, mult: int, shift: int) -> int:
    k = lib.nn_requantize_k(-shift)
    return lib.nn_requantize_hi(acc, mult, k & 0xFFFFFFFF, k >> 32, -shift - 1)


def test_requantize_hi(lib):
    """The convolutions' one-SMLAL requantization (shift <= -1) against the Python port
    of the double rounding: edges, then random accumulators (small ones, where ties are
    frequent) and multipliers (0 and the Q31 range)."""
    for acc in ACC_EDGES:
        for mult in MULT_EDGES:
            for shift in range(-31, 0):
                want = quant.requantize(acc, mult, shift)
                assert _requantize_hi(lib, acc, mult, shift) == want, (acc, mult, shift)
    rng = np.random.default_rng(3)
    accs = rng.integers(INT32_MIN, INT32_MAX, 20000, endpoint=True)
    accs[::2] = rng.integers(-5000, 5000, accs[::2].size)
    mults = rng.integers(1 << 30, 1 << 31, accs.size)
    shifts = rng.integers(-31, 0, accs.size)
    for acc, mult, shift in zip(accs.tolist(), mults.tolist(), shifts.tolist(), strict=True):
        want = quant.requantize(acc, mult, shift)
        assert _requantize_hi(lib, acc, mult, shift) == want, (acc, mult, shift)


def test_building_blocks(lib):
    rng = np.random.default_rng(2)
    vals = [*ACC_EDGES, *rng.integers(INT32_MIN, INT32_MAX, 2000, endpoint=True).tolist()]
    for a, b in zip(vals, reversed(vals), strict=True):
        assert quant.doubling_high_mul(a, b) == lib.nn_doubling_high_mul(a, b), (a, b)
    assert lib.nn_doubling_high_mul(INT32_MIN, INT32_MIN) == INT32_MAX
    for x in vals[:200]:
        for e in range(0, 32):
            assert quant.divide_by_pot(x, e) == lib.nn_divide_by_pot(x, e), (x, e)


@pytest.mark.parametrize(
    "acc, mult, shift, want",
    [
        (100, 1 << 30, 0, 50),  # x 0.5
        (101, 1 << 30, 0, 51),  # 50.5 rounds away from zero
        (-101, 1 << 30, 0, -50),  # gemmlowp: -50.5 -> -50 (doubling-high-mul nudge)
        (3, 1 << 30, 1, 3),  # x 1.0
        (1000, 1 << 30, -3, 63),  # 1000 / 16 = 62.5 -> 63
        (-1000, 1 << 30, -3, -63),
        (INT32_MAX, INT32_MAX, 0, INT32_MAX - 1),  # (2^31 - 1)^2 / 2^31 = 2^31 - 2 + tiny
        (INT32_MIN, INT32_MAX, 0, INT32_MIN + 1),
        (12345, 0, 0, 0),
        (1, 1 << 30, 30, 1 << 29),  # 0.5 x 2^30: left shift up to 30
    ],
)
def test_requantize_known(lib, acc, mult, shift, want):
    assert quant.requantize(acc, mult, shift) == want
    assert lib.nn_requantize(acc, mult, shift) == want


@pytest.mark.parametrize(
    "real, want",
    [
        (0.0, (0, 0)),
        (1.0, (1 << 30, 1)),
        (0.5, (1 << 30, 0)),
        (0.75, (3 << 29, 0)),
        (2.0**-31, (1 << 30, -30)),
        (2.0**-32, (1 << 30, -31)),
        (2.0**-33, (0, 0)),  # shift < -31: flushed to zero
        (1e-12, (0, 0)),
        (1.0 - 2.0**-40, (1 << 30, 1)),  # mantissa rounds up to 2^31: halved, shift + 1
        (0.0039215686274509803, (2155905152 // 2, -7)),
    ],
)
def test_quantize_multiplier_known(real, want):
    assert quant.quantize_multiplier(real) == want


def test_quantize_multiplier_contract():
    rng = np.random.default_rng(3)
    reals = np.concatenate([10.0 ** rng.uniform(-9, 3, 3000), rng.uniform(0.5, 1.0, 1000)])
    for real in reals.tolist():
        q, shift = quant.quantize_multiplier(real)
        assert (1 << 30) <= q < (1 << 31)
        assert -31 <= shift <= 30
        # q * 2^(shift - 31) is real rounded to 31 significant bits.
        assert abs(math.ldexp(q, shift - 31) - real) <= math.ldexp(1, shift - 32)


def test_activation_range():
    assert quant.activation_range("NONE", 0.1, 5) == (-128, 127)
    assert quant.activation_range("RELU", 0.1, -128) == (-128, 127)
    assert quant.activation_range("RELU", 0.1, 10) == (10, 127)
    assert quant.activation_range("RELU6", 0.05, -128) == (-128, -8)
    assert quant.activation_range("RELU_N1_TO_1", 1 / 64, 0) == (-64, 64)
    assert quant.activation_range("RELU_N1_TO_1", 1 / 256, 0) == (-128, 127)
    with pytest.raises(ValueError):
        quant.activation_range("TANH", 0.1, 0)


def test_single_rounding_matches_c():
    """nn_requantize_single (FULLY_CONNECTED's rounding) against quant.requantize_single."""
    _, lib = native.load()
    rng = np.random.default_rng(7)
    accs = [*map(int, rng.integers(-(2**31), 2**31, 5000)), -(2**31), 2**31 - 1, 0, -1, 1]
    for acc in accs:
        real = float(rng.uniform(1e-6, 0.99))
        m, s = quant.quantize_multiplier(real)
        assert lib.nn_requantize_single(acc, m, s) == quant.requantize_single(acc, m, s)
    # Single and double rounding really differ: 3 * 0.5 = 1.5 rounds up once, -1.5 too.
    m, s = quant.quantize_multiplier(0.5)
    assert quant.requantize_single(3, m, s) == 2 and quant.requantize_single(-3, m, s) == -1
