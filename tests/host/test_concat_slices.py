"""A CONCATENATION whose inputs lie one after another in its output is no op: its
producers write straight into their slices (passes/aliases.py); other concatenations
still copy. Bit-exact either way."""

from __future__ import annotations

import numpy as np
import pytest

from microai.convert import convert
from microai.inspect import describe
from microai.testing.tflite_builder import ModelBuilder
from microai.verify import verify


def _model(axis: int, a_out: bool = False) -> bytes:
    """x -> conv a, conv b -> CONCATENATION(axis) -> 1x1 conv, stride 4 -> y (small: the
    concatenation is where the most bytes live)."""
    rng = np.random.default_rng(2)
    mb = ModelBuilder("concat")
    x = mb.input("x", (1, 8, 8, 3), scale=0.05, zero_point=-1)
    a = mb.conv1x1("a", x, 8, (1, 8, 8, 8), rng, zero_point=3)
    b = mb.conv1x1("b", x, 8, (1, 8, 8, 8), rng, zero_point=3)
    shape = [1, 8, 8, 8]
    shape[axis] *= 2
    cat = mb.tensor("cat", tuple(shape), scale=0.1, zero_point=3)
    mb.op("CONCATENATION", [a, b], [cat], "ConcatenationOptions", Axis=axis)
    out = (1, (shape[1] - 1) // 4 + 1, (shape[2] - 1) // 4 + 1, 4)
    y = mb.conv1x1("y", cat, 4, out, rng, zero_point=-2, stride=4)
    mb.output(y)
    if a_out:  # a model output too: the user reads it, so it keeps bytes of its own
        mb.output(a)
    return mb.build()


def _ops(blob: bytes) -> list[str]:
    return [L["op"] for L in describe(blob)["layers"]]


@pytest.mark.parametrize("axis", [1, -3])
def test_rows_concatenation_is_written_in_place(axis):
    model = _model(axis)
    c = convert(model, "m")
    assert "CONCAT" not in _ops(c.blob) and len(c.layers) == 3
    copied = convert(_model(3), "m")  # along channels: strided slices, still a copy
    assert "CONCAT" in _ops(copied.blob)
    assert c.arena_size < copied.arena_size
    r = verify(model, 3, name="m")
    assert r["mismatches"] == 0
    # The concatenation's bytes are live from the first slice written.
    info = describe(c.blob)
    assert info["memory"]["lower_bound"] <= info["arena_bytes"]


@pytest.mark.parametrize(
    "model",
    [_model(3), _model(1, a_out=True)],
    ids=["channels", "input-is-a-model-output"],
)
def test_other_concatenations_still_copy(model):
    c = convert(model, "m")
    assert "CONCAT" in _ops(c.blob)
    assert verify(model, 2, name="m")["mismatches"] == 0
