"""The int8 engine end to end: real models and the project's fixtures, converted,
planned and run by the host engine, bit-exact with the default golden (TFLite-Micro) on
every intermediate tensor (test_goldens.py: both goldens); and the CLI's contract
(convert, inspect, verify)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from microai import EXIT_INPUT
from microai.convert import convert
from microai.engine import Model
from microai.golden import DEFAULT_GOLDEN, run_reference
from microai.ir import ConvertError
from microai.paths import ROOT
from microai.verify import verify

SHARED = ROOT.parent / "shared" / "models"
FIXTURES = ROOT / "tests" / "fixtures" / "models"
# TFLite-Micro's arena bytes for the same models (shared/DESIGN.md).
TFLM_ARENA = {
    "kws_ref_model": 24272,
    "pretrainedResnet_quant": 55984,
    "hello_world_int8": 1504,
    "micro_speech_quantized": 7584,
}

needs_shared = pytest.mark.skipif(not SHARED.is_dir(), reason="shared/models not beside the repo")


def microai(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "microai", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@needs_shared
@pytest.mark.parametrize("name", sorted(TFLM_ARENA))
def test_shared_model_bit_exact_and_smaller_than_tflm(name):
    data = (SHARED / f"{name}.tflite").read_bytes()
    result = verify(data, n_inputs=50, seed=1, name=name)
    assert result["mismatches"] == 0, result["first_mismatch"]
    assert result["first_mismatch"] is None
    assert result["arena_bytes"] <= TFLM_ARENA[name]
    assert result["blob_bytes"] <= len(data)


# The INT4 fixtures (make_int4_fixtures.py) run on the int4 kernels (*_S4). TFLite-Micro
# refuses per-channel int4 FULLY_CONNECTED, which digits_int4_aeq has: checked against
# LiteRT BUILTIN_REF instead.
INT4_LITERT = {"digits_int4_aeq"}


# The sparse fixtures (make_sparse_fixtures.py) hold DENSIFY ops or a block-sparse
# FULLY_CONNECTED: TFLite-Micro cannot load DENSIFY and ignores the block-sparse encoding,
# so they are checked against LiteRT BUILTIN_REF (test_sparse_fixtures.py has more).
SPARSE_GOLDEN = "litert"


def fixture_models() -> list[Path]:
    # Refused by design (test_cli_errors, test_larq_fixtures).
    refused = {"unsupported_op", "bnn_same_zero"}
    return sorted(p for p in FIXTURES.glob("*.tflite") if p.stem not in refused)


@pytest.mark.parametrize(
    "path",
    [pytest.param(p, id=p.stem) for p in fixture_models()],
)
def test_fixture_model_bit_exact(path):
    golden = DEFAULT_GOLDEN
    if "sparse" in path.stem:
        golden = SPARSE_GOLDEN
    elif path.stem in INT4_LITERT:
        golden = "litert"
    result = verify(path.read_bytes(), n_inputs=50, seed=2, name=path.name, golden=golden)
    assert result["mismatches"] == 0, result["first_mismatch"]


@pytest.mark.skipif(not (FIXTURES / "digits_test.npz").is_file(), reason="no digits fixture")
def test_digits_classifier_agrees_image_for_image():
    data = (FIXTURES / "digits_cnn.tflite").read_bytes()
    test = np.load(FIXTURES / "digits_test.npz")
    m = Model(convert(data).blob)
    ours = np.array([int(np.argmax(m.run(x))) for x in test["x"]])
    ref = np.array([int(np.argmax(run_reference(data, [x])[0])) for x in test["x"]])
    assert (ours == ref).all()
    assert (ours == test["y"]).mean() > 0.9


@needs_shared
def test_custom_ops_fail_to_convert_with_every_op_named(tmp_path):
    out = tmp_path / "audio.mai"
    r = microai("convert", str(SHARED / "audio_preprocessor_int8.tflite"), "-o", str(out))
    assert r.returncode == EXIT_INPUT
    assert "unsupported op(s)" in r.stderr
    assert "CUSTOM(SignalWindow) (op 0; inputs: serving_default_audio_frame:0" in r.stderr
    assert "CAST (op 5;" in r.stderr
    assert "supported ops: " in r.stderr and "CONV_2D" in r.stderr
    assert not out.exists() and not list(tmp_path.iterdir())


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "not a TFLite model"),
        (b"garbage that is long enough", "not a TFLite model"),
        (None, "malformed TFLite model"),
    ],
)
def test_malformed_tflite_is_refused(tmp_path, content, message):
    if content is None:  # a real model cut in half
        content = (ROOT / "tests" / "fixtures" / "models").glob("*.tflite")
        content = next(iter(sorted(content)), None)
        if content is None:
            pytest.skip("no fixture model")
        content = content.read_bytes()[:200]
    src = tmp_path / "bad.tflite"
    src.write_bytes(content)
    r = microai("convert", str(src), "-o", str(tmp_path / "bad.mai"))
    assert r.returncode == EXIT_INPUT and message in r.stderr, r.stderr
    assert not (tmp_path / "bad.mai").exists()
    with pytest.raises(ConvertError, match=message):
        convert(content, "bad.tflite")


@needs_shared
def test_cli_convert_inspect_verify(tmp_path):
    src = SHARED / "kws_ref_model.tflite"
    blob = tmp_path / "kws.mai"
    r = microai("convert", str(src), "-o", str(blob))
    assert r.returncode == 0, r.stderr
    r = microai("inspect", str(blob), "--json")
    assert r.returncode == 0, r.stderr
    info = json.loads(r.stdout)
    assert info["arena_bytes"] <= TFLM_ARENA["kws_ref_model"]
    assert info["flash_bytes"] == blob.stat().st_size
    assert info["macs"] == 2_656_768  # MLPerf Tiny's count for DS-CNN
    assert [L["op"] for L in info["layers"]][:2] == ["CONV", "DWCONV"]
    assert {L["kernel"] for L in info["layers"]} >= {"CONV_IM2COL_S8", "CONV_PW_S8"}

    x = np.random.default_rng(3).integers(-128, 128, (1, 49, 10, 1), dtype=np.int8)
    np.save(tmp_path / "x.npy", x)
    r = microai(
        "verify",
        str(src),
        "--inputs",
        "3",
        "--seed",
        "5",
        "--input",
        str(tmp_path / "x.npy"),
        "--json",
    )
    assert r.returncode == 0, r.stderr
    result = json.loads(r.stdout)
    assert result["mismatches"] == 0 and result["first_mismatch"] is None
    assert result["inputs"] == 4


def test_verify_reports_the_first_differing_layer(monkeypatch):
    """A deliberately wrong engine must be caught, and the layer named."""
    data = FIXTURES / "cov_conv.tflite"  # int8 tensors: the flip below is an XOR
    real_invoke_op = Model.invoke_op

    def broken(self, i):
        real_invoke_op(self, i)
        if i == 1:
            out = self.tensor(self._lib.mai_output(self._m, 0))  # any arena tensor
            out.flat[0] ^= 1

    monkeypatch.setattr(Model, "invoke_op", broken)
    result = verify(data.read_bytes(), n_inputs=2, seed=0, name=data.name)
    assert result["mismatches"] > 0
    assert result["first_mismatch"] is not None


def test_unsupported_fixture_names_sub():
    data = (FIXTURES / "unsupported_op.tflite").read_bytes()
    with pytest.raises(ConvertError, match=r"1 unsupported op\(s\):\n  SUB \(op \d+; inputs: "):
        convert(data, "unsupported_op.tflite")
