"""A PAD that feeds one convolution becomes that convolution's own padding
(passes/aliases.py): no padded tensor in the arena, no pass over it, the outputs still
both goldens'. Where it cannot (other values, channels or batch padded, more padding than
the filter reaches, a second reader, a model output), the PAD stays an op."""

from __future__ import annotations

import numpy as np
import pytest
import tflite

from microai.convert import convert
from microai.engine import Model
from microai.golden import GOLDENS, run_reference
from microai.testing.tflite_builder import ModelBuilder
from microai.tflite import read_model

SAME, VALID = tflite.Padding.SAME, tflite.Padding.VALID


def pad_conv(
    shape=(1, 9, 8, 3),
    pads=((0, 0), (1, 1), (1, 1), (0, 0)),
    kernel=(3, 3),
    stride=(1, 1),
    dilation=(1, 1),
    padding=VALID,
    depthwise=False,
    out_c=4,
    v2_value: int | None = None,
    also_output=False,
    second_reader=False,
    zp=-5,
    seed=0,
) -> tuple[bytes, np.ndarray]:
    """PAD (or PADV2 with v2_value) then a CONV_2D or DEPTHWISE_CONV_2D, and an input."""
    rng = np.random.default_rng(seed)
    n, h, w, c = shape
    mb = ModelBuilder()
    x = mb.input("x", shape, scale=0.04, zero_point=zp)
    p = np.array(pads, np.int32)
    ph, pw, c = h + p[1].sum(), w + p[2].sum(), c + p[3].sum()
    padded = mb.tensor("padded", (n, ph, pw, c), scale=0.04, zero_point=zp)
    ins = [x, mb.const("p", p)]
    if v2_value is not None:
        ins.append(mb.const("v", np.array([v2_value], np.int8), scale=0.04, zero_point=zp))
    mb.op("PADV2" if v2_value is not None else "PAD", ins, [padded])
    kh, kw = kernel
    eff_h, eff_w = (kh - 1) * dilation[0] + 1, (kw - 1) * dilation[1] + 1
    if padding == SAME:
        oh, ow = -(-ph // stride[0]), -(-pw // stride[1])
    else:
        oh, ow = (ph - eff_h) // stride[0] + 1, (pw - eff_w) // stride[1] + 1
    oc = c if depthwise else out_c
    scales = rng.uniform(0.005, 0.02, oc).astype(np.float32)
    wshape = (1, kh, kw, oc) if depthwise else (oc, kh, kw, c)
    wt = mb.const(
        "w", rng.integers(-127, 128, wshape).astype(np.int8), scale=scales,
        quantized_dimension=3 if depthwise else 0,
    )  # fmt: skip
    b = mb.const(
        "b", rng.integers(-500, 500, oc).astype(np.int32),
        scale=(np.float32(0.04) * scales).astype(np.float32), quantized_dimension=0,
    )  # fmt: skip
    y = mb.tensor("y", (n, oh, ow, oc), scale=0.1, zero_point=3)
    fields = dict(
        Padding=padding, StrideH=stride[0], StrideW=stride[1],
        DilationHFactor=dilation[0], DilationWFactor=dilation[1],
    )  # fmt: skip
    if depthwise:
        mb.op("DEPTHWISE_CONV_2D", [padded, wt, b], [y], "DepthwiseConv2DOptions",
              DepthMultiplier=1, **fields)  # fmt: skip
    else:
        mb.op("CONV_2D", [padded, wt, b], [y], "Conv2DOptions", **fields)
    mb.output(y)
    if also_output:
        mb.output(padded)
    if second_reader:
        z = mb.tensor("z", (n, ph, pw, c), scale=0.04, zero_point=zp)
        mb.op("RELU", [padded], [z])
        mb.output(z)
    xs = rng.integers(-128, 128, shape).astype(np.int8)  # the unpadded input
    return mb.build(), xs


FUSED = {
    "same_1": {},
    "asymmetric_0_1_stride2": dict(pads=((0, 0), (0, 1), (0, 1), (0, 0)), stride=(2, 2)),
    "top_left_2_dilated": dict(pads=((0, 0), (2, 0), (2, 1), (0, 0)), dilation=(2, 2)),
    "pad_and_same": dict(padding=SAME, pads=((0, 0), (1, 0), (0, 1), (0, 0)), stride=(2, 1)),
    "depthwise_stride2": dict(depthwise=True, stride=(2, 2), pads=((0, 0), (1, 1), (1, 1), (0, 0))),
    "padv2_zero_point": dict(v2_value=-5),
    "batch2_5x3": dict(shape=(2, 7, 9, 2), kernel=(5, 3), pads=((0, 0), (2, 2), (1, 1), (0, 0))),
    "height_only": dict(pads=((0, 0), (1, 1), (0, 0), (0, 0))),
    # Leading padding the filter's extent less one (more than SAME gives): 3x3 kernels.
    "dw3x3_lead2": dict(depthwise=True, pads=((0, 0), (2, 0), (0, 2), (0, 0)), shape=(1, 6, 7, 8)),
    "im2col_lead2": dict(pads=((0, 0), (2, 1), (2, 0), (0, 0)), shape=(1, 5, 6, 4)),
}

UNFUSED = {
    "padv2_other_value": dict(v2_value=17),
    "channels_padded": dict(pads=((0, 0), (1, 1), (1, 1), (0, 1))),
    "more_than_the_filter": dict(pads=((0, 0), (3, 3), (1, 1), (0, 0))),
    "window_all_padding": dict(padding=SAME, pads=((0, 0), (1, 0), (0, 2), (0, 0)), stride=(2, 1)),
    "model_output": dict(also_output=True),
    "second_reader": dict(second_reader=True),
}


def _op_types(blob: bytes) -> list[str]:
    from microai.inspect import describe

    return [layer["op"] for layer in describe(blob)["layers"]]


@pytest.mark.parametrize("golden", GOLDENS)
@pytest.mark.parametrize("name", list(FUSED) + list(UNFUSED))
def test_pad_folded_into_the_convolution(name: str, golden: str):
    fused = name in FUSED
    model, x = pad_conv(**(FUSED | UNFUSED)[name])
    c = convert(model, name, golden)
    types = _op_types(c.blob)
    assert ("PAD" not in types) == fused, types
    want = run_reference(model, [x], golden)
    with Model(c.blob) as m:
        got = m.run(x)
    for g, w in zip(got if len(want) > 1 else [got], want, strict=True):
        np.testing.assert_array_equal(g.reshape(w.shape), w)


def test_fused_pad_saves_the_padded_tensor():
    model, _ = pad_conv(shape=(1, 32, 32, 8), pads=((0, 0), (1, 1), (1, 1), (0, 0)))
    fused = convert(model, "m")
    x, padded, y = 32 * 32 * 8, 34 * 34 * 8, 32 * 32 * 4
    assert [layer.opcode for layer in fused.layers] == ["CONV_2D"]
    # At most the input, the output and the conv's scratch (PAD's op held x and padded).
    assert fused.arena_size <= x + y + fused.layers[0].scratch + 16 < x + padded


@pytest.mark.parametrize("board", ["QEMU_STM32F405", "QEMU_STM32F205", "QEMU_M7"])
def test_pad_fixture_on_boards(board):
    """make_layout_fixtures.py's pad_mobilenet (a converter's PAD before a stride-2
    VALID conv, PyTorch's padding=1) runs with the PAD folded in, bit-exact with the host
    engine and TFLite-Micro."""
    from microai.hil import hil
    from microai.paths import FIXTURES_DIR

    model = (FIXTURES_DIR / "pad_mobilenet.tflite").read_bytes()
    assert "PAD" in [op.opcode for op in read_model(model, "pad_mobilenet").ops]
    r = hil(model, board, n_inputs=2, seed=3, name="pad_mobilenet", count=False)
    assert r["mismatches"] == 0 and r["reference_mismatches"] == 0
    assert "PAD" not in [layer["op"] for layer in r["layers"]]
