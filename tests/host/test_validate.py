"""`microai validate`: a model on the user's own data (.npz, .npy + labels, a folder of
them; int8 or float inputs), on the host engine or a board: accuracy, top-k, confusion
matrix, errors against a float reference model; bad data is one clear line."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import tflite

from microai.paths import ROOT
from microai.testing.tflite_builder import ModelBuilder

FIXTURES = ROOT / "tests" / "fixtures" / "models"
DIGITS = FIXTURES / "digits_cnn.tflite"
TEST = np.load(FIXTURES / "digits_test.npz")


def _run(*args, check_rc: int | None = 0):
    r = subprocess.run(
        [sys.executable, "-m", "microai", "validate", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if check_rc is not None:
        assert r.returncode == check_rc, r.stderr
    return r


def _json(*args) -> dict:
    return json.loads(_run(*args, "--json").stdout)


def test_digits_on_the_host(tmp_path):
    r = _json(DIGITS, "--data", FIXTURES / "digits_test.npz", "--top-k", "3")
    assert r["samples"] == 360 and r["top1"] > 0.95 and r["topk"] >= r["top1"] and r["k"] == 3
    conf = np.array(r["confusion"])
    assert conf.shape == (10, 10) and conf.sum() == 360
    assert np.trace(conf) == round(r["top1"] * 360)
    # The same data as .npy + labels, and as a folder of two .npz files: same figures.
    np.save(tmp_path / "x.npy", TEST["x"])
    np.save(tmp_path / "y.npy", TEST["y"])
    r2 = _json(DIGITS, "--data", tmp_path / "x.npy", "--labels", tmp_path / "y.npy", "--top-k", "3")
    folder = tmp_path / "parts"
    folder.mkdir()
    np.savez(folder / "a.npz", x=TEST["x"][:100], y=TEST["y"][:100])
    np.savez(folder / "b.npz", x=TEST["x"][100:], y=TEST["y"][100:])
    r3 = _json(DIGITS, "--data", folder, "--top-k", "3")
    for other in (r2, r3):
        assert (other["top1"], other["topk"], other["confusion"]) == (
            r["top1"],
            r["topk"],
            r["confusion"],
        )


def test_float_inputs_are_quantized_and_said(tmp_path):
    # The digits model's input: scale 1/255, zero point -128 (real 0..1).
    real = (TEST["x"][:50].astype(np.float64) + 128) / 255.0
    np.savez(tmp_path / "f.npz", x=real.astype(np.float32), y=TEST["y"][:50])
    np.savez(tmp_path / "q.npz", x=TEST["x"][:50], y=TEST["y"][:50])
    rf = _json(DIGITS, "--data", tmp_path / "f.npz")
    rq = _json(DIGITS, "--data", tmp_path / "q.npz")
    assert rf["confusion"] == rq["confusion"]
    assert any("float inputs quantized" in n for n in rf["notes"]) and not rq["notes"]


def _fc_models(tmp_path):
    """A float FC and its int8 twin (same real weights): validate's reference errors."""
    rng = np.random.default_rng(0)
    w = rng.uniform(-1, 1, (3, 4)).astype(np.float32)
    fm = ModelBuilder()
    x = fm.input("x", (1, 4), dtype=np.float32)
    wt = fm.const("w", w)
    y = fm.tensor("y", (1, 3), dtype=np.float32)
    fm.op("FULLY_CONNECTED", [x, wt, -1], [y], "FullyConnectedOptions")
    fm.output(y)
    qm = ModelBuilder()
    sx, sw, sy = 2.0 / 255, float(np.abs(w).max() / 127), 4.0 / 255
    x = qm.input("x", (1, 4), scale=sx, zero_point=0)
    wt = qm.const("w", np.rint(w / sw).astype(np.int8), scale=sw)
    y = qm.tensor("y", (1, 3), scale=sy, zero_point=0)
    qm.op("FULLY_CONNECTED", [x, wt, -1], [y], "FullyConnectedOptions")
    qm.output(y)
    (tmp_path / "f.tflite").write_bytes(fm.build())
    (tmp_path / "q.tflite").write_bytes(qm.build())
    xs = rng.uniform(-1, 1, (40, 1, 4)).astype(np.float32)
    np.save(tmp_path / "x.npy", xs.reshape(40, 4))
    return tmp_path / "f.tflite", tmp_path / "q.tflite", tmp_path / "x.npy"


def test_against_a_float_reference(tmp_path):
    f, q, x = _fc_models(tmp_path)
    r = _json(q, "--data", x, "--reference", f)
    e = r["reference"]
    assert r["top1"] is None and r["samples"] == 40
    assert e["cosine"] > 0.99 and e["l2_relative"] < 0.05 and 0 < e["mae"] <= e["rmse"] < 0.05
    assert tflite  # the schema package builds both models


@pytest.mark.parametrize(
    "make, message",
    [
        (
            lambda d: np.savez(d / "bad.npz", x=np.zeros((2, 4, 4, 1), np.int8)),
            "shape [2, 4, 4, 1]",
        ),
        (lambda d: np.savez(d / "bad.npz", x=TEST["x"][:3], y=np.array([0, 1, 99])), "label 99"),
        (lambda d: np.savez(d / "bad.npz", z=TEST["x"][:3]), "no array 'x'"),
        (lambda d: (d / "bad.npz").write_bytes(b"not an npz"), "not a readable array file"),
    ],
    ids=["shape", "label", "no_x", "garbage"],
)
def test_bad_data_is_one_line(tmp_path, make, message):
    make(tmp_path)
    r = _run(DIGITS, "--data", tmp_path / "bad.npz", check_rc=None)
    assert r.returncode == 3, (r.returncode, r.stderr)  # EXIT_INPUT
    assert message in r.stderr and r.stderr.count("\n") == 1 and "Traceback" not in r.stderr


def test_min_accuracy_exit_code():
    assert (
        _run(DIGITS, "--data", FIXTURES / "digits_test.npz", "--min-accuracy", "0.5").returncode
        == 0
    )
    r = _run(
        DIGITS, "--data", FIXTURES / "digits_test.npz", "--min-accuracy", "0.999", check_rc=None
    )
    assert r.returncode == 1


def test_on_the_board_agrees_with_the_host(firmware, tmp_path):
    firmware("QEMU_STM32F405")
    np.savez(tmp_path / "d.npz", x=TEST["x"][:12], y=TEST["y"][:12])
    host = _json(DIGITS, "--data", tmp_path / "d.npz")
    board = _json(DIGITS, "--data", tmp_path / "d.npz", "--board", "QEMU_STM32F405")
    assert board["target"] == "QEMU_STM32F405" and host["target"] == "host engine"
    assert board["confusion"] == host["confusion"]


def test_a_fixed_batch_model_is_refused_in_one_line(tmp_path):
    """validate runs one sample at a time; a model whose input has a fixed batch of 2 is
    refused saying so (not with an element count the user has to decode)."""
    from test_kernels_conv import Conv, _conv_model

    model, _ = _conv_model(Conv("batch2", (2, 6, 5, 3), 8))
    (tmp_path / "b2.tflite").write_bytes(model)
    np.savez(tmp_path / "d.npz", x=np.zeros((3, 6, 5, 3), np.int8))
    r = _run(tmp_path / "b2.tflite", "--data", tmp_path / "d.npz", check_rc=None)
    assert r.returncode == 3, (r.returncode, r.stderr)  # EXIT_INPUT
    assert "fixed batch of 2" in r.stderr and r.stderr.count("\n") == 1
