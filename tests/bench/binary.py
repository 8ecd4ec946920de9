#!/usr/bin/env python3
"""Benchmark (not a test), `make bench-binary`: the Larq fixtures' binary layers on the
emulated boards, and the digits BNN beside the int8 digits CNN.

Each model runs through `microai hil` (bit-exact with the host engine and the reference,
instructions counted by the QEMU plugin); every BCONV layer is printed with its binary
MACs (one XOR-popcount bit each: out x kh x kw x in), instructions, and instructions per
binary MAC. Then accuracy on the digits test set (the host engine, which the boards
equal bit for bit), weight bytes (the blob's constants), blob and arena bytes, and
instructions per inference on the F405 for digits_cnn.tflite (int8) and
digits_bnn.tflite (binary, Larq).

    .venv/bin/python tests/bench/binary.py [--boards B,B] [--json]

The figures are also written to build/bench/binary.json.
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np
from rich.console import Console
from rich.table import Table

from microai.convert import convert
from microai.engine import Model
from microai.hil import hil
from microai.paths import BUILD_DIR, ROOT

FIXTURES = ROOT / "tests" / "fixtures" / "models"
MODELS = ["digits_bnn", "cov_bnn"]
BOARDS = ["QEMU_STM32F405", "QEMU_STM32F205", "QEMU_M7"]


def layers(boards: list[str]) -> list[dict]:
    rows = []
    for name in MODELS:
        model = (FIXTURES / f"{name}.tflite").read_bytes()
        inputs = list(np.load(FIXTURES / f"{name}_lce.npz")["inputs"][:2])
        for board in boards:
            r = hil(model, board, n_inputs=0, given=inputs, name=name)
            if r["mismatches"] or r["reference_mismatches"]:
                raise SystemExit(f"{name} on {board}: not bit-exact: {r['first_mismatch']}")
            for L in r["layers"]:
                if L["kernel"] != "BCONV_B1":
                    continue
                rows.append(
                    {
                        "model": name,
                        "board": board,
                        "op": L["source"],  # the .tflite's op index
                        "macs": L["macs"],
                        "instructions": L["instructions"],
                        "per_mac": L["instructions"] / L["macs"],
                    }
                )
    return rows


def accuracy(path, data) -> dict:
    conv = convert(path.read_bytes(), path.name)
    x, y = data["x"], data["y"]
    with Model(conv.blob) as m:
        pred = [int(np.argmax(m.run(xi.reshape(m.input_shape)))) for xi in x]
    weights = sum(L.weight_bytes for L in conv.layers)
    return {
        "model": path.name,
        "accuracy": float(np.mean(np.array(pred) == y)),
        "weight_bytes": weights,
        "blob_bytes": len(conv.blob),
        "arena_bytes": conv.arena_size,
        "tflite_bytes": path.stat().st_size,
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    ap.add_argument("--boards", default=",".join(BOARDS))
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    console = Console()
    rows = layers(args.boards.split(","))
    test = np.load(FIXTURES / "digits_test.npz")
    data = {"x": test["x"], "y": test["y"]}
    acc = [accuracy(FIXTURES / f"{n}.tflite", data) for n in ("digits_cnn", "digits_bnn")]
    for a in acc:
        r = hil((FIXTURES / a["model"]).read_bytes(), "QEMU_STM32F405", n_inputs=1)
        a["instructions_f405"] = r["instructions"]
    out = {"layers": rows, "models": acc}
    BUILD_DIR.joinpath("bench").mkdir(parents=True, exist_ok=True)
    (BUILD_DIR / "bench" / "binary.json").write_text(json.dumps(out, indent=1))
    if args.json:
        print(json.dumps(out, indent=1))
        return 0
    t = Table(title="Binary convolutions (BCONV_B1): instructions per binary MAC")
    for col in ("model", "board", "op", "binary MACs", "instructions", "per MAC"):
        t.add_column(col, justify="right" if col not in ("model", "board") else "left")
    for r in rows:
        t.add_row(
            r["model"],
            r["board"],
            str(r["op"]),
            f"{r['macs']:,}",
            f"{r['instructions']:,}",
            f"{r['per_mac']:.3f}",
        )
    console.print(t)
    t = Table(title="Digits: int8 CNN vs binary (Larq) network")
    for col in ("model", "accuracy", "weight bytes", "blob", "arena", "F405 instructions"):
        t.add_column(col, justify="left" if col == "model" else "right")
    for a in acc:
        t.add_row(
            a["model"],
            f"{a['accuracy']:.1%}",
            f"{a['weight_bytes']:,}",
            f"{a['blob_bytes']:,}",
            f"{a['arena_bytes']:,}",
            f"{a['instructions_f405']:,}",
        )
    console.print(t)
    return 0


if __name__ == "__main__":
    sys.exit(main())
