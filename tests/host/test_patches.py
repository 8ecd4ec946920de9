"""Patch-based execution (passes/patches.py): the first stage run band by band, every
band's rows bit-exact with the golden's layer, the arena smaller, on the host and on
the boards; recipes asking for a split that cannot be made refused in one line."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import tflite

from microai.convert import Compilation, convert
from microai.hil import hil
from microai.ir import ConvertError
from microai.passes import aliases, patches
from microai.paths import ROOT
from microai.recipe import Recipe, RecipeError
from microai.tflite import read_model
from microai.verify import verify

FIXTURES = ROOT / "tests" / "fixtures" / "models"
SHARED = ROOT.parent / "shared" / "models"
RESNET = SHARED / "pretrainedResnet_quant.tflite"
TFLM_RESNET_ARENA = 55_984  # DESIGN.md

# Models whose first ops form stages: strides, dilations, both paddings, depth
# multipliers, a PAD folded into its conv, int4 and block-sparse weights.
MODELS = [
    "cov_conv",
    "cov_dwconv",
    "cov_pertensor",
    "digits_cnn",
    "digits_int4_aeq",
    "digits_sparse",
    "int4_odd",
    "pad_mobilenet",
]
LITERT = {"digits_int4_aeq", "digits_sparse", "int4_odd"}  # TFLite-Micro refuses them


def _stages(model: bytes) -> list[tuple[int, int]]:
    """(op index in the .tflite, output rows) of each stage's last op."""
    c = aliases.run(Compilation(read_model(model, "m"), "m", "tflm"))
    return [(c.ops[k].index, c.graph.t(c.ops[k].outputs[0]).shape[1]) for k in patches.stages(c)]


def _recipe(through, bands: int) -> Recipe:
    return Recipe.from_dict({"patches": {"through": through, "bands": bands}})


@pytest.mark.parametrize("name", MODELS)
def test_bands_are_bit_exact(name):
    model = (FIXTURES / f"{name}.tflite").read_bytes()
    stages = _stages(model)
    assert stages, f"{name} has no stage"
    plain = convert(model, name)
    for through, rows in stages:
        if rows < 2:
            continue  # nothing to split (refused: test_a_split_microai_cannot_make...)
        for bands in sorted({2, min(5, rows), rows} - {0, 1}):
            golden = "litert" if name in LITERT else "tflm"
            r = verify(model, 2, 1, name=name, golden=golden, recipe=_recipe(through, bands))
            assert r["mismatches"] == 0, (through, bands, r["first_mismatch"])
            assert r["patches"]["through"] == through and r["patches"]["bands"] == bands
            # Fewer MACs is possible: rows of an inner tensor no band reads (a stride-2
            # VALID layer's last) are never computed.
            assert isinstance(r["patches"]["extra_macs"], int)
            assert len(r["layers"]) > len(plain.layers)  # one op per layer and band
            # Each band op is checked against its rows of the golden's tensor.
            assert any("[" in L["name"] for L in r["layers"])


@pytest.mark.skipif(not RESNET.is_file(), reason="shared/models not beside the repo")
def test_resnet_auto_patches():
    """ResNet-8's first residual stage holds three 32x32x16 tensors at once; in bands
    its arena is below 0.6x TFLite-Micro's, recomputing at most a tenth of its MACs."""
    model = RESNET.read_bytes()
    plain = convert(model, "resnet")
    r = verify(model, 2, name="resnet", recipe=Recipe.from_dict({"patches": "auto"}))
    assert r["mismatches"] == 0
    p = r["patches"]
    assert p is not None and r["arena_bytes"] < plain.arena_size
    assert r["arena_bytes"] <= 0.6 * TFLM_RESNET_ARENA
    macs = sum(L.macs for L in plain.layers)
    assert 0 < p["extra_macs"] <= 0.1 * macs
    # The residual ADD inside the stage, in 12 bands, both goldens.
    for golden in ("tflm", "litert"):
        r = verify(model, 2, name="resnet", golden=golden, recipe=_recipe(3, 12))
        assert r["mismatches"] == 0 and r["arena_bytes"] < plain.arena_size


