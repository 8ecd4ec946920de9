"""Put a blob into a board's RAM over its REPL: chunked, checksummed, all or nothing.

The blob goes in steps: allocate a `microai.Blob` (`_mai_up`), fill it, then seal it
and bind it to its name. On a serial line the filling is Blob.receive(): binary
frames with an offset and a CRC-32 each, answered one by one, read by C code straight
from the UART, so the REPL never sees upload bytes and no byte of them can reach it as
a control character (the format is in microai_blob.c). A damaged frame is sent again;
a session that breaks is started again for the frames not yet confirmed. Elsewhere
(the unix port's pipe) chunks go as base64 through exec(). Every REPL step is retried,
after resynchronising the REPL, on any transient error: a timeout, garbage or lost
bytes on the line, a wrong answer. Each step can run twice without harm.

What the name holds is never half-written: the board binds it only after checking the
whole blob's length and CRC itself (seal()), and the host checks it again. Until then
the old value stays (a name that did not exist is set to None), so a failed upload
leaves the name as it was. The partial blob is freed when the upload ends, however it
ends (best effort: a dead line cannot free it), and again at the start of the next one.
"""

from __future__ import annotations

import binascii
import re
import struct
import time
import zlib
from collections.abc import Callable

from .transport import (
    BoardGone,
    DeviceError,
    Line,
    SerialTransport,
    StateLost,
    Transport,
    recover_budget,
)

CHUNK = 3072  # bytes per exec() chunk: 4 KiB of base64, well inside the board's heap
FRAME = 2048  # data bytes per Blob.receive() frame (at most 4096: RX_DATA_MAX)
STEP_TIMEOUT = 10.0  # seconds one step may take (a busy host, a slow adapter)
FRAME_TIMEOUT = 3.0  # seconds for a frame's answer before it is sent again


class UploadError(DeviceError):
    """The upload was abandoned; the name on the board still holds its old value."""


class Steps:
    """Runs idempotent steps on `t`, each retried up to `retries` times."""

    def __init__(self, t: Transport, retries: int, timeout: float):
        self.t, self.retries, self.timeout = t, retries, timeout
        self.resent = 0  # steps run again after an error or a wrong answer

    def run(self, what: str, code: str, check: Callable[[str], bool]) -> str:
        """Run `code` until `check(output)` holds; UploadError after retries+1 tries."""
        last = ""
        for attempt in range(self.retries + 1):
            if attempt:
                self.resent += 1
                try:
                    self.t.recover(recover_budget(self.timeout))
                except (BoardGone, StateLost):
                    raise
                except DeviceError as e:
                    last = str(e)
                    continue
            try:
                out = self.t.exec(code, self.timeout).strip()
            except (BoardGone, StateLost):
                raise
            except DeviceError as e:
                last = str(e)
                continue
            if check(out):
                return out
            last = f"wrong answer {out[-80:]!r}"
        raise UploadError(f"{self.t.name}: {what} failed {_times(self.retries + 1)} (last: {last})")


