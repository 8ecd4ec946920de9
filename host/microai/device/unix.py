"""The unix port as a board: a MicroPython subprocess behind the Transport interface.

The unix port has no raw REPL, so the subprocess runs a small exec loop (DRIVER):
it reads a length-prefixed block of code, runs it in one persistent namespace, and
answers like the raw REPL does: what the code printed, \\x04, the traceback if it
raised, \\x04. State persists between exec() calls, as on a board.
"""

from __future__ import annotations

import os
import select
import subprocess
import time
from pathlib import Path

from .transport import BoardException, DeviceError, Transport

DRIVER = """
import sys, io
g = {"__name__": "__main__"}
while True:
    n = sys.stdin.buffer.readline()
    if not n:
        break
    code = sys.stdin.buffer.read(int(n)).decode()
    err = ""
    try:
        exec(code, g)
    except BaseException as e:
        s = io.StringIO()
        sys.print_exception(e, s)
        err = s.getvalue()
    sys.stdout.write("\\x04" + err + "\\x04")
"""


class UnixTransport(Transport):
    """MicroPython's unix port with the microai module, run as a child process."""

    def __init__(self, executable: Path, heap: str = "4M"):
        self.name = f"unix:{executable}"
        self._p = subprocess.Popen(
            [str(executable), "-X", f"heapsize={heap}", "-c", DRIVER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )

    def exec(self, code: str, timeout: float = 10.0) -> str:
        if self._p.poll() is not None:
            raise DeviceError(f"{self.name}: the process has exited ({self._p.returncode})")
        data = code.encode()
        try:
            self._p.stdin.write(b"%d\n" % len(data) + data)
            self._p.stdin.flush()
        except BrokenPipeError:
            raise DeviceError(f"{self.name}: the process has exited") from None
        buf = b""
        deadline = time.monotonic() + timeout
        fd = self._p.stdout.fileno()
        while buf.count(b"\x04") < 2:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                self.close()
                raise DeviceError(f"{self.name}: no answer within {timeout:g} s")
            chunk = os.read(fd, 65536)
            if not chunk:
                raise DeviceError(
                    f"{self.name}: the process exited: {buf.decode(errors='replace')}"
                )
            buf += chunk
        out, err, _ = buf.split(b"\x04", 2)
        if err:
            raise BoardException(f"{self.name}: the board raised:\n{err.decode().strip()}")
        return out.decode(errors="replace")

    def close(self) -> None:
        p, self._p = getattr(self, "_p", None), None
        if p is None:
            return
        if p.poll() is None:
            p.stdin.close()
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        p.stdout.close()
