"""One Transport interface for every board: run code in the raw REPL, read the result.

SerialTransport drives a board's serial port (a real board's USB serial, or an
emulated board's pty) through mpremote's transport; QemuTransport also owns the QEMU
process behind the pty. `connect()` picks one from --port or --board.
"""

from __future__ import annotations

import abc
import ast
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import serial
from mpremote.transport import TransportError
from mpremote.transport_serial import SerialTransport as _MpremoteSerial

from .. import MicroaiError
from ..boards import Board, load_board
from .qemu import QemuBoard

READ_TIMEOUT = 0.1  # seconds one serial read may block


class DeviceError(MicroaiError):
    """The board could not be reached, or code run on it raised."""


class BoardException(DeviceError):
    """Code run on the board raised; the board itself is fine."""


def wake(ser: serial.Serial, timeout: float = 10.0) -> None:
    """Interrupt whatever runs on the board at `ser` until a REPL prompt answers.

    A board that is still booting (or an emulator whose pty was not open yet) drops
    what it is sent, so Ctrl-C is repeated until a prompt comes back.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ser.write(b"\r\x03")
        seen = b""
        until = time.monotonic() + 0.3
        while time.monotonic() < until:
            seen += ser.read(ser.in_waiting or 1)
            if seen.endswith((b">>> ", b"\r\n>")):
                # Answers to earlier Ctrl-Cs may still be on their way: drain them.
                while ser.read(ser.in_waiting or 1) and time.monotonic() < deadline:
                    pass
                return
    raise TransportError(f"nothing answered Ctrl-C within {timeout:g} s")


class Transport(abc.ABC):
    """A connection to a MicroPython board running the microai module."""

    name: str

    @abc.abstractmethod
    def exec(self, code: str, timeout: float = 10.0) -> str:
        """Run code on the board; return what it printed. Raises DeviceError on an exception."""

    def eval(self, expr: str, timeout: float = 10.0) -> Any:
        """Evaluate a Python literal-valued expression on the board."""
        out = self.exec(f"print(repr({expr}))", timeout).strip()
        try:
            return ast.literal_eval(out)
        except (ValueError, SyntaxError):
            raise DeviceError(f"{self.name}: {expr} did not give a literal: {out!r}") from None

    @abc.abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> Transport:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class SerialTransport(Transport):
    """A board on a serial port, in the raw REPL."""

    def __init__(
        self, port: str, baudrate: int = 115200, soft_reset: bool = True, timeout: float = 10.0
    ):
        self.name = port
        try:
            # A read timeout, so that a silent line never blocks a read for ever.
            self._t = _MpremoteSerial(port, baudrate=baudrate, timeout=READ_TIMEOUT)
        except TransportError as e:
            raise DeviceError(f"cannot open {port}: {e}") from None
        try:
            wake(self._t.serial, timeout)
            self._t.enter_raw_repl(soft_reset=soft_reset, timeout_overall=timeout)
        except (TransportError, OSError) as e:
            self._t.close()
            raise DeviceError(f"{port}: no MicroPython raw REPL answered ({e})") from None

    def exec(self, code: str, timeout: float = 10.0) -> str:
        try:
            out, err = self._t.exec_raw(code, timeout=timeout)
        except (TransportError, OSError) as e:
            raise DeviceError(f"{self.name}: {e}") from None
        if err:
            trace = err.decode(errors="replace").strip()
            raise BoardException(f"{self.name}: the board raised:\n{trace}")
        return out.decode(errors="replace")

    def close(self) -> None:
        t, self._t = getattr(self, "_t", None), None
        if t is None:
            return
        try:
            t.exit_raw_repl()
        except (TransportError, OSError):
            pass  # the board is gone: nothing to leave
        try:
            t.close()
        except OSError:
            t.serial.close()


class QemuTransport(SerialTransport):
    """An emulated board: boots QEMU, then talks to its UART pty."""

    def __init__(self, board: Board, firmware: Path, extra_args: Sequence[str] = ()):
        self.qemu = QemuBoard(board, firmware, extra_args)
        port = self.qemu.start()
        try:
            super().__init__(port)
        except DeviceError as e:
            log = self.qemu.output()
            self.qemu.stop()
            raise DeviceError(f"{board.name}: {e}\nQEMU said:\n{log}") from None

    def exec(self, code: str, timeout: float = 10.0) -> str:
        try:
            return super().exec(code, timeout)
        except BoardException:
            raise
        except DeviceError as e:
            # A board that reset or faulted may take a moment to bring QEMU down.
            deadline = time.monotonic() + 2.0
            while self.qemu.running and time.monotonic() < deadline:
                time.sleep(0.05)
            if not self.qemu.running:
                raise DeviceError(f"{e}\nQEMU stopped:\n{self.qemu.output()}") from None
            raise

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.qemu.stop()


def connect(port: str | None = None, board: str | None = None, build: bool = True) -> Transport:
    """A transport to a real board on `port`, or to `board`: an emulated one (QEMU) or
    the unix port (a subprocess); its firmware is built first if needed."""
    if port:
        return SerialTransport(port)
    from ..firmware import build as build_firmware
    from ..firmware import firmware_path

    b = load_board(board)
    if not b.emulated and b.port != "unix":
        raise DeviceError(f"board {b.name} is not emulated: connect to it with --port")
    firmware = build_firmware(b) if build else firmware_path(b)
    if b.port == "unix":
        from .unix import UnixTransport

        return UnixTransport(firmware)
    return QemuTransport(b, firmware)
