#!/usr/bin/env python3
"""Build and run the libFuzzer target for the blob loader and executor (fuzz_blob.c).

Steps, each printed as it runs:

1. build build/fuzz/fuzz_blob: tests/fuzz/fuzz_blob.c and every C file of
   cmodules/microai/nn with clang -fsanitize=fuzzer,address,undefined (rebuilt when a
   source or the flags change);
2. write the seed corpus, build/fuzz/seeds/*.mai: the fixture models converted by
   microai.convert;
3. replay every reproducer in tests/fuzz/regress/ (each must be refused or run safely;
   they seed the fuzzing too once none crashes);
4. fuzz for --seconds (one process, or -fork=N for --jobs N), new inputs kept in
   build/fuzz/corpus (or a fresh corpus with --fresh), crashes written to
   build/fuzz/crashes/;
5. print runs, runs/s, libFuzzer's cov/ft figures, line coverage of the C core over the
   corpus (llvm-cov, with --coverage), and every crash grouped by sanitizer report;
6. with --glue, replay seeds, reproducers and corpus through the MicroPython glue
   (microai.Model) on the unix port built with ASan and UBSan (boards/unix_asan).

Exits 1 when a reproducer, the fuzzer or the glue replay crashed.

    tests/fuzz/run_fuzz.py [--seconds 600] [--jobs 2] [--runs N] [--seed S] [--fresh]
                           [--coverage] [--glue]
    tests/fuzz/run_fuzz.py --replay FILE...   run inputs once each and show the reports
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from microai.convert import ConvertError, convert
from microai.paths import BUILD_DIR, CMODULES_DIR, ROOT
from microai.recipe import Recipe
from microai.testing.int4 import seed_blobs

NN_DIR = CMODULES_DIR / "microai" / "nn"
RUNTIME_DIR = CMODULES_DIR / "microai" / "runtime"
C_DIRS = [NN_DIR, RUNTIME_DIR]
FUZZ_DIR = ROOT / "tests" / "fuzz"
REGRESS_DIR = FUZZ_DIR / "regress"
OUT = BUILD_DIR / "fuzz"
CLANG = os.environ.get("CLANG", "clang")
SANITIZE = ["-fsanitize=fuzzer,address,undefined", "-fno-sanitize-recover=undefined"]
CFLAGS = ["-std=c99", "-g", "-O1", "-fno-omit-frame-pointer", "-Wall", "-Wextra", "-Werror"]
CFLAGS += ["-Wno-unused-parameter", f"-I{NN_DIR}", f"-I{RUNTIME_DIR}"]
MAX_LEN = 24576  # the largest seed (digits_bnn) is ~17 KB; the rest is room for arena fill bytes
ENV = {"ASAN_OPTIONS": "abort_on_error=0:detect_leaks=1", "UBSAN_OPTIONS": "print_stacktrace=1"}


def sources() -> list[Path]:
    return [FUZZ_DIR / "fuzz_blob.c", *sorted(p for d in C_DIRS for p in d.rglob("*.c"))]


def build(name: str, flags: list[str]) -> Path:
    """Compile the target with flags into build/fuzz/<name>, unless it is up to date."""
    srcs = sources()
    h = hashlib.sha256(" ".join([CLANG, *flags]).encode())
    for p in [*srcs, *sorted(p for d in C_DIRS for p in d.rglob("*.h"))]:
        h.update(str(p).encode() + b"\0" + p.read_bytes())
    exe, stamp = OUT / name, OUT / f"{name}.key"
    if exe.is_file() and stamp.is_file() and stamp.read_text() == h.hexdigest():
        return exe
    if shutil.which(CLANG) is None:
        raise SystemExit(f"run_fuzz: no {CLANG}; `make setup` installs clang and libFuzzer")
    OUT.mkdir(parents=True, exist_ok=True)
    cmd = [CLANG, *flags, *map(str, srcs), "-o", str(exe)]
    print(f"run_fuzz: building {exe.relative_to(ROOT)}", flush=True)
    subprocess.run(cmd, check=True)
    stamp.write_text(h.hexdigest())
    return exe


def write_seeds() -> Path:
    """build/fuzz/seeds: every fixture model the converter takes, as a blob, the int4
    kernels' one-op blobs (microai.testing.int4), and blobs with block-sparse and
    Winograd weights."""
    seeds = OUT / "seeds"
    seeds.mkdir(parents=True, exist_ok=True)
    for model in sorted((ROOT / "tests" / "fixtures" / "models").glob("*.tflite")):
        try:
            blob = convert(model.read_bytes(), model.stem).blob
        except ConvertError:
            continue  # a fixture of an unsupported op
        path = seeds / f"{model.stem}.mai"
        if not path.is_file() or path.read_bytes() != blob:
            path.write_bytes(blob)
    # One-op blobs with int4 weights (until fixture models lower to them).
    for name, blob in seed_blobs().items():
        path = seeds / f"{name}.mai"
        if not path.is_file() or path.read_bytes() != blob:
            path.write_bytes(blob)
    # Block-sparse weights (their metadata is the loader's to check): digits_cnn with
    # half its blocks zeroed, every CONV_2D and FULLY_CONNECTED on a sparse kernel.
    path = seeds / "digits_cnn_block4.mai"
    blob = _block4_seed(ROOT / "tests" / "fixtures" / "models" / "digits_cnn.tflite")
    if not path.is_file() or path.read_bytes() != blob:
        path.write_bytes(blob)
    # Winograd weights (the loader checks their dims and size): digits_cnn's 3x3 conv.
    path = seeds / "digits_cnn_winograd.mai"
    recipe = Recipe.from_dict({"layers": {"0": {"algorithm": "winograd"}}})
    blob = convert(
        (ROOT / "tests" / "fixtures" / "models" / "digits_cnn.tflite").read_bytes(),
        "digits_winograd",
        recipe=recipe,
    ).blob
    if not path.is_file() or path.read_bytes() != blob:
        path.write_bytes(blob)
    # The data-movement and activation ops no fixture holds: TRANSPOSE, STRIDED_SLICE,
    # SPLIT (two outputs), LEAKY_RELU, MAXIMUM; a grouped CONV_2D and a BATCH_MATMUL.
    path = seeds / "data_ops.mai"
    blob = convert(_data_ops_model(), "data_ops").blob
    if not path.is_file() or path.read_bytes() != blob:
        path.write_bytes(blob)
    # State tensors (the loader checks that they share no bytes): the SVDF and LSTM
    # fixtures, the LSTM in each golden's arithmetic.
    for name, golden in (("svdf_kws", "tflm"), ("lstm_kws", "tflm"), ("lstm_kws", "litert")):
        path = seeds / f"{name}_{golden}.mai"
        model = (ROOT / "tests" / "fixtures" / "models" / f"{name}.tflite").read_bytes()
        blob = convert(model, name, golden).blob
        if not path.is_file() or path.read_bytes() != blob:
            path.write_bytes(blob)
    return seeds


def _data_ops_model() -> bytes:
    import numpy as np

    from microai.testing.tflite_builder import ModelBuilder

    mb = ModelBuilder("fuzz seed: data ops")
    q = {"scale": 0.05, "zero_point": 2}
    x = mb.input("x", (1, 4, 6, 8), **q)
    t = mb.tensor("t", (1, 6, 4, 8), **q)
    mb.op("TRANSPOSE", [x, mb.const("perm", np.array([0, 2, 1, 3], np.int32))], [t])
    s = mb.tensor("s", (1, 3, 4, 4), **q)
    vec = [
        mb.const(n, np.array(v, np.int32))
        for n, v in (("b", [0, 0, 0, 0]), ("e", [1, 6, 4, 8]), ("st", [1, 2, 1, 2]))
    ]
    mb.op("STRIDED_SLICE", [t, *vec], [s], "StridedSliceOptions")
    a, b = (mb.tensor(n, (1, 3, 4, 2), **q) for n in ("a", "b"))
    mb.op(
        "SPLIT", [mb.const("axis", np.array([3], np.int32)), s], [a, b], "SplitOptions", NumSplits=2
    )
    r = mb.tensor("r", (1, 3, 4, 2), **q)
    mb.op("LEAKY_RELU", [a], [r], "LeakyReluOptions", Alpha=0.1)
    y = mb.tensor("y", (1, 3, 4, 2), **q)
    mb.op("MAXIMUM", [r, b], [y])
    # A grouped CONV_2D (two groups of one channel: CONV_GROUPED_S8).
    w = mb.const("gw", np.arange(-18, 18, dtype=np.int8).reshape(4, 3, 3, 1), scale=0.02)
    g = mb.tensor("g", (1, 3, 4, 4), **q)
    mb.op("CONV_2D", [y, w], [g], "Conv2DOptions", Padding=0, StrideH=1, StrideW=1)  # SAME
    # BATCH_MATMUL against a constant, read transposed (adj_y).
    m = mb.tensor("m", (1, 3, 4, 5), **q)
    rhs = mb.const("rhs", np.arange(20, dtype=np.int8).reshape(5, 4), scale=0.03, zero_point=1)
    mb.op("BATCH_MATMUL", [g, rhs], [m], "BatchMatMulOptions", AdjY=True)
    mb.output(m)
    return mb.build()


def _block4_seed(model_path: Path) -> bytes:
    from microai.sparsify import block_sparsify
    from microai.tflite import read_model

    model = block_sparsify(model_path.read_bytes(), 0.5).model
    layers = {}
    for op in read_model(model).ops:
        if op.opcode == "FULLY_CONNECTED":
            layers[str(op.index)] = {"algorithm": "direct_sparse"}
        elif op.opcode == "CONV_2D":
            layers[str(op.index)] = {"algorithm": "im2col_sparse"}
    return convert(model, "digits_block4", recipe=Recipe.from_dict({"layers": layers})).blob


def replay(exe: Path, path: Path) -> str | None:
    """Run one input; None when it ran cleanly, else the sanitizer's summary line."""
    r = subprocess.run(
        [str(exe), "-runs=1", str(path)],
        capture_output=True,
        text=True,
        errors="replace",
        env={**os.environ, **ENV},
        check=False,
    )
    if r.returncode == 0:
        return None
    return summary(r.stderr) or f"exit status {r.returncode}"


