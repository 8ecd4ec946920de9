"""Uploads and model I/O on an emulated board when things go wrong: a failed upload keeps
the old value and frees its buffer, a board left mid-paste comes back, big inputs and
outputs move in chunks, and running out of memory says what did not fit."""

from __future__ import annotations

import os
import time
import zlib

import pytest

from microai.device import DeviceError, SerialTransport, StateLost, connect
from microai.device.faults import Fault, FaultyLine
from microai.device.upload import UploadError, frame, upload
from microai.hil import HilError, board_run


@pytest.fixture(scope="module")
def f405():
    with connect(board="QEMU_STM32F405") as t:
        yield t


def crc_of(t, name: str):
    return t.eval(f"(len({name}), __import__('binascii').crc32({name}))")


def test_failed_upload_keeps_the_old_value(f405):
    old = os.urandom(1000)
    upload(f405, old, "kept")
    line = f405.serial
    f405.serial = FaultyLine(line, [Fault("cut", "tx", 1500, 8.0)])  # dead mid-upload
    try:
        with pytest.raises(
            UploadError, match="receiving failed once.*chunk at byte 0 was not confirmed"
        ):
            upload(f405, os.urandom(6000), "kept", retries=0, timeout=2)
    finally:
        f405.serial = line
    # The line came back in time for the clean-up; the old value was never touched.
    assert f405.eval("_mai_up") is None
    assert crc_of(f405, "kept") == (1000, zlib.crc32(old))


def test_next_upload_frees_a_left_buffer(f405):
    """A buffer a dead line kept the host from freeing is freed by the next upload:
    else two 40 KB buffers would not fit in the F405's 100 KB heap beside `big`."""
    f405.exec("big = None\n_mai_up = bytearray(40000)")
    data = os.urandom(40000)
    upload(f405, data, "big")
    assert crc_of(f405, "big") == (40000, zlib.crc32(data))
    assert f405.eval("_mai_up") is None


def test_no_room_says_how_big_and_keeps_the_old_value(f405):
    f405.exec("small = b'old'")
    with pytest.raises(UploadError, match=r"no room for a 150,000-byte blob .* bytes free"):
        upload(f405, bytes(150_000), "small")
    assert f405.eval("small") == b"old"
    assert f405.eval("_mai_up") is None


def test_board_left_mid_paste_by_a_dead_host(f405):
    """The host died in the middle of sending code: a new connection brings the board
    back without a reset (mpremote could; microai's wake-up could not)."""
    f405.exec("survivor = 42")
    raw = f405._t
    raw.serial.write(b"\x05A\x01")
    time.sleep(0.2)
    raw.serial.write(b"half = 'never fini")  # the raw paste never ends
    time.sleep(0.2)
    raw.serial.close()
    t2 = SerialTransport(f405.name, soft_reset=False)
    try:
        assert t2.eval("survivor") == 42
    finally:
        f405._t = t2._t  # the fixture's QEMU now talks through the new port


def test_big_input_and_output_move_in_chunks():
    """27,648 bytes in (a 96x96x3 image) on the 48 KB-heap F205, 6,000 bytes out."""
    with connect(board="QEMU_STM32F205") as t:
        t.exec(
            "class M:\n def run(self, x, layers=None):\n  return bytes(x[:100]) * (layers or 1)\n"
            "m = M()"
        )
        x = os.urandom(27648)
        assert board_run(t, x, 60) == x[:100] * 60
        assert board_run(t, x[:64]) == x[:64]
        with pytest.raises(HilError, match=r"no room .* for the model's 55,296-byte input"):
            board_run(t, x * 2)
        with pytest.raises(HilError, match="no room .* for the output copy m.run"):
            board_run(t, x[:100], 600)
        assert t.eval("1 + 1") == 2


def test_exec_that_outlives_its_timeout_is_recovered(f405):
    """A timed-out exec leaves the board computing; the next call waits it out."""
    with pytest.raises(DeviceError, match="within 1 s"):
        f405.exec("for i in range(3000000): pass\nprint('done')", timeout=1)
    assert f405.eval("6 * 7") == 42


def test_doubled_ctrl_ds_keep_the_board_s_ram(f405):
    """Every Ctrl-D on the line doubled: without the transport's guard each would reach
    an empty raw REPL line and soft-reboot the board, wiping its RAM."""

    class DoubleCtrlD:
        def __init__(self, line):
            self.line = line

        def write(self, data):
            return self.line.write(data.replace(b"\x04", b"\x04\x04"))

        def __getattr__(self, name):
            return getattr(self.line, name)

    f405.exec("kept = 1")
    data = os.urandom(5000)
    line = f405.serial
    f405.serial = DoubleCtrlD(line)
    try:
        upload(f405, data, "doubled")
        f405.recover()  # would raise StateLost after a soft reboot
    finally:
        f405.serial = line
    assert crc_of(f405, "doubled") == (5000, zlib.crc32(data))
    assert f405.eval("kept") == 1


