"""SPLIT and SPLIT_V (int8, any axis, negative axes, an inferred size): one input, several
outputs; bit-exact with both goldens, on the boards, refusals."""

from __future__ import annotations

import numpy as np
import pytest

from microai.convert import convert
from microai.golden import GOLDENS
from microai.ir import ConvertError
from microai.testing.tflite_builder import ModelBuilder
from microai.verify import verify


def _model(shape, axis, sizes, split_v, num_splits=None, then_add=False):
    mb = ModelBuilder("split test")
    x = mb.input("x", shape, scale=0.05, zero_point=1)
    ax = axis if axis >= 0 else axis + len(shape)
    outs = [
        mb.tensor(
            f"y{k}",
            tuple(n if d == ax else v for d, v in enumerate(shape)),
            scale=0.05,
            zero_point=1,
        )
        for k, n in enumerate(sizes)
    ]
    a = mb.const("axis", np.array([axis], np.int32))
    if split_v:
        given = list(sizes)
        given[-1] = -1  # the last size inferred
        s = mb.const("size_splits", np.array(given, np.int32))
        mb.op("SPLIT_V", [x, s, a], outs, "SplitVOptions", NumSplits=len(sizes))
    else:
        mb.op("SPLIT", [a, x], outs, "SplitOptions", NumSplits=num_splits or len(sizes))
    if then_add:  # the outputs feed another op (planned, not model outputs only)
        y = mb.tensor("sum", mb.tensors[outs[0]]["shape"], scale=0.1, zero_point=0)
        mb.op("ADD", [outs[0], outs[1]], [y], "AddOptions", FusedActivationFunction=0)
        mb.output(y)
    else:
        for o in outs:
            mb.output(o)
    return mb.build()


CASES = [
    ((1, 6, 5, 8), 3, [4, 4], False),
    ((1, 6, 5, 8), 1, [2, 2, 2], False),
    ((12,), 0, [3, 3, 3, 3], False),
    ((2, 9, 4), -1, [1, 3], True),
    ((2, 9, 4), 1, [2, 5, 1, 1], True),
    ((3, 10), 0, [1, 2], True),
]


@pytest.mark.parametrize("golden", GOLDENS)
@pytest.mark.parametrize("case", CASES, ids=str)
def test_split_is_bit_exact(case, golden):
    r = verify(_model(*case), n_inputs=2, seed=6, golden=golden)
    assert r["mismatches"] == 0
    assert r["layers"][0]["kernel"] == "SPLIT_S8"


@pytest.mark.parametrize("golden", GOLDENS)
def test_split_outputs_feeding_an_op(golden):
    r = verify(_model((1, 4, 4, 6), 3, [3, 3], False, then_add=True), n_inputs=2, golden=golden)
    assert r["mismatches"] == 0


def test_uneven_split_is_refused():
    with pytest.raises(ConvertError) as e:
        convert(_model((1, 4, 4, 6), 3, [3, 3], False, num_splits=4), "s")
    assert "SPLIT (op 0" in str(e.value)


@pytest.mark.parametrize("board", ["QEMU_STM32F405", "QEMU_STM32F205", "QEMU_M7"])
def test_split_on_boards(board):
    from microai.hil import hil

    r = hil(
        _model((1, 4, 4, 6), 3, [3, 3], False, then_add=True),
        board,
        n_inputs=2,
        seed=1,
        name="s",
        count=False,
    )
    assert r["mismatches"] == 0 and r["reference_mismatches"] == 0
