"""Block-sparse int8 weights (S8_BLOCK4) and the zero-skipping kernels CONV_PW_S8_BLOCK4,
CONV_IM2COL_S8_BLOCK4 and FC_S8_BLOCK4: the oracle is the dense kernel on the same
weights, byte for byte, through whole blobs (host/microai/engine.Model). Cases are data:
odd channels, k not a multiple of 4, stride 2 and padding, per-tensor and per-channel,
rows with no block, no block at all (nnz 0), every block, FC batches of 1, 2 and 3. The
same cases run again on the DSP-shaped loops (MICROAI_DSP_EMULATE=1, a subprocess) and
on the emulated boards (test_board_kernels.py). The loader's refusals of lying metadata
are here too, each with its message.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import tflite

from microai import blob as B
from microai import layouts, native
from microai.convert import convert
from microai.recipe import Recipe
from microai.testing.tflite_builder import ModelBuilder

ACT = tflite.ActivationFunctionType
PAD = {"SAME": tflite.Padding.SAME, "VALID": tflite.Padding.VALID}
HERE = Path(__file__).parent


@dataclass(frozen=True)
class Case:
    """A CONV_2D (kernel given) or FULLY_CONNECTED (kernel None) layer, and its blocks:
    `zero` the fraction of blocks of 4 zeroed at random, `rows` the rows zeroed whole."""

    name: str
    shape: tuple[int, ...]  # input: NHWC, or [batches, depth] for FC
    out: int
    kernel: tuple[int, int] | None = (1, 1)
    stride: tuple[int, int] = (1, 1)
    padding: str = "VALID"
    per_channel: bool = True
    bias: bool = True
    act: str = "NONE"
    in_zp: int = -3
    out_zp: int = 5
    zero: float = 0.5
    rows: tuple[int, ...] = ()
    w_zp: int = 0  # FC only

    @property
    def fc(self) -> bool:
        return self.kernel is None

    @property
    def algorithm(self) -> str:
        if self.fc:
            return "direct_sparse"
        pw = self.kernel == (1, 1) and self.stride == (1, 1) and self.padding == "VALID"
        return "pointwise_sparse" if pw else "im2col_sparse"


CASES = [
    Case("pw_odd_channels", (1, 5, 3, 7), 9),
    Case("pw_multiple_of_4", (1, 4, 4, 16), 8, zero=0.75),
    Case("pw_per_tensor", (1, 3, 5, 12), 5, per_channel=False, zero=0.3),
    Case("pw_no_bias_relu", (1, 2, 3, 8), 6, bias=False, act="RELU", in_zp=-128, out_zp=-128),
    Case("pw_zero_rows", (1, 3, 3, 9), 7, rows=(0, 3, 6)),
    Case("pw_empty", (1, 3, 2, 8), 4, zero=1.0),
    Case("pw_dense", (1, 3, 3, 6), 5, zero=0.0),
    Case("pw_one_pixel", (1, 1, 1, 8), 3),
    Case("pw_batch2", (2, 2, 3, 5), 4, zero=0.6),
    Case("im2col_3x3_same", (1, 6, 6, 3), 5, (3, 3), padding="SAME"),
    Case("im2col_stride2_pad", (1, 7, 9, 4), 6, (3, 3), (2, 2), "SAME", zero=0.75),
    Case("im2col_5x2_odd", (1, 8, 7, 5), 3, (5, 2), (2, 1), per_channel=False),
    Case("im2col_1x1_stride2", (1, 7, 7, 4), 3, (1, 1), (2, 2)),
    Case("im2col_zero_rows", (1, 5, 5, 8), 6, (3, 3), padding="SAME", rows=(1, 5)),
    Case("im2col_empty", (1, 4, 4, 3), 2, (3, 3), zero=1.0),
    Case("im2col_dense", (1, 5, 4, 2), 3, (3, 3), padding="SAME", zero=0.0),
    Case("im2col_relu6", (2, 5, 5, 4), 4, (3, 3), (2, 2), "SAME", act="RELU6", in_zp=127),
    Case("fc_batch1", (1, 37), 10, None),
    Case("fc_batch1_wide", (1, 203), 17, None, zero=0.4),
    Case("fc_batch2_per_channel", (2, 16), 7, None, zero=0.75),
    Case("fc_batch3_odd", (3, 13), 5, None, per_channel=False, act="RELU"),
    Case("fc_zero_rows", (2, 24), 6, None, rows=(2, 3)),
    Case("fc_empty", (2, 9), 3, None, zero=1.0),
    Case("fc_dense_no_bias", (1, 11), 4, None, zero=0.0, bias=False),
    Case("fc_weights_zero_point", (2, 10), 5, None, per_channel=False, w_zp=3),
]


def _sparse_weights(c: Case, rng, shape: tuple[int, ...]) -> np.ndarray:
    """Weights with no zero tap, then blocks of 4 (rows padded) zeroed as the case says."""
    rows = shape[0]
    k = int(np.prod(shape[1:]))
    w = rng.integers(1, 128, (rows, k)) * rng.choice([-1, 1], (rows, k))
    blocks = -(-k // 4)
    keep = rng.random((rows, blocks)) >= c.zero
    keep[list(c.rows), :] = False
    mask = np.repeat(keep, 4, axis=1)[:, :k]
    return (w * mask).astype(np.int8).reshape(shape)


def _model(c: Case) -> tuple[bytes, np.ndarray, np.ndarray]:
    """The one-layer model, its input, and its weights."""
    rng = np.random.default_rng(sum(map(ord, c.name)))
    k = c.shape[-1] * (1 if c.fc else c.kernel[0] * c.kernel[1])
    w_scales = rng.uniform(0.002, 0.02, c.out if c.per_channel else 1).astype(np.float32)
    acc_std = 74.0 * 74.0 * np.sqrt(k)
    real_std = float(rng.uniform(2.0, 4.0))
    in_scale = real_std / (acc_std * float(np.mean(w_scales)))
    out_scale = real_std / 40.0
    mb = ModelBuilder()
    x = mb.input("x", c.shape, scale=in_scale, zero_point=c.in_zp)
    if c.fc:
        w = _sparse_weights(c, rng, (c.out, c.shape[-1]))
        wt = mb.const("w", w, scale=w_scales, zero_point=c.w_zp)
        out_shape: tuple[int, ...] = (c.shape[0], c.out)
    else:
        w = _sparse_weights(c, rng, (c.out, *c.kernel, c.shape[-1]))
        wt = mb.const("w", w, scale=w_scales, quantized_dimension=0)
        n, h, wd, _ = c.shape

        def size(s, kk, st):
            return -(-s // st) if c.padding == "SAME" else (s - kk) // st + 1

        out_shape = (
            n,
            size(h, c.kernel[0], c.stride[0]),
            size(wd, c.kernel[1], c.stride[1]),
            c.out,
        )
    inputs = [x, wt]
    if c.bias:
        bias = rng.uniform(-acc_std, acc_std, c.out).astype(np.int32)
        inputs.append(mb.const("b", bias, scale=(np.float32(in_scale) * w_scales)))
    else:
        inputs.append(-1)
    y = mb.tensor("y", out_shape, scale=out_scale, zero_point=c.out_zp)
    if c.fc:
        mb.op(
            "FULLY_CONNECTED",
            inputs,
            [y],
            "FullyConnectedOptions",
            FusedActivationFunction=getattr(ACT, c.act),
        )
    else:
        mb.op(
            "CONV_2D",
            inputs,
            [y],
            "Conv2DOptions",
            Padding=PAD[c.padding],
            StrideH=c.stride[0],
            StrideW=c.stride[1],
            FusedActivationFunction=getattr(ACT, c.act),
        )
    mb.output(y)
    return mb.build(), rng.integers(-128, 128, c.shape).astype(np.int8), w


def _convert(model: bytes, algorithm: str = "auto", name: str = "sparse"):
    recipe = Recipe.from_dict({"layers": {"0": {"algorithm": algorithm}}})
    return convert(model, name, recipe=recipe)


def _run(blob: bytes, x: np.ndarray) -> np.ndarray:
    from microai.engine import Model

    with Model(blob) as m:
        return m.run(x)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_sparse_equals_dense(case: Case):
    """The sparse kernel's output is the dense kernel's, byte for byte."""
    model, x, _ = _model(case)
    dense = _convert(model)
    sparse = _convert(model, case.algorithm)
    (d,), (s,) = dense.layers, sparse.layers
    assert s.kernel.endswith("_BLOCK4") and not d.kernel.endswith("_BLOCK4")
    np.testing.assert_array_equal(_run(sparse.blob, x), _run(dense.blob, x))


def test_block4_layout_bytes():
    """nn_block4_prepare(): the docs' example (rows 2, k 6), byte for byte."""
    w = np.array([[1, 2, 3, 4, 0, 0], [0, 0, 0, 0, 5, 0]], np.int8)
    p = layouts.prepare("s8_block4", w)
    assert p.data == bytes([1, 2, 3, 4, 5, 0, 0, 0])
    assert p.aux == bytes.fromhex("00000000 01000000 02000000 0000 0100")
    assert layouts.nbytes("s8_block4", w.shape, w) == 8
    assert layouts.density(w) == 0.5
    empty = layouts.prepare("s8_block4", np.zeros((3, 5), np.int8))
    assert empty.data == b"" and empty.aux == bytes(16)
    odd = layouts.prepare("s8_block4", np.array([[0, 0, 0, 0, 0, 7]], np.int8))
    assert odd.data == bytes([0, 7, 0, 0]) and odd.aux == bytes.fromhex(
        "00000000 01000000 01000000"
    )


