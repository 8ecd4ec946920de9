"""The arena planner: no two live-at-once buffers share bytes, and reuse is real."""

from __future__ import annotations

import random

import pytest

from microai.planner import Buffer, Part, check, plan


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


def test_rigid_block_parts_free_their_bytes_when_dead():
    # An output (op 1..3) trailing its input (ops 0..1) by 512 bytes: the input's tail
    # beyond the output's end is free from op 2 on, and a 480-byte buffer of ops 2..3
    # fits there rather than above the whole block.
    block = Buffer.block("out+in", [Part(0, 1024, 1, 3), Part(512, 1024, 0, 1)])
    assert (block.size, block.first, block.last) == (1536, 0, 3)
    other = Buffer("late", 480, 2, 3)
    size = plan([block, other])
    assert size == 1536
    assert other.offset == block.offset + 1024


@pytest.mark.parametrize("seed", range(10))
def test_random_rigid_blocks_never_overlap(seed):
    rng = random.Random(seed)
    bufs = []
    for i in range(30):
        first = rng.randrange(20)
        parts = []
        for _ in range(rng.randrange(1, 4)):
            lo = first + rng.randrange(4)
            parts.append(
                Part(16 * rng.randrange(40), rng.randrange(1, 900), lo, lo + rng.randrange(4))
            )
        bufs.append(Buffer.block(f"b{i}", parts))
    size = plan(bufs)
    check(bufs, size)  # raises on any overlap of parts live at once


def test_check_catches_overlapping_parts():
    a = Buffer.block("a", [Part(0, 32, 0, 1), Part(32, 32, 2, 2)])
    b = Buffer("b", 32, 2, 2)
    a.offset, b.offset = 0, 32
    with pytest.raises(AssertionError, match="overlap"):
        check([a, b], 64)
    b.offset = 0  # a's first part is dead at op 2
    check([a, b], 64)
