"""CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED: the C kernels against both goldens
(TFLite-Micro and LiteRT's reference kernels), byte for byte. FULLY_CONNECTED is where
they differ: double rounding for TFLite-Micro, single for LiteRT; the C kernel is run
with the rounding of the golden it is compared with (golden.rounding).

Each case is data: a one-op int8 model is built with ModelBuilder, read with
read_model, lowered with ops.lower, and its C wrapper is called through cffi with the
lowered params (packed with native.pack), multipliers and scratch size. The same models
also go through convert() + the blob executor (mai_ops_conv.c).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pytest
import tflite

from microai import blob as B
from microai import native, ops
from microai.golden import DEFAULT_GOLDEN, GOLDENS, GoldenError, rounding, run_reference
from microai.ir import ConvertError
from microai.testing.tflite_builder import ModelBuilder
from microai.tflite import read_model

ACT = tflite.ActivationFunctionType
PAD = {"SAME": tflite.Padding.SAME, "VALID": tflite.Padding.VALID}


@dataclass(frozen=True)
class Conv:
    """A CONV_2D (dm == 0) or DEPTHWISE_CONV_2D (dm >= 1) case."""

    name: str
    shape: tuple[int, int, int, int]  # input NHWC
    out_c: int = 0  # conv only
    kernel: tuple[int, int] = (3, 3)
    stride: tuple[int, int] = (1, 1)
    dilation: tuple[int, int] = (1, 1)
    padding: str = "SAME"
    act: str = "NONE"
    in_zp: int = -3
    out_zp: int = 5
    per_channel: bool = True
    bias: bool = True
    dm: int = 0
    seed: int = 0
    expect_kernel: str | None = None
    w_max: int = 127  # weights in [-w_max, w_max]
    out_gain: float = 1.0  # output scale divided by this: larger multipliers


CONV_CASES = [
    Conv("3x3_same", (1, 8, 8, 3), 5),
    Conv("3x3_valid_stride2", (1, 9, 7, 4), 7, stride=(2, 2), padding="VALID"),
    Conv("5x3_stride_2x1", (1, 10, 9, 1), 3, kernel=(5, 3), stride=(2, 1)),
    Conv("dilated", (1, 11, 10, 3), 4, dilation=(2, 3)),
    Conv("dilated_valid", (1, 12, 12, 2), 5, dilation=(2, 2), padding="VALID"),
    Conv("odd_pad", (1, 6, 7, 5), 6, kernel=(4, 2), stride=(3, 2)),
    Conv("per_tensor", (1, 6, 6, 7), 3, per_channel=False),
    Conv("no_bias", (1, 5, 5, 3), 2, bias=False),
    Conv("relu", (1, 7, 7, 3), 4, act="RELU", in_zp=-128, out_zp=-128),
    Conv("relu6", (1, 7, 7, 3), 4, act="RELU6", in_zp=127, out_zp=-128),
    Conv("relu_n1_to_1", (1, 6, 6, 2), 3, act="RELU_N1_TO_1", out_zp=127),
    Conv("batch2", (2, 5, 6, 3), 4, stride=(2, 2)),
    Conv("1x1_pw", (1, 6, 5, 7), 9, kernel=(1, 1), expect_kernel="CONV_PW_S8"),
    Conv(
        "1x1_pw_batch2",
        (2, 3, 3, 5),
        1,
        kernel=(1, 1),
        per_channel=False,
        bias=False,
        expect_kernel="CONV_PW_S8",
    ),
    Conv(
        "1x1_stride2", (1, 7, 7, 4), 3, kernel=(1, 1), stride=(2, 2), expect_kernel="CONV_IM2COL_S8"
    ),
    Conv("3x3_im2col", (1, 5, 5, 3), 3, expect_kernel="CONV_IM2COL_S8"),
    Conv("1x1_out1", (1, 1, 1, 16), 1, kernel=(1, 1), expect_kernel="CONV_PW_S8"),
    Conv("big_k", (1, 6, 6, 32), 8, kernel=(3, 3), in_zp=100, out_zp=-100),
    # Awkward shapes for the GEMM kernels' paths (nn_dot.h, nn_conv_gemm_s8.c): odd
    # pixel and channel counts, taps not a multiple of 4, one channel, stride 2 with
    # padding on every side, an odd number of 4-tap groups, shifts >= 0.
    Conv("1x1_odd_pixels_odd_out", (1, 3, 5, 8), 5, kernel=(1, 1), expect_kernel="CONV_PW_S8"),
    Conv("1x1_in1_out1", (1, 2, 3, 1), 1, kernel=(1, 1), expect_kernel="CONV_PW_S8"),
    Conv("1x1_in12_relu", (1, 4, 3, 12), 6, kernel=(1, 1), act="RELU", out_zp=-20),
    Conv("in4_stride2_pad", (1, 7, 6, 4), 3, stride=(2, 2)),
    Conv("in4_groups_odd", (1, 5, 5, 4), 7, in_zp=-128),
    Conv("in1_10x4_stride2", (1, 12, 6, 1), 6, kernel=(5, 4), stride=(2, 2)),
    Conv("in1_out1", (1, 4, 4, 1), 1, in_zp=127),
    Conv("in3_dilated_relu6", (2, 6, 7, 3), 5, dilation=(2, 1), act="RELU6", out_zp=-128),
    Conv("in2_wide_stride", (1, 5, 9, 2), 4, kernel=(2, 5), stride=(1, 3)),
    Conv("1x1_shift_ge0", (1, 5, 4, 2), 6, kernel=(1, 1), w_max=1, out_gain=150.0),
    Conv("3x3_shift_ge0", (1, 5, 5, 1), 4, w_max=1, out_gain=400.0, in_zp=0),
    # k = 3 * 3 * 7300 = 65,700 taps: past one block of the host's signed sums (nn_dot.h).
    Conv("taps_past_one_sum_block", (1, 3, 3, 7300), 3, padding="VALID", seed=5),
]

DW_CASES = [
    Conv("dw3x3", (1, 8, 8, 5), dm=1, expect_kernel="DW_CONV_3X3_S8"),
    Conv(
        "dw3x3_stride2_valid",
        (1, 9, 8, 3),
        dm=1,
        stride=(2, 2),
        padding="VALID",
        expect_kernel="DW_CONV_3X3_S8",
    ),
    Conv("dw3x3_stride2_same", (1, 8, 7, 7), dm=1, stride=(2, 2), expect_kernel="DW_CONV_3X3_S8"),
    Conv("dw3x3_tiny", (1, 2, 1, 3), dm=1, stride=(1, 1), expect_kernel="DW_CONV_3X3_S8"),
    Conv(
        "dw3x3_relu6_per_tensor",
        (2, 5, 6, 4),
        dm=1,
        act="RELU6",
        per_channel=False,
        expect_kernel="DW_CONV_3X3_S8",
    ),
    Conv("dw3x3_no_bias_zp", (1, 6, 6, 1), dm=1, bias=False, in_zp=127, out_zp=0),
    Conv("dw_dm2", (1, 7, 7, 3), dm=2, expect_kernel="DW_CONV_S8"),
    Conv("dw_dm3_5x5", (1, 8, 9, 2), dm=3, kernel=(5, 5), stride=(2, 2)),
    Conv("dw_dilated", (1, 10, 10, 3), dm=1, dilation=(2, 2), expect_kernel="DW_CONV_S8"),
    Conv("dw_dilated_wide", (1, 3, 3, 2), dm=1, dilation=(3, 3), kernel=(3, 3)),
    Conv("dw_3x1_relu", (1, 6, 5, 4), dm=1, kernel=(3, 1), act="RELU", in_zp=-128),
    # Channel counts around the groups of four, strides per axis, padding only after
    # (stride 2 on an even size), inputs smaller than the filter, generic shapes.
    Conv("dw3x3_ch6_pad_after", (1, 8, 8, 6), dm=1, stride=(2, 2), expect_kernel="DW_CONV_3X3_S8"),
    Conv("dw3x3_ch2_stride_1x2", (1, 5, 9, 2), dm=1, stride=(1, 2), expect_kernel="DW_CONV_3X3_S8"),
    Conv(
        "dw3x3_ch9_stride_2x1_valid",
        (1, 9, 6, 9),
        dm=1,
        stride=(2, 1),
        padding="VALID",
        expect_kernel="DW_CONV_3X3_S8",
    ),
    Conv("dw3x3_1x1_input", (1, 1, 1, 5), dm=1, in_zp=60, expect_kernel="DW_CONV_3X3_S8"),
    Conv(
        "dw3x3_wide_relu_ch8",
        (1, 3, 17, 8),
        dm=1,
        act="RELU",
        in_zp=-128,
        out_zp=-128,
        expect_kernel="DW_CONV_3X3_S8",
    ),
    Conv("dw_dm2_stride2_ch5", (1, 7, 8, 5), dm=2, stride=(2, 2), expect_kernel="DW_CONV_S8"),
    Conv("dw_5x5_ch6", (1, 9, 9, 6), dm=1, kernel=(5, 5), expect_kernel="DW_CONV_S8"),
    Conv(
        "dw_dilated_ch7_stride2",
        (1, 11, 10, 7),
        dm=1,
        dilation=(2, 1),
        stride=(2, 2),
        expect_kernel="DW_CONV_S8",
    ),
    Conv("dw_5x5_tiny_input", (1, 1, 2, 4), dm=1, kernel=(5, 5), expect_kernel="DW_CONV_S8"),
    Conv("dw_dm4_1x3_valid", (1, 4, 6, 1), dm=4, kernel=(1, 3), padding="VALID"),
    Conv("dw_dm5_ch3", (1, 6, 5, 3), dm=5, stride=(2, 1), expect_kernel="DW_CONV_S8"),
    # micro_speech's shape, smaller: one channel, multiplier 8, a 10x8 filter, stride 2
    Conv("dw_dm8_10x8", (1, 13, 12, 1), dm=8, kernel=(10, 8), stride=(2, 2), act="RELU"),
    Conv(
        "dw_n1_to_1_batch2",
        (2, 4, 4, 3),
        dm=2,
        kernel=(2, 2),
        act="RELU_N1_TO_1",
        padding="VALID",
        per_channel=False,
    ),
]


@dataclass(frozen=True)
class Fc:
    name: str
    in_shape: tuple[int, ...]
    units: int
    act: str = "NONE"
    in_zp: int = 4
    out_zp: int = -7
    w_zp: int = 0
    per_channel: bool = False
    bias: bool = True
    keep_num_dims: bool = False
    seed: int = 0


FC_CASES = [
    Fc("basic", (1, 16), 10),
    Fc("in1_odd_units", (3, 1), 5),
    Fc("odd_units_per_channel", (2, 13), 7, per_channel=True, in_zp=-128),
    Fc("odd", (1, 7), 5, act="RELU"),
    Fc("batch3", (3, 13), 4, act="RELU6", in_zp=-128, out_zp=-128),
    Fc("flatten_4d", (2, 2, 3, 4), 3),
    Fc("keep_num_dims", (1, 3, 6), 5, keep_num_dims=True),
    Fc("per_channel", (2, 9), 6, per_channel=True),
    Fc("no_bias", (1, 33), 1, bias=False, in_zp=127, out_zp=127),
    Fc("relu_n1_to_1", (1, 20), 8, act="RELU_N1_TO_1"),
]


# ---- building the models ----------------------------------------------------------------


def _out_size(size: int, k: int, stride: int, dilation: int, padding: str) -> int:
    eff = (k - 1) * dilation + 1
    return -(-size // stride) if padding == "SAME" else (size - eff) // stride + 1


def _scales(rng, act: str, taps: int, w_scales: np.ndarray) -> tuple[float, float, float]:
    """Input and output scales that spread the results over the int8 range, or over the
    clamp range of RELU_N1_TO_1; and the accumulator's typical size."""
    acc_std = 74.0 * 74.0 * np.sqrt(taps)
    real_std = 0.7 if act == "RELU_N1_TO_1" else float(rng.uniform(2.0, 4.0))
    in_scale = real_std / (acc_std * float(np.mean(w_scales)))
    out_scale = 1.0 / 90.0 if act == "RELU_N1_TO_1" else real_std / 40.0
    return in_scale, out_scale, acc_std


