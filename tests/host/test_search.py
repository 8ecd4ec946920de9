"""`microai search`: per-layer int4 / int8 weights, channel pruning and algorithms under
budgets, by an integer linear program over costs measured on the emulated board and
sensitivities measured on the data (search.py). On the digits CNN, calibrated on its
training images and measured on its held-out test set: the recipe found fits half the
int8 blob within 1 point of the int8 accuracy, the board's count is within 5 % of the
predicted one, the JSON carries the figures, `convert --recipe` gives the blob the
search measured, and budgets nothing meets exit 1 with a clear message."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from microai.paths import ROOT

DIGITS = ROOT / "tests" / "fixtures" / "models" / "digits_cnn.tflite"
DATA = ROOT / "tests" / "fixtures" / "models" / "digits_test.npz"
TRAIN = ROOT / "tests" / "fixtures" / "models" / "digits_train.npz"
INT8_BLOB = 8464  # convert(digits_cnn).blob


def _cli(*args: str, timeout: float = 900) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "microai", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture(scope="module")
def found(tmp_path_factory):
    out = tmp_path_factory.mktemp("search")
    t0 = time.monotonic()
    r = _cli(
        "search", str(DIGITS), "--data", str(DATA), "--calibration", str(TRAIN),
        "--board", "QEMU_STM32F405",
        "--flash", str(INT8_BLOB // 2), "--pareto", "3", "--plot", str(out / "front.png"),
        "--verify-on-board", "-o", str(out / "recipe.json"), "--json",
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout), out, time.monotonic() - t0


def test_search_digits_within_half_the_flash(found):
    r, out, seconds = found
    for key in ("accuracy", "int8_accuracy", "flash_bytes", "arena_bytes",
                "predicted_instructions", "measured_instructions", "pareto"):  # fmt: skip
        assert key in r, key
    assert r["flash_bytes"] <= INT8_BLOB // 2
    assert r["bit_exact"] and r["reference_mismatches"] == 0
    assert abs(r["prediction_error"]) <= 0.05
    assert r["int8_accuracy"] - 0.01 <= r["accuracy"] <= r["int8_accuracy"] + 0.02
    assert r["costs"] == "table"  # the committed cost table predicted the instructions
    assert r["recipe"]["calibration"] == str(TRAIN)
    assert abs(r["predicted_flash_bytes"] - r["flash_bytes"]) <= 0.05 * r["flash_bytes"]
    assert (out / "front.png").stat().st_size > 10_000
    assert seconds < 300
    # The front: smaller blobs never more accurate than larger ones it keeps.
    front = r["pareto"]
    assert front and all(
        a["flash_bytes"] <= b["flash_bytes"] for a, b in zip(front, front[1:], strict=False)
    )
    assert front[-1]["accuracy"] >= r["accuracy"]


def test_search_recipe_converts_to_the_blob_it_measured(found, tmp_path):
    r, out, _ = found
    recipe = json.loads((out / "recipe.json").read_text())
    assert any("prune" in f or f.get("weights") == "int4" for f in recipe["layers"].values())
    blob = tmp_path / "d.mai"
    c = _cli("convert", str(DIGITS), "--recipe", str(out / "recipe.json"), "--board",
             "QEMU_STM32F405", "-o", str(blob))  # fmt: skip
    assert c.returncode == 0, c.stderr
    assert blob.stat().st_size == r["flash_bytes"]


def test_search_nothing_fits(found, tmp_path):
    """A budget below the smallest option: exit 1, a message, no recipe written."""
    out = tmp_path / "r.json"
    r = _cli("search", str(DIGITS), "--data", str(DATA), "--flash", "1000", "--pareto", "0",
             "-o", str(out))  # fmt: skip
    assert r.returncode == 1
    assert "no recipe fits the budgets" in r.stderr and "Traceback" not in r.stderr
    assert not out.exists()


def test_search_refuses_a_fixed_batch_model(tmp_path):
    from test_kernels_conv import Conv, _conv_model

    path = tmp_path / "b2.tflite"
    path.write_bytes(_conv_model(Conv("batch2", (2, 6, 5, 3), 8))[0])
    r = _cli("search", str(path), "-o", str(tmp_path / "r.json"))
    assert r.returncode == 3 and "fixed batch of 2" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr and not (tmp_path / "r.json").exists()


def test_search_bad_ratios():
    r = _cli("search", str(DIGITS), "--ratios", "0.5,1.5", "-o", "/tmp/never.json")
    assert r.returncode != 0 and "1.5" in r.stderr and "Traceback" not in r.stderr
    r = _cli("search", str(DIGITS), "--sparsities", "0.5,x", "-o", "/tmp/never.json")
    assert r.returncode == 2 and "--sparsities" in r.stderr and "Traceback" not in r.stderr
    r = _cli("search", str(DIGITS), "--sparsities", "1", "-o", "/tmp/never.json")
    assert r.returncode != 0 and "--sparsities: 1.0 is not a fraction" in r.stderr


def test_search_on_a_dask_cluster_or_local_processes_finds_the_same_recipe():
    """The candidates and the Pareto front's picks measured by two local processes and
    by a local Dask cluster (two worker processes, the models and data pickled to them)
    give the recipe and the front the in-process search gives."""
    from distributed import Client, LocalCluster

    from microai.search import search

    args = (DIGITS.read_bytes(), "digits_cnn", DATA, "QEMU_STM32F405")
    kw = dict(flash=INT8_BLOB // 2, pareto=3, ratios=(0.25, 0.5))
    here = search(*args, **kw)
    pool = search(*args, **kw, workers=2)
    with (
        LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster,
        Client(cluster) as client,
    ):
        dask = search(*args, **kw, cluster=client)
    assert here["found"] and here["recipe"] == pool["recipe"] == dask["recipe"]
    assert here["flash_bytes"] == pool["flash_bytes"] == dask["flash_bytes"]
    # The Pareto front's picks, measured by the workers too: the same front.
    front = [(q["recipe"], q["flash_bytes"], q["accuracy"]) for q in here["pareto"]]
    assert front
    for other in (pool, dask):
        assert [(q["recipe"], q["flash_bytes"], q["accuracy"]) for q in other["pareto"]] == front


def test_search_cuts_picks_that_miss_accuracy_or_ram(found):
    """A pick below --min-accuracy or over --ram (neither is in the program: both are
    measured on the converted pick) is cut off and the program solved again: what comes
    back meets both."""
    from microai.search import search

    model = DIGITS.read_bytes()
    args = (model, "digits_cnn", DATA, "QEMU_STM32F405")
    r = search(*args, flash=5200, min_accuracy=0.95, pareto=0)
    assert r["found"] and r["accuracy"] >= 0.95 and r["flash_bytes"] <= 5200
    r = search(*args, ram=3300, pareto=0)
    assert r["found"] and r["arena_bytes"] <= 3300 < 3904  # int8's arena


def test_search_costs_measured_on_the_board():
    """--costs board measures each family of options on the board instead of the table;
    the pick's prediction is then the board's counts, interpolated."""
    from microai.search import SearchError, search

    args = (DIGITS.read_bytes(), "digits_cnn", DATA, "QEMU_STM32F405")
    r = search(*args, flash=6000, pareto=0, ratios=(0.5,), costs="board")
    assert r["found"] and r["costs"] == "board" and r["cost_table_stale"] is None
    assert r["flash_bytes"] <= 6000 and r["predicted_instructions"] > 0
    with pytest.raises(SearchError, match="--costs guess: one of table, board"):
        search(*args, flash=6000, pareto=0, costs="guess")


SHARED = ROOT.parent / "shared" / "models"


@pytest.mark.skipif(not SHARED.is_dir(), reason="shared/models not beside the repo")
def test_search_meets_a_ram_budget_with_patches():
    """ResNet-8 under a RAM budget its pick misses but meets run band by band: the
    recipe says "patches": "auto", its arena fits, and the table's prediction counts the
    rows computed again."""
    from microai.boards import Target, load_board
    from microai.convert import convert
    from microai.recipe import Recipe
    from microai.search import search

    model = (SHARED / "pretrainedResnet_quant.tflite").read_bytes()
    target = Target.of(load_board("QEMU_STM32F405"))
    whole = search(model, "resnet", None, "QEMU_STM32F405", flash=120000, pareto=0)
    banded = {**whole["recipe"], "patches": "auto"}
    budget = convert(model, "resnet", recipe=Recipe.from_dict(banded), target=target).arena_size
    assert budget < whole["arena_bytes"]
    r = search(model, "resnet", None, "QEMU_STM32F405", flash=120000, ram=budget, pareto=0)
    assert r["found"] and r["recipe"] == banded and r["arena_bytes"] == budget
    assert r["predicted_instructions"] > whole["predicted_instructions"]
    conv = convert(model, "resnet", recipe=Recipe.from_dict(r["recipe"]), target=target)
    assert conv.arena_size == r["arena_bytes"] and conv.patches is not None


def test_search_block_sparsity_options():
    """Each CONV_2D / FULLY_CONNECTED whose block-sparse kernel takes it (input channels
    a multiple of 4: sparsify's blocks are the layout's) gets one option a level: its
    flash within 16 bytes of the layer as converted, a loss measured alone that grows
    with the level, and fewer instructions than dense int8 (the stored blocks only)."""
    from microai.boards import Target, load_board
    from microai.convert import convert
    from microai.recipe import Recipe
    from microai.search import Problem, Runner, _Quiet

    model = DIGITS.read_bytes()
    with Runner() as runner:
        p = Problem(model, "digits_cnn", DATA, "QEMU_STM32F405", (0.5,), _Quiet(), runner)
        counts = p.counts()
        p.sensitivities()
        opts = p.options(counts)
    assert p.sparse == {2: "pointwise_sparse", 5: "direct_sparse"}  # conv 0 reads 1 channel
    assert 0 < p.loss_sparse[(5, 0.5)] < p.loss_sparse[(5, 0.75)]
    target = Target.of(load_board("QEMU_STM32F405"))
    whole = [o for o in opts if o.r_in == o.r_out == 0]
    for o in whole:
        if not o.sparsity:
            continue
        recipe = p.recipe({}, {o.layer: o.algorithm}, {}, {o.layer: o.sparsity})
        conv = convert(model, "digits", recipe=Recipe.from_dict(recipe), target=target)
        layer = next(L for L in conv.layers if L.source == o.layer)
        assert layer.kernel.endswith("_BLOCK4") and abs(layer.weight_bytes - o.flash) <= 16
        dense = next(
            d for d in whole if d.layer == o.layer and d.weights == "int8" and not d.sparsity
        )
        if o.sparsity == 0.75:
            assert o.instructions < dense.instructions


def test_search_minimizes_energy_within_the_accuracy():
    """--minimize energy: the fewest instructions (so the least energy: linear in them)
    that still meets --min-accuracy; the error objective's pick keeps more accuracy at
    more energy. Without a quality floor it is refused."""
    from microai.search import SearchError, search

    args = (DIGITS.read_bytes(), "digits_cnn", DATA, "QEMU_STM32F405")
    kw = dict(pareto=0, ratios=(0.25, 0.5), sparsities=(0.5,))
    least = search(*args, **kw, minimize="energy", min_accuracy=0.95)
    exact = search(*args, **kw)
    assert least["found"] and least["minimize"] == "energy" and least["accuracy"] >= 0.95
    assert least["predicted_instructions"] < exact["predicted_instructions"]
    assert least["energy_uj_estimate"] < exact["energy_uj_estimate"]
    assert exact["accuracy"] >= least["accuracy"]
    with pytest.raises(SearchError, match="--minimize energy: say how good"):
        search(*args, **kw, minimize="energy")
