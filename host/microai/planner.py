"""Static memory planning: every activation and scratch buffer gets an offset in ONE arena.

Time is the op index: op i reads its inputs and writes its outputs at step i, so a
buffer is live over [first, last] (inclusive). Two buffers may share bytes only when
their lifetimes do not overlap. A buffer may be a rigid block of parts, each at a fixed
offset into it with a lifetime of its own (an output trailing its input: the two at a
fixed distance, each live only over its own ops): parts of different buffers live at
once never share bytes. Placement is greedy, like TFLite-Micro's GreedyMemoryPlanner
(each buffer at the lowest offset free over its parts' lifetimes), tried in several
orders; the smallest arena wins.
"""

from __future__ import annotations

from dataclasses import dataclass, field

ALIGN = 16


def _live_together(a, b) -> bool:
    """Two lifetimes ([first, last] op indices, of buffers or parts) share an op."""
    return a.first <= b.last and b.first <= a.last


@dataclass
class Part:
    delta: int  # bytes into its buffer
    size: int
    first: int
    last: int

    overlaps = _live_together


@dataclass
class Buffer:
    name: str
    size: int
    first: int  # first op index at which the buffer is live
    last: int  # last op index at which it is live
    offset: int = -1
    # The rigid block's parts; none: one part, the whole buffer over its whole lifetime.
    parts: list[Part] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.parts:
            self.parts = [Part(0, self.size, self.first, self.last)]

    @classmethod
    def block(cls, name: str, parts: list[Part]) -> Buffer:
        """A rigid block of parts: as big and as long-lived as they are together."""
        size = max(p.delta + p.size for p in parts)
        return cls(name, size, min(p.first for p in parts), max(p.last for p in parts), parts=parts)

    overlaps = _live_together


def align(n: int) -> int:
    return (n + ALIGN - 1) // ALIGN * ALIGN


def _forbidden(b: Buffer, other: Buffer, at: int) -> list[tuple[int, int]]:
    """The offsets of b (open intervals) where a part of it would share bytes with a part
    of `other`, placed at `at`, live at the same time."""
    out = []
    for p in b.parts:
        for q in other.parts:
            if p.overlaps(q):
                lo = at + q.delta - p.delta - p.size  # b's offset must be <= lo ...
                hi = at + q.delta + align(q.size) - p.delta  # ... or >= hi
                out.append((lo, hi))
    return out


def _place(buffers: list[Buffer], order: list[int]) -> tuple[list[int], int]:
    offsets = [-1] * len(buffers)
    placed: list[int] = []
    for i in order:
        b = buffers[i]
        busy = sorted(
            iv
            for j in placed
            if buffers[j].overlaps(b)
            for iv in _forbidden(b, buffers[j], offsets[j])
        )
        offset = 0
        for lo, hi in busy:
            if offset <= lo:
                break
            offset = max(offset, align(hi))
        offsets[i] = offset
        placed.append(i)
    top = max((offsets[i] + b.size for i, b in enumerate(buffers)), default=0)
    return offsets, align(top)


ORDERS = {
    "size": lambda b: (-b.size, b.first),
    "size x lifetime": lambda b: (-b.size * (b.last - b.first + 1), b.first),
    "first use": lambda b: (b.first, -b.size),
}


def plan(buffers: list[Buffer]) -> int:
    """Set every buffer's offset; returns the arena size (16-byte multiple)."""
    best = None
    for key in ORDERS.values():
        order = sorted(range(len(buffers)), key=lambda i: key(buffers[i]))
        offsets, size = _place(buffers, order)
        if best is None or size < best[1]:
            best = (offsets, size)
    offsets, size = best or ([], 0)
    for b, off in zip(buffers, offsets, strict=True):
        b.offset = off
    check(buffers, size)
    return size


def check(buffers: list[Buffer], arena_size: int) -> None:
    """Raise if parts of two buffers live at once share bytes or one leaves the arena."""
    for i, a in enumerate(buffers):
        if a.offset < 0 or a.offset % ALIGN or a.offset + a.size > arena_size:
            raise AssertionError(f"buffer {a.name} at {a.offset}+{a.size} outside the arena")
        for b in buffers[i + 1 :]:
            if not a.overlaps(b):
                continue
            for p in a.parts:
                for q in b.parts:
                    pa, qb = a.offset + p.delta, b.offset + q.delta
                    if p.overlaps(q) and pa < qb + q.size and qb < pa + p.size:
                        raise AssertionError(
                            f"buffers {a.name} and {b.name} overlap in time and space"
                        )
