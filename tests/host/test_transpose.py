"""TRANSPOSE (int8, rank 1 to 4, any permutation): bit-exact with both goldens on built
models, on the three boards, and refused clearly where microai cannot take it."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from microai.convert import convert
from microai.golden import GOLDENS
from microai.ir import ConvertError
from microai.testing.tflite_builder import ModelBuilder
from microai.verify import verify


def _model(shape, perm, *, out_scale=0.05, out_zp=3, perm_dtype=np.int32, const=True):
    mb = ModelBuilder("transpose test")
    x = mb.input("x", shape, scale=0.05, zero_point=3)
    p = (
        mb.const("perm", np.array(perm, perm_dtype))
        if const
        else mb.input("perm", (len(perm),), np.int32)
    )
    out = tuple(shape[a] for a in perm) if sorted(perm) == list(range(len(shape))) else shape
    y = mb.tensor("y", out, scale=out_scale, zero_point=out_zp)
    mb.op("TRANSPOSE", [x, p], [y])
    mb.output(y)
    return mb.build()


CASES = [
    ((7,), (0,)),
    ((3, 5), (1, 0)),
    ((2, 3, 5), (2, 0, 1)),
    ((2, 3, 5), (1, 2, 0)),
    *[((2, 3, 4, 5), perm) for perm in itertools.permutations(range(4))],
    ((1, 9, 1, 17), (0, 3, 2, 1)),  # what a PyTorch NCHW export puts around a conv
]


@pytest.mark.parametrize("golden", GOLDENS)
@pytest.mark.parametrize("shape, perm", CASES, ids=lambda v: "x".join(map(str, v)))
def test_transpose_is_bit_exact(shape, perm, golden):
    r = verify(_model(shape, perm), n_inputs=2, seed=3, golden=golden)
    assert r["mismatches"] == 0
    assert r["layers"][0]["kernel"] == "TRANSPOSE_S8"


@pytest.mark.parametrize(
    "model, words",
    [
        (lambda: _model((2, 3, 4, 5), (0, 1, 3, 2), out_scale=0.1), "quantization differ"),
        (lambda: _model((2, 3, 4), (0, 1, 3)), "not a permutation"),
        (lambda: _model((2, 3, 4), (0, 0, 1)), "not a permutation"),
        (lambda: _model((2, 3, 4), (2, 1, 0), const=False), "constant int32"),
        (lambda: _model((2, 3, 4), (2, 1, 0), perm_dtype=np.int64), "constant int32"),
        (lambda: _model((1, 2, 3, 4, 5), (0, 1, 2, 4, 3)), "rank 5"),
    ],
)
def test_refused_with_the_reason(model, words):
    with pytest.raises(ConvertError) as e:
        convert(model(), "t")
    assert "TRANSPOSE (op 0" in str(e.value) and words in str(e.value)


@pytest.mark.parametrize("board", ["QEMU_STM32F405", "QEMU_STM32F205", "QEMU_M7"])
def test_transpose_on_boards(board):
    from microai.hil import hil

    for shape, perm in [((2, 3, 4, 5), (3, 1, 0, 2)), ((1, 9, 1, 17), (0, 3, 2, 1))]:
        r = hil(_model(shape, perm), board, n_inputs=2, seed=1, name="t", count=False)
        assert r["mismatches"] == 0 and r["reference_mismatches"] == 0


@pytest.mark.parametrize("board", ["QEMU_STM32F405", "QEMU_STM32F205", "QEMU_M7"])
def test_transpose_fixture_on_boards(board):
    """make_layout_fixtures.py's channels-first CNN (a converter's TRANSPOSE), bit-exact
    with the host engine and TFLite-Micro."""
    from microai.hil import hil
    from microai.paths import ROOT

    path = ROOT / "tests" / "fixtures" / "models" / "transpose_cnn.tflite"
    r = hil(path.read_bytes(), board, n_inputs=2, seed=3, name="transpose_cnn", count=False)
    assert r["mismatches"] == 0 and r["reference_mismatches"] == 0
    assert "TRANSPOSE_S8" in [layer["kernel"] for layer in r["layers"]]