# ---- the loader refuses lying metadata ----------------------------------------------------


def _blob_and_weights(case: Case):
    model, x, w = _model(case)
    conv = _convert(model, case.algorithm)
    b = bytearray(conv.blob)
    h = B.HEADER.unpack(b, 0)
    op = B.OP.unpack(b, h["ops_offset"])
    wid = int.from_bytes(b[op["io_offset"] + 2 : op["io_offset"] + 4], "little")
    at = h["tensors_offset"] + wid * B.TENSOR.size
    return b, at, B.TENSOR.unpack(b, at), wid


def _put32(b, at, v):
    b[at : at + 4] = (v & 0xFFFFFFFF).to_bytes(4, "little")


def _field(at, name):
    return at + B.TENSOR.offsets()[name]


def _lie_row_start0(b, at, t):
    _put32(b, t["aux_offset"], 1)


def _lie_not_monotonic(b, at, t):
    _put32(b, t["aux_offset"] + 4, 0xFFFF)  # row 0 ends past row 1's end


def _lie_nnz(b, at, t):
    rows = t["dims"][4 - t["rank"]]
    end = t["aux_offset"] + 4 * rows
    _put32(b, end, int.from_bytes(b[end : end + 4], "little") - 1)


def _lie_index_range(b, at, t):
    rows = t["dims"][4 - t["rank"]]
    idx = t["aux_offset"] + 4 * (rows + 1)
    b[idx : idx + 2] = (1000).to_bytes(2, "little")


