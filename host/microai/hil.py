"""Hardware-in-the-loop: run a model on a board over serial and compare bytes.

The model is converted on the host and put on the board: uploaded into RAM when it
fits (at most half the board's heap), else frozen into a firmware variant's flash. It
runs on random inputs (plus given ones); each board output is compared byte for byte
with the host engine (the same C core on the PC), and the host engine's with a golden
(TFLite-Micro by default, or LiteRT's reference kernels; the blob is converted for the
golden, so its rounding is the golden's). On a mismatch the board is run layer by layer
(Model.run(x, layers)) to name the first layer that differs. On emulated boards, the
instruction-count plugin (device/icount.py) gives instructions per inference and per
layer.
"""

from __future__ import annotations

import binascii
import zlib

import numpy as np

from . import MicroaiError
from .boards import Board, Target, load_board
from .convert import Converted, convert
from .device.transport import (
    BoardException,
    DeviceError,
    QemuTransport,
    SerialTransport,
    Transport,
)
from .device.upload import STEP_TIMEOUT, Steps, heap_free, upload
from .engine import Model
from .firmware import build
from .golden import DEFAULT_GOLDEN, open_golden
from .recipe import Recipe
from .verify import random_input


class HilError(MicroaiError):
    pass


IO_CHUNK = 3072  # bytes of a model's input or output per exec (4 KiB of base64)


def fits_in_ram(board: Board, blob: bytes) -> bool:
    """Upload when the blob takes at most half the board's MicroPython heap."""
    return board.heap_bytes is None or len(blob) <= board.heap_bytes // 2


def board_run(t: Transport, x: bytes, layers: int | None = None) -> bytes:
    """Model `m` on the board run on x; output 0 (or op layers-1's output) as bytes.

    The input goes in chunks into a bytearray on the board (`_mai_x`, allocated once per
    input size), the output comes back in chunks; each chunk is checked by CRC and
    resent on a transient error. The output copy (`_mai_y`) is freed by the next run.
    A MemoryError says what did not fit and how big it was.
    """
    n = len(x)
    steps = Steps(t, retries=3, timeout=STEP_TIMEOUT)
    alloc = (
        "import gc, binascii\n_mai_y = _mai_c = None\n"
        f"if len(globals().get('_mai_x') or b'') != {n}:\n"
        f" _mai_x = None\n gc.collect()\n _mai_x = bytearray({n})\n"
    )
    for off in range(0, max(n, 1), IO_CHUNK):
        part = x[off : off + IO_CHUNK]
        b64 = binascii.b2a_base64(part, newline=False).decode()
        want = str(zlib.crc32(part))
        end = off + len(part)
        try:
            steps.run(
                f"input bytes {off}-{end}",
                (alloc if off == 0 else "")
                + f"memoryview(_mai_x)[{off}:{end}] = binascii.a2b_base64('{b64}')\n"
                f"print(binascii.crc32(memoryview(_mai_x)[{off}:{end}]))",
                lambda out, want=want: out == want,
            )
        except DeviceError as e:
            if "MemoryError" in str(e):
                raise HilError(
                    f"{t.name}: no room on the board for the model's {n:,}-byte input "
                    f"({heap_free(t)} of heap free)"
                ) from None
            raise
    arg = "" if layers is None else f", {layers}"
    try:
        # Not retried: running twice would count two inferences.
        out = t.exec(
            f"_mai_y = m.run(_mai_x{arg})\nprint(len(_mai_y), binascii.crc32(_mai_y))\n"
            f"print(binascii.b2a_base64(memoryview(_mai_y)[0:{IO_CHUNK}]).decode())",
            timeout=300,
        ).split()
    except BoardException as e:
        if "MemoryError" in str(e):
            raise HilError(
                f"{t.name}: no room on the board for the output copy m.run() makes "
                f"({heap_free(t)} of heap free, input {n:,} bytes)"
            ) from None
        raise
    try:
        size, crc = int(out[0]), int(out[1])
    except (IndexError, ValueError):
        raise DeviceError(f"{t.name}: unreadable answer from m.run(): {out!r:.80}") from None
    y = binascii.a2b_base64(out[2]) if len(out) > 2 else b""
    if size > IO_CHUNK or zlib.crc32(y) != crc:
        y = b""
        for off in range(0, size, IO_CHUNK):
            got = steps.run(
                f"output bytes {off}-{min(size, off + IO_CHUNK)}",
                f"_mai_c = memoryview(_mai_y)[{off}:{off + IO_CHUNK}]\n"
                "print(binascii.crc32(_mai_c), binascii.b2a_base64(_mai_c).decode())",
                _chunk_ok,
            )
            y += binascii.a2b_base64(got.split()[1])
        if zlib.crc32(y) != crc:
            raise HilError(f"{t.name}: the output arrived corrupted (CRC mismatch)")
    return y


def _chunk_ok(out: str) -> bool:
    """`out` is '<crc> <base64>' and the base64 decodes to bytes with that CRC."""
    try:
        crc, b64 = out.split()
        return zlib.crc32(binascii.a2b_base64(b64)) == int(crc)
    except (ValueError, binascii.Error):
        return False


def place_model(t: Transport, blob: bytes, frozen_name: str | None) -> None:
    """Bind the model to `m` in the board's REPL: from flash, or uploaded into RAM."""
    t.exec("import microai, binascii, gc\nm = None\ngc.collect()")
    if frozen_name:
        t.exec(f"m = microai.Model(microai.frozen()['{frozen_name}'])")
    else:
        upload(t, blob, "blob")
        t.exec("m = microai.Model(blob)")