def _conv_model(c: Conv, golden: bool = False) -> tuple[bytes, np.ndarray]:
    """The case's model and input. golden=True: with a zero bias instead of none, since
    LiteRT's int8 CONV_2D and DEPTHWISE_CONV_2D refuse an omitted bias."""
    rng = np.random.default_rng(c.seed + sum(map(ord, c.name)))
    n, h, w, ch = c.shape
    kh, kw = c.kernel
    dw = c.dm > 0
    out_c = ch * c.dm if dw else c.out_c
    oh = _out_size(h, kh, c.stride[0], c.dilation[0], c.padding)
    ow = _out_size(w, kw, c.stride[1], c.dilation[1], c.padding)
    w_scales = rng.uniform(0.002, 0.02, out_c if c.per_channel else 1).astype(np.float32)
    weights = rng.integers(-c.w_max, c.w_max + 1, (1, kh, kw, out_c) if dw else (out_c, kh, kw, ch))
    taps = kh * kw * (1 if dw else ch)
    in_scale, out_scale, acc_std = _scales(rng, c.act, taps, w_scales)
    out_scale /= c.out_gain
    bias = (rng.uniform(-acc_std, acc_std, out_c) * c.w_max / 127).astype(np.int32)
    mb = ModelBuilder()
    x = mb.input("x", c.shape, scale=in_scale, zero_point=c.in_zp)
    wt = mb.const("w", weights.astype(np.int8), scale=w_scales, quantized_dimension=3 if dw else 0)
    inputs = [x, wt]
    if c.bias or golden:
        bias_scale = (np.float32(in_scale) * w_scales).astype(np.float32)
        bias = bias if c.bias else np.zeros_like(bias)
        inputs.append(mb.const("b", bias, scale=bias_scale, quantized_dimension=0))
    else:
        inputs.append(-1)  # an omitted optional bias
    y = mb.tensor("y", (n, oh, ow, out_c), scale=out_scale, zero_point=c.out_zp)
    fields = dict(
        Padding=PAD[c.padding],
        StrideH=c.stride[0],
        StrideW=c.stride[1],
        DilationHFactor=c.dilation[0],
        DilationWFactor=c.dilation[1],
        FusedActivationFunction=getattr(ACT, c.act),
    )
    if dw:
        mb.op(
            "DEPTHWISE_CONV_2D",
            inputs,
            [y],
            "DepthwiseConv2DOptions",
            DepthMultiplier=c.dm,
            **fields,
        )
    else:
        mb.op("CONV_2D", inputs, [y], "Conv2DOptions", **fields)
    mb.output(y)
    return mb.build(), rng.integers(-128, 128, c.shape).astype(np.int8)


def _fc_model(c: Fc) -> tuple[bytes, np.ndarray]:
    rng = np.random.default_rng(c.seed + sum(map(ord, c.name)))
    depth = c.in_shape[-1] if c.keep_num_dims else int(np.prod(c.in_shape[1:]))
    batches = int(np.prod(c.in_shape)) // depth
    w_scales = rng.uniform(0.002, 0.02, c.units if c.per_channel else 1).astype(np.float32)
    in_scale, out_scale, acc_std = _scales(rng, c.act, depth, w_scales)
    mb = ModelBuilder()
    x = mb.input("x", c.in_shape, scale=in_scale, zero_point=c.in_zp)
    weights = rng.integers(-127, 128, (c.units, depth)).astype(np.int8)
    inputs = [x, mb.const("w", weights, scale=w_scales, zero_point=c.w_zp)]
    if c.bias:
        bias = rng.uniform(-acc_std, acc_std, c.units).astype(np.int32)
        inputs.append(mb.const("b", bias, scale=(np.float32(in_scale) * w_scales)))
    else:
        inputs.append(-1)
    out_shape = (*c.in_shape[:-1], c.units) if c.keep_num_dims else (batches, c.units)
    y = mb.tensor("y", out_shape, scale=out_scale, zero_point=c.out_zp)
    mb.op(
        "FULLY_CONNECTED",
        inputs,
        [y],
        "FullyConnectedOptions",
        FusedActivationFunction=getattr(ACT, c.act),
        KeepNumDims=c.keep_num_dims,
    )
    mb.output(y)
    return mb.build(), rng.integers(-128, 128, c.in_shape).astype(np.int8)


# ---- running the C kernels ----------------------------------------------------------------


def _lower(model: bytes, golden: str = DEFAULT_GOLDEN):
    graph = read_model(model)
    assert len(graph.ops) == 1
    return graph, ops.lower(graph, graph.ops[0], golden)


