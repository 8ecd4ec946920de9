"""RELU, RELU6 and LEAKY_RELU (int8) as ops: bit-exact with both goldens (which differ on
RELU6: TFLite-Micro clamps in the input's units), in place, and on the boards."""

from __future__ import annotations

import numpy as np
import pytest

from microai.convert import convert
from microai.golden import GOLDENS
from microai.ir import ConvertError
from microai.testing.tflite_builder import ModelBuilder
from microai.verify import verify


def _model(opcode, in_q, out_q, alpha=None, shape=(1, 5, 7, 3)):
    mb = ModelBuilder("relu test")
    x = mb.input("x", shape, scale=in_q[0], zero_point=in_q[1])
    y = mb.tensor("y", shape, scale=out_q[0], zero_point=out_q[1])
    if alpha is None:
        mb.op(opcode, [x], [y])
    else:
        mb.op(opcode, [x], [y], "LeakyReluOptions", Alpha=alpha)
    mb.output(y)
    return mb.build()


QUANTS = [
    ((0.05, 3), (0.05, 3)),  # the same quantization in and out
    ((0.1, -20), (0.0235, -128)),  # RELU6-like output range [0, 6]
    ((0.013, 100), (0.2, 7)),
    ((0.3, -128), (0.011, 127)),  # most outputs saturate
]


@pytest.mark.parametrize("golden", GOLDENS)
@pytest.mark.parametrize("opcode", ["RELU", "RELU6"])
@pytest.mark.parametrize("in_q, out_q", QUANTS)
def test_relu_is_bit_exact(opcode, in_q, out_q, golden):
    r = verify(_model(opcode, in_q, out_q), n_inputs=3, seed=1, golden=golden)
    assert r["mismatches"] == 0
    assert r["layers"][0]["kernel"] == "RELU_S8"


@pytest.mark.parametrize("golden", GOLDENS)
@pytest.mark.parametrize("alpha", [0.0, 0.01, 0.2, 0.7, 1.0, 3.5])
@pytest.mark.parametrize("in_q, out_q", QUANTS[:3])
def test_leaky_relu_is_bit_exact(alpha, in_q, out_q, golden):
    r = verify(_model("LEAKY_RELU", in_q, out_q, alpha), n_inputs=3, seed=2, golden=golden)
    assert r["mismatches"] == 0


def test_negative_alpha_is_refused():
    with pytest.raises(ConvertError) as e:
        convert(_model("LEAKY_RELU", *QUANTS[0], alpha=-0.5), "m")
    assert "LEAKY_RELU (op 0" in str(e.value) and "alpha -0.5" in str(e.value)


@pytest.mark.parametrize("board", ["QEMU_STM32F405", "QEMU_STM32F205", "QEMU_M7"])
def test_relu_on_boards(board):
    from microai.hil import hil

    for opcode, alpha in [("RELU6", None), ("LEAKY_RELU", 0.2)]:
        model = _model(opcode, *QUANTS[1], alpha=alpha)
        r = hil(model, board, n_inputs=2, seed=1, name=opcode, count=False)
        assert r["mismatches"] == 0 and r["reference_mismatches"] == 0


def test_relu_runs_in_place():
    """RELU's output may take its input's bytes (an elementwise op): no more arena."""
    from microai.engine import Model

    conv = convert(_model("RELU", *QUANTS[2], shape=(1, 16, 16, 8)), "m")
    with Model(conv.blob) as m:
        assert m.arena_info()["arena_size"] <= 2 * 16 * 16 * 8
    x = np.zeros((1, 16, 16, 8), np.int8)
    assert (
        verify(_model("RELU", *QUANTS[2], shape=(1, 16, 16, 8)), n_inputs=1, given=[x])[
            "mismatches"
        ]
        == 0
    )
