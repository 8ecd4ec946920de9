"""Weights prepared on the host for a board (layouts.py, passes/choose_layouts.py): the
layers whose inner loop they shorten on the board's core get them, most instructions
saved per flash byte first, within the bytes the board has for the blob; a recipe can
ask for them or keep a layer off them; `convert --board` and `inspect` show them; the
blob stays bit-exact."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from microai.boards import Target, load_board
from microai.convert import convert
from microai.engine import Model
from microai.ir import ConvertError
from microai.paths import ROOT
from microai.recipe import Recipe

DIGITS_PATH = ROOT / "tests" / "fixtures" / "models" / "digits_cnn.tflite"
DIGITS = DIGITS_PATH.read_bytes()
WIDE = ("CONV_PW_S8W16", "CONV_IM2COL_S8W16")


def _kernels(conv) -> list[str]:
    return [L.kernel for L in conv.layers if L.type == "CONV"]


def _same_outputs(a: bytes, b: bytes) -> None:
    x = np.random.default_rng(1).integers(-128, 128, (6, 1, 8, 8, 1), dtype=np.int8)
    with Model(a) as ma, Model(b) as mb:
        for xi in x:
            np.testing.assert_array_equal(ma.run(xi), mb.run(xi))


def test_dsp_board_gets_widened_weights_bit_exact():
    base = convert(DIGITS, "digits")
    wide = convert(DIGITS, "digits", target=Target.of(load_board("QEMU_STM32F405")))
    assert _kernels(base) == ["CONV_IM2COL_S8", "CONV_PW_S8"]
    assert _kernels(wide) == ["CONV_IM2COL_S8W16", "CONV_PW_S8W16"]
    assert len(wide.blob) > len(base.blob)
    assert wide.arena_size <= base.arena_size  # prepared in flash, nothing unpacked in RAM
    _same_outputs(base.blob, wide.blob)


def test_board_without_dsp_keeps_int8_weights():
    """On the Cortex-M3 a widened row costs the same instructions (LDRSH for LDRSB):
    nothing pays for the flash, so the blob is the portable one, byte for byte."""
    base = convert(DIGITS, "digits")
    m3 = convert(DIGITS, "digits", target=Target.of(load_board("QEMU_STM32F205")))
    assert m3.blob == base.blob


def test_budget_takes_the_best_layer_first():
    """The pointwise conv (16 -> 32 channels) saves 32,768 / 4 inner-loop instructions
    for 512 more bytes (16 a byte), the first conv (9 taps, padded to 12) 9,216 / 4 for
    240 (9.6 a byte): room for the pointwise one takes it alone; room for less takes
    the first conv, which still fits; room for neither, or a budget the blob is already
    over, changes nothing."""
    base = convert(DIGITS, "digits")
    n = len(base.blob)
    for room, want in (
        (512 + 240, ["CONV_IM2COL_S8W16", "CONV_PW_S8W16"]),
        (512, ["CONV_IM2COL_S8", "CONV_PW_S8W16"]),
        (511, ["CONV_IM2COL_S8W16", "CONV_PW_S8"]),
    ):
        got = convert(DIGITS, "digits", target=Target("t", True, n + room))
        assert _kernels(got) == want, room
        assert len(got.blob) <= n + room
    for budget in (n + 239, n, 100):
        assert convert(DIGITS, "digits", target=Target("t", True, budget)).blob == base.blob
    unbounded = convert(DIGITS, "digits", target=Target("t", True, None))
    assert _kernels(unbounded) == ["CONV_IM2COL_S8W16", "CONV_PW_S8W16"]


def test_recipe_overrides_the_choice():
    """A layer the recipe names keeps its algorithm on a DSP board; a widened one can be
    asked for without a board."""
    board = Target.of(load_board("QEMU_STM32F405"))
    keep = Recipe.from_dict({"layers": {"0": {"algorithm": "im2col"}}})
    assert _kernels(convert(DIGITS, "digits", recipe=keep, target=board)) == [
        "CONV_IM2COL_S8",
        "CONV_PW_S8W16",
    ]
    ask = Recipe.from_dict({"layers": {"0": {"algorithm": "im2col_wide"}}})
    asked = convert(DIGITS, "digits", recipe=ask)
    assert _kernels(asked) == ["CONV_IM2COL_S8W16", "CONV_PW_S8"]
    _same_outputs(convert(DIGITS, "digits").blob, asked.blob)


def test_widened_algorithm_a_layer_cannot_take():
    bad = Recipe.from_dict({"layers": {"0": {"algorithm": "pointwise_wide"}}})
    with pytest.raises(ConvertError, match=r"CONV_PW_S8W16: needs a 1x1 filter"):
        convert(DIGITS, "digits", recipe=bad)
    unknown = Recipe.from_dict({"layers": {"1": {"algorithm": "im2col_wide"}}})
    with pytest.raises(ConvertError, match=r"a DWCONV op has auto, 3x3, direct"):
        convert(DIGITS, "digits", recipe=unknown)


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "microai", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_cli_convert_for_a_board_and_inspect(tmp_path):
    out = tmp_path / "d.mai"
    r = _cli("convert", str(DIGITS_PATH), "--board", "QEMU_STM32F405", "-o", str(out))
    assert r.returncode == 0, r.stderr
    r = _cli("inspect", str(out), "--json")
    assert r.returncode == 0, r.stderr
    layers = json.loads(r.stdout)["layers"]
    assert [L["weights_layout"] for L in layers if L["op"] == "CONV"] == ["wide", "wide"]
    assert [L["weights_layout"] for L in layers if L["op"] == "DWCONV"] == ["standard"]
    r = _cli("inspect", str(DIGITS_PATH), "--board", "QEMU_STM32F405")
    assert r.returncode == 0 and "wide" in r.stdout, r.stderr
    r = _cli("convert", str(DIGITS_PATH), "--upload", "-o", str(out))
    assert r.returncode != 0 and "--upload needs --board" in r.stderr


def test_int4_weights_are_never_widened():
    """An int4 model for a DSP board keeps its int4 kernels: the user chose the flash."""
    from microai.compress import compress

    four = compress(DIGITS, "digits").model
    got = convert(four, "digits4", target=Target.of(load_board("QEMU_STM32F405")))
    assert _kernels(got) == ["CONV_IM2COL_S4", "CONV_PW_S4"]
    assert got.blob == convert(four, "digits4").blob


# ---- Winograd F(2x2, 3x3) -------------------------------------------------------------


def _conv3x3(shape, out_c: int) -> tuple[bytes, np.ndarray]:
    from test_kernels_conv import Conv, _conv_model

    return _conv_model(Conv(f"wino_{shape[-1]}_{out_c}", shape, out_c))


def test_winograd_where_it_pays():
    """cost.py's whole-layer model: a 3x3 layer with 32 channels in and out gets
    Winograd's weights on both cores (1.4x and 1.7x fewer instructions measured), one
    with 3 input channels keeps the direct kernel (widened on the M4: Winograd's input
    transform costs more than it saves there); the blobs stay bit-exact."""
    m4 = Target.of(load_board("QEMU_STM32F405"))
    m3 = Target.of(load_board("QEMU_STM32F205"))
    model, x = _conv3x3((1, 16, 16, 32), 32)
    base = convert(model, "wino")
    for target in (m4, m3):
        got = convert(model, "wino", target=target)
        assert _kernels(got) == ["CONV_WINOGRAD_3X3_S8"], target.name
        with Model(base.blob) as a, Model(got.blob) as b:
            np.testing.assert_array_equal(a.run(x), b.run(x))
    thin, _ = _conv3x3((1, 32, 32, 3), 16)
    assert _kernels(convert(thin, "thin", target=m4)) == ["CONV_IM2COL_S8W16"]


def test_winograd_within_the_budget():
    """Winograd's weights are 3.56x int8's, widened ones 2x: with room for the widened
    ones only, the layer gets those; with room for Winograd's, the upgrade; the blob
    never passes the budget."""
    model, _ = _conv3x3((1, 16, 16, 32), 32)
    n = len(convert(model, "wino").blob)
    ask = Recipe.from_dict({"layers": {"0": {"algorithm": "im2col_wide"}}})
    wide = len(convert(model, "wino", recipe=ask).blob)
    for room, want in (
        (wide - n, ["CONV_IM2COL_S8W16"]),
        (None, ["CONV_WINOGRAD_3X3_S8"]),
        (0, ["CONV_IM2COL_S8"]),
    ):
        budget = None if room is None else n + room
        got = convert(model, "wino", target=Target("t", True, budget))
        assert _kernels(got) == want, room
        assert budget is None or len(got.blob) <= budget


def test_recipe_keeps_a_layer_off_winograd():
    model, _ = _conv3x3((1, 16, 16, 32), 32)
    keep = Recipe.from_dict({"layers": {"0": {"algorithm": "im2col"}}})
    board = Target.of(load_board("QEMU_STM32F405"))
    assert _kernels(convert(model, "wino", recipe=keep, target=board)) == ["CONV_IM2COL_S8"]


def test_cli_recipe_winograd_and_inspect(tmp_path):
    """`convert --recipe` forces Winograd on a layer; `inspect` shows its layout and its
    flash (32 bytes an output channel per 4 input channels: 3.56x int8's)."""
    recipe = tmp_path / "r.json"
    recipe.write_text(json.dumps({"layers": {"0": {"algorithm": "winograd"}}}))
    out = tmp_path / "w.mai"
    r = _cli("convert", str(DIGITS_PATH), "--recipe", str(recipe), "-o", str(out))
    assert r.returncode == 0, r.stderr
    r = _cli("inspect", str(out), "--json")
    assert r.returncode == 0, r.stderr
    first = json.loads(r.stdout)["layers"][0]
    assert (first["kernel"], first["weights_layout"]) == ("CONV_WINOGRAD_3X3_S8", "winograd")
    # 16 outputs x 16 elements x 4 (1 input channel padded) x 2 bytes, + bias and
    # requantization arrays (3 x 16 int32)
    assert first["weight_bytes"] >= 16 * 16 * 4 * 2 + 3 * 16 * 4
    recipe.write_text(json.dumps({"layers": {"2": {"algorithm": "winograd"}}}))
    r = _cli("convert", str(DIGITS_PATH), "--recipe", str(recipe), "-o", str(out))
    assert r.returncode != 0 and "needs a 3x3 filter, stride 1, dilation 1" in r.stderr
    assert "Traceback" not in r.stderr
