"""Board descriptions: one folder per board in boards/, each with a board.json.

board.json is the single source of a board's facts (cpu, memory sizes, arena size,
emulator machine, how to flash); the firmware build turns it into C defines and make
variables, and the tests compare what the firmware reports against it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from . import TargetError
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
    "firmware_bytes": ((int, type(None)), False),
    "ram_bytes": ((int, type(None)), True),
    "heap_bytes": ((int, type(None)), True),
    "arena_bytes": ((int,), True),
    "flash": ((str,), True),
    "arena_section": ((str,), False),
    "emulator": ((dict,), False),
    "mpy_board": ((str,), False),
    "flashers": ((dict,), False),
    "energy": ((dict,), False),
}
# An energy estimate's fields (board.json "energy"): the part's typical run-mode current
# per MHz (code from flash, peripherals off, from its datasheet), the supply it is given
# at, the cycles per instruction assumed for the core, and where the figures come from.
_ENERGY = {
    "run_ua_per_mhz": (int, float),
    "supply_v": (int, float),
    "cpi": (int, float),
    "source": (str,),
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
    firmware_bytes: int | None = None  # flash the firmware takes without models (rounded up)
    # tool -> command template ({elf}, {bin}, {hex}: the firmware in that form), in order
    # of preference: `microai flash` runs the first one installed.
    flashers: dict | None = None
    # The energy model (_ENERGY), or None: no estimate for this board.
    energy: dict | None = None

    @property
    def emulated(self) -> bool:
        return self.emulator is not None

    @property
    def blob_flash_bytes(self) -> int | None:
        """Flash for frozen blobs: flash_bytes less the firmware's own (firmware_bytes);
        None for a board without flash."""
        if self.flash_bytes is None:
            return None
        return max(self.flash_bytes - (self.firmware_bytes or 0), 0)

    def energy_uj(self, instructions: float | None) -> float | None:
        """An ESTIMATE of the energy of `instructions` instructions, in µJ: cycles =
        instructions x cpi, at run_ua_per_mhz x f µA from supply_v for cycles / f seconds,
        so E = instructions x cpi x supply_v x run_ua_per_mhz x 1e-6 whatever the clock.
        None without a model (or a count). The CPI is an assumption: QEMU counts
        instructions, not cycles."""
        if self.energy is None or instructions is None:
            return None
        e = self.energy
        return instructions * e["cpi"] * e["supply_v"] * e["run_ua_per_mhz"] * 1e-6

    @property
    def blob_ram_bytes(self) -> int | None:
        """RAM for an uploaded blob: the MicroPython heap (heap_bytes), else what
        ram_bytes leaves beside the arena; None when unknown."""
        if self.heap_bytes is not None:
            return self.heap_bytes
        if self.ram_bytes is not None:
            return max(self.ram_bytes - self.arena_bytes, 0)
        return None


@dataclass(frozen=True)
class Target:
    """What `convert` prepares a blob for: a core with or without the DSP extension, and
    the bytes the blob may have where it will live (None: no limit). Prepared weights
    layouts (passes/choose_layouts.py) are picked for it within that budget."""

    name: str
    dsp: bool
    blob_bytes: int | None

    @classmethod
    def of(cls, board: Board, frozen: bool | None = None) -> Target:
        """A board's target: the blob in flash (frozen True or None: a blob too big for
        RAM is frozen) or in RAM (False)."""
        budget = board.blob_ram_bytes if frozen is False else board.blob_flash_bytes
        return cls(board.name, board.dsp, budget)


class BoardError(TargetError):
    pass


class FitError(BoardError):
    """A model too big for a board; found before any firmware is built."""


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
    for tool, cmd in (data.get("flashers") or {}).items():
        if not isinstance(cmd, str) or not any(k in cmd for k in ("{elf}", "{bin}", "{hex}")):
            raise BoardError(
                f"{path}: flashers[{tool!r}] must be a command with {{elf}}, {{bin}} or {{hex}}"
            )
    energy = data.get("energy")
    if energy is not None:
        for key, types in _ENERGY.items():
            v = energy.get(key)
            if not isinstance(v, types) or isinstance(v, bool) or (key != "source" and v <= 0):
                raise BoardError(
                    f"{path}: energy[{key!r}] must be a positive number"
                    if key != "source"
                    else f"{path}: energy['source'] must be text"
                )
        unknown = sorted(set(energy) - set(_ENERGY))
        if unknown:
            raise BoardError(f"{path}: energy: unknown field(s) {', '.join(unknown)}")
    if data["port"] == "stm32" and not data.get("mpy_board"):
        raise BoardError(f"{path}: an stm32 board needs 'mpy_board' (its ports/stm32 board name)")
    return Board(dir=path.parent, **data)


def check_fit(
    board: Board, blob_bytes: int, arena_bytes: int, frozen: bool | None = None, name: str = ""
) -> None:
    """Raise FitError, before anything is built or booted, when a model cannot run on
    the board: its arena is bigger than the board's `arena_bytes`, or its blob fits
    neither in RAM (uploaded into the MicroPython heap, `heap_bytes`; on a board with
    no heap size, what `ram_bytes` leaves beside the arena) nor in flash (frozen,
    `flash_bytes`). frozen=True asks for flash, False for RAM, None for either.

    Flash also holds the firmware itself (firmware_bytes, rounded up): a blob that passes
    may still make the firmware too big for flash, which the linker reports. `name`
    (e.g. the model's file) starts the message.
    """
    where = f"boards/{board.name}/board.json"
    start = f"{name}: the" if name else "the"
    if arena_bytes > board.arena_bytes:
        raise FitError(
            f"{start} model needs an arena of {arena_bytes:,} bytes; board {board.name} has "
            f"{board.arena_bytes:,} (arena_bytes in {where})"
        )
    ram = board.blob_ram_bytes
    ram_field = "heap_bytes" if board.heap_bytes is not None else "ram_bytes - arena_bytes"
    flash = board.blob_flash_bytes
    flash_field = "flash_bytes - firmware_bytes" if board.firmware_bytes else "flash_bytes"
    in_ram = ram is None or blob_bytes <= ram
    in_flash = flash is None or blob_bytes <= flash
    ram_text = f"{ram or 0:,} bytes of RAM for it ({ram_field} in {where})"
    flash_text = f"{flash or 0:,} bytes of flash for it ({flash_field} in {where})"
    if frozen is False and not in_ram:
        raise FitError(f"{start} blob has {blob_bytes:,} bytes; board {board.name} has {ram_text}")
    if frozen is True and not in_flash:
        raise FitError(
            f"{start} blob has {blob_bytes:,} bytes; board {board.name} has {flash_text}"
        )
    if frozen is None and not (in_ram or in_flash):
        raise FitError(
            f"{start} blob has {blob_bytes:,} bytes; board {board.name} has {ram_text} "
            f"and {flash_text}"
        )
