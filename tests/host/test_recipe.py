"""Per-layer choices from a recipe: the kernel a layer asks for is the one it runs, the
outputs do not change, and a field a layer cannot take is an error naming the layer,
the field and why (at convert time, before any blob exists)."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from microai.convert import convert
from microai.engine import Model
from microai.ir import ConvertError
from microai.paths import ROOT
from microai.recipe import Recipe, RecipeError

DIGITS = (ROOT / "tests" / "fixtures" / "models" / "digits_cnn.tflite").read_bytes()


def _layers(recipe: dict | None = None):
    return convert(DIGITS, "digits", recipe=Recipe.from_dict(recipe) if recipe else None)


def _op(conv, opcode: str, kernel: str):
    return next(L for L in conv.layers if L.opcode == opcode and L.kernel == kernel)


def test_recipe_picks_the_kernel_and_outputs_stay_bit_exact():
    auto = _layers()
    pw = _op(auto, "CONV_2D", "CONV_PW_S8")
    dw = _op(auto, "DEPTHWISE_CONV_2D", "DW_CONV_3X3_S8")
    name = auto.graph.t(pw.graph_outputs[0]).name
    chosen = _layers(
        {"layers": {name: {"algorithm": "im2col"}, str(dw.source): {"algorithm": "direct"}}}
    )
    assert chosen.layers[pw.index].kernel == "CONV_IM2COL_S8"
    assert chosen.layers[pw.index].scratch > 0  # im2col's own scratch, planned
    assert chosen.layers[dw.index].kernel == "DW_CONV_S8"
    x = np.random.default_rng(0).integers(-128, 128, (8, 8, 8, 1), dtype=np.int8)
    a, b = Model(auto.blob), Model(chosen.blob)
    for xi in x:
        np.testing.assert_array_equal(a.run(xi[None]), b.run(xi[None]))


@pytest.mark.parametrize(
    "layer, fields, message",
    [
        ("0", {"algorithm": "pointwise"}, r"CONV_2D \(op 0.*algorithm.*CONV_PW_S8: needs a 1x1"),
        ("0", {"algorithm": "fft"}, r"algorithm .fft.: a CONV op has auto, pointwise"),
        ("0", {"weights": "int2"}, r"layer '0': weights 'int2': this microai stores weights"),
        ("0", {"density": 0.5}, r"layer '0': unknown field 'density' \(fields: weights, algo"),
        ("99", {"algorithm": "auto"}, r"no layer '99' in the model"),
        ("3", {"weights": "int8"}, r"layer '3': weights: a MAX_POOL_2D has no weights"),
        ("1", {"prune": 0.5}, r"layer '1': prune: a DEPTHWISE_CONV_2D starts no channels"),
        ("0", {"prune": 1.0}, r"layer '0': prune 1.0: a fraction of the output channels"),
        ("0", {"prune": "half"}, r"layer '0': prune 'half': a fraction"),
        ("1", {"sparsity": 0.5}, r"layer '1': sparsity: a DEPTHWISE_CONV_2D has no blocks"),
        ("2", {"sparsity": 1}, r"layer '2': sparsity 1: a fraction of the blocks in \[0, 1\)"),
        ("5", {"sparsity": 0.5, "weights": "int4"}, r"layer '5': sparsity with int4 weights"),
    ],
    ids=[
        "unsupported",
        "unknown_algorithm",
        "int2",
        "unknown_field",
        "no_layer",
        "no_weights",
        "prune_depthwise",
        "prune_all",
        "prune_text",
        "sparsity_depthwise",
        "sparsity_all",
        "sparsity_int4",
    ],
)
def test_a_field_a_layer_cannot_take_is_an_error(layer, fields, message):
    with pytest.raises((ConvertError, RecipeError), match=message):
        _layers({"layers": {layer: fields}})


@pytest.mark.parametrize(
    "text, message",
    [
        ("not json", "not JSON"),
        ('{"layers": [1]}', "'layers' must map"),
        ('{"other": {}}', "a recipe is"),
        ('{"layers": {"0": 3}}', "fields must be an object"),
        ('{"layers": {}, "calibration": 3}', "'calibration' must be the path"),
    ],
)
def test_malformed_recipe_files(tmp_path, text, message):
    p = tmp_path / "r.json"
    p.write_text(text)
    with pytest.raises(RecipeError, match=message):
        Recipe.load(p)


def test_recipe_file_roundtrip(tmp_path):
    p = tmp_path / "r.json"
    p.write_text(json.dumps({"layers": {"2": {"algorithm": "im2col"}}}))
    assert Recipe.load(p).layers == {"2": {"algorithm": "im2col"}}


def _cli(*args) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "microai", *map(str, args)],
        check=False,
        capture_output=True,
        text=True,
    )


def test_cli_takes_a_recipe(tmp_path):
    model = ROOT / "tests" / "fixtures" / "models" / "digits_cnn.tflite"
    auto = _layers()
    pw = _op(auto, "CONV_2D", "CONV_PW_S8")
    recipe = tmp_path / "r.json"
    recipe.write_text(json.dumps({"layers": {str(pw.source): {"algorithm": "im2col"}}}))
    blob = tmp_path / "d.mai"
    r = _cli("convert", model, "-o", blob, "--recipe", recipe)
    assert r.returncode == 0, r.stderr
    r = _cli("inspect", blob, "--json")
    assert json.loads(r.stdout)["layers"][pw.index]["kernel"] == "CONV_IM2COL_S8"
    r = _cli("verify", model, "--inputs", "5", "--recipe", recipe, "--json")
    assert r.returncode == 0 and json.loads(r.stdout)["mismatches"] == 0


def test_cli_bad_recipe_is_one_line(tmp_path):
    model = ROOT / "tests" / "fixtures" / "models" / "digits_cnn.tflite"
    recipe = tmp_path / "r.json"
    recipe.write_text(json.dumps({"layers": {"0": {"algorithm": "pointwise"}}}))
    r = _cli("convert", model, "-o", tmp_path / "d.mai", "--recipe", recipe)
    assert r.returncode == 3 and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "CONV_PW_S8: needs a 1x1" in r.stderr


# ---- weights and pruning in a recipe ---------------------------------------------------

DATA = ROOT / "tests" / "fixtures" / "models" / "digits_test.npz"


def test_recipe_int4_and_prune_are_compress_steps():
    """A recipe's `prune` and `weights: int4` rewrite the .tflite as `microai compress`
    does, in that order (the same bytes), then convert it; with "calibration", on
    that data."""
    from microai.compress import compress, load_data
    from microai.prune import prune_channels
    from microai.tflite import read_model

    layers = {"2": {"prune": 0.25}, "5": {"weights": "int4"}}
    for cal in (None, str(DATA)):
        data = load_data(DATA, read_model(DIGITS)) if cal else None
        want = prune_channels(DIGITS, "digits", 0.25, ["2"], data=data).model
        want = compress(want, "digits", "int4", ["5"], data=data).model
        got = convert(DIGITS, "digits", recipe=Recipe({**{}, **layers}, calibration=cal))
        assert got.blob == convert(want, "digits").blob, cal
        kernels = [L.kernel for L in got.layers]
        assert "FC_S4" in kernels
    assert convert(DIGITS, "digits", recipe=Recipe({"0": {"algorithm": "im2col"}})).blob == (
        convert(DIGITS, "digits").blob
    )


def test_recipe_sparsity_is_the_compress_step():
    """A recipe's `sparsity` zeroes blocks as `microai compress --sparsity` does (the
    same bytes), after pruning and before int4; with a block-sparse algorithm the
    layer's weights keep only the blocks left."""
    from microai.prune import prune_channels
    from microai.sparsify import block_sparsify

    layers = {"2": {"prune": 0.25, "sparsity": 0.5, "algorithm": "pointwise_sparse"}}
    layers["5"] = {"sparsity": 0.75, "algorithm": "direct_sparse"}
    want = prune_channels(DIGITS, "digits", 0.25, ["2"]).model
    want = block_sparsify(want, 0.5, 4, ["2"], "digits").model
    want = block_sparsify(want, 0.75, 4, ["5"], "digits").model
    got = convert(DIGITS, "digits", recipe=Recipe(layers))
    plain = convert(want, "digits", recipe=Recipe({k: {"algorithm": v["algorithm"]}
                                                    for k, v in layers.items()}))  # fmt: skip
    assert got.blob == plain.blob
    by = {L.source: L for L in got.layers}
    assert (by[2].kernel, by[5].kernel) == ("CONV_PW_S8_BLOCK4", "FC_S8_BLOCK4")
    dense = {L.source: L for L in convert(DIGITS, "digits").layers}
    assert by[5].weight_bytes < 0.5 * dense[5].weight_bytes


