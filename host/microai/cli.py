"""The `microai` command line: parses arguments and calls one library function each."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from . import MicroaiError, __version__
from .boards import DEFAULT_BOARD, board_names, load_board

# Full-width tables also when piped (rich would cut them at 80 columns).
console = Console(width=None if sys.stdout.isatty() else 200)
err_console = Console(stderr=True, soft_wrap=True)


def _board_option(default: str | None = DEFAULT_BOARD):
    return click.option(
        "--board",
        "-b",
        default=default,
        show_default=default is not None,
        help=f"Board name, a folder in boards/ ({', '.join(board_names())}).",
    )


@click.group()
@click.version_option(__version__, prog_name="microai")
def main() -> None:
    """Quantized neural networks on STM32 microcontrollers under MicroPython."""


@main.command()
def boards() -> None:
    """List the boards microai builds firmware for."""
    table = Table("board", "port", "mcu", "cpu", "DSP", "RAM", "arena", "emulator")
    for name in board_names():
        b = load_board(name)
        table.add_row(
            b.name,
            b.port,
            b.mcu,
            b.cpu,
            "yes" if b.dsp else "no",
            f"{b.ram_bytes // 1024} KiB" if b.ram_bytes else "-",
            f"{b.arena_bytes // 1024} KiB",
            b.emulator["machine"] if b.emulator else "-",
        )
    console.print(table)


@main.command()
@_board_option()
@click.option("--verbose", "-v", is_flag=True, help="Show the build's own output.")
def firmware(board: str, verbose: bool) -> None:
    """Build MicroPython with the microai module for a board; prints the firmware path."""
    from .firmware import build

    path = build(load_board(board), verbose=verbose)
    click.echo(path)


@main.command()
@_board_option()
@click.option("--no-build", is_flag=True, help="Use the firmware as it is; do not run make.")
def emulate(board: str, no_build: bool) -> None:
    """Boot an emulated board; its serial port is a pty until Ctrl-C.

    Connect to the printed port with pyserial, mpremote or `microai repl --port`.
    """
    from .device.qemu import QemuBoard
    from .firmware import build, firmware_path

    b = load_board(board)
    fw = firmware_path(b) if no_build else build(b)
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
@click.argument("model", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Blob to write (default: MODEL with the .mai suffix).",
)
def convert(model: Path, output: Path | None) -> None:
    """Convert an int8 .tflite model into a microai blob (.mai)."""
    from .convert import convert as convert_model

    output = output or model.with_suffix(".mai")
    result = convert_model(model.read_bytes(), model.name)
    # Write beside the target and rename: never a partial blob under the final name.
    tmp = output.with_name(f".{output.name}.tmp")
    try:
        tmp.write_bytes(result.blob)
        os.replace(tmp, output)
    finally:
        tmp.unlink(missing_ok=True)
    click.echo(
        f"{output}: {len(result.blob):,} bytes, {len(result.layers)} ops, "
        f"arena {result.arena_size:,} bytes"
    )


@main.command()
@click.argument("blob", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def inspect(blob: Path, as_json: bool) -> None:
    """Show a blob's layers: op, kernel, shapes, MACs, weight bytes, arena offsets."""
    from .engine import Model
    from .inspect import describe

    data = blob.read_bytes()
    Model(data).close()  # the C loader's checks: a blob it refuses is reported as such
    info = describe(data)
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
        title=f"{blob.name}",
    )
    for L in info["layers"]:
        table.add_row(
            str(L["index"]),
            L["op"],
            L["kernel"],
            " ".join("x".join(map(str, s)) for s in L["inputs"]),
            " ".join("x".join(map(str, s)) for s in L["outputs"]),
            f"{L['macs']:,}",
            f"{L['weight_bytes']:,}",
            " ".join(map(str, L["input_offsets"])),
            " ".join(map(str, L["output_offsets"])),
            f"{L['scratch'][1]}@{L['scratch'][0]}" if L["scratch"] else "",
        )
    console.print(table)
    console.print(
        f"arena {info['arena_bytes']:,} bytes, blob (flash) {info['flash_bytes']:,} bytes, "
        f"weights {info['weight_bytes']:,} bytes, {info['macs']:,} MACs"
    )


@main.command()
@click.argument("model", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--inputs", "n_inputs", default=50, show_default=True, help="Random inputs.")
@click.option("--seed", default=0, show_default=True)
@click.option(
    "--input",
    "input_files",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A .npy input to check as well (repeatable).",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def verify(
    model: Path, n_inputs: int, seed: int, input_files: tuple[Path, ...], as_json: bool
) -> None:
    """Compare microai with LiteRT's reference kernels on every tensor; exit 0 if bit-exact."""
    import numpy as np

    from .verify import verify as verify_model

    given = [np.load(f) for f in input_files]
    result = verify_model(model.read_bytes(), n_inputs, seed, given, model.name)
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
            title=f"{model.name}: {result['inputs']} inputs, LiteRT BUILTIN_REF",
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
        )
    if result["mismatches"]:
        raise SystemExit(1)


def _connect(port: str | None, board: str | None):
    from .device import connect

    return connect(port=port, board=None if port else board)


@main.command()
@_board_option()
@click.option("--port", "-p", help="Serial port of a real board (instead of --board).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
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
@click.option("--port", "-p", help="Serial port of a real board (instead of --board).")
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


def run() -> None:
    """Entry point: MicroaiError becomes a one-line message and exit status 1."""
    try:
        main(standalone_mode=False)
    except click.exceptions.Exit as e:
        sys.exit(e.exit_code)
    except click.ClickException as e:
        e.show()
        sys.exit(e.exit_code)
    except click.exceptions.Abort:
        err_console.print("aborted")
        sys.exit(1)
    except MicroaiError as e:
        err_console.print(Text.assemble(("microai: ", "bold red"), str(e)))
        sys.exit(1)
