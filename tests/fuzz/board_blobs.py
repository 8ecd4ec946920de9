#!/usr/bin/env python3
"""Malformed blobs on an emulated board: each is refused with a message, or runs and
gives the host engine's bytes; never a HardFault, a hang or a different answer.

The blobs lie consistently, as an attacker or a broken tool would: a fixture model
converted by microai, then one to four structure fields changed together (dims with a
size that matches their wrapped product, offsets moved onto other tensors or the
scratch, kernel and op ids, io ids, counts, scratch, params words, the arena size),
the CRC always recomputed so every lie reaches the deep checks. Each blob is run
through the host engine first (the same C core on the PC), then sent to the board over
its serial port; the two verdicts must agree. A board that stops answering is a
failure (a HardFault or a hang), and is rebooted to go on.

    tests/fuzz/board_blobs.py [--blobs 1000] [--board QEMU_STM32F405] [--seed 0]
"""

from __future__ import annotations

import argparse
import binascii
import random
import struct
import sys
import time

import numpy as np

from microai import blob as B
from microai.convert import convert
from microai.device import DeviceError, connect
from microai.device.transport import BoardException
from microai.engine import Model, ModelError
from microai.paths import ROOT

SEEDS = ["cov_squeeze", "cov_pool_mean", "cov_elementwise", "cov_float_io", "cov_dwconv"]
SEEDS += ["cov_conv", "cov_pertensor"]
I32 = [0, 1, 2, 3, 7, 16, 127, 128, 255, 256, 4096, 65535, 65536, 0x7FFFFFFF, -1, -2, -128]
I32 += [-(2**31), 0x40000000, 96]
# Four dims whose product wraps (mod 2^64) to a small number, and dims at the limits.
DIM_SETS = [
    (1568, 5531, 93251, 22809539),
    (65536, 65536, 65536, 65536),
    (1, 65535, 65535, 1),
    (1, 1, 1, 0x7FFFFFFF),
    (1, 2049, 4096, 1),
    (1, 0, 4, 4),
    (1, -1, -1, 8),
    (1, 1, 1, 1),
]


def seeds() -> list[bytes]:
    fixtures = ROOT / "tests" / "fixtures" / "models"
    return [convert((fixtures / f"{m}.tflite").read_bytes(), m).blob for m in SEEDS]


