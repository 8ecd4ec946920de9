#!/usr/bin/env python3
"""Run the MicroPython-side tests (tests/micropython/*.py) on boards.

Each board's firmware is built (or brought up to date) first; the tests are then run by
MicroPython's own tests/run-tests.py: on the unix port directly, on emulated boards with
`-t execpty:<qemu command>`, QEMU guarded so it dies with its parent.

    tests/run_mpy_tests.py unix QEMU_STM32F405 ...   run on these boards
    tests/run_mpy_tests.py --gen-exp                  regenerate the .py.exp files
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from microai.boards import DEFAULT_BOARD, load_board
from microai.device import connect
from microai.device.qemu import guarded, qemu_command
from microai.firmware import build, micropython_dir
from microai.paths import BUILD_DIR, ROOT

TEST_DIR = ROOT / "tests" / "micropython"


def test_files() -> list[Path]:
    return sorted(TEST_DIR.glob("*.py"))


def run_tests_cmd(board_name: str, firmware: Path) -> tuple[list[str], dict[str, str]]:
    board = load_board(board_name)
    mpy_tests = micropython_dir() / "tests"
    cmd = [
        sys.executable,
        str(mpy_tests / "run-tests.py"),
        "--result-dir",
        str(BUILD_DIR / "test-results" / board_name),
    ]
    env = dict(os.environ)
    if board.port == "unix":
        env["MICROPY_MICROPYTHON"] = str(firmware)
    else:
        qemu = guarded(qemu_command(board, firmware))
        # run-tests.py splits this command on spaces.
        if any(" " in part for part in qemu):
            raise SystemExit(f"a path in the QEMU command has a space: {qemu}")
        cmd += ["-t", "execpty:" + " ".join(qemu)]
    return cmd + [str(p) for p in test_files()], env


def gen_exp() -> int:
    """Write each test's .py.exp from its output on the default board (review the diff)."""
    with connect(board=DEFAULT_BOARD) as board:
        for test in test_files():
            out = board.exec(test.read_text(), timeout=60).replace("\r\n", "\n")
            test.with_suffix(".py.exp").write_text(out)
            print(f"wrote {test.name}.exp")
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("boards", nargs="*", default=["unix"])
    ap.add_argument(
        "--gen-exp", action="store_true", help="regenerate .py.exp on the default board"
    )
    args = ap.parse_args()
    if args.gen_exp:
        return gen_exp()
    failed = []
    for name in args.boards:
        firmware = build(load_board(name))
        cmd, env = run_tests_cmd(name, firmware)
        print(f"== MicroPython tests on {name}", flush=True)
        done = subprocess.run(cmd, check=False, env=env, cwd=micropython_dir() / "tests")
        if done.returncode != 0:
            failed.append(name)
    if failed:
        print(f"MicroPython tests failed on: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
