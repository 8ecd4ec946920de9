"""TFLite model -> blob: read, alias, lower, plan, pack.

RESHAPE and SQUEEZE become aliases (their output is a view of their input's bytes);
every other op is lowered to one blob op (ops/). Activations are planned into one arena
(planner.py), with an elementwise op's output placed over its input when that input
dies there. The result keeps the map from the model's tensors to the blob's, so
verification can compare every intermediate tensor.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import MAX_ARENA_BYTES, MAX_FILE_BYTES, native
from . import blob as B
from .engine import Model, ModelError
from .golden import DEFAULT_GOLDEN, rounding
from .ir import ConvertError, Graph
from .ops import ALIASES, LOWERINGS, lower, supported_ops
from .planner import Buffer, plan
from .tflite import read_model

_BLOB_DTYPES = {
    np.dtype(np.int8): "s8",
    np.dtype(np.int32): "s32",
    np.dtype(np.float32): "f32",
    np.dtype(np.int16): "s16",
}


@dataclass
class Layer:
    """One blob op, with where it came from."""

    index: int  # blob op index
    source: int  # op index in the .tflite
    opcode: str  # TFLite op name
    type: str  # blob op type (mai_op_type name)
    kernel: str  # nn_kernel name
    inputs: list[int]  # blob tensor ids (NO_TENSOR = omitted)
    outputs: list[int]
    graph_outputs: list[int]  # the model's tensor ids of the outputs
    macs: int = 0
    weight_bytes: int = 0
    scratch: int = 0


@dataclass
class Converted:
    blob: bytes
    graph: Graph
    layers: list[Layer]
    tensor_ids: dict[int, int] = field(default_factory=dict)  # model tensor -> blob tensor
    arena_size: int = 0


def _check_alias(g: Graph, op) -> None:
    if not op.inputs or op.inputs[0] < 0 or len(op.outputs) != 1:
        raise ConvertError(f"{g.describe(op)}: needs an input and one output")
    src, dst = g.t(op.inputs[0]), g.t(op.outputs[0])
    same_q = (src.scale is None) == (dst.scale is None) and (
        src.scale is None
        or (np.array_equal(src.scale, dst.scale) and np.array_equal(src.zero_point, dst.zero_point))
    )
    if src.dtype != dst.dtype or src.nbytes != dst.nbytes or not same_q:
        raise ConvertError(
            f"{g.describe(op)}: input and output differ in type, size or quantization"
        )


def convert(model: bytes, name: str = "model", golden: str = DEFAULT_GOLDEN) -> Converted:
    """The blob for a .tflite model; ConvertError (one message naming the model and the
    op, tensor or limit at fault) for anything microai cannot run."""
    try:
        return _convert(model, name, golden)
    except ConvertError as e:
        text = str(e)
        raise ConvertError(text if text.startswith(f"{name}:") else f"{name}: {text}") from None
    except B.BlobError as e:
        raise ConvertError(f"{name}: {e}") from None


def _convert(model: bytes, name: str, golden: str) -> Converted:
    g = read_model(model, name)
    table = native.table()
    unsupported = [op for op in g.ops if op.opcode not in LOWERINGS and op.opcode not in ALIASES]
    if unsupported:
        lines = "\n".join(f"  {g.describe(op)}" for op in unsupported)
        raise ConvertError(
            f"{name}: {len(unsupported)} unsupported op(s):\n{lines}\n"
            f"supported ops: {', '.join(supported_ops())}"
        )

    # RESHAPE/SQUEEZE: the output views the input's bytes (or a reshaped constant).
    alias_of: dict[int, int] = {}
    ops = []
    for op in g.ops:
        if op.opcode in ALIASES:
            _check_alias(g, op)
            src, dst = op.inputs[0], op.outputs[0]
            if g.t(src).is_const:
                g.t(dst).data = g.t(src).data.reshape(g.t(dst).shape)
            else:
                alias_of[dst] = src
        else:
            ops.append(op)

    def root(t: int) -> int:
        while t in alias_of:
            t = alias_of[t]
        return t

    for t in g.inputs + g.outputs:
        if g.t(t).dtype not in (np.dtype(np.int8), np.dtype(np.float32)):
            raise ConvertError(
                f"{name}: model input/output '{g.t(t).name}' is {g.t(t).dtype}; "
                "microai takes int8 or float32 at the model's edges"
            )
    lowered = [(op, lower(g, op)) for op in ops]

    tensors: list[B.BlobTensor] = []
    ids: dict[int, int] = {}
    group: dict[int, int] = {}  # blob tensor id -> model tensor whose bytes it uses

    def blob_dtype(dtype: np.dtype, what: str) -> str:
        if dtype not in _BLOB_DTYPES:
            raise ConvertError(f"{name}: {what} has type {dtype}, which blobs cannot hold")
        return _BLOB_DTYPES[dtype]

    def for_model_tensor(t: int) -> int:
        if t in ids:
            return ids[t]
        T = g.t(t)
        if len(T.shape) > B.MAX_RANK:
            raise ConvertError(f"{name}: tensor {t} '{T.name}' has rank {len(T.shape)} > 4")
        dtype = blob_dtype(T.dtype, f"tensor {t} '{T.name}'")
        # Per-tensor scales go into the blob, so the board can (de)quantize for the user.
        scale = T.scale1 if T.scale is not None and T.scale.size == 1 else 0.0
        if T.is_const:
            bt = B.BlobTensor(
                dtype,
                T.shape,
                T.zp,
                B.MEM_BLOB,
                data=T.data.astype(T.dtype.newbyteorder("<")).tobytes(),
                scale=scale,
            )
        else:
            bt = B.BlobTensor(dtype, T.shape, T.zp, B.MEM_ARENA, scale=scale)
            group[len(tensors)] = root(t)
        tensors.append(bt)
        ids[t] = len(tensors) - 1
        return ids[t]

    def for_array(a: np.ndarray) -> int:
        a = np.ascontiguousarray(a)
        dtype = blob_dtype(a.dtype, "a lowered constant")
        tensors.append(
            B.BlobTensor(
                dtype, a.shape, 0, B.MEM_BLOB, data=a.astype(a.dtype.newbyteorder("<")).tobytes()
            )
        )
        return len(tensors) - 1

    layers: list[Layer] = []
    blob_ops: list[B.BlobOp] = []
    for k, (op, low) in enumerate(lowered):
        ins = [
            B.NO_TENSOR
            if (isinstance(x, int) and x < 0)
            else for_array(x)
            if isinstance(x, np.ndarray)
            else for_model_tensor(x)
            for x in low.inputs
        ]
        outs = [for_model_tensor(x) for x in low.outputs]
        for t in low.outputs:
            if g.t(t).is_const:
                raise ConvertError(f"{g.describe(op)}: writes a constant tensor")
        if not 0 <= low.scratch <= MAX_ARENA_BYTES:
            raise ConvertError(f"{g.describe(op)}: needs {low.scratch:,} bytes of scratch")
        try:
            params = native.pack(low.params_type, low.params)
        except (OverflowError, TypeError, ValueError) as e:
            raise ConvertError(f"{g.describe(op)}: a parameter out of range ({e})") from None
        blob_ops.append(
            B.BlobOp(
                type=table["ops"][low.type],
                kernel=table["kernels"][low.kernel][0],
                inputs=ins,
                outputs=outs,
                params=params,
                scratch_size=low.scratch,
                rounding=rounding(golden, low.type),
            )
        )
        weight_bytes = sum(
            tensors[i].size for i in ins if i != B.NO_TENSOR and tensors[i].mem == B.MEM_BLOB
        )
        layers.append(
            Layer(
                k,
                op.index,
                op.opcode,
                low.type,
                low.kernel,
                ins,
                outs,
                list(low.outputs),
                int(low.info.get("macs", 0)),
                weight_bytes,
                low.scratch,
            )
        )
    model_inputs = [for_model_tensor(t) for t in g.inputs]
    model_outputs = [for_model_tensor(t) for t in g.outputs]

    arena_size = _plan(g, lowered, blob_ops, tensors, group, model_inputs, model_outputs, root)
    if arena_size > MAX_ARENA_BYTES:
        big = max((t for t in tensors if t.mem == B.MEM_ARENA), key=lambda t: t.size)
        raise ConvertError(
            f"{name}: the model needs an arena of {arena_size:,} bytes; microai takes at most "
            f"{MAX_ARENA_BYTES:,} (the largest activation, shape {list(big.shape)}, has "
            f"{big.size:,})"
        )
    blob = B.pack(tensors, blob_ops, model_inputs, model_outputs, arena_size)
    if len(blob) > MAX_FILE_BYTES:
        raise ConvertError(
            f"{name}: the blob would have {len(blob):,} bytes; microai reads at most "
            f"{MAX_FILE_BYTES:,}"
        )
    # The runtime's own checks, now: a blob it would refuse is refused here, with its words.
    try:
        Model(blob).close()
    except ModelError as e:
        raise ConvertError(f"{name}: the runtime would refuse this blob: {e}") from None
    return Converted(blob, g, layers, ids, arena_size)


def _plan(g, lowered, blob_ops, tensors, group, model_inputs, model_outputs, root) -> int:
    """Lifetimes per shared-bytes group, in-place merges, then the greedy planner."""
    n = len(blob_ops)
    parent = {r: r for r in set(group.values())}

    def find(r: int) -> int:
        while parent[r] != r:
            parent[r] = parent[parent[r]]
            r = parent[r]
        return r

    def spans() -> dict[int, list[int]]:
        s: dict[int, list[int]] = {}

        def touch(tid: int, k: int) -> None:
            if tid == B.NO_TENSOR or tid not in group:
                return
            r = find(group[tid])
            lo, hi = s.get(r, [k, k])
            s[r] = [min(lo, k), max(hi, k)]

        for tid in model_inputs:
            touch(tid, 0)
        for k, op in enumerate(blob_ops):
            for tid in op.inputs + op.outputs:
                touch(tid, k)
        for tid in model_outputs:
            touch(tid, n)
        return s

    # Elementwise outputs over an input that dies at that op.
    out_roots = {find(group[t]) for t in model_outputs}
    s = spans()
    for k, ((_, low), op) in enumerate(zip(lowered, blob_ops, strict=True)):
        if not low.in_place or op.inputs[0] not in group:
            continue
        a, b = find(group[op.inputs[0]]), find(group[op.outputs[0]])
        if a == b or a in out_roots or s[a][1] != k:
            continue
        if tensors[op.inputs[0]].size != tensors[op.outputs[0]].size:
            continue
        parent[b] = a
        if b in out_roots:
            out_roots.add(a)
        s = spans()

    s = spans()
    sizes: dict[int, int] = {}
    for tid, r in group.items():
        sizes[find(r)] = max(sizes.get(find(r), 0), tensors[tid].size)
    buffers = {r: Buffer(g.t(r).name, sizes[r], lo, hi) for r, (lo, hi) in s.items()}
    scratch = [
        Buffer(f"scratch of op {k}", op.scratch_size, k, k)
        for k, op in enumerate(blob_ops)
        if op.scratch_size
    ]
    arena_size = plan([*buffers.values(), *scratch])
    for tid, r in group.items():
        if find(r) not in buffers:
            raise ConvertError(f"tensor '{g.t(r).name}' is neither computed nor an input")
        tensors[tid].offset = buffers[find(r)].offset
    it = iter(scratch)
    for op in blob_ops:
        if op.scratch_size:
            op.scratch_offset = next(it).offset
    return arena_size
