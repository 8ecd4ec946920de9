"""The serial transport on a pty: a clear error, never a hang, on a bad line; waits in
seconds for a slow board; recovery from garbage, lost bytes and a board left mid-command.

FakeBoard speaks MicroPython's raw REPL on the pty's other end (as pyexec.c does) and
runs the code it gets with the host's Python, so these tests need no emulator; knobs
make it slow, lose a byte or babble.
"""

from __future__ import annotations

import contextlib
import io
import os
import threading
import time
import traceback

import pytest

from microai.device import DeviceError, SerialTransport, StateLost
from microai.device.faults import Fault, FaultyLine
from microai.device.transport import GUARD

BANNER = b"raw REPL; CTRL-B to exit\r\n"


def test_missing_port():
    with pytest.raises(DeviceError, match="cannot open /dev/microai-no-such-port"):
        SerialTransport("/dev/microai-no-such-port")


def test_silent_line_times_out():
    master, slave = os.openpty()
    try:
        start = time.monotonic()
        with pytest.raises(DeviceError, match="no MicroPython raw REPL answered"):
            SerialTransport(os.ttyname(slave), timeout=1.0)
        assert time.monotonic() - start < 5
    finally:
        os.close(master)
        os.close(slave)


def test_garbage_on_the_line_is_not_a_board():
    master, slave = os.openpty()
    stop = threading.Event()

    def babble():
        while not stop.is_set():
            try:
                os.write(master, b"\x00\xff garbage >>\r\n")
            except OSError:
                return
            time.sleep(0.01)

    t = threading.Thread(target=babble, daemon=True)
    t.start()
    try:
        with pytest.raises(DeviceError, match="no MicroPython raw REPL answered"):
            SerialTransport(os.ttyname(slave), timeout=1.0)
    finally:
        stop.set()
        t.join()
        os.close(master)
        os.close(slave)


class FakeBoard:
    """MicroPython's REPL on the master side of a pty, in a thread.

    delay: seconds before every answer (a loaded machine, a slow adapter);
    lose_marker: drop the next \\x04 that ends an output; babble: garble the next "OK";
    mute: answer nothing at all; babble_paste: a garbage byte in the next raw paste's
    flow control. A command that starts with the transport's GUARD reads the line up to
    a "\\n" before it runs, as microai._drain() does.
    """

    WINDOW = 32

    def __init__(self, delay: float = 0.0):
        self.master, self.slave = os.openpty()
        self.port = os.ttyname(self.slave)
        self.delay = delay
        self.lose_marker = self.babble = self.mute = self.quiet_reboot = False
        self.babble_paste = False
        self.mode = "friendly"
        self.line = b""
        self.globals: dict = {}
        self.soft_reboots = 0
        self._stop = False
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop = True
        self._thread.join()
        os.close(self.master)
        os.close(self.slave)

    def _send(self, data: bytes) -> None:
        if self.mute:
            return
        if self.delay:
            time.sleep(self.delay)
        os.write(self.master, data)

    def _run(self, code: bytes) -> None:
        out, err = io.StringIO(), ""
        try:
            with contextlib.redirect_stdout(out):
                exec(code.decode(), self.globals)
        except Exception as e:
            err = "Traceback (most recent call last):\r\n" + "".join(
                traceback.format_exception_only(e)
            )
        end = b"" if self.lose_marker else b"\x04"
        self.lose_marker = False
        self._send(out.getvalue().replace("\n", "\r\n").encode() + end + err.encode() + b"\x04>")

    def _guarded(self, code: bytes) -> None:
        if code.startswith(GUARD):
            self.mode, self.code = "drain", code[len(GUARD) :]
        else:
            self._run(code)

    def _serve(self) -> None:
        import select

        while not self._stop:
            if not select.select([self.master], [], [], 0.05)[0]:
                continue
            for c in os.read(self.master, 4096):
                self._char(c)

    def _char(self, c: int) -> None:
        if self.mode == "friendly":
            if c == 1:
                self.mode, self.line = "raw", b""
                self._send(b"\r\n" + BANNER + b">")
            elif c in (2, 3, 13):
                self._send(b"\r\n>>> ")
        elif self.mode == "raw":
            if c == 1:
                if self.line == b"\x05A":
                    self.mode, self.code, self.remain = "paste", b"", self.WINDOW
                    self._send(b"R\x01" + self.WINDOW.to_bytes(2, "little") + b"\x01")
                else:
                    self._send(BANNER + b">")
                self.line = b""
            elif c == 2:
                self.mode = "friendly"
                self._send(b"\r\n>>> ")
            elif c == 3:
                self.line = b""
            elif c == 4:
                if not self.line:
                    self.soft_reboots += 1
                    self.globals = {}
                    if not self.quiet_reboot:
                        self._send(b"OK\r\nMPY: soft reboot\r\n" + BANNER + b">")
                    self.quiet_reboot = False
                else:
                    self._send(b"O#" if self.babble else b"OK")
                    self.babble = False
                    line, self.line = self.line, b""
                    self._guarded(line.removeprefix(b"\n"))
            else:
                self.line += bytes([c])
        elif self.mode == "paste":
            if c == 3:
                self.mode = "raw"
                self._send(b"\x04\x04Traceback:\r\nKeyboardInterrupt:\r\n\x04>")
            elif c == 4:
                self.mode = "raw"
                self._send(b"\x04")
                self._guarded(self.code)
            else:
                self.code += bytes([c])
                self.remain -= 1
                if self.remain == 0:
                    self.remain = self.WINDOW
                    self._send(b"#" if self.babble_paste else b"\x01")
                    self.babble_paste = False
        elif self.mode == "drain":
            if c == 3:
                self.mode = "raw"
                self._send(b"\x04Traceback:\r\nKeyboardInterrupt:\r\n\x04>")
            elif c == 10:
                self.mode = "raw"
                self._run(self.code)


