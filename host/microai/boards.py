"""Board descriptions: one folder per board in boards/, each with a board.json.

board.json is the single source of a board's facts (cpu, memory sizes, arena size,
emulator machine, how to flash); the firmware build turns it into C defines and make
variables, and the tests compare what the firmware reports against it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from . import MicroaiError
from .paths import BOARDS_DIR

DEFAULT_BOARD = "QEMU_STM32F405"
PORTS = ("unix", "qemu", "stm32")

# field -> (accepted types, required)
_FIELDS: dict[str, tuple[tuple[type, ...], bool]] = {
    "name": ((str,), True),
    "description": ((str,), True),
    "port": ((str,), True),
    "mcu": ((str,), True),
    "cpu": ((str,), True),
    "dsp": ((bool,), True),
    "flash_bytes": ((int, type(None)), True),
    "ram_bytes": ((int, type(None)), True),
    "heap_bytes": ((int, type(None)), True),
    "arena_bytes": ((int,), True),
    "flash": ((str,), True),
    "arena_section": ((str,), False),
    "emulator": ((dict,), False),
    "mpy_board": ((str,), False),
}


@dataclass(frozen=True)
class Board:
    name: str
    description: str
    port: str
    mcu: str
    cpu: str
    dsp: bool
    flash_bytes: int | None
    ram_bytes: int | None
    heap_bytes: int | None
    arena_bytes: int
    flash: str
    dir: Path
    arena_section: str | None = None
    emulator: dict | None = None
    mpy_board: str | None = None

    @property
    def emulated(self) -> bool:
        return self.emulator is not None


class BoardError(MicroaiError):
    pass


def board_names(boards_dir: Path = BOARDS_DIR) -> list[str]:
    return sorted(p.parent.name for p in boards_dir.glob("*/board.json"))


def load_board(name: str, boards_dir: Path = BOARDS_DIR) -> Board:
    """Read and check boards/<name>/board.json; every error names the file and field."""
    path = boards_dir / name / "board.json"
    if not path.is_file():
        raise BoardError(
            f"unknown board {name!r}: no {path}; known boards: {', '.join(board_names(boards_dir))}"
        )
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise BoardError(f"{path}: not valid JSON: {e}") from None
    if not isinstance(data, dict):
        raise BoardError(f"{path}: expected a JSON object")
    for field, (types, required) in _FIELDS.items():
        if field not in data:
            if required:
                raise BoardError(f"{path}: missing field {field!r}")
            continue
        value = data[field]
        # bool is an int in Python: never accept it for a size.
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            names = " or ".join("null" if t is type(None) else t.__name__ for t in types)
            raise BoardError(f"{path}: field {field!r} must be {names}, not {value!r}")
    unknown = sorted(set(data) - set(_FIELDS))
    if unknown:
        raise BoardError(f"{path}: unknown field(s) {', '.join(unknown)}")
    if data["name"] != name:
        raise BoardError(f"{path}: field 'name' is {data['name']!r} but the folder is {name!r}")
    if data["port"] not in PORTS:
        raise BoardError(f"{path}: field 'port' must be one of {', '.join(PORTS)}")
    if data["arena_bytes"] <= 0 or data["arena_bytes"] % 16:
        raise BoardError(f"{path}: field 'arena_bytes' must be a positive multiple of 16")
    if data["port"] == "qemu":
        emulator = data.get("emulator")
        if not emulator or not {"qemu", "machine"} <= set(emulator):
            raise BoardError(f"{path}: a qemu board needs 'emulator' with 'qemu' and 'machine'")
        if not data["heap_bytes"]:
            raise BoardError(f"{path}: a qemu board needs 'heap_bytes'")
    if data["port"] == "stm32" and not data.get("mpy_board"):
        raise BoardError(f"{path}: an stm32 board needs 'mpy_board' (its ports/stm32 board name)")
    return Board(dir=path.parent, **data)
