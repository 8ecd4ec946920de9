"""Hardware-in-the-loop over serial on the emulated STM32F405 and STM32F205: models run
on the board bit-exact with the host engine, and a bad line or a board that resets
gives a clear error on the host, with nothing half-written accepted."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from microai.blob import read_header
from microai.boards import load_board
from microai.convert import convert
from microai.device import DeviceError, connect
from microai.device.transport import Transport
from microai.device.upload import upload
from microai.hil import hil
from microai.paths import ROOT

FIXTURES = ROOT / "tests" / "fixtures" / "models"
SHARED = ROOT.parent / "shared" / "models"


@pytest.mark.parametrize("board", ["QEMU_STM32F405", "QEMU_STM32F205"])
def test_digits_bit_exact_on_board(board):
    r = hil(
        (FIXTURES / "digits_cnn.tflite").read_bytes(),
        board,
        n_inputs=4,
        seed=3,
        name="digits_cnn.tflite",
    )
    assert r["mismatches"] == 0 and r["reference_mismatches"] == 0, r["first_mismatch"]
    assert r["placement"] == "upload"
    assert r["instructions"] and r["instructions"] > 0
    assert all(L["instructions"] for L in r["layers"])
    # The energy estimate: instructions x the board's CPI, volts and µA/MHz.
    want = load_board(board).energy_uj(r["instructions"])
    assert r["energy_uj_estimate"] == pytest.approx(want, abs=0.1) and want > 0


@pytest.mark.skipif(not SHARED.is_dir(), reason="shared/models not beside the repo")
def test_frozen_model_on_f205_via_cli():
    """kws_ref_model's blob is too big for the F205's heap: it is frozen into flash."""
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "microai",
            "hil",
            str(SHARED / "kws_ref_model.tflite"),
            "--board",
            "QEMU_STM32F205",
            "--inputs",
            "2",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["placement"] == "frozen" and out["mismatches"] == 0
    assert out["first_mismatch"] is None
    for key in ("instructions", "arena_bytes", "blob_bytes"):
        assert out[key] > 0


@pytest.mark.parametrize("board", ["QEMU_STM32F405", "QEMU_M7"])
def test_every_fixture_on_board(board):
    """Every op, with its awkward cases, on a Cortex-M4 and a Cortex-M7."""
    for path in sorted(FIXTURES.glob("cov_*.tflite")):
        r = hil(path.read_bytes(), board, n_inputs=2, seed=4, name=path.name, count=False)
        assert r["mismatches"] == 0 and r["reference_mismatches"] == 0, (path.name, r)


class Garbling(Transport):
    """Corrupts the base64 of the first `n` chunks sent (as garbage on a line would)."""

    def __init__(self, inner: Transport, n: int):
        self.inner, self.n, self.name = inner, n, inner.name

    def exec(self, code: str, timeout: float = 10.0) -> str:
        if self.n and "a2b_base64('" in code:
            self.n -= 1
            i = code.index("a2b_base64('") + len("a2b_base64('")
            code = code[:i] + ("A" if code[i] != "A" else "B") + code[i + 1 :]
        return self.inner.exec(code, timeout)

    def close(self) -> None:
        self.inner.close()


@pytest.fixture
def board():
    with connect(board="QEMU_STM32F405") as t:
        yield t


BLOB = convert((FIXTURES / "digits_cnn.tflite").read_bytes()).blob


def test_corrupted_chunk_is_resent(board):
    upload(Garbling(board, 2), BLOB, "b")
    assert board.eval("__import__('microai').Model(b).arena_info()['blob_bytes']") == len(BLOB)


def test_persistently_corrupted_upload_is_abandoned(board):
    with pytest.raises(DeviceError, match="arrived corrupted 4 times"):
        upload(Garbling(board, 100), BLOB, "b")
    # Nothing half-written was bound to the name, and the board still answers.
    assert board.eval("b") is None
    assert board.eval("1 + 1") == 2


def test_board_reset_mid_upload_is_a_clear_error(board):
    class ResetAfterFirstChunk(Garbling):
        def exec(self, code, timeout=10.0):
            out = self.inner.exec(code, timeout)
            if "a2b_base64(" in code:  # the board resets without a word to the host
                try:
                    self.inner._t.exec_raw_no_follow("import machine\nmachine.reset()")
                except OSError:
                    pass  # a busy host may read after QEMU has gone: the upload must say so
            return out

    with pytest.raises(DeviceError, match="QEMU stopped"):
        upload(ResetAfterFirstChunk(board, 0), BLOB, "b")


def test_model_errors_on_board_keep_it_running(board):
    upload(board, BLOB, "b")
    with pytest.raises(DeviceError, match="wrong input size: input 0 takes 64 bytes, got 3"):
        board.exec("import microai\nm = microai.Model(b)\nm.run(b'abc')")
    need = read_header(BLOB)["arena_size"]  # what the host planned
    with pytest.raises(DeviceError, match=f"arena too small: the model needs {need} bytes"):
        board.exec("microai.Model(b, arena=bytearray(100))")
    with pytest.raises(DeviceError, match="CRC mismatch"):
        board.exec("c = bytearray(b); c[500] ^= 1; microai.Model(c)")
    x = np.zeros(64, np.int8).tobytes()
    assert board.eval(f"len(m.run({x!r}))") == 10


def test_unix_port_transport_and_hil():
    """The unix port is a board too: a MicroPython subprocess behind the same Transport."""
    from microai.device.transport import BoardException

    with connect(board="unix") as t:
        t.exec("x = 41")
        assert t.eval("x + 1") == 42  # state persists between calls
        with pytest.raises(BoardException, match="ZeroDivisionError"):
            t.exec("1 // 0")
        with pytest.raises(DeviceError, match="no answer within 0.5 s"):
            t.exec("while True: pass", timeout=0.5)
    r = hil(
        (FIXTURES / "cov_float_io.tflite").read_bytes(),
        "unix",
        n_inputs=3,
        name="cov_float_io.tflite",
    )
    assert r["mismatches"] == 0 and r["reference_mismatches"] == 0
