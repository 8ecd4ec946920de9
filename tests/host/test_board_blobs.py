"""A short run of tests/fuzz/board_blobs.py: malformed blobs on an emulated board are
refused, or run bit-exact with the host engine; the board never faults or hangs.
`make fuzz-board` runs the long campaign (1,000 blobs and more)."""

from __future__ import annotations

import importlib.util

from microai.paths import ROOT

spec = importlib.util.spec_from_file_location(
    "board_blobs", ROOT / "tests" / "fuzz" / "board_blobs.py"
)
board_blobs = importlib.util.module_from_spec(spec)
spec.loader.exec_module(board_blobs)


def test_malformed_blobs_on_the_board(firmware):
    firmware("QEMU_STM32F405")  # built once per session
    r = board_blobs.run(60, "QEMU_STM32F405", seed=7, log=lambda *_: None)
    assert r["failures"] == []
    assert r["hardfaults_or_hangs"] == 0 and r["disagreements"] == 0
    # The lies must reach both sides of the loader's checks to mean anything.
    assert r["refused"] > 20 and r["ran"] > 0
