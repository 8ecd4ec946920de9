"""The Larq fixtures (tests/fixtures/make_larq_fixtures.py: BNNs trained with Larq on
digits, converted by Larq Compute Engine): microai's numpy reference of the Lce ops
(lce.py) against LCE's own interpreter's numbers stored beside them, op by op; the
converted blob bit-exact with the reference on every tensor; and the refusals."""

from __future__ import annotations

import numpy as np
import pytest

from microai import lce
from microai.convert import convert
from microai.engine import Model
from microai.golden import open_golden
from microai.ir import ConvertError
from microai.paths import ROOT
from microai.tflite import read_model
from microai.verify import verify

FIXTURES = ROOT / "tests" / "fixtures" / "models"
MODELS = ["digits_bnn", "cov_bnn"]


def _load(name: str):
    model = (FIXTURES / f"{name}.tflite").read_bytes()
    stored = np.load(FIXTURES / f"{name}_lce.npz")
    return model, stored


@pytest.mark.parametrize("name", MODELS)
def test_reference_equals_lce_op_by_op(name: str):
    """Each Lce op, given LCE's own inputs, gives LCE's own output bit for bit."""
    model, stored = _load(name)
    g = read_model(model, name)
    n = len(stored["inputs"])
    checked = set()
    for op in g.ops:
        if not op.opcode.startswith("CUSTOM(Lce"):
            continue
        kind = op.opcode[len("CUSTOM(") : -1]
        y, x = g.t(op.outputs[0]), g.t(op.inputs[0])
        out_q = (y.scale1, y.zp) if y.scale is not None else None
        for s in range(n):
            ins = [
                None if t < 0 else g.t(t).data if g.t(t).is_const else stored[f"t{t}"][s]
                for t in op.inputs
            ]
            got = lce.run_op(kind, op.options, ins, x.zp, y.dtype, y.shape, out_q)
            want = stored[f"t{op.outputs[0]}"][s]
            assert got.dtype == want.dtype and np.array_equal(got, want), (op.index, kind, s)
        checked.add(kind)
    assert {"LceQuantize", "LceBconv2d", "LceBMaxPool2d"} <= checked


@pytest.mark.parametrize("name", MODELS)
def test_bnn_is_bit_exact_on_the_host(name: str):
    model, stored = _load(name)
    r = verify(model, n_inputs=3, given=list(stored["inputs"]), name=name)
    bad = [(L["index"], L["op"], L["mismatches"]) for L in r["layers"] if L["mismatches"]]
    assert r["mismatches"] == 0, bad
    kernels = {L["kernel"] for L in r["layers"]}
    assert {"BCONV_B1", "BMAXPOOL_B1"} <= kernels


def test_digits_bnn_classifies_like_lce():
    """The blob's answers are LCE's on the stored digits (its builtin int8 kernels are
    TFLite's optimized ones, so only the Lce ops are bit for bit, op_by_op above)."""
    model, stored = _load("digits_bnn")
    conv = convert(model, "digits_bnn")
    g = conv.graph
    n = len(stored["inputs"])
    want = stored[f"t{g.outputs[0]}"].reshape(n, -1)
    with Model(conv.blob) as m:
        got = np.stack([m.run(x.reshape(m.input_shape)) for x in stored["inputs"]])
    got = got.reshape(n, -1)
    assert np.mean(got.argmax(-1) == want.argmax(-1)) >= 0.95
    assert np.mean(got.argmax(-1) == stored["labels"]) >= 0.8


def test_lce_golden_matches_lce_on_lce_ops():
    """The golden (builtin ops by TFLite-Micro, Lce ops by lce.py) on the stored inputs:
    where its Lce ops get LCE's inputs it gives LCE's outputs (checked op by op above);
    end to end its output is LCE's within the builtin kernels' +/-1."""
    model, stored = _load("digits_bnn")
    ref = open_golden(model)
    g = read_model(model)
    for s, x in enumerate(stored["inputs"][:8]):
        (out,) = ref.run([x])
        want = stored[f"t{g.outputs[0]}"][s]
        assert np.abs(out.astype(int) - want.astype(int)).max() <= 2


def test_same_zero_padding_fixture_is_refused():
    model = (FIXTURES / "bnn_same_zero.tflite").read_bytes()
    with pytest.raises(ConvertError) as e:
        convert(model, "bnn_same_zero.tflite")
    msg = str(e.value)
    assert "CUSTOM(LceBconv2d)" in msg and "pad_values=0" in msg and "(op " in msg
