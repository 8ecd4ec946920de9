"""The emulated boards' RAM filesystem (cmodules/microai/microai_ramfs.c): mpremote's
fs commands work on it, a file survives soft resets, a blob copied there by mpremote is
loaded and run from the REPL like one sent by microai, and a full disk is an OSError,
not a fault."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import serial

from conftest import EMULATED_BOARDS
from microai.convert import convert
from microai.device.qemu import QemuBoard
from microai.device.transport import wake
from microai.engine import Model
from microai.testing.tflite_builder import ModelBuilder

MPREMOTE = [sys.executable, "-m", "mpremote"]


def _mpremote(port: str, *args: str) -> str:
    cmd = [*MPREMOTE, "connect", port, *args]
    r = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, (args, r.stdout[-500:], r.stderr[-500:])
    return r.stdout


def _small_model() -> bytes:
    """A one-op model (LEAKY_RELU) whose blob fits the smallest RAM disk."""
    mb = ModelBuilder("ramfs")
    x = mb.input("x", (1, 32), scale=0.05, zero_point=3)
    y = mb.tensor("y", (1, 32), scale=0.04, zero_point=-2)
    mb.op("LEAKY_RELU", [x], [y], "LeakyReluOptions", Alpha=0.2)
    mb.output(y)
    return mb.build()


@pytest.mark.parametrize("name", EMULATED_BOARDS)
def test_mpremote_fs_on_emulated_board(firmware, tmp_path: Path, name: str):
    board, fw = firmware(name)
    blob = convert(_small_model(), "ramfs").blob
    (tmp_path / "m.mai").write_bytes(blob)
    (tmp_path / "hello.py").write_text("X = 42\n")
    x = np.arange(-16, 16, dtype=np.int8).reshape(1, 32)
    want = Model(blob).run(x).tobytes()
    with QemuBoard(board, fw) as q:
        with serial.Serial(q.port, timeout=0.1) as ser:
            wake(ser, timeout=30)
        _mpremote(q.port, "fs", "cp", str(tmp_path / "hello.py"), ":hello.py")
        _mpremote(q.port, "fs", "cp", str(tmp_path / "m.mai"), ":m.mai")
        listing = _mpremote(q.port, "fs", "ls")
        assert "hello.py" in listing and f"{len(blob)} m.mai" in listing
        # A new mpremote session soft-resets the board: the files stay.
        out = _mpremote(
            q.port,
            "exec",
            "import hello, microai\n"
            "m = microai.Model(open('m.mai', 'rb').read())\n"
            f"print(hello.X, m.run({x.tobytes()!r}) == {want!r})",
        )
        assert out.split() == ["42", "True"], out
        # Filling the disk is an OSError the script can catch.
        out = _mpremote(
            q.port,
            "exec",
            "f = open('big', 'wb')\n"
            "try:\n"
            "    for i in range(10000):\n"
            "        f.write(bytes(512))\n"
            "    print('no error')\n"
            "except OSError as e:\n"
            "    print('full', e.errno)\n"
            "f.close()\n"
            "import os; os.remove('big')",
        )
        assert out.startswith("full 28"), out  # ENOSPC
        _mpremote(q.port, "fs", "rm", ":hello.py")
        assert "hello.py" not in _mpremote(q.port, "fs", "ls")
