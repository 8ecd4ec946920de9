"""boards.check_fit: a model too big for a board is refused before anything is built."""

from __future__ import annotations

import pytest

from microai.boards import FitError, check_fit, load_board

# (board, blob bytes, arena bytes, frozen, words in the error or None when it fits)
CASES = [
    ("QEMU_STM32F405", 1000, 65536, None, None),
    ("QEMU_STM32F405", 1000, 65537, None, "arena_bytes"),
    ("QEMU_STM32F205", 49152, 16, False, None),
    ("QEMU_STM32F205", 49153, 16, False, "heap_bytes"),
    ("QEMU_STM32F205", 49153, 16, None, None),  # frozen into flash instead
    # flash for blobs: flash_bytes less the firmware's own firmware_bytes
    ("QEMU_STM32F205", 720896, 16, True, None),
    ("QEMU_STM32F205", 720897, 16, True, "flash_bytes - firmware_bytes"),
    ("QEMU_STM32F205", 720897, 16, None, "board.json) and 720,896 bytes of flash for it"),
    ("NUCLEO_F446RE", 131072 - 49152, 49152, False, None),  # no heap size: RAM - arena
    ("NUCLEO_F446RE", 131072 - 49152 + 1, 49152, False, "ram_bytes - arena_bytes"),
    ("unix", 10**9, 1048576, None, None),  # no flash or RAM limits
    ("unix", 16, 1048577, None, "arena_bytes"),
]


@pytest.mark.parametrize("board, blob, arena, frozen, words", CASES)
def test_check_fit(board, blob, arena, frozen, words):
    b = load_board(board)
    if words is None:
        check_fit(b, blob, arena, frozen)
        return
    with pytest.raises(FitError, match=r"^m\.tflite: the ") as e:
        check_fit(b, blob, arena, frozen, name="m.tflite")
    msg = str(e.value)
    assert words in msg and board in msg and "\n" not in msg, msg
