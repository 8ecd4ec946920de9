"""One Transport interface for every board: run code in the raw REPL, read the result.

SerialTransport drives a board's serial port (a real board's USB serial, or an
emulated board's pty); QemuTransport also owns the QEMU process behind the pty.
`connect()` picks one from --port or --board.

The raw REPL is spoken by RawRepl: mpremote's serial transport (it opens the port)
with the protocol rewritten to hold on a loaded machine and on a faulty line. Every
read is a short poll inside a deadline in seconds; nothing waits for ever, nothing
gives up after a tenth of a second. A transport error leaves the board in an unknown
state (mid-command, still running, in the friendly REPL): recover() brings it back
to the raw REPL prompt, keeping its RAM state, and runs after every such error.
"""

from __future__ import annotations

import abc
import ast
import random
import struct
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import serial
from mpremote.transport import TransportError
from mpremote.transport_serial import SerialTransport as _MpremoteSerial

from .. import MicroaiError
from ..boards import Board, load_board
from .qemu import QemuBoard

POLL = 0.05  # seconds one serial read may block; every wait has its own deadline
REPLY_TIMEOUT = 10.0  # seconds for a protocol reply (prompt, OK, end marks)
RECOVER_TIMEOUT = 20.0  # seconds recover() keeps trying after a transport error

BANNER = b"raw REPL; CTRL-B to exit\r\n"

# A command goes to the raw REPL as "\n" GUARD code Ctrl-D "\n". The raw REPL
# soft-reboots (wiping the board's RAM) on a Ctrl-D at an empty line, so no byte that
# a single fault turns into Ctrl-D may start a line: "\n" cannot become one by a bit
# flip (raw paste's Ctrl-E can: only commands longer than LINE_MAX bytes use it, and
# uploads send none). A Ctrl-D the line duplicates after a command is read by GUARD,
# which runs first and reads the console up to the "\n" sent after the command's
# Ctrl-D (microai._drain(); skipped on a board without microai).
GUARD = b"try:__import__('microai')._drain()\nexcept ImportError:pass\n"
LINE_MAX = 512

T = TypeVar("T")


def recover_budget(timeout: float) -> float:
    """Seconds to spend recovering after a call that had `timeout` seconds failed."""
    return min(RECOVER_TIMEOUT, max(5.0, 2 * timeout))


class DeviceError(MicroaiError):
    """The board could not be reached, or code run on it raised."""


class BoardException(DeviceError):
    """Code run on the board raised; the board itself is fine."""


class BoardGone(DeviceError):
    """The board or its port went away (QEMU stopped, the adapter was unplugged)."""


class StateLost(DeviceError):
    """The board soft-rebooted: what the REPL held (names, buffers) is gone.

    The raw REPL soft-reboots on a Ctrl-D at an empty line. No single damaged byte of
    ours can send one (GUARD); a reset button, a user's Ctrl-D or several faults can."""


