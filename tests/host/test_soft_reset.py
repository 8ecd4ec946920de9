"""After a soft reset (Ctrl-D, or between two `mpremote exec` calls) the heap is new:
microai must not write through anything it kept from before, and keeps working.

The unix port has no soft reset (Ctrl-D ends the process), so this runs on an
emulated board; tests/micropython/blob_safety.py covers the same stale-owner path on
every board by letting the GC collect the arena's owner.
"""

from __future__ import annotations

import time

import serial
from mpremote.transport_serial import SerialTransport as MpremoteSerial

from microai import blob as B
from microai.device.qemu import QemuBoard
from microai.device.transport import wake


def small_blob() -> bytes:
    """A valid blob with no ops: one int8 input that is also the output."""
    return B.pack([B.BlobTensor("s8", (1, 16))], [], [0], [0], arena_size=16)


# Fill most of the heap with zeros (where the previous session's Model was), take the
# static arena, and check that nothing in the heap changed under us. Then leave a Model
# that owns the arena some 40 KiB into the heap (small holes filled first), for the
# next session to find. Before the fix, the next session's first Model wrote into
# junk[23] here.
AFTER_RESET = """\
import gc, microai
junk = [bytearray(2000) for i in range(40)]
B = {blob!r}
m = microai.Model(B)
m2 = microai.Model(B)
print('junk', all(not any(j) for j in junk), 'run', m2.run(bytes(range(16))) == bytes(range(16)))
del junk, m, m2
gc.collect()
small = [bytearray(0) for i in range(400)]
pads = [bytearray(4000) for i in range(10)]
owner = microai.Model(B)
"""


def _until(ser: serial.Serial, *markers: bytes, timeout: float = 30.0) -> bytes:
    """Read until every marker has come, in order; the last one ends the read."""
    out = b""
    deadline = time.monotonic() + timeout

    def seen() -> bool:
        at = 0
        for m in markers:
            at = out.find(m, at)
            if at < 0:
                return False
            at += len(m)
        return out.endswith(markers[-1])

    while not seen() and time.monotonic() < deadline:
        out += ser.read(ser.in_waiting or 1)
    assert seen(), f"no {markers!r} within {timeout:g} s: {out[-300:]!r}"
    return out


def test_friendly_repl_ctrl_d_then_models_again(firmware):
    board, fw = firmware("QEMU_STM32F405")
    code = AFTER_RESET.format(blob=small_blob())
    with QemuBoard(board, fw) as q, serial.Serial(q.port, timeout=0.1) as ser:
        wake(ser, timeout=30)
        for cycle in range(3):
            # Paste mode: the code runs as one block, the REPL stays friendly.
            ser.write(b"\x05")
            _until(ser, b"=== ")
            ser.write(code.replace("\n", "\r").encode() + b"\x04")
            out = _until(ser, b">>> ").decode(errors="replace")
            assert "junk True run True" in out, f"cycle {cycle}: {out}"
            assert "Traceback" not in out
            ser.write(b"\x04")  # soft reset at the prompt
            _until(ser, b"soft reboot", b">>> ")


def test_two_mpremote_sessions_soft_reset_between(firmware):
    board, fw = firmware("QEMU_STM32F405")
    code = AFTER_RESET.format(blob=small_blob())
    with QemuBoard(board, fw) as q:
        for cycle in range(3):
            t = MpremoteSerial(q.port, baudrate=115200, timeout=1)
            try:
                wake(t.serial, timeout=30)
                t.enter_raw_repl(soft_reset=True, timeout_overall=30)
                out = t.exec(code).decode()
                assert "junk True run True" in out, f"cycle {cycle}: {out}"
                t.exit_raw_repl()
            finally:
                t.close()
