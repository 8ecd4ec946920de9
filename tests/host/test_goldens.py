"""Two goldens, one switch: TFLite-Micro (the default) and LiteRT's reference kernels.

Every fixture and every shared model that converts verifies with no mismatching element
(outputs and intermediates) under both goldens, its blob converted for the golden it is
compared with; a blob converted for the other golden shows FULLY_CONNECTED's rounding
as mismatches; a golden that refuses a model is one line that points to the other.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import tflite

from microai import EXIT_INPUT, BuildError
from microai.convert import convert
from microai.golden import GOLDENS, GoldenError, open_golden, run_reference
from microai.inspect import describe
from microai.ir import ConvertError
from microai.paths import ROOT
from microai.testing.tflite_builder import ModelBuilder
from microai.verify import verify

SHARED = ROOT.parent / "shared" / "models"
FIXTURES = ROOT / "tests" / "fixtures" / "models"
OTHER = {"tflm": "litert", "litert": "tflm"}


def models() -> list[Path]:
    shared = sorted(SHARED.glob("*.tflite")) if SHARED.is_dir() else []
    return shared + sorted(FIXTURES.glob("*.tflite"))


# The sparse fixtures (make_sparse_fixtures.py). TFLite-Micro cannot load DENSIFY
# (digits_sparse: its refusal is checked below) and ignores the block-sparse encoding of
# a FULLY_CONNECTED's weights, reading the packed values as dense ones (wrong outputs).
# TFLite-Micro also refuses per-channel int4 FULLY_CONNECTED (digits_int4_aeq, made by
# ai-edge-quantizer).
TFLM_REFUSES = {"digits_sparse", "digits_int4_aeq"}
TFLM_WRONG = {"fc_block_sparse": "TFLite-Micro ignores the block-sparse encoding of FC weights"}


def golden_cases() -> list:
    cases = []
    for path in models():
        for golden in GOLDENS:
            marks = []
            if golden == "tflm" and path.stem in TFLM_WRONG:
                marks = [pytest.mark.skip(reason=TFLM_WRONG[path.stem])]
            cases.append(pytest.param(path, golden, marks=marks, id=f"{path.stem}-{golden}"))
    return cases


def _converts(path: Path) -> bool:
    try:
        convert(path.read_bytes(), path.name)
    except ConvertError:
        return False
    return True


def assert_one_line_refusal(e: GoldenError, golden: str, name: str) -> None:
    msg = str(e)
    assert "\n" not in msg, msg
    assert msg.startswith(f"{name}: "), msg
    title = {"tflm": "TFLite-Micro's interpreter", "litert": "LiteRT's reference interpreter"}
    assert title[golden] in msg and " the model: " in msg, msg
    assert msg.endswith(f"; try --golden {OTHER[golden]}"), msg


# ---- every model, both goldens ----------------------------------------------------------


@pytest.mark.parametrize("path, golden", golden_cases())
def test_model_bit_exact_under_each_golden(path: Path, golden: str):
    if not _converts(path):
        pytest.skip(f"{path.name} does not convert (unsupported ops)")
    try:
        r = verify(path.read_bytes(), n_inputs=50, seed=3, name=path.name, golden=golden)
    except GoldenError as e:  # only a real refusal, said in one line
        assert_one_line_refusal(e, golden, path.name)
        pytest.skip(str(e))
    assert (r["golden"], r["blob_golden"]) == (golden, golden)
    assert r["mismatches"] == 0, r["first_mismatch"]
    assert all(L["mismatches"] == 0 for L in r["layers"])


def test_both_goldens_take_every_model_that_converts():
    """No skip above hides a model: both goldens take every model microai converts."""
    for path in filter(_converts, models()):
        for golden in GOLDENS:
            if golden == "tflm" and path.stem in TFLM_REFUSES:
                continue  # DENSIFY, int4 per-channel FC: the refusal is one line (above)
            open_golden(path.read_bytes(), golden, preserve_all_tensors=True, name=path.name)


# ---- the switch matters: FULLY_CONNECTED's rounding ---------------------------------------


def tie_fc() -> bytes:
    """y = round(0.3 x), an FC of one weight on 256 rows: x * 0.6 / 2, where rounding
    twice (0.6 -> 1, then 1/2 -> 1) and once (0.3 -> 0) often disagree."""
    mb = ModelBuilder()
    x = mb.input("x", (256, 1), scale=0.5)
    w = mb.const("w", np.ones((1, 1), np.int8), scale=0.6)
    y = mb.tensor("y", (256, 1), scale=1.0)
    mb.op("FULLY_CONNECTED", [x, w, -1], [y], "FullyConnectedOptions")
    mb.output(y)
    return mb.build()


ALL_INT8 = np.arange(-128, 128, dtype=np.int8).reshape(256, 1)


def test_goldens_disagree_on_fully_connected():
    tflm, litert = (run_reference(tie_fc(), [ALL_INT8], g)[0].ravel() for g in GOLDENS)
    diff = tflm.astype(int) - litert.astype(int)
    assert np.count_nonzero(diff) >= 50 and set(np.unique(diff)) == {-1, 0, 1}
    assert (tflm[129], litert[129]) == (1, 0)  # x = 1


@pytest.mark.parametrize("golden", GOLDENS)
def test_blob_for_the_other_golden_mismatches(golden: str):
    """Each golden is met by the blob converted for it, and only by that one."""
    model = tie_fc()
    own = verify(model, 0, given=[ALL_INT8], name="tie_fc", golden=golden)
    assert own["mismatches"] == 0
    other = verify(
        model, 0, given=[ALL_INT8], name="tie_fc", golden=golden, blob_golden=OTHER[golden]
    )
    assert other["blob_golden"] == OTHER[golden]
    assert other["output_mismatches"] >= 50 and other["layers"][0]["max_abs_diff"] == 1
    assert other["first_mismatch"]["op"] == "FULLY_CONNECTED"


@pytest.mark.skipif(not (SHARED / "hello_world_int8.tflite").is_file(), reason="no shared models")
def test_hello_world_blob_for_litert_against_tflm():
    """A real model: its three FULLY_CONNECTED layers, every int8 input."""
    data = (SHARED / "hello_world_int8.tflite").read_bytes()
    xs = [np.array([[v]], np.int8) for v in range(-128, 128)]
    r = verify(data, 0, given=xs, name="hello_world", golden="tflm", blob_golden="litert")
    assert r["output_mismatches"] > 0 and r["first_mismatch"]["op"] == "FULLY_CONNECTED"
    assert verify(data, 0, given=xs, name="hello_world", golden="tflm")["mismatches"] == 0


@pytest.mark.parametrize("golden", GOLDENS)
def test_hil_runs_the_blob_for_its_golden(golden: str):
    """On a board (the unix port), the blob converted for each golden is bit-exact with
    the host engine, and the host engine with that golden, on every rounding tie."""
    from microai.hil import hil

    r = hil(tie_fc(), "unix", n_inputs=0, given=[ALL_INT8], name="tie_fc", golden=golden)
    assert r["golden"] == golden
    assert r["mismatches"] == 0 and r["reference_mismatches"] == 0, r["first_mismatch"]


def test_blob_records_the_golden_rounding():
    for golden, want in (("tflm", "double"), ("litert", "single")):
        layers = describe(convert(tie_fc(), "tie_fc", golden).blob)["layers"]
        assert [L["rounding"] for L in layers] == [want]


# ---- a golden that refuses: one line, pointing to the other ----------------------------------


def bias_on_axis_3() -> bytes:
    """A DEPTHWISE_CONV_2D whose rank-1 bias carries the weights' quantized_dimension 3:
    TFLite-Micro takes it, LiteRT refuses it (the axis is beyond the bias's rank)."""
    mb = ModelBuilder()
    x = mb.input("x", (1, 6, 6, 4), scale=0.05, zero_point=-3)
    ws = np.array([0.01, 0.02, 0.015, 0.03], np.float32)
    wd = np.random.default_rng(0).integers(-127, 128, (1, 3, 3, 4), dtype=np.int8)
    w = mb.const("w", wd, scale=ws, quantized_dimension=3)
    b = mb.const("b", np.arange(4, dtype=np.int32) * 10, scale=0.05 * ws, quantized_dimension=3)
    y = mb.tensor("y", (1, 6, 6, 4), scale=0.1, zero_point=2)
    mb.op(
        "DEPTHWISE_CONV_2D",
        [x, w, b],
        [y],
        "DepthwiseConv2DOptions",
        Padding=tflite.Padding.SAME,
        StrideW=1,
        StrideH=1,
        DepthMultiplier=1,
    )
    mb.output(y)
    return mb.build()


def pad_int64() -> bytes:
    """A PAD with int64 paddings: LiteRT takes it, TFLite-Micro refuses it."""
    mb = ModelBuilder()
    x = mb.input("x", (1, 3, 3, 2), scale=0.05, zero_point=-7)
    p = mb.const("p", np.array([[0, 0], [1, 0], [0, 2], [0, 0]], np.int64))
    y = mb.tensor("y", (1, 4, 5, 2), scale=0.05, zero_point=-7)
    mb.op("PAD", [x, p], [y])
    mb.output(y)
    return mb.build()


REFUSALS = [
    (bias_on_axis_3, "litert", "quantized_dimension must be in range [0, 1)"),
    (pad_int64, "tflm", "pad"),
]


@pytest.mark.parametrize(
    "make, refuser, words", REFUSALS, ids=["litert_refuses_bias_axis", "tflm_refuses_int64_pad"]
)
def test_one_golden_refuses_the_other_verifies(make, refuser: str, words: str):
    model = make()
    with pytest.raises(GoldenError) as e:
        verify(model, 3, name="m.tflite", golden=refuser)
    assert_one_line_refusal(e.value, refuser, "m.tflite")
    assert words in str(e.value)
    assert verify(model, 20, name="m.tflite", golden=OTHER[refuser])["mismatches"] == 0


@pytest.fixture
def microai(run_cli, monkeypatch, tmp_path):
    """microai(*args) -> (exit code, stdout, stderr), in this process, in tmp_path."""
    monkeypatch.chdir(tmp_path)
    return run_cli


def test_cli_refusal_is_one_line(microai, tmp_path):
    (tmp_path / "m.tflite").write_bytes(bias_on_axis_3())
    code, _, err = microai("verify", "m.tflite", "--inputs", "2", "--golden", "litert")
    assert code == EXIT_INPUT and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err
    assert err.startswith("microai: m.tflite: LiteRT's reference interpreter refused the model")
    assert err.strip().endswith("try --golden tflm")
    code, out, err = microai("verify", "m.tflite", "--inputs", "2")  # default: TFLite-Micro
    assert code == 0, err
    assert "golden TFLite-Micro" in out and "bit-exact" in out


def test_cli_golden_switch(microai, tmp_path):
    """convert --golden records the rounding; verify names its golden and compares with
    it; a blob built for one golden is not what the other's verify checks."""
    (tmp_path / "fc.tflite").write_bytes(tie_fc())
    np.save(tmp_path / "x.npy", ALL_INT8)
    for golden, rounding in (("tflm", "double"), ("litert", "single")):
        code, _, err = microai("convert", "fc.tflite", "-o", f"{golden}.mai", "--golden", golden)
        assert code == 0, err
        code, out, err = microai("inspect", f"{golden}.mai", "--json")
        assert [L["rounding"] for L in json.loads(out)["layers"]] == [rounding]
        code, out, err = microai(
            "verify", "fc.tflite", "--inputs", "0", "--input", "x.npy", "--golden", golden, "--json"
        )
        assert code == 0, err
        assert json.loads(out)["golden"] == golden
    assert (tmp_path / "tflm.mai").read_bytes() != (tmp_path / "litert.mai").read_bytes()
    code, _, _ = microai("convert", "fc.tflite", "-o", "default.mai")
    assert (tmp_path / "default.mai").read_bytes() == (tmp_path / "tflm.mai").read_bytes()
    code, out, _ = microai("verify", "fc.tflite", "--inputs", "1", "--golden", "litert")
    assert code == 0 and "golden LiteRT BUILTIN_REF" in out


@pytest.mark.parametrize("golden", GOLDENS)
def test_a_golden_that_cannot_be_imported_says_which(golden: str, monkeypatch):
    import importlib

    real = importlib.import_module

    def missing(name, *a, **k):
        if name.startswith(("ai_edge_litert", "tflite_micro")):
            raise ImportError(f"No module named '{name}'")
        return real(name, *a, **k)

    monkeypatch.setattr(importlib, "import_module", missing)
    with pytest.raises(BuildError, match=r"\((ai-edge-litert|tflite-micro)\) cannot be imported"):
        open_golden(tie_fc(), golden)
