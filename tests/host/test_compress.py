"""`microai compress --weights int4` and INT4 models: the output is a standard .tflite
with INT4 weights (packed two per byte, the op versions TFLite gives int4 filters) that
both goldens run, equal on every tensor to the same model with the weights widened to
int8; calibration data gives better scales than the weights alone; what cannot be
compressed or read is said, naming the layer or tensor."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import tflite

from microai import tflite_edit as E
from microai.compress import CompressError, compress
from microai.golden import open_golden
from microai.ir import ConvertError
from microai.paths import ROOT
from microai.tflite import read_model

FIXTURES = ROOT / "tests" / "fixtures" / "models"
DIGITS = (FIXTURES / "digits_cnn.tflite").read_bytes()
TEST = np.load(FIXTURES / "digits_test.npz")
CALIB = (TEST["x"][:180], TEST["y"][:180])
HELD = (TEST["x"][180:], TEST["y"][180:])


@pytest.fixture(scope="module")
def digits4():
    return compress(DIGITS, "digits", data=CALIB, eval_data=HELD)


def _weighted(graph):
    return [
        op for op in graph.ops if op.opcode in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")
    ]


def test_output_is_standard_int4(digits4):
    m = tflite.Model.GetRootAs(digits4.model, 0)
    sg = m.Subgraphs(0)
    versions = {}
    for i in range(sg.OperatorsLength()):
        op = sg.Operators(i)
        code = m.OperatorCodes(op.OpcodeIndex())
        w = sg.Tensors(int(op.InputsAsNumpy()[1])) if op.InputsLength() > 1 else None
        b = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
        if b in (3, 4, 9):  # CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED
            assert w.Type() == tflite.TensorType.INT4
            n = int(np.prod(w.ShapeAsNumpy()))
            assert m.Buffers(w.Buffer()).DataLength() == (n + 1) // 2
            assert not w.Quantization().ZeroPointAsNumpy().any()
            versions[b] = code.Version()
    assert versions == {3: 7, 4: 7, 9: 10}
    g8, g4 = read_model(DIGITS), read_model(digits4.model)
    for op in _weighted(g4):
        w, x = g4.t(op.inputs[1]), g4.t(op.inputs[0])
        assert w.storage == "s4" and w.data.min() >= -8 and w.data.max() <= 7
        # TFLite's bias scale: input scale x weights scale, channel by channel.
        bias = g4.t(op.inputs[2])
        np.testing.assert_allclose(bias.scale, np.float32(x.scale1) * w.scale, rtol=1e-6)
        if op.opcode == "FULLY_CONNECTED":
            assert w.scale.size == 1  # per tensor: TFLite-Micro's int4 FC
        else:
            assert w.scale.size == g8.t(op.inputs[1]).scale.size > 1
    assert len(digits4.model) < len(DIGITS)


@pytest.mark.parametrize("golden", ["tflm", "litert"])
def test_int4_equals_widened_int8_on_every_tensor(digits4, golden):
    """The golden check: the int4 model in either golden equals, tensor for tensor, the
    same model with its weights widened to int8 (LiteRT's DEPTHWISE_CONV_2D version 7 is
    relabelled for its reference resolver)."""
    wide = E.widen_int4(digits4.model)
    graph = read_model(digits4.model)
    a = open_golden(digits4.model, golden, preserve_all_tensors=True)
    b = open_golden(wide, golden, preserve_all_tensors=True)
    for x in HELD[0][:10]:
        a.run([x[None]])
        b.run([x[None]])
        for op in graph.ops:
            for t in op.outputs:
                np.testing.assert_array_equal(a.tensor(t), b.tensor(t), err_msg=f"op {op.index}")


def test_calibration_beats_weights_alone(digits4):
    plain = compress(DIGITS, "digits", eval_data=HELD)
    for a, b in zip(plain.layers, digits4.layers, strict=True):
        assert a.reason is None and b.reason is None
        assert b.bytes_after == a.bytes_after == (a.bytes_before + 1) // 2
        assert b.sqnr_db > a.sqnr_db, (a.op, a.sqnr_db, b.sqnr_db)
    assert digits4.accuracy["int8"] > 0.9
    assert digits4.accuracy["int4"] >= digits4.accuracy["int8"] - 0.03
    assert plain.samples == digits4.samples == 180


def test_layers_subset_and_reasons():
    r = compress(DIGITS, "digits", layers=["2", "3"])
    by_op = {L.op: L for L in r.layers}
    assert by_op[2].reason is None and by_op[2].bytes_after == 256
    assert by_op[3].reason == "a MAX_POOL_2D has no weights that int4 applies to"
    g = read_model(r.model)
    assert [g.t(op.inputs[1]).storage for op in _weighted(g)] == ["s8", "s8", "s4", "s8"]
    again = compress(r.model, "digits4", layers=["2"])
    assert again.layers[0].reason == "already int4"
    with pytest.raises(CompressError, match=r"--layers: no layer 'nope' in the model"):
        compress(DIGITS, "digits", layers=["nope"])


def _edit(data: bytes, fn) -> bytes:
    m = E.load(data)
    fn(m, m.subgraphs[0])
    return E.save(m)


def _short_int4_buffer(m, sg):
    w = sg.tensors[m.subgraphs[0].operators[0].inputs[1]]
    w.type = 17
    m.buffers[w.buffer].data = np.zeros(10, np.uint8)


def _int4_activation(m, sg):
    sg.tensors[sg.inputs[0]].type = 17


def _int4_bias(m, sg):
    b = sg.tensors[sg.operators[0].inputs[2]]
    b.type = 17
    m.buffers[b.buffer].data = np.zeros(8, np.uint8)


@pytest.mark.parametrize(
    "fn, message",
    [
        (_short_int4_buffer, r"INT4 buffer has 10 bytes, shape \[16, 3, 3, 1\] needs 72"),
        (_int4_activation, r"is INT4 but not constant: microai takes INT4 weights only"),
        (_int4_bias, r"INT4 tensor .* as input 2; microai takes INT4 only as the weights"),
    ],
    ids=["short_buffer", "activation", "bias"],
)
def test_bad_int4_models_are_refused(fn, message):
    from microai.convert import convert

    with pytest.raises(ConvertError, match=message):
        convert(_edit(DIGITS, fn), "bad")


def _cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "microai", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_cli(tmp_path):
    calib = tmp_path / "calib.npz"
    np.savez(calib, x=CALIB[0], y=CALIB[1])
    out = tmp_path / "d4.tflite"
    r = _cli(
        "compress",
        str(FIXTURES / "digits_cnn.tflite"),
        "--weights",
        "int4",
        "--data",
        str(calib),
        "-o",
        str(out),
        "--json",
    )
    assert r.returncode == 0, r.stderr
    j = json.loads(r.stdout)
    assert j["bytes"] == out.stat().st_size and j["accuracy"]["int4"] > 0.9
    assert [L["bytes_after"] for L in j["layers"]] == [72, 72, 256, 2560]
    r = _cli("compress", str(FIXTURES / "digits_cnn.tflite"), "--weights", "int4", "-o", str(out))
    assert r.returncode == 0 and "output SQNR" in r.stdout and "per tensor" in r.stdout
    r = _cli("compress", str(FIXTURES / "digits_cnn.tflite"), "-o", str(out))
    assert r.returncode == 2 and "--weights int4" in r.stderr
    bad = tmp_path / "bad.npz"
    np.savez(bad, x=np.zeros((3, 4, 4, 1), np.int8))
    r = _cli(
        "compress",
        str(FIXTURES / "digits_cnn.tflite"),
        "--weights",
        "int4",
        "--data",
        str(bad),
        "-o",
        str(out),
    )
    assert r.returncode != 0
    assert r.stderr.count("\n") == 1 and "'x' has shape [3, 4, 4, 1]" in r.stderr
    assert "Traceback" not in r.stderr


def test_cli_prune_criterion(tmp_path):
    """--criterion picks the channels' ranking (said in the JSON and the table title);
    without --prune-channels, or output without --data, it is a clear usage error."""
    out = tmp_path / "p.tflite"
    digits = str(FIXTURES / "digits_cnn.tflite")
    r = _cli("compress", digits, "--prune-channels", "0.5", "--criterion", "l1", "-o", str(out))
    assert r.returncode == 0, r.stderr
    assert "(by l1, none)" in r.stdout
    r = _cli("compress", digits, "--prune-channels", "0.5", "-o", str(out), "--json")
    assert r.returncode == 0 and json.loads(r.stdout)["prune"]["criterion"] == "l2"
    data = str(FIXTURES / "digits_test.npz")
    r = _cli("compress", digits, "--prune-channels", "0.5", "--data", data, "-o", str(out))
    assert r.returncode == 0 and "(by output, refit)" in r.stdout, r.stderr
    r = _cli(
        "compress",
        digits,
        "--prune-channels",
        "0.5",
        "--data",
        data,
        "--no-bias-correction",
        "-o",
        str(out),
        "--json",
    )
    assert r.returncode == 0 and json.loads(r.stdout)["prune"]["compensation"] == "none"
    r = _cli("compress", digits, "--weights", "int4", "--compensation", "bias", "-o", str(out))
    assert r.returncode == 2 and "--compensation makes up for the channels" in r.stderr
    r = _cli(
        "compress", digits, "--prune-channels", "0.5", "--compensation", "bias", "-o", str(out)
    )
    assert r.returncode != 0 and "--compensation bias needs --data" in r.stderr
    r = _cli("compress", digits, "--weights", "int4", "--criterion", "l1", "-o", str(out))
    assert r.returncode == 2 and "--criterion ranks the channels" in r.stderr
    r = _cli("compress", digits, "--prune-channels", "0.5", "--criterion", "output", "-o", str(out))
    assert r.returncode != 0 and "--criterion output needs --data" in r.stderr
    assert "Traceback" not in r.stderr


def test_a_model_with_a_fixed_batch_of_two():
    """A model whose input has a fixed batch of 2: samples go in two at a time (the last
    pair filled up), for int4 with calibration and labels, and for pruning by output
    energy; the compressed models convert and match their golden."""
    from test_kernels_conv import Conv, _conv_model

    from microai.convert import convert
    from microai.engine import Model
    from microai.golden import run_reference
    from microai.prune import prune_channels

    model, _ = _conv_model(Conv("batch2", (2, 6, 5, 3), 8, act="RELU"))
    rng = np.random.default_rng(4)
    xs = rng.integers(-128, 128, (7, 6, 5, 3)).astype(np.int8)  # an odd count
    ys = rng.integers(0, 8, 7)
    for out in (
        compress(model, "b2", data=(xs, ys)).model,
        prune_channels(model, "b2", 0.5, data=(xs, None)).model,
    ):
        x = xs[:2]
        with Model(convert(out, "b2").blob) as m:
            got = m.run(x)
        np.testing.assert_array_equal(got.reshape(-1), run_reference(out, [x])[0].reshape(-1))