def test_auto_keeps_the_model_whole_when_bands_do_not_pay():
    """A stage whose split does not shrink the arena stays whole: same blob."""
    model = (FIXTURES / "cov_squeeze.tflite").read_bytes()
    auto = convert(model, "m", recipe=Recipe.from_dict({"patches": "auto"}))
    plain = convert(model, "m")
    if auto.patches is None:
        assert auto.blob == plain.blob
    else:
        assert auto.arena_size < plain.arena_size


@pytest.mark.parametrize("board", ["QEMU_STM32F405", "QEMU_STM32F205", "QEMU_M7"])
def test_bands_on_board(board):
    for name, bands in (("cov_conv", 3), ("cov_dwconv", 2), ("digits_cnn", 4)):
        model = (FIXTURES / f"{name}.tflite").read_bytes()
        through = [k for k, rows in _stages(model) if rows >= bands][-1]
        r = hil(
            model, board, n_inputs=2, seed=5, name=name, count=False,
            recipe=_recipe(through, bands),
        )  # fmt: skip
        assert r["patches"]["bands"] == bands
        assert r["mismatches"] == 0 and r["reference_mismatches"] == 0, (name, r)


@pytest.mark.parametrize(
    "spec, message",
    [
        ("sometimes", "patches 'sometimes'"),
        ({"through": 1, "bands": 1}, "(N >= 2)"),
        ({"through": 1}, '"bands": N'),
        ({"through": True, "bands": 2}, '"through": LAYER'),
        ({"through": 1, "bands": 2.5}, "(N >= 2)"),
    ],
)
def test_malformed_patches_are_refused(spec, message):
    with pytest.raises(RecipeError, match="patches") as e:
        Recipe.from_dict({"patches": spec})
    assert message in str(e.value)


def test_a_split_microai_cannot_make_is_refused():
    model = (FIXTURES / "digits_cnn.tflite").read_bytes()
    g = read_model(model, "m")
    fc = next(op for op in g.ops if op.opcode == "FULLY_CONNECTED")
    with pytest.raises(ConvertError, match="not a stage microai runs in bands"):
        convert(model, "m", recipe=_recipe(fc.index, 2))
    with pytest.raises(RecipeError, match="no layer .nope."):
        convert(model, "m", recipe=_recipe("nope", 2))
    through, rows = _stages(model)[-1]
    with pytest.raises(ConvertError, match=rf"{rows + 1} bands, but .* has {rows} row\(s\)"):
        convert(model, "m", recipe=_recipe(through, rows + 1))


