"""Put a blob into a board's RAM over its REPL: chunked, checksummed, all or nothing.

Each chunk goes as base64 into a preallocated bytearray on the board, which answers
with the chunk's CRC-32; a wrong CRC (garbage on the line) resends that chunk, up to
`retries` times. Only when the whole buffer's CRC matches is it bound to its name on
the board, so a partial or corrupted transfer is never accepted; a board that resets
mid-upload loses the buffer and the host gets a DeviceError.
"""

from __future__ import annotations

import binascii
import zlib

from .transport import DeviceError, Transport

CHUNK = 3072  # bytes per chunk: 4 KiB of base64, well inside the board's heap


def upload(
    t: Transport, data: bytes, name: str = "blob", chunk: int = CHUNK, retries: int = 3
) -> None:
    """Make `name` a bytearray holding `data` in the board's RAM (global in the REPL)."""
    if not name.isidentifier():
        raise ValueError(f"not a Python name: {name!r}")
    n = len(data)
    try:
        t.exec(f"import gc, binascii\n{name} = None\ngc.collect()\n_mai_up = bytearray({n})")
    except DeviceError as e:
        if "MemoryError" in str(e):
            raise DeviceError(
                f"{t.name}: no room for a {n:,}-byte blob in the board's RAM; freeze it into "
                f"the firmware instead (make firmware MODEL=...)"
            ) from None
        raise
    for off in range(0, n, chunk):
        part = data[off : off + chunk]
        b64 = binascii.b2a_base64(part, newline=False).decode()
        want = zlib.crc32(part)
        for attempt in range(retries + 1):
            out = t.exec(
                f"_mai_up[{off}:{off + len(part)}] = binascii.a2b_base64('{b64}')\n"
                f"print(binascii.crc32(memoryview(_mai_up)[{off}:{off + len(part)}]))"
            ).strip()
            if out == str(want):
                break
            if attempt == retries:
                t.exec("del _mai_up")
                raise DeviceError(
                    f"{t.name}: chunk at byte {off} arrived corrupted {retries + 1} times "
                    f"(board CRC {out!r}, sent {want}); upload abandoned"
                )
    out = t.exec("print(binascii.crc32(_mai_up))").strip()
    if out != str(zlib.crc32(data)):
        t.exec("del _mai_up")
        raise DeviceError(f"{t.name}: whole-blob CRC mismatch after upload; abandoned")
    t.exec(f"{name} = _mai_up\ndel _mai_up\ngc.collect()")
