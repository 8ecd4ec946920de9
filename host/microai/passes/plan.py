"""plan: one static arena for every activation and scratch buffer.

Reads: Compilation.blob_ops, tensors, group (tensors sharing bytes: views).
Changes: each arena tensor's offset, each op's scratch_offset, Compilation.arena_size.
Guarantees: a state tensor (an SVDF's or LSTM's memory) shares its bytes with nothing;
buffers live at the same time never share bytes, except an op's output
placed exactly over an input that dies there when the op allows it: elementwise ops
(Lowered.in_place), and a conv or depthwise conv whose kernel's own supports() takes its
output over its input (the pointwise kernels, no bigger than the input; the 3x3
depthwise ones, no taller or wider); the arena is at most
MAX_ARENA_BYTES.
"""

from __future__ import annotations

from .. import MAX_ARENA_BYTES
from .. import blob as B
from ..ir import ConvertError
from ..planner import Buffer, plan


def _kernel_in_place(c, low) -> bool:
    """The op's kernel takes its output over its input (its C supports() says so)."""
    from .. import native
    from ..golden import op_rounding
    from .choose_kernels import supports

    if low.type not in ("CONV", "DWCONV"):
        return False
    kernel = native.table()["kernels"][low.kernel]
    return supports(c.graph, low, kernel, op_rounding(c.golden, low), in_place=True) is None


def run(c):
    g, blob_ops, tensors, group = c.graph, c.blob_ops, c.tensors, c.group
    model_inputs, model_outputs = c.model_inputs, c.model_outputs
    lowered = list(zip(c.ops, c.lowered, strict=True))
    n = len(blob_ops)
    states = [tid for tid in group if tensors[tid].mem == B.MEM_STATE]
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
        for tid in states:  # kept from one invocation to the next: bytes of its own
            touch(tid, 0)
            touch(tid, n)
        return s

    # Outputs over an input that dies at that op (never a state's bytes: nothing merges
    # into a state, so its root stays itself).
    out_roots = {find(group[t]) for t in model_outputs}
    state_roots = {find(group[t]) for t in states}
    s = spans()
    for k, ((_, low), op) in enumerate(zip(lowered, blob_ops, strict=True)):
        if op.inputs[0] not in group or not op.outputs or op.outputs[0] not in group:
            continue
        a, b = find(group[op.inputs[0]]), find(group[op.outputs[0]])
        if a == b or a in out_roots or s[a][1] != k or {a, b} & state_roots:
            continue
        size_in, size_out = tensors[op.inputs[0]].size, tensors[op.outputs[0]].size
        if low.in_place:
            if size_in != size_out:
                continue
        elif not (size_out <= size_in and _kernel_in_place(c, low)):
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
    if arena_size > MAX_ARENA_BYTES:
        big = max((t for t in tensors if t.mem == B.MEM_ARENA), key=lambda t: t.size)
        raise ConvertError(
            f"{c.name}: the model needs an arena of {arena_size:,} bytes; microai takes at "
            f"most {MAX_ARENA_BYTES:,} (the largest activation, shape {list(big.shape)}, has "
            f"{big.size:,})"
        )
    c.arena_size = arena_size
    return c