class Blob:
    """A blob's tables as dicts, to change and pack back (CRC recomputed)."""

    def __init__(self, data: bytes):
        self.b = bytearray(data)
        self.h = B.read_header(data)
        self.tensors = [
            B.TENSOR.unpack(data, self.h["tensors_offset"] + i * B.TENSOR.size)
            for i in range(self.h["n_tensors"])
        ]
        self.ops = [
            B.OP.unpack(data, self.h["ops_offset"] + i * B.OP.size) for i in range(self.h["n_ops"])
        ]

    def pack(self) -> bytes:
        for i, t in enumerate(self.tensors):
            at = self.h["tensors_offset"] + i * B.TENSOR.size
            self.b[at : at + B.TENSOR.size] = B.TENSOR.pack(**t)
        for i, op in enumerate(self.ops):
            at = self.h["ops_offset"] + i * B.OP.size
            self.b[at : at + B.OP.size] = B.OP.pack(**op)
        self.b[: B.HEADER.size] = B.HEADER.pack(**self.h)
        struct.pack_into("<I", self.b, 12, B.crc32(self.b))
        return bytes(self.b)

    def op_ids(self, i: int) -> list[int]:
        """Op i's tensor ids, as many as lie inside the blob."""
        op = self.ops[i]
        n = min(op["n_in"] + op["n_out"], max(0, (len(self.b) - op["io_offset"]) // 2))
        return list(struct.unpack_from(f"<{n}H", self.b, op["io_offset"]))

    def set_op_id(self, i: int, k: int, value: int) -> None:
        struct.pack_into("<H", self.b, self.ops[i]["io_offset"] + 2 * k, value)


def _u32(v: int) -> int:
    return v & 0xFFFFFFFF


def lie(b: Blob, rng: random.Random) -> str:
    """Change one thing in b, consistently where it takes several fields; say what."""
    t = rng.choice(b.tensors) if b.tensors else None
    ti = b.tensors.index(t) if t else 0
    op = rng.choice(b.ops) if b.ops else None
    oi = b.ops.index(op) if op else 0
    kind = rng.randrange(12)
    arena = b.h["arena_size"]
    if kind == 0 and t:  # dims that wrap, with the size they wrap to
        dims = list(rng.choice(DIM_SETS))
        n = 1
        for d in dims:
            n = (n * (d & 0xFFFFFFFFFFFFFFFF)) & 0xFFFFFFFFFFFFFFFF
        t["dims"], t["rank"] = dims, 4
        t["size"] = _u32(n * {0: 1, 1: 4, 2: 4, 3: 2}.get(t["storage"], 1))
        return f"tensor {ti} dims {dims}"
    if kind == 1 and t:  # an arena tensor moved onto another one, or past the end
        others = [u["offset"] for u in b.tensors if u["mem"] == B.MEM_ARENA]
        others += [o["scratch_offset"] for o in b.ops]
        t["mem"] = B.MEM_ARENA
        t["offset"] = rng.choice(others + [arena - t["size"], arena - 1, arena, 0])
        t["offset"] = _u32(t["offset"])
        return f"tensor {ti} offset {t['offset']}"
    if kind == 2 and t:  # a constant pointing at the tables, or a tensor flipped
        t["mem"] = rng.choice([0, 1, 2, 255])
        t["offset"] = rng.choice([0, 16, b.h["tensors_offset"], b.h["params_offset"], t["offset"]])
        return f"tensor {ti} mem {t['mem']} offset {t['offset']}"
    if kind == 3 and t:  # storage type, rank, layout or scale
        t["storage"] = rng.choice([0, 1, 2, 3, 4, 5, 255])
        t["rank"] = rng.choice([0, 1, 2, 3, 4, 5])
        if rng.random() < 0.3:
            t["layout"] = rng.choice([0, 1, 2, 9])
        if rng.random() < 0.3:
            t["scale"] = rng.choice([0.0, -1.0, float("nan"), float("inf"), 1e-30])
        return f"tensor {ti} storage {t['storage']} rank {t['rank']} layout {t['layout']}"
    if kind == 4 and t:
        t["zero_point"] = rng.choice(I32)
        return f"tensor {ti} zero point {t['zero_point']}"
    if kind == 5 and op and rng.random() < 0.2:  # the rounding
        op["rounding"] = rng.choice([0, 1, 2, 255])
        return f"op {oi} rounding {op['rounding']}"
    if kind == 5 and op:  # kernel and op type
        op["kernel"] = rng.randrange(24)
        if rng.random() < 0.5:
            op["type"] = rng.randrange(18)
        return f"op {oi} type {op['type']} kernel {op['kernel']}"
    if kind == 6 and op:  # scratch over an input or output, or resized
        ids = [i for i in b.op_ids(oi) if i < len(b.tensors)]
        targets = [b.tensors[i]["offset"] for i in ids if b.tensors[i]["mem"] == B.MEM_ARENA]
        op["scratch_offset"] = _u32(rng.choice(targets + [0, arena - 4, arena]))
        op["scratch_size"] = _u32(rng.choice([op["scratch_size"], 0, 4, 64, 4096, arena]))
        return f"op {oi} scratch {op['scratch_size']}@{op['scratch_offset']}"
    if kind == 7 and op and b.op_ids(oi):  # an io id swapped, omitted or out of range
        ids = b.op_ids(oi)
        k = rng.randrange(len(ids))
        value = rng.choice([0xFFFF, len(b.tensors), rng.randrange(len(b.tensors)), 0])
        b.set_op_id(oi, k, value)
        return f"op {oi} io {k} = {value}"
    if kind == 8 and op:  # io counts
        op["n_in"], op["n_out"] = rng.randrange(10), rng.randrange(4)
        return f"op {oi} n_in {op['n_in']} n_out {op['n_out']}"
    fits = op and op["params_offset"] + op["params_size"] <= len(b.b)
    if kind == 9 and fits and op["params_size"] >= 4:  # one params word
        at = op["params_offset"] + 4 * rng.randrange(op["params_size"] // 4)
        value = rng.choice(I32)
        struct.pack_into("<i", b.b, at, value)
        return f"op {oi} params word at {at} = {value}"
    if kind == 10:  # the arena shrinks (offsets stay) or the counts shrink
        if rng.random() < 0.5:
            b.h["arena_size"] = _u32(rng.choice([0, 16, arena // 2, arena - 16]))
            return f"arena_size {b.h['arena_size']}"
        b.h["n_ops"] = rng.randrange(len(b.ops) + 1)
        b.ops = b.ops[: b.h["n_ops"]]
        return f"n_ops {b.h['n_ops']}"
    if op:  # params_size / offset lies
        op["params_size"] = _u32(rng.choice([0, 4, op["params_size"] + 4, 0xFFFFFFFF]))
        return f"op {oi} params_size {op['params_size']}"
    return "nothing"


def make_case(seed_blob: bytes, rng: random.Random) -> tuple[bytes, str]:
    b = Blob(seed_blob)
    what = [lie(b, rng) for _ in range(rng.choice([1, 1, 2, 3, 4]))]
    return b.pack(), "; ".join(what)


def host_verdict(blob: bytes, x: bytes) -> tuple[str, bytes]:
    """('refused', b'') or ('ran', output 0's bytes) from the host engine."""
    try:
        m = Model(blob)
    except ModelError:
        return "refused", b""
    inp = m.input(0)
    inp[...] = np.frombuffer(x[: inp.nbytes], inp.dtype).reshape(inp.shape)
    try:
        m.invoke()
    except ModelError:
        return "kernel error", b""
    return "ran", m.output(0).tobytes()


# A fresh zeroed arena, as the host engine's, so that a lie that leaves an output
# unwritten reads the same zeros on both sides (the static arena holds old tensors).
BOARD_CODE = """\
_b = binascii.a2b_base64('{blob}')
try:
    _m = microai.Model(_b, arena=bytearray({arena}) if {arena} else None)
except (ValueError, MemoryError) as e:
    print('refused', type(e).__name__, e)
else:
    try:
        print('ran', binascii.hexlify(_m.run(binascii.a2b_base64('{x}'))).decode())
    except ValueError as e:
        print('kernel error', e)
_b = _m = None
gc.collect()
"""


def input_bytes(blob: bytes, rng: random.Random) -> bytes:
    """Random bytes for input 0 as the blob declares it (floats in [-1, 1))."""
    try:
        m = Model(blob)
    except ModelError:
        return b""
    inp = m.input(0)
    if inp.dtype == np.float32:
        return np.asarray([rng.uniform(-1, 1) for _ in range(inp.size)], np.float32).tobytes()
    return rng.randbytes(inp.nbytes)


def run(n: int, board: str, seed: int, timeout: float = 60.0, log=print) -> dict:
    rng = random.Random(seed)
    pool = seeds()
    stats = {"blobs": 0, "refused": 0, "ran": 0, "kernel_errors": 0, "arena_too_small": 0}
    stats.update({"hardfaults_or_hangs": 0, "disagreements": 0, "failures": []})
    t = None
    start = time.monotonic()
    try:
        for k in range(n):
            if t is None:
                t = connect(board=board)
                t.exec("import microai, binascii, gc")
            blob, what = make_case(rng.choice(pool), rng)
            x = input_bytes(blob, rng)
            want, want_out = host_verdict(blob, x)
            arena = B.read_header(blob)["arena_size"] + 16
            code = BOARD_CODE.format(
                arena=arena if arena <= 16384 else 0,
                blob=binascii.b2a_base64(blob, newline=False).decode(),
                x=binascii.b2a_base64(x, newline=False).decode(),
            )
            stats["blobs"] += 1
            try:
                out = t.exec(code, timeout=timeout).strip()
            except BoardException as e:  # a Python exception we did not expect
                out = f"raised {e}"
            except DeviceError as e:
                stats["hardfaults_or_hangs"] += 1
                stats["failures"].append({"case": k, "lie": what, "error": str(e)[:300]})
                log(f"case {k}: board lost ({what}): {str(e)[:200]}")
                t.close()
                t = None
                continue
            verdict = out.split(" ", 1)[0] if out else "nothing"
            if out.startswith("kernel error"):
                verdict = "kernel error"
            got_out = binascii.unhexlify(out.split(" ", 1)[1]) if verdict == "ran" else b""
            if (
                verdict == "refused"
                and want == "ran"
                and ("arena too small" in out or "MemoryError" in out or "no room" in out)
            ):
                stats["arena_too_small"] += 1  # the board has less RAM than the PC
                continue
            if arena > 16384 and verdict == want == "ran":
                got_out = want_out  # the static arena: outputs may read its old bytes
            stats[{"refused": "refused", "ran": "ran"}.get(verdict, "kernel_errors")] += 1
            if verdict != want or got_out != want_out:
                stats["disagreements"] += 1
                stats["failures"].append({"case": k, "lie": what, "host": want, "board": out[:200]})
                log(f"case {k}: host {want}, board {out[:120]!r} ({what})")
    finally:
        if t is not None:
            t.close()
    stats["seconds"] = round(time.monotonic() - start, 1)
    return stats


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--blobs", type=int, default=1000)
    ap.add_argument("--board", default="QEMU_STM32F405")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    r = run(args.blobs, args.board, args.seed)
    failures = r.pop("failures")
    print(
        f"{r['blobs']} malformed blobs on {args.board} in {r['seconds']} s: {r['refused']} "
        f"refused, {r['ran']} ran bit-exact with the host, {r['kernel_errors']} kernel "
        f"errors, {r['arena_too_small']} too big for the board's arena; "
        f"{r['hardfaults_or_hangs']} HardFaults or hangs, {r['disagreements']} disagreements"
    )
    for f in failures[:20]:
        print("  ", f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
