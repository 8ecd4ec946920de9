"""order: the order the ops run in, where the graph allows more than one.

Reads: Compilation.ops (after aliases, in the model's order) and Compilation.order: a
permutation of them (indices into c.ops) or None (the model's order).
Changes: Compilation.ops, in that order.
Guarantees: every op runs after the ops whose outputs it reads (checked: an order that
is not topological is an error, never a wrong blob). The same kernels run either way:
only the arena changes. candidates() lists orders and best() picks the one with the
fewest bytes live at once by a quick estimate; convert keeps it when its planned arena
is smaller than the model's order's.
"""

from __future__ import annotations

from ..ir import ConvertError

LIMIT = 256  # orders candidates() lists at most (depth first, the model's order first)
OVER = ("CONV_2D", "DEPTHWISE_CONV_2D", "ADD", "MUL")  # outputs that may overlap input 0


def _graph(c):
    """(preds, reads, writes): for each op, the ops it waits for and the root tensors
    it reads and writes (views are their tensor's bytes)."""
    g = c.graph
    producer: dict[int, int] = {}
    writes = []
    for i, op in enumerate(c.ops):
        w = [c.root(t) for t in op.outputs if t >= 0]
        writes.append(w)
        for t in w:
            producer[t] = i
    reads = [[c.root(t) for t in op.inputs if t >= 0 and not g.t(t).is_const] for op in c.ops]
    preds = [{producer[t] for t in r if t in producer} for r in reads]
    return preds, reads, writes


def candidates(c, limit: int = LIMIT) -> list[list[int]]:
    """Topological orders of c.ops, depth first preferring the model's order (which
    comes first), at most `limit` (fewer for graphs of more than 64 ops: each order
    costs its length squared)."""
    preds, _, _ = _graph(c)
    n = len(c.ops)
    limit = limit if n <= 64 else max(8, limit * 64 // n)
    out: list[list[int]] = []
    order: list[int] = []
    done = [False] * n
    nxt = [0]  # per depth: the first op still to try there (no recursion: any depth)
    while nxt and len(out) < limit:
        if len(order) == n:
            out.append(list(order))
            i = n  # nothing more at this depth
        else:
            i = nxt[-1]
            while i < n and (done[i] or not all(done[p] for p in preds[i])):
                i += 1
        if i == n:  # back to the depth before
            nxt.pop()
            if order:
                done[order.pop()] = False
            continue
        nxt[-1] = i + 1
        done[i] = True
        order.append(i)
        nxt.append(0)
    return out


def live_peak(c, order: list[int], graph=None) -> int:
    """The most activation bytes live at one op in this order: a tensor from the op that
    writes it (a model input from the start) to the last that reads it (a model output
    to the end); an op's output that may overlap its input 0 (a conv's or an elementwise
    op's) and that input, when it dies there, count as the larger of the two. `graph`:
    _graph(c), when already made."""
    g = c.graph
    _, reads, writes = graph or _graph(c)
    pos = {op: k for k, op in enumerate(order)}
    first: dict[int, int] = {c.root(t): 0 for t in g.inputs}
    last: dict[int, int] = {c.root(t): len(order) for t in g.outputs}
    for i in range(len(order)):
        for t in writes[i]:
            first.setdefault(t, pos[i])
        for t in reads[i]:
            last[t] = max(last.get(t, 0), pos[i])
    for t in [t for t in last if t not in first]:  # read, never written: a state's bytes
        first[t], last[t] = 0, len(order)
    size = {t: g.t(t).nbytes for t in first}
    peak = 0
    for k, i in enumerate(order):
        live = sum(size[t] for t in first if first[t] <= k <= last.get(t, first[t]))
        op = c.ops[i]
        x = reads[i][0] if reads[i] else None
        if op.opcode in OVER and x is not None and writes[i] and last.get(x) == k:
            live -= min(size[x], size[writes[i][0]])
        peak = max(peak, live)
    return peak


def best(c) -> list[int] | None:
    """The candidate order with the fewest bytes live at once, if it beats the model's
    order's; else None."""
    orders = candidates(c)
    if len(orders) < 2:
        return None
    graph = _graph(c)
    scores = [live_peak(c, o, graph) for o in orders]
    k = min(range(len(orders)), key=lambda k: (scores[k], k))
    return orders[k] if scores[k] < scores[0] else None


def run(c):
    if c.order is not None:
        preds, _, _ = _graph(c)
        seen: set[int] = set()
        if sorted(c.order) != list(range(len(c.ops))):
            raise ConvertError(f"{c.name}: an op order must list every op once")
        for i in c.order:
            if not preds[i] <= seen:
                raise ConvertError(f"{c.describe(c.ops[i])}: ordered before an op it reads")
            seen.add(i)
        c.ops = [c.ops[i] for i in c.order]
    return c
