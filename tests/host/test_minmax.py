"""MAXIMUM and MINIMUM (int8, 4-D broadcasting, a constant operand): bit-exact with both
goldens on built models and on the boards."""

from __future__ import annotations

import numpy as np
import pytest

from microai.golden import GOLDENS
from microai.testing.tflite_builder import ModelBuilder
from microai.verify import verify


def _model(opcode, a_shape, b_shape, out_shape, const_b=False, q=(0.05, -4)):
    mb = ModelBuilder("minmax test")
    a = mb.input("a", a_shape, scale=q[0], zero_point=q[1])
    if const_b:
        vals = np.random.default_rng(0).integers(-128, 128, b_shape, dtype=np.int8)
        b = mb.const("b", vals, scale=q[0], zero_point=q[1])
    else:
        b = mb.input("b", b_shape, scale=q[0], zero_point=q[1])
    y = mb.tensor("y", out_shape, scale=q[0], zero_point=q[1])
    mb.op(opcode, [a, b], [y])
    mb.output(y)
    return mb.build()


CASES = [
    ((1, 4, 5, 6), (1, 4, 5, 6), (1, 4, 5, 6), False),
    ((1, 4, 5, 6), (6,), (1, 4, 5, 6), True),  # a per-channel constant
    ((2, 3, 1, 5), (1, 1, 4, 1), (2, 3, 4, 5), True),
    ((3, 7), (1,), (3, 7), True),  # a scalar: maximum(x, 0) as a ReLU
]


@pytest.mark.parametrize("golden", GOLDENS)
@pytest.mark.parametrize("opcode", ["MAXIMUM", "MINIMUM"])
@pytest.mark.parametrize("case", CASES, ids=str)
def test_minmax_is_bit_exact(opcode, case, golden):
    a, b, out, const = case
    r = verify(_model(opcode, a, b, out, const_b=const), n_inputs=3, seed=4, golden=golden)
    assert r["mismatches"] == 0
    assert r["layers"][0]["kernel"] == "MINMAX_S8"


@pytest.mark.parametrize("board", ["QEMU_STM32F405", "QEMU_STM32F205", "QEMU_M7"])
def test_minmax_on_boards(board):
    from microai.hil import hil

    for opcode in ("MAXIMUM", "MINIMUM"):
        model = _model(opcode, (2, 3, 1, 5), (1, 1, 4, 1), (2, 3, 4, 5), const_b=True)
        r = hil(model, board, n_inputs=2, seed=1, name=opcode, count=False)
        assert r["mismatches"] == 0 and r["reference_mismatches"] == 0
