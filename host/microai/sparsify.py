"""`microai compress --sparsity S --block 1x4`: block sparsity. In each CONV_2D and
FULLY_CONNECTED (or the --layers chosen), the fraction S of the weights' blocks of 4 (or
8) consecutive input channels with the smallest L2 norm (of the real weights) is set to
zero, as TF Model Optimization's block pruning does; the output is a standard int8
.tflite (zero blocks, its own golden) that the block-sparse kernels run by skipping
those blocks (`microai convert --board` picks them where the cost model says they pay).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .compress import CompressError, evaluation_inputs, measure, real_weights
from .tflite import read_model

SPARSE_OPS = ("CONV_2D", "FULLY_CONNECTED")
BLOCKS = (4, 8)


@dataclass
class SparseReport:
    op: int
    opcode: str
    blocks: int
    zero_before: int  # blocks already all zero
    zero_after: int
    reason: str | None = None


@dataclass
class SparseResult:
    model: bytes
    layers: list[SparseReport]
    samples: int
    output_sqnr: float | None = None
    accuracy: dict = field(default_factory=dict)


def _blocks(w: np.ndarray, block: int) -> np.ndarray:
    """[rows, positions, blocks, block] view of weights [out, ..., in] (in padded)."""
    rows, cin = w.shape[0], w.shape[-1]
    pos = int(np.prod(w.shape[1:-1])) if w.ndim > 2 else 1
    nb = -(-cin // block)
    padded = np.zeros((rows, pos, nb * block), w.dtype)
    padded[:, :, :cin] = w.reshape(rows, pos, cin)
    return padded.reshape(rows, pos, nb, block)


def block_sparsify(
    model: bytes,
    sparsity: float,
    block: int = 4,
    layers: list[str] | None = None,
    name: str = "model",
    eval_data: tuple[np.ndarray, np.ndarray | None] | None = None,
    measured: bool = True,
) -> SparseResult:
    from . import tflite_edit as E

    if not 0.0 <= sparsity < 1.0:
        raise CompressError(f"--sparsity {sparsity}: a fraction of blocks in [0, 1)")
    if block not in BLOCKS:
        raise CompressError(f"--block 1x{block}: microai makes blocks of 1x4 or 1x8")
    graph = read_model(model, name)
    by_key = {str(op.index): op for op in graph.ops}
    by_key.update({graph.t(t).name: op for op in graph.ops for t in op.outputs})
    if layers is None:
        ops = [op for op in graph.ops if op.opcode in SPARSE_OPS]
    else:
        ops = []
        for key in layers:
            if key not in by_key:
                raise CompressError(f"--layers: no layer {key!r} in the model")
            ops.append(by_key[key])
    m = E.load(model)
    sg = m.subgraphs[0]
    reports = []
    for op in ops:
        if op.opcode not in SPARSE_OPS:
            reports.append(SparseReport(op.index, op.opcode, 0, 0, 0, f"a {op.opcode}: no blocks"))
            continue
        w = graph.t(op.inputs[1])
        if w.storage != "s8" or not w.is_const:
            reports.append(
                SparseReport(op.index, op.opcode, 0, 0, 0, "weights are not constant int8")
            )
            continue
        q = _blocks(w.data.astype(np.int64), block)
        real = _blocks(real_weights(graph, op), block)
        norm = np.sqrt((real**2).sum(axis=3)).ravel()
        total = norm.size
        zero_before = int((np.abs(q).sum(axis=3) == 0).sum())
        goal = int(round(sparsity * total))
        if goal > zero_before:
            order = np.argsort(norm, kind="stable")[:goal]
            flat = q.reshape(total, block)
            flat[order] = 0
            q = flat.reshape(q.shape)
            cin = w.shape[-1]
            dense = q.reshape(w.shape[0], -1, q.shape[2] * block)[:, :, :cin].reshape(w.shape)
            tensor = sg.tensors[op.inputs[1]]
            from ai_edge_litert import schema_py_generated as S

            buf = S.BufferT()
            buf.data = np.frombuffer(dense.astype(np.int8).tobytes(), np.uint8)
            m.buffers.append(buf)
            tensor.buffer = len(m.buffers) - 1
        zero_after = int((np.abs(q).sum(axis=3) == 0).sum())
        reports.append(SparseReport(op.index, op.opcode, total, zero_before, zero_after))
    out = E.save(m)
    xs, y = evaluation_inputs(graph, eval_data)
    o = graph.outputs[0]
    sqnr, acc = {o: None}, {}
    if measured:  # False: the model only (a recipe's)
        sqnr, acc = measure(model, out, graph, [o], xs, y, ("int8", "sparse"))
    return SparseResult(out, reports, len(xs), sqnr[o], acc)
