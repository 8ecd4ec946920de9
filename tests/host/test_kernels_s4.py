"""The int4-weights kernels (CONV_PW_S4, CONV_IM2COL_S4, DW_CONV_3X3_S4, DW_CONV_S4, FC_S4)
against their int8 twins on the same weights, byte for byte, through cffi: the int8 kernel
is the oracle (itself checked against both goldens in test_kernels_conv.py). Then the same
through a one-op blob and the host engine, and the loader's refusals of int4 weights in a
form their kernel does not read.

The cases are data (test_board_kernels.Case), and test_board_kernels.py runs them on the
emulated boards through microai.conv2d(..., weights_bits=4) and friends.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from test_board_kernels import Case, _data, _host

from microai import blob as B
from microai import layouts, native
from microai.engine import Model, ModelError
from microai.testing.int4 import one_op_blob, seed_blobs


def _s4(name: str, kind: str, in_shape, out_c: int, **kw) -> Case:
    return Case(name, kind, tuple(in_shape), out_c, bits=4, w_max=kw.pop("w_max", 8), **kw)


S4_CASES = [
    # CONV, im2col: taps 27 (not a multiple of 4 or 8), stride 2, dilation, padding on
    # every side (the trailing sides implied by the largest output).
    _s4("conv_im2col", "conv", (1, 9, 8, 3), 5, stride=(2, 1), dilation=(1, 2), padding=(1, 2)),
    _s4("conv_in4_groups_odd", "conv", (2, 4, 5, 4), 7, padding=(1, 1), in_off=128),
    _s4("conv_in16_stride2_pad", "conv", (1, 7, 6, 16), 3, stride=(2, 2), padding=(1, 1)),
    _s4("conv_in1_5x4", "conv", (1, 12, 6, 1), 6, kernel=(5, 4), stride=(2, 2), padding=(2, 1)),
    _s4("conv_in3_dilated", "conv", (2, 6, 7, 3), 5, dilation=(2, 1), padding=(2, 1)),
    _s4("conv_relu_no_bias", "conv", (1, 6, 6, 4), 3, kernel=(2, 3), bias=False, act=(-128, 30)),
    _s4("conv_big_k_per_tensor", "conv", (1, 5, 5, 40), 4, padding=(1, 1), per_channel=False),
    _s4("conv_3x3_shift_ge0", "conv", (1, 4, 4, 1), 3, w_max=1, shift=0, padding=(1, 1)),
    # CONV, pointwise: k 6, 8, 1; batch 2, odd pixels, one output channel, shifts >= 0.
    _s4("conv_pw_per_tensor_batch2", "conv", (2, 4, 5, 6), 7, kernel=(1, 1), per_channel=False),
    _s4("conv_pw_k8_odd", "conv", (1, 3, 5, 8), 5, kernel=(1, 1)),
    _s4("conv_pw_in1_out1", "conv", (1, 2, 3, 1), 1, kernel=(1, 1), in_off=-127, seed=3),
    _s4("conv_pw_k24_relu", "conv", (1, 3, 3, 24), 6, kernel=(1, 1), act=(-128, 40)),
    _s4("conv_pw_shift_ge0", "conv", (1, 4, 3, 2), 4, kernel=(1, 1), w_max=1, shift=0),
    # DEPTHWISE 3x3: a group and a tail, a single channel with stride 2, per tensor.
    _s4("dw3x3", "dw", (1, 7, 6, 5), 0, padding=(1, 1), out_off=20, seed=1),
    _s4("dw3x3_ch1_stride2", "dw", (1, 9, 8, 1), 0, stride=(2, 2), padding=(1, 0), in_off=128),
    _s4(
        "dw3x3_ch7_per_tensor_batch2",
        "dw",
        (2, 4, 5, 7),
        0,
        padding=(1, 1),
        per_channel=False,
        act=(-5, 127),
        bias=False,
    ),
    # DEPTHWISE direct: multiplier 2 and 5, dilation, 5x5 with 4 + 2 channels.
    _s4("dw_dm2_5x3", "dw", (2, 8, 7, 3), 0, kernel=(5, 3), stride=(2, 2), dm=2, padding=(2, 1)),
    _s4("dw_dilated_ch5", "dw", (1, 9, 9, 5), 0, dilation=(2, 2), padding=(2, 1), seed=6),
    _s4("dw_dm5_ch2", "dw", (1, 6, 7, 2), 0, dm=5, padding=(1, 1), seed=7),
    _s4("dw_5x5_ch6_per_tensor", "dw", (1, 8, 8, 6), 0, kernel=(5, 5), per_channel=False),
    _s4("dw_5x5_ch8_stride2", "dw", (2, 9, 8, 8), 0, kernel=(5, 5), stride=(2, 2), padding=(2, 2)),
    _s4("dw_dm3_ch2", "dw", (1, 6, 5, 2), 0, kernel=(3, 2), dm=3, padding=(1, 0), seed=9),
    # FULLY_CONNECTED: odd units and depths (1, 8, 13, 21, 40), batches 1..4, both roundings.
    _s4("fc", "fc", (3, 21), 6, per_channel=False, in_off=-100),
    _s4("fc_per_channel_filter_off", "fc", (2, 17), 5, filter_off=2, act=(-60, 90), seed=2),
    _s4("fc_single", "fc", (4, 19), 7, rounding="single", seed=3),
    _s4("fc_in1_odd_units", "fc", (3, 1), 5, seed=5),
    _s4("fc_in8_one_unit", "fc", (1, 8), 1, seed=6),
    _s4("fc_in40_batch1", "fc", (1, 40), 9, seed=7),
    _s4("fc_in13_odd_units_per_tensor", "fc", (2, 13), 7, per_channel=False, in_off=127),
]


@pytest.mark.parametrize("case", S4_CASES, ids=lambda c: c.name)
def test_s4_kernel_equals_int8_kernel(case: Case):
    d = _data(case)
    w = d["w"]
    assert w.min() >= -8 and w.max() <= 7
    if case.w_max >= 8 and w.size >= 2:
        assert w.min() == -8 and w.max() == 7
    want = _host(replace(case, bits=8), d)  # the int8 kernel on the same weights
    got = _host(case, d)
    assert got == want
    assert len(set(want)) >= min(6, len(want)), "a case whose outputs are all clamped"


def test_s4_rows_bytes():
    """nn_s4_rows_prepare(): rows padded to whole groups of 8 taps, byte j of a group
    holding taps j (low nibble) and 4 + j (high nibble); from TFLite's packing."""
    w = np.array([[1, 2, 3, 4, 5, 6, 7, -8, -1], [-8, 7, 0, 0, 0, 0, 0, 0, 1]], np.int8)
    got = layouts.prepare("s4_rows", w).data
    assert got.hex(" ") == "51 62 73 84 0f 00 00 00 08 07 00 00 01 00 00 00"
    assert layouts.nbytes("s4_rows", (2, 9)) == 16
    assert layouts.nbytes("s4_rows", (3, 1, 1, 8)) == 12
    assert layouts.prepare("s4", w[:, :3]).data == bytes([0x21, 0x83, 0x07])
    assert layouts.storage("s4_rows") == "s4" and layouts.layout("s4_rows") == "s4_rows"
    assert layouts.storage("s4") == "s4" and layouts.layout("s4") == "standard"


