"""Shared fixtures: boards' firmware is built once per session (make is a no-op after)."""

from __future__ import annotations

import pytest

from microai import cli
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


@pytest.fixture
def run_cli(capfd):
    """run_cli(*args) -> (exit code, stdout, stderr): the microai CLI in this process."""

    def run(*args: str) -> tuple[int, str, str]:
        capfd.readouterr()
        try:
            cli.run(list(args))
            code = 0
        except SystemExit as e:
            code = e.code
        out, err = capfd.readouterr()
        return code, out, err

    return run
