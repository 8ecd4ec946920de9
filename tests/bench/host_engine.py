#!/usr/bin/env python3
"""Benchmark (not a test): the host engine beside LiteRT-reference and TFLite-Micro.

For each model: microai's arena and blob bytes beside TFLite-Micro's arena (measured
here with the tflite-micro package, and the figure in shared/DESIGN.md) and the .tflite
size; then milliseconds per inference on the same random inputs for microai's host
engine (the C core through cffi), LiteRT with the reference resolver, and TFLite-Micro.

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


def per_call(fn, runs: int, repeat: int = REPEAT) -> float:
    """Milliseconds of CPU time per call: the best of `repeat` batches of `runs` calls.

    CPU time (this process's) and the best batch, because the machine is shared: a batch
    that lost the CPU to another process is not the engine's cost.
    """
    fn()
    best = float("inf")
    for _ in range(repeat):
        t0 = time.process_time()
        for _ in range(runs):
            fn()
        best = min(best, time.process_time() - t0)
    return best / runs * 1e3


def tflm_interpreter(model: bytes):
    from tflite_micro.python.tflite_micro import runtime

    return runtime.Interpreter.from_bytes(model, arena_size=1 << 20)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("models", nargs="*", type=Path)
    ap.add_argument("--runs", type=int, default=20)
    args = ap.parse_args()
    paths = args.models or [MODELS / f"{m}.tflite" for m in DEFAULT]

    mem = Table(
        "model",
        ".tflite bytes",
        "blob bytes",
        "microai arena",
        "TFLM arena (DESIGN)",
        title="Memory",
    )
    speed = Table(
        "model", "microai host ms", "LiteRT-ref ms", "TFLM ms", title="Speed per inference"
    )
    for path in paths:
        data = path.read_bytes()
        conv = convert(data, path.name)
        engine = Model(conv.blob)
        ref = open_golden(data, "litert")
        d = ref.inputs[0]
        x = np.random.default_rng(0).integers(-128, 128, size=d["shape"], dtype=np.int8)
        ref.set_input(0, x)
        tflm = tflm_interpreter(data)
        tflm.set_input(x, 0)

        mem.add_row(
            path.stem,
            f"{len(data):,}",
            f"{len(conv.blob):,}",
            f"{conv.arena_size:,}",
            f"{TFLM_ARENA.get(path.stem, 0):,}",
        )
        speed.add_row(
            path.stem,
            f"{per_call(lambda e=engine, x=x: e.run(x), args.runs):.3f}",
            f"{per_call(ref.invoke, args.runs):.3f}",
            f"{per_call(tflm.invoke, args.runs):.3f}",
        )
    console = Console(width=120)
    console.print(mem)
    console.print(speed)


if __name__ == "__main__":
    main()