def summary(log: str) -> str | None:
    """The crash's one-line summary: the sanitizer's SUMMARY, or libFuzzer's reason."""
    for pattern in (r"^SUMMARY: (.*)$", r"^==\d+== ?ERROR: (.*)$", r"^fuzz_blob: (.*)$"):
        m = re.findall(pattern, log, re.M)
        if m:
            return m[0].strip()
    return None


def fuzz(exe: Path, args: argparse.Namespace, seeds: list[Path]) -> tuple[dict, list[Path]]:
    corpus = OUT / ("corpus-fresh" if args.fresh else "corpus")
    crashes = OUT / "crashes"
    if args.fresh:
        shutil.rmtree(corpus, ignore_errors=True)
    shutil.rmtree(crashes, ignore_errors=True)
    corpus.mkdir(parents=True, exist_ok=True)
    crashes.mkdir(parents=True)
    cmd = [
        str(exe),
        f"-max_total_time={args.seconds}",
        f"-max_len={MAX_LEN}",
        "-timeout=10",
        "-rss_limit_mb=2048",
        "-print_final_stats=1",
        f"-artifact_prefix={crashes}/",
    ]
    if args.runs:
        cmd.append(f"-runs={args.runs}")
    if args.seed is not None:
        cmd.append(f"-seed={args.seed}")
    if args.jobs > 1:
        cmd += [f"-fork={args.jobs}", "-ignore_crashes=1", "-ignore_timeouts=1"]
    cmd += [str(corpus), *map(str, seeds)]
    print("run_fuzz:", " ".join(cmd), flush=True)
    # One log per corpus: the fresh slice in make test never overwrites a long run's.
    log_path = OUT / f"fuzz-{corpus.name}.log"
    start = time.monotonic()
    with open(log_path, "w") as log:
        p = subprocess.Popen(
            cmd,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **ENV},
            cwd=OUT,
        )
        p.wait()
    elapsed = time.monotonic() - start
    log = log_path.read_text(errors="replace")
    stats = parse_stats(log, elapsed)
    stats["corpus"] = sum(1 for _ in corpus.iterdir())
    stats["log"] = log_path
    stats["status"] = p.returncode
    found = sorted(p for p in crashes.iterdir() if p.is_file())
    return stats, found