def upload(
    t: Transport,
    data: bytes,
    name: str = "blob",
    chunk: int = CHUNK,
    retries: int = 3,
    timeout: float = STEP_TIMEOUT,
) -> None:
    """Make `name` a sealed microai.Blob holding `data` in the board's RAM (global in the REPL).

    Raises UploadError (a DeviceError) when a step keeps failing; `name` then holds
    what it held before. BoardGone when the board went away (reset, unplugged), and
    StateLost when it soft-rebooted (its RAM, `name` included, is gone).
    """
    if not name.isidentifier() or name.startswith("_mai_"):
        raise ValueError(f"not a Python name for a blob: {name!r}")
    n, crc = len(data), zlib.crc32(data)
    steps = Steps(t, retries, timeout)
    # The board holds the new blob under `name` when this prints True: the bind is one
    # assignment, so the name holds either the old value or the new blob, never a mix.
    holds_new = (
        f"_mai_b = {name}\nprint(isinstance(_mai_b, microai.Blob) and _mai_b.sealed "
        f"and len(_mai_b) == {n} and _mai_b.crc32() == {crc})\n_mai_b = None"
    )
    binding = False
    try:
        try:
            steps.run(
                f"allocating {n:,} bytes",
                "import gc, binascii, microai\n_mai_up = None\n"
                f"try:\n {name}\nexcept NameError:\n {name} = None\n"
                f"gc.collect()\n_mai_up = microai.Blob({n})\nprint(len(_mai_up))",
                lambda out: out == str(n),
            )
        except UploadError as e:
            if "MemoryError" not in str(e):
                raise
            raise UploadError(
                f"{t.name}: no room for a {n:,}-byte blob in the board's RAM "
                f"({heap_free(t)} free, with the old '{name}' kept until the new one is "
                "verified); freeze it into the firmware instead (make firmware MODEL=...)"
            ) from None
        framed = isinstance(t, SerialTransport)
        step = FRAME if framed else chunk
        offsets = list(range(0, n, step))
        n_steps = len(offsets)
        for _ in range(retries + 1):
            if framed:
                _send_frames(t, steps, data, offsets)
            else:
                for off in offsets:
                    _write_chunk(steps, data, off, chunk)
            # The board binds the name only to a complete blob with the right CRC, and
            # seals it; run twice, the second run finds the name bound and says so again.
            binding = True
            out = steps.run(
                f"binding '{name}'",
                f"_mai_b = _mai_up\nif _mai_b is not None and len(_mai_b) == {n} "
                f"and _mai_b.crc32() == {crc}:\n"
                f" _mai_b.seal({crc})\n {name} = _mai_b\n _mai_up = None\n" + holds_new,
                lambda out: out in ("True", "False"),
            )
            if out == "True":
                return
            # Some chunk went to a wrong place (garbled offsets): find it and resend it.
            sums = steps.run(
                "checking the chunks",
                f"print([_mai_up.crc32(o, min({step}, {n} - o)) for o in range(0, {n}, {step})])",
                lambda out: out.startswith("[") and out.count(",") == max(0, n_steps - 1),
            )
            got = sums.strip("[]").replace(" ", "").split(",")
            offsets = [
                off
                for off, s in zip(range(0, n, step), got, strict=False)
                if s != str(zlib.crc32(data[off : off + step]))
            ]
        raise UploadError(f"{t.name}: the whole blob's CRC kept failing; upload abandoned")
    except UploadError:
        # A bind that ran but whose answer never came: the upload worked after all.
        if binding and _ask(t, holds_new, timeout) == "True":
            return
        raise
    finally:
        _clean_up(t, timeout)


def _write_chunk(steps: Steps, data: bytes, off: int, chunk: int) -> None:
    part = data[off : off + chunk]
    b64 = binascii.b2a_base64(part, newline=False).decode()
    want = str(zlib.crc32(part))
    try:
        steps.run(
            f"chunk at byte {off}",
            f"_mai_up.write({off}, binascii.a2b_base64('{b64}'))\n"
            f"print(_mai_up.crc32({off}, {len(part)}))",
            lambda out: out == want,
        )
    except UploadError as e:
        if "wrong answer" in str(e):
            raise UploadError(
                f"{steps.t.name}: chunk at byte {off} arrived corrupted {steps.retries + 1} "
                f"times (sent CRC {want}); upload abandoned"
            ) from None
        raise


# ---- Blob.receive() frames (the format: cmodules/microai/microai_blob.c) -------------

_ESCAPE = re.compile(rb"[\x00-\x05\x10]")
_TOKEN = re.compile(rb"<([KNER]) ([0-9a-f]{8}) ([0-9a-f]{8})>")


