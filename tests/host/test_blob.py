"""blob.py mirrors mai_blob.h field for field; the C loader refuses every malformed blob
with an error that names what is wrong."""

from __future__ import annotations

import numpy as np
import pytest

from microai import blob as B
from microai import native
from microai.engine import Model, ModelError


@pytest.mark.parametrize("s", B.STRUCTS, ids=lambda s: s.name)
def test_struct_mirrors_c_header(s):
    ffi, _ = native.load()
    assert ffi.sizeof(s.name) == s.size
    c_fields = [name for name, _ in ffi.typeof(s.name).fields]
    assert c_fields == [name for name, _ in s.fields]
    for name, offset in s.offsets().items():
        assert ffi.offsetof(s.name, name) == offset, name


def test_constants_match_c():
    _, lib = native.load()
    assert lib.MAI_MAGIC == B.MAGIC
    assert lib.MAI_VERSION == B.VERSION
    assert lib.MAI_ALIGN == B.ALIGN
    assert lib.MAI_MAX_RANK == B.MAX_RANK
    assert lib.MAI_NO_TENSOR == B.NO_TENSOR
    assert lib.MAI_MAX_DIM == B.MAX_DIM and lib.MAI_MAX_ELEMENTS == B.MAX_ELEMENTS
    assert lib.MAI_STORAGE_COUNT == len(B.STORAGES) == len(B.STORAGE_BITS)
    for name, value in B.STORAGES.items():
        assert getattr(lib, f"MAI_STORAGE_{name.upper()}") == value
    assert lib.MAI_LAYOUT_COUNT == len(B.LAYOUTS)
    for name, value in B.LAYOUTS.items():
        assert getattr(lib, f"MAI_LAYOUT_{name.upper()}") == value
    assert lib.NN_ROUNDING_COUNT == len(B.ROUNDINGS)
    for name, value in B.ROUNDINGS.items():
        assert getattr(lib, f"NN_ROUNDING_{name.upper()}") == value


def test_crc_matches_c():
    _, lib = native.load()
    data = bytes(np.random.default_rng(0).integers(0, 256, 1000, dtype=np.uint8))
    import zlib

    assert lib.mai_crc32(0, data, len(data)) == zlib.crc32(data)
    assert lib.mai_crc32(0, b"", 0) == 0


def empty_model() -> bytes:
    """A valid blob with no ops: one int8 input that is also the output."""
    t = B.BlobTensor("s8", (1, 4), zero_point=-3)
    return B.pack([t], [], [0], [0], arena_size=16)


def test_minimal_blob_loads_and_roundtrips():
    m = Model(empty_model())
    m.input(0)[:] = np.arange(4, dtype=np.int8)
    m.invoke()
    assert list(m.output(0).ravel()) == [0, 1, 2, 3]
    assert m.arena_info()["arena_size"] == 16


def corrupt(blob: bytes, offset: int, value: bytes, fix_crc: bool = True) -> bytes:
    b = bytearray(blob)
    b[offset : offset + len(value)] = value
    if fix_crc:
        h = B.read_header(b)
        h["crc32"] = B.crc32(b)
        b[: B.HEADER.size] = B.HEADER.pack(**h)
    return bytes(b)


def header_field(name: str) -> int:
    return B.HEADER.offsets()[name]


def tensor_field(blob: bytes, i: int, name: str) -> int:
    return B.read_header(blob)["tensors_offset"] + i * B.TENSOR.size + B.TENSOR.offsets()[name]


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda b: b[:40], "blob truncated"),
        (lambda b: b[:-16], "blob truncated"),
        (lambda b: corrupt(b, 0, b"XXXX"), "bad magic"),
        (lambda b: corrupt(b, header_field("version"), b"\x01\x00"), "reconvert the model"),
        (lambda b: corrupt(b, len(b) - 1, b"\x55", fix_crc=False), "CRC mismatch"),
        (
            lambda b: corrupt(b, header_field("tensors_offset"), b"\x00\x10\x00\x00"),
            "out of bounds",
        ),
        (
            lambda b: corrupt(b, tensor_field(b, 0, "storage"), b"\x09"),
            "invalid tensor at tensor 0: wrong or unknown storage type",
        ),
        (
            lambda b: corrupt(b, tensor_field(b, 0, "size"), b"\x05\x00\x00\x00"),
            "invalid tensor at tensor 0: size does not match shape",
        ),
        (
            lambda b: corrupt(b, tensor_field(b, 0, "offset"), b"\x00\x01\x00\x00"),
            "invalid tensor at tensor 0: outside the blob or the arena",
        ),
        (lambda b: corrupt(b, header_field("n_inputs"), b"\xff\x7f"), "blob sections"),
        (
            lambda b: corrupt(b, B.read_header(b)["io_offset"], b"\x05\x00"),
            "model input/output .* tensor id out of range",
        ),
    ],
)
def test_malformed_blob_is_refused_with_reason(make, message):
    with pytest.raises(ModelError, match=message):
        Model(make(empty_model()))


def test_arena_too_small():
    with pytest.raises(ModelError, match="arena too small"):
        Model(empty_model(), arena=bytearray(8))


def test_wrong_input_size_and_closed_model():
    m = Model(empty_model())
    with pytest.raises(ModelError, match="input 0: 5 elements given, the model takes 4"):
        m.run(np.zeros(5, np.int8))
    with pytest.raises(ModelError, match="dtype float32 given, the model takes int8"):
        m.run(np.zeros(4, np.float32))
    with pytest.raises(ModelError, match="model has 1 input"):
        m.input(1)
    m.close()
    with pytest.raises(ModelError, match="model is closed"):
        m.invoke()
