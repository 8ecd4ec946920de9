"""board.json: every board loads, and a broken one is named with the field at fault."""

import json

import pytest

from microai.boards import DEFAULT_BOARD, BoardError, board_names, load_board

GOOD = {
    "name": "B",
    "description": "test board",
    "port": "qemu",
    "mcu": "STM32F405",
    "cpu": "cortex-m4",
    "dsp": True,
    "flash_bytes": 1048576,
    "ram_bytes": 131072,
    "heap_bytes": 65536,
    "arena_bytes": 32768,
    "flash": "-",
    "emulator": {"qemu": "qemu-system-arm", "machine": "netduinoplus2"},
}


ENERGY = {"run_ua_per_mhz": 200.0, "supply_v": 3.3, "cpi": 1.25, "source": "a datasheet"}


def write_board(tmp_path, **changes):
    data = {**GOOD, **changes}
    data = {k: v for k, v in data.items() if v is not ...}
    (tmp_path / "B").mkdir()
    (tmp_path / "B" / "board.json").write_text(json.dumps(data))
    return tmp_path


def test_all_boards_load():
    names = board_names()
    for required in (
        "unix",
        "QEMU_STM32F405",
        "QEMU_STM32F205",
        "QEMU_M7",
        "NUCLEO_F446RE",
        "NUCLEO_H743ZI",
    ):
        assert required in names
    for name in names:
        board = load_board(name)
        assert board.name == name
        assert board.arena_bytes % 16 == 0
    assert DEFAULT_BOARD == "QEMU_STM32F405"
    assert load_board(DEFAULT_BOARD).emulator["machine"] == "netduinoplus2"


def test_emulated_boards_fit_their_ram():
    for name in board_names():
        b = load_board(name)
        if b.emulated and b.ram_bytes:
            assert b.heap_bytes + b.arena_bytes < b.ram_bytes, name


def test_good_board(tmp_path):
    board = load_board("B", write_board(tmp_path))
    assert board.emulated and board.dsp and board.arena_bytes == 32768


def test_unknown_board_lists_known_ones():
    with pytest.raises(BoardError, match=r"unknown board 'NOPE'.*QEMU_STM32F405"):
        load_board("NOPE")


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"cpu": ...}, r"missing field 'cpu'"),
        ({"arena_bytes": "64K"}, r"'arena_bytes' must be int, not '64K'"),
        ({"arena_bytes": True}, r"'arena_bytes' must be int"),
        ({"arena_bytes": 1000}, r"'arena_bytes' must be a positive multiple of 16"),
        ({"dsp": 1}, r"'dsp' must be bool"),
        ({"port": "esp32"}, r"'port' must be one of unix, qemu, stm32"),
        ({"name": "C"}, r"'name' is 'C' but the folder is 'B'"),
        ({"emulator": ...}, r"a qemu board needs 'emulator'"),
        ({"heap_bytes": None}, r"a qemu board needs 'heap_bytes'"),
        ({"ram": 5}, r"unknown field\(s\) ram"),
        ({"port": "stm32", "emulator": ...}, r"an stm32 board needs 'mpy_board'"),
        ({"energy": {**ENERGY, "cpi": 0}}, r"energy\['cpi'\] must be a positive number"),
        ({"energy": {**ENERGY, "supply_v": "3V3"}}, r"energy\['supply_v'\] must be a positive"),
        ({"energy": {**ENERGY, "source": 1}}, r"energy\['source'\] must be text"),
        ({"energy": {**ENERGY, "mA": 40}}, r"energy: unknown field\(s\) mA"),
    ],
)
def test_bad_board_names_file_and_field(tmp_path, changes, message):
    with pytest.raises(BoardError, match=message) as e:
        load_board("B", write_board(tmp_path, **changes))
    assert str(tmp_path / "B" / "board.json") in str(e.value)


def test_bad_json(tmp_path):
    (tmp_path / "B").mkdir()
    (tmp_path / "B" / "board.json").write_text("{'name': 'B',}")
    with pytest.raises(BoardError, match="not valid JSON"):
        load_board("B", tmp_path)


def test_energy_estimate(tmp_path):
    """E = instructions x cpi x V x µA/MHz x 1e-6 µJ: the clock cancels out."""
    board = load_board("B", write_board(tmp_path, energy=ENERGY))
    assert board.energy_uj(1_000_000) == pytest.approx(1e6 * 1.25 * 3.3 * 200.0 * 1e-6)
    assert board.energy_uj(None) is None
    assert load_board("unix").energy_uj(1000) is None
    for name in ("QEMU_STM32F405", "QEMU_STM32F205", "NUCLEO_F446RE", "NUCLEO_H743ZI"):
        e = load_board(name).energy
        assert e and "source" in e, name
