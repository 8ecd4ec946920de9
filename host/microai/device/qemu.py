"""Emulated boards: QEMU running a board's firmware with the board UART on a pty.

QEMU never outlives the process that started it: it runs under `setpriv --pdeathsig
KILL` (util-linux), so the kernel kills it when its parent dies, even by SIGKILL; a
normal exit or a signal handled by the caller stops it through stop().
"""

from __future__ import annotations

import collections
import re
import select
import shutil
import subprocess
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from .. import MicroaiError
from ..boards import Board

_PTY_RE = re.compile(r"char device redirected to (/dev/pts/\d+)")


class EmulatorError(MicroaiError):
    pass


def qemu_command(
    board: Board, firmware: Path, serial: str = "pty", extra_args: Sequence[str] = ()
) -> list[str]:
    """The QEMU command line that runs firmware on board, its UART on `serial`;
    extra_args go before -kernel (e.g. the instruction-count plugin)."""
    if not board.emulated:
        raise EmulatorError(f"board {board.name} is not an emulated board")
    emu = board.emulator
    return [
        emu["qemu"],
        "-machine",
        emu["machine"],
        "-nographic",
        "-monitor",
        "null",
        "-semihosting",
        "-serial",
        serial,
        *extra_args,
        "-kernel",
        str(firmware),
    ]


def guarded(cmd: list[str]) -> list[str]:
    """cmd run so that the kernel kills it when its parent process dies."""
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        raise EmulatorError("setpriv (util-linux) is missing: run `make setup`")
    return [setpriv, "--pdeathsig", "KILL", "--", *cmd]


class QemuBoard:
    """A running emulated board. Use as a context manager, or call start() and stop()."""

    def __init__(self, board: Board, firmware: Path, extra_args: Sequence[str] = ()):
        self.board = board
        self.firmware = Path(firmware)
        self.extra_args = list(extra_args)
        self.port: str | None = None
        self._proc: subprocess.Popen | None = None
        self._log: collections.deque[str] = collections.deque(maxlen=50)

    def start(self, timeout: float = 10.0) -> str:
        """Boot QEMU; returns the pty of the board's UART."""
        if not self.firmware.is_file():
            raise EmulatorError(f"no firmware for {self.board.name}: {self.firmware}")
        cmd = guarded(qemu_command(self.board, self.firmware, extra_args=self.extra_args))
        if shutil.which(cmd[4]) is None:
            raise EmulatorError(f"{cmd[4]} not found: run `make setup`")
        # Own session: a Ctrl-C in the terminal reaches us, and we stop QEMU cleanly.
        self._proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.port = self._wait_for_pty(timeout)
        threading.Thread(target=self._drain, daemon=True).start()
        return self.port

    def _wait_for_pty(self, timeout: float) -> str:
        assert self._proc and self._proc.stdout
        deadline = time.monotonic() + timeout
        buf = b""
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self._proc.stdout], [], [], 0.1)
            if ready:
                chunk = self._proc.stdout.read1(4096)
                if not chunk:
                    break
                buf += chunk
                m = _PTY_RE.search(buf.decode(errors="replace"))
                if m:
                    self._log.extend(buf.decode(errors="replace").splitlines())
                    return m.group(1)
            elif self._proc.poll() is not None:
                break
        out = buf.decode(errors="replace").strip() or "no output"
        self.stop()
        raise EmulatorError(f"QEMU for {self.board.name} did not open a serial pty: {out}")

    def _drain(self) -> None:
        # Keep QEMU's output pipe from filling; remember the last lines for error messages.
        try:
            for line in self._proc.stdout:
                self._log.append(line.decode(errors="replace").rstrip())
        except (AttributeError, ValueError, OSError):
            pass  # stop() closed the pipe

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def output(self) -> str:
        """QEMU's own last messages (e.g. 'Lockup' after a hard fault)."""
        return "\n".join(self._log)

    def wait(self) -> int:
        assert self._proc
        return self._proc.wait()

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc.stdout:
            proc.stdout.close()

    def __enter__(self) -> QemuBoard:
        if self._proc is None:
            self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
