"""Deterministic cost on emulated boards: instruction counts from microai's QEMU plugin.

The plugin (firmware/qemu-plugin/maicount.c, built into build/qemu-plugin/libmaicount.so
by firmware/qemu-plugin/build.sh) counts every guest instruction and writes one line per
microai_mark_begin() ... microai_mark_end() pair the firmware runs:

    invoke seq=<n> total=<instructions> layers=<n1>,<n2>,...

This module finds the markers in the firmware ELF, gives the extra QEMU arguments that
load the plugin, and reads the records back::

    counter = InstructionCounter(firmware_elf)
    with QemuTransport(board, firmware_elf, extra_args=counter.qemu_args()) as t:
        t.exec("model.invoke()")
        record = counter.new_records()[-1]     # Record(seq, total, layers)

The plugin writes and flushes each line when the marker runs, before the board prints
anything afterwards, so the record is on disk by the time exec() returns.

`-icount shift=0` is added by default: it ties QEMU's virtual clock to the instruction
count (1 ns per instruction), which makes the board's own cycle source for
Model.profile() ("qemu-tim2", "qemu-cmsdk-timer") deterministic too. The plugin's
counts do not depend on it.
"""

from __future__ import annotations

import os
import struct
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .. import MicroaiError
from ..paths import BUILD_DIR, FIRMWARE_DIR

MARKERS = {
    "begin": "microai_mark_begin",
    "layer": "microai_mark_layer",
    "end": "microai_mark_end",
}
PLUGIN = BUILD_DIR / "qemu-plugin" / "libmaicount.so"
BUILD_SCRIPT = FIRMWARE_DIR / "qemu-plugin" / "build.sh"
ICOUNT_ARGS = ["-icount", "shift=0"]

# microai._spin(n) runs n iterations of `subs; bne` between its marks: the plugin's total
# is SPIN_INSNS_PER_ITERATION * n + SPIN_OVERHEAD, the overhead being the `bx lr` of
# microai_mark_begin and the `bl` to microai_mark_end (every span between two marks
# carries these two instructions).
SPIN_INSNS_PER_ITERATION = 2
SPIN_OVERHEAD = 2


class IcountError(MicroaiError):
    pass


@dataclass(frozen=True)
class Record:
    """One begin..end span: instructions in all, and per layer mark."""

    seq: int
    total: int
    layers: tuple[int, ...]
    aborted: bool = False  # a new begin came before the end


