"""Firmware builds: what the board description turns into, and boards we cannot build."""

import pytest

from microai.boards import load_board
from microai.firmware import FirmwareError, board_header, build, make_command, micropython_dir


def test_board_header_carries_board_json():
    b = load_board("QEMU_STM32F405")
    h = board_header(b)
    assert '#define MICROAI_BOARD_NAME "QEMU_STM32F405"' in h
    assert '#define MICROAI_MCU_NAME "STM32F405"' in h
    assert "#define MICROAI_ARENA_SIZE (65536)" in h
    assert 'section(".microai_arena")' in h
    assert "section(" not in board_header(load_board("QEMU_STM32F205"))


def test_make_command_for_qemu_board():
    b = load_board("QEMU_STM32F205")
    cmd = make_command(b, micropython_dir(), jobs=2)
    assert cmd[:3] == ["make", "-C", str(micropython_dir() / "ports" / "qemu")]
    assert f"BOARD_DIR={b.dir}" in cmd
    assert f"MICROPY_HEAP_SIZE={b.heap_bytes}" in cmd
    assert "MICROAI_CPU=cortex-m3" in cmd
    assert "FROZEN_MANIFEST=" in cmd


@pytest.mark.parametrize("name", ["NUCLEO_F446RE", "NUCLEO_H743ZI"])
def test_stm32_board_without_mpy_dir_says_what_to_clone(name, monkeypatch):
    monkeypatch.delenv("MPY_DIR", raising=False)
    with pytest.raises(FirmwareError) as e:
        build(load_board(name))
    msg = str(e.value)
    assert "git clone https://github.com/micropython/micropython.git" in msg
    assert "git checkout v1.25.0" in msg
    assert f"make -C ports/stm32 BOARD={name} submodules" in msg
    assert f"make firmware BOARD={name} MPY_DIR=" in msg


def test_stm32_board_with_debian_source_has_no_hal(monkeypatch):
    # The Debian source tree is a MicroPython tree, but its lib/stm32lib is empty.
    monkeypatch.setenv("MPY_DIR", str(micropython_dir()))
    with pytest.raises(FirmwareError, match="empty .*stm32lib"):
        build(load_board("NUCLEO_F446RE"))


def test_mpy_dir_must_be_micropython(tmp_path, monkeypatch):
    monkeypatch.setenv("MPY_DIR", str(tmp_path))
    with pytest.raises(FirmwareError, match="not a MicroPython source tree"):
        build(load_board("unix"))


@pytest.mark.parametrize("name", ["QEMU_STM32F405", "QEMU_STM32F205", "QEMU_M7"])
def test_no_64_bit_division_helpers(firmware, name):
    """microai's C (the core and the module) divides in 32 bits: a libgcc 64-bit
    division helper costs cycles. (LittleFS's timestamps, for the emulated boards' RAM
    filesystem, do bring one in; its unwind index has a place in each board's linker
    script.) The firmware links, and fits the flash board.json says it takes."""
    import shutil
    import subprocess

    board, fw = firmware(name)
    nm, size = shutil.which("arm-none-eabi-nm"), shutil.which("arm-none-eabi-size")
    objects = sorted((fw.parent / "microai").rglob("*.o"))
    assert objects
    for obj in objects:
        undefined = subprocess.run(
            [nm, "-u", str(obj)], capture_output=True, text=True, check=True
        ).stdout
        assert "__aeabi_uldivmod" not in undefined and "__aeabi_ldivmod" not in undefined, obj
    text, data = (
        subprocess.run([size, str(fw)], capture_output=True, text=True, check=True)
        .stdout.splitlines()[1]
        .split()[:2]
    )
    assert int(text) + int(data) <= board.firmware_bytes


def test_build_progress_on_a_terminal(monkeypatch):
    """On a terminal, make's output becomes one status line on stderr (what it compiles,
    how many files so far); the output is still collected for an error message. Off a
    terminal, nothing is printed."""
    import io
    import os

    from microai.firmware import _make_with_progress

    class Tty(io.StringIO):
        def isatty(self):
            return True

    cmd = ["sh", "-c", "echo CC a.c; sleep 0.3; echo CC b.c; sleep 0.3; echo LINK fw.elf"]
    tty = Tty()
    monkeypatch.setattr("sys.stderr", tty)
    proc, out = _make_with_progress(cmd, dict(os.environ), "QEMU_X")
    assert proc.returncode == 0 and out.splitlines() == ["CC a.c", "CC b.c", "LINK fw.elf"]
    assert "building firmware for QEMU_X" in tty.getvalue()
    pipe = io.StringIO()
    monkeypatch.setattr("sys.stderr", pipe)
    proc, out = _make_with_progress(["sh", "-c", "echo CC a.c; exit 2"], dict(os.environ), "X")
    assert proc.returncode == 2 and out == "CC a.c\n" and pipe.getvalue() == ""


def test_deploy_board_and_emulate_model_build_one_image(tmp_path, monkeypatch):
    """`deploy M --board B` freezes the model under the name `emulate --board B --model M`
    gives it, with the same bytes: one firmware image, which emulate then boots without
    a rebuild; the message says how."""
    from click.testing import CliRunner

    from microai import cli, firmware
    from microai.boards import load_board
    from microai.convert import convert
    from microai.paths import ROOT

    seen = []

    def fake_build(board, models=None, **kw):
        seen.append(models)
        return tmp_path / "firmware.elf"

    monkeypatch.setattr(firmware, "build", fake_build)
    model = tmp_path / "my-digits.mai"
    digits = ROOT / "tests" / "fixtures" / "models" / "digits_cnn.tflite"
    model.write_bytes(convert(digits.read_bytes(), "digits").blob)
    r = CliRunner().invoke(cli.main, ["deploy", str(model), "--board", "QEMU_M7"])
    assert r.exit_code == 0, r.output
    assert f"microai emulate --board QEMU_M7 --model {model}" in r.output
    assert seen[0] == cli._frozen((model,), load_board("QEMU_M7"))
    assert seen[0][0][0] == "my_digits"
    r = CliRunner().invoke(cli.main, ["deploy", str(model), "--board", "QEMU_M7", "--name", "kw"])
    assert r.exit_code == 0 and seen[1][0][0] == "kw"


def test_a_reconfigured_build_folder_starts_afresh(tmp_path):
    """make does not rebuild what new flags change (MicroPython's generated qstrs): a
    build folder whose board files or make variables changed is emptied first, its lock
    kept; an unchanged one is left alone."""
    from microai.firmware import _start_afresh_if_reconfigured

    (tmp_path / ".lock").write_text("")
    (tmp_path / "genhdr").mkdir()
    (tmp_path / "genhdr" / "qstrdefs.h").write_text("old")
    (tmp_path / "firmware.elf").write_text("old")
    _start_afresh_if_reconfigured(tmp_path, "config 1")
    assert sorted(p.name for p in tmp_path.iterdir()) == [".configuration", ".lock"]
    (tmp_path / "firmware.elf").write_text("new")
    _start_afresh_if_reconfigured(tmp_path, "config 1")
    assert (tmp_path / "firmware.elf").read_text() == "new"
    _start_afresh_if_reconfigured(tmp_path, "config 2")
    assert not (tmp_path / "firmware.elf").exists()
    assert (tmp_path / ".configuration").read_text() == "config 2"