def _lie_index_order(b, at, t):
    rows = t["dims"][4 - t["rank"]]
    idx = t["aux_offset"] + 4 * (rows + 1)
    b[idx + 2 : idx + 4] = b[idx : idx + 2]  # row 0's second block repeats its first


def _lie_size(b, at, t):
    _put32(b, _field(at, "size"), t["size"] - 4)


def _lie_aux_size(b, at, t):
    _put32(b, _field(at, "aux_size"), t["aux_size"] - 4)


def _lie_no_aux(b, at, t):
    _put32(b, _field(at, "aux_size"), 0)
    _put32(b, _field(at, "aux_offset"), 0)


def _lie_storage(b, at, t):
    b[_field(at, "storage")] = B.STORAGES["s16"]


def _lie_dense_kernel(b, at, t):
    h = B.HEADER.unpack(b, 0)
    b[h["ops_offset"] + 1] = native.load()[1].NN_KERNEL_CONV_PW_S8


LIES = {
    "row_start0": (_lie_row_start0, "layout"),
    "not_monotonic": (_lie_not_monotonic, "layout"),
    "nnz": (_lie_nnz, "size"),
    "index_range": (_lie_index_range, "layout"),
    "index_order": (_lie_index_order, "layout"),
    "size": (_lie_size, "size"),
    "aux_size": (_lie_aux_size, "size"),
    "no_aux": (_lie_no_aux, "size"),
    "storage": (_lie_storage, "layout"),
    "dense_kernel": (_lie_dense_kernel, "layout"),
}


@pytest.mark.parametrize("lie", LIES, ids=str)
def test_lying_metadata_refused(lie: str):
    """Every lie in the metadata is refused at load, naming the tensor (or op) and the
    check."""
    from microai.engine import Model, ModelError

    case = Case("lie", (1, 2, 2, 16), 4, zero=0.25)
    b, at, t, wid = _blob_and_weights(case)
    assert t["layout"] == B.LAYOUTS["block_sparse"]
    fn, word = LIES[lie]
    fn(b, at, t)
    b[12:16] = B.crc32(b).to_bytes(4, "little")
    with pytest.raises(ModelError) as e:
        Model(bytes(b))
    msg = str(e.value)
    assert word in msg, msg
    if lie != "dense_kernel":
        assert f"tensor {wid}" in msg, msg


