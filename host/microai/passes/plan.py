"""plan: one static arena for every activation and scratch buffer.

Reads: Compilation.blob_ops, tensors, group and group_at (tensors sharing bytes: views,
each at its bytes into the tensor it views).
Changes: each arena tensor's offset, each op's scratch_offset, Compilation.arena_size.
Guarantees: a state tensor (an SVDF's or LSTM's memory) shares its bytes with nothing;
buffers live at the same time never share bytes, except an op's output placed over an
input that dies there when the op allows it: exactly over it for elementwise ops
(Lowered.in_place) and for a conv or depthwise conv whose kernel's own supports() takes
its output there (the pointwise kernels, no bigger than the input; the 3x3 depthwise
ones, no taller or wider); or trailing it, starting the C op check's gap
(mai_conv_trail_bytes) before it, for a conv or depthwise conv whose kernel writes rows
in order (im2col, pointwise, direct depthwise), when that makes the arena smaller. Tensors
sharing bytes are one rigid buffer for the planner, each tensor a part of it live over its
own ops only (planner.Part). The arena is at most MAX_ARENA_BYTES.
"""

from __future__ import annotations

from .. import MAX_ARENA_BYTES
from .. import blob as B
from ..ir import ConvertError
from ..planner import Buffer, Part, align, plan


def _takes(c, low, overlap: str) -> bool:
    """The op is a conv or depthwise conv whose kernel takes its output placed against
    its input as `overlap` says ("same_start", "trailing"): its C supports() says so."""
    from .. import native
    from ..golden import op_rounding
    from .choose_kernels import supports

    if low.type not in ("CONV", "DWCONV"):
        return False
    kernel = native.table()["kernels"][low.kernel]
    return supports(c.graph, low, kernel, op_rounding(c.golden, low), overlap) is None


def _trail(c, low) -> int | None:
    """The gap (a multiple of ALIGN) by which the op's output may start before its input
    and run into it, when its kernel writes rows in order; else None."""
    from .. import native
    from ..golden import op_rounding
    from .choose_kernels import trail_bytes

    if not _takes(c, low, "trailing"):
        return None
    kernel = native.table()["kernels"][low.kernel]
    return align(trail_bytes(c.graph, low, kernel, op_rounding(c.golden, low)))


def _check_blocks(own, nbytes, find, buffers, blob_ops, group) -> None:
    """Raise if two model tensors live at once share bytes, but for an op's input 0 and
    output 0 that meet at that op only (one dies there, the other starts there): the
    planner checks buffers against each other; this checks the tensors inside them."""
    meet = {
        frozenset((group[op.inputs[0]], group[op.outputs[0]])): k
        for k, op in enumerate(blob_ops)
        if op.inputs and op.outputs and op.inputs[0] in group and op.outputs[0] in group
    }
    spans = []
    for r, (lo, hi) in own.items():
        root, d = find(r)
        start = buffers[root].offset + d
        spans.append((r, start, start + nbytes[r], lo, hi))
    for i, (r, a0, a1, lo, hi) in enumerate(spans):
        for q, b0, b1, qlo, qhi in spans[:i]:
            if a0 < b1 and b0 < a1 and lo <= qhi and qlo <= hi:
                k = meet.get(frozenset((r, q)))
                if k is None or not (hi == qlo == k or qhi == lo == k):
                    raise AssertionError(f"tensors {r} and {q} share bytes while both live")


