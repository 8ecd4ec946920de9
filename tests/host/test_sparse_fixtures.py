"""The sparse fixtures made by tests/fixtures/make_sparse_fixtures.py (the converter's
EXPERIMENTAL_SPARSITY): where their sparse tensors are and how they are encoded, and that
microai converts them and runs them bit-exact with LiteRT BUILTIN_REF (no TensorFlow).
TFLite-Micro cannot be the golden here: it cannot load DENSIFY and ignores the encoding of
a block-sparse FULLY_CONNECTED."""

from __future__ import annotations

import numpy as np
import pytest
import tflite

from microai import tflite_edit as E
from microai.convert import convert
from microai.engine import Model
from microai.golden import run_reference
from microai.paths import ROOT
from microai.verify import verify

pytest.importorskip("ai_edge_litert.interpreter")

MODELS = ROOT / "tests" / "fixtures" / "models"
DIGITS = np.load(MODELS / "digits_test.npz")

# model -> its sparse tensors in tensor order: (reader, traversal order, block map, formats)
EXPECT = {
    "digits_sparse": [
        ("DENSIFY -> CONV_2D", [0, 1, 2, 3], [], ["D16", "D3", "D3", "CSR"]),
        ("DENSIFY -> CONV_2D", [0, 1, 2, 3], [], ["D32", "D1", "D1", "CSR"]),
        ("DENSIFY -> FULLY_CONNECTED", [0, 1], [], ["D10", "CSR"]),
    ],
    "fc_block_sparse": [
        ("FULLY_CONNECTED", [0, 1, 2], [1], ["D64", "CSR", "D16"]),
        ("FULLY_CONNECTED", [0, 1, 2], [1], ["D10", "CSR", "D16"]),
    ],
}

# LiteRT's only int8 kernel for a block-sparse FULLY_CONNECTED rescales with double
# rounding (its dense reference FC rounds once): microai's FC follows it for weights
# stored sparse (ops/conv.py), so both fixtures are bit-exact.


def _op_name(m, op) -> str:
    code = m.OperatorCodes(op.OpcodeIndex())
    return tflite.opcode2name(max(code.BuiltinCode(), code.DeprecatedBuiltinCode()))


def sparse_tensors(model: bytes) -> list[tuple[str, list, list, list]]:
    m = tflite.Model.GetRootAsModel(model, 0)
    sg = m.Subgraphs(0)
    readers: dict[int, list[str]] = {}
    for i in range(sg.OperatorsLength()):
        op = sg.Operators(i)
        name = _op_name(m, op)
        if name == "DENSIFY":  # name the op behind it
            out = int(op.OutputsAsNumpy()[0])
            for k in range(sg.OperatorsLength()):
                if out in sg.Operators(k).InputsAsNumpy():
                    name = f"DENSIFY -> {_op_name(m, sg.Operators(k))}"
        for j in op.InputsAsNumpy():
            readers.setdefault(int(j), []).append(name)
    out = []
    for j in range(sg.TensorsLength()):
        sp = sg.Tensors(j).Sparsity()
        if sp is None:
            continue
        fmts = []
        for k in range(sp.DimMetadataLength()):
            dm = sp.DimMetadata(k)
            fmts.append(f"D{dm.DenseSize()}" if dm.Format() == 0 else "CSR")
        order = sp.TraversalOrderAsNumpy().tolist() if sp.TraversalOrderLength() else []
        bmap = sp.BlockMapAsNumpy().tolist() if sp.BlockMapLength() else []
        out.append((", ".join(readers.get(j, [])), order, bmap, fmts))
    return out


def load(name: str) -> bytes:
    return (MODELS / f"{name}.tflite").read_bytes()


def with_densify(model: bytes) -> bytes:
    """A DENSIFY op in front of every sparse constant an op reads directly: the model then
    runs LiteRT's dense reference FULLY_CONNECTED on the same weights."""
    from ai_edge_litert import schema_py_generated as S

    m = E.load(model)
    sg = m.subgraphs[0]
    ops = []
    for op in sg.operators:
        op.inputs = [int(j) for j in op.inputs]
        for slot, j in enumerate(op.inputs):
            if j < 0 or sg.tensors[j].sparsity is None:
                continue
            src = sg.tensors[j]
            t = S.TensorT()
            t.shape, t.type, t.quantization = list(src.shape), src.type, src.quantization
            t.name, t.buffer = src.name + b"/dense", 0
            sg.tensors.append(t)
            d = S.OperatorT()
            d.opcodeIndex = E.opcode_index(m, S.BuiltinOperator.DENSIFY, 1)
            d.inputs, d.outputs = [j], [len(sg.tensors) - 1]
            ops.append(d)
            op.inputs[slot] = len(sg.tensors) - 1
        ops.append(op)
    sg.operators = ops
    return E.save(m)


@pytest.mark.parametrize("name", sorted(EXPECT))
def test_sparse_tensors_and_densify_ops(name):
    model = load(name)
    assert sparse_tensors(model) == EXPECT[name]
    m = tflite.Model.GetRootAsModel(model, 0)
    sg = m.Subgraphs(0)
    n_densify = sum(_op_name(m, sg.Operators(i)) == "DENSIFY" for i in range(sg.OperatorsLength()))
    assert n_densify == sum(r.startswith("DENSIFY") for r, *_ in EXPECT[name])


@pytest.mark.parametrize("name", sorted(EXPECT))
def test_converts_without_densify(name):
    c = convert(load(name), name, golden="litert")
    assert "DENSIFY" not in [L.opcode for L in c.layers]


def _outputs_equal(model: bytes, name: str) -> None:
    with Model(convert(model, name, golden="litert").blob) as m:
        for i, x in enumerate(DIGITS["x"]):
            want = run_reference(model, [x[None]], "litert")[0]
            got = m.run(x[None]).reshape(want.shape)
            assert np.array_equal(got, want), f"{name}: digits test input {i}"


@pytest.mark.parametrize(
    "name",
    [
        "digits_sparse",
        "fc_block_sparse",
    ],
)
def test_outputs_bit_exact_with_litert(name):
    _outputs_equal(load(name), name)


@pytest.mark.parametrize(
    "name",
    [
        "digits_sparse",
        "fc_block_sparse",
    ],
)
def test_every_tensor_bit_exact_with_litert(name):
    xs = [x[None] for x in DIGITS["x"][:120]]
    r = verify(load(name), n_inputs=0, given=xs, name=name, golden="litert")
    assert r["inputs"] == len(xs)
    assert r["mismatches"] == 0, r["first_mismatch"]


def test_block_sparse_fc_weights_read_right():
    """The reader densifies fc_block_sparse's block-sparse weights to what LiteRT's DENSIFY
    makes of them: behind a DENSIFY (dense reference FC in LiteRT), every tensor agrees."""
    model = with_densify(load("fc_block_sparse"))
    assert [r for r, *_ in sparse_tensors(model)] == ["DENSIFY -> FULLY_CONNECTED"] * 2
    xs = [x[None] for x in DIGITS["x"][:120]]
    r = verify(model, n_inputs=0, given=xs, name="fc_block_sparse+densify", golden="litert")
    assert r["mismatches"] == 0, r["first_mismatch"]


@pytest.mark.parametrize("name", sorted(EXPECT))
def test_digits_accuracy(name):
    with Model(convert(load(name), name, golden="litert").blob) as m:
        pred = np.array([int(np.argmax(m.run(x[None]))) for x in DIGITS["x"]])
    floor = {"digits_sparse": 0.95, "fc_block_sparse": 0.85}[name]
    assert np.mean(pred == DIGITS["y"]) >= floor