def open_board(
    board_name: str | None,
    port: str | None,
    blob: bytes,
    frozen: bool | None = None,
    count: bool = False,
    name: str = "model",
):
    """A transport to the board with `blob` ready to place: (transport, name of the
    blob in microai.frozen() or None to upload it, instruction counter or None).

    A real board on `port` and the unix port get the blob uploaded; an emulated board
    gets it uploaded when it fits in RAM, else a firmware variant with it in flash.
    """
    if port:
        return SerialTransport(port), None, None
    board = load_board(board_name)
    from .blob import read_header
    from .boards import check_fit

    check_fit(board, len(blob), read_header(blob)["arena_size"], frozen)  # before any build
    if board.port == "unix":
        from .device.unix import UnixTransport

        return UnixTransport(build(board)), None, None
    if not board.emulated:
        raise HilError(f"board {board.name} is not emulated: use --port")
    if frozen is None:
        frozen = not fits_in_ram(board, blob)
    fw = build(board, models=[(name, blob)] if frozen else None)
    counter = None
    if count:
        from .device import icount

        counter = icount.InstructionCounter(fw)
    t = QemuTransport(board, fw, extra_args=counter.qemu_args() if counter else [])
    return t, name if frozen else None, counter


def first_bad_layer(t: Transport, engine: Model, conv: Converted, x: np.ndarray) -> dict:
    """Run the board and the host engine layer by layer; the first layer that differs."""
    engine.input(0)[...] = x.reshape(engine.input(0).shape)
    for L in conv.layers:
        engine.invoke_op(L.index)
        want = engine.tensor(L.outputs[0]).tobytes()
        got = board_run(t, x.tobytes(), L.index + 1)
        if got != want:
            return {
                "layer": L.index,
                "op": L.opcode,
                "kernel": L.kernel,
                "name": conv.graph.t(L.graph_outputs[0]).name,
                "elements": int(sum(a != b for a, b in zip(got, want, strict=False))),
            }
    return {"layer": None, "note": "layers agree; outputs differ"}


def _energy(board_name: str | None, per_inference: list[int]) -> float | None:
    if not board_name or not per_inference:
        return None
    e = load_board(board_name).energy_uj(float(np.median(per_inference)))
    return None if e is None else round(e, 1)


def hil(
    model: bytes,
    board_name: str | None = None,
    port: str | None = None,
    n_inputs: int = 10,
    seed: int = 0,
    given: list[np.ndarray] | None = None,
    name: str = "model",
    frozen: bool | None = None,
    count: bool = True,
    given_names: list[str] | None = None,
    golden: str = DEFAULT_GOLDEN,
    recipe: Recipe | None = None,
) -> dict:
    from . import InputError
    from .verify import check_input

    target = Target.of(load_board(board_name), frozen) if board_name and not port else None
    conv = convert(model, name, golden, recipe, target)
    engine = Model(conv.blob)
    ref = open_golden(conv.tflite, golden, name=name)  # the recipe's model: its own golden
    details = ref.inputs
    if len(details) != 1:
        raise InputError(f"{name}: HIL runs single-input models; this one has {len(details)}")
    rng = np.random.default_rng(seed)
    names = list(given_names or []) + [f"given input {k}" for k in range(len(given or []))]
    shape, dtype = details[0]["shape"], details[0]["dtype"]
    xs = [check_input(x, shape, dtype, names[k]) for k, x in enumerate(given or [])]
    xs += [random_input(details[0], rng) for _ in range(n_inputs)]

    t, frozen_name, counter = open_board(board_name, port, conv.blob, frozen, count, "hil")
    board_desc = port or board_name
    result: dict = {
        "model": name,
        "board": board_desc,
        "golden": golden,
        "inputs": len(xs),
        "seed": seed,
        "placement": "frozen" if frozen_name else "upload",
        "arena_bytes": conv.arena_size,
        "blob_bytes": len(conv.blob),
        "patches": conv.patches,
    }
    mismatches = ref_mismatches = 0
    first = None
    per_inference = []
    layers = None
    try:
        place_model(t, conv.blob, frozen_name)
        for k, x in enumerate(xs):
            want = engine.run(x)
            ref.set_input(0, x)
            ref.invoke()
            expect = ref.output(0)
            ref_mismatches += int((np.asarray(want).reshape(expect.shape) != expect).sum())
            if counter:
                counter.new_records()  # forget marks from loading and earlier runs
            got = board_run(t, x.tobytes())
            if counter:
                recs = counter.new_records()
                if len(recs) != 1:
                    raise HilError(f"expected one counted inference, the plugin saw {len(recs)}")
                per_inference.append(recs[0].total)
                layers = layers or recs[0].layers
            diff = int(sum(a != b for a, b in zip(got, want.tobytes(), strict=False)))
            diff += abs(len(got) - len(want.tobytes()))
            if diff and first is None:
                first = {"input": k, **first_bad_layer(t, engine, conv, x)}
            mismatches += diff
    finally:
        t.close()
        if counter:
            counter.close()
    result.update(
        {
            "mismatches": mismatches,
            "reference_mismatches": ref_mismatches,
            "first_mismatch": first,
            "instructions": int(np.median(per_inference)) if per_inference else None,
            "instructions_min_max": [min(per_inference), max(per_inference)]
            if per_inference
            else None,
            # An estimate from the board's energy model (boards.Board.energy_uj).
            "energy_uj_estimate": _energy(board_name, per_inference),
            "layers": [
                {
                    "index": L.index,
                    "source": L.source,
                    "op": L.opcode,
                    "kernel": L.kernel,
                    "macs": L.macs,
                    "instructions": layers[L.index] if layers else None,
                }
                for L in conv.layers
            ],
        }
    )
    return result
