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
                "weight_bytes": sum(  # a layout's metadata (aux) included
                    t["size"] + t["aux_size"]
                    for t in ins
                    if t is not None and t["mem"] == B.MEM_BLOB
                ),
                # The weights' (input 1's) layout: "standard", or prepared for the kernel.
                "weights_layout": LAYOUT_NAMES.get(ins[1]["layout"], str(ins[1]["layout"]))
                if len(ins) > 1 and ins[1] is not None and ins[1]["mem"] == B.MEM_BLOB
                else None,
                "input_offsets": [
                    t["offset"] for t in ins if t is not None and t["mem"] == B.MEM_ARENA
                ],
                "output_offsets": [t["offset"] for t in outs],
                "output_over_input": _over(ins[0] if ins else None, outs[0] if outs else None),
                "scratch": [op["scratch_offset"], op["scratch_size"]]
                if op["scratch_size"]
                else None,
                # What the cost model reads (cost.blob_features): the op's params, the
                # weights' (input 1's) shape and bytes as laid out (a block-sparse
                # layout's stored blocks).
                "params": params,
                "weights_shape": _shape(ins[1])
                if len(ins) > 1 and ins[1] is not None and ins[1]["mem"] == B.MEM_BLOB
                else None,
                "weights_data_bytes": ins[1]["size"]
                if len(ins) > 1 and ins[1] is not None and ins[1]["mem"] == B.MEM_BLOB
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
    mem = _memory(tensors, h, blob)
    return {
        "version": h["version"],
        "arena_bytes": h["arena_size"],
        "memory": mem,
        "flash_bytes": h["total_size"],
        "weight_bytes": h["data_size"],
        "macs": total_macs,
        "inputs": io_desc[: h["n_inputs"]],
        "outputs": io_desc[h["n_inputs"] :],
        "layers": layers,
    }


def _over(x: dict | None, y: dict | None) -> str | None:
    """How output 0 shares bytes with input 0: "in place" (the same first byte),
    "trails by N" (starting N bytes before it and running into it), or None."""
    if x is None or y is None or x["mem"] != B.MEM_ARENA or y["mem"] != B.MEM_ARENA:
        return None
    if y["offset"] == x["offset"]:
        return "in place"
    if y["offset"] < x["offset"] < y["offset"] + y["size"]:
        return f"trails by {x['offset'] - y['offset']}"
    return None


def _union_bytes(buffers: list[dict]) -> int:
    """The bytes the buffers cover: an output trailing its input (starting before it and
    running into it) shares bytes with it at that op, counted once."""
    total, end = 0, 0
    for b in sorted(buffers, key=lambda b: b["offset"]):
        lo, hi = max(b["offset"], end), b["offset"] + b["size"]
        total += max(0, hi - lo)
        end = max(end, hi)
    return total


def _bands(tensors: list[dict], span: dict, written: set[int], read: set[int]) -> None:
    """Lifetimes of tensors that views of their rows use (patches.py's bands, read from
    the blob alone): rows of a tensor that ops read but none writes keep the tensor
    they lie in live until then (of the tensors around them, the last written before
    they are read); a tensor no op writes, assembled from rows that ops write and none
    reads, is live from the first of them on."""
    inside = lambda v, c: (  # noqa: E731
        tensors[c]["offset"] <= tensors[v]["offset"]
        and tensors[v]["offset"] + tensors[v]["size"] <= tensors[c]["offset"] + tensors[c]["size"]
        and tensors[v]["size"] < tensors[c]["size"]
    )
    for v in list(span):
        if v not in written:  # rows read: the tensor they lie in lives on
            around = [c for c in span if c in written and inside(v, c) and span[c][0] <= span[v][0]]
            if around:
                c = max(around, key=lambda c: span[c][0])
                span[c][1] = max(span[c][1], span[v][1])
    for c in span:
        if c not in written:  # assembled from its rows
            rows = [v for v in span if v in written and v not in read and inside(v, c)]
            if rows:
                span[c][0] = min(span[c][0], *(span[v][0] for v in rows))


