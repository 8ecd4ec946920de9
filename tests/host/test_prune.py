"""`microai compress --prune-channels R`: whole channels go, through depthwise chains,
residual ADDs, channel concatenation and flattening; the output is a smaller standard
.tflite that both goldens run and microai runs bit-exact; what cannot be pruned is said
with the reason; calibration data gives bias compensation."""

from __future__ import annotations

import numpy as np
import pytest
import tflite

from microai.compress import CompressError, compress
from microai.convert import convert
from microai.engine import Model
from microai.golden import run_reference
from microai.paths import ROOT
from microai.prune import prune_channels
from microai.testing.tflite_builder import ModelBuilder
from microai.tflite import read_model

FIXTURES = ROOT / "tests" / "fixtures" / "models"
SHARED = ROOT.parent / "shared" / "models"
DIGITS = (FIXTURES / "digits_cnn.tflite").read_bytes()
TEST = np.load(FIXTURES / "digits_test.npz")
CALIB = (TEST["x"][:180], TEST["y"][:180])
HELD = (TEST["x"][180:], TEST["y"][180:])


def _runs_bit_exact(model: bytes, n: int = 3) -> None:
    """Both goldens run it; microai's blob equals TFLite-Micro on random inputs."""
    c = convert(model, "pruned")
    shape = c.graph.t(c.graph.inputs[0]).shape
    rng = np.random.default_rng(5)
    with Model(c.blob) as m:
        for _ in range(n):
            x = rng.integers(-128, 128, shape, dtype=np.int8)
            want = run_reference(model, [x], "tflm")[0]
            run_reference(model, [x], "litert")
            np.testing.assert_array_equal(m.run(x).reshape(want.shape), want)


def _out_channels(model: bytes) -> dict[int, int]:
    g = read_model(model)
    return {op.index: g.t(op.outputs[0]).shape[-1] for op in g.ops}


@pytest.mark.skipif(not SHARED.is_dir(), reason="shared/models not beside the repo")
def test_kws_half_the_channels():
    data = (SHARED / "kws_ref_model.tflite").read_bytes()
    r = prune_channels(data, "kws", 0.5)
    ch = _out_channels(r.model)
    assert [ch[i] for i in range(10)] == [32] * 10  # conv, dw x4, pw x4, pool
    assert ch[11] == 12  # the logits stay
    before = sum(o["weights_before"] for o in r.ops)
    after = sum(o["weights_after"] for o in r.ops)
    assert after <= 0.55 * before
    assert [s.reason for s in r.spaces if s.reason] == ["SOFTMAX (op 12) reads it"]
    _runs_bit_exact(r.model)


@pytest.mark.skipif(not SHARED.is_dir(), reason="shared/models not beside the repo")
def test_resnet_residual_branches_keep_the_same_channels():
    data = (SHARED / "pretrainedResnet_quant.tflite").read_bytes()
    r = prune_channels(data, "resnet", 0.5)
    tied = sorted(sorted(s.producers) for s in r.spaces if len(s.producers) > 1)
    assert tied == [[0, 2], [5, 6], [9, 10]]  # each ADD's two branches
    g = read_model(r.model)
    for op in g.ops:
        if op.opcode == "ADD":
            a, b = (g.t(t).shape for t in op.inputs)
            assert a == b and a[-1] in (8, 16, 32)
    _runs_bit_exact(r.model, 2)


