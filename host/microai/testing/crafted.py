"""Blobs that lie in ways blind mutation does not find: several fields changed together,
every CRC correct. Each once passed the C loader and then corrupted memory or faulted a
board; each must now be refused at load with the message given here.

Used by tests/host/test_crafted_blobs.py (host engine, also under the sanitizers) and
written into tests/micropython/blob_lies.py by `tests/run_mpy_tests.py --gen-blobs`
(the same blobs on the unix port and every emulated board).
"""

from __future__ import annotations

import struct

from .. import blob as B
from ..paths import ROOT

# Four dims whose product is 2^64 + 96: a uint64 product wraps to 96, the tensor's size.
WRAP_TO_96 = (1568, 5531, 93251, 22809539)
# 65536^4 = 2^64 wraps to 0: a 0-byte tensor that a kernel walks for ever.
WRAP_TO_0 = (65536, 65536, 65536, 65536)

DIMS = "a dim is 0, negative or past the format's limits"
OVERLAP = "scratch, inputs or outputs overlap in the arena"


def patch(blob: bytes, table: str, index: int, **fields) -> bytes:
    """blob with fields of tensor or op `index` replaced, the CRC recomputed."""
    s = {"tensor": B.TENSOR, "op": B.OP}[table]
    h = B.read_header(blob)
    at = h[f"{table}s_offset"] + index * s.size
    b = bytearray(blob)
    b[at : at + s.size] = s.pack(**{**s.unpack(b, at), **fields})
    struct.pack_into("<I", b, 12, B.crc32(b))
    return bytes(b)


def _maxpool(in_dims: tuple[int, ...], in_size: int) -> bytes:
    """A 1x1 MAX_POOL_2D over a tensor whose dims and size are given (any lie)."""
    from ..native import pack as pack_struct

    params = pack_struct(
        "nn_pool_params",
        {
            "stride_h": 1,
            "stride_w": 1,
            "filter_h": 1,
            "filter_w": 1,
            "act": {"min": -128, "max": 127},
        },
    )
    x = B.BlobTensor("s8", (1, 2, 2, 4), offset=0)
    y = B.BlobTensor("s8", (1, 2, 2, 4), offset=16)
    blob = B.pack([x, y], [B.BlobOp(4, 7, [0], [1], params)], [0], [1], arena_size=32)
    return patch(blob, "tensor", 0, dims=list(in_dims), size=in_size)


def _squeeze_model() -> bytes:
    from ..convert import convert

    path = ROOT / "tests" / "fixtures" / "models" / "cov_squeeze.tflite"
    return convert(path.read_bytes(), path.name).blob


def _op(blob: bytes, i: int) -> dict:
    h = B.read_header(blob)
    return B.OP.unpack(blob, h["ops_offset"] + i * B.OP.size)


def _op_tensor(blob: bytes, i: int, k: int) -> int:
    """Tensor id of op i's k-th io (inputs first, then outputs)."""
    return struct.unpack_from("<H", blob, _op(blob, i)["io_offset"] + 2 * k)[0]


def _tensor(blob: bytes, t: int) -> dict:
    h = B.read_header(blob)
    return B.TENSOR.unpack(blob, h["tensors_offset"] + t * B.TENSOR.size)


def _scratch_over_input() -> bytes:
    """The first CONV's im2col scratch placed over its own input."""
    blob = _squeeze_model()
    x = _tensor(blob, _op_tensor(blob, 0, 0))
    assert _op(blob, 0)["scratch_size"] > 0
    return patch(blob, "op", 0, scratch_offset=x["offset"])


def _output_over_input() -> bytes:
    """The first CONV writing its output over its input."""
    blob = _squeeze_model()
    op = _op(blob, 0)
    x = _tensor(blob, _op_tensor(blob, 0, 0))
    y_id = _op_tensor(blob, 0, op["n_in"])
    return patch(blob, "tensor", y_id, offset=x["offset"])


def lying_blobs() -> dict[str, tuple[bytes, str]]:
    """name -> (blob, what the loader says about it)."""
    return {
        "DIMS_WRAP_96": (_maxpool(WRAP_TO_96, 96), DIMS),
        "DIMS_WRAP_0": (_maxpool(WRAP_TO_0, 0), DIMS),
        "DIM_ZERO": (_maxpool((1, 0, 2, 4), 0), DIMS),
        "DIM_NEGATIVE": (_maxpool((1, -2, -2, 4), 16), DIMS),
        # 2^23 + 4096 elements: every dim is fine, the product is past the limit.
        "ELEMENTS": (_maxpool((1, 2049, 4096, 1), 2049 * 4096), DIMS),
        "SCRATCH_OVER_INPUT": (_scratch_over_input(), OVERLAP),
        "OUTPUT_OVER_INPUT": (_output_over_input(), OVERLAP),
    }