def test_a_soft_reboot_is_reported(f405):
    """A Ctrl-D at an empty raw REPL line (only a line that garbles two bytes sends one
    now) wipes the board's RAM: upload() says so rather than leave the caller believing
    the old value is still there."""
    f405.exec("doomed = 1\nother = 2")
    line = f405.serial

    class Reboot:
        def __init__(self, line):
            self.line, self.done = line, False

        def write(self, data):
            if not self.done:
                self.done, data = True, b"\x04" + data  # at the empty prompt
            return self.line.write(data)

        def __getattr__(self, name):
            return getattr(self.line, name)

    f405.serial = Reboot(line)
    try:
        with pytest.raises(StateLost, match="soft-rebooted"):
            upload(f405, os.urandom(100), "doomed")
    finally:
        f405.serial = line
    with pytest.raises(DeviceError, match="NameError"):
        f405.exec("other")
    assert f405.eval("6 * 7") == 42


def test_receive_needs_a_serial_console():
    """The unix port's stdin is the host's pipe, not a UART: uploads there go through
    exec(), and Blob.receive() says why it cannot run."""
    with connect(board="unix") as t:
        with pytest.raises(DeviceError, match="receive\\(\\) needs a serial console"):
            t.exec("import microai\nmicroai.Blob(4).receive()")
        data = os.urandom(7000)
        upload(t, data, "b")
        assert crc_of(t, "b") == (7000, zlib.crc32(data))
        assert t.eval("b.sealed") is True


def test_frames_carry_no_repl_control_byte():
    """Between its two 0x00 ends a frame holds none of 0x00..0x05: lost on a REPL that
    is not listening, it cannot soft-reboot, switch or reset it; unescaped it is the
    body and its CRC-32."""
    import random
    import re
    import struct

    rng = random.Random(3)
    for n in (0, 1, 255, 4096):
        data = bytes(range(256)) * 16 if n == 4096 else rng.randbytes(n)
        f = frame(b"W", 0x01020304, data)
        inner = f[1:-1]
        assert f[0] == 0 and f[-1] == 0 and not set(inner) & set(range(6))
        body = re.sub(rb"\x10(.)", lambda m: bytes([m[1][0] ^ 0x20]), inner, flags=re.S)
        assert body[:5] == b"W\x04\x03\x02\x01" and body[5:-4] == data
        assert struct.unpack("<I", body[-4:])[0] == zlib.crc32(body[:-4])


def test_a_bind_whose_answer_was_lost_is_found_bound(f405):
    """The bind ran but every answer to it was lost: the upload asks what the name holds
    and reports success, rather than a failure with the new blob bound (or, as once, a
    rollback that ran twice and left None)."""

    class DeafAfterBind:
        def __init__(self, line):
            self.line, self.until = line, None

        def write(self, data):
            if self.until is None and b"_mai_b.seal(" in data:
                self.until = time.monotonic() + 5
            return self.line.write(data)

        def read(self, size=1):
            data = self.line.read(size)
            return b"" if self.until and time.monotonic() < self.until else data

        def __getattr__(self, name):
            return getattr(self.line, name)

    upload(f405, b"old", "rebound")
    data = os.urandom(3000)
    line = f405.serial
    f405.serial = DeafAfterBind(line)
    try:
        upload(f405, data, "rebound", retries=0, timeout=2)
    finally:
        f405.serial = line
    assert crc_of(f405, "rebound") == (3000, zlib.crc32(data))
    assert f405.eval("_mai_up") is None


class FrameDamage:
    """A line that flips a bit in the first `n` upload frames written (then passes)."""

    def __init__(self, line, n: int):
        self.line, self.n = line, n

    def write(self, data):
        if self.n and data.startswith(b"\x00W"):
            self.n -= 1
            data = data[:20] + bytes([data[20] ^ 0x40]) + data[21:]
        return self.line.write(data)

    def __getattr__(self, name):
        return getattr(self.line, name)


def test_damaged_frames_are_sent_again(f405):
    data = os.urandom(9000)
    line = f405.serial
    f405.serial = FrameDamage(line, 3)
    try:
        upload(f405, data, "framed")
    finally:
        f405.serial = line
    assert crc_of(f405, "framed") == (9000, zlib.crc32(data))


def test_persistently_damaged_frames_abandon_the_upload(f405):
    f405.exec("framed = None")
    line = f405.serial
    f405.serial = FrameDamage(line, 1000)
    try:
        with pytest.raises(UploadError, match="chunk at byte 0 was not confirmed after 8 sends"):
            upload(f405, os.urandom(5000), "framed")
    finally:
        f405.serial = line
    assert f405.eval("framed") is None and f405.eval("_mai_up") is None
    assert f405.eval("1 + 1") == 2


def test_board_gone_mid_receive_is_a_clear_error():
    with connect(board="QEMU_STM32F405") as t:
        line = t.serial

        class KillAfterFirstFrame:
            def write(self, data):
                n = line.write(data)
                if data.startswith(b"\x00W"):
                    t.qemu._proc.kill()  # as a reset or a pulled cable would
                return n

            def __getattr__(self, name):
                return getattr(line, name)

        t.serial = KillAfterFirstFrame()
        with pytest.raises(DeviceError, match="QEMU stopped"):
            upload(t, os.urandom(9000), "b")
