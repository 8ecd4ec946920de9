"""What a blob holds, read from the blob alone: layers, kernels, shapes, MACs, memory,
the weights' layouts.

Nothing in the blob is trusted: every table, id list and tensor id is checked against
the blob's length and counts before it is read (BlobError naming the field), so a blob
the C loader has not seen yet gives an error, not a crash or a big allocation.
"""

from __future__ import annotations

import struct

from . import blob as B
from . import cost, native

STORAGE_NAMES = {v: k for k, v in B.STORAGES.items()}
ROUNDING_NAMES = {v: k for k, v in B.ROUNDINGS.items()}
LAYOUT_NAMES = {v: k for k, v in B.LAYOUTS.items()}


def _shape(t: dict) -> list[int]:
    return t["dims"][B.MAX_RANK - min(t["rank"], B.MAX_RANK) :]


def _table(s: B.Struct, blob: bytes, offset: int, what: str) -> dict:
    if offset + s.size > len(blob):
        raise B.BlobError(f"{what} at byte {offset:,} lies outside the {len(blob):,}-byte blob")
    return s.unpack(blob, offset)


def _ids(blob: bytes, offset: int, n: int, n_tensors: int, what: str) -> list[int]:
    """n u16 tensor ids at offset, each < n_tensors or NO_TENSOR."""
    if offset + 2 * n > len(blob):
        raise B.BlobError(f"{what} at byte {offset:,} lie outside the {len(blob):,}-byte blob")
    ids = list(struct.unpack_from(f"<{n}H", blob, offset))
    bad = [t for t in ids if t >= n_tensors and t != B.NO_TENSOR]
    if bad:
        raise B.BlobError(f"{what} name tensor {bad[0]}; the blob has {n_tensors}")
    return ids


def describe(blob: bytes) -> dict:
    """A dict with the header, every tensor and every layer; totals on top."""
    h = B.read_header(blob)
    if h["magic"] != B.MAGIC or h["version"] != B.VERSION:
        raise B.BlobError(f"not a microai blob of format version {B.VERSION}")
    if h["total_size"] > len(blob):
        raise B.BlobError(f"header total_size {h['total_size']:,} > the {len(blob):,} bytes")
    tensors = [
        _table(B.TENSOR, blob, h["tensors_offset"] + i * B.TENSOR.size, f"tensor {i}")
        for i in range(h["n_tensors"])
    ]
    table = native.table()
    op_names = {t: name for name, t in table["ops"].items()}
    kernel_names = {k.id: name for name, k in table["kernels"].items()}
    layers = []
    total_macs = 0
    for i in range(h["n_ops"]):
        op = _table(B.OP, blob, h["ops_offset"] + i * B.OP.size, f"op {i}")
        n = op["n_in"] + op["n_out"]
        ids = _ids(blob, op["io_offset"], n, len(tensors), f"op {i}'s tensor ids")
        ins = [tensors[t] if t != B.NO_TENSOR else None for t in ids[: op["n_in"]]]
        if B.NO_TENSOR in ids[op["n_in"] :]:
            raise B.BlobError(f"op {i} has an omitted output")
        outs = [tensors[t] for t in ids[op["n_in"] :]]
        op_type = op_names.get(op["type"], str(op["type"]))
        ptype = table["op_params"].get(op_type)
        raw = blob[op["params_offset"] : op["params_offset"] + op["params_size"]]
        try:
            params = native.unpack(ptype, raw) if ptype else {}
        except ValueError:
            raise B.BlobError(f"op {i}: its params are not a {ptype}") from None
        m = cost.macs(
            op_type,
            [_shape(t) if t is not None else None for t in ins],
            [_shape(t) for t in outs],
            params,
        )
        total_macs += m
        layers.append(
            {
                "index": i,
                "op": op_type,
                "kernel": kernel_names.get(op["kernel"], str(op["kernel"])),
                "rounding": ROUNDING_NAMES.get(op["rounding"], str(op["rounding"])),
                "inputs": [_shape(t) for t in ins if t is not None and t["mem"] == B.MEM_ARENA],
                "outputs": [_shape(t) for t in outs],
                "macs": m,
                "weight_bytes": sum(
                    t["size"] for t in ins if t is not None and t["mem"] == B.MEM_BLOB
                ),
                # The weights' (input 1's) layout: "standard", or prepared for the kernel.
                "weights_layout": LAYOUT_NAMES.get(ins[1]["layout"], str(ins[1]["layout"]))
                if len(ins) > 1 and ins[1] is not None and ins[1]["mem"] == B.MEM_BLOB
                else None,
                "input_offsets": [
                    t["offset"] for t in ins if t is not None and t["mem"] == B.MEM_ARENA
                ],
                "output_offsets": [t["offset"] for t in outs],
                "scratch": [op["scratch_offset"], op["scratch_size"]]
                if op["scratch_size"]
                else None,
            }
        )
    n_io = h["n_inputs"] + h["n_outputs"]
    io = _ids(blob, h["io_offset"], n_io, len(tensors), "the model's input/output ids")
    if B.NO_TENSOR in io:
        raise B.BlobError("a model input or output is omitted")
    io_desc = [
        {
            "shape": _shape(tensors[t]),
            "storage": STORAGE_NAMES.get(tensors[t]["storage"], f"?{tensors[t]['storage']}"),
            "zero_point": tensors[t]["zero_point"],
            "scale": tensors[t]["scale"],
        }
        for t in io
    ]
    return {
        "version": h["version"],
        "arena_bytes": h["arena_size"],
        "flash_bytes": h["total_size"],
        "weight_bytes": h["data_size"],
        "macs": total_macs,
        "inputs": io_desc[: h["n_inputs"]],
        "outputs": io_desc[h["n_inputs"] :],
        "layers": layers,
    }
