"""The `microai` command line: parses arguments and calls one library function each."""

from __future__ import annotations

import io
import json
import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.table import Column, Table

from . import (
    EXIT_INPUT,
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXIT_MISMATCH,
    EXIT_TARGET,
    MAX_FILE_BYTES,
    InputError,
    MicroaiError,
    __version__,
)
from .boards import DEFAULT_BOARD, board_names, check_fit, load_board

# Full-width tables also when piped (rich would cut them at 80 columns).
console = Console(width=None if sys.stdout.isatty() else 200)


# ---- input and output files -----------------------------------------------------------


def read_input(path: Path, what: str, limit: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of `path`, a regular file of 1 to `limit` bytes; InputError naming the
    file otherwise. Folders, devices (/dev/zero), FIFOs and sockets are refused before
    anything is read, and never more than limit + 1 bytes are read."""
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except OSError as e:
        raise InputError(f"{path}: cannot open it: {e.strerror}") from None
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise InputError(f"{path}: a folder, not {what}")
        if not stat.S_ISREG(st.st_mode):
            raise InputError(f"{path}: not a regular file (a device, FIFO or socket), not {what}")
        if st.st_size > limit:
            raise InputError(f"{path}: {st.st_size:,} bytes; {what} may have at most {limit:,}")
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as e:
        raise InputError(f"{path}: cannot read it: {e.strerror}") from None
    finally:
        os.close(fd)
    if size > limit:
        raise InputError(f"{path}: more than {limit:,} bytes; {what} may have at most {limit:,}")
    if size == 0:
        raise InputError(f"{path}: empty file, not {what}")
    return b"".join(chunks)


def write_output(path: Path, data: bytes) -> None:
    """Write `data` beside `path` and rename it there: never a partial file under the
    final name. InputError (one line) when the folder is missing or not writable."""
    if not path.name or path.name in (".", ".."):
        raise InputError(f"cannot write {path}: not a file name")
    folder = path.parent
    if not folder.is_dir():
        what = "is not a folder" if folder.exists() else "does not exist"
        raise InputError(f"cannot write {path}: folder {folder} {what}")
    if path.is_dir():
        raise InputError(f"cannot write {path}: it is a folder")
    if path.exists() and not path.is_file():
        raise InputError(f"cannot write {path}: it exists and is not a regular file")
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except OSError as e:
        raise InputError(f"cannot write {path}: {e.strerror}") from None
    finally:
        tmp.unlink(missing_ok=True)


def load_npy(path: Path):
    """A numeric array from a .npy file, read without pickles; its header is checked
    against the file's size before numpy allocates anything."""
    import numpy as np
    from numpy.lib import format as npy

    f = io.BytesIO(read_input(path, "a .npy array"))
    try:
        version = npy.read_magic(f)
        if version == (1, 0):
            shape, _, dtype = npy.read_array_header_1_0(f)
        elif version == (2, 0):
            shape, _, dtype = npy.read_array_header_2_0(f)
        else:
            raise ValueError(f".npy format version {version[0]}.{version[1]}")
    except (ValueError, EOFError, SyntaxError) as e:
        raise InputError(f"{path}: not a .npy array ({_first_line(e)})") from None
    if dtype.hasobject or dtype.kind not in "biuf":
        raise InputError(f"{path}: holds {dtype} values; inputs are int8 or float32 numbers")
    n = 1
    for d in shape:
        n *= d
    data_bytes = len(f.getbuffer()) - f.tell()
    if n * dtype.itemsize != data_bytes:
        raise InputError(
            f"{path}: its header says shape {list(shape)} of {dtype} ({n * dtype.itemsize:,} "
            f"bytes) but the file holds {data_bytes:,} bytes of data"
        )
    f.seek(0)
    try:
        return np.load(f, allow_pickle=False)
    except (ValueError, EOFError, OSError) as e:
        raise InputError(f"{path}: not a .npy array ({_first_line(e)})") from None


def _first_line(e: BaseException) -> str:
    lines = str(e).strip().splitlines()
    return lines[0] if lines else type(e).__name__


def _board_option(default: str | None = DEFAULT_BOARD):
    return click.option(
        "--board",
        "-b",
        default=default,
        show_default=default is not None,
        help=f"Board name, a folder in boards/ ({', '.join(board_names())}).",
    )


# Paths are checked when they are read (read_input): every bad file is one InputError.
FILE = click.Path(path_type=Path)
_json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON.")
_port_option = click.option(
    "--port", "-p", help="Serial port of a real board (instead of --board)."
)


def _golden_option(what: str):
    from .golden import DEFAULT_GOLDEN, GOLDENS

    return click.option(
        "--golden",
        type=click.Choice(GOLDENS),
        default=DEFAULT_GOLDEN,
        show_default=True,
        help=f"The golden {what}: TFLite-Micro (tflm) or LiteRT's reference kernels "
        "(litert); they differ in FULLY_CONNECTED's rounding.",
    )


_recipe_option = click.option(
    "--recipe",
    type=FILE,
    help="Per-layer choices (JSON: weights, algorithm per layer; see recipe.py).",
)


def _recipe(path: Path | None):
    from .recipe import Recipe

    return Recipe.load(path)


_frozen_models_option = click.option(
    "--model",
    "models",
    multiple=True,
    type=FILE,
    help="A .mai/.tflite to freeze into flash (microai.frozen()[stem]); repeatable.",
)


def _inputs_options(default: int, what: str):
    """--inputs N (random), --seed S and repeatable --input x.npy."""

    def apply(fn):
        fn = click.option(
            "--input",
            "input_files",
            multiple=True,
            type=FILE,
            help=f"A .npy input to {what} as well (repeatable).",
        )(fn)
        fn = click.option("--seed", default=0, show_default=True, type=click.IntRange(0))(fn)
        return click.option(
            "--inputs",
            "n_inputs",
            default=default,
            show_default=True,
            type=click.IntRange(0, 100_000),
            help="Random inputs.",
        )(fn)

    return apply


@click.group()
@click.version_option(__version__, prog_name="microai")
def main() -> None:
    """Quantized neural networks on STM32 microcontrollers under MicroPython."""


@main.command()
@_json_option
def boards(as_json: bool) -> None:
    """List the boards microai builds firmware for, and how each is flashed."""
    from .paths import BOARDS_DIR

    names = board_names()
    if not names:
        raise MicroaiError(f"no board definitions in {BOARDS_DIR} (a broken install?)")
    if as_json:
        keep = (
            "name",
            "description",
            "port",
            "mcu",
            "cpu",
            "dsp",
            "flash_bytes",
            "firmware_bytes",
            "ram_bytes",
            "heap_bytes",
            "arena_bytes",
            "flash",
            "energy",
        )
        click.echo(
            json.dumps([{k: getattr(load_board(n), k) for k in keep} for n in names], indent=2)
        )
        return
    table = Table(
        "board", "port", "mcu", "cpu", "DSP", "RAM", "arena", "µA/MHz", "emulator", "flashed with"
    )
    for name in names:
        b = load_board(name)
        table.add_row(
            b.name,
            b.port,
            b.mcu,
            b.cpu,
            "yes" if b.dsp else "no",
            f"{b.ram_bytes // 1024} KiB" if b.ram_bytes else "-",
            f"{b.arena_bytes // 1024} KiB",
            f"{b.energy['run_ua_per_mhz']:g}" if b.energy else "-",
            b.emulator["machine"] if b.emulator else "-",
            ", ".join(b.flashers) if b.flashers else ("microai emulate" if b.emulated else "-"),
        )
    console.print(table)


@main.command()
@_board_option()
@_frozen_models_option
@click.option("--verbose", "-v", is_flag=True, help="Show the build's own output.")
@_json_option
def firmware(board: str, models: tuple[Path, ...], verbose: bool, as_json: bool) -> None:
    """Build MicroPython with the microai module for a board; prints the firmware path."""
    from .firmware import build

    b = load_board(board)
    frozen = _frozen(models, b)
    path = build(b, verbose=verbose, models=frozen)
    if as_json:
        click.echo(
            json.dumps(
                {"board": board, "firmware": str(path), "models": [n for n, _ in frozen or []]}
            )
        )
    else:
        click.echo(path)


@main.command("flash")
@click.argument("firmware_file", metavar="FIRMWARE", type=FILE)
@_board_option(None)
@click.option("--tool", help="The flasher to use (default: the first installed one).")
@click.option("--dry-run", is_flag=True, help="Print the commands; run nothing.")
@_json_option
def flash_cmd(
    firmware_file: Path, board: str | None, tool: str | None, dry_run: bool, as_json: bool
) -> None:
    """Flash a firmware (the firmware.elf `microai firmware` builds) to a real board with
    the tools its board.json names: st-flash, dfu-util, pyocd, openocd."""
    from .flash import commands, flash

    if not board:
        raise click.UsageError("--board is needed (e.g. --board NUCLEO_F446RE)")
    b = load_board(board)
    if dry_run:
        cmds = commands(b, firmware_file)
        if as_json:
            click.echo(
                json.dumps(
                    [
                        {
                            "tool": c.tool,
                            "command": c.text,
                            "installed": c.installed,
                            "converts": [[f, str(p)] for f, p in c.converts],
                        }
                        for c in cmds
                    ],
                    indent=2,
                )
            )
            return
        for c in cmds:
            for fmt, dst in c.converts:
                click.echo(f"arm-none-eabi-objcopy -O {fmt} {firmware_file} {dst}")
            mark = "installed" if c.installed else "not installed"
            click.echo(f"{c.text}    # {c.tool}, {mark}")
        return
    c = flash(b, firmware_file, tool)
    if as_json:
        click.echo(json.dumps({"tool": c.tool, "command": c.text}))
    else:
        click.echo(f"{board}: flashed with {c.tool}: {c.text}")


@main.command()
@_board_option()
@_frozen_models_option
@click.option("--no-build", is_flag=True, help="Use the firmware as it is; do not run make.")
def emulate(board: str, models: tuple[Path, ...], no_build: bool) -> None:
    """Boot an emulated board; its serial port is a pty until Ctrl-C.

    Connect to the printed port with pyserial, mpremote or `microai repl --port`.
    """
    from .device.qemu import QemuBoard
    from .firmware import build, firmware_path

    b = load_board(board)
    frozen = _frozen(models, b)
    fw = firmware_path(b, frozen) if no_build else build(b, models=frozen)
    with QemuBoard(b, fw) as q:
        click.echo(f"port: {q.port}")
        click.echo(f"{b.name} ({b.emulator['machine']}) is running; Ctrl-C stops it.", err=True)
        sys.stdout.flush()
        # SIGTERM and SIGHUP stop QEMU as Ctrl-C does; the with-block cleans up.
        for sig in (signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, lambda *_: sys.exit(0))
        try:
            code = q.wait()
        except KeyboardInterrupt:
            return
    if code != 0:
        raise MicroaiError(f"QEMU exited with status {code}:\n{q.output()}")


@main.command()
@click.argument("model", type=FILE)
@click.option(
    "--output",
    "-o",
    type=click.Path(path_type=Path),
    help="Blob to write (default: MODEL with the .mai suffix).",
)
@_golden_option("to be bit-exact with (the blob's rounding)")
@_recipe_option
@_board_option(None)
@click.option(
    "--upload",
    is_flag=True,
    help="With --board: the blob will be uploaded into RAM (default: frozen into flash).",
)
@_json_option
def convert(
    model: Path,
    output: Path | None,
    golden: str,
    recipe: Path | None,
    board: str | None,
    upload: bool,
    as_json: bool,
) -> None:
    """Convert an int8 .tflite model into a microai blob (.mai).

    With --board, layers whose recipe algorithm is "auto" get weights prepared for the
    board's core where the cost model says it pays (e.g. widened to int16 for SMLAD),
    within the flash (or, with --upload, the RAM) the board has for blobs. Without it the
    blob keeps every weight as the model has it, and runs as well on any board."""
    from .boards import Target
    from .convert import convert as convert_model

    output = output or model.with_suffix(".mai")
    data = read_input(model, "a TFLite model")
    if upload and not board:
        raise click.UsageError("--upload needs --board")
    target = Target.of(load_board(board), not upload) if board else None
    result = convert_model(data, model.name, golden, _recipe(recipe), target)
    write_output(output, result.blob)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "output": str(output),
                    "bytes": len(result.blob),
                    "ops": len(result.layers),
                    "arena_bytes": result.arena_size,
                    "board": board,
                    "kernels": [L.kernel for L in result.layers],
                    "patches": result.patches,
                }
            )
        )
        return
    click.echo(
        f"{output}: {len(result.blob):,} bytes, {len(result.layers)} ops, "
        f"arena {result.arena_size:,} bytes" + _patches_text(result.patches)
    )


