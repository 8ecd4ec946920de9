"""`microai flash`: the board.json's flashers, the image converted to the form each
takes, the first installed tool run (or the one asked for); --dry-run prints every
exact command; emulated boards and missing tools are one clear line. The tools here
are stand-ins on PATH that record how they were called."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

FAKE = """#!/bin/sh
echo "$(basename "$0") $*" >> "{log}"
case "$(basename "$0")" in
arm-none-eabi-objcopy) for a; do last="$a"; done; echo img > "$last";;
esac
"""


@pytest.fixture
def tools(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "calls.log"

    def install(*names):
        for n in names:
            p = bin_dir / n
            p.write_text(FAKE.format(log=log))
            p.chmod(0o755)

    env = dict(os.environ, PATH=f"{bin_dir}:/usr/bin:/bin")
    return install, env, log


def _run(env, *args):
    return subprocess.run(
        [sys.executable, "-m", "microai", "flash", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def test_dry_run_prints_every_command(tools, tmp_path):
    install, env, _ = tools
    install("pyocd")
    fw = tmp_path / "firmware.elf"
    fw.write_bytes(b"\x7fELF")
    r = _run(env, fw, "--board", "NUCLEO_F446RE", "--dry-run", "--json")
    assert r.returncode == 0, r.stderr
    cmds = {c["tool"]: c for c in json.loads(r.stdout)}
    assert (
        cmds["st-flash"]["command"] == f"st-flash --reset write {tmp_path}/firmware.bin 0x08000000"
    )
    assert cmds["pyocd"]["command"] == f"pyocd flash -t stm32f446re {tmp_path}/firmware.hex"
    assert cmds["pyocd"]["installed"] and not cmds["dfu-util"]["installed"]
    assert "program " + str(fw) in cmds["openocd"]["command"]
    text = _run(env, fw, "--board", "NUCLEO_F446RE", "--dry-run").stdout
    assert f"arm-none-eabi-objcopy -O binary {fw}" in text and "dfu-util -a 0" in text


def test_flashes_with_the_first_installed_tool(tools, tmp_path):
    install, env, log = tools
    install("dfu-util", "pyocd", "arm-none-eabi-objcopy")
    fw = tmp_path / "firmware.elf"
    fw.write_bytes(b"\x7fELF")
    r = _run(env, fw, "--board", "NUCLEO_H743ZI")
    assert r.returncode == 0, r.stderr
    calls = log.read_text().splitlines()
    assert calls == [
        f"arm-none-eabi-objcopy -O binary {fw} {tmp_path}/firmware.bin",
        f"dfu-util -a 0 -s 0x08000000:leave -D {tmp_path}/firmware.bin",
    ]
    log.unlink()
    assert _run(env, fw, "--board", "NUCLEO_H743ZI", "--tool", "pyocd").returncode == 0
    assert (
        log.read_text().splitlines()[-1] == f"pyocd flash -t stm32h743zitx {tmp_path}/firmware.hex"
    )


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ["--board", "QEMU_STM32F405"],
            "no flashers in its board.json: boot it with `microai emulate",
        ),
        (["--board", "NUCLEO_F446RE"], "none of st-flash, dfu-util, pyocd, openocd is installed"),
        (["--board", "NUCLEO_F446RE", "--tool", "jlink"], "has no flasher 'jlink'"),
    ],
    ids=["emulated", "no_tool", "unknown_tool"],
)
def test_refusals(tools, tmp_path, args, message):
    _, env, _ = tools
    fw = tmp_path / "firmware.elf"
    fw.write_bytes(b"\x7fELF")
    r = _run(env, fw, *args)
    assert r.returncode == 4 and message in r.stderr and r.stderr.count("\n") == 1, r.stderr


def test_missing_firmware(tools, tmp_path):
    _, env, _ = tools
    r = _run(env, tmp_path / "nope.elf", "--board", "NUCLEO_F446RE", "--dry-run")
    assert r.returncode == 3 and "no such firmware file" in r.stderr
    assert Path(tmp_path).is_dir()
