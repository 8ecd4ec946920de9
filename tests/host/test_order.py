"""Op order (passes/order.py): where the graph allows more than one order, the blob runs
the ops in the one that plans the smallest arena; the outputs stay bit-exact."""

from __future__ import annotations

import numpy as np
import pytest

from microai.convert import Compilation, convert
from microai.inspect import describe
from microai.ir import ConvertError
from microai.passes import aliases, order
from microai.passes import run as run_passes
from microai.testing.tflite_builder import ModelBuilder
from microai.tflite import read_model
from microai.verify import verify


def _two_branches(interleaved: bool) -> bytes:
    """x -> a1 (big) -> a2 (small), x -> b1 (big) -> b2 (small), ADD(a2, b2); the
    model lists a1, b1, a2, b2 (both big tensors live at once) or a1, a2, b1, b2."""
    rng = np.random.default_rng(7)
    mb = ModelBuilder("two branches")
    x = mb.input("x", (1, 16, 16, 8), scale=0.05, zero_point=-3)

    a1 = mb.conv1x1("a1", x, 32, (1, 16, 16, 32), rng, zero_point=1)
    if interleaved:
        b1 = mb.conv1x1("b1", x, 32, (1, 16, 16, 32), rng, zero_point=1)
    a2 = mb.conv1x1("a2", a1, 8, (1, 4, 4, 8), rng, zero_point=1, stride=4)
    if not interleaved:
        b1 = mb.conv1x1("b1", x, 32, (1, 16, 16, 32), rng, zero_point=1)
    b2 = mb.conv1x1("b2", b1, 8, (1, 4, 4, 8), rng, zero_point=1, stride=4)
    y = mb.tensor("y", (1, 4, 4, 8), scale=0.1, zero_point=0)
    mb.op("ADD", [a2, b2], [y], "AddOptions", FusedActivationFunction=0)
    mb.output(y)
    return mb.build()


def test_a_better_order_is_taken():
    model = _two_branches(interleaved=True)
    c = convert(model, "m")
    kept = run_passes(Compilation(read_model(model, "m"), "m", "tflm"))  # model's order
    # The big tensors one after the other: the arena of the model listed that way.
    sequential = convert(_two_branches(interleaved=False), "m")
    assert c.arena_size < kept.arena_size
    assert c.arena_size == sequential.arena_size
    assert [L.source for L in c.layers] == [0, 2, 1, 3, 4]
    assert describe(c.blob)["memory"]["lower_bound"] <= c.arena_size
    r = verify(model, 3, name="m")
    assert r["mismatches"] == 0 and r["arena_bytes"] == c.arena_size


def test_orders_are_topological_and_the_model_order_first():
    model = _two_branches(interleaved=True)
    c = aliases.run(Compilation(read_model(model, "m"), "m", "tflm"))
    orders = order.candidates(c)
    assert orders[0] == [0, 1, 2, 3, 4]
    assert len(orders) == len({tuple(o) for o in orders}) == 6  # a1<a2, b1<b2, ADD last
    assert order.best(c) == [0, 2, 1, 3, 4]
    assert order.candidates(c, limit=2) == orders[:2]


def test_an_order_that_breaks_a_dependency_is_refused():
    model = _two_branches(interleaved=True)
    for bad, message in (([2, 0, 1, 3, 4], "ordered before an op it reads"),
                         ([0, 1, 2, 3], "every op once")):  # fmt: skip
        c = Compilation(read_model(model, "m"), "m", "tflm", order=bad)
        with pytest.raises(ConvertError, match=message):
            run_passes(c)


def test_a_long_chain_has_its_one_order():
    """Deeper than Python's recursion limit: the orders are walked without recursion."""
    mb = ModelBuilder("chain")
    t = mb.input("x", (1, 4), scale=0.1, zero_point=0)
    for k in range(1100):
        y = mb.tensor(f"r{k}", (1, 4), scale=0.1, zero_point=0)
        mb.op("RELU", [t], [y])
        t = y
    mb.output(t)
    c = aliases.run(Compilation(read_model(mb.build(), "m"), "m", "tflm"))
    assert order.candidates(c) == [list(range(1100))]
    assert order.best(c) is None
