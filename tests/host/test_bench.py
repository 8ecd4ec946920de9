"""make bench (tests/bench/bench.py): its tables from a real run of a fixture model on
one emulated board beside a per-layer reference, and no crash without ../shared."""

from __future__ import annotations

import importlib.util
import json
import sys

import pytest
from rich.console import Console

from microai.paths import ROOT

spec = importlib.util.spec_from_file_location("bench", ROOT / "tests" / "bench" / "bench.py")
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)

DIGITS = ROOT / "tests" / "fixtures" / "models" / "digits_cnn.tflite"
BOARD = "QEMU_STM32F405"


def _ref(index, op, m4, kernel="k"):
    return {"index": index, "op": op, "cmsis_kernel": kernel, "macs": 0, "m4": m4, "m3": None}


# digits_cnn's .tflite ops, laid out like ../shared/reference/cmsisnn_layers.json: op 4 is
# a RESHAPE (a view in the blob, so blob ops after it are numbered one lower).
REFERENCE = {
    "method": "made up for the test",
    "models": {
        "digits_cnn": [
            _ref(0, "CONV", 100_000),
            _ref(1, "DWCONV", 100_000),
            _ref(2, "CONV", 100_000),
            _ref(3, "MAXPOOL", 10_000),
            _ref(4, "RESHAPE (not in total)", None, "memcpy (not measured)"),
            _ref(5, "FC", 10_000),
            _ref(6, "SOFTMAX (not in total)", 3_000),
        ]
    },
}


def _text(*tables) -> str:
    console = Console(record=True, width=200)
    for t in tables:
        console.print(t)
    return console.export_text()


def test_tables_from_a_board_run(firmware, tmp_path):
    firmware(BOARD)
    entries = bench.run_boards([DIGITS], [BOARD], REFERENCE)
    assert len(entries) == 1 and "error" not in entries[0], entries
    e = entries[0]
    r, c = e["hil"], e["compare"]
    assert e["cpu"] == "m4" and r["mismatches"] == 0

    rows = {row["source"]: row for row in c["rows"]}
    assert sorted(rows) == list(range(7))
    # Matched by .tflite op index: the FC is blob op 4, .tflite op 5.
    assert rows[5]["op"] == "FULLY_CONNECTED" and rows[5]["index"] == 4
    assert rows[4]["index"] is None and rows[4]["note"] == "a view: no op"
    assert rows[6]["op"] == "SOFTMAX" and not rows[6]["in_total"] and rows[6]["instructions"]
    compared = [0, 1, 2, 3, 5]
    assert [s for s, row in rows.items() if row["in_total"]] == compared
    assert c["reference"] == 320_000
    assert c["same_ops"] == sum(rows[s]["instructions"] for s in compared)
    assert c["same_ops"] < c["total"] == r["instructions"]  # softmax and the walk
    assert c["ratio"] == pytest.approx(c["same_ops"] / 320_000)
    assert rows[5]["ratio"] == pytest.approx(rows[5]["instructions"] / 10_000)
    assert c["notes"] == []

    text = _text(bench.layer_table("digits_cnn", BOARD, "m4", c), bench.summary_table(entries))
    for column in ("op#", "blob#", "CMSIS-NN M4", "× CMSIS-NN", "microai total", "× target"):
        assert column in text
    assert f"{c['same_ops']:,}" in text and "320,000" in text
    assert f"{c['ratio']:.2f}×" in text
    assert "a view: no op" in text and "not in the total" in text
    json.dumps(entries)  # --json prints these


def test_op_mismatch_is_left_out():
    """A reference whose op at an index is not ours is named, not compared."""
    result = {
        "instructions": 1000,
        "layers": [
            {
                "index": 0,
                "source": 0,
                "op": "CONV_2D",
                "kernel": "K",
                "macs": 1,
                "instructions": 600,
            },
            {"index": 1, "source": 1, "op": "ADD", "kernel": "K", "macs": 1, "instructions": 300},
        ],
    }
    ref = [_ref(0, "CONV", 300), _ref(1, "FC", 100)]
    c = bench.compare(result, ref, "m4")
    assert c["same_ops"] == 600 and c["reference"] == 300 and c["ratio"] == 2.0
    assert "op differs" in c["rows"][1]["note"] and c["rows"][1]["ratio"] is None
    assert any("op 1" in n for n in c["notes"]) and any("[1]" in n for n in c["notes"])
    # No reference for the board's core (the M7): nothing compared, nothing invented.
    c = bench.compare(result, ref, "m7")
    assert c["same_ops"] is None and c["ratio"] is None and c["total"] == 1000


def test_shared_models_absent(tmp_path, monkeypatch):
    monkeypatch.setattr(bench, "MODELS", tmp_path / "shared" / "models")
    monkeypatch.setattr(bench, "REFERENCE", tmp_path / "shared" / "reference" / "x.json")
    console = Console(record=True, width=200)
    assert bench.main(["--boards", BOARD], console=console) == 0
    text = console.export_text()
    assert "is absent: kws_ref_model skipped" in text
    assert "no CMSIS-NN figures" in text or "no per-layer comparison" in text
    assert "no models to run" in text


# The bench scripts import their shared helpers (tests/bench/forced.py) as a script does.
sys.path.insert(0, str(ROOT / "tests" / "bench"))
spec_sparsity = importlib.util.spec_from_file_location(
    "sparsity", ROOT / "tests" / "bench" / "sparsity.py"
)
sparsity = importlib.util.module_from_spec(spec_sparsity)
spec_sparsity.loader.exec_module(sparsity)


def test_sparsity_bench_without_shared_models(tmp_path, monkeypatch, capsys):
    """make bench-sparsity says it skips, and succeeds, without its models."""
    monkeypatch.setattr(sparsity, "MODELS", tmp_path / "shared" / "models")
    monkeypatch.setattr(sparsity, "FIXTURES", tmp_path / "fixtures")
    monkeypatch.setattr(sys, "argv", ["sparsity.py"])
    assert sparsity.main() == 0
    assert "skipped" in capsys.readouterr().out


def test_sparsity_break_even_and_plot(tmp_path):
    rows = [
        dict(model="m", board="b", sparsity=s, density=1 - s, dense=100, sparse=r, ratio=r / 100)
        for s, r in [(0.0, 120), (0.25, 90), (0.75, 40)]
    ]
    assert sparsity._break_even(rows) == pytest.approx(0.75 + 0.25 * (10 / 30))
    sparsity._plot(rows, tmp_path / "s.png")
    assert (tmp_path / "s.png").stat().st_size > 1000


spec_winograd = importlib.util.spec_from_file_location(
    "winograd", ROOT / "tests" / "bench" / "winograd.py"
)
winograd = importlib.util.module_from_spec(spec_winograd)
spec_winograd.loader.exec_module(winograd)


def test_winograd_bench_without_shared_models(tmp_path, monkeypatch, capsys):
    """make bench-winograd says it has nothing to measure, and succeeds, without
    ../shared/models."""
    monkeypatch.setattr(winograd, "MODELS", tmp_path / "shared" / "models")
    monkeypatch.setattr(winograd, "BUILD_DIR", tmp_path / "build")
    monkeypatch.setattr(sys, "argv", ["winograd.py"])
    assert winograd.main() == 0
    assert "nothing to measure" in capsys.readouterr().out
