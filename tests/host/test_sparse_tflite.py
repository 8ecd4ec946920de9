"""TFLite's sparse tensor encoding (SparsityParameters, what the converter's
EXPERIMENTAL_SPARSITY writes) and DENSIFY: read and densified on the host. The densifier
agrees with LiteRT's own FormatConverter on every encoding it makes (CSR levels in any
order, block maps), a model with a sparse constant behind DENSIFY runs bit-exact with
LiteRT, and lying parameters are refused, naming the tensor."""

from __future__ import annotations

import numpy as np
import pytest

from microai import tflite_edit as E
from microai.convert import convert
from microai.engine import Model
from microai.golden import run_reference
from microai.ir import ConvertError
from microai.paths import ROOT
from microai.tflite import densify

F = pytest.importorskip("ai_edge_litert.format_converter_wrapper_pybind11")
DIGITS = (ROOT / "tests" / "fixtures" / "models" / "digits_cnn.tflite").read_bytes()


def _encode(w: np.ndarray, order, fmts, block_size, block_map):
    """LiteRT's FormatConverter: (values, metadata per traversal level)."""
    c = F.FormatConverterFp32(list(w.shape), order, fmts, block_size, block_map)
    assert c.DenseToSparse(w.astype(np.float32).ravel()) == F.TF_LITE_OK
    meta = c.GetDimMetadata()
    dims = []
    for k, d in enumerate(order):
        a, b = meta[2 * k], meta[2 * k + 1]
        dense = fmts[d] == F.TF_LITE_DIM_DENSE
        dims.append(("dense", a[0], None, None) if dense else ("csr", 0, np.array(a), np.array(b)))
    return np.array(c.GetData()), dims


def test_densify_agrees_with_litert():
    rng = np.random.default_rng(0)
    D, S = F.TF_LITE_DIM_DENSE, F.TF_LITE_DIM_SPARSE_CSR
    n = 0
    for _ in range(60):
        rows, cols = int(rng.integers(1, 7)), 4 * int(rng.integers(1, 5))
        w = rng.integers(-5, 6, (rows, cols)) * (rng.random((rows, cols)) > 0.6)
        cases = [
            ([0, 1], [D, S], [], []),
            ([1, 0], [D, S], [], []),
            ([0, 1], [S, S], [], []),
            ([0, 1, 2], [D, S, D], [4], [1]),
        ]
        if rows % 2 == 0:
            cases.append(([0, 1, 2, 3], [D, S, D, D], [2, 4], [0, 1]))
        for order, fmts, bs, bm in cases:
            values, dims = _encode(w, order, fmts, bs, bm)
            sp = {"traversal_order": order, "block_map": bm, "dims": dims}
            np.testing.assert_array_equal(densify(values, w.shape, sp, "t"), w)
            n += 1
    assert n >= 250


def _sparse_fc(lie=None) -> bytes:
    """digits_cnn with its FC weights (10 x 512, 80 % zeros) stored sparse (dense rows,
    CSR columns) behind a DENSIFY, as the converter writes it."""
    from ai_edge_litert import schema_py_generated as S

    m = E.load(DIGITS)
    sg = m.subgraphs[0]
    fc = next(o for o in sg.operators if E.builtin_code(m.operatorCodes[o.opcodeIndex]) == 9)
    wt = sg.tensors[fc.inputs[1]]
    w = np.frombuffer(bytes(np.asarray(m.buffers[wt.buffer].data, np.uint8)), np.int8)
    w = w.reshape(wt.shape).copy()
    w[np.random.default_rng(1).random(w.shape) < 0.8] = 0
    values, dims = _encode(w, [0, 1], [F.TF_LITE_DIM_DENSE, F.TF_LITE_DIM_SPARSE_CSR], [], [])
    if lie:
        lie(dims)
    sp = S.SparsityParametersT()
    sp.traversalOrder, sp.blockMap, sp.dimMetadata = [0, 1], [], []
    for kind, size, seg, idx in dims:
        d = S.DimensionMetadataT()
        if kind == "dense":
            d.format, d.denseSize = S.DimensionType.DENSE, size
        else:
            d.format = S.DimensionType.SPARSE_CSR
            d.arraySegmentsType = d.arrayIndicesType = S.SparseIndexVector.Int32Vector
            d.arraySegments, d.arrayIndices = S.Int32VectorT(), S.Int32VectorT()
            d.arraySegments.values, d.arrayIndices.values = list(seg), list(idx)
        sp.dimMetadata.append(d)
    # The sparse constant, and a new dense tensor DENSIFY makes from it for the FC.
    dense = S.TensorT()
    dense.shape, dense.type, dense.name = wt.shape, wt.type, b"dense_weights"
    dense.quantization, dense.buffer = wt.quantization, 0
    sg.tensors.append(dense)
    buf = S.BufferT()
    buf.data = np.asarray(values, np.int8).view(np.uint8)
    m.buffers.append(buf)
    wt.buffer, wt.sparsity = len(m.buffers) - 1, sp
    op = S.OperatorT()
    op.opcodeIndex = E.opcode_index(m, S.BuiltinOperator.DENSIFY, 1)
    op.inputs, op.outputs = [fc.inputs[1]], [len(sg.tensors) - 1]
    at = sg.operators.index(fc)
    fc.inputs = [fc.inputs[0], len(sg.tensors) - 1, fc.inputs[2]]
    sg.operators.insert(at, op)
    return E.save(m)


def test_densify_model_runs_bit_exact_with_litert():
    model = _sparse_fc()
    c = convert(model, "sparse", golden="litert")
    assert "DENSIFY" not in [L.opcode for L in c.layers]
    x = np.load(ROOT / "tests" / "fixtures" / "models" / "digits_test.npz")["x"][:8]
    with Model(c.blob) as m:
        for xi in x:
            want = run_reference(model, [xi[None]], "litert")[0]
            np.testing.assert_array_equal(m.run(xi[None]).reshape(want.shape), want)


def _index_out_of_range(dims):
    dims[1][3][0] = 9999


def _short_segments(dims):
    dims[1] = ("csr", 0, dims[1][2][:3], dims[1][3])


@pytest.mark.parametrize(
    "lie, message",
    [
        (_index_out_of_range, r"an index out of range at level 1"),
        (_short_segments, r"array_segments too short at level 1"),
    ],
)
def test_lying_sparsity_is_refused(lie, message):
    with pytest.raises(ConvertError, match=rf"tensor \d+ '.*': {message}"):
        convert(_sparse_fc(lie), "sparse", golden="litert")