def _patches_text(p: dict | None) -> str:
    """'; layers 0 to 3 in 8 bands, ...' when the recipe's patches split a stage."""
    if not p:
        return ""
    return (
        f"; layers 0 to {p['through']} in {p['bands']} bands ({p['extra_macs']:,} MACs recomputed)"
    )


def _print_sparsity(name: str, out: str, sp, as_json: bool) -> None:
    if as_json:
        return
    table = Table(
        "op",
        "layer",
        "blocks",
        "zero before",
        "zero after",
        "note",
        title=f"{name} -> {out}: block sparsity",
    )
    for L in sp.layers:
        table.add_row(
            str(L.op),
            L.opcode,
            f"{L.blocks:,}",
            f"{L.zero_before:,}",
            f"{L.zero_after:,}",
            L.reason or (f"{L.zero_after / L.blocks:.0%} zero" if L.blocks else ""),
        )
    console.print(table)
    line = f"output SQNR {sp.output_sqnr:.1f} dB on {sp.samples} inputs"
    if sp.accuracy:
        line += f"; accuracy {sp.accuracy['int8']:.1%} -> {sp.accuracy['sparse']:.1%}"
    console.print(line)


def _print_prune(name: str, out: str, p, as_json: bool) -> None:
    if as_json:
        return
    table = Table(
        "layers (op)",
        "channels",
        "kept",
        "note",
        title=f"{name} -> {out}: channels (by {p.criterion}, {p.compensation})",
    )
    for s in p.spaces:
        table.add_row(
            ", ".join(map(str, s.producers)) or "-",
            str(s.channels),
            str(s.kept),
            s.reason or "pruned",
        )
    console.print(table)
    before = sum(o["weights_before"] for o in p.ops)
    after = sum(o["weights_after"] for o in p.ops)
    line = (
        f"weights {before:,} -> {after:,}; output SQNR {p.output_sqnr:.1f} dB on {p.samples} inputs"
    )
    if p.accuracy:
        line += f"; accuracy {p.accuracy['int8']:.1%} -> {p.accuracy['pruned']:.1%}"
    console.print(line)


