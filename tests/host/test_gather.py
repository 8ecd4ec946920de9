"""GATHER (int8 values, constant int32 indices of any shape, any axis): bit-exact with
both goldens, on the boards, and refused clearly."""

from __future__ import annotations

import numpy as np
import pytest

from microai.convert import convert
from microai.golden import GOLDENS
from microai.ir import ConvertError
from microai.testing.tflite_builder import ModelBuilder
from microai.verify import verify


def _model(shape, indices, axis, out_shape=None, **options):
    mb = ModelBuilder("gather test")
    x = mb.input("x", shape, scale=0.05, zero_point=-7)
    idx = np.array(indices, np.int32)
    i = mb.const("indices", idx)
    ax = axis + len(shape) if axis < 0 else axis
    out = out_shape or (*shape[:ax], *idx.shape, *shape[ax + 1 :])
    y = mb.tensor("y", out, scale=0.05, zero_point=-7)
    mb.op("GATHER", [x, i], [y], "GatherOptions", Axis=axis, **options)
    mb.output(y)
    return mb.build()


CASES = [
    ((10, 4), [3, 0, 9, 3], 0),  # an embedding table's rows, one twice
    ((2, 7, 5), [6, 1], 1),
    ((2, 3, 6), [[5, 0], [1, 1]], -1),  # 2-D indices on the last axis
    ((1, 4, 4, 3), [2, 0, 1], 3),
    ((5,), [4], 0),
]


@pytest.mark.parametrize("golden", GOLDENS)
@pytest.mark.parametrize("case", CASES, ids=str)
def test_gather_is_bit_exact(case, golden):
    r = verify(_model(*case), n_inputs=2, seed=7, golden=golden)
    assert r["mismatches"] == 0
    assert r["layers"][0]["kernel"] == "GATHER_S8"


@pytest.mark.parametrize(
    "model, words",
    [
        (lambda: _model((10, 4), [3, 10], 0, out_shape=(2, 4)), "indices outside 0..9"),
        (lambda: _model((10, 4), [1], 0, out_shape=(1, 4), BatchDims=1), "batch_dims 1"),
    ],
)
def test_refused_with_the_reason(model, words):
    with pytest.raises(ConvertError) as e:
        convert(model(), "g")
    assert "GATHER (op 0" in str(e.value) and words in str(e.value)


@pytest.mark.parametrize("board", ["QEMU_STM32F405", "QEMU_STM32F205", "QEMU_M7"])
def test_gather_on_boards(board):
    from microai.hil import hil

    r = hil(_model(*CASES[2]), board, n_inputs=2, seed=1, name="g", count=False)
    assert r["mismatches"] == 0 and r["reference_mismatches"] == 0