def build_plugin(verbose: bool = False) -> Path:
    """Build (or bring up to date) libmaicount.so; returns its path."""
    result = subprocess.run(
        [str(BUILD_SCRIPT), str(PLUGIN.parent)],
        check=False,
        stdout=None if verbose else subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    if result.returncode != 0 or not PLUGIN.is_file():
        tail = "" if verbose else "\n".join((result.stdout or "").splitlines()[-20:])
        raise IcountError(f"could not build the QEMU plugin {PLUGIN}:\n{tail}")
    return PLUGIN


def elf_symbols(elf: Path, names: set[str] | None = None) -> dict[str, int]:
    """Symbol values from the ELF's .symtab (32- or 64-bit, either endianness)."""
    data = Path(elf).read_bytes()
    if data[:4] != b"\x7fELF":
        raise IcountError(f"{elf} is not an ELF file")
    is64 = data[4] == 2
    end = "<" if data[5] == 1 else ">"
    if is64:
        shoff, shentsize, shnum = (
            struct.unpack_from(end + "Q", data, 0x28)[0],
            *struct.unpack_from(end + "HH", data, 0x3A),
        )
    else:
        shoff, shentsize, shnum = (
            struct.unpack_from(end + "I", data, 0x20)[0],
            *struct.unpack_from(end + "HH", data, 0x2E),
        )
    shdr = end + ("IIQQQQIIQQ" if is64 else "IIIIIIIIII")
    sections = [struct.unpack_from(shdr, data, shoff + i * shentsize) for i in range(shnum)]
    out: dict[str, int] = {}
    for sh in sections:
        if sh[1] != 2:  # SHT_SYMTAB
            continue
        offset, size, link, entsize = sh[4], sh[5], sh[6], sh[9]
        str_off = sections[link][4]
        for off in range(offset, offset + size, entsize):
            if is64:
                name_i, _info, _other, _shndx, value = struct.unpack_from(end + "IBBHQ", data, off)
            else:
                name_i, value = struct.unpack_from(end + "II", data, off)
            if name_i == 0:
                continue
            name_end = data.index(b"\0", str_off + name_i)
            name = data[str_off + name_i : name_end].decode(errors="replace")
            if names is None or name in names:
                out[name] = value
    return out


def marker_addresses(elf: Path) -> dict[str, int]:
    """{'begin': addr, 'layer': addr, 'end': addr} of the firmware's marker functions."""
    syms = elf_symbols(elf, set(MARKERS.values()))
    missing = [s for s in MARKERS.values() if s not in syms]
    if missing:
        raise IcountError(f"{elf} has no {', '.join(missing)}: not a microai firmware?")
    addrs = {k: syms[s] & ~1 for k, s in MARKERS.items()}  # Thumb bit off
    if len(set(addrs.values())) != len(addrs):
        raise IcountError(f"{elf}: the marker functions share an address: {addrs}")
    return addrs


def plugin_args(elf: Path, out: Path, plugin: Path = PLUGIN) -> list[str]:
    """The `-plugin ...` arguments counting instructions of firmware elf into out."""
    if "," in str(out) or "," in str(plugin):
        raise IcountError("QEMU plugin arguments cannot hold a comma in a path")
    a = marker_addresses(elf)
    spec = f"{plugin},begin={a['begin']:#x},layer={a['layer']:#x},end={a['end']:#x},out={out}"
    return ["-plugin", spec]


def parse_records(text: str) -> list[Record]:
    """The invoke (and abort) records in the plugin's output; stats and partial lines skipped."""
    records = []
    for line in text.splitlines():
        kind, _, rest = line.partition(" ")
        if kind not in ("invoke", "abort"):
            continue
        try:
            fields = dict(f.split("=", 1) for f in rest.split())
            layers = tuple(int(x) for x in fields.get("layers", "").split(",") if x)
            record = Record(
                int(fields["seq"]), int(fields["total"]), layers, aborted=kind == "abort"
            )
        except (ValueError, KeyError):
            continue  # a line cut short
        records.append(record)
    return records


def parse_stats(text: str) -> dict[str, int]:
    """The `stats` line the plugin writes when QEMU exits ({} before that)."""
    for line in text.splitlines():
        if line.startswith("stats "):
            return {k: int(v) for k, v in (f.split("=", 1) for f in line.split()[1:])}
    return {}


class InstructionCounter:
    """The plugin set-up for one QEMU run of a firmware, and its records as they come.

    out defaults to a fresh temporary file, removed by close().
    """

    def __init__(self, elf: Path, out: Path | None = None, icount: bool = True, build: bool = True):
        self.elf = Path(elf)
        self.plugin = build_plugin() if build else PLUGIN
        if out is None:
            fd, name = tempfile.mkstemp(prefix="maicount-", suffix=".txt")
            os.close(fd)
            out, self._owned = Path(name), True
        else:
            self._owned = False
        self.out = Path(out)
        self.icount = icount
        self._seen = 0
        self._args = plugin_args(self.elf, self.out, self.plugin)

    def qemu_args(self) -> list[str]:
        """Extra QEMU arguments: the plugin, and -icount shift=0 unless icount=False."""
        return [*self._args, *(ICOUNT_ARGS if self.icount else [])]

    def records(self) -> list[Record]:
        """Every complete record so far."""
        try:
            text = self.out.read_text()
        except FileNotFoundError:
            return []
        # A line is complete once its newline is written.
        return parse_records(text[: text.rfind("\n") + 1])

    def new_records(self) -> list[Record]:
        """The records written since the last call."""
        recs = self.records()
        new, self._seen = recs[self._seen :], len(recs)
        return new

    def stats(self) -> dict[str, int]:
        return parse_stats(self.out.read_text()) if self.out.is_file() else {}

    def close(self) -> None:
        if self._owned:
            self.out.unlink(missing_ok=True)

    def __enter__(self) -> InstructionCounter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