def test_digits_compensation_and_layers():
    plain = prune_channels(DIGITS, "d", 0.5, eval_data=HELD)
    refit = prune_channels(DIGITS, "d", 0.5, data=CALIB, eval_data=HELD)
    comp = prune_channels(DIGITS, "d", 0.5, data=CALIB, eval_data=HELD, compensation="bias")
    none = prune_channels(DIGITS, "d", 0.5, data=CALIB, eval_data=HELD, compensation="none")
    assert (refit.compensation, comp.compensation, plain.compensation) == ("refit", "bias", "none")
    # On held-out inputs, each compensation does better than the one below it.
    assert refit.accuracy["pruned"] > comp.accuracy["pruned"] > none.accuracy["pruned"]
    assert refit.output_sqnr > comp.output_sqnr > none.output_sqnr
    assert refit.accuracy["pruned"] >= refit.accuracy["int8"] - 0.06
    assert plain.accuracy["int8"] == comp.accuracy["int8"] > 0.9
    for r in (plain, refit, comp, none):
        _runs_bit_exact(r.model)
    with pytest.raises(CompressError, match="--compensation refit needs --data"):
        prune_channels(DIGITS, "d", 0.5, compensation="refit")
    with pytest.raises(CompressError, match="--compensation more: one of refit, bias, none"):
        prune_channels(DIGITS, "d", 0.5, data=CALIB, compensation="more")
    only = prune_channels(DIGITS, "d", 0.5, layers=["2"])
    ch = _out_channels(only.model)
    assert (ch[0], ch[1], ch[2]) == (16, 16, 16)
    assert {tuple(s.producers): s.reason for s in only.spaces}[(0,)] == "not in --layers"


def _concat_flatten_model() -> bytes:
    """x -> conv A (8) and conv B (8) -> concat (16) -> dw (16) -> maxpool 2x2 -> flatten
    (4 x 16) -> FC (3) -> output; conv C with depth multiplier 2 beside it is fixed."""
    rng = np.random.default_rng(0)
    mb = ModelBuilder()
    x = mb.input("x", (1, 4, 4, 3), scale=0.05, zero_point=-1)

    def conv(name, src, cin, cout):
        return mb.conv1x1(
            name, src, cout, (1, 4, 4, cout), rng, zero_point=3, padding=tflite.Padding.SAME
        )

    a, b = conv("a", x, 3, 8), conv("b", x, 3, 8)
    cat = mb.tensor("cat", (1, 4, 4, 16), scale=0.1, zero_point=3)
    mb.op("CONCATENATION", [a, b], [cat], "ConcatenationOptions", Axis=3)
    dw_w = mb.const(
        "dw_w",
        rng.integers(-127, 128, (1, 3, 3, 16), dtype=np.int8),
        scale=np.full(16, 0.01, np.float32),
        quantized_dimension=3,
    )
    dw_b = mb.const(
        "dw_b", rng.integers(-500, 500, 16).astype(np.int32), scale=np.full(16, 0.001, np.float32)
    )
    dw = mb.tensor("dw", (1, 4, 4, 16), scale=0.1, zero_point=3)
    mb.op(
        "DEPTHWISE_CONV_2D",
        [cat, dw_w, dw_b],
        [dw],
        "DepthwiseConv2DOptions",
        Padding=tflite.Padding.SAME,
        StrideW=1,
        StrideH=1,
        DepthMultiplier=1,
    )
    pool = mb.tensor("pool", (1, 2, 2, 16), scale=0.1, zero_point=3)
    mb.op(
        "MAX_POOL_2D",
        [dw],
        [pool],
        "Pool2DOptions",
        Padding=tflite.Padding.VALID,
        StrideW=2,
        StrideH=2,
        FilterWidth=2,
        FilterHeight=2,
    )
    shape = mb.const("shape", np.array([1, 64], np.int32))
    flat = mb.tensor("flat", (1, 64), scale=0.1, zero_point=3)
    mb.op("RESHAPE", [pool, shape], [flat], "ReshapeOptions", NewShape=[1, 64])
    fw = mb.const("fc_w", rng.integers(-127, 128, (3, 64), dtype=np.int8), scale=0.01)
    fb = mb.const("fc_b", rng.integers(-500, 500, 3).astype(np.int32), scale=0.001)
    y = mb.tensor("y", (1, 3), scale=0.2, zero_point=0)
    mb.op("FULLY_CONNECTED", [flat, fw, fb], [y], "FullyConnectedOptions")
    mb.output(y)
    return mb.build()


