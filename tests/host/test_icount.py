"""Deterministic cost: the QEMU instruction-count plugin and the boards' cycle source.

microai._spin(n) runs a loop of exactly two instructions per iteration between
microai_mark_begin() and microai_mark_end(); the plugin must count 2 * n plus the same
small constant every time, on every run, with or without -icount.
"""

from __future__ import annotations

import pytest

from conftest import EMULATED_BOARDS
from microai.device.icount import (
    SPIN_INSNS_PER_ITERATION,
    SPIN_OVERHEAD,
    IcountError,
    InstructionCounter,
    build_plugin,
    marker_addresses,
    parse_records,
    parse_stats,
)
from microai.device.qemu import qemu_command
from microai.device.transport import QemuTransport

SPINS = (1000, 3000, 1000, 1)

# The cycle source each emulated machine gives Model.profile() (microai_profile.h), and
# its resolution in instructions under -icount shift=0.
CYCLE_SOURCES = {
    "netduinoplus2": ("qemu-tim2", 1),
    "netduino2": ("qemu-tim2", 1),
    "mps2-an500": ("qemu-cmsdk-timer", 40),
}


@pytest.fixture(scope="module")
def plugin():
    try:
        return build_plugin()
    except IcountError as e:
        pytest.skip(f"the QEMU plugin cannot be built here: {e}")


def spin_totals(board, fw, icount: bool = True) -> list[int]:
    """Boot board with the plugin, run _spin for each of SPINS; the plugin's totals."""
    with InstructionCounter(fw, icount=icount, build=False) as counter:
        with QemuTransport(board, fw, extra_args=counter.qemu_args()) as t:
            assert t.eval("hasattr(__import__('microai'), '_spin')"), "no microai._spin"
            t.exec("import microai")
            assert counter.new_records() == []  # nothing marked while booting
            for n in SPINS:
                t.exec(f"microai._spin({n})")
            records = counter.new_records()
        stats = counter.stats()  # written when QEMU exits
    assert [r.seq for r in records] == list(range(1, len(SPINS) + 1))
    assert not any(r.aborted or r.layers for r in records)
    assert stats["invokes"] == len(SPINS) and stats["aborts"] == stats["stray"] == 0
    return [r.total for r in records]


def test_qemu_command_passes_extra_args(firmware):
    board, fw = firmware("QEMU_STM32F405")
    cmd = qemu_command(board, fw, extra_args=["-icount", "shift=0"])
    assert cmd[cmd.index("-icount") + 1] == "shift=0"
    assert cmd.index("-icount") < cmd.index("-kernel")


@pytest.mark.parametrize("name", EMULATED_BOARDS)
def test_spin_counts_are_exact_and_deterministic(plugin, firmware, name):
    board, fw = firmware(name)
    totals = spin_totals(board, fw)
    t1000, t3000, t1000_again, t1 = totals
    # Exactly linear: two instructions per iteration, a constant for the marks.
    assert t3000 - t1000 == 2000 * SPIN_INSNS_PER_ITERATION
    assert t1000 == t1000_again == 1000 * SPIN_INSNS_PER_ITERATION + SPIN_OVERHEAD
    assert t1 == SPIN_INSNS_PER_ITERATION + SPIN_OVERHEAD
    # Another boot, this time without -icount (QEMU's clock follows the host's):
    # the same numbers.
    assert spin_totals(board, fw, icount=False) == totals


@pytest.mark.parametrize("name", EMULATED_BOARDS)
def test_cycle_source_counts_instructions(plugin, firmware, name):
    """Under -icount shift=0 the board's cycle source counts one unit per instruction."""
    board, fw = firmware(name)
    source, resolution = CYCLE_SOURCES[board.emulator["machine"]]
    with InstructionCounter(fw, build=False) as counter:
        with QemuTransport(board, fw, extra_args=counter.qemu_args()) as t:
            assert t.eval("__import__('microai').info()['cycles']") == source
            if not t.eval("hasattr(__import__('microai'), '_cycles')"):
                pytest.skip("firmware has no microai._cycles: only the source name checked")
            runs = t.eval("[__import__('microai')._cycles(n) for n in (1000, 3000, 1000)]")
    (s1, c1000), (s3, c3000), (s1b, c1000b) = runs
    assert s1 == s3 == s1b == source
    assert abs((c3000 - c1000) - 2000 * SPIN_INSNS_PER_ITERATION) <= resolution
    assert abs(c1000b - c1000) <= resolution


def test_markers_are_distinct_symbols(firmware):
    _, fw = firmware("QEMU_STM32F405")
    addrs = marker_addresses(fw)
    assert len(set(addrs.values())) == 3
    assert all(a % 2 == 0 for a in addrs.values())  # Thumb bit cleared


def test_parse_plugin_output():
    text = (
        "invoke seq=1 total=2002 layers=\n"
        "abort seq=2 total=50 layers=10,20\n"
        "invoke seq=3 total=90 layers=30,40,5\n"
        "stats insns=123456 invokes=2 aborts=1 stray=0\n"
        "invoke seq=4 tot"  # cut short: ignored
    )
    records = parse_records(text)
    assert [(r.seq, r.total, r.layers, r.aborted) for r in records] == [
        (1, 2002, (), False),
        (2, 50, (10, 20), True),
        (3, 90, (30, 40, 5), False),
    ]
    assert parse_stats(text) == {"insns": 123456, "invokes": 2, "aborts": 1, "stray": 0}