def frame(kind: bytes, offset: int, payload: bytes = b"") -> bytes:
    """One frame as it goes on the line: 0x00, the escaped body, 0x00."""
    body = kind + struct.pack("<I", offset) + payload
    body += struct.pack("<I", zlib.crc32(body))
    return b"\x00" + _ESCAPE.sub(lambda m: bytes([0x10, m[0][0] ^ 0x20]), body) + b"\x00"


def answer(line: Line, timeout: float) -> tuple[str, int] | None:
    """The board's next intact answer (kind, value), or None: none within `timeout`,
    or only damaged ones."""
    tok = line.token(timeout)
    m = _TOKEN.fullmatch(tok or b"")
    if not m or zlib.crc32(tok[1:11]) != int(m[3], 16):
        return None
    return m[1].decode(), int(m[2], 16)


def _send_frames(t: SerialTransport, steps: Steps, data: bytes, offsets: list[int]) -> None:
    """Fill `_mai_up` at `offsets` (FRAME bytes each) in Blob.receive() sessions.

    A frame is sent again until the board confirms its offset; a session that breaks
    (the line stays dead, the REPL lost step) is started again for what is left."""
    left = list(offsets)
    tries = 2 * steps.retries + 2  # sends of one frame in one session
    last = ""

    def session(line: Line) -> None:
        nonlocal last
        if not _expect(line, "R", len(data), steps.timeout):
            raise _Broken("the board did not start receiving")
        while left:
            off = left[0]
            f = frame(b"W", off, data[off : off + FRAME])
            for _ in range(tries):
                line.write(f)
                if _expect(line, "K", off, FRAME_TIMEOUT):
                    break
                steps.resent += 1
            else:
                raise _Broken(f"chunk at byte {off} was not confirmed after {tries} sends")
            left.pop(0)
        end = frame(b"E", len(data))
        for _ in range(tries):
            line.write(end)
            if _expect(line, "E", len(data), FRAME_TIMEOUT):
                return
        raise _Broken("the board did not end the session")

    for attempt in range(steps.retries + 1):
        if attempt:
            steps.resent += 1
        try:
            t.converse("_mai_up.receive()", session, steps.timeout)
            return
        except (BoardGone, StateLost):
            raise
        except (DeviceError, _Broken) as e:
            last = str(e)
    raise UploadError(
        f"{t.name}: receiving failed {_times(steps.retries + 1)}, {len(left)} of "
        f"{len(offsets)} chunks unconfirmed (last: {last})"
    )


def _times(n: int) -> str:
    return "once" if n == 1 else f"{n} times"


class _Broken(Exception):
    """A Blob.receive() session that cannot go on."""


def _expect(line: Line, kind: str, value: int, timeout: float) -> bool:
    """Wait up to `timeout` for the answer (kind, value); False on a refusal ("N"),
    on nothing intact in time. Answers to earlier sends of other frames are skipped."""
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        got = answer(line, left)
        if got == (kind, value):
            return True
        if got is None or got[0] == "N":
            return False
    return False


def _ask(t: Transport, code: str, timeout: float, tries: int = 3) -> str | None:
    """What `code` prints, recovering and trying again on errors; None if it never ran."""
    for attempt in range(tries):
        try:
            if attempt:
                t.recover(recover_budget(timeout))
            return t.exec(code, timeout).strip()
        except (BoardGone, StateLost):
            raise
        except DeviceError:
            continue
    return None


def _clean_up(t: Transport, timeout: float) -> None:
    """Free the partial blob. Best effort: a line that stays dead leaves it to the next
    upload; a StateLost is raised (the name is gone with the rest, even after a bind)."""
    try:
        _ask(t, "_mai_up = _mai_b = None\ngc.collect()", timeout)
    except BoardGone:
        pass


def heap_free(t: Transport) -> str:
    """The board's free heap, for error messages."""
    try:
        free = t.eval("__import__('gc').mem_free()")
        return f"{free:,} bytes"
    except DeviceError:
        return "unknown bytes"
