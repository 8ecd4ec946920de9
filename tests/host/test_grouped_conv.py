"""Grouped CONV_2D (filter input channels = input channels / groups, as TFLite's
reference kernel and CMSIS-NN allow): CONV_GROUPED_S8, bit-exact with both goldens on
awkward shapes, chosen only where the GEMM kernels refuse groups, refused clearly when
the channels do not group, and run on the boards."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
import tflite

from microai.convert import convert
from microai.golden import GOLDENS, GoldenError
from microai.ir import ConvertError
from microai.testing.tflite_builder import ModelBuilder
from microai.verify import verify

ACT = tflite.ActivationFunctionType
PAD = {"SAME": tflite.Padding.SAME, "VALID": tflite.Padding.VALID}


@dataclass(frozen=True)
class Case:
    name: str
    shape: tuple[int, int, int, int]  # input NHWC
    groups: int
    out: int
    kernel: tuple[int, int] = (3, 3)
    stride: tuple[int, int] = (1, 1)
    dilation: tuple[int, int] = (1, 1)
    padding: str = "SAME"
    per_channel: bool = True
    act: str = "NONE"
    bias: bool = True


CASES = [
    Case("two_groups", (1, 6, 6, 8), 2, 6),
    Case("three_groups_valid", (1, 7, 5, 9), 3, 12, padding="VALID"),
    Case("four_groups_1x1", (1, 4, 4, 16), 4, 8, kernel=(1, 1)),
    Case("channel_per_group", (1, 5, 5, 6), 6, 12),  # depthwise-like, multiplier 2
    Case("stride2_dilation", (1, 9, 8, 4), 2, 6, stride=(2, 2), dilation=(1, 2)),
    Case("per_tensor_relu", (1, 6, 6, 6), 3, 3, per_channel=False, act="RELU"),
    Case("batch2_no_bias", (2, 4, 5, 10), 5, 5, kernel=(2, 3), bias=False),
    Case("odd_group_width", (1, 5, 6, 15), 3, 9, kernel=(3, 2), stride=(1, 2)),
]


def _model(c: Case) -> bytes:
    rng = np.random.default_rng(sum(map(ord, c.name)))
    n, h, w, cin = c.shape
    cg = cin // c.groups
    kh, kw = c.kernel
    wq = rng.integers(-127, 128, (c.out, kh, kw, cg), dtype=np.int8)
    w_scales = rng.uniform(0.002, 0.02, c.out if c.per_channel else 1).astype(np.float32)
    in_scale, out_scale = 0.05, float(rng.uniform(0.05, 0.3))
    mb = ModelBuilder("grouped conv")
    x = mb.input("x", c.shape, scale=in_scale, zero_point=int(rng.integers(-20, 20)))
    wt = mb.const("w", wq, scale=w_scales, quantized_dimension=0)
    inputs = [x, wt]
    if c.bias:
        b = rng.integers(-3000, 3000, c.out).astype(np.int32)
        inputs.append(mb.const("b", b, scale=np.float32(in_scale) * w_scales))

    def size(s, k, st, d):
        eff = (k - 1) * d + 1
        return -(-s // st) if c.padding == "SAME" else (s - eff) // st + 1

    oh = size(h, kh, c.stride[0], c.dilation[0])
    ow = size(w, kw, c.stride[1], c.dilation[1])
    y = mb.tensor("y", (n, oh, ow, c.out), scale=out_scale, zero_point=int(rng.integers(-10, 10)))
    mb.op(
        "CONV_2D",
        inputs,
        [y],
        "Conv2DOptions",
        Padding=PAD[c.padding],
        StrideH=c.stride[0],
        StrideW=c.stride[1],
        DilationHFactor=c.dilation[0],
        DilationWFactor=c.dilation[1],
        FusedActivationFunction=getattr(ACT, c.act),
    )
    mb.output(y)
    return mb.build()


@pytest.mark.parametrize("golden", GOLDENS)
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_grouped_bit_exact(case, golden):
    if golden == "litert" and not case.bias:
        # LiteRT's conv Prepare wants a bias when there are groups; TFLite-Micro does not.
        with pytest.raises(GoldenError, match=r"refused the model.*has_bias"):
            verify(_model(case), n_inputs=1, golden=golden)
        return
    r = verify(_model(case), n_inputs=3, seed=4, golden=golden)
    assert r["mismatches"] == 0
    assert r["layers"][0]["kernel"] == "CONV_GROUPED_S8"


def test_ungrouped_keeps_the_gemm_kernels():
    """One group is an ordinary convolution: the GEMM kernels run it, not the direct loop;
    a recipe can still force "grouped" (the same bytes out)."""
    from microai.recipe import Recipe

    model = _model(Case("one_group", (1, 6, 6, 4), 1, 5))
    assert convert(model, "m").layers[0].kernel == "CONV_IM2COL_S8"
    forced = Recipe.from_dict({"layers": {"0": {"algorithm": "grouped"}}})
    assert convert(model, "m", recipe=forced).layers[0].kernel == "CONV_GROUPED_S8"
    assert verify(model, n_inputs=2, recipe=forced)["mismatches"] == 0


@pytest.mark.parametrize(
    "shape, fshape, out, message",
    [
        ((1, 4, 4, 5), (2, 3, 3, 3), 2, "does not group 5 -> 2 channels"),
        ((1, 4, 4, 6), (3, 3, 3, 3), 3, "does not group 6 -> 3 channels"),
    ],
)
def test_channels_that_do_not_group_are_refused(shape, fshape, out, message):
    mb = ModelBuilder("bad groups")
    x = mb.input("x", shape, scale=0.1)
    w = mb.const("w", np.ones(fshape, np.int8), scale=0.1)
    y = mb.tensor("y", (*shape[:3], out), scale=0.1)
    mb.op("CONV_2D", [x, w], [y], "Conv2DOptions", Padding=PAD["SAME"], StrideH=1, StrideW=1)
    mb.output(y)
    with pytest.raises(ConvertError) as e:
        convert(mb.build(), "m")
    assert "CONV_2D (op 0" in str(e.value) and message in str(e.value)


@pytest.mark.parametrize("board", ["QEMU_STM32F405", "QEMU_STM32F205", "QEMU_M7"])
def test_grouped_on_boards(board):
    from microai.hil import hil

    case = CASES[4]  # two groups, stride 2, dilation
    r = hil(_model(case), board, n_inputs=2, seed=1, name=case.name, count=False)
    assert r["mismatches"] == 0 and r["reference_mismatches"] == 0


def test_pruning_keeps_groups():
    """Channel pruning leaves a grouped convolution's input and output channels alone,
    saying why; the model stays bit-exact."""
    from microai.prune import prune_channels

    mb = ModelBuilder("grouped chain")
    x = mb.input("x", (1, 5, 5, 3), scale=0.05)
    rng = np.random.default_rng(3)

    def conv(name, src, cin, cout, groups):
        w = rng.integers(-127, 128, (cout, 3, 3, cin // groups), dtype=np.int8)
        wt = mb.const(f"{name}_w", w, scale=np.full(cout, 0.01, np.float32))
        b = mb.const(f"{name}_b", np.zeros(cout, np.int32), scale=np.full(cout, 0.0005, np.float32))
        y = mb.tensor(name, (1, 5, 5, cout), scale=0.1, zero_point=-5)
        mb.op("CONV_2D", [src, wt, b], [y], "Conv2DOptions", Padding=PAD["SAME"], StrideH=1,
              StrideW=1)  # fmt: skip
        return y

    a = conv("a", x, 3, 8, 1)
    g = conv("g", a, 8, 8, 2)
    mb.output(conv("c", g, 8, 4, 1))
    r = prune_channels(mb.build(), "m", 0.5)
    reasons = {tuple(s.producers): s.reason for s in r.spaces}
    assert reasons[(0,)] == reasons[(1,)] == "grouped CONV_2D (op 1) keeps its groups"
    assert verify(r.model, n_inputs=2)["mismatches"] == 0
