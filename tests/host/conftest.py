"""Shared fixtures: boards' firmware is built once per session (make is a no-op after)."""

from __future__ import annotations

import pytest

from microai.boards import load_board
from microai.firmware import build

EMULATED_BOARDS = ["QEMU_STM32F405", "QEMU_STM32F205", "QEMU_M7"]


@pytest.fixture(scope="session")
def firmware():
    """firmware(name) -> (Board, path of its built firmware)."""
    built = {}

    def get(name: str):
        if name not in built:
            board = load_board(name)
            built[name] = (board, build(board))
        return built[name]

    return get
