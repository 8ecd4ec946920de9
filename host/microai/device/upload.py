"""Put a blob into a board's RAM over its REPL: chunked, checksummed, all or nothing.

The blob goes in steps: allocate a buffer (`_mai_up`), write each chunk into it as
base64 (the board answers with the chunk's CRC-32), then bind it to its name. Every
step is retried, after resynchronising the REPL, on any transient error: a timeout,
garbage or lost bytes on the line, a wrong CRC. Each step can run twice without harm.

What the name holds is never half-written: the board binds it only after checking the
whole buffer's length and CRC itself, and the host checks it again. Until then the old
value stays (a name that did not exist is set to None), so a failed upload leaves the
name as it was. The partial buffer is freed when the upload ends, however it ends (best
effort: a dead line cannot free it), and again at the start of the next upload.
"""

from __future__ import annotations

import binascii
import zlib
from collections.abc import Callable

from .transport import BoardGone, DeviceError, StateLost, Transport, recover_budget

CHUNK = 3072  # bytes per chunk: 4 KiB of base64, well inside the board's heap
STEP_TIMEOUT = 10.0  # seconds one step may take (a busy host, a slow adapter)


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
        n = self.retries + 1
        times = "once" if n == 1 else f"{n} times"
        raise UploadError(f"{self.t.name}: {what} failed {times} (last: {last})")


def upload(
    t: Transport,
    data: bytes,
    name: str = "blob",
    chunk: int = CHUNK,
    retries: int = 3,
    timeout: float = STEP_TIMEOUT,
) -> None:
    """Make `name` a bytearray holding `data` in the board's RAM (global in the REPL).

    Raises UploadError (a DeviceError) when a step keeps failing; `name` then holds
    what it held before. BoardGone when the board went away (reset, unplugged), and
    StateLost when it soft-rebooted (its RAM, `name` included, is gone).
    """
    if not name.isidentifier() or name.startswith("_mai_"):
        raise ValueError(f"not a Python name for a blob: {name!r}")
    n, crc = len(data), zlib.crc32(data)
    steps = Steps(t, retries, timeout)
    bound = False
    binding = False
    try:
        try:
            steps.run(
                f"allocating {n:,} bytes",
                "import gc, binascii\n_mai_up = _mai_old = None\n"
                f"try:\n {name}\nexcept NameError:\n {name} = None\n"
                f"gc.collect()\n_mai_up = bytearray({n})\nprint(len(_mai_up))",
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
        offsets = list(range(0, n, chunk))
        n_chunks = len(offsets)
        for _ in range(retries + 1):
            for off in offsets:
                _write_chunk(steps, data, off, chunk)
            # The board binds the name only to a complete buffer with the right CRC;
            # run twice, the second run finds the name bound and says so again.
            binding = True
            out = steps.run(
                f"binding '{name}'",
                f"_mai_b = _mai_up\nif _mai_b is not None and len(_mai_b) == {n} "
                f"and binascii.crc32(_mai_b) == {crc}:\n"
                f" _mai_old = {name}\n {name} = _mai_b\n _mai_up = None\n"
                f"_mai_b = {name}\n"
                f"print(isinstance(_mai_b, bytearray) and len(_mai_b) == {n} "
                f"and binascii.crc32(_mai_b) == {crc})\n_mai_b = None",
                lambda out: out in ("True", "False"),
            )
            if out == "True":
                bound = True
                return
            # Some chunk went to a wrong place (garbled offsets): find it and resend it.
            sums = steps.run(
                "checking the chunks",
                f"print([binascii.crc32(memoryview(_mai_up)[o:o + {chunk}]) "
                f"for o in range(0, {n}, {chunk})])",
                lambda out: out.startswith("[") and out.count(",") == max(0, n_chunks - 1),
            )
            got = sums.strip("[]").replace(" ", "").split(",")
            offsets = [
                off
                for off, s in zip(range(0, n, chunk), got, strict=False)
                if s != str(zlib.crc32(data[off : off + chunk]))
            ]
        raise UploadError(f"{t.name}: the whole blob's CRC kept failing; upload abandoned")
    finally:
        _clean_up(t, name, binding and not bound, timeout)


def _write_chunk(steps: Steps, data: bytes, off: int, chunk: int) -> None:
    part = data[off : off + chunk]
    end = off + len(part)
    b64 = binascii.b2a_base64(part, newline=False).decode()
    want = str(zlib.crc32(part))
    try:
        steps.run(
            f"chunk at byte {off}",
            f"memoryview(_mai_up)[{off}:{end}] = binascii.a2b_base64('{b64}')\n"
            f"print(binascii.crc32(memoryview(_mai_up)[{off}:{end}]))",
            lambda out: out == want,
        )
    except UploadError as e:
        if "wrong answer" in str(e):
            raise UploadError(
                f"{steps.t.name}: chunk at byte {off} arrived corrupted {steps.retries + 1} "
                f"times (sent CRC {want}); upload abandoned"
            ) from None
        raise


def _clean_up(t: Transport, name: str, rollback: bool, timeout: float) -> None:
    """Free the partial buffer; after a bind that was not confirmed, restore the old value.

    Best effort: a line that stays dead leaves the buffer to the next upload."""
    code = "_mai_up = _mai_old = _mai_b = None\ngc.collect()"
    if rollback:
        # `_mai_up` is None only once the bind ran: then `_mai_old` is the old value.
        code = f"if _mai_up is None:\n {name} = _mai_old\n" + code
    for attempt in range(3):
        try:
            if attempt:
                t.recover(recover_budget(timeout))
            t.exec(code, timeout)
            return
        except BoardGone:
            return
        except StateLost:
            raise  # `name` is gone with the rest: say so, even after a bind
        except DeviceError:
            continue


def heap_free(t: Transport) -> str:
    """The board's free heap, for error messages."""
    try:
        free = t.eval("__import__('gc').mem_free()")
        return f"{free:,} bytes"
    except DeviceError:
        return "unknown bytes"
