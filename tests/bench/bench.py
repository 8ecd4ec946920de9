#!/usr/bin/env python3
"""Benchmark (not a test), `make bench`: instructions per inference on the emulated
boards beside CMSIS-NN's, then the host engine beside LiteRT-reference and TFLite-Micro.

For each model and board the model runs through `microai hil` (host/microai/hil.py: the
board's output compared byte for byte with the host engine's, instructions counted by
the QEMU plugin, device/icount.py) on one random input. Its layers are matched with
CMSIS-NN's per-layer figures (../shared/reference/cmsisnn_layers.json: m4 = Cortex-M4 DSP
path, m3 = pure C) by .tflite op index, since a RESHAPE that became a view has no blob op.
CMSIS-NN's totals leave out SOFTMAX and RESHAPE: the ratio compares microai's sum over the
same ops with them. The whole inference (every op and the executor's walk) is what is
held against the targets of issue 9 (X-CUBE-AI's cycles on the M4, CMSIS-NN's M3 total).

    .venv/bin/python tests/bench/bench.py [--boards B,B] [--models NAME|PATH,...]
        [--int4 NAME,...] [--layers/--no-layers] [--host/--no-host] [--runs N] [--json]

--int4 (default KWS and ResNet-8) also runs those models as `microai compress --weights
int4` makes them, beside the int8 ones.

Without ../shared/models (beside the repository) the shared models are skipped with a
note; paths to other .tflite files can still be given.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from microai import MicroaiError
from microai.boards import load_board
from microai.hil import hil
from microai.paths import ROOT

HERE = Path(__file__).resolve().parent
SHARED = ROOT.parent / "shared"
MODELS = SHARED / "models"
REFERENCE = SHARED / "reference" / "cmsisnn_layers.json"
BOARDS = ["QEMU_STM32F405", "QEMU_STM32F205", "QEMU_M7"]
DEFAULT = ["kws_ref_model", "pretrainedResnet_quant", "micro_speech_quantized", "hello_world_int8"]
# Issue 9's targets, instructions per inference: ST's X-CUBE-AI on the Cortex-M4 (MLPerf
# Tiny cycles) and CMSIS-NN's total on the Cortex-M3.
TARGETS = {
    ("kws_ref_model", "m4"): (5_200_000, "X-CUBE-AI"),
    ("pretrainedResnet_quant", "m4"): (19_800_000, "X-CUBE-AI"),
    ("kws_ref_model", "m3"): (10_500_000, "CMSIS-NN M3"),
    ("pretrainedResnet_quant", "m3"): (41_800_000, "CMSIS-NN M3"),
}
# The reference's op names for the .tflite op names hil reports.
REF_OP = {
    "CONV_2D": "CONV",
    "DEPTHWISE_CONV_2D": "DWCONV",
    "FULLY_CONNECTED": "FC",
    "AVERAGE_POOL_2D": "AVGPOOL",
    "MAX_POOL_2D": "MAXPOOL",
    "ADD": "ADD",
    "SOFTMAX": "SOFTMAX",
    "RESHAPE": "RESHAPE",
}
NOT_IN_TOTAL = "(not in total)"


def cpu_key(board: str) -> str:
    """'m4', 'm3', 'm7': the reference's field for the board's core."""
    return "m" + load_board(board).cpu.rsplit("-m", 1)[-1]


def load_reference(path: Path | None = None) -> dict:
    """{"method": str, "models": {model: [layer, ...]}}; empty models when absent."""
    path = path or REFERENCE
    if not path.is_file():
        return {"method": f"{path} not found", "models": {}}
    return json.loads(path.read_text())


def resolve_models(
    names: list[str], models_dir: Path | None = None
) -> tuple[list[Path], list[str]]:
    """(paths to run, notes on what was skipped): a name is a model in models_dir
    (../shared/models), a value ending in .tflite a path."""
    models_dir = models_dir or MODELS
    paths, notes = [], []
    for name in names:
        path = Path(name) if name.endswith(".tflite") else models_dir / f"{name}.tflite"
        if path.is_file():
            paths.append(path)
        elif not path.parent.is_dir():
            notes.append(f"{path.parent} is absent: {path.stem} skipped")
        else:
            notes.append(f"{path} not found: skipped")
    return paths, notes


def with_int4(paths: list[Path], names: set[str]) -> list[Path]:
    """paths, each model in `names` followed by its int4 version (microai compress
    --weights int4, no calibration data), written under build/bench/."""
    from microai.compress import compress
    from microai.paths import BUILD_DIR

    out = []
    for p in paths:
        out.append(p)
        if p.stem in names:
            q = BUILD_DIR / "bench" / f"{p.stem}_int4.tflite"
            q.parent.mkdir(parents=True, exist_ok=True)
            q.write_bytes(compress(p.read_bytes(), p.name).model)
            out.append(q)
    return out


def compare(result: dict, ref_layers: list[dict] | None, cpu: str) -> dict:
    """hil's result beside the reference's layers for this cpu ('m4', 'm3'; none for
    others), matched by .tflite op index.

    Returns {"rows": [...], "total", "same_ops", "reference", "ratio", "notes"}: one row
    per op of either side, in .tflite order; same_ops and reference are the sums over
    the ops both measured (the reference's totals leave out SOFTMAX and RESHAPE).
    """
    ours = {L["source"]: L for L in result["layers"]}
    theirs = {R["index"]: R for R in ref_layers or []}
    rows, notes = [], []
    same_ops = reference = 0
    matched = 0
    for i in sorted(set(ours) | set(theirs)):
        L, R = ours.get(i), theirs.get(i)
        ref_ins = R.get(cpu) if R else None
        in_total = R is not None and NOT_IN_TOTAL not in R["op"] and ref_ins is not None
        row = {
            "source": i,
            "index": L["index"] if L else None,
            "op": L["op"] if L else R["op"].replace(NOT_IN_TOTAL, "").strip(),
            "kernel": L["kernel"] if L else None,
            "macs": L["macs"] if L else None,
            "instructions": L["instructions"] if L else None,
            "cmsis_kernel": R["cmsis_kernel"] if R else None,
            "cmsis": ref_ins,
            "in_total": False,
            "ratio": None,
            "note": "",
        }
        if L is None:
            row["note"] = "a view: no op" if row["op"] == "RESHAPE" else "no blob op"
        elif R is not None and REF_OP.get(L["op"]) != R["op"].split()[0]:
            row["note"] = f"op differs: ours {L['op']}, reference {R['op']}"
            notes.append(f"op {i}: {row['note']}; left out of the comparison")
        elif in_total and L["instructions"] is not None:
            row["in_total"] = True
            row["ratio"] = L["instructions"] / ref_ins
            same_ops += L["instructions"]
            reference += ref_ins
            matched += 1
        if R is not None and NOT_IN_TOTAL in R["op"]:
            row["note"] = row["note"] or "not in the total"
        rows.append(row)
    unmatched = [
        R["index"]
        for R in ref_layers or []
        if R.get(cpu) is not None
        and NOT_IN_TOTAL not in R["op"]
        and not any(r["in_total"] and r["source"] == R["index"] for r in rows)
    ]
    if unmatched:
        notes.append(f"reference ops {unmatched} have no counterpart here: not compared")
    return {
        "rows": rows,
        "total": result["instructions"],
        "same_ops": same_ops if matched else None,
        "reference": reference if matched else None,
        "ratio": same_ops / reference if matched else None,
        "notes": notes,
    }


def _n(v: int | None) -> str:
    return "—" if v is None else f"{v:,}"


def _x(v: float | None) -> str:
    return "—" if v is None else f"{v:.2f}×"


def layer_table(model: str, board: str, cpu: str, cmp: dict) -> Table:
    t = Table(
        "op#",
        "blob#",
        "op",
        "kernel",
        "MACs",
        "microai",
        "CMSIS-NN kernel",
        f"CMSIS-NN {cpu.upper()}",
        "× CMSIS-NN",
        "note",
        title=f"{model} on {board} ({cpu.upper()}): instructions per layer",
        caption=(
            f"total {_n(cmp['total'])} (whole inference); on CMSIS-NN's ops "
            f"{_n(cmp['same_ops'])} vs {_n(cmp['reference'])} = {_x(cmp['ratio'])}"
            if cmp["reference"] is not None
            else f"total {_n(cmp['total'])} (whole inference); no CMSIS-NN figures for it"
        ),
    )
    for r in cmp["rows"]:
        t.add_row(
            str(r["source"]),
            "—" if r["index"] is None else str(r["index"]),
            r["op"],
            r["kernel"] or "—",
            _n(r["macs"]),
            _n(r["instructions"]),
            r["cmsis_kernel"] or "—",
            _n(r["cmsis"]),
            _x(r["ratio"]),
            r["note"],
        )
    return t


def summary_table(entries: list[dict]) -> Table:
    t = Table(
        "model",
        "board",
        "microai total",
        "microai, CMSIS-NN's ops",
        "CMSIS-NN",
        "× CMSIS-NN",
        "target",
        "× target",
        "bit-exact",
        "blob bytes",
        title="Instructions per inference on the emulated boards",
        caption=(
            "CMSIS-NN (../shared/reference, M4 = DSP path, M3 = pure C) leaves SOFTMAX and "
            "RESHAPE out of its totals: × CMSIS-NN compares microai's sum over the same ops. "
            "The target (issue 9: X-CUBE-AI on the M4, CMSIS-NN's total on the M3) is held "
            "against microai's whole inference. Blob bytes: as converted for the board "
            "(weights prepared for its core where they pay, within its flash)."
        ),
    )
    for e in entries:
        if "error" in e:
            t.add_row(e["model"], e["board"], f"[red]{e['error']}[/red]", *[""] * 7)
            continue
        c = e["compare"]
        target, who = TARGETS.get((e["model"], e["cpu"]), (None, ""))
        exact = e["hil"]["mismatches"] == 0 and e["hil"]["reference_mismatches"] == 0
        t.add_row(
            e["model"],
            f"{e['board']} ({e['cpu'].upper()})",
            _n(c["total"]),
            _n(c["same_ops"]),
            _n(c["reference"]),
            _x(c["ratio"]),
            f"{target / 1e6:.1f} M {who}" if target else "—",
            _x(c["total"] / target) if target and c["total"] else "—",
            "yes" if exact else "[red]NO[/red]",
            _n(e["hil"]["blob_bytes"]),
        )
    return t


def run_boards(
    paths: list[Path],
    boards: list[str],
    reference: dict,
    progress=None,
) -> list[dict]:
    """One entry per model and board: hil's result and its comparison (or the error)."""
    entries = []
    for path in paths:
        ref_layers = reference["models"].get(path.stem)
        for board in boards:
            cpu = cpu_key(board)
            entry = {"model": path.stem, "board": board, "cpu": cpu}
            if progress:
                progress(f"{path.stem} on {board}")
            t0 = time.monotonic()
            try:
                r = hil(path.read_bytes(), board, n_inputs=1, name=path.name)
            except MicroaiError as e:
                entry["error"] = str(e).splitlines()[0]
            else:
                entry["hil"] = r
                entry["compare"] = compare(r, ref_layers, cpu)
            entry["seconds"] = round(time.monotonic() - t0, 1)
            entries.append(entry)
    return entries


def _host_engine():
    """tests/bench/host_engine.py as a module (tests/bench is not a package)."""
    spec = importlib.util.spec_from_file_location("host_engine", HERE / "host_engine.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(argv: list[str] | None = None, console: Console | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--boards", default=",".join(BOARDS), help="comma-separated board names")
    ap.add_argument(
        "--models",
        default=",".join(DEFAULT),
        help="comma-separated: names of models in ../shared/models, or paths to .tflite files",
    )
    ap.add_argument(
        "--int4",
        default="kws_ref_model,pretrainedResnet_quant",
        help="models also run as `microai compress --weights int4` makes them ('' for none)",
    )
    ap.add_argument("--layers", action=argparse.BooleanOptionalAction, default=True)
    ap.add_argument("--host", action=argparse.BooleanOptionalAction, default=True)
    ap.add_argument("--runs", type=int, default=20, help="host engine: calls per batch")
    ap.add_argument("--json", action="store_true", help="print JSON instead of tables")
    args = ap.parse_args(argv)
    console = console or Console(width=160)
    err = Console(stderr=True)

    def say(text: str) -> None:
        # Notes go beside the tables, or to stderr when stdout is JSON.
        (err if args.json else console).print(text)

    boards = [b for b in args.boards.split(",") if b]
    try:
        for b in boards:
            cpu_key(b)
    except MicroaiError as e:
        err.print(f"bench: {e}")
        return 2
    paths, notes = resolve_models([m for m in args.models.split(",") if m])
    paths = with_int4(paths, {m for m in args.int4.split(",") if m})
    for note in notes:
        say(note)
    reference = load_reference()
    if not reference["models"]:
        say(f"CMSIS-NN reference: {reference['method']}; no per-layer comparison")
    t0 = time.monotonic()
    entries = run_boards(paths, boards, reference, progress=lambda s: err.print(f"bench: {s}"))
    board_seconds = time.monotonic() - t0
    host_rows = []
    he = _host_engine()
    if args.host and paths:
        err.print("bench: host engine")
        host_rows = [he.measure(p, args.runs) for p in paths]
    if args.json:
        console.print_json(
            json.dumps(
                {
                    "notes": notes,
                    "reference_method": reference["method"],
                    "boards": entries,
                    "host": host_rows,
                    "board_seconds": round(board_seconds, 1),
                }
            )
        )
    else:
        if args.layers:
            for e in entries:
                if "compare" in e:
                    console.print(layer_table(e["model"], e["board"], e["cpu"], e["compare"]))
                    for note in e["compare"]["notes"]:
                        console.print(f"  {note}")
        if entries:
            console.print(summary_table(entries))
            console.print(f"method of the CMSIS-NN figures: {reference['method']}")
        if host_rows:
            for t in he.tables(host_rows):
                console.print(t)
        if not paths:
            console.print("no models to run")
    return 1 if any("error" in e for e in entries) else 0


if __name__ == "__main__":
    sys.exit(main())