def wake(ser: serial.Serial, timeout: float = 10.0) -> None:
    """Bring the board at `ser` to the friendly REPL's `>>> ` prompt.

    Ctrl-C interrupts running code and ends a pending raw paste, Ctrl-B leaves the raw
    REPL (and reprints the banner in the friendly one). A board that is still booting
    (or an emulator whose pty was not open yet) drops what it is sent, so this repeats.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ser.write(b"\r\x03\x03\x02")
        seen = b""
        until = min(deadline, time.monotonic() + 1.0)
        while time.monotonic() < until:
            seen += ser.read(ser.in_waiting or 1)
            if seen.endswith(b">>> "):
                # Answers to earlier tries may still be on their way: drain them.
                while ser.read(ser.in_waiting or 1) and time.monotonic() < deadline:
                    pass
                return
    raise TransportError(f"nothing answered Ctrl-C within {timeout:g} s")


class RawRepl(_MpremoteSerial):
    """mpremote's SerialTransport with a raw REPL that survives load and line faults.

    Bytes read ahead are kept in `_rx`, so a wait never eats the next answer. `prompt`
    is True when the raw REPL's `>` has been read already and the board waits for code.
    """

    def __init__(self, port: str, baudrate: int = 115200):
        super().__init__(port, baudrate=baudrate, timeout=POLL)
        self.serial.inter_byte_timeout = None  # reads return what has arrived
        self._rx = bytearray()
        self.prompt = False
        self.reply_timeout = REPLY_TIMEOUT
        self.soft_reboots = 0  # "soft reboot"s read: each one wiped the board's RAM state
        # A number recover() leaves in the board's RAM (`_mai_s`) and checks is there.
        self.sentinel = random.randrange(10**8, 10**9)
        self.sentinel_set = False
        self._tail = b""

    # ---- reading under deadlines ------------------------------------------------------

    def _fill(self) -> bool:
        """Append what the line has to _rx, waiting at most one POLL; False if nothing."""
        data = self.serial.read(self.serial.in_waiting or 1)
        self._rx += data
        if data:
            seen, self._tail = self._tail + data, (self._tail + data)[-10:]
            if b"soft reboot" in seen:
                self.soft_reboots += 1
                self.sentinel_set = False  # gone with the RAM: recover() sets it again
        return bool(data)

    def _take_until(self, ending: bytes, timeout: float, what: str) -> bytes:
        """Bytes up to and including `ending`, within `timeout` seconds."""
        deadline = time.monotonic() + timeout
        start = 0
        while True:
            i = self._rx.find(ending, start)
            if i >= 0:
                out = bytes(self._rx[: i + len(ending)])
                del self._rx[: i + len(ending)]
                return out
            start = max(0, len(self._rx) - len(ending) + 1)
            if time.monotonic() >= deadline:
                raise TransportError(
                    f"no {what} within {timeout:g} s (received {bytes(self._rx[-60:])!r})"
                )
            self._fill()

    def _take(self, n: int, timeout: float, what: str) -> bytes:
        deadline = time.monotonic() + timeout
        while len(self._rx) < n:
            if time.monotonic() >= deadline:
                raise TransportError(
                    f"no {what} within {timeout:g} s (received {bytes(self._rx)!r})"
                )
            self._fill()
        out = bytes(self._rx[:n])
        del self._rx[:n]
        return out

    def read_until(
        self, min_num_bytes, ending, timeout=10, data_consumer=None, timeout_overall=None
    ):
        """mpremote's read_until, on our buffer: what arrived up to `ending` or a timeout."""
        try:
            data = self._take_until(ending, timeout_overall or timeout or REPLY_TIMEOUT, "answer")
        except TransportError:
            data, self._rx = bytes(self._rx), bytearray()
        if data_consumer:
            data_consumer(data)
        return data

    # ---- the raw REPL -------------------------------------------------------------------

    def enter_raw_repl(self, soft_reset: bool = True, timeout_overall: float = 10) -> None:
        """Get to the raw REPL prompt from any state; with soft_reset, restart the VM."""
        self.recover(timeout_overall)
        if soft_reset:
            self._take_until(b">", self.reply_timeout, "raw REPL prompt")
            self.serial.write(b"\x04")  # Ctrl-D on an empty line: soft reset
            self._take_until(b"soft reboot\r\n", timeout_overall, "soft reboot")
            self._take_until(BANNER, timeout_overall, "raw REPL after the soft reboot")
            self.prompt = False
            self.soft_reboots = 0  # asked for
            self.sentinel_set = False
            self.recover(timeout_overall)  # leaves the sentinel in the fresh RAM
        self.in_raw_repl = True

    def exec_raw_no_follow(self, command: str | bytes, timeout: float | None = None) -> None:
        """Send code to the raw REPL behind GUARD: a short command as one raw REPL line,
        a long one in raw paste (flow-controlled, and compiled as it arrives: a line
        keeps its length in the raw REPL's buffer, out of a small board's heap, for good)."""
        data = GUARD + (command if isinstance(command, bytes) else command.encode())
        reply = min(timeout or self.reply_timeout, self.reply_timeout)
        if not self.prompt:
            self._take_until(b">", reply, "raw REPL prompt")
        self.prompt = False
        if len(data) > LINE_MAX:
            self.serial.write(b"\x05A\x01")
            answer = self._take(2, reply, "answer to the raw-paste request")
            if answer == b"R\x01":
                self._raw_paste(data, reply)
                return
            if answer != b"R\x00":
                raise TransportError(f"unexpected answer to the raw-paste request: {answer!r}")
            self._take_until(b">", reply, "raw REPL prompt")  # no raw paste on this board
        self.serial.write(b"\n" + data + b"\x04\n")
        ok = self._take(2, reply, "OK")
        if ok != b"OK":
            raise TransportError(f"could not exec command (response: {ok!r})")

    def _raw_paste(self, data: bytes, reply: float) -> None:
        """Write `data` in raw-paste mode, never past the window the board has granted."""
        window = struct.unpack("<H", self._take(2, reply, "raw-paste window size"))[0]
        if not 0 < window <= 32768:
            raise TransportError(f"bad raw-paste window size {window}")
        remain = window
        i = 0
        while i < len(data):
            while remain == 0 or self._rx or self.serial.in_waiting:
                c = self._take(1, reply, "raw-paste flow control")
                if c == b"\x01":
                    remain += window
                elif c == b"\x04":
                    self.serial.write(b"\x04\n")  # the board ended early: acknowledge
                    return
                else:
                    raise TransportError(f"unexpected read during raw paste: {c!r}")
            part = data[i : i + remain]
            self.serial.write(part)
            remain -= len(part)
            i += len(part)
        self.serial.write(b"\x04\n")
        # Only window grants may come before the board's acknowledgement: anything else
        # means the line lost or garbled bytes, and waiting longer would not help.
        ack = self._take_until(b"\x04", reply, "end of the raw paste")
        if ack.strip(b"\x01") != b"\x04":
            raise TransportError(f"garbage before the raw-paste acknowledgement: {ack[-40:]!r}")

    def follow(self, timeout: float, data_consumer=None) -> tuple[bytes, bytes]:
        """What the code printed and its traceback; `timeout` is how long it may run."""
        out = self._take_until(b"\x04", timeout, "end of the output")[:-1]
        reply = min(timeout, self.reply_timeout)  # the traceback follows at once
        err = self._take_until(b"\x04", reply, "end of the error output")[:-1]
        if data_consumer:
            data_consumer(out)
        return out, err

    def exec_raw(self, command, timeout=10, data_consumer=None) -> tuple[bytes, bytes]:
        self.exec_raw_no_follow(command, timeout)
        return self.follow(timeout, data_consumer)

    def recover(self, timeout: float = RECOVER_TIMEOUT) -> None:
        """Bring the board to the raw REPL prompt, whatever it was doing, keeping its RAM.

        Ctrl-C interrupts running code, stops a command waiting in its GUARD or a
        Blob.receive() and clears a half-typed line; Ctrl-A enters the
        raw REPL from the friendly one and prints its banner. Then a command with an
        answer no earlier output can contain proves the board and host are in step; it
        also finds out whether the board soft-rebooted since the last time (the
        sentinel it leaves in RAM is gone).
        Ctrl-D is only sent after the command: on an empty line it would soft-reset.
        """
        deadline = time.monotonic() + timeout
        wait = 1.0
        nones = 0  # answers in a row saying the sentinel is gone
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TransportError(f"nothing answered Ctrl-C within {timeout:g} s")
            self.serial.write(b"\r\x03\x03\x01")
            n = random.randrange(10**8, 10**9)
            code = b"print(%d+1,globals().get('_mai_s'))" % n
            if not self.sentinel_set:
                code = b"_mai_s=%d;" % self.sentinel + code
            code = b"\n" + GUARD + code + b"\x04\n"  # short: one line
            try:
                self._take_until(BANNER, min(wait, left), "raw REPL banner")
                self.serial.write(code)
                self._take_until(b"OK%d " % (n + 1), min(wait, left), "sync answer")
                was = self._take_until(b"\r\n\x04\x04", min(wait, left), "sync answer")[:-4]
            except TransportError:
                wait = min(2 * wait, 8.0)
                del self._rx[:-64]  # what is left of an earlier answer may still match
                continue
            if was == b"None" and self.sentinel_set:
                # Gone, or its name garbled on the way: gone twice in a row is a reboot.
                nones += 1
                if nones == 2:
                    self.soft_reboots += 1
                    self.sentinel_set = False
                continue
            if was != b"%d" % self.sentinel:
                continue  # a garbled answer, or a garbled sentinel set: again
            self.sentinel_set = True
            self.prompt = False  # the prompt `>` follows
            self.in_raw_repl = True
            return


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

    def recover(self, timeout: float = RECOVER_TIMEOUT) -> None:
        """Bring the board back to a state where exec() works; DeviceError if it cannot.

        Transports without a line to resynchronise (the unix port) have nothing to do."""
        return None

    @abc.abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> Transport:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class SerialTransport(Transport):
    """A board on a serial port, in the raw REPL.

    After a transport error (timeout, garbage, a lost byte) exec() tries to recover the
    board before raising; if that fails too, the next exec() recovers first.
    """

    def __init__(
        self, port: str, baudrate: int = 115200, soft_reset: bool = True, timeout: float = 10.0
    ):
        self.name = port
        self._stale = False
        try:
            self._t = RawRepl(port, baudrate=baudrate)
        except TransportError as e:
            raise DeviceError(f"cannot open {port}: {e}") from None
        try:
            self._t.enter_raw_repl(soft_reset=soft_reset, timeout_overall=timeout)
        except (TransportError, OSError) as e:
            self._t.close()
            raise DeviceError(f"{port}: no MicroPython raw REPL answered ({e})") from None

    @property
    def serial(self):
        """The line under the raw REPL (a pyserial port, or a wrapper around one)."""
        return self._t.serial

    @serial.setter
    def serial(self, line) -> None:
        self._t.serial = line

    def gone(self, wait: bool = False) -> str | None:
        """Why the board cannot come back (None if it may): overridden by QemuTransport."""
        return None

    def recover(self, timeout: float = RECOVER_TIMEOUT) -> None:
        try:
            self._t.recover(timeout)
        except (TransportError, OSError) as e:
            self._stale = True
            reason = self.gone(wait=isinstance(e, OSError))
            if reason:
                raise BoardGone(f"{self.name}: {e}\n{reason}") from None
            raise DeviceError(f"{self.name}: cannot recover the board: {e}") from None
        self._stale = False
        self._check_reboots()

    def exec(self, code: str, timeout: float = 10.0) -> str:
        return self.converse(code, None, timeout)[1]

    def converse(
        self, code: str, talk: Callable[[Line], T] | None, timeout: float = 10.0
    ) -> tuple[T | None, str]:
        """Run `code` and, while it runs, let talk(line) speak with it over the raw line
        (its own protocol: Blob.receive()); then (what talk returned, what code printed
        besides). An exception out of talk stops the code with a Ctrl-C and recovers."""
        try:
            if self._stale:
                self.recover(recover_budget(timeout))
            try:
                self._t.exec_raw_no_follow(code, timeout)
                said = talk(Line(self._t)) if talk else None
                out, err = self._t.follow(timeout)
            except (TransportError, OSError) as e:
                self._stale = True
                reason = self.gone(wait=isinstance(e, OSError))
                if reason:
                    raise BoardGone(f"{self.name}: {e}\n{reason}") from None
                self._try_recover(timeout)
                raise DeviceError(f"{self.name}: {e}") from None
            except BaseException:
                self._stale = True
                try:
                    self._t.serial.write(b"\x03")  # stop the code talk was speaking with
                except OSError:
                    pass
                self._try_recover(timeout)
                raise
        finally:
            self._check_reboots()
        if err:
            trace = err.decode(errors="replace").strip()
            raise BoardException(f"{self.name}: the board raised:\n{trace}")
        return said, out.decode(errors="replace")

    def _try_recover(self, timeout: float) -> None:
        try:
            self.recover(recover_budget(timeout))
        except (BoardGone, StateLost):
            raise
        except DeviceError:
            pass  # the next exec() tries again

    def _check_reboots(self) -> None:
        if self._t.soft_reboots:
            self._t.soft_reboots = 0
            raise StateLost(
                f"{self.name}: the board soft-rebooted (a Ctrl-D reached an empty raw REPL "
                "line): everything the REPL held is gone"
            )

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


class Line:
    """The raw serial line to code running on the board, for SerialTransport.converse()."""

    def __init__(self, raw: RawRepl):
        self._raw = raw

    def write(self, data: bytes) -> None:
        self._raw.serial.write(data)

    def token(self, timeout: float) -> bytes | None:
        """The next `<...>` token the code prints (its last 40 bytes at most), or None
        when none is complete within `timeout` seconds."""
        try:
            got = self._raw._take_until(b">", timeout, "answer")
        except TransportError:
            return None
        return got[got.rfind(b"<") :][-40:] if b"<" in got else got[-40:]


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

    def gone(self, wait: bool = False) -> str | None:
        # A board that reset or faulted may take a moment to bring QEMU down.
        deadline = time.monotonic() + (2.0 if wait else 0.0)
        while self.qemu.running and time.monotonic() < deadline:
            time.sleep(0.05)
        if self.qemu.running:
            return None
        return f"QEMU stopped:\n{self.qemu.output()}"

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