@main.command()
@click.argument("model", type=FILE)
@click.option(
    "--data",
    "data_file",
    type=FILE,
    help="An .npz: x (inputs, int8 or float), optional y (labels); measures sensitivity "
    "and calibrates pruning and int4 (default: random inputs, output error only).",
)
@click.option(
    "--calibration",
    "calibration_file",
    type=FILE,
    help="An .npz (as --data) to calibrate pruning and int4 on instead of --data, so that "
    "--data measures on inputs the compression has not seen (a held-out set).",
)
@click.option(
    "--board",
    "-b",
    default=DEFAULT_BOARD,
    show_default=True,
    help="An emulated board (instructions are counted on it).",
)
@click.option(
    "--costs",
    type=click.Choice(["table", "board"]),
    default="table",
    show_default=True,
    help="Instructions from the board's calibrated cost table (`microai calibrate`; the "
    "board when the table lacks a kernel), or measured on the board.",
)
@click.option("--flash", type=click.IntRange(min=1), help="Most bytes of blob.")
@click.option("--ram", type=click.IntRange(min=1), help="Most bytes of arena.")
@click.option("--instructions", type=click.IntRange(min=1), help="Most instructions per inference.")
@click.option(
    "--energy",
    type=click.FloatRange(min=0, min_open=True),
    help="Most µJ per inference (the board's estimate, board.json 'energy').",
)
@click.option(
    "--min-accuracy", type=click.FloatRange(0, 1), help="Least top-1 accuracy (0..1; with labels)."
)
@click.option(
    "--min-sqnr", type=float, help="Least output SQNR in dB against the int8 model (no labels)."
)
@click.option(
    "--minimize",
    type=click.Choice(["error", "energy"]),
    default="error",
    show_default=True,
    help="What the pick minimizes within the budgets: the output's error, or the energy "
    "per inference (its instructions) within --min-accuracy or --min-sqnr.",
)
@click.option(
    "--ratios",
    default=",".join(str(r) for r in (0.125, 0.25, 0.375, 0.5)),
    show_default=True,
    help="Channel-pruning fractions to try per space (comma-separated; empty: no pruning).",
)
@click.option(
    "--sparsities",
    default="0.5,0.75",
    show_default=True,
    help="Fractions of blocks of 4 weights to zero, per layer with a block-sparse kernel "
    "(comma-separated; empty: none).",
)
@click.option(
    "--pareto",
    type=click.IntRange(0, 50),
    default=6,
    show_default=True,
    help="Flash budgets on the Pareto front.",
)
@click.option(
    "--plot", type=click.Path(path_type=Path), help="Draw the Pareto front into this PNG."
)
@click.option(
    "--verify-on-board", is_flag=True, help="Run the recipe found with `hil` on the board."
)
@click.option(
    "--workers",
    type=click.IntRange(1, 256),
    default=1,
    show_default=True,
    help="Local processes measuring the candidates.",
)
@click.option(
    "--cluster", metavar="ADDRESS", help="A Dask scheduler (tcp://host:8786) to measure them on."
)
@click.option(
    "--output", "-o", type=click.Path(path_type=Path), required=True, help="The recipe (JSON)."
)
@_json_option
def search(
    model: Path,
    data_file: Path | None,
    calibration_file: Path | None,
    board: str,
    costs: str,
    flash: int | None,
    ram: int | None,
    instructions: int | None,
    min_accuracy: float | None,
    min_sqnr: float | None,
    minimize: str,
    ratios: str,
    sparsities: str,
    pareto: int,
    plot: Path | None,
    verify_on_board: bool,
    workers: int,
    cluster: str | None,
    energy: float | None,
    output: Path,
    as_json: bool,
) -> None:
    """Find per-layer weights (int8 / int4), channel pruning and algorithms for a board
    within flash, RAM and instruction budgets: costs measured on the board, sensitivity
    on your data, an integer linear program; writes the recipe (`convert --recipe`) and
    prints the Pareto front. Exit 1 when nothing fits the budgets."""
    from rich.progress import Progress

    from .search import plot as plot_front
    from .search import search as run_search

    fractions = {}
    for hint, text in (("--ratios", ratios), ("--sparsities", sparsities)):
        try:
            fractions[hint] = tuple(float(r) for r in text.split(",") if r.strip())
        except ValueError:
            raise click.BadParameter(
                f"{text!r}: fractions, comma-separated", param_hint=hint
            ) from None
    rs = fractions["--ratios"]
    data = read_input(model, "a TFLite model")
    with Progress(console=console, transient=True, disable=as_json) as bar:

        class Track:
            def track(self, seq, what, total=None):
                if total is None:
                    seq = list(seq)
                    total = len(seq)
                task = bar.add_task(what, total=total)
                for item in seq:
                    yield item
                    bar.advance(task)

        r = run_search(
            data, model.stem, data_file, board, flash, ram, instructions, min_accuracy, rs,
            pareto, verify_on_board, Track(), workers, cluster, energy, calibration_file, costs,
            fractions["--sparsities"], minimize, min_sqnr,
        )  # fmt: skip
    if plot is not None and r["pareto"]:
        plot_front(r, plot)
        r["plot"] = str(plot)
    if r["found"]:
        recipe = dict(r["recipe"])
        if "calibration" in recipe:  # relative to the recipe's folder
            recipe["calibration"] = os.path.relpath(
                Path(recipe["calibration"]).resolve(), output.resolve().parent
            )
        write_output(output, (json.dumps(recipe, indent=1) + "\n").encode())
        r["output"] = str(output)
    if as_json:
        click.echo(json.dumps(r, indent=2, default=lambda v: None))
    else:
        table = Table(
            "flash",
            "arena",
            "instructions (predicted)",
            "accuracy" if r["int8_accuracy"] is not None else "SQNR",
            title=f"{model.name} on {board}: Pareto front",
        )
        for q in r["pareto"]:
            quality = (
                f"{q['accuracy']:.1%}"
                if q["accuracy"] is not None
                else (f"{q['sqnr_db']:.1f} dB" if q["sqnr_db"] is not None else "exact")
            )
            table.add_row(
                f"{q['flash_bytes']:,}",
                f"{q['arena_bytes']:,}",
                f"{q['predicted_instructions']:,}",
                quality,
            )
        console.print(table)
        if r["found"]:
            line = (
                f"{output}: blob {r['flash_bytes']:,} bytes (int8 {r['int8_flash_bytes']:,}), "
                f"arena {r['arena_bytes']:,}, {r['predicted_instructions']:,} instructions "
                "predicted"
            )
            if r["accuracy"] is not None:
                line += f", accuracy {r['accuracy']:.1%} (int8 {r['int8_accuracy']:.1%})"
            if "measured_instructions" in r:
                line += (
                    f"; on the board {r['measured_instructions']:,} ({r['prediction_error']:+.1%})"
                )
            console.print(line)
    if not r["found"]:
        _fail("no recipe fits the budgets (see the Pareto front)", EXIT_MISMATCH)