def test_recipe_calibration_is_relative_to_its_file(tmp_path):
    sub = tmp_path / "r"
    sub.mkdir()
    (sub / "recipe.json").write_text(
        json.dumps({"layers": {"5": {"weights": "int4"}}, "calibration": str(DATA)})
    )
    assert Recipe.load(sub / "recipe.json").calibration == str(DATA)  # absolute stays
    (sub / "d.npz").write_bytes(DATA.read_bytes())
    (sub / "recipe.json").write_text(
        json.dumps({"layers": {"5": {"weights": "int4"}}, "calibration": "d.npz"})
    )
    r = Recipe.load(sub / "recipe.json")
    assert r.calibration == str(sub / "d.npz")
    convert(DIGITS, "digits", recipe=r)
    (sub / "d.npz").unlink()
    with pytest.raises(Exception, match="d.npz"):
        convert(DIGITS, "digits", recipe=r)


def test_recipe_prune_a_layer_that_cannot_be_pruned():
    """Pruning a layer whose channels reach a model output (or too few to remove any) is
    refused with prune.py's reason, never silently skipped."""
    why = r"layer '5': prune 0.5: its channels cannot be pruned \(SOFTMAX \(op 6\) reads it"
    with pytest.raises(RecipeError, match=why):
        _layers({"layers": {"5": {"prune": 0.5}}})
    with pytest.raises(RecipeError, match=r"layer '0': prune 0.01: .*too few channels"):
        _layers({"layers": {"0": {"prune": 0.01}}})


def test_a_compressing_recipe_is_checked_against_its_own_model():
    """verify (and hil) compare with the golden running the .tflite the recipe made
    (pruned, sparse, int4: a standard model, its own golden), not the model given."""
    from microai.verify import verify

    layers = {"2": {"prune": 0.5, "sparsity": 0.5, "algorithm": "pointwise_sparse"}}
    layers["5"] = {"weights": "int4"}
    r = Recipe(layers, calibration=str(DATA))
    conv = convert(DIGITS, "digits", recipe=r)
    kernels = Recipe({"2": {"algorithm": "pointwise_sparse"}})
    assert conv.tflite != DIGITS
    assert convert(conv.tflite, "digits", recipe=kernels).blob == conv.blob
    for golden in ("tflm", "litert"):
        v = verify(DIGITS, 5, name="digits", golden=golden, recipe=r)
        assert v["mismatches"] == v["output_mismatches"] == 0, golden