def test_s4_kernels_in_the_table():
    """Each int4 kernel runs its int8 twin's op with the twin's algorithm name, reading
    int4 weights; the formats are (S4, STANDARD) and (S4, S4_ROWS)."""
    t = native.table()["kernels"]
    twins = {
        "CONV_PW_S4": ("CONV_PW_S8", "s4_rows"),
        "CONV_IM2COL_S4": ("CONV_IM2COL_S8", "s4_rows"),
        "DW_CONV_3X3_S4": ("DW_CONV_3X3_S8", "s4"),
        "DW_CONV_S4": ("DW_CONV_S8", "s4"),
        "FC_S4": ("FC_S8", "s4_rows"),
    }
    for name, (twin, fmt) in twins.items():
        assert (t[name].op, t[name].algorithm) == (t[twin].op, t[twin].algorithm)
        assert t[name].weights == fmt
    assert native.table()["weights"]["s4_rows"] == ("s4", "s4_rows")
    assert native.table()["weights"]["s4"] == ("s4", "standard")


def test_s4_kernels_refuse_too_many_taps():
    """Past 65,536 taps the x16 DSP sums could overflow: the kernels refuse."""
    ffi, lib = native.load()
    assert lib.NN_S4_MAX_TAPS == 65536
    p = ffi.new("nn_fc_params *", {"act": {"min": -128, "max": 127}})
    mult, shift = np.array([1 << 30], np.int32), np.array([-1], np.int32)
    q = ffi.new(
        "nn_quant *",
        {
            "multiplier": ffi.from_buffer("int32_t[]", mult),
            "shift": ffi.from_buffer("int32_t[]", shift),
        },
    )
    depth = 65537
    x = np.zeros(depth, np.int8)
    w = np.zeros(lib.nn_s4_rows_bytes(1, depth) // 4, np.uint32)
    y = np.zeros(1, np.int8)
    st = lib.nn_fc_s4(
        p,
        q,
        1,
        depth,
        ffi.from_buffer("int8_t[]", x),
        1,
        ffi.cast("uint8_t *", ffi.from_buffer(w)),
        ffi.NULL,
        ffi.from_buffer("int8_t[]", y),
    )
    assert st == lib.NN_ERR_UNSUPPORTED


# ---- through a blob ----------------------------------------------------------------------


def _blob(case: Case, d: dict, kernel: str, fmt: str, rounding: str = "double") -> bytes:
    """A one-op blob of the case: weights in format fmt, the op run by `kernel`."""
    act = {"min": case.act[0], "max": case.act[1]}
    if case.kind == "fc":
        params = {
            "input_offset": case.in_off,
            "filter_offset": case.filter_off,
            "output_offset": case.out_off,
            "act": act,
        }
    else:
        params = {
            "input_offset": case.in_off,
            "output_offset": case.out_off,
            "stride_h": case.stride[0],
            "stride_w": case.stride[1],
            "dilation_h": case.dilation[0],
            "dilation_w": case.dilation[1],
            "pad_h": case.padding[0],
            "pad_w": case.padding[1],
            "depth_multiplier": case.dm if case.kind == "dw" else 1,
            "act": act,
        }
    op = {"fc": "FC", "dw": "DWCONV", "conv": "CONV"}[case.kind]
    return one_op_blob(
        op,
        kernel,
        fmt,
        d["x"].shape,
        d["w"],
        d["out_shape"],
        params,
        d["mult"],
        d["shift"],
        d["bias"],
        rounding,
    )


def _kernel(case: Case, bits: int) -> str:
    """The kernel the board function's wrapper picks for the case."""
    ffi, lib = native.load()
    if case.kind == "fc":
        return f"FC_S{bits}"
    if case.kind == "dw":
        k3 = case.kernel == (3, 3) and case.dm == 1 and case.dilation == (1, 1)
        return ("DW_CONV_3X3_S" if k3 else "DW_CONV_S") + str(bits)
    pw = case.kernel == (1, 1) and case.stride == (1, 1) and case.padding == (0, 0)
    pw = pw and case.dilation == (1, 1)
    return ("CONV_PW_S" if pw else "CONV_IM2COL_S") + str(bits)


BLOB_CASES = [c for c in S4_CASES if c.name != "fc_single"] + [
    replace(next(c for c in S4_CASES if c.name == "fc_single"), name="fc_single_blob")
]


@pytest.mark.parametrize("case", BLOB_CASES, ids=lambda c: c.name)
def test_s4_blob_equals_int8_blob(case: Case):
    """A one-op blob with int4 weights (S4_ROWS for CONV and FC, TFLite's packing for
    DWCONV) run by the host engine gives the int8 blob's output byte for byte."""
    d = _data(case)
    fmt = "s4" if case.kind == "dw" else "s4_rows"
    rounding = case.rounding or "double"
    b4 = _blob(case, d, _kernel(case, 4), fmt, rounding)
    b8 = _blob(case, d, _kernel(case, 8), "s8", rounding)
    x = d["x"]
    with Model(b8) as m:
        want = m.run(x)
    with Model(b4) as m:
        got = m.run(x)
    np.testing.assert_array_equal(got, want)
    assert got.tobytes() == _host(case, d)


def _patched(blob: bytes, table: str, index: int, **fields) -> bytes:
    from microai.testing.crafted import patch

    return patch(blob, table, index, **fields)


def _case(name: str) -> Case:
    return next(c for c in S4_CASES if c.name == name)


def _refusals():
    conv, dw, fc = _case("conv_im2col"), _case("dw3x3"), _case("fc")
    _, lib = native.load()

    def s4(case, fmt):
        return _blob(case, _data(case), _kernel(case, 4), fmt)

    def s8(case):
        return _blob(case, _data(case), _kernel(case, 8), "s8")

    layout = "op 0: a layout this tensor or op cannot have"
    t_layout = "tensor 1: a layout this tensor or op cannot have"
    w = B.TENSOR.unpack(
        s4(conv, "s4_rows"), B.read_header(s4(conv, "s4_rows"))["tensors_offset"] + B.TENSOR.size
    )
    return {
        # int4 weights under an int8 kernel, and int8 weights under an int4 kernel.
        "conv_s4_rows_under_int8": (
            _patched(s4(conv, "s4_rows"), "op", 0, kernel=lib.NN_KERNEL_CONV_IM2COL_S8),
            layout,
        ),
        "conv_int8_under_s4": (
            _patched(s8(conv), "op", 0, kernel=lib.NN_KERNEL_CONV_IM2COL_S4),
            layout,
        ),
        "conv_standard_s4_under_s4_rows_kernel": (s4(conv, "s4"), layout),
        "dw_s4_under_int8": (
            _patched(s4(dw, "s4"), "op", 0, kernel=lib.NN_KERNEL_DW_CONV_3X3_S8),
            layout,
        ),
        "dw_int8_under_s4": (
            _patched(s8(dw), "op", 0, kernel=lib.NN_KERNEL_DW_CONV_3X3_S4),
            layout,
        ),
        "fc_s4_rows_under_int8": (
            _patched(s4(fc, "s4_rows"), "op", 0, kernel=lib.NN_KERNEL_FC_S8),
            layout,
        ),
        "fc_int8_under_s4": (_patched(s8(fc), "op", 0, kernel=lib.NN_KERNEL_FC_S4), layout),
        # S4_ROWS: storage S4 only, exactly rows * 4 * ceil(k / 8) bytes, 4-byte aligned.
        "s4_rows_size": (
            _patched(s4(conv, "s4_rows"), "tensor", 1, size=w["size"] - 4),
            "tensor 1: size does not match shape",
        ),
        "s4_rows_standard_size": (
            _patched(s4(conv, "s4_rows"), "tensor", 1, size=(w["size"] + 1) // 2),
            "tensor 1: size does not match shape",
        ),
        "s4_rows_misaligned": (
            _patched(s4(conv, "s4_rows"), "tensor", 1, offset=w["offset"] + 2),
            "tensor 1: misaligned",
        ),
        "s4_rows_storage_s8": (
            _patched(s4(conv, "s4_rows"), "tensor", 1, storage=B.STORAGES["s8"]),
            t_layout,
        ),
    }


REFUSALS = (
    list(_refusals())
    if False
    else [
        "conv_s4_rows_under_int8",
        "conv_int8_under_s4",
        "conv_standard_s4_under_s4_rows_kernel",
        "dw_s4_under_int8",
        "dw_int8_under_s4",
        "fc_s4_rows_under_int8",
        "fc_int8_under_s4",
        "s4_rows_size",
        "s4_rows_standard_size",
        "s4_rows_misaligned",
        "s4_rows_storage_s8",
    ]
)


@pytest.mark.parametrize("name", REFUSALS)
def test_s4_weights_refused(name: str):
    """The loader takes int4 weights only under a kernel whose table row reads them, in
    that row's layout, exactly as big as the layout makes them, aligned as it reads them;
    each refusal names the tensor or op and why."""
    blob, message = _refusals()[name]
    with pytest.raises(ModelError, match=message):
        Model(blob)


def test_s4_too_many_taps_refused_at_load():
    """A CONV of more than 65,536 taps per output: the int4 kernels' supports() refuses
    it with its reason."""
    case = _s4("conv_big", "conv", (1, 2, 1, 40000), 1, kernel=(2, 1))
    d = _data(case)
    blob = _blob(case, d, "CONV_IM2COL_S4", "s4_rows")
    with pytest.raises(ModelError, match="at most 65,536 taps per output channel"):
        Model(blob)


@pytest.mark.parametrize("name", sorted(seed_blobs()))
def test_s4_fuzz_seeds_load_and_run(name: str):
    """The fuzzer's int4 seed blobs (microai.testing.int4) load and run."""
    blob = seed_blobs()[name]
    with Model(blob) as m:
        m.run(np.zeros(m.input(0).shape, np.int8))