@main.command()
@click.argument("model", type=FILE)
@click.option("--weights", type=click.Choice(["int4"]), help="Re-quantize weights to int4.")
@click.option(
    "--prune-channels",
    "prune",
    type=float,
    help="Remove this fraction (0..1) of the channels of every prunable layer (first).",
)
@click.option(
    "--sparsity",
    type=float,
    help="Zero this fraction (0..1) of each CONV_2D/FULLY_CONNECTED's weight blocks.",
)
@click.option(
    "--block",
    type=click.Choice(["1x4", "1x8"]),
    default="1x4",
    show_default=True,
    help="With --sparsity: blocks of 4 or 8 consecutive input channels.",
)
@click.option(
    "--layers",
    help="Comma-separated layers (op index or output tensor name); default: every "
    "CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED.",
)
@click.option(
    "--data",
    "data_file",
    type=FILE,
    help="Calibration .npz: x (inputs, int8 or float) and optional y (labels).",
)
@click.option(
    "--eval-data",
    "eval_file",
    type=FILE,
    help="A held-out .npz to measure SQNR and accuracy on (default: --data).",
)
@click.option("--no-bias-correction", is_flag=True, help="With --data: keep the biases as scaled.")
@click.option(
    "--compensation",
    type=click.Choice(["refit", "bias", "none"]),
    help="With --prune-channels and --data: how the next layers make up for the removed "
    "channels: refit their weights and bias by least squares (the default), fold the "
    "removed inputs' mean into their bias, or nothing. --no-bias-correction means none.",
)
@click.option(
    "--criterion",
    type=click.Choice(["l2", "l1", "output"]),
    help="With --prune-channels: rank channels by their weights' L2 or L1 norm, or by "
    "the energy they add to the next layers' outputs on --data. Default: output with "
    "--data, else l2.",
)
@click.option("--output", "-o", type=click.Path(path_type=Path), required=True)
@_json_option
def compress(
    model: Path,
    weights: str | None,
    prune: float | None,
    sparsity: float | None,
    block: str,
    layers: str | None,
    data_file: Path | None,
    eval_file: Path | None,
    no_bias_correction: bool,
    compensation: str | None,
    criterion: str | None,
    output: Path,
    as_json: bool,
) -> None:
    """Compress an int8 .tflite into a standard .tflite that LiteRT and TFLite-Micro run
    (so it is its own golden): --prune-channels R removes whole channels (and the inputs
    that read them); --sparsity S zeroes the smallest blocks of 4 or 8 input channels;
    --weights int4 re-quantizes weights to int4 (CONV_2D and DEPTHWISE_CONV_2D per
    channel, FULLY_CONNECTED per tensor). They combine, in that order. Prints per layer
    what changed, the output SQNR, and why a layer did not."""
    from .compress import compress as compress_model
    from .compress import load_data
    from .tflite import read_model

    if weights is None and prune is None and sparsity is None:
        raise click.UsageError("give --prune-channels R, --sparsity S and/or --weights int4")
    if criterion is not None and prune is None:
        raise click.UsageError("--criterion ranks the channels --prune-channels removes")
    if compensation is not None and prune is None:
        raise click.UsageError("--compensation makes up for the channels --prune-channels removes")
    if compensation is None and no_bias_correction and data_file:
        compensation = "none"
    data = read_input(model, "a TFLite model")
    graph = read_model(data, model.name)
    calib = load_data(data_file, graph) if data_file else None
    held = load_data(eval_file, graph) if eval_file else None
    chosen = [x.strip() for x in layers.split(",") if x.strip()] if layers else None
    report: dict = {"input_bytes": len(data)}
    if prune is not None:
        from .prune import prune_channels

        p = prune_channels(
            data,
            model.name,
            prune,
            chosen,
            calib,
            held,
            compensation=compensation,
            criterion=criterion,
        )
        _print_prune(model.name, output.name, p, as_json)
        report["prune"] = {
            "criterion": p.criterion,
            "compensation": p.compensation,
            "spaces": [vars(s) for s in p.spaces],
            "ops": p.ops,
            "accuracy": p.accuracy,
            "output_sqnr_db": p.output_sqnr,
            "samples": p.samples,
        }
        data = p.model
        chosen = None  # the layers named were pruned; the next steps take every layer
    if sparsity is not None:
        from .sparsify import block_sparsify

        sp = block_sparsify(data, sparsity, int(block[2:]), chosen, model.name, held or calib)
        _print_sparsity(model.name, output.name, sp, as_json)
        report["sparsity"] = {
            "layers": [vars(L) for L in sp.layers],
            "output_sqnr_db": sp.output_sqnr,
            "accuracy": sp.accuracy,
            "samples": sp.samples,
        }
        data = sp.model
    if weights is None:
        write_output(output, data)
        report.update(output=str(output), bytes=len(data))
        if as_json:
            click.echo(json.dumps(report, indent=2, default=lambda v: None))
        else:
            console.print(f"{output}: {len(data):,} bytes ({report['input_bytes']:,} before)")
        return
    r = compress_model(
        data, model.name, weights, chosen, calib, held, bias_correction=not no_bias_correction
    )
    write_output(output, r.model)
    before = sum(L.bytes_before for L in r.layers)
    after = sum(L.bytes_after for L in r.layers)
    if as_json:
        report.update(
            output=str(output),
            bytes=len(r.model),
            layers=[vars(L) for L in r.layers],
            sqnr_inputs=r.sqnr_inputs,
            samples=r.samples,
            accuracy=r.accuracy,
        )
        click.echo(json.dumps(report, indent=2, default=lambda v: None))
        return
    table = Table(
        "op",
        "layer",
        Column("weights", max_width=40, overflow="ellipsis", no_wrap=True),
        "int8 bytes",
        "int4 bytes",
        "output SQNR",
        "note",
        title=f"{model.name} -> {output.name}: int4 weights (SQNR on {r.samples} {r.sqnr_inputs})",
    )
    for L in r.layers:
        sq = (
            ""
            if L.sqnr_db is None
            else "exact"
            if L.sqnr_db == float("inf")
            else f"{L.sqnr_db:.1f} dB"
        )
        table.add_row(
            str(L.op),
            L.opcode,
            L.name,
            f"{L.bytes_before:,}",
            f"{L.bytes_after:,}",
            sq,
            L.reason or L.granularity,
        )
    console.print(table)
    line = (
        f"{output}: {len(r.model):,} bytes ({report['input_bytes']:,} before); int4 weights "
        f"{before:,} -> {after:,} bytes"
    )
    if r.accuracy:
        line += (
            f"; accuracy int8 {r.accuracy['int8']:.1%} -> int4 {r.accuracy['int4']:.1%} "
            f"on {r.samples} inputs"
        )
    console.print(line)


