"""Every bad input to the `microai` command: one line on stderr naming what is wrong,
the exit code README.md documents, no traceback, bounded memory.

Each case is data: the command line, the exit code, and words the message must hold.
Most cases run the CLI in this process (cli.run(args)); the ones that could read or
allocate without bound (/dev/zero, a FIFO, a blob asking for a 4 GiB arena, a .npy
whose header claims a terabyte) run in a subprocess under a 2 GiB address-space limit.
Board commands must fail before any firmware is built: firmware.build is replaced by
a function that fails the test.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from microai import (
    EXIT_INPUT,
    EXIT_INTERNAL,
    EXIT_TARGET,
    EXIT_USAGE,
    MAX_FILE_BYTES,
    firmware,
)
from microai import blob as B
from microai.paths import ROOT
from microai.testing.tflite_builder import ModelBuilder

FIXTURES = ROOT / "tests" / "fixtures" / "models"
MEMORY_LIMIT = 2 << 30  # bytes of address space for the subprocess cases


# ---- models ---------------------------------------------------------------------------


def logistic(shape, name="x") -> bytes:
    """One LOGISTIC op: input and output of `shape`, nothing else."""
    mb = ModelBuilder()
    x = mb.input(name, shape, scale=0.05)
    y = mb.tensor("y", shape, scale=1 / 256, zero_point=-128)
    mb.op("LOGISTIC", [x], [y])
    mb.output(y)
    return mb.build()


def fc(n_in: int, n_out: int, bias_scale: float | None = None) -> bytes:
    """One FULLY_CONNECTED op with n_out x n_in weights; bias_scale other than
    input scale x weight scale is a model both goldens refuse and microai converts."""
    mb = ModelBuilder()
    x = mb.input("x", (1, n_in), scale=0.05)
    w = mb.const("w", np.ones((n_out, n_in), np.int8), scale=0.01)
    b = mb.const("b", np.zeros(n_out, np.int32), scale=bias_scale or 0.05 * 0.01)
    y = mb.tensor("y", (1, n_out), scale=0.1)
    mb.op("FULLY_CONNECTED", [x, w, b], [y], "FullyConnectedOptions", FusedActivationFunction=0)
    mb.output(y)
    return mb.build()


def missing_input_tensor() -> bytes:
    mb = ModelBuilder()
    x = mb.input("x", (1, 8), scale=0.05)
    y = mb.tensor("y", (1, 8), scale=1 / 256, zero_point=-128)
    mb.op("LOGISTIC", [x], [y])
    mb.output(y)
    mb.inputs.append(99)
    return mb.build()


def with_header(blob: bytes, **fields) -> bytes:
    """The blob with header fields changed and the CRC made right again."""
    b = bytearray(blob)
    h = B.read_header(b)
    h.update(fields)
    b[: B.HEADER.size] = B.HEADER.pack(**h)
    h["crc32"] = B.crc32(b)
    b[: B.HEADER.size] = B.HEADER.pack(**h)
    return bytes(b)


def good_blob() -> bytes:
    from microai.convert import convert

    return convert(logistic((1, 8)), "ok.tflite").blob


def npy_header_only(shape, dtype="<i1") -> bytes:
    """A .npy header claiming `shape`, with no data after it."""
    import io

    from numpy.lib import format as npy

    f = io.BytesIO()
    npy.write_array_header_1_0(f, {"descr": dtype, "fortran_order": False, "shape": tuple(shape)})
    return f.getvalue()


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> Path:
    """A folder of bad and good inputs, made once for all the tests."""
    rng = np.random.default_rng(0)
    d = tmp_path_factory.mktemp("inputs")
    real = logistic((1, 8))
    (d / "ok.tflite").write_bytes(real)
    (d / "empty.tflite").write_bytes(b"")
    (d / "random.tflite").write_bytes(rng.bytes(4096))
    (d / "random_tfl3.tflite").write_bytes(b"\x10\x00\x00\x00TFL3" + rng.bytes(4096))
    (d / "truncated.tflite").write_bytes(real[: len(real) // 2])
    (d / "zero.tflite").write_bytes(logistic((1, 0, 4), "zero_dim"))
    (d / "negative.tflite").write_bytes(logistic((1, -3, 4), "negative_dim"))
    (d / "wide.tflite").write_bytes(logistic((1, 100_000, 4), "wide_dim"))
    (d / "huge.tflite").write_bytes(logistic((1, 2**31 - 1, 4), "huge_dim"))
    (d / "gigantic.tflite").write_bytes(logistic((1, 65535, 65535), "gigantic"))
    (d / "big_arena.tflite").write_bytes(logistic((1, 4096, 4096, 8), "big_act"))
    (d / "no_such_input.tflite").write_bytes(missing_input_tensor())
    (d / "golden_refuses.tflite").write_bytes(fc(4, 2, bias_scale=0.5))
    (d / "board_arena.tflite").write_bytes(logistic((1, 256, 256, 2), "wide_act"))
    (d / "board_flash.tflite").write_bytes(fc(2048, 1024))
    with open(d / "too_big.tflite", "wb") as f:
        f.truncate(MAX_FILE_BYTES + 1)  # sparse: no disk used
    os.mkfifo(d / "fifo.tflite")
    (d / "folder.tflite").mkdir()

    blob = good_blob()
    (d / "ok.mai").write_bytes(blob)
    (d / "empty.mai").write_bytes(b"")
    (d / "random.mai").write_bytes(rng.bytes(4096))
    (d / "truncated.mai").write_bytes(blob[:100])
    bad_crc = bytearray(blob)
    bad_crc[-1] ^= 0xFF
    (d / "bad_crc.mai").write_bytes(bytes(bad_crc))
    (d / "huge_arena.mai").write_bytes(with_header(blob, arena_size=0xFFFFFFFF))
    (d / "big_arena.mai").write_bytes(with_header(blob, arena_size=(64 << 20) + 16))

    np.save(d / "x.npy", np.zeros((1, 8), np.int8))
    np.save(d / "x_int64.npy", np.arange(8, dtype=np.int64).reshape(1, 8))
    np.save(d / "x_out_of_range.npy", np.full((1, 8), 300, np.int64))
    np.save(d / "x_shape.npy", np.zeros((1, 9), np.int8))
    np.save(d / "x_wide.npy", np.zeros((1, 256, 256, 2), np.int8))
    np.save(d / "x_float.npy", np.zeros((1, 8), np.float32))
    np.save(d / "x_complex.npy", np.zeros((1, 8), np.complex64))
    np.save(d / "x_object.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    np.savez(d / "x.npz", x=np.zeros((1, 8), np.int8))
    (d / "x_random.npy").write_bytes(rng.bytes(200))
    (d / "x_lies.npy").write_bytes(npy_header_only((10**12,)))
    (d / "x_short.npy").write_bytes(npy_header_only((1, 8)) + b"\x00" * 3)
    return d


# ---- running the CLI ------------------------------------------------------------------


def check_one_line(code: int, err: str, want_code: int, words: tuple[str, ...]) -> None:
    assert code == want_code, err
    assert "Traceback" not in err, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("microai: "), err
    print(f"exit {code}: {lines[0]}")  # pytest -s lists every message
    for w in words:
        assert w in lines[0], (w, lines[0])


@pytest.fixture
def microai(run_cli, monkeypatch, files):
    """microai(*args) -> (exit code, stderr), in this process, in the files' folder;
    building firmware fails the test (bad inputs are found before any build)."""

    def no_build(*a, **k):
        raise AssertionError("firmware.build called for a bad input")

    monkeypatch.setattr(firmware, "build", no_build)
    monkeypatch.setattr("microai.hil.build", no_build)
    monkeypatch.chdir(files)

    def run(*args: str) -> tuple[int, str]:
        code, _, err = run_cli(*args)
        return code, err

    return run


def run_bounded(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    """The CLI in a subprocess with at most MEMORY_LIMIT bytes of address space."""

    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))

    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    env.pop("MICROAI_DEBUG", None)
    return subprocess.run(
        [sys.executable, "-c", "import sys; from microai.cli import run; run(sys.argv[1:])", *args],
        cwd=cwd,
        env=env,
        preexec_fn=limit,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


# ---- the cases ------------------------------------------------------------------------

CASES = {
    # convert: files
    "missing file": (["convert", "nope.tflite"], EXIT_INPUT, ("nope.tflite", "no such file")),
    "empty file": (["convert", "empty.tflite"], EXIT_INPUT, ("empty.tflite", "empty file")),
    "random bytes": (["convert", "random.tflite"], EXIT_INPUT, ("not a TFLite model",)),
    "random with TFL3": (
        ["convert", "random_tfl3.tflite"],
        EXIT_INPUT,
        ("random_tfl3.tflite", "malformed TFLite model"),
    ),
    "truncated model": (
        ["convert", "truncated.tflite"],
        EXIT_INPUT,
        ("truncated.tflite", "malformed TFLite model, truncated or corrupt (struct.error"),
    ),
    "a folder": (["convert", "folder.tflite"], EXIT_INPUT, ("folder.tflite", "a folder")),
    "over 64 MiB": (["convert", "too_big.tflite"], EXIT_INPUT, ("too_big.tflite", "at most")),
    # convert: shapes
    "zero dim": (["convert", "zero.tflite"], EXIT_INPUT, ("'zero_dim'", "[1, 0, 4]", ">= 1")),
    "negative dim": (
        ["convert", "negative.tflite"],
        EXIT_INPUT,
        ("'negative_dim'", "a dimension of -3"),
    ),
    "dim over 65535": (["convert", "wide.tflite"], EXIT_INPUT, ("'wide_dim'", "65,535")),
    "dim over 2**31": (["convert", "huge.tflite"], EXIT_INPUT, ("'huge_dim'", "2,147,483,647")),
    "4 GiB tensor": (["convert", "gigantic.tflite"], EXIT_INPUT, ("'gigantic'", "per tensor")),
    "arena over 64 MiB": (
        ["convert", "big_arena.tflite"],
        EXIT_INPUT,
        ("big_arena.tflite", "needs an arena of", "[1, 4096, 4096, 8]"),
    ),
    "graph input missing": (
        ["convert", "no_such_input.tflite"],
        EXIT_INPUT,
        ("input tensor 99 does not exist",),
    ),
    "unsupported op": (
        ["convert", str(FIXTURES / "unsupported_op.tflite"), "-o", "u.mai"],
        EXIT_INPUT,
        ("unsupported op(s): SUB (op", "; supported ops: "),
    ),
    # convert: output
    "output folder missing": (
        ["convert", "ok.tflite", "-o", "no/such/folder/ok.mai"],
        EXIT_INPUT,
        ("no/such/folder/ok.mai", "does not exist"),
    ),
    "output is a folder": (
        ["convert", "ok.tflite", "-o", "folder.tflite"],
        EXIT_INPUT,
        ("folder.tflite", "it is a folder"),
    ),
    "output is a device": (
        ["convert", "ok.tflite", "-o", "/dev/null"],
        EXIT_INPUT,
        ("/dev/null", "not a regular file"),
    ),
    # inspect
    "blob missing": (["inspect", "nope.mai"], EXIT_INPUT, ("nope.mai", "no such file")),
    "blob empty": (["inspect", "empty.mai"], EXIT_INPUT, ("empty.mai", "empty file")),
    "blob random": (["inspect", "random.mai"], EXIT_INPUT, ("random.mai", "bad magic")),
    "blob truncated": (["inspect", "truncated.mai"], EXIT_INPUT, ("truncated.mai", "truncated")),
    "blob bad CRC": (["inspect", "bad_crc.mai"], EXIT_INPUT, ("bad_crc.mai", "CRC")),
    "blob a folder": (["inspect", "folder.tflite"], EXIT_INPUT, ("a folder",)),
    "blob arena over 64 MiB": (
        ["inspect", "big_arena.mai"],
        EXIT_INPUT,
        ("big_arena.mai", "arena_size is 67,108,880 bytes"),
    ),
    # verify
    "TFLite-Micro refuses": (
        ["verify", "golden_refuses.tflite", "--inputs", "1"],
        EXIT_INPUT,
        (
            "golden_refuses.tflite",
            "TFLite-Micro's interpreter refused the model: ",
            "scale_diff",
            "try --golden litert",
        ),
    ),
    "LiteRT refuses": (
        ["verify", "golden_refuses.tflite", "--inputs", "1", "--golden", "litert"],
        EXIT_INPUT,
        (
            "golden_refuses.tflite",
            "LiteRT's reference interpreter refused the model: ",
            "try --golden tflm",
        ),
    ),
    "unknown golden": (
        ["verify", "ok.tflite", "--golden", "xnnpack"],
        EXIT_USAGE,
        ("--golden", "'xnnpack' is not one of 'tflm', 'litert'"),
    ),
    "convert unknown golden": (
        ["convert", "ok.tflite", "--golden", "LiteRT"],
        EXIT_USAGE,
        ("--golden",),
    ),
    "npy missing": (
        ["verify", "ok.tflite", "--input", "nope.npy"],
        EXIT_INPUT,
        ("nope.npy", "no such file"),
    ),
    "npy random": (
        ["verify", "ok.tflite", "--input", "x_random.npy"],
        EXIT_INPUT,
        ("x_random.npy",),
    ),
    "npy shape": (
        ["verify", "ok.tflite", "--input", "x_shape.npy"],
        EXIT_INPUT,
        ("x_shape.npy", "shape [1, 9]", "[1, 8]"),
    ),
    "npy float for int8": (
        ["verify", "ok.tflite", "--input", "x_float.npy"],
        EXIT_INPUT,
        ("x_float.npy", "float32", "int8"),
    ),
    "npy out of int8": (
        ["verify", "ok.tflite", "--input", "x_out_of_range.npy"],
        EXIT_INPUT,
        ("x_out_of_range.npy", "300..300"),
    ),
    "npy complex": (
        ["verify", "ok.tflite", "--input", "x_complex.npy"],
        EXIT_INPUT,
        ("x_complex.npy", "complex64"),
    ),
    "npy pickle": (
        ["verify", "ok.tflite", "--input", "x_object.npy"],
        EXIT_INPUT,
        ("x_object.npy", "object"),
    ),
    "npz": (["verify", "ok.tflite", "--input", "x.npz"], EXIT_INPUT, ("x.npz", "not a .npy")),
    "npy short": (
        ["verify", "ok.tflite", "--input", "x_short.npy"],
        EXIT_INPUT,
        ("x_short.npy", "8 bytes", "holds 3 bytes"),
    ),
    # usage
    "negative --inputs": (["verify", "ok.tflite", "--inputs", "-1"], EXIT_USAGE, ("--inputs",)),
    "unknown command": (["convrt", "ok.tflite"], EXIT_USAGE, ("convrt",)),
    "missing argument": (["convert"], EXIT_USAGE, ("MODEL",)),
    "deploy --name not a name": (
        ["deploy", "ok.mai", "--port", "/dev/null", "--name", "1x"],
        EXIT_USAGE,
        ("'--name'", "'1x' is not a Python name"),
    ),
    # boards: refused before anything is built
    "unknown board": (
        ["hil", "ok.tflite", "--board", "NOPE", "--inputs", "1"],
        EXIT_TARGET,
        ("unknown board 'NOPE'",),
    ),
    "hil arena too big": (
        ["hil", "board_arena.tflite", "--board", "QEMU_STM32F405", "--inputs", "1"],
        EXIT_TARGET,
        ("arena of 131,072 bytes", "QEMU_STM32F405 has 65,536", "arena_bytes"),
    ),
    "hil TFLite-Micro refuses": (
        ["hil", "golden_refuses.tflite", "--board", "QEMU_STM32F405", "--inputs", "1"],
        EXIT_INPUT,
        ("TFLite-Micro's interpreter refused the model: ", "try --golden litert"),
    ),
    "hil LiteRT refuses": (
        ["hil", "golden_refuses.tflite", "--inputs", "1", "--golden", "litert"],
        EXIT_INPUT,
        ("LiteRT's reference interpreter refused the model: ", "try --golden tflm"),
    ),
    "hil npy shape": (
        ["hil", "ok.tflite", "--input", "x_shape.npy", "--inputs", "0"],
        EXIT_INPUT,
        ("x_shape.npy", "shape [1, 9]"),
    ),
    "hil forced upload too big": (
        ["hil", "board_flash.tflite", "--board", "QEMU_STM32F205", "--upload"],
        EXIT_TARGET,
        ("49,152 bytes of RAM", "heap_bytes"),
    ),
    "run npy shape": (
        ["run", "ok.mai", "--input", "x_shape.npy"],
        EXIT_INPUT,
        ("x_shape.npy", "shape [1, 9]"),
    ),
    "run npy for another model": (
        ["run", "board_arena.tflite", "--board", "QEMU_STM32F205", "--input", "x.npy"],
        EXIT_INPUT,
        ("x.npy", "[1, 256, 256, 2]"),
    ),
    "run arena too big": (
        ["run", "board_arena.tflite", "--board", "QEMU_STM32F205", "--input", "x_wide.npy"],
        EXIT_TARGET,
        ("arena of 131,072 bytes", "QEMU_STM32F205 has 61,440"),
    ),
    "deploy flash too small": (
        ["deploy", "board_flash.tflite", "--board", "QEMU_STM32F205"],
        EXIT_TARGET,
        ("QEMU_STM32F205 has 720,896 bytes of flash", "flash_bytes - firmware_bytes"),
    ),
    "deploy bad blob": (
        ["deploy", "random.mai", "--board", "QEMU_STM32F205"],
        EXIT_INPUT,
        ("random.mai", "bad magic"),
    ),
    "firmware arena too big": (
        ["firmware", "--board", "QEMU_STM32F205", "--model", "board_arena.tflite"],
        EXIT_TARGET,
        ("QEMU_STM32F205 has 61,440", "arena_bytes"),
    ),
    "emulate bad model": (
        ["emulate", "--board", "QEMU_M7", "--model", "truncated.tflite"],
        EXIT_INPUT,
        ("truncated.tflite",),
    ),
}


@pytest.mark.parametrize("args, code, words", list(CASES.values()), ids=list(CASES))
def test_bad_input_gives_one_line(microai, args, code, words):
    check_one_line(*microai(*args), code, words)


def test_good_inputs_still_work(microai, files):
    """The same helpers pass what is right: a blob, an int8 .npy, int64 values in range."""
    assert microai("convert", "ok.tflite", "-o", "out.mai")[0] == 0
    assert (files / "out.mai").read_bytes() == (files / "ok.mai").read_bytes()
    assert not list(files.glob(".*.tmp"))
    assert microai("inspect", "out.mai")[0] == 0
    for x in ("x.npy", "x_int64.npy"):
        code, err = microai("verify", "ok.tflite", "--inputs", "0", "--input", x)
        assert code == 0, err


def test_output_not_written_on_error(microai, files):
    check_one_line(*microai("convert", "zero.tflite", "-o", "zero.mai"), EXIT_INPUT, ())
    assert not (files / "zero.mai").exists() and not list(files.glob(".*.tmp"))


def test_unexpected_exception_is_one_line(microai, monkeypatch):
    """A bug below the CLI is still one line (and exit 70), not a traceback."""

    def boom(*a, **k):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr("microai.convert.convert", boom)
    check_one_line(
        *microai("convert", "ok.tflite"), EXIT_INTERNAL, ("internal error", "ZeroDivisionError")
    )


def test_tensor_names_cannot_reach_the_terminal(microai, files):
    """A tensor name with a newline and an escape sequence stays on one escaped line."""
    (files / "evil.tflite").write_bytes(logistic((1, 0), "evil\n\x1b[2Jname"))
    code, err = microai("convert", "evil.tflite")
    check_one_line(code, err, EXIT_INPUT, ("evil; \\x1b[2Jname",))
    assert "\x1b" not in err


def test_lowering_surprise_names_the_op(monkeypatch, files):
    """A lowering that fails with a numpy/arithmetic error is a ConvertError naming the op."""
    from microai import ops
    from microai.convert import convert
    from microai.ir import ConvertError

    def broken(graph, op, golden):
        raise ValueError("negative dimensions are not allowed")

    monkeypatch.setitem(ops.LOWERINGS, "LOGISTIC", broken)
    with pytest.raises(ConvertError, match=r"^ok.tflite: LOGISTIC \(op 0; .*ValueError"):
        convert((files / "ok.tflite").read_bytes(), "ok.tflite")


# ---- bounded memory: subprocesses under a 2 GiB address-space limit ---------------------

BOUNDED = {
    "convert /dev/zero": (["convert", "/dev/zero"], ("/dev/zero", "not a regular file")),
    "inspect /dev/zero": (["inspect", "/dev/zero"], ("/dev/zero", "not a regular file")),
    "verify --input /dev/zero": (
        ["verify", "ok.tflite", "--input", "/dev/zero"],
        ("/dev/zero", "not a regular file"),
    ),
    "convert a FIFO": (["convert", "fifo.tflite"], ("fifo.tflite", "FIFO")),
    "inspect 4 GiB arena": (
        ["inspect", "huge_arena.mai"],
        ("huge_arena.mai", "arena_size is 4,294,967,295 bytes", "at most 67,108,864"),
    ),
    "npy claiming 1 TB": (
        ["verify", "ok.tflite", "--input", "x_lies.npy"],
        ("x_lies.npy", "1,000,000,000,000 bytes", "holds 0 bytes"),
    ),
    "convert 4 GiB tensor": (["convert", "gigantic.tflite"], ("'gigantic'",)),
}


@pytest.mark.parametrize("args, words", list(BOUNDED.values()), ids=list(BOUNDED))
def test_bad_input_in_bounded_memory(files, args, words):
    r = run_bounded(files, *args)
    check_one_line(r.returncode, r.stderr, EXIT_INPUT, words)
    assert "MemoryError" not in r.stderr


def test_bounded_runner_reads_good_inputs(files):
    """The limit leaves room for a real run: the bounded cases fail for their input."""
    r = run_bounded(files, "verify", "ok.tflite", "--inputs", "2", "--input", "x.npy")
    assert r.returncode == 0, r.stderr


def test_readme_lists_every_exit_code():
    """README.md's "Exit codes" table and microai/__init__.py's EXIT_* agree."""
    import re

    import microai

    text = (ROOT / "README.md").read_text()
    table = text.split("### Exit codes", 1)[1].split("\n\n", 2)[1]
    in_readme = {int(m) for m in re.findall(r"^\| (\d+) \|", table, flags=re.M)}
    in_code = {v for k, v in vars(microai).items() if k.startswith("EXIT_")}
    assert in_readme == in_code
