"""Every fuzzer reproducer in tests/fuzz/regress/ is refused or runs safely.

Each .mai there once crashed the C core under libFuzzer (tests/fuzz/fuzz_blob.c);
tests/fuzz/regress/README.md says what each one did. The blob is loaded through the host
engine, the model inputs filled as the fuzz harness fills them (from the bytes after
the blob, else a fixed pattern), and invoked: the loader must refuse it with a
ModelError, or the model must run (a kernel may report an error). `make test-sanitize`
runs this under ASan and UBSan, where a stray access or undefined behaviour aborts.
"""

from __future__ import annotations

import struct

import numpy as np
import pytest

from microai import blob as B
from microai.engine import Model, ModelError
from microai.paths import ROOT

REGRESS = sorted((ROOT / "tests" / "fuzz" / "regress").glob("*.mai"))


def arena_fill(data: bytes, start: int, n: int) -> bytes:
    """The bytes the harness writes at arena offsets [start, start + n)."""
    total = struct.unpack_from("<I", data, 8)[0] if len(data) >= B.HEADER.size else 0
    tail = data[total:] if B.HEADER.size <= total <= len(data) else b""
    if tail:
        return bytes(tail[i % len(tail)] for i in range(start, start + n))
    return bytes((i * 151 + 17) & 0xFF for i in range(start, start + n))


@pytest.mark.parametrize("path", REGRESS, ids=[p.stem for p in REGRESS])
def test_reproducer_is_refused_or_runs(path):
    data = path.read_bytes()
    try:
        m = Model(data)
    except ModelError:
        return
    h = m.header
    for i in range(h["n_inputs"]):
        t = struct.unpack_from("<H", data, h["io_offset"] + 2 * i)[0]
        e = B.TENSOR.unpack(data, h["tensors_offset"] + t * B.TENSOR.size)
        x = m.input(i)
        raw = arena_fill(data, e["offset"], x.nbytes)
        x[...] = np.frombuffer(raw, x.dtype).reshape(x.shape)
    try:
        m.invoke()
    except ModelError:
        pass