@main.command()
@click.argument("blob", type=FILE)
@_board_option(None)
@_recipe_option
@click.option(
    "--plot",
    type=click.Path(path_type=Path),
    help="Write the arena timeline (buffers per op, bytes live, lower bound) as a PNG.",
)
@_json_option
def inspect(
    blob: Path, board: str | None, recipe: Path | None, plot: Path | None, as_json: bool
) -> None:
    """Show a blob's layers (a .tflite is converted first, for --board and with --recipe
    if given): op, kernel, shapes, MACs, weight bytes and layout, arena offsets, and the
    arena against its lower bound (the most bytes live at one op)."""
    from .inspect import describe, plot_memory

    # The C loader's checks: a blob it refuses is reported as such.
    data = _load_blob(
        blob, load_board(board) if board else None, recipe=_recipe(recipe) if recipe else None
    )
    info = describe(data)
    stale = _predict(info, board)
    if plot:
        plot_memory(info, plot, f"{blob.name}: arena {info['arena_bytes']:,} bytes")
    if stale:
        click.echo(click.style("microai: warning: ", fg="yellow") + stale, err=True)
    if as_json:
        click.echo(json.dumps(info, indent=2))
        return
    table = Table(
        "#",
        "op",
        "kernel",
        "input",
        "output",
        "MACs",
        "weights",
        "in @",
        "out @",
        "scratch",
        *(["predicted"] if info.get("predicted_instructions") is not None else []),
        title=f"{blob.name}",
    )
    for L in info["layers"]:
        pred = L.get("predicted_instructions")
        table.add_row(
            str(L["index"]),
            L["op"],
            L["kernel"],
            " ".join("x".join(map(str, s)) for s in L["inputs"]),
            " ".join("x".join(map(str, s)) for s in L["outputs"]),
            f"{L['macs']:,}",
            f"{L['weight_bytes']:,}"
            + (f" {L['weights_layout']}" if L["weights_layout"] not in (None, "standard") else ""),
            " ".join(map(str, L["input_offsets"])),
            " ".join(map(str, L["output_offsets"]))
            + (f" ({L['output_over_input']})" if L["output_over_input"] else ""),
            f"{L['scratch'][1]}@{L['scratch'][0]}" if L["scratch"] else "",
            *([f"{pred:,.0f}"] if info.get("predicted_instructions") is not None else []),
        )
    console.print(table)
    total = info.get("predicted_instructions")
    console.print(
        f"arena {info['arena_bytes']:,} bytes (lower bound {info['memory']['lower_bound']:,}, "
        f"at op {info['memory']['peak_op']}), blob (flash) {info['flash_bytes']:,} bytes, "
        f"weights {info['weight_bytes']:,} bytes, {info['macs']:,} MACs"
        + (f", {total:,.0f} instructions predicted on {board}" if total is not None else "")
        + (
            f", about {info['energy_uj_estimate']:,.0f} µJ an inference (estimate: "
            "boards/<board>/board.json 'energy')"
            if info.get("energy_uj_estimate") is not None
            else ""
        )
    )
    if plot:
        console.print(f"memory plot: {plot}")


def _predict(info: dict, board: str | None) -> str | None:
    """Add the board's cost table's predicted instructions (per layer and the total;
    None where a kernel is not in it) to inspect's `info`; a warning when the table was
    measured on other C sources."""
    from . import cost

    table = cost.load_table(board) if board else None
    if table is None:
        return None
    per = [cost.predict_features(table, L["kernel"], cost.blob_features(L)) for L in info["layers"]]
    for L, p in zip(info["layers"], per, strict=True):
        L["predicted_instructions"] = None if p is None else round(p)
    info["predicted_instructions"] = None if None in per else round(sum(per))
    if info["predicted_instructions"] is not None:
        from .boards import load_board

        uj = load_board(board).energy_uj(info["predicted_instructions"])
        info["energy_uj_estimate"] = None if uj is None else round(uj, 1)
    info["cost_table"] = {
        "board": board,
        "source_hash": table.get("source_hash"),
        "stale": table["stale"],
    }
    if table["stale"]:
        return (
            f"the {board} cost table was measured on other C sources than these: its "
            "predicted instructions are approximate (microai calibrate --board "
            f"{board} measures it again)"
        )
    return None


@main.command()
@_board_option()
@click.option(
    "--kernels",
    help="Only these kernels (comma-separated names from the C table), e.g. "
    "CONV_PW_S8,FC_S8; only the models with such a layer are run.",
)
@click.option(
    "--output",
    "-o",
    type=FILE,
    help="Where to write the table (default: the committed one, microai/_data/costs/<board>.json).",
)
@_json_option
def calibrate(board: str, kernels: str | None, output: Path | None, as_json: bool) -> None:
    """Measure every kernel's instructions on an emulated board (synthetic layers over a
    grid of shapes, algorithms and weights formats, and every layer of the real models)
    and fit each kernel as a few features of its layer (cost.py, calibrate.py): the
    table `inspect --board` and the search predict instructions from."""
    from . import calibrate as cal
    from . import cost

    names = [k.strip() for k in kernels.split(",") if k.strip()] if kernels is not None else None
    load_board(board)  # an unknown board: the error every command gives
    cal.check_kernels(names)
    path = output or cost.COSTS_DIR / f"{board}.json"
    say = None if as_json else lambda text: click.echo(text, err=True)
    report = cal.calibrate(board, names, progress=say)
    table = report.table
    if not table["kernels"]:
        raise cal.CalibrateError(
            f"{board}: no kernel could be fitted ({len(report.skipped)} model(s) skipped)"
        )
    cal.write_table(table, path)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "output": str(path),
                    "seconds": report.seconds,
                    "models_run": report.cases,
                    "skipped": [{"model": m, "why": w} for m, w in report.skipped],
                    **table,
                },
                indent=2,
            )
        )
        return
    out = Table("kernel", "features", "layers", "worst error", title=f"{board}: instructions")
    for name, row in table["kernels"].items():
        out.add_row(
            name, " ".join(row["features"]), str(row["layers"]), f"{row['worst_error']:.1%}"
        )
    console.print(out)
    for name, why in table["rejected"].items():
        console.print(f"not fitted: {name}: {why}")
    for m in table["models"]:
        console.print(
            f"{m['model']}: predicted {m['predicted']:,}, measured {m['measured']:,} "
            f"({m['error']:+.1%})"
        )
    console.print(
        f"{path}: {len(table['kernels'])} kernels from {table['measured_layers']} layers of "
        f"{report.cases} models ({len(report.skipped)} skipped), {report.seconds:.0f} s"
    )


