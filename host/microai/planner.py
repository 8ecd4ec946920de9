"""Static memory planning: every activation and scratch buffer gets an offset in ONE arena.

Time is the op index: op i reads its inputs and writes its outputs at step i, so a
buffer is live over [first, last] (inclusive). Two buffers may share bytes only when
their lifetimes do not overlap. Placement is greedy, like TFLite-Micro's
GreedyMemoryPlanner (each buffer at the lowest offset free over its whole lifetime),
tried in several orders; the smallest arena wins.
"""

from __future__ import annotations

from dataclasses import dataclass

ALIGN = 16


@dataclass
class Buffer:
    name: str
    size: int
    first: int  # first op index at which the buffer is live
    last: int  # last op index at which it is live
    offset: int = -1

    def overlaps(self, other: Buffer) -> bool:
        return self.first <= other.last and other.first <= self.last


def align(n: int) -> int:
    return (n + ALIGN - 1) // ALIGN * ALIGN


def _place(buffers: list[Buffer], order: list[int]) -> tuple[list[int], int]:
    offsets = [-1] * len(buffers)
    placed: list[int] = []
    for i in order:
        b = buffers[i]
        busy = sorted(
            (offsets[j], offsets[j] + align(buffers[j].size))
            for j in placed
            if buffers[j].overlaps(b)
        )
        offset = 0
        for start, end in busy:
            if offset + b.size <= start:
                break
            offset = max(offset, end)
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
    """Raise if two live-at-once buffers share bytes or one leaves the arena."""
    for i, a in enumerate(buffers):
        if a.offset < 0 or a.offset % ALIGN or a.offset + a.size > arena_size:
            raise AssertionError(f"buffer {a.name} at {a.offset}+{a.size} outside the arena")
        for b in buffers[i + 1 :]:
            if a.overlaps(b) and a.offset < b.offset + b.size and b.offset < a.offset + a.size:
                raise AssertionError(f"buffers {a.name} and {b.name} overlap in time and space")
