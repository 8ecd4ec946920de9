"""`microai flash --board B FIRMWARE`: put a firmware image on a real board with the
tools its board.json names (`flashers`: st-flash, dfu-util, pyocd, openocd...), the
first one installed, or the one asked for; `--dry-run` prints the exact commands. The
image is converted from the ELF the build makes to the .bin or .hex a tool takes with
arm-none-eabi-objcopy."""

from __future__ import annotations

import shlex
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from . import InputError, TargetError
from .boards import Board

OBJCOPY = "arm-none-eabi-objcopy"
FORMATS = {"{bin}": ("binary", ".bin"), "{hex}": ("ihex", ".hex")}


@dataclass
class Command:
    tool: str
    argv: list[str]
    installed: bool
    converts: list[tuple[str, Path]]  # (objcopy format, output file) needed first

    @property
    def text(self) -> str:
        return shlex.join(self.argv)


def commands(board: Board, firmware: Path) -> list[Command]:
    if not board.flashers:
        how = (
            f"boot it with `microai emulate --board {board.name}`"
            if board.emulated
            else (board.flash)
        )
        raise TargetError(f"board {board.name} has no flashers in its board.json: {how}")
    if not firmware.is_file():
        raise InputError(f"{firmware}: no such firmware file")
    elf = firmware.suffix == ".elf"
    out = []
    for tool, template in board.flashers.items():
        files = {"{elf}": firmware}
        converts = []
        for key, (fmt, suffix) in FORMATS.items():
            if key not in template:
                continue
            if firmware.suffix == suffix:
                files[key] = firmware
            elif elf:
                files[key] = firmware.with_suffix(suffix)
                converts.append((fmt, files[key]))
            else:
                files[key] = None
        if "{elf}" in template and not elf:
            files["{elf}"] = None
        if any(v is None for k, v in files.items() if k in template):
            continue  # this tool needs a form of the image we cannot make from this file
        argv = shlex.split(template)
        for k, v in files.items():
            argv = [a.replace(k, str(v)) for a in argv]
        out.append(Command(tool, argv, shutil.which(argv[0]) is not None, converts))
    if not out:
        raise InputError(
            f"{firmware}: none of board {board.name}'s flashers takes a {firmware.suffix} "
            "file; give the firmware.elf the build makes"
        )
    return out


def flash(board: Board, firmware: Path, tool: str | None = None) -> Command:
    cmds = commands(board, firmware)
    if tool:
        chosen = [c for c in cmds if c.tool == tool]
        if not chosen:
            raise TargetError(
                f"board {board.name} has no flasher {tool!r} ({', '.join(c.tool for c in cmds)})"
            )
    else:
        chosen = [c for c in cmds if c.installed]
    if not chosen or not chosen[0].installed:
        raise TargetError(
            f"none of {', '.join(c.tool for c in (chosen or cmds))} is installed; install one "
            f"(e.g. Debian's stlink-tools, dfu-util, openocd, or pip's pyocd)"
        )
    c = chosen[0]
    for fmt, dst in c.converts:
        if shutil.which(OBJCOPY) is None:
            raise TargetError(f"{OBJCOPY} is needed to make {dst.name} from the ELF")
        subprocess.run([OBJCOPY, "-O", fmt, str(firmware), str(dst)], check=True)
    r = subprocess.run(c.argv, check=False)
    if r.returncode != 0:
        raise TargetError(f"{c.tool} failed (exit {r.returncode}): {c.text}")
    return c
