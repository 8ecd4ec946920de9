"""The per-kernel instruction table (cost.py, calibrate.py): the committed tables predict
the shared models' instructions on the emulated F405 within 5 %, with a recipe too;
`microai calibrate` measures and fits a table end to end; a table measured on other C
sources is said to be so; bad kernels and boards are one-line errors."""

from __future__ import annotations

import json

import pytest

from microai import cost
from microai.boards import Target, load_board
from microai.convert import convert
from microai.hil import hil
from microai.inspect import describe
from microai.paths import ROOT
from microai.recipe import Recipe

SHARED = ROOT.parent / "shared" / "models"
FIXTURES = ROOT / "tests" / "fixtures" / "models"
BOARD = "QEMU_STM32F405"


def _check(path, recipe: dict | None = None):
    data = path.read_bytes()
    r = Recipe.from_dict(recipe) if recipe else None
    conv = convert(data, path.stem, recipe=r, target=Target.of(load_board(BOARD)))
    total, per = cost.predict_instructions(conv, BOARD)
    assert total is not None, {L.kernel for L in conv.layers}
    assert set(per) == {L.source for L in conv.layers}
    measured = hil(data, BOARD, n_inputs=1, name=path.stem, recipe=r)["instructions"]
    assert abs(total / measured - 1) < 0.05, (path.stem, total, measured)


@pytest.mark.skipif(not SHARED.is_dir(), reason="shared/models not beside the repo")
@pytest.mark.parametrize(
    "model",
    ["kws_ref_model", "pretrainedResnet_quant", "micro_speech_quantized", "hello_world_int8"],
)
def test_predicted_within_5_percent_on_board(model):
    _check(SHARED / f"{model}.tflite")


@pytest.mark.parametrize("field", [{"weights": "int4"}, {"algorithm": "winograd"}])
def test_predicted_with_a_recipe_on_board(field):
    """digits_cnn with int4 weights in every weighted layer, or Winograd in its 3x3
    stride-1 convolutions."""
    data = (FIXTURES / "digits_cnn.tflite").read_bytes()
    conv = convert(data, "digits_cnn")
    layers = describe(conv.blob)["layers"]
    if "weights" in field:
        picked = [L for L in conv.layers if L.type in ("CONV", "DWCONV", "FC")]
    else:
        picked = [
            L
            for L in conv.layers
            if L.type == "CONV"
            and layers[L.index]["weights_shape"][1:3] == [3, 3]
            and layers[L.index]["params"]["stride_h"] == 1
        ]
    assert picked
    _check(FIXTURES / "digits_cnn.tflite", {"layers": {str(L.source): field for L in picked}})


def test_table_is_current_and_whole():
    for board in ("QEMU_STM32F405", "QEMU_STM32F205", "QEMU_M7"):
        t = cost.load_table(board)
        assert t is not None and not t["stale"], board
        for name, row in t["kernels"].items():
            assert len(row["features"]) < row["layers"], name
            assert set(row["features"]) <= set(cost.FEATURES), name
    assert cost.load_table("unix") is None


def test_calibrate_one_kernel_on_board(run_cli, tmp_path):
    out = tmp_path / "t.json"
    code, stdout, err = run_cli(
        "calibrate", "--board", BOARD, "--kernels", "MEAN_S8", "-o", str(out), "--json"
    )
    assert code == 0, err
    report = json.loads(stdout)
    table = cost.read_table(out)
    assert not table["stale"] and set(table["kernels"]) == {"MEAN_S8"}
    assert report["models_run"] >= 3
    row = table["kernels"]["MEAN_S8"]
    assert row["worst_error"] < 0.05 and row["layers"] >= 3


def _stale(tmp_path, monkeypatch):
    t = json.loads((cost.COSTS_DIR / f"{BOARD}.json").read_text())
    t["source_hash"] = "0" * 64
    (tmp_path / f"{BOARD}.json").write_text(json.dumps(t))
    monkeypatch.setattr(cost, "COSTS_DIR", tmp_path)


def test_inspect_predicts_and_warns_when_stale(run_cli, tmp_path, monkeypatch):
    model = str(FIXTURES / "digits_cnn.tflite")
    code, out, err = run_cli("inspect", model, "--board", BOARD, "--json")
    assert code == 0 and "warning" not in err
    info = json.loads(out)
    assert info["predicted_instructions"] > 0 and not info["cost_table"]["stale"]
    uj = load_board(BOARD).energy_uj(info["predicted_instructions"])
    assert info["energy_uj_estimate"] == round(uj, 1) > 0  # labelled an estimate
    assert all(L["predicted_instructions"] > 0 for L in info["layers"])
    code, out, err = run_cli("inspect", model, "--board", BOARD)
    assert code == 0 and "predicted" in out and "µJ an inference (estimate" in out
    _stale(tmp_path, monkeypatch)
    code, out, err = run_cli("inspect", model, "--board", BOARD)
    assert code == 0 and "predicted" in out
    assert "warning" in err and "other C sources" in err and len(err.strip().splitlines()) == 1
    code, out, err = run_cli("inspect", model, "--board", BOARD, "--json")
    assert json.loads(out)["cost_table"]["stale"] is True
    assert cost.load_table(BOARD)["stale"]


def test_inspect_without_board_predicts_nothing(run_cli):
    code, out, _ = run_cli("inspect", str(FIXTURES / "digits_cnn.tflite"), "--json")
    assert code == 0 and "predicted_instructions" not in json.loads(out)


@pytest.mark.parametrize(
    "args, names",
    [
        (["--board", BOARD, "--kernels", "FC_S8,NOPE_S8,CONV_XX"], ["NOPE_S8", "CONV_XX"]),
        (["--board", BOARD, "--kernels", ","], ["none given"]),
        (["--board", "NOPE"], ["NOPE"]),
    ],
)
def test_calibrate_errors(run_cli, args, names):
    code, out, err = run_cli("calibrate", *args)
    assert code not in (0, 70) and not out
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert all(n in err for n in names)
