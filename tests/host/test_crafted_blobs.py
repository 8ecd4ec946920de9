"""Blobs that lie consistently (several fields at once, correct CRC) are refused at load,
naming the tensor or op and the check; the arena may never be the blob's own bytes."""

from __future__ import annotations

import re

import pytest

from microai import blob as B
from microai import native
from microai.convert import convert
from microai.engine import Model, ModelError
from microai.paths import ROOT
from microai.testing.crafted import lying_blobs

LIES = lying_blobs()


@pytest.mark.parametrize("name", sorted(LIES))
def test_lying_blob_is_refused(name):
    blob, message = LIES[name]
    with pytest.raises(ModelError, match=re.escape(message)):
        Model(blob)


def _load(buf, blob_at: int, blob_size: int, arena_at: int, arena_size: int) -> int:
    ffi, lib = native.load()
    base = ffi.from_buffer(buf)
    m, err = ffi.new("mai_model *"), ffi.new("mai_error *")
    return lib.mai_load(m, base + blob_at, blob_size, base + arena_at, arena_size, err)


def test_arena_overlapping_the_blob_is_refused():
    _, lib = native.load()
    path = ROOT / "tests" / "fixtures" / "models" / "cov_squeeze.tflite"
    blob = convert(path.read_bytes(), path.name).blob
    need = B.read_header(blob)["arena_size"]
    buf = bytearray(len(blob) + need + 64)
    ffi, _ = native.load()
    pad = (-int(ffi.cast("uintptr_t", ffi.from_buffer(buf)))) % 16
    buf[pad : pad + len(blob)] = blob
    end = pad + len(blob)
    # Beside the blob: fine. Over its last bytes, or over all of it: refused.
    assert _load(buf, pad, len(blob), end, need) == lib.MAI_OK
    assert _load(buf, pad, len(blob), end - 16, need) == lib.MAI_E_ARENA_OVERLAP
    assert _load(buf, pad, len(blob), pad, need) == lib.MAI_E_ARENA_OVERLAP
