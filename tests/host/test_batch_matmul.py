"""BATCH_MATMUL (int8): ranks 2 to 4, broadcast batch dims, adj_x / adj_y, a constant or a
computed rhs, zero points on every side: bit-exact with both goldens; refusals name the op;
the boards run it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from microai.convert import convert
from microai.golden import GOLDENS
from microai.ir import ConvertError
from microai.testing.tflite_builder import ModelBuilder
from microai.verify import verify


@dataclass(frozen=True)
class Case:
    name: str
    lhs: tuple[int, ...]
    rhs: tuple[int, ...]
    adj_x: bool = False
    adj_y: bool = False
    const_rhs: bool = False
    zps: tuple[int, int, int] = (3, -7, 5)


CASES = [
    Case("2d", (5, 7), (7, 3)),
    Case("3d_batches", (4, 3, 6), (4, 6, 5), zps=(-128, 0, -128)),
    Case("4d_broadcast_lhs", (1, 3, 4, 5), (2, 3, 5, 2)),
    Case("4d_broadcast_both", (2, 1, 3, 9), (1, 4, 9, 4)),
    Case("rank_mix", (3, 2, 5, 6), (6, 7)),
    Case("adj_x", (2, 6, 4), (2, 6, 3), adj_x=True),
    Case("adj_y", (2, 4, 6), (2, 3, 6), adj_y=True),
    Case("adj_both_const", (3, 5, 2), (4, 5), adj_x=True, adj_y=True, const_rhs=True),
    Case("const_rhs_depth_1", (6, 1), (1, 8), const_rhs=True, zps=(0, 0, 0)),
    Case("4d_broadcast_const", (2, 1, 3, 9), (1, 4, 9, 4), const_rhs=True),
]


def _model(c: Case) -> bytes:
    rng = np.random.default_rng(sum(map(ord, c.name)))
    depth = c.lhs[-2] if c.adj_x else c.lhs[-1]
    a_s, b_s = 0.05, float(rng.uniform(0.01, 0.05))
    mb = ModelBuilder("batch matmul")
    a = mb.input("a", c.lhs, scale=a_s, zero_point=c.zps[0])
    if c.const_rhs:
        b = mb.const(
            "b", rng.integers(-128, 128, c.rhs, dtype=np.int8), scale=b_s, zero_point=c.zps[1]
        )
    else:
        b = mb.input("b", c.rhs, scale=b_s, zero_point=c.zps[1])
    an = (1,) * (4 - len(c.lhs)) + c.lhs
    bn = (1,) * (4 - len(c.rhs)) + c.rhs
    rows = an[3] if c.adj_x else an[2]
    cols = bn[2] if c.adj_y else bn[3]
    batch = [max(x, y) for x, y in zip(an[:2], bn[:2], strict=True)]
    rank = max(len(c.lhs), len(c.rhs))
    out = tuple([*batch, rows, cols][4 - rank :])
    y_scale = a_s * b_s * 60.0 * np.sqrt(depth)
    y = mb.tensor("y", out, scale=y_scale, zero_point=c.zps[2])
    mb.op("BATCH_MATMUL", [a, b], [y], "BatchMatMulOptions", AdjX=c.adj_x, AdjY=c.adj_y)
    mb.output(y)
    return mb.build()


@pytest.mark.parametrize("golden", GOLDENS)
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_batch_matmul_bit_exact(case, golden):
    r = verify(_model(case), n_inputs=3, seed=5, golden=golden)
    assert r["mismatches"] == 0
    assert r["layers"][0]["kernel"] == "BATCH_MATMUL_S8"


def _raw(lhs, rhs, out, rhs_scale=0.02, hybrid=False):
    mb = ModelBuilder("bad batch matmul")
    a = mb.input("a", lhs, scale=0.05)
    if isinstance(rhs_scale, list):
        b = mb.const("b", np.ones(rhs, np.int8), scale=np.float32(rhs_scale), quantized_dimension=1)
    else:
        b = mb.input("b", rhs, scale=rhs_scale)
    y = mb.tensor("y", out, scale=0.1)
    mb.op("BATCH_MATMUL", [a, b], [y], "BatchMatMulOptions", AsymmetricQuantizeInputs=hybrid)
    mb.output(y)
    return mb.build()


@pytest.mark.parametrize(
    "model, message",
    [
        (_raw((2, 3), (4, 5), (2, 5)), "depths differ"),
        (_raw((2, 3, 4), (3, 4, 5), (3, 3, 5)), "batch dims of [2, 3, 4] and [3, 4, 5] differ"),
        (_raw((2, 3), (3, 5), (2, 4)), "output shape [2, 4], expected [2, 5]"),
        (_raw((1, 1, 2, 2, 3), (3, 5), (1, 1, 2, 2, 5)), "has rank 5; at most 4"),
        (_raw((2, 3), (3, 2), (2, 2), rhs_scale=[0.1, 0.2]), "quantized per channel"),
        (_raw((2, 3), (3, 2), (2, 2), hybrid=True), "hybrid"),
    ],
    ids=["depth", "batch", "output", "rank5", "per-channel", "hybrid"],
)
def test_refusals_name_the_op(model, message):
    with pytest.raises(ConvertError) as e:
        convert(model, "m")
    assert "BATCH_MATMUL (op 0" in str(e.value) and message in str(e.value), str(e.value)


@pytest.mark.parametrize("board", ["QEMU_STM32F405", "QEMU_STM32F205", "QEMU_M7"])
def test_batch_matmul_on_boards(board):
    from microai.hil import hil

    case = CASES[9]  # broadcast batches; hil feeds one input: a constant rhs
    r = hil(_model(case), board, n_inputs=2, seed=1, name=case.name, count=False)
    assert r["mismatches"] == 0 and r["reference_mismatches"] == 0
