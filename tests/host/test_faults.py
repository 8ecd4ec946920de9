"""Fault injection (device/faults.py) and a short sample of `make fault`'s campaign:
uploads over a line that drops, flips, duplicates and truncates bytes and is cut."""

from __future__ import annotations

import sys
import time

from microai.device.faults import KINDS, Fault, FaultyLine, plan
from microai.paths import ROOT

# Imported by name, so that the campaign's worker processes find its functions too.
sys.path.insert(0, str(ROOT / "tests" / "fault"))
import fault_upload  # noqa: E402


class Wire:
    """The far end: what was written, and what is there to read."""

    def __init__(self, incoming: bytes = b""):
        self.written = b""
        self.incoming = incoming

    def write(self, data: bytes) -> int:
        self.written += data
        return len(data)

    def read(self, size: int = 1) -> bytes:
        out, self.incoming = self.incoming[:size], self.incoming[size:]
        return out

    @property
    def in_waiting(self) -> int:
        return len(self.incoming)


def sent(faults: list[Fault], *writes: bytes) -> bytes:
    wire = Wire()
    line = FaultyLine(wire, faults)
    for w in writes:
        assert line.write(w) == len(w)  # the host never learns what was lost
    return wire.written


def test_each_fault_damages_the_byte_it_names():
    assert sent([Fault("drop", "tx", 2)], b"abcdef") == b"abdef"
    assert sent([Fault("flip", "tx", 0, 0)], b"abc") == b"`bc"
    assert sent([Fault("dup", "tx", 5)], b"abc", b"def") == b"abcdeff"
    assert sent([Fault("truncate", "tx", 4)], b"abc", b"defg", b"hi") == b"abcdhi"
    assert sent([Fault("drop", "tx", 1), Fault("drop", "tx", 1)], b"abcd") == b"ad"
    assert sent([Fault("drop", "rx", 0)], b"abc") == b"abc"  # the other way


def test_a_cut_line_passes_nothing_either_way_for_a_while():
    wire = Wire(b"0123456789")
    line = FaultyLine(wire, [Fault("cut", "tx", 2, 0.3), Fault("dup", "rx", 2)])
    line.write(b"abcd")
    line.write(b"efgh")
    assert line.read(4) == b""  # lost, and the dup planned in it with them
    assert wire.written == b"ab"
    time.sleep(0.35)
    line.write(b"ij")
    assert line.read(10) == b"456789"
    assert wire.written == b"abij"
    assert [f.kind for f in line.injected] == ["cut"]


def test_received_bytes_are_damaged_too():
    line = FaultyLine(Wire(b"\x04OK\x04>"), [Fault("flip", "rx", 0, 1), Fault("drop", "rx", 3)])
    assert line.read(2) + line.read(10) == b"\x06OK>"
    assert line.in_waiting == 0


def test_plans_are_deterministic():
    a = [plan(seed, 5000, 300) for seed in range(200)]
    assert a == [plan(seed, 5000, 300) for seed in range(200)]
    faults = [f for p in a for f in p]
    assert 200 < len(faults) < 400  # about 1.5 per plan
    assert {f.kind for f in faults} == set(KINDS)
    assert {f.direction for f in faults} == {"tx", "rx"}
    assert all(0 <= f.at < (5000 if f.direction == "tx" else 300) for f in faults)


def test_campaign_sample(capsys):
    """A few dozen faulted uploads on two emulated STM32F405s at once (`make fault` runs
    1000)."""
    start = time.monotonic()
    c = fault_upload.campaign("QEMU_STM32F405", uploads=36, seed=3, jobs=2)
    assert fault_upload.report(c, time.monotonic() - start), capsys.readouterr().out
    assert c["faults"] >= 20 and c["storms"] >= 1