@pytest.fixture
def fake():
    b = FakeBoard()
    yield b
    b.close()


def test_fake_board_speaks_the_raw_repl(fake):
    with SerialTransport(fake.port) as t:
        t.exec("x = 41")
        assert t.eval("x + 1") == 42
        assert t.eval("'y' * 3000") == "y" * 3000
        assert t.eval("'" + "y" * 1000 + "'") == "y" * 1000  # raw paste, many windows
        with pytest.raises(DeviceError, match="ZeroDivisionError"):
            t.exec("1 // 0")
    assert fake.soft_reboots == 1  # the one asked for when connecting


def test_slow_board_is_waited_for():
    """Every answer half a second late (the old 0.1 s read timeout failed at once)."""
    b = FakeBoard(delay=0.5)
    try:
        with SerialTransport(b.port, timeout=30) as t:
            t.exec("x = 1")
            start = time.monotonic()
            assert t.eval("'z' * 100 + str(x)") == "z" * 100 + "1"
            assert time.monotonic() - start > 0.9  # it really was slow: two late answers
    finally:
        b.close()


def test_mute_board_times_out_in_seconds(fake):
    with SerialTransport(fake.port) as t:
        fake.mute = True
        start = time.monotonic()
        with pytest.raises(DeviceError, match="within 2 s"):
            t.exec("x = 1", timeout=2)
        assert time.monotonic() - start < 15  # the deadline, then a bounded recovery
        fake.mute = False
        assert t.eval("1 + 1") == 2


def test_garbage_for_ok_is_an_error_then_recovered(fake):
    with SerialTransport(fake.port) as t:
        t.exec("kept = 7")
        fake.babble = True
        with pytest.raises(DeviceError, match="could not exec command"):
            t.exec("y = '" + "a" * 100 + "'")
        assert t.eval("kept") == 7  # recovered, RAM intact
    assert fake.soft_reboots == 1


def test_garbage_in_raw_paste_is_an_error_then_recovered(fake):
    with SerialTransport(fake.port) as t:
        t.exec("kept = 7")
        fake.babble_paste = True
        with pytest.raises(DeviceError, match="unexpected read during raw paste"):
            t.exec("y = '" + "a" * 1000 + "'")
        assert t.eval("kept") == 7
    assert fake.soft_reboots == 1


def test_a_doubled_ctrl_d_is_read_by_the_guard(fake):
    """A Ctrl-D the line doubles after a command would soft-reboot the board at the next
    empty raw REPL line; the command's GUARD reads it first."""
    with SerialTransport(fake.port) as t:
        t.exec("kept = 11")
        line = t.serial
        wire = b"\n" + GUARD + b"x = 1\x04\n"
        t.serial = FaultyLine(line, [Fault("dup", "tx", wire.index(b"\x04"))])
        try:
            t.exec("x = 1")
        finally:
            t.serial = line
        assert t.serial is line and t.eval("kept + x") == 12
    assert fake.soft_reboots == 1


def test_lost_end_marker_is_an_error_then_recovered(fake):
    with SerialTransport(fake.port) as t:
        t.exec("kept = 8")
        fake.lose_marker = True
        with pytest.raises(DeviceError, match="within 2 s"):
            t.exec("print(1)", timeout=2)
        assert t.eval("kept") == 8
    assert fake.soft_reboots == 1


def test_board_left_mid_command_is_brought_back(fake):
    """A host that died mid-command leaves the board reading it: a new connection
    clears the line (Ctrl-C) and gets the raw REPL back, the board's RAM intact."""
    t = SerialTransport(fake.port)
    t.exec("kept = 9")
    t._t.serial.write(b"\n" + GUARD + b"half = 'a comma")
    time.sleep(0.2)
    t._t.serial.close()  # no goodbye
    with SerialTransport(fake.port, soft_reset=False) as t2:
        assert t2.eval("kept") == 9
        assert t2.eval("'half' in globals()") is False
    assert fake.soft_reboots == 1


def test_a_command_whose_end_was_lost_never_runs(fake):
    """The "\\n" after a command lost: the board waits in the guard, the host times out,
    and its recovery's Ctrl-C stops the command before it runs (not late, behind the
    host's back)."""
    with SerialTransport(fake.port) as t:
        t.exec("kept = 5")
        line = t.serial
        wire = b"\n" + GUARD + b"kept = 6\x04\n"
        t.serial = FaultyLine(line, [Fault("drop", "tx", len(wire) - 1)])
        try:
            with pytest.raises(DeviceError, match="within 2 s"):
                t.exec("kept = 6", timeout=2)
        finally:
            t.serial = line
        assert fake.mode == "raw"
        assert t.eval("kept") == 5
    assert fake.soft_reboots == 1


@pytest.mark.parametrize("quiet", [False, True])
def test_soft_reboot_is_reported(fake, quiet):
    """A stray Ctrl-D at an empty raw REPL line wipes the board's RAM: the host says so,
    from the reboot message or, when the line lost that, from a sentinel gone missing."""
    with SerialTransport(fake.port) as t:
        t.exec("kept = 10")
        fake.quiet_reboot = quiet
        t._t.serial.write(b"\x04")  # as if a Ctrl-D had been duplicated
        time.sleep(0.3)
        with pytest.raises(StateLost, match="soft-rebooted"):
            t.recover()
        with pytest.raises(DeviceError, match="NameError"):
            t.exec("kept")
        t.recover()  # reported once
    assert fake.soft_reboots == 2