def test_sparse_refused_when_unsupported():
    """A recipe's sparse algorithm on an op its kernel cannot take is a ConvertError that
    names the layer and the reason."""
    from microai.ir import ConvertError

    model, _, _ = _model(Case("pad", (1, 4, 4, 4), 3, (3, 3), padding="SAME"))
    with pytest.raises(ConvertError, match="pointwise_sparse.*1x1"):
        _convert(model, "pointwise_sparse")


# ---- the cost model's choice ----------------------------------------------------------


@pytest.mark.parametrize(
    ("zero", "dsp", "want"),
    [
        (0.75, True, "CONV_PW_S8_BLOCK4"),
        (0.75, False, "CONV_PW_S8_BLOCK4"),
        (0.10, True, "CONV_PW_S8W16"),  # too dense: widened weights pay on the DSP
        (0.10, False, "CONV_PW_S8"),
        (0.0, True, "CONV_PW_S8W16"),
        (0.75, True, "FC_S8_BLOCK4"),
        (0.75, False, "FC_S8_BLOCK4"),
        (0.0, True, "FC_S8"),
        (0.0, False, "FC_S8"),
    ],
)
def test_board_target_picks_sparse_past_break_even(zero: float, dsp: bool, want: str):
    """For a board, a layer gets the block-sparse kernel when the cost model says it runs
    fewer instructions (well past the break-even: 75 % of the blocks zero), never when
    its weights are dense; the blob is bit-exact either way and smaller when sparse."""
    from microai.boards import Target

    if want.startswith("FC"):
        case = Case("choose_fc", (1, 256), 64, None, zero=zero)
    else:
        case = Case("choose", (1, 5, 5, 64), 64, zero=zero)
    model, x, _ = _model(case)
    base = _convert(model)
    got = convert(model, "choose", target=Target("t", dsp, None))
    assert got.layers[0].kernel == want
    np.testing.assert_array_equal(_run(got.blob, x), _run(base.blob, x))
    if want.endswith("_BLOCK4"):
        assert len(got.blob) < len(base.blob)


def test_sparse_taken_within_a_tight_budget():
    """Block-sparse weights save bytes: a budget too small for widened weights still
    takes them."""
    from microai.boards import Target

    model, _, _ = _model(Case("budget", (1, 5, 5, 32), 32, zero=0.8))
    base = _convert(model)
    got = convert(model, "budget", target=Target("t", True, len(base.blob)))
    assert got.layers[0].kernel == "CONV_PW_S8_BLOCK4"


def test_cost_model_break_even():
    """The modelled break-even of KWS's pointwise layers (k = 64, 125 pixels) is what
    `microai hil` measures (tests/bench/sparsity.py) within 2 points: 83 % of the blocks
    stored on the F405, 79 % on the F205."""
    from microai import cost

    macs, outputs = 64 * 64 * 125, 64 * 125

    def even(dsp: bool) -> float:
        dense = cost.inner_instructions("CONV_PW_S8", dsp, macs, 1.0, outputs, 125)
        lo, hi = 0.0, 1.0
        for _ in range(40):
            mid = (lo + hi) / 2
            s = cost.inner_instructions("CONV_PW_S8_BLOCK4", dsp, macs, mid, outputs, 125)
            lo, hi = (mid, hi) if s < dense else (lo, mid)
        return lo

    assert 0.81 <= even(True) <= 0.85
    assert 0.77 <= even(False) <= 0.81


def test_cost_model_break_even_fc():
    """The modelled break-even of a 256-input, 64-output FC layer (one batch row) is what
    `microai hil` measures within 2 points (make bench-sparsity's FC rows): 92 % of the
    blocks stored on the F405, 96 % on the F205."""
    from microai import cost

    def even(dsp: bool) -> float:
        dense = cost.inner_instructions("FC_S8", dsp, 256 * 64, 1.0, 64, 1)
        lo, hi = 0.0, 1.0
        for _ in range(40):
            mid = (lo + hi) / 2
            s = cost.inner_instructions("FC_S8_BLOCK4", dsp, 256 * 64, mid, 64, 1)
            lo, hi = (mid, hi) if s < dense else (lo, mid)
        return lo

    assert 0.90 <= even(True) <= 0.94
    assert 0.94 <= even(False) <= 0.98
