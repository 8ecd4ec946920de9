"""What a blob holds, read from the blob alone: layers, kernels, shapes, MACs, memory."""

from __future__ import annotations

import struct

from . import blob as B
from . import native

DTYPE_NAMES = {v: k for k, v in B.DTYPES.items()}


def _enum_names(prefix: str) -> dict[int, str]:
    _, lib = native.load()
    return {getattr(lib, n): n[len(prefix) :] for n in dir(lib) if n.startswith(prefix)}


def _shape(t: dict) -> list[int]:
    return t["dims"][B.MAX_RANK - t["rank"] :]


def macs(op_type: str, ins: list[dict | None], outs: list[dict]) -> int:
    """Multiply-accumulates of one op, from its tensors' shapes."""

    def elems(t):
        n = 1
        for d in _shape(t):
            n *= d
        return n

    if op_type == "CONV":
        _, kh, kw, cin = ins[1]["dims"]
        return elems(outs[0]) * kh * kw * cin
    if op_type == "DWCONV":
        _, kh, kw, _ = ins[1]["dims"]
        return elems(outs[0]) * kh * kw
    if op_type == "FC":
        return elems(outs[0]) * ins[1]["dims"][3]
    return 0


def describe(blob: bytes) -> dict:
    """A dict with the header, every tensor and every layer; totals on top."""
    h = B.read_header(blob)
    tensors = [
        B.TENSOR.unpack(blob, h["tensors_offset"] + i * B.TENSOR.size)
        for i in range(h["n_tensors"])
    ]
    op_names, kernel_names = _enum_names("MAI_OP_"), _enum_names("NN_KERNEL_")
    layers = []
    total_macs = 0
    for i in range(h["n_ops"]):
        op = B.OP.unpack(blob, h["ops_offset"] + i * B.OP.size)
        n = op["n_in"] + op["n_out"]
        ids = struct.unpack_from(f"<{n}H", blob, op["io_offset"])
        ins = [tensors[t] if t != B.NO_TENSOR else None for t in ids[: op["n_in"]]]
        outs = [tensors[t] for t in ids[op["n_in"] :]]
        op_type = op_names.get(op["type"], str(op["type"]))
        m = macs(op_type, ins, outs)
        total_macs += m
        layers.append(
            {
                "index": i,
                "op": op_type,
                "kernel": kernel_names.get(op["kernel"], str(op["kernel"])),
                "inputs": [_shape(t) for t in ins if t is not None and t["mem"] == B.MEM_ARENA],
                "outputs": [_shape(t) for t in outs],
                "macs": m,
                "weight_bytes": sum(
                    t["size"] for t in ins if t is not None and t["mem"] == B.MEM_BLOB
                ),
                "input_offsets": [
                    t["offset"] for t in ins if t is not None and t["mem"] == B.MEM_ARENA
                ],
                "output_offsets": [t["offset"] for t in outs],
                "scratch": [op["scratch_offset"], op["scratch_size"]]
                if op["scratch_size"]
                else None,
            }
        )
    io = struct.unpack_from(f"<{h['n_inputs'] + h['n_outputs']}H", blob, h["io_offset"])
    io_desc = [
        {
            "shape": _shape(tensors[t]),
            "dtype": DTYPE_NAMES[tensors[t]["dtype"]],
            "zero_point": tensors[t]["zero_point"],
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
