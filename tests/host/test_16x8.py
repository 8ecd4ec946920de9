"""16x8 (int16 activations, int8 weights, int64 bias): FULLY_CONNECTED, QUANTIZE
float32 -> int16 and DEQUANTIZE int16 -> float32, bit-exact with both goldens (random
int16 inputs over the whole range), at the model's edges too; what 16x8 cannot be is
refused naming the op; the boards run it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
import tflite

from microai.convert import convert
from microai.golden import GOLDENS
from microai.ir import ConvertError
from microai.paths import ROOT
from microai.testing.tflite_builder import ModelBuilder
from microai.verify import verify

ACT = tflite.ActivationFunctionType


@dataclass(frozen=True)
class Case:
    name: str
    batches: int
    depth: int
    units: int
    per_channel: bool = False
    bias: bool = True
    act: str = "NONE"
    float_edges: bool = False


CASES = [
    Case("one_row", 1, 37, 10),
    Case("batches_relu", 3, 64, 12, act="RELU"),
    Case("per_channel", 2, 48, 7, per_channel=True),
    Case("no_bias_relu6", 1, 20, 5, bias=False, act="RELU6"),
    Case("deep", 1, 512, 4),
    Case("float_edges", 2, 30, 6, float_edges=True),
]


def _model(c: Case) -> bytes:
    rng = np.random.default_rng(sum(map(ord, c.name)))
    x_s = 1.0 / 4096
    w_s = rng.uniform(0.002, 0.02, c.units if c.per_channel else 1).astype(np.float32)
    y_s = float(x_s * np.mean(w_s) * 127 * 4096 * np.sqrt(c.depth) / 8)
    mb = ModelBuilder("16x8 fc")
    if c.float_edges:
        xf = mb.input("xf", (c.batches, c.depth), np.float32)
        x = mb.tensor("x", (c.batches, c.depth), np.int16, scale=x_s)
        mb.op("QUANTIZE", [xf], [x])
    else:
        x = mb.input("x", (c.batches, c.depth), np.int16, scale=x_s)
    w = rng.integers(-127, 128, (c.units, c.depth), dtype=np.int8)
    wt = mb.const("w", w, scale=w_s, quantized_dimension=0)
    inputs = [x, wt]
    if c.bias:
        b = rng.integers(-(2**30), 2**30, c.units).astype(np.int64)
        inputs.append(mb.const("b", b, scale=np.float32(x_s) * w_s))
    y = mb.tensor("y", (c.batches, c.units), np.int16, scale=y_s)
    mb.op(
        "FULLY_CONNECTED",
        inputs,
        [y],
        "FullyConnectedOptions",
        FusedActivationFunction=getattr(ACT, c.act),
    )
    if c.float_edges:
        yf = mb.tensor("yf", (c.batches, c.units), np.float32)
        mb.op("DEQUANTIZE", [y], [yf])
        mb.output(yf)
    else:
        mb.output(y)
    return mb.build()


@pytest.mark.parametrize("golden", GOLDENS)
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_fc_16x8_bit_exact(case, golden):
    r = verify(_model(case), n_inputs=4, seed=6, golden=golden)
    assert r["mismatches"] == 0
    kernels = [layer["kernel"] for layer in r["layers"]]
    assert "FC_S16" in kernels
    if case.float_edges:
        assert kernels == ["QUANTIZE_F32_S16", "FC_S16", "DEQUANTIZE_S16_F32"]


@pytest.mark.parametrize("golden", GOLDENS)
def test_fc_16x8_sums_beyond_int32(golden):
    """Inputs lined up with a row's signs push its sum past 2^31 (2,048 deep): the goldens'
    rescaling of int64 sums differs there (TFLite-Micro rounds the multiplier to 16 bits
    first, LiteRT rounds the exact product once), and each is matched."""
    from microai.tflite import read_model

    case = Case("huge", 1, 2048, 6, per_channel=True)
    model = _model(case)
    w = read_model(model).t(1).data
    rng = np.random.default_rng(9)
    given = [
        (np.sign(w[j]) * rng.integers(20000, 32768, 2048)).astype(np.int16)[None] for j in range(6)
    ]
    r = verify(model, golden=golden, given=given)
    assert r["mismatches"] == 0


def _raw(bias_dtype=np.int64, x_zp=0, bias=(1, 2)):
    mb = ModelBuilder("bad 16x8")
    x = mb.input("x", (1, 4), np.int16, scale=1 / 4096, zero_point=x_zp)
    w = mb.const("w", np.ones((2, 4), np.int8), scale=0.01)
    b = mb.const("b", np.array(bias, bias_dtype), scale=0.01 / 4096)
    y = mb.tensor("y", (1, 2), np.int16, scale=1 / 1024)
    mb.op("FULLY_CONNECTED", [x, w, b], [y], "FullyConnectedOptions")
    mb.output(y)
    return mb.build()


@pytest.mark.parametrize(
    "model, message",
    [
        (_raw(np.int32), "must be a constant int64 tensor, got int32"),
        (_raw(x_zp=3), "16x8 wants zero points 0"),
        (_raw(bias=(1, 2**40)), "has values beyond int32"),
    ],
    ids=["int32 bias", "zero point", "big bias"],
)
def test_refusals_name_the_op(model, message):
    with pytest.raises(ConvertError) as e:
        convert(model, "m")
    assert "FULLY_CONNECTED (op 0" in str(e.value) and message in str(e.value), str(e.value)


# ---- CONV_2D 16x8 -----------------------------------------------------------------------


@dataclass(frozen=True)
class Conv:
    name: str
    shape: tuple[int, int, int, int]
    out: int
    kernel: tuple[int, int] = (3, 3)
    stride: tuple[int, int] = (1, 1)
    dilation: tuple[int, int] = (1, 1)
    padding: str = "SAME"
    groups: int = 1
    act: str = "NONE"


CONVS = [
    Conv("3x3_same", (1, 6, 6, 3), 8),
    Conv("stride2_valid_relu", (1, 9, 7, 5), 6, stride=(2, 2), padding="VALID", act="RELU"),
    Conv("1x1_batch2", (2, 4, 4, 16), 4, kernel=(1, 1)),
    Conv("dilated_grouped", (1, 8, 8, 6), 6, dilation=(2, 1), groups=2),
]


def _conv_model(c: Conv, big: bool = False) -> bytes:
    rng = np.random.default_rng(sum(map(ord, c.name)))
    cg = c.shape[3] // c.groups
    w = rng.integers(-127, 128, (c.out, *c.kernel, cg), dtype=np.int8)
    x_s = 1.0 / 4096
    w_s = rng.uniform(0.002, 0.02, c.out).astype(np.float32)
    k = c.kernel[0] * c.kernel[1] * cg
    y_s = float(x_s * np.mean(w_s) * 127 * 4096 * np.sqrt(k) / (1 if big else 8))
    mb = ModelBuilder("16x8 conv")
    x = mb.input("x", c.shape, np.int16, scale=x_s)
    b = rng.integers(-(2**28), 2**28, c.out).astype(np.int64)
    inputs = [x, mb.const("w", w, scale=w_s), mb.const("b", b, scale=np.float32(x_s) * w_s)]

    def size(s, kk, st, d):
        eff = (kk - 1) * d + 1
        return -(-s // st) if c.padding == "SAME" else (s - eff) // st + 1

    n, h, wd, _ = c.shape
    oh = size(h, c.kernel[0], c.stride[0], c.dilation[0])
    ow = size(wd, c.kernel[1], c.stride[1], c.dilation[1])
    y = mb.tensor("y", (n, oh, ow, c.out), np.int16, scale=y_s)
    mb.op(
        "CONV_2D",
        inputs,
        [y],
        "Conv2DOptions",
        Padding=getattr(tflite.Padding, c.padding),
        StrideH=c.stride[0],
        StrideW=c.stride[1],
        DilationHFactor=c.dilation[0],
        DilationWFactor=c.dilation[1],
        FusedActivationFunction=getattr(ACT, c.act),
    )
    mb.output(y)
    return mb.build()


@pytest.mark.parametrize("golden", GOLDENS)
@pytest.mark.parametrize("case", CONVS, ids=lambda c: c.name)
def test_conv_16x8_bit_exact(case, golden):
    r = verify(_conv_model(case), n_inputs=3, seed=7, golden=golden)
    assert r["mismatches"] == 0
    assert r["layers"][0]["kernel"] == "CONV_S16"


@pytest.mark.parametrize("golden", GOLDENS)
def test_conv_16x8_sums_beyond_int32(golden):
    """A 5x5 filter over 96 channels with inputs at the int16 extremes: sums past 2^31."""
    case = Conv("deep", (1, 5, 5, 96), 4, kernel=(5, 5), padding="VALID")
    model = _conv_model(case, big=True)
    from microai.tflite import read_model

    w = read_model(model).t(1).data.astype(np.int32)  # [4, 5, 5, 96]: one output pixel
    rng = np.random.default_rng(3)
    given = [
        (np.sign(w[j]) * rng.integers(20000, 32768, w[j].shape)).astype(np.int16)[None]
        for j in range(4)
    ]
    assert max(abs(int((g[0].astype(np.int64) * w[j]).sum())) for j, g in enumerate(given)) > 2**31
    r = verify(model, golden=golden, given=given)
    assert r["mismatches"] == 0


# ---- SOFTMAX int16 ------------------------------------------------------------------------


def _softmax_model(shape, in_scale, beta=1.0):
    mb = ModelBuilder("16x8 softmax")
    x = mb.input("x", shape, np.int16, scale=in_scale)
    y = mb.tensor("y", shape, np.int16, scale=1 / 32768)
    mb.op("SOFTMAX", [x], [y], "SoftmaxOptions", Beta=beta)
    mb.output(y)
    return mb.build()


@pytest.mark.parametrize("golden", GOLDENS)
@pytest.mark.parametrize(
    "shape, in_scale, beta",
    [((1, 10), 1 / 4096, 1.0), ((3, 7), 0.0003, 1.0), ((2, 2, 33), 1 / 1024, 0.5),
     ((1, 1000), 1 / 2048, 2.0), ((4, 1), 1 / 4096, 1.0)],
)  # fmt: skip
def test_softmax_16x8_bit_exact(shape, in_scale, beta, golden):
    r = verify(_softmax_model(shape, in_scale, beta), n_inputs=4, seed=8, golden=golden)
    assert r["mismatches"] == 0
    assert r["layers"][0]["kernel"] == "SOFTMAX_S16"


FIXTURE = ROOT / "tests" / "fixtures" / "models" / "digits_16x8.tflite"


@pytest.mark.parametrize("board", ["QEMU_STM32F405", "QEMU_STM32F205", "QEMU_M7"])
def test_16x8_fixture_on_boards(board):
    """The converter's 16x8 digits CNN (make_16x8_fixtures.py): float edges, CONV_2D, two
    FULLY_CONNECTED (per channel, 512 deep: the SMLALD path on the M4/M7, the scalar one
    on the M3) and SOFTMAX on int16, bit-exact with the host and TFLite-Micro."""
    from microai.hil import hil

    r = hil(FIXTURE.read_bytes(), board, n_inputs=2, seed=2, name="digits_16x8", count=False)
    assert r["mismatches"] == 0 and r["reference_mismatches"] == 0
    kernels = [layer["kernel"] for layer in r["layers"]]
    assert kernels == [
        "QUANTIZE_F32_S16",
        "CONV_S16",
        "FC_S16",
        "FC_S16",
        "SOFTMAX_S16",
        "DEQUANTIZE_S16_F32",
    ]


def test_16x8_effective_scale_too_big_is_refused():
    mb = ModelBuilder("bad 16x8")
    x = mb.input("x", (1, 4), np.int16, scale=1.0)
    w = mb.const("w", np.ones((2, 4), np.int8), scale=1.0)
    y = mb.tensor("y", (1, 2), np.int16, scale=1e-6)
    mb.op("FULLY_CONNECTED", [x, w], [y], "FullyConnectedOptions")
    mb.output(y)
    with pytest.raises(ConvertError) as e:
        convert(mb.build(), "m")
    assert "FULLY_CONNECTED (op 0" in str(e.value) and "2^14 or more" in str(e.value)


# ---- DEPTHWISE_CONV_2D 16x8 ----------------------------------------------------------------


@pytest.mark.parametrize("golden", GOLDENS)
@pytest.mark.parametrize(
    "shape, kernel, mult, stride, padding",
    [((1, 6, 6, 4), (3, 3), 1, (1, 1), "SAME"), ((1, 9, 7, 3), (3, 2), 2, (2, 1), "VALID"),
     ((2, 5, 5, 2), (5, 5), 4, (1, 1), "SAME")],
)  # fmt: skip
def test_depthwise_16x8_bit_exact(shape, kernel, mult, stride, padding, golden):
    rng = np.random.default_rng(mult)
    n, h, wd, c = shape
    oc = c * mult
    x_s = 1.0 / 4096
    w_s = rng.uniform(0.002, 0.02, oc).astype(np.float32)
    mb = ModelBuilder("16x8 depthwise")
    x = mb.input("x", shape, np.int16, scale=x_s)
    w = mb.const(
        "w",
        rng.integers(-127, 128, (1, *kernel, oc), dtype=np.int8),
        scale=w_s,
        quantized_dimension=3,
    )
    b = mb.const("b", rng.integers(-(2**20), 2**20, oc).astype(np.int64), scale=x_s * w_s)

    def size(s, k, st):
        return -(-s // st) if padding == "SAME" else (s - k) // st + 1

    out = (n, size(h, kernel[0], stride[0]), size(wd, kernel[1], stride[1]), oc)
    y = mb.tensor("y", out, np.int16, scale=float(x_s * np.mean(w_s) * 127 * 4096 / 4))
    mb.op(
        "DEPTHWISE_CONV_2D",
        [x, w, b],
        [y],
        "DepthwiseConv2DOptions",
        Padding=getattr(tflite.Padding, padding),
        StrideH=stride[0],
        StrideW=stride[1],
        DepthMultiplier=mult,
    )
    mb.output(y)
    r = verify(mb.build(), n_inputs=3, seed=9, golden=golden)
    assert r["mismatches"] == 0
    assert r["layers"][0]["kernel"] == "DW_CONV_S16"


def _add_model(a_shape, b_shape, scales, act=0, pot_option=False, const_b=False) -> bytes:
    mb = ModelBuilder("16x8 add")
    a = mb.input("a", a_shape, np.int16, scale=scales[0])
    if const_b:
        vals = np.random.default_rng(3).integers(-32768, 32768, b_shape).astype(np.int16)
        b = mb.const("b", vals, scale=scales[1])
    else:
        b = mb.input("b", b_shape, np.int16, scale=scales[1])
    out = tuple(max(x, y) for x, y in zip(a_shape, b_shape, strict=True))
    y = mb.tensor("y", out, np.int16, scale=scales[2])
    mb.op(
        "ADD",
        [a, b],
        [y],
        "AddOptions",
        version=3,
        FusedActivationFunction=act,
        PotScaleInt16=pot_option,
    )
    mb.output(y)
    return mb.build()


@pytest.mark.parametrize(
    "a_shape, b_shape, scales, act",
    [
        ((1, 4, 5, 3), (1, 4, 5, 3), (0.0011, 0.0007, 0.0015), 0),
        ((2, 3, 1, 6), (1, 1, 4, 6), (0.0003, 0.0009, 0.0004), 1),  # broadcast, RELU
        ((1, 7), (1, 7), (0.002, 0.002, 0.00101), 3),  # RELU6, same input scales
        ((1, 5, 5, 2), (1, 5, 5, 2), (2.0**-12, 2.0**-10, 2.0**-11), 0),  # POT, option off
    ],
)
@pytest.mark.parametrize("golden", GOLDENS)
def test_add_16x8_bit_exact(a_shape, b_shape, scales, act, golden):
    r = verify(_add_model(a_shape, b_shape, scales, act), n_inputs=6, seed=8, golden=golden)
    assert r["mismatches"] == 0
    assert r["layers"][0]["kernel"] == "ADD_S16"


def test_add_16x8_pot_option_follows_the_golden():
    """pot_scale_int16 with power-of-two scales: TFLite-Micro's general path, taken;
    LiteRT's own shift-based path, refused with the reason."""
    model = _add_model((1, 8), (1, 8), (2.0**-12, 2.0**-12, 2.0**-11), pot_option=True)
    assert verify(model, n_inputs=4, golden="tflm")["mismatches"] == 0
    with pytest.raises(ConvertError, match=r"ADD \(op 0;.*pot_scale_int16"):
        convert(model, "m", golden="litert")


def test_add_16x8_on_boards():
    from microai.hil import hil

    model = _add_model((2, 3, 1, 6), (1, 1, 4, 6), (0.0003, 0.0009, 0.0004), 1, const_b=True)
    for board in ("QEMU_STM32F405", "QEMU_STM32F205", "QEMU_M7"):
        r = hil(model, board, n_inputs=2, seed=1, count=False)
        assert r["mismatches"] == 0 and r["reference_mismatches"] == 0, (board, r)


@pytest.mark.parametrize("board", ["QEMU_STM32F405", "QEMU_STM32F205", "QEMU_M7"])
def test_16x8_residual_fixture_on_boards(board):
    """The converter's 16x8 residual CNN: its int16 ADD (fused RELU) runs ADD_S16."""
    from microai.hil import hil

    model = (FIXTURE.parent / "digits_16x8_residual.tflite").read_bytes()
    r = hil(model, board, n_inputs=2, seed=2, name="digits_16x8_residual", count=False)
    assert r["mismatches"] == 0 and r["reference_mismatches"] == 0
    assert "ADD_S16" in [layer["kernel"] for layer in r["layers"]]
