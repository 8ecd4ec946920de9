#!/usr/bin/env python3
"""Benchmark (not a test), `make bench-winograd`: Winograd F(2x2, 3x3) against the direct
kernels, layer by layer, on the emulated boards.

ResNet-8's 3x3 stride-1 convolutions run through `microai hil` (bit-exact with the host
engine, instructions counted by the QEMU plugin) with the direct kernel (widened weights
on a DSP core, int8 on the M3) and with Winograd, both forced by a recipe, beside what
cost.py predicts for each; then the model as `convert --board` picks its kernels, with
its instructions, blob and arena, beside the model without Winograd.

--calibrate runs twelve single 3x3 layers instead (8x8 to 32x32, 3 to 128 inputs, 4 to
64 outputs) on the F405 and the F205, both kernels, and fits cost.py's WINOGRAD and
IM2COL constants to them (non-negative least squares), printing them and each layer's
error.

    .venv/bin/python tests/bench/winograd.py [--boards B,B] [--calibrate] [--json]

The figures are also written to build/bench/winograd.json (winograd_calibration.json).
Without ../shared/models (beside the repository) the ResNet part says so and exits 0.
"""

from __future__ import annotations

import argparse
import json
import math
import sys

import numpy as np
from forced import hil_forced
from rich.console import Console
from rich.table import Table

from microai import cost
from microai.paths import BUILD_DIR, ROOT
from microai.tflite import read_model

MODELS = ROOT.parent / "shared" / "models"
BOARDS = ["QEMU_STM32F405", "QEMU_STM32F205", "QEMU_M7"]
DSP = {"QEMU_STM32F405": True, "QEMU_STM32F205": False, "QEMU_M7": True}
# (n, h, w, in, out) of the calibration layers (SAME padding).
CALIBRATION = [
    (1, 8, 8, 4, 4),
    (1, 8, 8, 16, 16),
    (1, 8, 8, 64, 8),
    (1, 8, 8, 8, 64),
    (1, 16, 16, 16, 16),
    (1, 16, 16, 32, 32),
    (1, 12, 12, 24, 40),
    (1, 7, 9, 12, 20),
    (1, 32, 32, 3, 16),
    (1, 4, 4, 128, 32),
    (2, 6, 6, 6, 10),
    (1, 10, 10, 48, 24),
]


def _direct(board: str) -> str:
    return "im2col_wide" if DSP[board] else "im2col"


def _predict(kernel: str, dsp: bool, shape: tuple[int, ...], cin: int) -> float:
    n, oh, ow, cout = shape
    pixels = n * oh * ow
    macs = pixels * cout * 9 * cin
    return cost.inner_instructions(kernel, dsp, macs, 1.0, pixels * cout, pixels, shape) or 0.0


def _winograd_layers(model: bytes) -> dict[int, tuple[tuple[int, ...], int]]:
    """{op index: (output shape, input channels)} of the 3x3 stride-1 convolutions."""
    g = read_model(model)
    out = {}
    for op in g.ops:
        if op.opcode != "CONV_2D":
            continue
        w = g.t(op.inputs[1])
        o = op.options
        if w.shape[1:3] == (3, 3) and o.get("stride_h", 1) == o.get("stride_w", 1) == 1:
            if o.get("dilation_h_factor", 1) == o.get("dilation_w_factor", 1) == 1:
                out[op.index] = (g.t(op.outputs[0]).shape, int(w.shape[3]))
    return out


def resnet(boards: list[str], console: Console, as_json: bool) -> list[dict]:
    path = MODELS / "pretrainedResnet_quant.tflite"
    if not path.exists():
        console.print(f"no {path}: nothing to measure")
        return []
    model = path.read_bytes()
    layers = _winograd_layers(model)
    rows = []
    for board in boards:
        dsp = DSP[board]
        direct = hil_forced(model, board, "resnet_direct", dict.fromkeys(layers, _direct(board)))
        wino = hil_forced(model, board, "resnet_winograd", dict.fromkeys(layers, "winograd"))
        chosen = hil_forced(model, board, "resnet")
        by = {
            k: {lay["source"]: lay for lay in r["layers"]}
            for k, r in (("d", direct), ("w", wino), ("c", chosen))
        }
        for index, (shape, cin) in layers.items():
            d, w = by["d"][index], by["w"][index]
            rows.append(
                {
                    "board": board,
                    "layer": index,
                    "shape": f"{cin}->{shape[-1]} @ {shape[1]}x{shape[2]}",
                    "direct": d["instructions"],
                    "direct_kernel": d["kernel"],
                    "winograd": w["instructions"],
                    "predicted_direct": round(_predict(d["kernel"], dsp, shape, cin)),
                    "predicted_winograd": round(_predict("CONV_WINOGRAD_3X3_S8", dsp, shape, cin)),
                    "chosen": by["c"][index]["kernel"],
                }
            )
        rows.append(
            {
                "board": board,
                "layer": "model",
                "direct": direct["instructions"],
                "winograd": chosen["instructions"],
                "blob_direct": direct["blob_bytes"],
                "blob_chosen": chosen["blob_bytes"],
                "arena_direct": direct["arena_bytes"],
                "arena_chosen": chosen["arena_bytes"],
            }
        )
    if as_json:
        return rows
    t = Table(title="ResNet-8's 3x3 stride-1 convolutions: direct vs Winograd (instructions)")
    for col in (
        "board",
        "layer",
        "in->out @ size",
        "direct",
        "Winograd",
        "ratio",
        "cost.py direct",
        "cost.py Winograd",
        "chosen",
    ):
        t.add_column(col, justify="left" if col in ("board", "chosen") else "right")
    for r in rows:
        if r["layer"] == "model":
            t.add_row(
                r["board"],
                "model",
                f"blob {r['blob_direct']:,} -> {r['blob_chosen']:,} B, "
                f"arena {r['arena_direct']:,} -> {r['arena_chosen']:,} B",
                f"{r['direct']:,}",
                f"{r['winograd']:,}",
                f"{r['direct'] / r['winograd']:.2f}x",
                "",
                "",
                "as chosen",
            )
            continue
        t.add_row(
            r["board"],
            str(r["layer"]),
            r["shape"],
            f"{r['direct']:,}",
            f"{r['winograd']:,}",
            f"{r['direct'] / r['winograd']:.2f}x",
            f"{r['predicted_direct']:,}",
            f"{r['predicted_winograd']:,}",
            r["chosen"],
        )
    console.print(t)
    return rows