def _memory(tensors: list[dict], h: dict, blob: bytes) -> dict:
    """The arena over time: each buffer's bytes and the ops it is live over, the bytes
    live at each op, and the lower bound no placement of these buffers can beat (the
    most bytes live at one op; tensors at one offset with touching lifetimes, the views
    and in-place outputs, are one buffer; an output trailing its input shares bytes with
    it, counted once)."""
    n_ops = h["n_ops"]
    span: dict[int, list[int]] = {}

    def touch(t: int, k: int) -> None:
        if t == B.NO_TENSOR or tensors[t]["mem"] != B.MEM_ARENA:
            return
        lo, hi = span.get(t, [k, k])
        span[t] = [min(lo, k), max(hi, k)]

    n_io = h["n_inputs"] + h["n_outputs"]
    io = _ids(blob, h["io_offset"], n_io, len(tensors), "the model's input/output ids")
    for t in io[: h["n_inputs"]]:
        touch(t, 0)
    scratch = []
    written: set[int] = set()
    read: set[int] = set()
    for i in range(n_ops):
        op = _table(B.OP, blob, h["ops_offset"] + i * B.OP.size, f"op {i}")
        ids = _ids(blob, op["io_offset"], op["n_in"] + op["n_out"], len(tensors), f"op {i}")
        read.update(ids[: op["n_in"]])
        written.update(ids[op["n_in"] :])
        for t in ids:
            touch(t, i)
        if op["scratch_size"]:
            scratch.append(
                {
                    "name": f"scratch {i}",
                    "offset": op["scratch_offset"],
                    "size": op["scratch_size"],
                    "first": i,
                    "last": i,
                }
            )
    for t in io[h["n_inputs"] :]:
        touch(t, max(n_ops - 1, 0))
    _bands(tensors, span, written | set(io[: h["n_inputs"]]), read | set(io[h["n_inputs"] :]))
    # One buffer per offset and chain of touching lifetimes.
    buffers: list[dict] = []
    for t, (lo, hi) in sorted(span.items(), key=lambda kv: (tensors[kv[0]]["offset"], kv[1][0])):
        off, size = tensors[t]["offset"], tensors[t]["size"]
        prev = buffers[-1] if buffers else None
        if prev and prev["offset"] == off and "tensors" in prev and lo <= prev["last"] + 0:
            prev["last"] = max(prev["last"], hi)
            prev["size"] = max(prev["size"], size)
            prev["tensors"].append(t)
            continue
        buffers.append(
            {
                "name": f"tensor {t}",
                "offset": off,
                "size": size,
                "first": lo,
                "last": hi,
                "tensors": [t],
            }
        )
    allb = buffers + scratch
    live = [_union_bytes([b for b in allb if b["first"] <= k <= b["last"]]) for k in range(n_ops)]
    peak_op = max(range(n_ops), key=lambda k: live[k]) if n_ops else 0
    return {
        "lower_bound": max(live, default=0),
        "peak_op": peak_op,
        "live_bytes": live,
        "buffers": allb,
    }


def plot_memory(info: dict, path, title: str = "") -> None:
    """The arena timeline as a PNG: each buffer a box (ops it lives over x its bytes),
    the arena size and the lower bound marked; below it the bytes live per op, and each
    layer's cost: MACs, weight (flash) bytes and scratch bytes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    mem = info["memory"]
    n = len(info["layers"])
    fig, (ax, ax2, ax3) = plt.subplots(
        3, 1, figsize=(max(6, 0.5 * n + 3), 9), sharex=True, height_ratios=[3, 1, 1.2]
    )
    colors = plt.get_cmap("tab20")
    for i, b in enumerate(mem["buffers"]):
        scratch = b["name"].startswith("scratch")
        ax.add_patch(
            plt.Rectangle(
                (b["first"] - 0.4, b["offset"]),
                b["last"] - b["first"] + 0.8,
                b["size"],
                facecolor="lightgrey" if scratch else colors(i % 20),
                edgecolor="black",
                linewidth=0.5,
                hatch="//" if scratch else None,
            )
        )
    ax.axhline(
        info["arena_bytes"], color="red", linestyle="--", label=f"arena {info['arena_bytes']:,} B"
    )
    ax.set_xlim(-0.6, n - 0.4)
    ax.set_ylim(0, info["arena_bytes"] * 1.08 + 16)
    ax.set_ylabel("arena offset (bytes)")
    ax.legend(loc="upper right")
    ax.set_title(title or "arena")
    ax2.bar(range(n), mem["live_bytes"], color="steelblue")
    ax2.axhline(
        mem["lower_bound"],
        color="black",
        linestyle=":",
        label=f"lower bound {mem['lower_bound']:,} B (op {mem['peak_op']})",
    )
    ax2.set_ylabel("bytes live")
    ax2.legend(loc="upper right")
    layers = info["layers"]
    ax3.bar(range(n), [L["macs"] for L in layers], color="darkorange", label="MACs")
    ax3.set_ylabel("MACs")
    ax4 = ax3.twinx()
    ax4.plot(
        range(n),
        [L["weight_bytes"] for L in layers],
        "o-",
        color="purple",
        ms=4,
        label="weight bytes",
    )
    ax4.plot(
        range(n),
        [(L["scratch"] or [0, 0])[1] for L in layers],
        "s:",
        color="grey",
        ms=3,
        label="scratch bytes",
    )
    ax4.set_ylabel("bytes")
    handles = ax3.get_legend_handles_labels()
    more = ax4.get_legend_handles_labels()
    ax4.legend(handles[0] + more[0], handles[1] + more[1], loc="upper right", fontsize=7)
    ax3.set_xlabel("op")
    ax3.set_xticks(range(n), [f"{L['index']}\n{L['op']}" for L in layers], fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
