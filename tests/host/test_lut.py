"""LOGISTIC's table kernel (LUT) for TANH and HARD_SWISH (int8): every one of the 256
input values bit-exact with both goldens, which differ on TANH (TFLite-Micro: gemmlowp's
fixed-point tanh, output Q0.7 whatever the output tensor says; LiteRT: a float table
with the output's quantization); both run HARD_SWISH's int16 fixed point. Refusals name
the op; the boards run the same tables."""

from __future__ import annotations

import numpy as np
import pytest

from microai.convert import convert
from microai.golden import GOLDENS
from microai.ir import ConvertError
from microai.testing.tflite_builder import ModelBuilder
from microai.verify import verify

EVERY = np.arange(-128, 128, dtype=np.int8).reshape(2, 128)


def _model(opcode, in_q, out_q, shape=(2, 128)):
    mb = ModelBuilder("lut test")
    x = mb.input("x", shape, scale=in_q[0], zero_point=in_q[1])
    y = mb.tensor("y", shape, scale=out_q[0], zero_point=out_q[1])
    mb.op(opcode, [x], [y])
    mb.output(y)
    return mb.build()


TANH = [
    ((0.05, 0), (1 / 128, 0)),  # as the converter makes it
    ((0.1, -128), (1 / 128, 0)),
    ((0.0123, 17), (1 / 128, 0)),
    ((0.3, 100), (1 / 128, 0)),
    ((0.004, -5), (1 / 128, 0)),  # small inputs: tanh(x) ~ x
    ((1.7, 3), (1 / 128, 0)),  # most inputs saturate
    ((0.05, 0), (0.01, -7)),  # another output quantization (TFLite-Micro ignores it)
] + [
    ((float(s), int(z)), (1 / 128, 0))
    for s, z in zip(
        np.random.default_rng(11).uniform(0.002, 0.5, 3),
        np.random.default_rng(12).integers(-128, 128, 3),
        strict=True,
    )
]

HARD_SWISH = [
    ((0.05, 0), (0.03, -60)),
    ((0.1, -128), (0.08, -100)),
    ((0.02, 30), (0.02, -90)),
    ((0.5, 5), (0.4, -20)),  # the relu-ish multiplier shifts left
    ((0.001, -3), (0.0005, -10)),
    ((0.05, 0), (0.2, 0)),  # coarse output
] + [
    ((float(s), int(z)), (float(o), int(p)))
    for s, z, o, p in zip(
        np.random.default_rng(13).uniform(0.002, 0.5, 3),
        np.random.default_rng(14).integers(-128, 128, 3),
        np.random.default_rng(15).uniform(0.002, 0.5, 3),
        np.random.default_rng(16).integers(-128, 0, 3),
        strict=True,
    )
]


@pytest.mark.parametrize("golden", GOLDENS)
@pytest.mark.parametrize("in_q, out_q", TANH)
def test_tanh_every_value(in_q, out_q, golden):
    r = verify(_model("TANH", in_q, out_q), golden=golden, given=[EVERY])
    assert r["mismatches"] == 0
    assert r["layers"][0]["kernel"] == "LUT_S8"


@pytest.mark.parametrize("golden", GOLDENS)
@pytest.mark.parametrize("in_q, out_q", HARD_SWISH)
def test_hard_swish_every_value(in_q, out_q, golden):
    r = verify(_model("HARD_SWISH", in_q, out_q), golden=golden, given=[EVERY])
    assert r["mismatches"] == 0
    assert r["layers"][0]["kernel"] == "LUT_S8"


def test_goldens_differ_where_tflm_ignores_the_output_scale():
    """With an output scale other than 1/128, TFLite-Micro's TANH still writes Q0.7 and
    LiteRT's follows the scale: the tables differ, and each golden's is the one taken."""
    model = _model("TANH", (0.05, 0), (0.01, -7))
    tables = {g: convert(model, "m", golden=g).blob for g in GOLDENS}
    assert tables["tflm"] != tables["litert"]


@pytest.mark.parametrize(
    "opcode, in_q, out_q, message",
    [
        ("TANH", (9.0, 0), (1 / 128, 0), "input scale 9 is out of TanhPrepare's range"),
        ("HARD_SWISH", (0.5, 0), (0.001, 0), "output scale below input scale / 128"),
        ("LOGISTIC", (0.1, 0), (1 / 128, 0), "int8 output must have scale 1/256"),
    ],
)
def test_refusals_name_the_op(opcode, in_q, out_q, message):
    with pytest.raises(ConvertError) as e:
        convert(_model(opcode, in_q, out_q), "m")
    assert f"{opcode} (op 0" in str(e.value) and message in str(e.value)


def test_int16_tanh_is_refused_by_type():
    mb = ModelBuilder("lut test")
    x = mb.input("x", (1, 8), scale=1 / 4096, zero_point=0, dtype=np.int16)
    y = mb.tensor("y", (1, 8), scale=1 / 32768, zero_point=0, dtype=np.int16)
    mb.op("TANH", [x], [y])
    mb.output(y)
    with pytest.raises(ConvertError) as e:
        convert(mb.build(), "m")
    assert "TANH (op 0" in str(e.value) and "int16" in str(e.value)


def test_lut_runs_in_place():
    """A table op's output may take its input's bytes: the arena holds one tensor."""
    from microai.engine import Model

    for opcode, out_q in (("TANH", (1 / 128, 0)), ("HARD_SWISH", (0.03, -60))):
        conv = convert(_model(opcode, (0.05, 0), out_q, shape=(1, 64, 64)), "m")
        with Model(conv.blob) as m:
            assert m.arena_info()["arena_size"] <= 64 * 64 + 64


@pytest.mark.parametrize("board", ["QEMU_STM32F405", "QEMU_STM32F205", "QEMU_M7"])
def test_lut_on_boards(board):
    """TANH then HARD_SWISH, one model: both tables run on the board."""
    from microai.hil import hil

    mb = ModelBuilder("lut chain")
    x = mb.input("x", (2, 128), scale=0.0123, zero_point=17)
    t = mb.tensor("t", (2, 128), scale=1 / 128, zero_point=0)
    mb.op("TANH", [x], [t])
    y = mb.tensor("y", (2, 128), scale=0.006, zero_point=-40)
    mb.op("HARD_SWISH", [t], [y])
    mb.output(y)
    r = hil(mb.build(), board, n_inputs=2, seed=1, name="lut", count=False)
    assert r["mismatches"] == 0 and r["reference_mismatches"] == 0
    assert [layer["kernel"] for layer in r["layers"]] == ["LUT_S8", "LUT_S8"]
