"""The blob (.mai) format, version 2: Python mirror of cmodules/microai/runtime/mai_blob.h.

Each struct is listed field for field, in the C order, with the same names and the
same version constant; tests/host/test_blob.py checks sizes and offsets against the C
header through cffi. docs/blob-format.md describes the format.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

from . import MAX_ARENA_BYTES, InputError

MAGIC = 0x3149414D  # "MAI1"
VERSION = 2
ALIGN = 16
MAX_RANK = 4
NO_TENSOR = 0xFFFF
CRC_START = 16  # the CRC covers bytes [16, total_size)

# What the host converter puts in a blob (the format's fields could hold more): every
# dimension 1..MAX_DIM, every tensor under 2 GiB, an arena of at most MAX_ARENA_BYTES.
MAX_DIM = 0xFFFF
MAX_TENSOR_BYTES = 2**31 - 1

# Storage types (mai_storage), with their bits per element; layouts (mai_layout) and
# roundings (nn_rounding). tests/host/test_blob.py checks them against the C headers.
STORAGES = {"s8": 0, "s32": 1, "f32": 2, "s16": 3, "s4": 4, "b1": 5}
STORAGE_BITS = {"s8": 8, "s32": 32, "f32": 32, "s16": 16, "s4": 4, "b1": 1}
LAYOUTS = {
    "standard": 0,
    "winograd": 1,
    "block_sparse": 2,
    "wide": 3,
    "s4_rows": 4,
    "b1_dense": 5,
}
ROUNDINGS = {"double": 0, "single": 1}
MAX_ELEMENTS = 1 << 23  # MAI_MAX_ELEMENTS
MEM_ARENA, MEM_BLOB, MEM_STATE = 0, 1, 2  # mai_mem


@dataclass(frozen=True)
class Struct:
    """A C struct as (name, struct-module code) fields, little-endian, naturally aligned."""

    name: str
    fields: tuple[tuple[str, str], ...]

    @property
    def fmt(self) -> str:
        return "<" + "".join(code for _, code in self.fields)

    @property
    def size(self) -> int:
        return struct.calcsize(self.fmt)

    def offsets(self) -> dict[str, int]:
        out, off = {}, 0
        for name, code in self.fields:
            out[name] = off
            off += struct.calcsize("<" + code)
        return out

    def pack(self, **values) -> bytes:
        flat = []
        for name, code in self.fields:
            n = int(code[:-1]) if code[0].isdigit() else 1
            v = values.get(name, [0] * n if n > 1 else 0)
            flat.extend(v if code[0].isdigit() else [v])
        return struct.pack(self.fmt, *flat)

    def unpack(self, data: bytes, offset: int = 0) -> dict:
        raw = list(struct.unpack_from(self.fmt, data, offset))
        out = {}
        for name, code in self.fields:
            n = int(code[:-1]) if code[0].isdigit() else 1
            out[name] = raw[:n] if code[0].isdigit() else raw[0]
            raw = raw[n:]
        return out


HEADER = Struct(
    "mai_header",
    (
        ("magic", "I"),
        ("version", "H"),
        ("header_size", "H"),
        ("total_size", "I"),
        ("crc32", "I"),
        ("arena_size", "I"),
        ("flags", "I"),
        ("n_tensors", "H"),
        ("n_ops", "H"),
        ("n_inputs", "H"),
        ("n_outputs", "H"),
        ("tensors_offset", "I"),
        ("ops_offset", "I"),
        ("io_offset", "I"),
        ("params_offset", "I"),
        ("data_offset", "I"),
        ("data_size", "I"),
        ("reserved", "2I"),
    ),
)

TENSOR = Struct(
    "mai_tensor",
    (
        ("storage", "B"),
        ("rank", "B"),
        ("mem", "B"),
        ("layout", "B"),
        ("offset", "I"),
        ("size", "I"),
        ("dims", "4i"),
        ("zero_point", "i"),
        ("scale", "f"),
        ("aux_offset", "I"),
        ("aux_size", "I"),
        ("reserved", "I"),
    ),
)

OP = Struct(
    "mai_op",
    (
        ("type", "B"),
        ("kernel", "B"),
        ("n_in", "B"),
        ("n_out", "B"),
        ("io_offset", "I"),
        ("params_offset", "I"),
        ("params_size", "I"),
        ("scratch_offset", "I"),
        ("scratch_size", "I"),
        ("rounding", "B"),
        ("reserved", "3B"),
        ("reserved2", "I"),
    ),
)

STRUCTS = (HEADER, TENSOR, OP)


def align(n: int, a: int = ALIGN) -> int:
    return (n + a - 1) // a * a


def crc32(blob: bytes | bytearray) -> int:
    return zlib.crc32(memoryview(blob)[CRC_START:]) & 0xFFFFFFFF


class BlobError(InputError, ValueError):
    pass


def storage_bytes(storage: str, shape: tuple[int, ...]) -> int:
    """Bytes of a tensor of `shape` in `storage`, standard layout (mai_exec.c's rule)."""
    n = 1
    for d in shape:
        n *= d
    if storage == "b1":  # 32-bit words along the innermost axis
        c = shape[-1] if shape else 1
        return n // c * ((c + 31) // 32) * 4
    return (n * STORAGE_BITS[storage] + 7) // 8


def element_bytes(storage: str, values) -> bytes:
    """The bytes of integer `values` (any shape, row-major) in `storage`, standard
    layout: little-endian s8/s16/s32/f32; s4 two per byte over the whole tensor, element
    2i in the low nibble, an odd count leaving a zero high nibble (TFLite's INT4); b1
    from its int32 words (LCE's bit-packed tensors)."""
    import numpy as np

    a = np.ascontiguousarray(values).reshape(-1)
    if storage == "s4":
        if a.size and (a.min() < -8 or a.max() > 7):
            raise BlobError("an int4 value outside [-8, 7]")
        n = a.astype(np.int64) & 0xF
        if n.size % 2:
            n = np.append(n, 0)
        return (n[0::2] | (n[1::2] << 4)).astype(np.uint8).tobytes()
    if storage == "b1":  # the words themselves ([..., ceil(channels / 32)], int32)
        return a.astype("<i4").tobytes()
    dtypes = {"s8": "<i1", "s16": "<i2", "s32": "<i4", "f32": "<f4"}
    if storage not in dtypes:
        raise BlobError(f"no standard byte order for storage {storage!r}")
    return a.astype(dtypes[storage]).tobytes()


def int4_values(raw: bytes, n: int):
    """element_bytes("s4", ...)'s inverse: the first n int4 values of raw as int8."""
    import numpy as np

    b = np.frombuffer(raw, np.uint8)
    v = np.empty(2 * b.size, np.int8)
    v[0::2] = (b & 0xF).astype(np.int8)
    v[1::2] = (b >> 4).astype(np.int8)
    v[v > 7] -= 16
    return v[:n]


@dataclass
class BlobTensor:
    storage: str  # key of STORAGES
    shape: tuple[int, ...]
    zero_point: int = 0
    mem: int = MEM_ARENA
    offset: int = 0  # arena offset; for constants filled in by pack()
    data: bytes | None = None  # constant bytes (mem == MEM_BLOB)
    scale: float = 0.0  # per-tensor scale, 0.0 for none (model inputs and outputs have one)
    layout: str = "standard"  # key of LAYOUTS
    aux: bytes | None = None  # the layout's metadata (a constant's), placed by pack()

    @property
    def size(self) -> int:
        if self.layout != "standard" and self.data is not None:
            return len(self.data)
        return storage_bytes(self.storage, self.shape)


@dataclass
class BlobOp:
    type: int  # mai_op_type value
    kernel: int  # nn_kernel value
    inputs: list[int]  # tensor ids, NO_TENSOR for omitted
    outputs: list[int]
    params: bytes
    scratch_offset: int = 0
    scratch_size: int = 0
    rounding: str = "double"  # key of ROUNDINGS


def pack(
    tensors: list[BlobTensor],
    ops: list[BlobOp],
    inputs: list[int],
    outputs: list[int],
    arena_size: int,
) -> bytes:
    """Lay out and serialize a blob; constants are placed 16-byte aligned."""
    if len(tensors) >= NO_TENSOR or len(ops) > 0xFFFF:
        raise BlobError(f"too many tensors or ops for blob format {VERSION}")
    if not 0 <= arena_size <= MAX_ARENA_BYTES:
        raise BlobError(f"an arena of {arena_size:,} bytes; blobs take at most {MAX_ARENA_BYTES:,}")
    for i, t in enumerate(tensors):
        _check_tensor(i, t)
    tensors_offset = align(HEADER.size)
    ops_offset = align(tensors_offset + TENSOR.size * len(tensors))
    io_offset = ops_offset + OP.size * len(ops)
    io = bytearray(struct.pack(f"<{len(inputs) + len(outputs)}H", *inputs, *outputs))
    op_io_offsets = []
    for op in ops:
        op_io_offsets.append(io_offset + len(io))
        io += struct.pack(f"<{len(op.inputs) + len(op.outputs)}H", *op.inputs, *op.outputs)
    params_offset = align(io_offset + len(io))
    params = bytearray()
    op_params_offsets = []
    for op in ops:
        op_params_offsets.append(params_offset + len(params))
        params += op.params
        params += bytes(align(len(params), 4) - len(params))
    data_offset = align(params_offset + len(params))
    data = bytearray()
    const_offsets = {}
    for i, t in enumerate(tensors):
        if t.mem == MEM_BLOB:
            data += bytes(align(len(data)) - len(data))
            const_offsets[i] = data_offset + len(data)
            if t.data is None or len(t.data) != t.size:
                raise BlobError(f"constant tensor {i} has no data of {t.size} bytes")
            data += t.data
    aux_offsets = {}
    for i, t in enumerate(tensors):
        if t.aux:
            if t.mem != MEM_BLOB or t.layout == "standard":
                raise BlobError(f"tensor {i}: only a prepared constant layout has aux bytes")
            data += bytes(align(len(data)) - len(data))
            aux_offsets[i] = data_offset + len(data)
            data += t.aux
    total = data_offset + align(len(data))
    if total > 0xFFFFFFFF:
        raise BlobError(
            f"the blob would have {total:,} bytes; blob format {VERSION} holds at most 4 GiB"
        )
    blob = bytearray(total)
    for i, t in enumerate(tensors):
        if len(t.shape) > MAX_RANK:
            raise BlobError(f"tensor {i} has rank {len(t.shape)} > {MAX_RANK}")
        dims = [1] * (MAX_RANK - len(t.shape)) + list(t.shape)
        offset = const_offsets.get(i, t.offset)
        blob[tensors_offset + i * TENSOR.size : tensors_offset + (i + 1) * TENSOR.size] = (
            TENSOR.pack(
                storage=STORAGES[t.storage],
                rank=len(t.shape),
                mem=t.mem,
                layout=LAYOUTS[t.layout],
                offset=offset,
                size=t.size,
                dims=dims,
                zero_point=t.zero_point,
                scale=t.scale,
                aux_offset=aux_offsets.get(i, 0),
                aux_size=len(t.aux) if t.aux else 0,
            )
        )
    for i, op in enumerate(ops):
        blob[ops_offset + i * OP.size : ops_offset + (i + 1) * OP.size] = OP.pack(
            type=op.type,
            kernel=op.kernel,
            n_in=len(op.inputs),
            n_out=len(op.outputs),
            io_offset=op_io_offsets[i],
            params_offset=op_params_offsets[i],
            params_size=len(op.params),
            scratch_offset=op.scratch_offset,
            scratch_size=op.scratch_size,
            rounding=ROUNDINGS[op.rounding],
        )
    blob[io_offset : io_offset + len(io)] = io
    blob[params_offset : params_offset + len(params)] = params
    blob[data_offset : data_offset + len(data)] = data
    header = dict(
        magic=MAGIC,
        version=VERSION,
        header_size=HEADER.size,
        total_size=total,
        crc32=0,
        arena_size=arena_size,
        n_tensors=len(tensors),
        n_ops=len(ops),
        n_inputs=len(inputs),
        n_outputs=len(outputs),
        tensors_offset=tensors_offset,
        ops_offset=ops_offset,
        io_offset=io_offset,
        params_offset=params_offset,
        data_offset=data_offset,
        data_size=len(data),
    )
    blob[: HEADER.size] = HEADER.pack(**header)
    header["crc32"] = crc32(blob)
    blob[: HEADER.size] = HEADER.pack(**header)
    return bytes(blob)


def _check_tensor(i: int, t: BlobTensor) -> None:
    """Refuse what the format cannot hold, before anything is packed."""
    if t.storage not in STORAGES or t.layout not in LAYOUTS:
        raise BlobError(f"tensor {i} has storage {t.storage}/{t.layout}, which blobs cannot hold")
    if len(t.shape) > MAX_RANK:
        raise BlobError(f"tensor {i} has rank {len(t.shape)} > {MAX_RANK}")
    if not all(1 <= d <= MAX_DIM for d in t.shape):
        raise BlobError(f"tensor {i} has shape {list(t.shape)}; dimensions are 1..{MAX_DIM}")
    n = 1
    for d in t.shape:
        n *= d
    if n > MAX_ELEMENTS:
        raise BlobError(f"tensor {i} has {n:,} elements; blobs hold at most {MAX_ELEMENTS:,}")
    if t.size > MAX_TENSOR_BYTES:
        raise BlobError(f"tensor {i} has {t.size:,} bytes; at most {MAX_TENSOR_BYTES:,}")
    if not -(2**31) <= t.zero_point < 2**31 or not 0 <= t.offset <= 0xFFFFFFFF:
        raise BlobError(f"tensor {i}: zero point {t.zero_point} or offset {t.offset} out of range")


def read_header(blob: bytes) -> dict:
    if len(blob) < HEADER.size:
        raise BlobError(f"blob has {len(blob)} bytes, less than its {HEADER.size}-byte header")
    return HEADER.unpack(blob)
