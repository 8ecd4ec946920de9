"""build: the blob's tensors and ops, and each layer's cost.

Reads: Compilation.ops and lowered (kernels chosen), the golden's rounding.
Changes: Compilation.tensors (storage, shape, zero point and scale of each; constants'
bytes, weights in the layout their kernel reads, layouts.py), tensor_ids, group (which
model tensor's bytes an arena tensor uses), blob_ops, layers (with cost.py's MACs,
weight and scratch bytes), model_inputs, model_outputs.
Guarantees: every tensor is one the format can hold; params are packed as C lays them
out; no op writes a constant.
"""

from __future__ import annotations

import numpy as np

from .. import MAX_ARENA_BYTES, cost, layouts, native
from .. import blob as B
from ..golden import op_rounding
from ..ir import STORAGE_OF, ConvertError
from . import Layer


def run(c):
    g, name, table = c.graph, c.name, native.table()
    tensors, ids, group = c.tensors, c.tensor_ids, c.group
    layers, blob_ops = c.layers, c.blob_ops

    def blob_dtype(dtype: np.dtype, what: str) -> str:
        if dtype not in STORAGE_OF:
            raise ConvertError(f"{name}: {what} has type {dtype}, which blobs cannot hold")
        return STORAGE_OF[dtype]

    def storage_of(T) -> str:
        """The IR tensor's storage (a compression pass may have chosen s4 or b1)."""
        blob_dtype(T.dtype, f"tensor {T.index} '{T.name}'")  # a dtype blobs can hold
        return T.storage

    def for_model_tensor(t: int) -> int:
        if t in ids:
            return ids[t]
        T = g.t(t)
        if len(T.shape) > B.MAX_RANK:
            raise ConvertError(f"{name}: tensor {t} '{T.name}' has rank {len(T.shape)} > 4")
        dtype = storage_of(T)
        # Per-tensor scales go into the blob, so the board can (de)quantize for the user.
        scale = T.scale1 if T.scale is not None and T.scale.size == 1 else 0.0
        if T.is_const:
            bt = B.BlobTensor(
                dtype,
                T.shape,
                T.zp,
                B.MEM_BLOB,
                data=B.element_bytes(dtype, T.data),
                scale=scale,
                layout=T.layout,
            )
        else:
            mem = B.MEM_STATE if T.variable else B.MEM_ARENA
            bt = B.BlobTensor(dtype, T.shape, T.zp, mem, scale=scale)
            group[len(tensors)] = c.root(t)
            c.group_at[len(tensors)] = c.root_at(t)
        tensors.append(bt)
        ids[t] = len(tensors) - 1
        return ids[t]

    arrays: dict[tuple, int] = {}  # (storage, shape, bytes) -> blob tensor

    def for_array(a: np.ndarray) -> int:
        """A lowered constant (multipliers, shifts...): once per distinct value (the
        bands of a layer, patches.py, share theirs)."""
        a = np.ascontiguousarray(a)
        dtype = blob_dtype(a.dtype, "a lowered constant")
        data = a.astype(a.dtype.newbyteorder("<")).tobytes()
        key = (dtype, a.shape, data)
        if key not in arrays:
            tensors.append(B.BlobTensor(dtype, a.shape, 0, B.MEM_BLOB, data=data))
            arrays[key] = len(tensors) - 1
        return arrays[key]

    prepared: dict[tuple[int, str], int] = {}  # (model tensor, format) -> blob tensor

    def for_weights(x, fmt: str) -> int:
        """The weights in a prepared layout (layouts.py), once per tensor and format."""
        key = (id(x) if isinstance(x, np.ndarray) else x, fmt)
        if key not in prepared:
            data = x if isinstance(x, np.ndarray) else g.t(x).data
            # b1 weights are LCE's words; their tensor's shape counts channels.
            source = np.int32 if layouts.SOURCE.get(fmt) == "b1" else np.int8
            if data is None or data.dtype != source:
                raise ConvertError(f"{name}: weights format {fmt!r} needs constant weights")
            shape = tuple(g.t(x).shape) if source == np.int32 else tuple(data.shape)
            try:
                p = layouts.prepare(fmt, data, shape)
            except ValueError as e:
                raise ConvertError(f"{name}: {e}") from None
            tensors.append(
                B.BlobTensor(
                    layouts.storage(fmt),
                    shape,
                    0 if isinstance(x, np.ndarray) else g.t(x).zp,
                    B.MEM_BLOB,
                    data=p.data,
                    layout=layouts.layout(fmt),
                    aux=p.aux,
                )
            )
            prepared[key] = len(tensors) - 1
        return prepared[key]

    for k, (op, low) in enumerate(zip(c.ops, c.lowered, strict=True)):
        fmt = table["kernels"][low.kernel].weights
        ins = [
            B.NO_TENSOR
            if (isinstance(x, int) and x < 0)
            else for_weights(x, fmt)
            if i == 1 and fmt != "none" and layouts.layout(fmt) != "standard"
            else for_array(x)
            if isinstance(x, np.ndarray)
            else for_model_tensor(x)
            for i, x in enumerate(low.inputs)
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
                kernel=table["kernels"][low.kernel].id,
                inputs=ins,
                outputs=outs,
                params=params,
                scratch_size=low.scratch,
                rounding=op_rounding(c.golden, low),
            )
        )
        weight_bytes = sum(  # a layout's metadata (aux) included
            tensors[i].size + len(tensors[i].aux or b"")
            for i in ins
            if i != B.NO_TENSOR and tensors[i].mem == B.MEM_BLOB
        )
        shapes = [None if i == B.NO_TENSOR else tensors[i].shape for i in ins]
        lc = cost.layer_cost(
            low.type,
            shapes,
            [tensors[i].shape for i in outs],
            low.params,
            weight_bytes,
            low.scratch,
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
                lc.macs,
                lc.weight_bytes,
                lc.scratch_bytes,
            )
        )
    c.model_inputs = [for_model_tensor(t) for t in g.inputs]
    c.model_outputs = [for_model_tensor(t) for t in g.outputs]
    return c