@main.command()
@click.argument("model", type=FILE)
@_inputs_options(50, "check")
@_golden_option("to compare with (the blob is converted for it)")
@_recipe_option
@_json_option
def verify(
    model: Path,
    n_inputs: int,
    seed: int,
    input_files: tuple[Path, ...],
    golden: str,
    recipe: Path | None,
    as_json: bool,
) -> None:
    """Compare microai with a golden (TFLite-Micro or LiteRT's reference kernels) on
    every tensor; exit 0 if bit-exact."""
    from .verify import verify as verify_model

    given = [load_npy(f) for f in input_files]
    data = read_input(model, "a TFLite model")
    result = verify_model(
        data,
        n_inputs,
        seed,
        given,
        model.name,
        list(map(str, input_files)),
        golden,
        recipe=_recipe(recipe),
    )
    if as_json:
        click.echo(json.dumps(result, indent=2))
    else:
        table = Table(
            "#",
            "op",
            "kernel",
            "output tensor",
            "mismatches",
            "max |diff|",
            title=f"{model.name}: {result['inputs']} inputs, golden {result['golden_title']}",
        )
        for L in result["layers"]:
            table.add_row(
                str(L["index"]),
                L["op"],
                L["kernel"],
                L["name"],
                str(L["mismatches"]),
                f"{L['max_abs_diff']:g}",
            )
        console.print(table)
        verdict = "bit-exact" if result["mismatches"] == 0 else "MISMATCH"
        console.print(
            f"{verdict}: {result['mismatches']} mismatching elements; arena "
            f"{result['arena_bytes']:,} bytes, blob {result['blob_bytes']:,} bytes"
            + _patches_text(result.get("patches"))
        )
    if result["mismatches"]:
        raise SystemExit(EXIT_MISMATCH)


def _identifier(name: str) -> str:
    import keyword

    if not name.isidentifier() or keyword.iskeyword(name):
        raise click.BadParameter(f"{name!r} is not a Python name", param_hint="'--name'")
    return name


def _frozen_name(path: Path) -> str:
    """The name a model file is frozen under (microai.frozen()[name])."""
    return path.stem.replace("-", "_")


def _frozen(models: tuple[Path, ...], board) -> list[tuple[str, bytes]] | None:
    """(name, blob) pairs to freeze into a firmware, named after the files; checked
    against the board's flash and arena before anything is built."""
    blobs = [(_frozen_name(m), _load_blob(m, board, frozen=True)) for m in models]
    if blobs:
        check_fit(
            board,
            sum(len(b) for _, b in blobs),
            max(_arena_size(b) for _, b in blobs),
            frozen=True,
            name=", ".join(map(str, models)),
        )
    return blobs or None


def _load_blob(path: Path, board=None, frozen: bool | None = None, recipe=None) -> bytes:
    """A .mai checked by the C loader, or a .tflite converted on the fly (for `board`,
    if given, with the blob in flash or RAM as `frozen` says: boards.Target; with the
    recipe, if given)."""
    if path.suffix == ".tflite":
        from .boards import Target
        from .convert import convert as convert_model

        target = Target.of(board, frozen) if board is not None else None
        model = read_input(path, "a TFLite model")
        return convert_model(model, path.name, recipe=recipe, target=target).blob
    if recipe is not None:
        raise click.UsageError("--recipe is for a .tflite (a blob's choices are made)")
    from .engine import Model, ModelError

    data = read_input(path, "a blob")
    try:
        Model(data).close()
    except ModelError as e:
        raise ModelError(f"{path}: {e}") from None
    return data


def _arena_size(blob: bytes) -> int:
    from .blob import read_header

    return read_header(blob)["arena_size"]


@main.command()
@click.argument("model", type=FILE)
@_board_option(default=None)
@click.option("--port", "-p", help="Serial port of a real board.")
@click.option(
    "--name",
    default=None,
    callback=lambda ctx, param, value: None if value is None else _identifier(value),
    help="Name on the board (a Python identifier); default: 'blob' with --port, with "
    "--board the file's name, as `emulate --model` names it.",
)
@_json_option
def deploy(
    model: Path, board: str | None, port: str | None, name: str | None, as_json: bool
) -> None:
    """Put a blob on a board.

    With --port: uploaded over serial into the board's RAM (checksummed chunks) as the
    REPL variable NAME and loaded once with microai.Model to check it. With --board (an
    emulated board): frozen into a firmware image's flash, as microai.frozen()[NAME];
    `microai emulate --board B --model MODEL` boots that same image (no rebuild).
    """
    from .device import connect
    from .device.upload import upload
    from .firmware import build

    if bool(board) == bool(port):
        raise click.UsageError("give exactly one of --board and --port")
    blob = _load_blob(model, load_board(board) if board else None, frozen=True)
    if port:
        name = name or "blob"
        with connect(port=port) as t:
            upload(t, blob, name)
            info = t.eval(f"__import__('microai').Model({name}).arena_info()")
        if as_json:
            click.echo(
                json.dumps(
                    {
                        "port": port,
                        "name": name,
                        "bytes": len(blob),
                        "placement": "ram",
                        "arena_info": info,
                    }
                )
            )
        else:
            click.echo(f"{port}: {len(blob):,} bytes in RAM as '{name}'; arena_info() = {info}")
        return
    b = load_board(board)
    # Named as `emulate --model` names it (_frozen()), so that both build one image.
    name = name or _identifier(_frozen_name(model))
    check_fit(b, len(blob), _arena_size(blob), frozen=True, name=str(model))
    fw = build(b, models=[(name, blob)])
    if as_json:
        click.echo(
            json.dumps(
                {
                    "board": board,
                    "name": name,
                    "bytes": len(blob),
                    "placement": "flash",
                    "firmware": str(fw),
                }
            )
        )
    else:
        click.echo(
            f"{fw}: firmware with '{name}' ({len(blob):,} bytes) frozen into flash; boot "
            f"it with `microai emulate --board {board} --model {model}`"
        )


