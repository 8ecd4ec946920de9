"""The INT4 fixtures made by tests/fixtures/make_int4_fixtures.py: where their INT4 tensors
are, how they are packed, and that LiteRT's reference kernels run them (no TensorFlow)."""

from __future__ import annotations

from pathlib import Path

import flatbuffers
import numpy as np
import pytest
import tflite
from ai_edge_litert import schema_py_generated as schema
from ai_edge_litert.interpreter import Interpreter, OpResolverType

MODELS = Path(__file__).resolve().parents[1] / "fixtures" / "models"
INT4 = 17  # TensorType.INT4

# model -> {(op, per-channel)} of its INT4 weight tensors, in execution order
EXPECT = {
    "digits_int4_aeq": [("CONV_2D", True), ("CONV_2D", True), ("FULLY_CONNECTED", True)],
    "digits_int4_fq": [
        ("CONV_2D", True),
        ("DEPTHWISE_CONV_2D", True),
        ("CONV_2D", True),
        ("FULLY_CONNECTED", False),
    ],
    "int4_odd": [
        ("CONV_2D", True),
        ("DEPTHWISE_CONV_2D", True),
        ("FULLY_CONNECTED", False),
        ("FULLY_CONNECTED", False),
    ],
}
DIGITS = ["digits_int4_aeq", "digits_int4_fq"]


def weights(model: bytes) -> list[tuple[str, int, bool, bytes]]:
    """(op, element count, per-channel, packed bytes) of every INT4 op input, in order."""
    m = tflite.Model.GetRootAsModel(model, 0)
    sg = m.Subgraphs(0)
    out = []
    for i in range(sg.OperatorsLength()):
        op = sg.Operators(i)
        code = m.OperatorCodes(op.OpcodeIndex())
        name = tflite.opcode2name(max(code.BuiltinCode(), code.DeprecatedBuiltinCode()))
        for j in op.InputsAsNumpy():
            t = sg.Tensors(j) if j >= 0 else None
            if t is None or t.Type() != INT4:
                continue
            data = m.Buffers(t.Buffer()).DataAsNumpy()
            n = int(np.prod(t.ShapeAsNumpy()))
            out.append((name, n, t.Quantization().ScaleLength() > 1, bytes(data)))
    return out


def unpack(data: bytes, n: int) -> np.ndarray:
    """Element 2i is the low nibble of byte i, 2i+1 the high one; two's complement."""
    b = np.frombuffer(data, np.uint8)
    nib = np.stack([b & 15, b >> 4], axis=1).reshape(-1)[:n].astype(np.int16)
    return np.where(nib > 7, nib - 16, nib).astype(np.int8)


def rewrite(model: bytes, widen: bool) -> bytes:
    """DEPTHWISE_CONV_2D v7 relabelled v6 (BUILTIN_REF has no v7); with `widen`, INT4
    tensors stored as INT8."""
    obj = schema.ModelT.InitFromPackedBuf(bytearray(model), 0)
    for oc in obj.operatorCodes:
        code = max(oc.builtinCode, oc.deprecatedBuiltinCode)
        if code == schema.BuiltinOperator.DEPTHWISE_CONV_2D and oc.version == 7:
            oc.version = 6
    if widen:
        for t in obj.subgraphs[0].tensors:
            if t.type == INT4:
                buf = obj.buffers[t.buffer]
                buf.data = unpack(bytes(buf.data), int(np.prod(t.shape))).view(np.uint8)
                t.type = schema.TensorType.INT8
    b = flatbuffers.Builder(0)
    b.Finish(obj.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output())


def outputs(model: bytes, xs: np.ndarray) -> np.ndarray:
    it = Interpreter(model_content=model, experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
    it.allocate_tensors()
    i_in, i_out = it.get_input_details()[0]["index"], it.get_output_details()[0]["index"]
    out = []
    for i in range(len(xs)):
        it.set_tensor(i_in, xs[i : i + 1])
        it.invoke()
        out.append(it.get_tensor(i_out)[0].copy())
    return np.stack(out)


@pytest.mark.parametrize("name", sorted(EXPECT))
def test_int4_tensors_and_packing(name):
    ws = weights((MODELS / f"{name}.tflite").read_bytes())
    assert [(op, pc) for op, _, pc, _ in ws] == EXPECT[name]
    for op, n, _, data in ws:
        assert len(data) == (n + 1) // 2, (op, n)
        if n % 2:
            assert data[-1] >> 4 == 0, f"{op}: odd count, high nibble of the last byte set"
        vals = unpack(data, n)
        assert vals.min() >= -8 and vals.max() <= 7 and np.any(vals != 0)


def test_odd_counts_present():
    counts = [n for _, n, _, _ in weights((MODELS / "int4_odd.tflite").read_bytes())]
    assert [n for n in counts if n % 2] == [27, 27, 35]


def test_unpack_order():
    # 0x9F: low nibble 0xF = -1 first, high nibble 0x9 = -7 second; 0x07 then 7, (pad 0).
    assert unpack(bytes([0x9F, 0x07]), 3).tolist() == [-1, -7, 7]


@pytest.mark.parametrize("name", sorted(EXPECT))
def test_int4_equals_widened_int8(name):
    model = (MODELS / f"{name}.tflite").read_bytes()
    if name in DIGITS:
        xs = np.load(MODELS / "digits_test.npz")["x"][:60]
    else:
        xs = np.random.default_rng(5).integers(-128, 128, (60, 6, 6, 1)).astype(np.int8)
    got = outputs(rewrite(model, widen=False), xs)
    assert np.array_equal(got, outputs(rewrite(model, widen=True), xs))


@pytest.mark.parametrize("name", DIGITS)
def test_digits_accuracy(name):
    test = np.load(MODELS / "digits_test.npz")
    x, y = test["x"], test["y"]
    acc8 = np.mean(outputs((MODELS / "digits_cnn.tflite").read_bytes(), x).argmax(1) == y)
    acc4 = np.mean(
        outputs(rewrite((MODELS / f"{name}.tflite").read_bytes(), False), x).argmax(1) == y
    )
    assert acc4 >= acc8 - 0.03, (acc4, acc8)
