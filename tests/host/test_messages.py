"""The MicroPython glue's error texts stay shorter than MicroPython's own longest.

MicroPython 1.25 decompresses an error text into a buffer of exactly the longest text's
length (MP_MAX_UNCOMPRESSED_TEXT_LEN) and then writes the terminating NUL one byte past
it (py/objexcept.c; the unix_asan build's ASan caught it). MicroPython's own longest is
73 characters; as long as microai's are shorter, only that one can ever overflow.
"""

from __future__ import annotations

import re

from microai.paths import CMODULES_DIR

MICROPYTHON_LONGEST = 73


def test_error_texts_are_shorter_than_micropythons_longest():
    long = []
    for path in sorted((CMODULES_DIR / "microai").glob("*.c")):
        for text in re.findall(r'MP_ERROR_TEXT\("((?:[^"\\]|\\.)*)"\)', path.read_text()):
            if len(text) >= MICROPYTHON_LONGEST:
                long.append(f"{path.name}: {len(text)}: {text}")
    assert not long, "\n".join(long)