def _ptr(ffi, ctype: str, a: np.ndarray | None):
    return ffi.NULL if a is None else ffi.cast(ctype, ffi.from_buffer(a))


def _c_run(
    graph, low, x: np.ndarray, wrapper: str | None = None, golden: str = DEFAULT_GOLDEN
) -> np.ndarray:
    """Call the C function of low.type (or `wrapper`) with the lowered arguments and the
    rounding of `golden`."""
    ffi, lib = native.load()
    params_buf = bytearray(native.pack(low.params_type, low.params))
    params = ffi.from_buffer(low.params_type + " *", params_buf)
    w = graph.t(low.inputs[1]).data
    b = graph.t(low.inputs[2]).data if low.inputs[2] >= 0 else None
    mult, shift = low.inputs[3], low.inputs[4]
    q = ffi.new(
        "nn_quant *",
        {
            "multiplier": _ptr(ffi, "int32_t *", mult),
            "shift": _ptr(ffi, "int32_t *", shift),
            "per_channel": int(mult.size > 1),
            "rounding": B.ROUNDINGS[rounding(golden, low.type)],
        },
    )
    y_t = graph.t(low.outputs[0])
    y = np.full(y_t.shape, 0x55, np.int8)
    xin, wp, bp, yp = (
        _ptr(ffi, "int8_t *", x),
        _ptr(ffi, "int8_t *", w),
        _ptr(ffi, "int32_t *", b),
        _ptr(ffi, "int8_t *", y),
    )
    if low.type == "FC":
        units, depth = w.shape
        st = lib.nn_fc_s8(params, q, x.size // depth, depth, xin, units, wp, bp, yp)
    else:
        dims = [
            ffi.new("nn_dims *", dict(zip("nhwc", s, strict=True)))
            for s in (x.shape, w.shape, y.shape)
        ]
        fn = wrapper or {"CONV": "nn_conv_s8", "DWCONV": "nn_dw_conv_wrapper_s8"}[low.type]
        size = low.scratch
        if wrapper and hasattr(lib, fn + "_scratch_size"):  # a kernel's own need
            size = getattr(lib, fn + "_scratch_size")(params, *dims)
        scratch = np.zeros(size // 4 + 1, np.int32)  # 4-byte aligned
        args = [params, q, dims[0], xin, dims[1], wp, bp, dims[2], yp]
        if fn in (
            "nn_conv_s8",
            "nn_dw_conv_wrapper_s8",
            "nn_conv_im2col_s8",
            "nn_conv_pw_s8",
            "nn_dw_conv_3x3_s8",
            "nn_dw_conv_s8",
        ):
            args += [_ptr(ffi, "void *", scratch), size]
        st = getattr(lib, fn)(*args)
    assert st == lib.NN_OK
    return y


def _check(
    model: bytes,
    x: np.ndarray,
    expect_kernel: str | None = None,
    golden_model: bytes | None = None,
    golden: str = DEFAULT_GOLDEN,
):
    graph, low = _lower(model, golden)
    if expect_kernel:
        assert low.kernel == expect_kernel
    want = run_reference(golden_model or model, [x], golden)[0]
    got = _c_run(graph, low, x, golden=golden)
    assert got.shape == want.shape
    np.testing.assert_array_equal(got, want)
    # A meaningful test: outputs are spread, not all saturated or constant.
    assert len(np.unique(want)) >= min(4, want.size)
    return graph, low, want


@pytest.mark.parametrize("golden", GOLDENS)
@pytest.mark.parametrize("case", CONV_CASES, ids=lambda c: c.name)
def test_conv(case: Conv, golden: str):
    model, x = _conv_model(case)
    _, low, _ = _check(model, x, case.expect_kernel, _conv_model(case, True)[0], golden)
    assert low.type == "CONV"


@pytest.mark.parametrize("case", [c for c in CONV_CASES if c.out_gain > 1], ids=lambda c: c.name)
def test_conv_shifts_ge0(case: Conv):
    """The gain cases reach the general requantization: some channel has a shift >= 0
    (a left shift; nn_requantize_hi() takes shifts <= -1 only), some has not."""
    _, low = _lower(_conv_model(case)[0])
    shifts = low.inputs[4]
    assert (shifts >= 0).any() and (shifts < 0).any(), shifts


@pytest.mark.parametrize("golden", GOLDENS)
@pytest.mark.parametrize("case", DW_CASES, ids=lambda c: c.name)
def test_dwconv(case: Conv, golden: str):
    model, x = _conv_model(case)
    _, low, _ = _check(model, x, case.expect_kernel, _conv_model(case, True)[0], golden)
    assert low.type == "DWCONV"


@pytest.mark.parametrize("golden", GOLDENS)
@pytest.mark.parametrize("case", FC_CASES, ids=lambda c: c.name)
def test_fc(case: Fc, golden: str):
    _, low, _ = _check(*_fc_model(case), golden=golden)
    assert (low.type, low.kernel) == ("FC", "FC_S8")


# Cases with outputs where one rounding and two disagree (3 of 1024 each; seeds found
# by trying: such outputs are rare, which is why the goldens mostly agree).
FC_ROUNDING_CASES = [
    Fc("rounding_per_tensor", (64, 24), 16, seed=7),
    Fc("rounding_per_channel", (64, 24), 16, per_channel=True, seed=1),
]


@pytest.mark.parametrize("case", FC_ROUNDING_CASES, ids=lambda c: c.name)
def test_fc_rounding_follows_the_golden(case: Fc):
    """Each golden's FULLY_CONNECTED is matched only with its own rounding: the kernel
    with the other golden's rounding differs from it by 1 somewhere."""
    model, x = _fc_model(case)
    graph, low = _lower(model)
    for golden, other in (GOLDENS, GOLDENS[::-1]):
        want = run_reference(model, [x], golden)[0]
        np.testing.assert_array_equal(_c_run(graph, low, x, golden=golden), want)
        wrong = _c_run(graph, low, x, golden=other).astype(np.int32) - want
        assert 0 < np.count_nonzero(wrong) and np.abs(wrong).max() == 1


@pytest.mark.parametrize(
    "case, fast, generic",
    [
        (CONV_CASES[12], "nn_conv_pw_s8", "nn_conv_im2col_s8"),
        (CONV_CASES[13], "nn_conv_pw_s8", "nn_conv_im2col_s8"),
        (DW_CASES[0], "nn_dw_conv_3x3_s8", "nn_dw_conv_s8"),
        (DW_CASES[2], "nn_dw_conv_3x3_s8", "nn_dw_conv_s8"),
        (DW_CASES[3], "nn_dw_conv_3x3_s8", "nn_dw_conv_s8"),
        (DW_CASES[4], "nn_dw_conv_3x3_s8", "nn_dw_conv_s8"),
    ],
    ids=lambda v: v.name if isinstance(v, Conv) else v,
)
def test_fast_path_matches_generic(case: Conv, fast: str, generic: str):
    model, x = _conv_model(case)
    graph, low = _lower(model)
    if generic == "nn_conv_im2col_s8":
        ffi, lib = native.load()
        cp = ffi.new("nn_conv_params *", low.params)
        dims = [
            ffi.new("nn_dims *", dict(zip("nhwc", graph.t(t).shape, strict=True)))
            for t in (low.inputs[0], low.inputs[1], low.outputs[0])
        ]
        low = replace(low, scratch=lib.nn_conv_im2col_s8_scratch_size(cp, *dims))
    np.testing.assert_array_equal(_c_run(graph, low, x, fast), _c_run(graph, low, x, generic))


@pytest.mark.parametrize("golden", GOLDENS)
def test_fc_weight_zero_point(golden: str):
    """Asymmetric per-tensor weights: the filter offset path (a golden may refuse them)."""
    model, x = _fc_model(Fc("w_zp", (2, 11), 6, w_zp=3))
    graph, low = _lower(model)
    assert low.params["filter_offset"] == -3
    try:
        want = run_reference(model, [x], golden)[0]
    except GoldenError:  # the reference kernel refuses a nonzero filter zero point
        pytest.skip(f"{golden} refuses int8 FULLY_CONNECTED weights with a zero point")
    np.testing.assert_array_equal(_c_run(graph, low, x, golden=golden), want)


def test_kernel_scratch_small():
    """im2col scratch holds two int16 columns, not the image, and 24 bytes of constants
    per output channel; pointwise two pixels."""
    model, _ = _conv_model(Conv("s", (1, 32, 32, 16), 24))
    _, low = _lower(model)
    assert low.kernel == "CONV_IM2COL_S8"
    assert low.scratch == 24 * 24 + 2 * 2 * 3 * 3 * 16
    model, _ = _conv_model(Conv("s", (1, 32, 32, 16), 24, kernel=(1, 1)))
    _, low = _lower(model)
    assert low.kernel == "CONV_PW_S8"
    assert low.scratch == 24 * 24 + 2 * 2 * 16
    # Generic depthwise: the folded bias and one edge window (kh x kw x channels), no
    # padded input rows, however wide the input (micro_speech's layer: 112 bytes).
    for shape in [(1, 49, 40, 1), (1, 49, 400, 1)]:
        model, _ = _conv_model(Conv("dw", shape, dm=8, kernel=(10, 8), stride=(2, 2)))
        _, low = _lower(model)
        assert low.kernel == "DW_CONV_S8"
        assert low.scratch == 4 * 8 + 10 * 8 * 1


# ---- through the blob executor (mai_ops_conv.c) ----------------------------------------


@pytest.mark.parametrize("golden", GOLDENS)
@pytest.mark.parametrize(
    "model_x",
    [
        _conv_model(CONV_CASES[1]),
        _conv_model(CONV_CASES[12]),
        _conv_model(DW_CASES[1]),
        _conv_model(DW_CASES[7]),
        _fc_model(FC_CASES[3]),
        _fc_model(FC_CASES[5]),
        _fc_model(FC_ROUNDING_CASES[0]),
        _fc_model(FC_ROUNDING_CASES[1]),
    ],
    ids=[
        "conv",
        "conv_pw",
        "dw3x3",
        "dw_dm3",
        "fc_4d",
        "fc_per_channel",
        "fc_rounding",
        "fc_rounding_per_channel",
    ],
)
def test_executor(model_x, golden: str):
    """The blob converted for a golden (its ops' rounding) runs bit-exact with it."""
    convert = pytest.importorskip("microai.convert")
    engine = pytest.importorskip("microai.engine")
    model, x = model_x
    blob = convert.convert(model, golden=golden).blob
    with engine.Model(blob) as m:
        got = m.run(x)
    want = run_reference(model, [x], golden)[0]
    np.testing.assert_array_equal(got.reshape(-1), want.reshape(-1))


def _tampered(blob: bytes, edit) -> bytes:
    """The blob with op 0 edited by edit(bytearray, op_offset, op_dict), CRC fixed."""
    from microai import blob as B

    b = bytearray(blob)
    h = B.read_header(b)
    edit(b, h["ops_offset"], B.OP.unpack(b, h["ops_offset"]), h)
    b[12:16] = B.crc32(b).to_bytes(4, "little")
    return bytes(b)


def _set_kernel(b, at, op, h):
    b[at + 1] = native.load()[1].NN_KERNEL_CONV_PW_S8


def _set_other_op_kernel(b, at, op, h):
    b[at + 1] = native.load()[1].NN_KERNEL_FC_S8


def _set_scratch(b, at, op, h):
    off = native.load()[0].offsetof("mai_op", "scratch_size")
    b[at + off : at + off + 4] = (op["scratch_size"] - 4).to_bytes(4, "little")


def _set_stride(b, at, op, h):
    off = op["params_offset"] + native.load()[0].offsetof("nn_conv_params", "stride_h")
    b[off : off + 2] = (0).to_bytes(2, "little")


def _set_zero_point(b, at, op, h):
    from microai import blob as B

    # Tensor 0 is the op's input in these one-op blobs.
    off = h["tensors_offset"] + B.TENSOR.offsets()["zero_point"]
    b[off : off + 4] = (17).to_bytes(4, "little", signed=True)


@pytest.mark.parametrize(
    "edit, message",
    [
        (_set_kernel, "kernel CONV_PW_S8 does not take it: needs a 1x1 filter"),
        (_set_other_op_kernel, "not a kernel of this op type"),
        (_set_scratch, "scratch size"),
        (_set_stride, "parameter out of range"),
        (_set_zero_point, "parameter out of range"),
    ],
    ids=["kernel", "other_op_kernel", "scratch", "stride", "zero_point"],
)
def test_executor_rejects(edit, message):
    """mai_prepare_conv refuses a blob whose op disagrees with what the runtime computes."""
    convert = pytest.importorskip("microai.convert")
    engine = pytest.importorskip("microai.engine")
    blob = convert.convert(_conv_model(CONV_CASES[1])[0]).blob
    engine.Model(blob).close()  # the untouched blob loads
    with pytest.raises(engine.ModelError, match=f"op 0: {message}"):
        engine.Model(_tampered(blob, edit))


# ---- weights widened on the host (MAI_LAYOUT_WIDE, the *_S8W16 kernels) ------------------


def _wide(case: Conv, golden: str = DEFAULT_GOLDEN):
    """The case's blob with its conv's weights widened (the recipe asks for it), or None
    when the case's shape has no widened kernel for that algorithm."""
    from microai.convert import convert
    from microai.recipe import Recipe

    model, _ = _conv_model(case)
    pw = case.kernel == (1, 1) and case.stride == (1, 1) and case.dilation == (1, 1)
    algorithm = "pointwise_wide" if pw else "im2col_wide"
    recipe = Recipe.from_dict({"layers": {"0": {"algorithm": algorithm}}})
    return convert(model, case.name, golden, recipe)


@pytest.mark.parametrize("golden", GOLDENS)
@pytest.mark.parametrize("case", CONV_CASES, ids=lambda c: c.name)
def test_conv_widened_weights(case: Conv, golden: str):
    """Every conv case with its weights widened to int16 on the host gives the golden's
    bytes: odd channels and pixels, taps not a multiple of 4 (rows padded), shifts >= 0."""
    from microai.engine import Model

    conv = _wide(case, golden)
    (layer,) = conv.layers
    assert layer.kernel in ("CONV_PW_S8W16", "CONV_IM2COL_S8W16")
    x = _conv_model(case)[1]
    want = run_reference(_conv_model(case, True)[0], [x], golden)[0]
    with Model(conv.blob) as m:
        np.testing.assert_array_equal(m.run(x).reshape(want.shape), want)


def test_widened_layout_bytes():
    """nn_conv_w16_prepare(): rows padded to whole groups of 4 taps, each group in the
    order 0, 2, 1, 3, as int16 (little-endian)."""
    from microai import layouts

    w = np.arange(-9, 1, dtype=np.int8).reshape(2, 5)  # 2 rows of 5 taps
    got = np.frombuffer(layouts.prepare("wide", w).data, "<i2").reshape(2, 8)
    assert got.tolist() == [[-9, -7, -8, -6, -5, 0, 0, 0], [-4, -2, -3, -1, 0, 0, 0, 0]]
    assert layouts.nbytes("wide", (2, 5)) == 32


def _blob_tensor(b, h, i):
    from microai import blob as B

    at = h["tensors_offset"] + i * B.TENSOR.size
    return at, B.TENSOR.unpack(b, at)


def _weights_at(b, h):
    """Offset and fields of op 0's weights tensor (input 1)."""
    from microai import blob as B

    op = B.OP.unpack(b, h["ops_offset"])
    w = int.from_bytes(b[op["io_offset"] + 2 : op["io_offset"] + 4], "little")
    return _blob_tensor(b, h, w)


def _set_wide_kernel_on_int8(b, at, op, h):
    b[at + 1] = native.load()[1].NN_KERNEL_CONV_IM2COL_S8W16


def _set_int8_kernel_on_wide(b, at, op, h):
    b[at + 1] = native.load()[1].NN_KERNEL_CONV_IM2COL_S8


def _set_wide_size(b, at, op, h):
    from microai import blob as B

    t_at, t = _weights_at(b, h)
    off = t_at + B.TENSOR.offsets()["size"]
    b[off : off + 4] = (t["size"] - 8).to_bytes(4, "little")


def _set_wide_storage(b, at, op, h):
    from microai import blob as B

    t_at, _ = _weights_at(b, h)
    b[t_at + B.TENSOR.offsets()["storage"]] = B.STORAGES["s8"]


@pytest.mark.parametrize(
    "wide, edit, message",
    [
        (False, _set_wide_kernel_on_int8, "op 0: a layout this tensor or op cannot have"),
        (True, _set_int8_kernel_on_wide, "op 0: a layout this tensor or op cannot have"),
        (True, _set_wide_size, "tensor 1: .*size"),
        (True, _set_wide_storage, "tensor 1: a layout this tensor or op cannot have"),
    ],
    ids=["wide_kernel_int8_weights", "int8_kernel_wide_weights", "wide_size", "wide_storage"],
)
def test_widened_weights_refused(wide: bool, edit, message: str):
    """The loader takes widened weights only for a kernel whose table row reads them,
    in int16, exactly as big as the layout makes them."""
    from microai.convert import convert
    from microai.engine import Model, ModelError

    case = CONV_CASES[1]
    blob = _wide(case).blob if wide else convert(_conv_model(case)[0]).blob
    Model(blob).close()
    with pytest.raises(ModelError, match=message):
        Model(_tampered(blob, edit))


# ---- Winograd F(2x2, 3x3) (MAI_LAYOUT_WINOGRAD, CONV_WINOGRAD_3X3_S8) --------------------

# 3x3, stride 1, dilation 1 layers: both paddings, sizes that leave partial tiles at the
# right and bottom edges (odd outputs), outputs smaller than a tile, input channels
# around the groups of 4 (the DSP transform's four a pass, the rest one by one), odd
# output channel counts, every activation, per-tensor and per-channel scales, zero
# points at both ends, no bias, batches, shifts >= 0, and many input channels.
WINO_CASES = [
    Conv("wino_same_8x8_in3", (1, 8, 8, 3), 5),
    Conv("wino_valid_odd", (1, 9, 7, 5), 7, padding="VALID"),
    Conv("wino_same_odd_relu", (1, 7, 9, 4), 3, act="RELU", in_zp=-128, out_zp=-128),
    Conv("wino_per_tensor_batch2", (2, 5, 6, 8), 4, per_channel=False),
    Conv("wino_in1_out1_no_bias", (1, 5, 5, 1), 1, bias=False, in_zp=127),
    Conv("wino_in32_zp", (1, 6, 6, 32), 8, in_zp=100, out_zp=-100),
    Conv("wino_1x1_input", (1, 1, 1, 6), 2),
    Conv("wino_2x1_input_valid", (1, 3, 4, 2), 3, padding="VALID"),
    Conv("wino_shift_ge0", (1, 5, 5, 1), 4, w_max=1, out_gain=400.0, in_zp=0),
    Conv("wino_relu6_in7", (1, 6, 11, 7), 9, act="RELU6", in_zp=127, out_zp=-128),
    Conv("wino_n1_to_1_in12", (1, 4, 5, 12), 6, act="RELU_N1_TO_1", out_zp=127),
    Conv("wino_in16_out16", (1, 10, 10, 16), 16, in_zp=-1, out_zp=3),
    Conv("wino_in2_out33", (1, 3, 3, 2), 33, w_max=127),
    Conv("wino_in300_odd_tiles", (1, 3, 5, 300), 3, seed=2),
]


def _winograd(case: Conv, golden: str = DEFAULT_GOLDEN):
    """The case's blob with its conv by Winograd (the recipe asks for it)."""
    from microai.convert import convert
    from microai.recipe import Recipe

    model, _ = _conv_model(case)
    recipe = Recipe.from_dict({"layers": {"0": {"algorithm": "winograd"}}})
    return convert(model, case.name, golden, recipe)


@pytest.mark.parametrize("golden", GOLDENS)
@pytest.mark.parametrize("case", WINO_CASES, ids=lambda c: c.name)
def test_conv_winograd(case: Conv, golden: str):
    """Winograd gives the golden's bytes, and the direct kernel's, for every case."""
    from microai.convert import convert
    from microai.engine import Model

    conv = _winograd(case, golden)
    (layer,) = conv.layers
    assert layer.kernel == "CONV_WINOGRAD_3X3_S8"
    x = _conv_model(case)[1]
    want = run_reference(_conv_model(case, True)[0], [x], golden)[0]
    direct = convert(_conv_model(case)[0], case.name, golden)
    assert direct.layers[0].kernel != "CONV_WINOGRAD_3X3_S8"
    with Model(conv.blob) as m, Model(direct.blob) as d:
        got = m.run(x)
        np.testing.assert_array_equal(got, d.run(x))
        np.testing.assert_array_equal(got.reshape(want.shape), want)


def test_conv_winograd_random_layers():
    """Random 3x3 layers (sizes, channels, padding, zero points, scales, activations)
    by Winograd and by the direct kernel, bit for bit."""
    from microai.convert import convert
    from microai.engine import Model
    from microai.recipe import Recipe

    rng = np.random.default_rng(13)
    recipe = Recipe.from_dict({"layers": {"0": {"algorithm": "winograd"}}})
    for i in range(12):
        case = Conv(
            f"wino_random_{i}",
            (int(rng.integers(1, 3)), *map(int, rng.integers(1, 12, 2)), int(rng.integers(1, 20))),
            int(rng.integers(1, 20)),
            padding=str(rng.choice(["SAME", "VALID"])),
            act=str(rng.choice(["NONE", "RELU", "RELU6"])),
            in_zp=int(rng.integers(-128, 128)),
            out_zp=int(rng.integers(-128, 128)),
            per_channel=bool(rng.integers(0, 2)),
            bias=bool(rng.integers(0, 2)),
            seed=i,
        )
        if case.padding == "VALID" and min(case.shape[1:3]) < 3:
            case = replace(case, padding="SAME")
        model, x = _conv_model(case)
        wino, direct = convert(model, case.name, recipe=recipe), convert(model, case.name)
        assert wino.layers[0].kernel == "CONV_WINOGRAD_3X3_S8"
        with Model(wino.blob) as m, Model(direct.blob) as d:
            np.testing.assert_array_equal(m.run(x), d.run(x), err_msg=str(case))


def test_winograd_layout_values():
    """nn_conv_winograd_prepare(): U = G' g G'^T per channel pair (G' = 2G), int16
    [out][16][in padded to 4], the inputs of every four in the order 0, 2, 1, 3."""
    from microai import layouts

    rng = np.random.default_rng(0)
    w = rng.integers(-128, 128, (3, 3, 3, 5)).astype(np.int8)  # [out, 3, 3, in]
    g2 = np.array([[2, 0, 0], [1, 1, 1], [1, -1, 1], [0, 0, 2]])
    want = np.einsum("ar,orsc,bs->oabc", g2, w.astype(np.int64), g2).reshape(3, 16, 5)
    got = np.frombuffer(layouts.prepare("winograd", w).data, "<i2").reshape(3, 16, 8)
    np.testing.assert_array_equal(got[:, :, [0, 2, 1, 3, 4]], want)
    assert not got[:, :, 5:].any()
    assert layouts.nbytes("winograd", w.shape) == 3 * 16 * 8 * 2
    assert np.abs(got).max() <= 9 * 128


@pytest.mark.parametrize(
    "case, message",
    [
        (Conv("5x5", (1, 6, 6, 2), 2, kernel=(5, 5)), "needs a 3x3 filter, stride 1, dilation 1"),
        (Conv("stride2", (1, 6, 6, 2), 2, stride=(2, 2)), "needs a 3x3 filter, stride 1"),
        (Conv("dilated", (1, 6, 6, 2), 2, dilation=(2, 2)), "needs a 3x3 filter, stride 1"),
        (Conv("in3641", (1, 3, 3, 3641), 1, padding="VALID"), "at most 3,640 input channels"),
    ],
    ids=lambda v: v.name if isinstance(v, Conv) else "",
)
def test_winograd_refused(case: Conv, message: str):
    """A layer Winograd cannot take exactly is refused at convert, with the reason."""
    with pytest.raises(ConvertError, match=f"algorithm 'winograd'.*{message}"):
        _winograd(case)


def _set_winograd_kernel_on_int8(b, at, op, h):
    b[at + 1] = native.load()[1].NN_KERNEL_CONV_WINOGRAD_3X3_S8


def _set_int8_kernel_on_winograd(b, at, op, h):
    b[at + 1] = native.load()[1].NN_KERNEL_CONV_IM2COL_S8


def _set_winograd_dims(b, at, op, h):
    from microai import blob as B

    t_at, t = _weights_at(b, h)
    off = t_at + B.TENSOR.offsets()["dims"]
    dims = list(t["dims"])
    dims[1], dims[2] = 1, 9  # [out, 1, 9, in]: as many taps, not 3x3
    b[off : off + 16] = b"".join(int(d).to_bytes(4, "little") for d in dims)


@pytest.mark.parametrize(
    "wino, edit, message",
    [
        (False, _set_winograd_kernel_on_int8, "op 0: a layout this tensor or op cannot have"),
        (True, _set_int8_kernel_on_winograd, "op 0: a layout this tensor or op cannot have"),
        (True, _set_wide_size, "tensor 1: .*size"),
        (True, _set_wide_storage, "tensor 1: a layout this tensor or op cannot have"),
        (True, _set_winograd_dims, "tensor 1: a layout this tensor or op cannot have"),
    ],
    ids=["winograd_kernel_int8", "int8_kernel_winograd", "size", "storage", "not_3x3"],
)
def test_winograd_weights_refused(wino: bool, edit, message: str):
    """The loader takes Winograd weights only for the kernel that reads them, in int16,
    for 3x3 filters, exactly as big as the layout makes them."""
    from microai.convert import convert
    from microai.engine import Model, ModelError

    case = WINO_CASES[1]
    blob = _winograd(case).blob if wino else convert(_conv_model(case)[0]).blob
    Model(blob).close()
    with pytest.raises(ModelError, match=message):
        Model(_tampered(blob, edit))


# ---- unsupported -----------------------------------------------------------------------


def _unsupported_models():
    def conv(mb, x, w, y, act=ACT.NONE, b=None):
        ins = [x, w] if b is None else [x, w, b]
        mb.op(
            "CONV_2D",
            ins,
            [y],
            "Conv2DOptions",
            Padding=PAD["SAME"],
            StrideH=1,
            StrideW=1,
            FusedActivationFunction=act,
        )
        mb.output(y)
        return mb.build()

    w8 = np.ones((2, 3, 3, 3), np.int8)
    cases = {}
    mb = ModelBuilder()
    cases["int16 weights"] = conv(
        mb,
        mb.input("x", (1, 4, 4, 3), np.int16, scale=0.1),
        mb.const("w", w8.astype(np.int16), scale=0.1),
        mb.tensor("y", (1, 4, 4, 2), np.int16, scale=0.1),
    )
    mb = ModelBuilder()
    cases["hybrid"] = conv(
        mb,
        mb.input("x", (1, 4, 4, 3), np.float32),
        mb.const("w", w8, scale=0.1),
        mb.tensor("y", (1, 4, 4, 2), np.float32),
    )
    mb = ModelBuilder()
    cases["weights zero point"] = conv(
        mb,
        mb.input("x", (1, 4, 4, 3), scale=0.1),
        mb.const("w", w8, scale=0.1, zero_point=2),
        mb.tensor("y", (1, 4, 4, 2), scale=0.1),
    )
    mb = ModelBuilder()
    cases["TANH"] = conv(
        mb,
        mb.input("x", (1, 4, 4, 3), scale=0.1),
        mb.const("w", w8, scale=0.1),
        mb.tensor("y", (1, 4, 4, 2), scale=0.1),
        act=ACT.TANH,
    )
    mb = ModelBuilder()
    cases["output height"] = conv(
        mb,
        mb.input("x", (1, 4, 4, 3), scale=0.1),
        mb.const("w", w8, scale=0.1),
        mb.tensor("y", (1, 3, 4, 2), scale=0.1),
    )
    mb = ModelBuilder()
    cases["bad groups"] = conv(
        mb,
        mb.input("x", (1, 4, 4, 5), scale=0.1),
        mb.const("w", w8, scale=0.1),
        mb.tensor("y", (1, 4, 4, 2), scale=0.1),
    )
    mb = ModelBuilder()
    cases["int64 bias"] = conv(
        mb,
        mb.input("x", (1, 4, 4, 3), scale=0.1),
        mb.const("w", w8, scale=0.1),
        mb.tensor("y", (1, 4, 4, 2), scale=0.1),
        b=mb.const("b", np.zeros(2, np.int64), scale=0.01),
    )
    mb = ModelBuilder()
    x = mb.input("x", (1, 4, 4, 3), scale=0.1)
    wdyn = mb.input("w", (2, 3, 3, 3), scale=0.1)
    cases["not constant"] = conv(mb, x, wdyn, mb.tensor("y", (1, 4, 4, 2), scale=0.1))
    mb = ModelBuilder()
    x = mb.input("x", (1, 8), np.float32)
    y = mb.tensor("y", (1, 2), np.float32)
    mb.op(
        "FULLY_CONNECTED",
        [x, mb.const("w", np.ones((2, 8), np.int8), scale=0.1)],
        [y],
        "FullyConnectedOptions",
        AsymmetricQuantizeInputs=True,
    )
    mb.output(y)
    cases["hybrid fc"] = mb.build()
    mb = ModelBuilder()
    x = mb.input("x", (1, 10), scale=0.1)
    y = mb.tensor("y", (1, 2), scale=0.1)
    mb.op(
        "FULLY_CONNECTED",
        [x, mb.const("w", np.ones((2, 8), np.int8), scale=0.1)],
        [y],
        "FullyConnectedOptions",
    )
    mb.output(y)
    cases["fc rows"] = mb.build()
    mb = ModelBuilder()
    x = mb.input("x", (1, 8), scale=0.1)
    y = mb.tensor("y", (1, 2), scale=0.1)
    mb.op(
        "FULLY_CONNECTED",
        [x, mb.const("w", np.ones((2, 8), np.int8), scale=0.1)],
        [y],
        "FullyConnectedOptions",
        WeightsFormat=1,
    )
    mb.output(y)
    cases["shuffled"] = mb.build()
    return cases


@pytest.mark.parametrize(
    "what, model", list(_unsupported_models().items()), ids=list(_unsupported_models())
)
def test_unsupported(what: str, model: bytes):
    graph = read_model(model)
    op = graph.ops[0]
    with pytest.raises(ConvertError) as e:
        ops.lower(graph, op)
    msg = str(e.value)
    assert op.opcode in msg and "op 0" in msg


# ---- multiplier arithmetic ---------------------------------------------------------------

# Scales where double(float(in * w)) / out and double(in) * double(w) / out quantize to
# multipliers that round acc = -19131 differently (-65 and -66).
_IN_S, _W_S, _OUT_S, _ACC = 0.12152561545372009, 0.0011941755656152964, 0.04238823428750038, -19131


def _one_mac_model(opcode: str) -> bytes:
    """out = requantize(1 * 1 + bias) with bias = _ACC - 1."""
    mb = ModelBuilder()
    shape, wshape = ((1, 1), (1, 1)) if opcode == "FULLY_CONNECTED" else ((1, 1, 1, 1),) * 2
    x = mb.input("x", shape, scale=_IN_S, zero_point=0)
    w = mb.const("w", np.ones(wshape, np.int8), scale=np.float32([_W_S]))
    b = mb.const(
        "b", np.int32([_ACC - 1]), scale=np.float32([np.float32(_IN_S) * np.float32(_W_S)])
    )
    y = mb.tensor("y", shape, scale=_OUT_S, zero_point=0)
    if opcode == "FULLY_CONNECTED":
        mb.op(opcode, [x, w, b], [y], "FullyConnectedOptions")
    elif opcode == "DEPTHWISE_CONV_2D":
        mb.op(
            opcode,
            [x, w, b],
            [y],
            "DepthwiseConv2DOptions",
            Padding=PAD["VALID"],
            StrideH=1,
            StrideW=1,
            DepthMultiplier=1,
        )
    else:
        mb.op(opcode, [x, w, b], [y], "Conv2DOptions", Padding=PAD["VALID"], StrideH=1, StrideW=1)
    mb.output(y)
    return mb.build()


# TFLite-Micro multiplies a per-tensor FULLY_CONNECTED's scales in double; LiteRT in
# float32 first: the lowering follows the golden it converts for.
@pytest.mark.parametrize(
    "opcode, golden, want",
    [
        ("FULLY_CONNECTED", "litert", -65),  # per-tensor FC: scales multiplied in float32
        ("FULLY_CONNECTED", "tflm", -66),  # in double
        ("CONV_2D", "litert", -66),  # conv: per-channel arithmetic in double, even per-tensor
        ("CONV_2D", "tflm", -66),
        ("DEPTHWISE_CONV_2D", "litert", -66),
        ("DEPTHWISE_CONV_2D", "tflm", -66),
    ],
)
def test_multiplier_formula(opcode: str, golden: str, want: int):
    model = _one_mac_model(opcode)
    x = np.ones((1, 1) if opcode == "FULLY_CONNECTED" else (1, 1, 1, 1), np.int8)
    assert run_reference(model, [x], golden)[0].item() == want
    graph, low = _lower(model, golden)
    assert _c_run(graph, low, x, golden=golden).item() == want


@pytest.mark.parametrize("seed", range(6))
def test_dw3x3_extreme_requantization_matches_generic(seed: int):
    """nn_dw_conv_3x3_s8's two requantizations (the short one for accumulators known to
    be small, the full one otherwise) against nn_dw_conv_s8's nn_requantize(): biases up
    to the int32 limits, multipliers over [0, 2^31), shifts over [-31, 30], per channel."""
    ffi, lib = native.load()
    rng = np.random.default_rng(seed)
    n, h, w, ch = 1, int(rng.integers(1, 7)), int(rng.integers(1, 7)), int(rng.integers(1, 11))
    stride = int(rng.integers(1, 3))
    x = rng.integers(-128, 128, (n, h, w, ch), dtype=np.int8)
    wt = rng.integers(-128, 128, (1, 3, 3, ch), dtype=np.int8)
    big = np.array([2**31 - 1, -(2**31), 2**30, -(2**30), 0, 1 << 20], np.int64)
    bias = np.where(
        rng.random(ch) < 0.5, rng.choice(big, ch), rng.integers(-(2**31), 2**31, ch)
    ).astype(np.int32)
    mult = rng.integers(0, 2**31, ch).astype(np.int32)
    shift = rng.integers(-31, 31, ch).astype(np.int32)
    if seed % 2 == 0:  # every lane small enough for the short path
        shift = rng.integers(-12, 0, ch).astype(np.int32)
        bias = rng.integers(-1000, 1000, ch).astype(np.int32)
    oh, ow = (h + 2 - 3) // stride + 1, (w + 2 - 3) // stride + 1
    p = ffi.new(
        "nn_conv_params *",
        {
            "input_offset": int(rng.integers(-127, 129)),
            "output_offset": int(rng.integers(-128, 128)),
            "stride_h": stride,
            "stride_w": stride,
            "dilation_h": 1,
            "dilation_w": 1,
            "pad_h": 1,
            "pad_w": 1,
            "depth_multiplier": 1,
            "act": {"min": -128, "max": 127},
        },
    )
    q = ffi.new(
        "nn_quant *",
        {
            "multiplier": _ptr(ffi, "int32_t *", mult),
            "shift": _ptr(ffi, "int32_t *", shift),
            "per_channel": 1,
            "rounding": lib.NN_ROUNDING_DOUBLE,
        },
    )
    dims = [
        ffi.new("nn_dims *", dict(zip("nhwc", s, strict=True)))
        for s in (x.shape, wt.shape, (n, oh, ow, ch))
    ]
    outs = []
    for fn in ("nn_dw_conv_3x3_s8", "nn_dw_conv_s8"):
        size = getattr(lib, fn + "_scratch_size")(p, *dims)
        scratch = np.zeros(size // 4 + 1, np.int32)
        y = np.zeros((n, oh, ow, ch), np.int8)
        st = getattr(lib, fn)(
            p,
            q,
            dims[0],
            _ptr(ffi, "int8_t *", x),
            dims[1],
            _ptr(ffi, "int8_t *", wt),
            _ptr(ffi, "int32_t *", bias),
            dims[2],
            _ptr(ffi, "int8_t *", y),
            _ptr(ffi, "void *", scratch),
            size,
        )
        assert st == lib.NN_OK
        outs.append(y)
    np.testing.assert_array_equal(outs[0], outs[1])


# ---- in place: an output over its input --------------------------------------------------


def _io_offsets(b, h, op):
    """(offset field's byte index, value) of op 0's input 0 and output 0 tensors."""
    from microai import blob as B

    ids = [
        int.from_bytes(b[op["io_offset"] + 2 * k : op["io_offset"] + 2 * k + 2], "little")
        for k in (0, op["n_in"])
    ]
    out = []
    for i in ids:
        at, t = _blob_tensor(b, h, i)
        out.append((at + B.TENSOR.offsets()["offset"], t["offset"], t["size"]))
    return out


def _move_output(delta: int):
    """An edit: op 0's output at its input's offset + delta."""

    def edit(b, at, op, h):
        (_, i_off, _), (o_field, _, _) = _io_offsets(b, h, op)
        b[o_field : o_field + 4] = (i_off + delta).to_bytes(4, "little")

    return edit


def _move_input(b, at, op, h):
    """An edit: op 0's input at its output's offset (a bigger output over it)."""
    (i_field, _, _), (_, o_off, _) = _io_offsets(b, h, op)
    b[i_field : i_field + 4] = o_off.to_bytes(4, "little")


IN_PLACE_CASES = [
    (Conv("pw_in_place", (1, 5, 6, 8), 8, kernel=(1, 1), expect_kernel="CONV_PW_S8"), True),
    (Conv("pw_fewer_out", (1, 3, 5, 12), 5, kernel=(1, 1), act="RELU"), True),
    (Conv("dw3x3_in_place", (1, 7, 6, 9), dm=1, expect_kernel="DW_CONV_3X3_S8"), True),
    (Conv("dw3x3_stride2", (1, 9, 8, 5), dm=1, stride=(2, 2), padding="VALID"), True),
    (Conv("pw_more_out", (1, 4, 4, 4), 12, kernel=(1, 1)), False),  # output bigger
    (Conv("im2col_3x3", (1, 6, 6, 4), 4), False),  # reads pixels it has written over
    (Conv("dw_dm2", (1, 6, 5, 3), dm=2), False),
]


@pytest.mark.parametrize("case, in_place", IN_PLACE_CASES, ids=lambda v: getattr(v, "name", ""))
def test_in_place_where_the_kernel_allows_it(case: Conv, in_place: bool):
    """The planner puts a conv's output over its input (which dies there) exactly when
    the kernel's supports() takes it: the pointwise kernels (no more output than input)
    and the 3x3 depthwise ones; the outputs stay the golden's."""
    from microai import blob as B
    from microai.convert import convert
    from microai.engine import Model

    model, x = _conv_model(case)
    conv = convert(model, case.name)
    b = bytearray(conv.blob)
    h = B.read_header(b)
    (_, i_off, _), (_, o_off, _) = _io_offsets(b, h, B.OP.unpack(b, h["ops_offset"]))
    assert (i_off == o_off) == in_place, conv.layers[0].kernel
    if in_place:
        from microai.inspect import describe

        assert describe(conv.blob)["layers"][0]["output_over_input"] == "in place"
    want = run_reference(_conv_model(case, True)[0], [x], DEFAULT_GOLDEN)[0]
    with Model(conv.blob) as m:
        np.testing.assert_array_equal(m.run(x).reshape(want.shape), want)


@pytest.mark.parametrize(
    "case, edit, message",
    [
        (IN_PLACE_CASES[0][0], _move_output(16), "op 0: .*overlap"),
        (IN_PLACE_CASES[5][0], _move_output(0), "op 0: .*cannot write its output over its input"),
        (IN_PLACE_CASES[4][0], _move_input, "op 0: .*overlap"),
    ],
    ids=["pw_partial_overlap", "im2col_in_place", "pw_bigger_output"],
)
def test_in_place_refused(case: Conv, edit, message: str):
    """A blob that lies about in place: an output overlapping its input but not at the
    same start, or over it for a kernel that cannot, or bigger than it: refused at
    load, naming the op."""
    from microai.convert import convert
    from microai.engine import Model, ModelError

    blob = convert(_conv_model(case)[0], case.name).blob
    Model(blob).close()
    with pytest.raises(ModelError, match=message):
        Model(_tampered(blob, edit))


# ---- trailing: an output that starts before its input and runs into it ---------------


def _trail_rule(n, ih, iw, ic, oh, ow, oc, stride, pad) -> int:
    """The row rule, row by row: every output row's end at or before the first input row
    it reads (mai_conv_trail_bytes computes it in closed form)."""
    in_row, out_row = iw * ic, ow * oc
    return max(
        out_row * (b * oh + y + 1) - (b * ih * in_row + in_row * max(0, y * stride - pad))
        for b in range(n)
        for y in range(oh)
    )


def test_trail_bytes_is_the_row_rule():
    ffi, lib = native.load()
    rng = np.random.default_rng(5)
    for _ in range(400):
        n, ih, iw, ic = (int(v) for v in rng.integers(1, [4, 40, 9, 9]))
        kh, s, dil = (int(v) for v in rng.integers(1, [11, 4, 3]))
        eff = (kh - 1) * dil + 1
        same = bool(rng.integers(2)) or eff > ih
        oh = -(-ih // s) if same else (ih - eff) // s + 1
        pad = max(0, ((oh - 1) * s + eff - ih) // 2) if same else 0
        ow, oc = (int(v) for v in rng.integers(1, [9, 17]))
        p = ffi.new("nn_conv_params *", {"stride_h": s, "pad_h": pad, "dilation_h": dil})
        ctx = ffi.new("mai_op_ctx *")
        ctx.params = p
        getattr(ctx, "in")[0].dims = {"n": n, "h": ih, "w": iw, "c": ic}
        ctx.out[0].dims = {"n": n, "h": oh, "w": ow, "c": oc}
        want = max(0, _trail_rule(n, ih, iw, ic, oh, ow, oc, s, pad))
        assert lib.mai_conv_trail_bytes(ctx) == want, (n, ih, iw, ic, oh, ow, oc, s, pad)


TRAIL_CASES = [
    Conv("trail_im2col_3x3", (1, 6, 6, 4), 4, expect_kernel="CONV_IM2COL_S8"),
    Conv("trail_im2col_stride2_more_out", (1, 9, 7, 2), 8, stride=(2, 2)),
    Conv("trail_im2col_dilated_batch2", (2, 7, 6, 3), 5, dilation=(2, 2), padding="SAME"),
    Conv("trail_im2col_5x3_valid", (1, 10, 9, 1), 6, kernel=(5, 3), padding="VALID"),
    Conv("trail_pw_more_out", (1, 4, 4, 4), 12, kernel=(1, 1), expect_kernel="CONV_PW_S8"),
    Conv("trail_dw_dm8_10x8_stride2", (1, 49, 40, 1), dm=8, kernel=(10, 8), stride=(2, 2)),
    Conv("trail_dw_dm2_batch2", (2, 7, 7, 3), dm=2, expect_kernel="DW_CONV_S8"),
    Conv("trail_dw_dilated", (1, 10, 10, 3), dm=1, dilation=(2, 2), expect_kernel="DW_CONV_S8"),
]


def _trail_gap(case: Conv) -> int:
    """The case's least gap, by the row rule."""
    n, ih, iw, ic = case.shape
    kh, kw = case.kernel
    (sh, sw), (dh, dw) = case.stride, case.dilation
    oc = ic * case.dm if case.dm else case.out_c
    if case.padding == "SAME":
        oh, ow = -(-ih // sh), -(-iw // sw)
        pad = max(0, ((oh - 1) * sh + (kh - 1) * dh + 1 - ih) // 2)
    else:
        oh, ow = (ih - (kh - 1) * dh - 1) // sh + 1, (iw - (kw - 1) * dw - 1) // sw + 1
        pad = 0
    return _trail_rule(n, ih, iw, ic, oh, ow, oc, sh, pad)


def _trailing(gap: int):
    """An edit: op 0's output at arena byte 0, its input `gap` bytes on, its scratch after
    both, the arena just big enough."""
    from microai import blob as B

    def edit(b, at, op, h):
        (i_field, _, i_size), (o_field, _, o_size) = _io_offsets(b, h, op)
        b[o_field : o_field + 4] = (0).to_bytes(4, "little")
        b[i_field : i_field + 4] = gap.to_bytes(4, "little")
        scratch = (max(o_size, gap + i_size) + 15) // 16 * 16
        off = native.load()[0].offsetof("mai_op", "scratch_offset")
        b[at + off : at + off + 4] = scratch.to_bytes(4, "little")
        arena = B.HEADER.offsets()["arena_size"]
        b[arena : arena + 4] = (scratch + op["scratch_size"]).to_bytes(4, "little")

    return edit


@pytest.mark.parametrize("case", TRAIL_CASES, ids=lambda c: c.name)
def test_trailing_output_at_the_least_gap(case: Conv):
    """The planner lets an im2col, pointwise or direct depthwise output trail its input
    (which dies there): it starts before the input, the C check's least gap rounded up
    to 16 bytes. At exactly the least gap the output is still the golden's; one byte
    less is refused at load, naming the op."""
    from microai import blob as B
    from microai.convert import convert
    from microai.engine import Model, ModelError

    conv = convert(_conv_model(case)[0], case.name)
    if case.expect_kernel:
        assert conv.layers[0].kernel == case.expect_kernel
    b = bytearray(conv.blob)
    h = B.read_header(b)
    (_, i_off, _), (_, o_off, o_size) = _io_offsets(b, h, B.OP.unpack(b, h["ops_offset"]))
    gap = _trail_gap(case)
    assert i_off - o_off == (gap + 15) // 16 * 16 and i_off < o_off + o_size
    from microai.inspect import describe

    assert describe(conv.blob)["layers"][0]["output_over_input"] == f"trails by {i_off - o_off}"
    x = _conv_model(case)[1]
    want = run_reference(_conv_model(case, True)[0], [x], DEFAULT_GOLDEN)[0]
    for blob in (conv.blob, _tampered(conv.blob, _trailing(gap))):
        with Model(blob) as m:
            np.testing.assert_array_equal(m.run(x).reshape(want.shape), want)
    with pytest.raises(ModelError, match="op 0: .*overlap"):
        Model(_tampered(conv.blob, _trailing(gap - 1)))


@pytest.mark.parametrize(
    "case, message",
    [
        (Conv("dw3x3_trailing", (1, 7, 6, 9), dm=1), "cannot write its output trailing"),
        (Conv("wino_trailing", (1, 6, 6, 4), 4), "cannot write its output over its input"),
    ],
    ids=["dw3x3", "winograd"],
)
def test_trailing_refused_where_the_kernel_reads_again(case: Conv, message: str):
    """The 3x3 depthwise kernels (a pass per group of channels) and Winograd (tiles of
    four input rows) read input rows after writing later output rows: a
    blob placing their output trailing the input (at the row rule's gap) is refused at
    load, naming the op and why."""
    from microai.convert import convert
    from microai.engine import Model

    conv = _winograd(case) if "wino" in case.name else convert(_conv_model(case)[0], case.name)
    Model(conv.blob).close()
    with pytest.raises(Exception, match=f"op 0: .*{message}"):
        Model(_tampered(conv.blob, _trailing(_trail_gap(case))))


def test_every_unsupported_op_listed_at_once(tmp_path):
    """A model with several things microai cannot run (int32 at the model's edges, a
    CONV_2D with int16 weights, a SUB) is refused once, listing each with its op index or
    tensor: the user does not learn them one conversion at a time."""
    import subprocess
    import sys

    from microai.convert import convert

    mb = ModelBuilder()
    x = mb.input("x", (1, 4, 4, 3), np.int32, scale=0.1)
    x8 = mb.tensor("x8", (1, 4, 4, 3), np.int16, scale=0.1)
    mb.op("QUANTIZE", [x], [x8])
    w = mb.const("w", np.ones((2, 3, 3, 3), np.int16), scale=0.1)
    y = mb.tensor("y", (1, 4, 4, 2), np.int16, scale=0.1)
    mb.op("CONV_2D", [x8, w], [y], "Conv2DOptions", Padding=PAD["SAME"], StrideH=1, StrideW=1)
    z = mb.tensor("z", (1, 4, 4, 2), np.int32, scale=0.1)
    mb.op("SUB", [y, y], [z])
    mb.output(z)
    model = mb.build()
    with pytest.raises(ConvertError) as e:
        convert(model, "two")
    msg = str(e.value)
    assert "1 unsupported op(s):\n  SUB (op 2" in msg and "other problem(s)" in msg, msg
    assert "'x' is int32" in msg and "'z' is int32" in msg
    assert "CONV_2D (op 1" in msg and "'w' is int16" in msg, msg
    path = tmp_path / "two.tflite"
    path.write_bytes(model)
    r = subprocess.run(
        [sys.executable, "-m", "microai", "convert", str(path), "-o", str(tmp_path / "t.mai")],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert r.returncode == 3 and "Traceback" not in r.stderr
    assert "op 1" in r.stderr and "SUB (op 2" in r.stderr
