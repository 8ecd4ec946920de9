#!/usr/bin/env python3
"""Benchmark (not a test): the host engine beside LiteRT-reference and TFLite-Micro.

For each model: microai's arena and blob bytes beside TFLite-Micro's arena (the figure
in shared/DESIGN.md) and the .tflite size; then milliseconds per inference on the same
random input (set once; invoke() alone is timed) for microai's host engine (the C core
through cffi), LiteRT with the reference resolver, and TFLite-Micro, and how many times
faster microai is than each (issue 9's goal: 3x LiteRT-reference, 5x TFLite-Micro).

    .venv/bin/python tests/bench/host_engine.py [--runs N] [MODEL.tflite ...]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from microai.convert import convert
from microai.engine import Model
from microai.golden import open_golden
from microai.paths import ROOT

MODELS = ROOT.parent / "shared" / "models"
DEFAULT = ["kws_ref_model", "pretrainedResnet_quant", "hello_world_int8", "micro_speech_quantized"]
# TFLite-Micro arena bytes from shared/DESIGN.md (tflite-micro PyPI, print_allocations).
TFLM_ARENA = {
    "kws_ref_model": 24272,
    "pretrainedResnet_quant": 55984,
    "micro_speech_quantized": 7584,
    "hello_world_int8": 1504,
}
REPEAT = 7


def per_call(fns: dict, runs: int, repeat: int = REPEAT) -> dict:
    """Milliseconds of CPU time per call of each of fns ({name: function}): the best of
    `repeat` batches of `runs` calls, the engines' batches taking turns.

    CPU time (this process's), the best batch and turns, because the machine is shared:
    a batch that lost the CPU or its caches to another process is not the engine's cost,
    and the engines see the same conditions, so their ratios hold better than their
    milliseconds.
    """
    best = dict.fromkeys(fns, float("inf"))
    for fn in fns.values():
        fn()
    for _ in range(repeat):
        for name, fn in fns.items():
            t0 = time.process_time()
            for _ in range(runs):
                fn()
            best[name] = min(best[name], time.process_time() - t0)
    return {name: t / runs * 1e3 for name, t in best.items()}


def tflm_interpreter(model: bytes):
    from tflite_micro.python.tflite_micro import runtime

    return runtime.Interpreter.from_bytes(model, arena_size=1 << 20)


def measure(path: Path, runs: int = 20) -> dict:
    """Bytes and milliseconds per inference of one model (see the module's docstring)."""
    data = path.read_bytes()
    conv = convert(data, path.name)
    engine = Model(conv.blob)
    ref = open_golden(data, "litert")
    d = ref.inputs[0]
    x = np.random.default_rng(0).integers(-128, 128, size=d["shape"], dtype=np.int8)
    # Like with like: the input is set once, then only invoke() is timed in each.
    engine.input(0)[...] = x.reshape(engine.input(0).shape)
    ref.set_input(0, x)
    tflm = tflm_interpreter(data)
    tflm.set_input(x, 0)
    return {
        "model": path.stem,
        "tflite_bytes": len(data),
        "blob_bytes": len(conv.blob),
        "arena_bytes": conv.arena_size,
        "tflm_arena_bytes": TFLM_ARENA.get(path.stem),
        **per_call(
            {"microai_ms": engine.invoke, "litert_ref_ms": ref.invoke, "tflm_ms": tflm.invoke},
            runs,
        ),
    }


def tables(rows: list[dict]) -> tuple[Table, Table]:
    """The memory and speed tables for measure()'s rows."""
    mem = Table(
        "model",
        ".tflite bytes",
        "blob bytes",
        "microai arena",
        "TFLM arena (DESIGN)",
        title="Memory",
    )
    speed = Table(
        "model",
        "microai host ms",
        "LiteRT-ref ms",
        "TFLM ms",
        "× LiteRT-ref (goal 3)",
        "× TFLM (goal 5)",
        title="Host engine: CPU ms per inference (best of 7 batches each), times faster",
    )
    for r in rows:
        tflm_arena = r["tflm_arena_bytes"]
        mem.add_row(
            r["model"],
            f"{r['tflite_bytes']:,}",
            f"{r['blob_bytes']:,}",
            f"{r['arena_bytes']:,}",
            "—" if tflm_arena is None else f"{tflm_arena:,}",
        )
        speed.add_row(
            r["model"],
            f"{r['microai_ms']:.3f}",
            f"{r['litert_ref_ms']:.3f}",
            f"{r['tflm_ms']:.3f}",
            f"{r['litert_ref_ms'] / r['microai_ms']:.2f}",
            f"{r['tflm_ms'] / r['microai_ms']:.2f}",
        )
    return mem, speed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("models", nargs="*", type=Path)
    ap.add_argument("--runs", type=int, default=20)
    args = ap.parse_args()
    console = Console(width=120)
    paths = args.models or [MODELS / f"{m}.tflite" for m in DEFAULT]
    missing = [p for p in paths if not p.is_file()]
    for p in missing:
        console.print(f"{p}: not found, skipped")
    rows = [measure(p, args.runs) for p in paths if p not in missing]
    for t in tables(rows):
        console.print(t)


if __name__ == "__main__":
    main()