def _features(case, dsp: bool) -> list[float]:
    """The terms of cost.winograd_instructions(), in WINOGRAD's order."""
    n, h, w, cin, cout = case
    tiles = n * math.ceil(h / 2) * math.ceil(w / 2)
    calls = math.ceil(tiles / 2) * math.ceil(cout / 2)
    groups = math.ceil(cin / 4)
    quads = cin // 4 if dsp else 0
    return [
        calls * 16 * groups,
        calls * 16,
        tiles * cout,
        tiles * quads,
        tiles * (cin - 4 * quads),
        tiles,
        cout * groups,
    ]


def calibrate(boards: list[str], console: Console) -> dict:
    from scipy.optimize import nnls

    sys.path.insert(0, str(ROOT / "tests" / "host"))
    from test_kernels_conv import Conv, _conv_model

    fits = {}
    for board in boards:
        dsp = DSP[board]
        core = "dsp" if dsp else "scalar"
        kernel = "CONV_IM2COL_S8W16" if dsp else "CONV_IM2COL_S8"
        inner, tail = cost.INNER_LOOP[kernel][core], cost.TAIL[kernel][core]
        a, b, g, gb, measured = [], [], [], [], []
        for case in CALIBRATION:
            n, h, w, cin, cout = case
            model, _ = _conv_model(Conv(f"cal_{'_'.join(map(str, case))}", (n, h, w, cin), cout))
            wino = hil_forced(model, board, "cal", {0: "winograd"})["layers"][0]["instructions"]
            direct = hil_forced(model, board, "cal", {0: _direct(board)})["layers"][0][
                "instructions"
            ]
            pixels, k = n * h * w, 9 * cin
            a.append(_features(case, dsp))
            b.append(wino)
            g.append([pixels * k, pixels])
            gb.append(direct - inner * pixels * cout * k - tail * pixels * cout)
            measured.append((case, wino, direct))
        x, _ = nnls(np.array(a, float), np.array(b, float))
        y, _ = nnls(np.array(g, float), np.array(gb, float))
        names = ["group", "element", "tile_out", "in4" if dsp else "-", "in1", "tile", "setup"]
        fits[board] = {
            "winograd": dict(zip(names, np.round(x, 1).tolist(), strict=True)),
            "im2col": {"tap": round(float(y[0]), 2), "pixel": round(float(y[1]), 1)},
        }
        t = Table(title=f"{board}: measured vs fitted (instructions)")
        for col in ("layer", "Winograd", "fit", "direct", "fit"):
            t.add_column(col, justify="right")
        for (case, wino, direct), fa, fg in zip(measured, a, g, strict=True):
            n, h, w, cin, cout = case
            fw = float(np.dot(fa, x))
            fd = float(np.dot(fg, y)) + (inner * 9 * cin + tail) * n * h * w * cout
            t.add_row(
                f"{cin}->{cout} @ {n}x{h}x{w}",
                f"{wino:,}",
                f"{fw:,.0f} ({fw / wino - 1:+.1%})",
                f"{direct:,}",
                f"{fd:,.0f} ({fd / direct - 1:+.1%})",
            )
        console.print(t)
        console.print(fits[board])
    return fits


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--boards", default=",".join(BOARDS))
    ap.add_argument("--calibrate", action="store_true")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    boards = [b for b in args.boards.split(",") if b]
    unknown = [b for b in boards if b not in DSP]
    if unknown:
        raise SystemExit(f"unknown board {unknown[0]!r}; choose from {', '.join(DSP)}")
    console = Console(width=200)
    if args.calibrate:
        out = calibrate([b for b in boards if b != "QEMU_M7"], console)
    else:
        out = resnet(boards, console, args.json)
    if args.json:
        print(json.dumps(out, indent=1))
    (BUILD_DIR / "bench").mkdir(parents=True, exist_ok=True)
    path = (
        BUILD_DIR / "bench" / ("winograd_calibration.json" if args.calibrate else "winograd.json")
    )
    path.write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