def test_concat_and_flatten():
    model = _concat_flatten_model()
    r = prune_channels(model, "m", 0.5)
    ch = _out_channels(r.model)
    assert (ch[0], ch[1], ch[2], ch[3], ch[4]) == (4, 4, 8, 8, 8)
    g = read_model(r.model)
    assert g.t(g.ops[5].outputs[0]).shape == (1, 32)
    assert g.t(g.ops[6].inputs[1]).shape == (3, 32)
    _runs_bit_exact(r.model)


def test_refusals():
    with pytest.raises(CompressError, match=r"--prune-channels 1.5: a fraction"):
        prune_channels(DIGITS, "d", 1.5)
    int4 = compress(DIGITS, "d").model
    with pytest.raises(CompressError, match=r"channel pruning takes int8 weights"):
        prune_channels(int4, "d4", 0.5)
    with pytest.raises(CompressError, match=r"--layers: no layer 'x'"):
        prune_channels(DIGITS, "d", 0.5, layers=["x"])


def _two_fc_model() -> bytes:
    """x [1, 4] -> FC (8 units) -> FC (3): units 0-3 have one large weight each (L2 100,
    L1 100), units 4-7 four middling ones (L2 80, L1 160), so the norms disagree."""
    mb = ModelBuilder()
    x = mb.input("x", (1, 4), scale=0.05, zero_point=0)
    w1 = np.zeros((8, 4), np.int8)
    w1[np.arange(4), np.arange(4)] = 100
    w1[4:] = 40
    h = mb.tensor("h", (1, 8), scale=0.1, zero_point=-128)
    b1 = mb.const("b1", np.zeros(8, np.int32), scale=0.0005)
    mb.op(
        "FULLY_CONNECTED",
        [x, mb.const("w1", w1, scale=0.01), b1],
        [h],
        "FullyConnectedOptions",
        FusedActivationFunction=tflite.ActivationFunctionType.RELU,
    )
    w2 = mb.const("w2", np.tile(np.int8([50, -50]), (3, 4)), scale=0.01)
    b2 = mb.const("b2", np.zeros(3, np.int32), scale=0.001)
    y = mb.tensor("y", (1, 3), scale=0.2, zero_point=0)
    mb.op("FULLY_CONNECTED", [h, w2, b2], [y], "FullyConnectedOptions")
    mb.output(y)
    return mb.build()


@pytest.mark.parametrize(("criterion", "kept"), [("l2", 100), ("l1", 40), (None, 100)])
def test_criterion_l1_l2(criterion, kept):
    """The criterion ranks the channels: L2 keeps the units with one large weight, L1 the
    ones with four middling weights; without data the default is L2."""
    r = prune_channels(_two_fc_model(), "m", 0.5, criterion=criterion)
    assert r.criterion == (criterion or "l2")
    g = read_model(r.model)
    w = g.t(g.ops[0].inputs[1]).data
    assert w.shape == (4, 4)
    assert int(np.abs(w).max()) == kept
    _runs_bit_exact(r.model)


def test_criterion_output():
    """With data the default ranks by the energy a channel adds to the next layer's
    outputs: on inputs of four equal channels the units with four middling weights are
    the stronger (8.0 against 5.0, read by equal weights), so they stay, unlike by L2;
    "output" without data, or an unknown criterion, is refused."""
    model = _two_fc_model()
    x = np.full((6, 1, 4), 100, np.int8)
    r = prune_channels(model, "m", 0.5, data=(x, None))
    assert r.criterion == "output"
    g = read_model(r.model)
    assert int(np.abs(g.t(g.ops[0].inputs[1]).data).max()) == 40
    _runs_bit_exact(r.model)
    with pytest.raises(CompressError, match=r"--criterion output needs --data"):
        prune_channels(model, "m", 0.5, criterion="output")
    with pytest.raises(CompressError, match=r"--criterion l3: one of l2, l1, output"):
        prune_channels(model, "m", 0.5, criterion="l3")
