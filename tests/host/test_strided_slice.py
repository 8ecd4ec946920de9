"""STRIDED_SLICE (int8, rank 1 to 4): begin/end masks, shrunk axes, negative indices and
strides, out-of-range ends; bit-exact with both goldens, on the boards, refusals."""

from __future__ import annotations

import numpy as np
import pytest

from microai.convert import convert
from microai.golden import GOLDENS
from microai.ir import ConvertError
from microai.testing.tflite_builder import ModelBuilder
from microai.verify import verify


def _out_shape(shape, begin, end, strides, bmask, emask, shrink):
    out = []
    for d, size in enumerate(shape):
        if d >= len(begin):
            out.append(size)
            continue
        if shrink >> d & 1:
            continue
        b = None if bmask >> d & 1 else begin[d]
        e = None if emask >> d & 1 else end[d]
        out.append(len(range(*slice(b, e, strides[d]).indices(size))))
    return tuple(out)


def _model(shape, begin, end, strides, bmask=0, emask=0, shrink=0, out_shape=None, **extra):
    mb = ModelBuilder("strided slice test")
    x = mb.input("x", shape, scale=0.05, zero_point=-2)
    vecs = [
        mb.const(n, np.array(v, np.int32))
        for n, v in (("begin", begin), ("end", end), ("strides", strides))
    ]
    out = out_shape or _out_shape(shape, begin, end, strides, bmask, emask, shrink)
    y = mb.tensor("y", out, scale=0.05, zero_point=-2)
    mb.op(
        "STRIDED_SLICE",
        [x, *vecs],
        [y],
        "StridedSliceOptions",
        BeginMask=bmask,
        EndMask=emask,
        ShrinkAxisMask=shrink,
        **extra,
    )
    mb.output(y)
    return mb.build()


CASES = [
    ((10,), [2], [9], [3], 0, 0, 0),
    ((10,), [-1], [-11], [-1], 0, 0, 0),  # reversed, the end clamped
    ((6, 7), [1, 0], [5, 7], [2, 1], 0, 0, 0),
    ((6, 7), [0, 3], [0, 0], [1, 1], 1, 3, 0),  # masks: [:, 3:]
    ((1, 8, 9, 5), [0, 1, 2, 0], [1, 7, 9, 5], [1, 2, 3, 1], 0, 0, 0),
    ((1, 8, 9, 5), [0, -1, 0, 4], [1, 0, 9, 5], [1, -2, 1, 1], 0, 0, 8),  # C shrunk
    ((2, 8, 9, 5), [1, 0, 0, 0], [2, 100, -100, 5], [1, 1, -1, 2], 0, 2, 1),  # N shrunk
    ((3, 4), [0, -2], [0, 0], [1, 1], 0, 2, 1),  # x[0, -2:]
]


@pytest.mark.parametrize("golden", GOLDENS)
@pytest.mark.parametrize("case", CASES, ids=str)
def test_strided_slice_is_bit_exact(case, golden):
    r = verify(_model(*case), n_inputs=2, seed=5, golden=golden)
    assert r["mismatches"] == 0
    assert r["layers"][0]["kernel"] == "STRIDED_SLICE_S8"


def test_fewer_values_than_axes():
    """begin/end/strides shorter than the rank take the rest whole (LiteRT; TFLite-Micro
    refuses such a model in its Prepare)."""
    r = verify(_model((4, 6, 5), [1, 2], [3, 5], [1, 1]), n_inputs=2, golden="litert")
    assert r["mismatches"] == 0


@pytest.mark.parametrize(
    "model, words",
    [
        (
            lambda: _model((6, 7), [0, 0], [6, 7], [1, 1], EllipsisMask=1, out_shape=(6, 7)),
            "ellipsis_mask",
        ),
        (lambda: _model((6, 7), [0, 0], [6, 7], [1, 0], out_shape=(6, 7)), "stride 0"),
        (lambda: _model((6, 7), [2, 0], [2, 7], [1, 1], out_shape=(1, 7)), "slices to nothing"),
        (lambda: _model((6, 7), [0, 9], [6, 7], [1, 1], shrink=2, out_shape=(6,)), "out of range"),
    ],
)
def test_refused_with_the_reason(model, words):
    with pytest.raises(ConvertError) as e:
        convert(model(), "s")
    assert "STRIDED_SLICE (op 0" in str(e.value) and words in str(e.value)


@pytest.mark.parametrize("board", ["QEMU_STM32F405", "QEMU_STM32F205", "QEMU_M7"])
def test_strided_slice_on_boards(board):
    from microai.hil import hil

    for case in (CASES[5], CASES[6]):
        r = hil(_model(*case), board, n_inputs=2, seed=1, name="s", count=False)
        assert r["mismatches"] == 0 and r["reference_mismatches"] == 0
