#!/usr/bin/env python3
"""Benchmark (not a test), `make bench-sparsity`: instructions of the block-sparse kernels
against the dense ones as the block sparsity grows, on the emulated boards.

For each model (KWS's pointwise convolutions, ResNet-8's convolutions, the FULLY_CONNECTED
layers of micro_speech and of the digits CNN fixture) and each sparsity
S, microai.sparsify.block_sparsify() zeroes the fraction S of each layer's blocks of 4
input channels with the smallest L2 norm (a standard .tflite, its own golden); the model
then runs through `microai hil` (bit-exact with the host engine, instructions counted by
the QEMU plugin) twice per board: with the layers' dense int8 kernels and with their
block-sparse twins, both forced by a recipe. The dense kernels' counts do not depend on
the values, so they run once, at S = 0. Printed as a rich table and drawn (sparse over
dense instructions against the sparsity) into build/bench/sparsity.png.

    .venv/bin/python tests/bench/sparsity.py [--boards B,B]
        [--models kws,resnet,micro_speech_fc,digits_fc]
        [--sparsity 0,0.25,0.5,0.75,0.9] [--json]

A model missing (../shared/models beside the repository) is skipped with a message.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from forced import hil_forced
from rich.console import Console
from rich.table import Table

from microai import layouts
from microai.paths import BUILD_DIR, ROOT
from microai.sparsify import block_sparsify
from microai.tflite import read_model

MODELS = ROOT.parent / "shared" / "models"
BOARDS = ["QEMU_STM32F405", "QEMU_STM32F205"]
SPARSITY = [0.0, 0.25, 0.5, 0.75, 0.9]
FIXTURES = ROOT / "tests" / "fixtures" / "models"
# name -> (file, which layers: "pointwise" for the 1x1 CONV_2D ones, "all" CONV_2D, "fc"
# the FULLY_CONNECTED ones), from ../shared/models or (fixture) tests/fixtures/models
WHICH = {
    "kws": ("kws_ref_model.tflite", "pointwise", False),
    "resnet": ("pretrainedResnet_quant.tflite", "all", False),
    "micro_speech_fc": ("micro_speech_quantized.tflite", "fc", False),
    "digits_fc": ("digits_cnn.tflite", "fc", True),
}


def _layers(model: bytes, which: str) -> dict[int, str]:
    """{op index: dense algorithm} of the layers measured."""
    g = read_model(model)
    out = {}
    for op in g.ops:
        if which == "fc":
            if op.opcode == "FULLY_CONNECTED":
                out[op.index] = "direct"
            continue
        if op.opcode != "CONV_2D":
            continue
        w = g.t(op.inputs[1])
        pw = w.shape[1:3] == (1, 1) and op.options.get("stride_h", 1) == 1
        pw = pw and op.options.get("stride_w", 1) == 1
        if which == "pointwise" and not pw:
            continue
        out[op.index] = "pointwise" if pw else "im2col"
    return out


def _density(model: bytes, layers: dict[int, str]) -> float:
    g = read_model(model)
    nnz = total = 0
    for op in g.ops:
        if op.index in layers:
            w = g.t(op.inputs[1]).data
            rows, k = w.shape[0], w.size // w.shape[0]
            nnz += layouts.nbytes("s8_block4", w.shape, w) // 4
            total += rows * -(-k // 4)
    return nnz / max(total, 1)


def _run(model: bytes, board: str, algorithms: dict[int, str], name: str) -> int:
    r = hil_forced(model, board, name, algorithms)
    return sum(lay["instructions"] for lay in r["layers"] if lay["source"] in algorithms)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--boards", default=",".join(BOARDS))
    ap.add_argument("--models", default=",".join(WHICH))
    ap.add_argument("--sparsity", default=",".join(map(str, SPARSITY)))
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    console = Console()
    boards = a.boards.split(",")
    levels = [float(s) for s in a.sparsity.split(",")]
    rows = []
    for key in a.models.split(","):
        file, which, fixture = WHICH[key]
        path = (FIXTURES if fixture else MODELS) / file
        file = path.stem
        if not path.exists():
            console.print(f"[yellow]skipped {key}: no {path}[/]")
            continue
        base = path.read_bytes()
        layers = _layers(base, which)
        sparse_alg = {i: f"{alg}_sparse" for i, alg in layers.items()}
        for board in boards:
            dense = _run(base, board, layers, f"{file}-dense")
            for s in levels:
                model = block_sparsify(base, s, 4, [str(i) for i in layers]).model
                sparse = _run(model, board, sparse_alg, f"{file}-{s:.2f}")
                rows.append(
                    dict(
                        model=key,
                        board=board,
                        sparsity=s,
                        density=_density(model, layers),
                        dense=dense,
                        sparse=sparse,
                        ratio=sparse / dense,
                    )
                )
                console.print(rows[-1])
    if a.json:
        print(json.dumps(rows, indent=1))
    t = Table(title="Block-sparse (S8_BLOCK4) vs dense int8: instructions of the layers")
    for col in ("model", "board", "sparsity", "blocks kept", "dense", "sparse", "sparse/dense"):
        t.add_column(col, justify="left" if col in ("model", "board") else "right")
    for r in rows:
        t.add_row(
            r["model"],
            r["board"],
            f"{r['sparsity']:.0%}",
            f"{r['density']:.1%}",
            f"{r['dense']:,}",
            f"{r['sparse']:,}",
            f"{r['ratio']:.2f}",
        )
    console.print(t)
    for key in sorted({(r["model"], r["board"]) for r in rows}):
        even = _break_even([r for r in rows if (r["model"], r["board"]) == key])
        if even is not None:
            console.print(f"{key[0]} on {key[1]}: breaks even at {even:.0%} of the blocks kept")
    _plot(rows, BUILD_DIR / "bench" / "sparsity.png")
    return 0


def _break_even(pts: list[dict]) -> float | None:
    """The blocks kept where sparse / dense crosses 1, between two measured points."""
    pts = sorted(pts, key=lambda r: r["density"])
    for a, b in zip(pts, pts[1:], strict=False):
        if a["ratio"] < 1.0 <= b["ratio"]:
            t = (1.0 - a["ratio"]) / (b["ratio"] - a["ratio"])
            return a["density"] + t * (b["density"] - a["density"])
    return None


def _plot(rows: list[dict], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for key in sorted({(r["model"], r["board"]) for r in rows}):
        pts = [r for r in rows if (r["model"], r["board"]) == key]
        ax.plot([r["sparsity"] for r in pts], [r["ratio"] for r in pts], "o-", label=" ".join(key))
    ax.axhline(1.0, color="grey", lw=0.8, ls="--")
    ax.set_xlabel("block sparsity (fraction of blocks of 4 zeroed)")
    ax.set_ylabel("sparse / dense instructions (those layers)")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    print(f"wrote {out}")


if __name__ == "__main__":
    sys.exit(main())