@main.command("run")
@click.argument("model", type=FILE)
@_board_option()
@_port_option
@click.option(
    "--input",
    "input_file",
    required=True,
    type=FILE,
    help="A .npy input.",
)
@_json_option
def run_model(model: Path, board: str, port: str | None, input_file: Path, as_json: bool) -> None:
    """Run a model on a board on one input; print the output beside the host engine's."""
    import numpy as np

    from .engine import Model
    from .hil import board_run, open_board, place_model
    from .verify import check_input

    blob = _load_blob(model, None if port else load_board(board))
    engine = Model(blob)
    if engine.header["n_inputs"] != 1:
        raise InputError(
            f"{model}: `run` takes single-input models; this one has {engine.header['n_inputs']}"
        )
    spec = engine.input(0)
    x = check_input(load_npy(input_file), spec.shape, spec.dtype, str(input_file))
    want = engine.run(x)
    t, frozen, _ = open_board(None if port else board, port, blob, name="run")
    with t:
        place_model(t, blob, frozen)
        got = board_run(t, x.astype(engine.input(0).dtype).tobytes())
        got = np.frombuffer(got, dtype=want.dtype).reshape(want.shape)
    same = bool((got == want).all())
    result = {
        "board": t.name,
        "output": got.ravel().tolist(),
        "host": want.ravel().tolist(),
        "bit_exact": same,
        "argmax": int(np.argmax(got)),
    }
    if as_json:
        click.echo(json.dumps(result))
    else:
        click.echo(
            f"board output: {result['output']}\nargmax {result['argmax']}; "
            f"{'bit-exact with' if same else 'DIFFERS from'} the host engine"
        )
    if not same:
        raise SystemExit(EXIT_MISMATCH)


@main.command()
@click.argument("model", type=FILE)
@click.option(
    "--data",
    "data_path",
    type=FILE,
    required=True,
    help=".npz (x, optional y), .npy inputs, or a folder of them; int8 or float inputs.",
)
@click.option("--labels", type=FILE, help="A .npy of integer labels, for .npy inputs.")
@_board_option(None)
@_port_option
@click.option(
    "--reference",
    type=FILE,
    help="A float .tflite to compare outputs with (RMSE, MAE, cosine, L2 relative).",
)
@click.option("--top-k", "k", type=click.IntRange(1, 1000), default=5, show_default=True)
@click.option(
    "--min-accuracy",
    type=click.FloatRange(0, 1),
    help="Exit 1 when top-1 accuracy is below this fraction.",
)
@_golden_option("to convert a .tflite for (the blob's rounding)")
@_json_option
def validate(
    model: Path,
    data_path: Path,
    labels: Path | None,
    board: str | None,
    port: str | None,
    reference: Path | None,
    k: int,
    min_accuracy: float | None,
    golden: str,
    as_json: bool,
) -> None:
    """Run a model (.tflite or .mai) on your own data, on the host engine or a board
    (--board B / --port P): top-1 and top-k accuracy and a confusion matrix with labels,
    and against a float reference model the output errors."""
    from rich.progress import Progress

    from .validate import Data, model_io
    from .validate import validate as run_validate

    if board and port:
        raise click.UsageError("give at most one of --board and --port")
    if model.suffix == ".tflite":
        from .boards import Target
        from .convert import convert as convert_model

        target = Target.of(load_board(board)) if board else None
        blob = convert_model(
            read_input(model, "a TFLite model"), model.name, golden, target=target
        ).blob
    else:
        blob = _load_blob(model)
    inp, _ = model_io(blob)
    data = Data(data_path, inp, labels)
    where = "host engine"
    context = None
    if board or port:
        from .hil import board_run, open_board, place_model

        t, frozen, _ = open_board(board, port, blob, name="validate")
        context = t
        where = port or board

        def run_one(x):
            return board_run(t, x.tobytes())
    else:
        from .engine import Model

        engine = Model(blob)

        def run_one(x):
            return engine.run(x)

    with Progress(console=console, transient=True, disable=as_json) as bar:
        task = bar.add_task(f"validating on {where}", total=None)
        if context is not None:
            context.__enter__()
            place_model(context, blob, frozen)
        try:
            r = run_validate(
                blob, data, run_one, reference, k, lambda n: bar.update(task, completed=n)
            )
        finally:
            if context is not None:
                context.__exit__(None, None, None)
    r.target = where
    if as_json:
        click.echo(json.dumps(vars(r), indent=2))
    else:
        for note in r.notes:
            console.print(f"note: {note}")
        if r.top1 is not None:
            console.print(
                f"{model.name} on {where}: top-1 {r.top1:.2%}, top-{r.k} {r.topk:.2%} "
                f"over {r.samples:,} inputs"
            )
            n = len(r.confusion)
            if n <= 20:
                table = Table("label \\ predicted", *map(str, range(n)), title="confusion")
                for i, row in enumerate(r.confusion):
                    table.add_row(str(i), *(str(v) if v else "." for v in row))
                console.print(table)
        else:
            console.print(f"{model.name} on {where}: {r.samples:,} inputs, no labels")
        if r.reference:
            e = r.reference
            console.print(
                f"against {reference.name}: RMSE {e['rmse']:.4g}, MAE {e['mae']:.4g}, "
                f"cosine {e['cosine']:.4f}, L2 relative {e['l2_relative']:.4g}"
            )
    if min_accuracy is not None:
        if r.top1 is None:
            raise click.UsageError("--min-accuracy needs labels")
        if r.top1 < min_accuracy:
            raise SystemExit(EXIT_MISMATCH)


@main.command()
@click.argument("model", type=FILE)
@_board_option()
@_port_option
@_inputs_options(10, "run")
@click.option(
    "--frozen/--upload",
    default=None,
    help="Force the blob into flash, or into RAM (default: by size).",
)
@_golden_option("to compare the host engine with (the blob is converted for it)")
@_recipe_option
@_json_option
def hil(
    model: Path,
    board: str,
    port: str | None,
    n_inputs: int,
    seed: int,
    input_files: tuple[Path, ...],
    frozen: bool | None,
    golden: str,
    recipe: Path | None,
    as_json: bool,
) -> None:
    """Convert, deploy and run a .tflite on a board; compare bytes with the host engine,
    and the host engine with a golden. Exit 0 only when bit-exact."""
    from .golden import TITLES
    from .hil import hil as run_hil

    given = [load_npy(f) for f in input_files]
    data = read_input(model, "a TFLite model")
    r = run_hil(
        data,
        None if port else board,
        port,
        n_inputs,
        seed,
        given,
        model.name,
        frozen,
        given_names=list(map(str, input_files)),
        golden=golden,
        recipe=_recipe(recipe),
    )
    if as_json:
        click.echo(json.dumps(r, indent=2))
    else:
        table = Table(
            "#",
            "op",
            "kernel",
            "MACs",
            "instructions",
            title=f"{r['model']} on {r['board']} ({r['placement']}), {r['inputs']} inputs",
        )
        for L in r["layers"]:
            table.add_row(
                str(L["index"]),
                L["op"],
                L["kernel"],
                f"{L['macs']:,}",
                f"{L['instructions']:,}" if L["instructions"] is not None else "-",
            )
        console.print(table)
        verdict = (
            "bit-exact" if r["mismatches"] == 0 and r["reference_mismatches"] == 0 else "MISMATCH"
        )
        ins = f"{r['instructions']:,}" if r["instructions"] is not None else "n/a"
        console.print(
            f"{verdict}: {r['mismatches']} bytes differ from the host engine, "
            f"{r['reference_mismatches']} host elements from {TITLES[r['golden']]}; "
            "first mismatch "
            f"{r['first_mismatch']}; instructions/inference {ins}; arena "
            f"{r['arena_bytes']:,} B; blob {r['blob_bytes']:,} B"
            + _patches_text(r.get("patches"))
            + (
                f"; about {r['energy_uj_estimate']:,.0f} µJ an inference (estimate: "
                "boards/<board>/board.json 'energy')"
                if r.get("energy_uj_estimate") is not None
                else ""
            )
        )
    if r["mismatches"] or r["reference_mismatches"]:
        raise SystemExit(EXIT_MISMATCH)


