#!/usr/bin/env python3
"""Fuzz the blob loader and executor: mutated blobs must be refused or run safely.

Each case takes a valid blob (a fixture model converted by microai), mutates it — bit
flips, byte overwrites, truncation, a header, tensor or op field set to an extreme —
and, most of the time, fixes up the CRC so the mutation reaches the deeper checks. The
C loader must refuse the blob with a ModelError, or accept it and then invoke without
touching memory outside the blob and the arena. Run it under AddressSanitizer and UBSan
(`make fuzz` does) so that any stray access aborts the run.

    tests/fuzz/fuzz_blob.py [--iterations N] [--seed S]
"""

from __future__ import annotations

import argparse
import random
import struct
import sys

import numpy as np

from microai import blob as B
from microai.convert import convert
from microai.engine import Model, ModelError
from microai.paths import ROOT

MODELS = ["digits_cnn", "cov_elementwise", "cov_pool_mean", "cov_float_io", "cov_dwconv"]
EXTREMES = [0, 1, 0x7F, 0x80, 0xFF, 0xFFFF, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF]


def seeds() -> list[bytes]:
    fixtures = ROOT / "tests" / "fixtures" / "models"
    return [convert((fixtures / f"{m}.tflite").read_bytes(), m).blob for m in MODELS]


def fix_crc(b: bytearray) -> None:
    if len(b) >= B.HEADER.size:
        total = struct.unpack_from("<I", b, 8)[0]
        if B.CRC_START <= total <= len(b):
            struct.pack_into("<I", b, 12, B.crc32(b[:total]))


def field_offsets(b: bytes) -> list[tuple[int, int]]:
    """(offset, size) of every header, tensor and op field of a valid blob."""
    h = B.read_header(b)
    out = [
        (off, _size(code))
        for (_, code), off in zip(B.HEADER.fields, B.HEADER.offsets().values(), strict=True)
    ]
    for table, struct_, n in (
        (h["tensors_offset"], B.TENSOR, h["n_tensors"]),
        (h["ops_offset"], B.OP, h["n_ops"]),
    ):
        for i in range(n):
            for (_, code), off in zip(struct_.fields, struct_.offsets().values(), strict=True):
                out.append((table + i * struct_.size + off, _size(code)))
    return out


def _size(code: str) -> int:
    return struct.calcsize("<" + code[-1])


def mutate(seed: bytes, rng: random.Random) -> bytes:
    b = bytearray(seed)
    kind = rng.randrange(5)
    if kind == 0:  # bit flips anywhere
        for _ in range(rng.randint(1, 4)):
            i = rng.randrange(len(b))
            b[i] ^= 1 << rng.randrange(8)
    elif kind == 1:  # a structure field set to an extreme value
        off, size = rng.choice(field_offsets(seed))
        value = rng.choice(EXTREMES) & ((1 << (8 * size)) - 1)
        b[off : off + size] = value.to_bytes(size, "little")
    elif kind == 2:  # truncation
        del b[rng.randrange(len(b)) :]
    elif kind == 3:  # a run of random bytes in the tables or params
        h = B.read_header(seed)
        start = rng.randrange(B.HEADER.size, h["data_offset"])
        n = rng.randint(1, 16)
        b[start : start + n] = bytes(rng.randrange(256) for _ in range(n))
    else:  # an op's params byte or io id nudged
        h = B.read_header(seed)
        i = rng.randrange(h["params_offset"], h["data_offset"])
        b[i] = (b[i] + rng.choice((1, -1, 0x40))) & 0xFF
    if rng.random() < 0.9:
        fix_crc(b)
    return bytes(b)


def run(iterations: int, seed: int) -> dict:
    rng = random.Random(seed)
    blobs = seeds()
    refused = ran = kernel_errors = 0
    for _ in range(iterations):
        data = mutate(rng.choice(blobs), rng)
        try:
            m = Model(data)
        except ModelError:
            refused += 1
            continue
        for i in range(m.header["n_inputs"]):
            x = m.input(i)
            x[...] = np.frombuffer(rng.randbytes(x.nbytes), x.dtype).reshape(x.shape)
        try:
            m.invoke()
            ran += 1
        except ModelError:
            kernel_errors += 1
    return {
        "iterations": iterations,
        "refused": refused,
        "ran": ran,
        "kernel_errors": kernel_errors,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--iterations", type=int, default=20000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    print(run(args.iterations, args.seed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
