"""Emulated boards: boot under QEMU, talk over the UART pty, and never leave QEMU behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import serial

from conftest import EMULATED_BOARDS
from microai.device import connect
from microai.device.qemu import QemuBoard
from microai.device.transport import wake


def repl_line(ser: serial.Serial, line: str, timeout: float = 30.0) -> str:
    """Type one line at the friendly REPL; return what came back after its echo, up to the
    next prompt. Prompts still on their way from earlier Ctrl-Cs (a busy machine delays
    them) come before the echo, so they are never taken for this line's answer."""
    ser.write(line.encode() + b"\r")
    echo = line.encode()
    out = b""
    deadline = time.monotonic() + timeout

    def answered() -> bool:
        at = out.find(echo)
        return at >= 0 and out.endswith(b">>> ") and out.rfind(b">>> ") > at

    while not answered() and time.monotonic() < deadline:
        out += ser.read(ser.in_waiting or 1)
    assert answered(), f"no answer to {line!r} within {timeout:g} s: {out[-300:]!r}"
    return out[out.find(echo) + len(echo) :].decode()


def test_stm32f405_over_pyserial(firmware):
    """Plain pyserial on the pty: import microai, and the machine names the STM32F405."""
    board, fw = firmware("QEMU_STM32F405")
    with QemuBoard(board, fw) as q:
        assert q.port.startswith("/dev/pts/")
        with serial.Serial(q.port, timeout=0.1) as ser:
            wake(ser)
            out = repl_line(ser, "import microai, sys; print(sys.implementation._machine)")
            assert "Traceback" not in out
            assert "netduinoplus2 with STM32F405" in out
            out = repl_line(ser, "microai.info()['board']")
            assert "'QEMU_STM32F405'" in out


@pytest.mark.parametrize("name", EMULATED_BOARDS)
def test_info_matches_board_json(firmware, name):
    board, _ = firmware(name)
    with connect(board=name, build=False) as t:
        info = t.eval("__import__('microai').info()")
        machine = t.eval("__import__('sys').implementation._machine")
        host_version = __import__("microai").__version__
    assert machine.startswith(board.emulator["machine"] + " with ")
    assert info == {
        "version": host_version,
        "board": board.name,
        "mcu": board.mcu,
        "cpu": board.cpu,
        "dsp": board.dsp,
        "arena_size": board.arena_bytes,
        "arena_addr": info["arena_addr"],
        # QEMU has no DWT: profile() counts virtual nanoseconds on a timer instead.
        "cycles": "qemu-cmsdk-timer" if board.mcu == "MPS2-AN500" else "qemu-tim2",
    }


def test_unix_port_info_matches_board_json(firmware):
    board, fw = firmware("unix")
    out = subprocess.run(
        [str(fw), "-c", "import microai; print(microai.info())"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    info = eval(out)  # a dict literal printed by MicroPython
    assert info["board"] == "unix" and info["arena_size"] == board.arena_bytes
    assert info["dsp"] is False and info["cycles"] == "none"


def test_exception_on_board_is_reported_and_board_keeps_running(firmware):
    firmware("QEMU_STM32F405")
    with connect(board="QEMU_STM32F405", build=False) as t:
        with pytest.raises(Exception, match="ZeroDivisionError"):
            t.exec("1 // 0")
        assert t.eval("6 * 7") == 42


# ---- QEMU's lifetime ------------------------------------------------------------------


def children(pid: int) -> list[int]:
    with open(f"/proc/{pid}/task/{pid}/children") as f:
        return [int(c) for c in f.read().split()]


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def wait_gone(pid: int, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not alive(pid)


def start_emulate(name: str) -> tuple[subprocess.Popen, str, int]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "microai", "emulate", "--board", name, "--no-build"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    line = proc.stdout.readline()
    assert line.startswith("port: /dev/pts/"), (line, proc.stderr.read() if proc.poll() else "")
    (qemu_pid,) = children(proc.pid)
    return proc, line.split()[1], qemu_pid


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_emulate_serves_pty_and_stops_qemu_on_signal(firmware, sig):
    firmware("QEMU_STM32F405")
    proc, port, qemu_pid = start_emulate("QEMU_STM32F405")
    try:
        with serial.Serial(port, timeout=0.1) as ser:
            wake(ser)
            assert "STM32F405" in repl_line(ser, "import sys; sys.implementation._machine")
        proc.send_signal(sig)
        assert proc.wait(timeout=10) == 0
        assert wait_gone(qemu_pid), "QEMU outlived `microai emulate`"
    finally:
        proc.kill()


def test_qemu_dies_with_a_killed_parent(firmware):
    """SIGKILL gives the parent no chance to clean up: the kernel must stop QEMU."""
    firmware("QEMU_STM32F405")
    proc, _, qemu_pid = start_emulate("QEMU_STM32F405")
    assert alive(qemu_pid)
    proc.kill()
    proc.wait()
    assert wait_gone(qemu_pid), "QEMU outlived a SIGKILLed `microai emulate`"


def test_info_cli_json(firmware):
    board, _ = firmware("QEMU_STM32F405")
    out = subprocess.run(
        [sys.executable, "-m", "microai", "info", "--board", "QEMU_STM32F405", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    info = json.loads(out.stdout)
    assert info["board"] == "QEMU_STM32F405"
    assert info["machine"] == "netduinoplus2 with STM32F405"
    assert info["arena_size"] == board.arena_bytes


def test_no_qemu_left_behind():
    """Runs last in this file: nothing above may leave a QEMU of ours running."""
    me = os.getpid()
    leftover = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    cmd = f.read().split(b"\0")
                with open(f"/proc/{pid}/stat") as f:
                    ppid = int(f.read().split(")")[-1].split()[1])
            except (FileNotFoundError, ProcessLookupError):
                continue
            if cmd and cmd[0].endswith(b"qemu-system-arm") and ppid == me and alive(int(pid)):
                leftover.append(pid)
    assert not leftover