def run(c):
    g, blob_ops, tensors, group = c.graph, c.blob_ops, c.tensors, c.group
    at = c.group_at  # a view's bytes into its model tensor (a band of rows: patches.py)
    model_inputs, model_outputs = c.model_inputs, c.model_outputs
    lowered = list(zip(c.ops, c.lowered, strict=True))
    n = len(blob_ops)
    states = [tid for tid in group if tensors[tid].mem == B.MEM_STATE]
    # Blocks of tensors sharing bytes: parent[r] holds r at shift[r] bytes into it.
    parent = {r: r for r in set(group.values())}
    shift = dict.fromkeys(parent, 0)

    def find(r: int) -> tuple[int, int]:
        """r's block and r's offset in it."""
        d = 0
        while parent[r] != r:
            d += shift[r]
            r = parent[r]
        return r, d

    # Each model tensor's own ops (views share their tensor's); a state's, every op.
    own: dict[int, list[int]] = {}

    def touch(tid: int, k: int) -> None:
        if tid == B.NO_TENSOR or tid not in group:
            return
        lo, hi = own.get(group[tid], [k, k])
        own[group[tid]] = [min(lo, k), max(hi, k)]

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
    nbytes: dict[int, int] = {}
    for tid, r in group.items():
        nbytes[r] = max(nbytes.get(r, 0), at.get(tid, 0) + tensors[tid].size)

    def spans() -> dict[int, list[int]]:
        """Each block's ops: its tensors' together."""
        s: dict[int, list[int]] = {}
        for r, (lo, hi) in own.items():
            root = find(r)[0]
            a, b = s.get(root, [lo, hi])
            s[root] = [min(a, lo), max(b, hi)]
        return s

    def layout() -> tuple[dict[int, Buffer], list[Buffer], int]:
        """Each block a rigid buffer whose parts are its tensors, each live over its own
        ops (an output's bytes are not held for its input before, nor the other way)."""
        parts: dict[int, list[Part]] = {}
        for r, (lo, hi) in own.items():
            root, d = find(r)
            parts.setdefault(root, []).append(Part(d, nbytes[r], lo, hi))
        buffers = {r: Buffer.block(g.t(r).name, ps) for r, ps in parts.items()}
        scratch = [
            Buffer(f"scratch of op {k}", op.scratch_size, k, k)
            for k, op in enumerate(blob_ops)
            if op.scratch_size
        ]
        return buffers, scratch, plan([*buffers.values(), *scratch])

    # Outputs over an input that dies at that op (never a state's bytes: nothing merges
    # into a state, so its block stays itself): starting at the same byte where the op
    # allows it; then, trailing the input (starting before it, _trail) where that makes
    # the arena smaller.
    out_roots = {find(group[t])[0] for t in model_outputs}
    state_roots = {find(group[t])[0] for t in states}

    def candidates():
        s = spans()
        for k, ((_, low), op) in enumerate(zip(lowered, blob_ops, strict=True)):
            if op.inputs[0] not in group or not op.outputs or op.outputs[0] not in group:
                continue
            x, y = op.inputs[0], op.outputs[0]
            (a, d_in), (b, d_out) = find(group[x]), find(group[y])
            if a == b or a in out_roots or s[a][1] != k or {a, b} & state_roots:
                continue
            d_in, d_out = d_in + at.get(x, 0), d_out + at.get(y, 0)
            yield k, (low, tensors[x].size, tensors[y].size, a, d_in, b, d_out)
            s = spans()

    def clash(a: int, b: int, d: int, pair: set[int]) -> bool:
        """Block b placed d bytes into block a: a part of one would share bytes with a
        part of the other while both live, but for the op's own input and output
        (`pair`, their roots) when they meet at that op only (one dies there, the
        other starts there)."""
        parts = {}
        for r, (lo, hi) in own.items():
            root, dr = find(r)
            if root in (a, b):
                parts.setdefault(root, []).append((r, dr + (d if root == b else 0), lo, hi))
        for r, p0, lo, hi in parts.get(a, []):
            for q, q0, qlo, qhi in parts.get(b, []):
                if not (lo <= qhi and qlo <= hi) or {r, q} == pair and (hi == qlo or qhi == lo):
                    continue
                if p0 < q0 + nbytes[q] and q0 < p0 + nbytes[r]:
                    return True
        return False

    def roots(k: int) -> set[int]:
        op = blob_ops[k]
        return {group[op.inputs[0]], group[op.outputs[0]]}

    for k, (low, size_in, size_out, a, d_in, b, d_out) in candidates():
        if low.in_place:
            same = size_in == size_out
        else:
            same = size_out <= size_in and _takes(c, low, "same_start")
        if d_in >= d_out and same and not clash(a, b, d_in - d_out, roots(k)):
            parent[b], shift[b] = a, d_in - d_out
            if b in out_roots:
                out_roots.add(a)
    arena = None
    for k, (low, _, _, a, d_in, b, d_out) in candidates():
        gap = _trail(c, low)
        if gap is None or d_in > gap + d_out or clash(b, a, gap + d_out - d_in, roots(k)):
            continue
        if arena is None:
            arena = layout()[2]
        parent[a], shift[a] = b, gap + d_out - d_in
        trial = layout()[2]
        if trial < arena:
            arena = trial
        else:
            parent[a], shift[a] = a, 0

    buffers, scratch, arena_size = layout()
    _check_blocks(own, nbytes, find, buffers, blob_ops, group)
    for tid, r in group.items():
        root, d = find(r)
        if root not in buffers:
            raise ConvertError(f"tensor '{g.t(r).name}' is neither computed nor an input")
        tensors[tid].offset = buffers[root].offset + d + at.get(tid, 0)
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
