"""Faults on a serial line, injected under the transport: for tests and `make fault`.

FaultyLine wraps the pyserial port a SerialTransport reads and writes
(`t.serial = FaultyLine(t.serial, faults)`) and damages the bytes that pass, in either
direction: it drops one, flips one bit of one, duplicates one, truncates a read or a
write (the rest of it is lost), or cuts the line for a while (nothing passes either
way, as with a loose cable). Faults sit at byte positions in each direction's stream,
planned from a seed by plan(): the same seed gives the same faults at the same places.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, replace

KINDS = ("drop", "flip", "dup", "truncate", "cut")


@dataclass(frozen=True)
class Fault:
    kind: str  # one of KINDS
    direction: str  # "tx": host to board; "rx": board to host
    at: int  # position of the damaged byte in that direction's stream
    arg: float = 0  # flip: the bit flipped; cut: seconds the line stays dead


def plan(
    seed: int,
    tx_bytes: int,
    rx_bytes: int,
    mean: float = 1.5,
    kinds: tuple[str, ...] = KINDS,
    cut_seconds: tuple[float, float] = (0.2, 3.0),
) -> list[Fault]:
    """About `mean` faults (a geometric count) at random positions within the first
    tx_bytes sent and rx_bytes received; three in five on the way to the board."""
    rng = random.Random(seed)
    faults = []
    while rng.random() < mean / (mean + 1):
        direction = "tx" if rng.random() < 0.6 else "rx"
        at = rng.randrange(max(1, tx_bytes if direction == "tx" else rx_bytes))
        kind = rng.choice(kinds)
        arg = (
            rng.randrange(8)
            if kind == "flip"
            else rng.uniform(*cut_seconds)
            if kind == "cut"
            else 0
        )
        faults.append(Fault(kind, direction, at, arg))
    return faults


class FaultyLine:
    """A pyserial-like line that damages what passes; `injected` lists the faults met."""

    def __init__(self, line, faults: list[Fault]):
        self.line = line
        self._queue = {
            d: sorted((f for f in faults if f.direction == d), key=lambda f: f.at)
            for d in ("tx", "rx")
        }
        self._pos = {"tx": 0, "rx": 0}
        self._cut_until = 0.0
        self.injected: list[Fault] = []

    def _damage(self, direction: str, data: bytes) -> bytes:
        start = self._pos[direction]
        self._pos[direction] += len(data)
        queue = self._queue[direction]
        if time.monotonic() < self._cut_until:
            while queue and queue[0].at < start + len(data):
                queue.pop(0)  # lost with the bytes it would have damaged
            return b""
        out = bytearray()
        i = 0
        while queue and queue[0].at < start + len(data):
            f = queue.pop(0)
            j = max(f.at - start, i)
            if j >= len(data):  # two faults on one byte: the second takes the next byte
                queue.insert(0, replace(f, at=start + len(data)))
                break
            out += data[i:j]
            self.injected.append(f)
            i = j + 1
            if f.kind == "flip":
                out.append(data[j] ^ (1 << int(f.arg)))
            elif f.kind == "dup":
                out += data[j : j + 1] * 2
            elif f.kind in ("truncate", "cut"):
                if f.kind == "cut":
                    self._cut_until = time.monotonic() + f.arg
                i = len(data)
                break
        out += data[i:]
        return bytes(out)

    def write(self, data: bytes) -> int:
        damaged = self._damage("tx", bytes(data))
        if damaged:
            self.line.write(damaged)
        return len(data)

    def read(self, size: int = 1) -> bytes:
        return self._damage("rx", self.line.read(size))

    @property
    def in_waiting(self) -> int:
        return self.line.in_waiting

    def __getattr__(self, name: str):
        return getattr(self.line, name)
