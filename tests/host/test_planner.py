"""The arena planner: no two live-at-once buffers share bytes, and reuse is real."""

from __future__ import annotations

import random

import pytest

from microai.planner import Buffer, check, plan


def test_chain_reuses_memory():
    # a -> b -> c -> d: only neighbours are live together.
    bufs = [Buffer(n, 1000, i, i + 1) for i, n in enumerate("abcd")]
    size = plan(bufs)
    assert size == 2 * 1008  # two 16-aligned buffers at a time
    assert bufs[0].offset == bufs[2].offset


def test_scratch_and_long_lived_buffers():
    bufs = [
        Buffer("input", 64, 0, 0),
        Buffer("skip", 500, 0, 5),
        Buffer("scratch", 300, 2, 2),
        Buffer("out", 100, 5, 6),
    ]
    size = plan(bufs)
    check(bufs, size)
    assert size <= 500 + 304 + 16


@pytest.mark.parametrize("seed", range(20))
def test_random_lifetimes_never_overlap(seed):
    rng = random.Random(seed)
    bufs = []
    for i in range(40):
        first = rng.randrange(30)
        bufs.append(Buffer(f"t{i}", rng.randrange(1, 5000), first, first + rng.randrange(6)))
    size = plan(bufs)
    check(bufs, size)  # raises on any overlap
    peak = max(sum(b.size for b in bufs if b.first <= t <= b.last) for t in range(36))
    assert peak <= size <= 2 * peak + 16 * len(bufs)


def test_check_catches_overlap():
    a, b = Buffer("a", 32, 0, 1), Buffer("b", 32, 1, 2)
    a.offset = b.offset = 0
    with pytest.raises(AssertionError, match="overlap"):
        check([a, b], 64)