def test_cli_reports_the_bands(tmp_path):
    model = FIXTURES / "cov_conv.tflite"
    recipe = tmp_path / "r.json"
    through = _stages(model.read_bytes())[-1][0]
    recipe.write_text(json.dumps({"patches": {"through": through, "bands": 2}}))
    r = subprocess.run(
        [sys.executable, "-m", "microai", "convert", str(model), "-o", str(tmp_path / "m.mai"),
         "--recipe", str(recipe), "--json"],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["patches"]["through"] == through and out["patches"]["bands"] == 2
    recipe.write_text(json.dumps({"patches": {"through": 0, "bands": 2}}))
    r = subprocess.run(
        [sys.executable, "-m", "microai", "convert", str(model), "-o", str(tmp_path / "m.mai"),
         "--recipe", str(recipe)],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert r.returncode != 0 and "Traceback" not in r.stderr
    assert "not a stage microai runs in bands" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_inspect_sees_the_bands_of_a_tensor():
    """From the blob alone: the stage's output, assembled band by band, is live from
    its first band's write; rows of the input the bands read keep the input live."""
    from microai.inspect import describe

    model = (FIXTURES / "digits_cnn.tflite").read_bytes()
    through = [k for k, rows in _stages(model) if rows >= 3][-1]
    c = convert(model, "m", recipe=_recipe(through, 3))
    info = describe(c.blob)
    mem = info["memory"]
    assert mem["lower_bound"] <= info["arena_bytes"]
    last = [L for L in c.layers if L.source == through]
    after = next(L for L in c.layers if L.source > through)
    stage_out = after.inputs[0]
    buf = next(b for b in mem["buffers"] if stage_out in b.get("tensors", []))
    assert buf["first"] <= last[0].index and buf["last"] >= after.index
    first = next(b for b in mem["buffers"] if c.layers[0].inputs[0] in b.get("tensors", []))
    bands_reading_input = [L.index for L in c.layers if L.source == c.layers[0].source]
    assert first["first"] == 0 and first["last"] >= bands_reading_input[-1]


def test_a_stage_with_an_output_nobody_reads_is_not_split():
    """x -> a (read by nothing), x -> b -> c: no band would ask for a's rows."""
    import numpy as np

    from microai.testing.tflite_builder import ModelBuilder

    rng = np.random.default_rng(3)
    mb = ModelBuilder("dead branch")
    x = mb.input("x", (1, 8, 8, 3), scale=0.05, zero_point=-1)
    mb.conv1x1("a", x, 4, (1, 8, 8, 4), rng)
    b = mb.conv1x1("b", x, 4, (1, 8, 8, 4), rng)
    mb.output(mb.conv1x1("c", b, 4, (1, 8, 8, 4), rng))
    model = mb.build()
    c = aliases.run(Compilation(read_model(model, "m"), "m", "tflm"))
    assert [op.opcode for op in c.ops] == ["CONV_2D"] * 3
    assert patches.stages(c) == []
    with pytest.raises(ConvertError, match="not a stage"):
        convert(model, "m", recipe=_recipe(2, 2))
    assert convert(model, "m", recipe=Recipe.from_dict({"patches": "auto"})).patches is None


def test_through_a_layer_whose_pad_was_folded_into_it():
    """x -> conv -> PAD -> 3x3 depthwise: the depthwise conv takes the PAD as its own
    padding (a new op for the same layer); naming it ends the stage there all the same."""
    import numpy as np

    from microai.testing.tflite_builder import ModelBuilder

    rng = np.random.default_rng(4)
    mb = ModelBuilder("pad in the stage")
    x = mb.input("x", (1, 8, 8, 3), scale=0.05, zero_point=-1)
    a = mb.conv1x1("a", x, 4, (1, 8, 8, 4), rng, zero_point=3)
    padded = mb.tensor("padded", (1, 10, 10, 4), scale=0.1, zero_point=3)
    mb.op("PAD", [a, mb.const("p", np.array([[0, 0], [1, 1], [1, 1], [0, 0]], np.int32))],
          [padded])  # fmt: skip
    w = mb.const("w", rng.integers(-127, 128, (1, 3, 3, 4), dtype=np.int8),
                 scale=np.full(4, 0.01, np.float32), quantized_dimension=3)  # fmt: skip
    b = mb.const("b", rng.integers(-500, 500, 4).astype(np.int32),
                 scale=np.full(4, 0.001, np.float32))  # fmt: skip
    y = mb.tensor("y", (1, 8, 8, 4), scale=0.1, zero_point=-2)
    mb.op("DEPTHWISE_CONV_2D", [padded, w, b], [y], "DepthwiseConv2DOptions",
          Padding=tflite.Padding.VALID, StrideW=1, StrideH=1, DepthMultiplier=1)  # fmt: skip
    mb.output(y)
    model = mb.build()
    c = aliases.run(Compilation(read_model(model, "m"), "m", "tflm"))
    assert "fused_pad" in c.ops[1].options and c.ops[1].index == 2
    r = verify(model, 2, name="m", recipe=_recipe(2, 3))
    assert r["mismatches"] == 0 and r["patches"]["through"] == 2