def parse_stats(log: str, elapsed: float) -> dict:
    """runs, runs/s, cov and ft from libFuzzer's output (one process or -fork)."""
    out: dict = {"seconds": round(elapsed, 1)}
    m = re.search(r"\((\d+) inline 8-bit counters\)", log)
    if m:
        out["edges"] = int(m.group(1))
    m = re.search(r"stat::number_of_executed_units:\s*(\d+)", log)
    runs = [int(x) for x in re.findall(r"^#(\d+)", log, re.M)]
    out["runs"] = int(m.group(1)) if m else max(runs, default=0)
    covs = re.findall(r"cov: (\d+) ft: (\d+)", log)
    if covs:
        out["cov"], out["ft"] = (int(x) for x in covs[-1])
    out["runs_per_s"] = round(out["runs"] / elapsed) if elapsed else 0
    return out


def coverage(inputs: list[Path]) -> str:
    """llvm-cov's per-file report of the C core over the inputs (a separate build with
    source-based coverage and no sanitizers)."""
    flags = [*CFLAGS, "-fsanitize=fuzzer", "-fprofile-instr-generate", "-fcoverage-mapping"]
    exe = build("fuzz_blob_cov", flags)
    prof = OUT / "cov"
    shutil.rmtree(prof, ignore_errors=True)
    prof.mkdir()
    env = {**os.environ, "LLVM_PROFILE_FILE": str(prof / "%p.profraw")}
    subprocess.run(
        [str(exe), "-runs=0", *map(str, inputs)],
        env=env,
        capture_output=True,
        check=False,
    )
    raws = sorted(map(str, prof.glob("*.profraw")))
    if not raws:
        return "(no coverage data)"
    data = prof / "fuzz.profdata"
    subprocess.run(["llvm-profdata", "merge", "-sparse", *raws, "-o", str(data)], check=True)
    r = subprocess.run(
        [
            "llvm-cov",
            "report",
            str(exe),
            f"-instr-profile={data}",
            "-ignore-filename-regex=tests/fuzz",
            "-show-region-summary=false",
            "-show-branch-summary=false",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return r.stdout.replace(str(CMODULES_DIR / "microai") + "/", "")


def replay_glue(folders: list[Path]) -> bool:
    """Every blob in folders through microai.Model on the unix port built with ASan and
    UBSan (boards/unix_asan); True when none of them made it abort."""
    from microai.boards import load_board
    from microai.firmware import build as build_firmware

    exe = build_firmware(load_board("unix_asan"))
    cmd = [str(exe), str(FUZZ_DIR / "replay_glue.py"), *map(str, folders)]
    r = subprocess.run(cmd, capture_output=True, text=True, errors="replace", check=False)
    lines = (r.stdout + r.stderr).splitlines()
    if r.returncode == 0:
        print(lines[-1] if lines else "glue: no output")
        return True
    print(f"glue: micropython exited with status {r.returncode}; the last lines:")
    for ln in [ln for ln in lines if not ln.startswith("    #")][-12:]:
        print(f"  {ln}")
    return False


def report_crashes(exe: Path, found: list[Path]) -> None:
    groups: dict[str, list[Path]] = {}
    for path in found:
        groups.setdefault(replay(exe, path) or "(did not crash again)", []).append(path)
    print(f"crashes: {len(found)} input(s), {len(groups)} distinct report(s)")
    for what, paths in sorted(groups.items()):
        print(f"  {what}")
        for p in paths[:3]:
            print(f"    {p.relative_to(ROOT)}")
        if len(paths) > 3:
            print(f"    ... and {len(paths) - 3} more")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=int, default=600, help="fuzzing time (default 600)")
    ap.add_argument("--jobs", type=int, default=1, help="processes (libFuzzer -fork=N)")
    ap.add_argument("--runs", type=int, help="stop after this many runs")
    ap.add_argument("--seed", type=int, help="libFuzzer's random seed")
    ap.add_argument("--fresh", action="store_true", help="start from the seeds alone")
    ap.add_argument("--coverage", action="store_true", help="line coverage over the corpus")
    ap.add_argument(
        "--glue", action="store_true", help="replay the corpus on the unix_asan MicroPython"
    )
    ap.add_argument("--replay", nargs="+", type=Path, metavar="FILE", help="run inputs once")
    args = ap.parse_args()

    exe = build("fuzz_blob", [*CFLAGS, *SANITIZE])
    if args.replay:
        bad = 0
        for path in args.replay:
            what = replay(exe, path)
            print(f"{path}: {what or 'ok (refused or ran)'}")
            bad += what is not None
        return 1 if bad else 0

    seeds = write_seeds()
    regress = sorted(REGRESS_DIR.glob("*.mai"))
    failing = [(p, what) for p in regress if (what := replay(exe, p)) is not None]
    print(f"regress: {len(regress)} reproducer(s), {len(failing)} still crash")
    for p, what in failing:
        print(f"  {p.relative_to(ROOT)}: {what}")

    # The reproducers seed the fuzzing too, once none of them crashes.
    stats, found = fuzz(exe, args, [seeds] if failing else [seeds, REGRESS_DIR])
    # libFuzzer's cov/ft are relative figures (the instrumented edges include every
    # sanitizer check's report branch, never taken); --coverage gives line coverage.
    print(
        "fuzz: {runs} runs in {seconds} s, {runs_per_s} runs/s, libFuzzer cov: {cov} "
        "ft: {ft}, corpus: {corpus} inputs".format(**{"cov": "?", "ft": "?", **stats})
    )
    print(f"fuzz: libFuzzer's log is {stats['log'].relative_to(ROOT)}")
    corpus = OUT / ("corpus-fresh" if args.fresh else "corpus")
    if args.coverage:
        print(coverage([corpus, seeds]), end="")
    glue_ok = replay_glue([seeds, REGRESS_DIR, corpus]) if args.glue else True
    report_crashes(exe, found)
    if stats["status"] != 0 and not found:
        print(f"fuzz: libFuzzer exited with status {stats['status']} (see the log)")
        return 1
    return 1 if failing or found or not glue_ok else 0


if __name__ == "__main__":
    sys.exit(main())
