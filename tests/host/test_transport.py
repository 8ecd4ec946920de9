"""The serial transport fails with a clear error, never a hang, on a bad line."""

from __future__ import annotations

import os
import threading
import time

import pytest

from microai.device import DeviceError, SerialTransport


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