@main.command()
@_board_option()
@click.option(
    "--images", type=click.IntRange(1), default=None, help="Classify only the first N images."
)
@click.option("--no-count", is_flag=True, help="Skip the instruction counter.")
@_json_option
def demo(board: str, images: int | None, no_count: bool, as_json: bool) -> None:
    """The main job: classify held-out digits with the int8 CNN on an emulated STM32."""
    from .demo import run_demo

    with console.status(f"booting {board}, uploading the digits model, classifying..."):
        r = run_demo(board, images, count=not no_count)
    if as_json:
        click.echo(json.dumps(r, indent=2))
        return
    shown = 40
    console.print(f"[bold]{r['machine']}[/]: digits CNN, {r['images']} held-out images")
    console.print("label:      " + " ".join(map(str, r["labels"][:shown])))
    console.print(
        "prediction: "
        + " ".join(
            f"[green]{p}[/]" if p == y else f"[red]{p}[/]"
            for p, y in zip(r["predictions"][:shown], r["labels"][:shown], strict=True)
        )
    )
    table = Table("figure", "value")
    table.add_row("accuracy on the board", f"{r['accuracy']:.2%}")
    table.add_row(
        "outputs bit-exact with the host engine", f"{r['bit_exact_with_host']} / {r['images']}"
    )
    table.add_row("arena bytes", f"{r['arena_bytes']:,}")
    table.add_row("blob bytes", f"{r['blob_bytes']:,}")
    table.add_row(
        "instructions per inference", f"{r['instructions']:,}" if r["instructions"] else "n/a"
    )
    console.print(table)
    if r["bit_exact_with_host"] != r["images"]:
        raise SystemExit(EXIT_MISMATCH)


def _connect(port: str | None, board: str | None):
    from .device import connect

    return connect(port=port, board=None if port else board)


@main.command()
@_board_option()
@_port_option
@_json_option
def info(board: str, port: str | None, as_json: bool) -> None:
    """Connect to a board over serial and show what its microai firmware reports."""
    with _connect(port, board) as t:
        result = {
            "port": t.name,
            "machine": t.eval("__import__('sys').implementation._machine"),
            **t.eval("__import__('microai').info()"),
        }
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    table = Table("field", "value", title=f"microai.info() on {result['machine']}")
    for key, value in result.items():
        table.add_row(key, hex(value) if key == "arena_addr" else str(value))
    console.print(table)


@main.command()
@_board_option()
@_port_option
def repl(board: str, port: str | None) -> None:
    """Interactive REPL on a board (mpremote's terminal; Ctrl-] leaves)."""
    from .device.qemu import QemuBoard
    from .firmware import build

    if port:
        mpremote = [sys.executable, "-m", "mpremote", "connect", port, "repl"]
        raise SystemExit(subprocess.call(mpremote))
    b = load_board(board)
    with QemuBoard(b, build(b)) as q:
        click.echo(f"{b.name} on {q.port}: press Enter for a prompt; Ctrl-] stops QEMU.", err=True)
        subprocess.call([sys.executable, "-m", "mpremote", "connect", q.port, "repl"])


@main.command()
@click.argument("target", type=click.Path(file_okay=False, path_type=Path), default="typings")
@_json_option
def stubs(target: Path, as_json: bool) -> None:
    """Write the board module's type stubs (microai.pyi) into TARGET (default ./typings,
    where micropython-stubs keeps board stubs and Pylance and Pyright look)."""
    from .paths import STUBS_DIR

    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise InputError(f"cannot make {target}: {e.strerror}") from None
    written = []
    for stub in sorted(STUBS_DIR.glob("*.pyi")):
        write_output(target / stub.name, stub.read_bytes())
        written.append(str(target / stub.name))
    if as_json:
        click.echo(json.dumps({"written": written}))
    else:
        for w in written:
            click.echo(w)


def _one_line(message: str) -> str:
    """A multi-line message (e.g. a list of unsupported ops) as one line, with control
    characters (from a model's tensor names, say) escaped, not sent to the terminal."""
    out = ""
    for part in (ln.strip() for ln in message.splitlines()):
        if part:
            out += part if not out else (" " if out.endswith(":") else "; ") + part
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in out)


def _fail(message: str, code: int) -> None:
    click.echo(click.style("microai: ", fg="red", bold=True) + message, err=True)
    sys.exit(code)


def run(args: list[str] | None = None) -> None:
    """Entry point (args: default sys.argv[1:]): every error is reported as
    `microai: <what is wrong>` (one line for a bad input) and an exit code from the table
    in microai/__init__.py (README.md, "Exit codes"). MICROAI_DEBUG=1 shows the
    traceback instead."""
    debug = bool(os.environ.get("MICROAI_DEBUG"))
    try:
        main(args=args, prog_name="microai", standalone_mode=False)
    except click.exceptions.Exit as e:
        sys.exit(e.exit_code)
    except click.exceptions.NoArgsIsHelpError as e:  # `microai` alone: the help
        e.show()
        sys.exit(e.exit_code)
    except click.UsageError as e:
        cmd = e.ctx.command_path if e.ctx else "microai"
        _fail(f"{_one_line(e.format_message())} (see '{cmd} --help')", e.exit_code)
    except click.ClickException as e:
        _fail(_one_line(e.format_message()), e.exit_code)
    except click.exceptions.Abort:
        _fail("interrupted", EXIT_INTERRUPTED)
    except MicroaiError as e:
        if debug:
            raise
        text = str(e) if e.exit_code != EXIT_INPUT else _one_line(str(e))
        _fail(text, e.exit_code)
    except OSError as e:  # a file or device nothing below turned into a MicroaiError
        if debug:
            raise
        where = f"{e.filename}: " if e.filename else ""
        _fail(f"{where}{e.strerror or _first_line(e)}", EXIT_TARGET)
    except MemoryError:
        if debug:
            raise
        _fail(
            "out of memory (a bug: inputs are bounded; MICROAI_DEBUG=1 shows where)", EXIT_INTERNAL
        )
    except Exception as e:
        if debug:
            raise
        _fail(
            f"internal error, a bug in microai: {type(e).__name__}: {_first_line(e)} "
            "(MICROAI_DEBUG=1 shows where)",
            EXIT_INTERNAL,
        )
