"""microai.conv2d, depthwise_conv2d and fully_connected on the emulated boards against the
host's C core (cffi), byte for byte: the Cortex-M4 (STM32F405) and M7 run the DSP paths
(SXTB16, SMLAD and the GEMM's assembly), the Cortex-M3 (STM32F205) the scalar ones.

Each case is data: random int8 tensors and int32 bias/requantization (fixed seeds) are sent
to the board as base64, run there by the REPL kernel functions, and the output read back
as base64; the host computes the same case with lib.nn_conv_s8, nn_dw_conv_wrapper_s8 or
nn_fc_s8, called as tests/host/test_kernels_conv.py calls them.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

import numpy as np
import pytest

from microai import native
from microai.device import connect

BOARDS = ["QEMU_STM32F405", "QEMU_STM32F205", "QEMU_M7"]


@dataclass(frozen=True)
class Case:
    name: str
    kind: str  # "conv", "dw" or "fc"
    in_shape: tuple[int, ...]  # NHWC; for fc (batches, in_depth)
    out_c: int  # output channels (conv: weights O; fc: out_depth); dw: ignored
    kernel: tuple[int, int] = (3, 3)
    stride: tuple[int, int] = (1, 1)
    dilation: tuple[int, int] = (1, 1)
    padding: tuple[int, int] = (0, 0)
    out_hw: tuple[int, int] | None = None  # default: the largest the padding allows
    dm: int = 1
    in_off: int = 3
    out_off: int = -5
    filter_off: int = 0  # fc only
    act: tuple[int, int] = (-128, 127)
    per_channel: bool = True
    bias: bool = True
    seed: int = 0
    rounding: str | None = None  # fc only: None = the board's default, "double"
    w_max: int = 127  # weights in [-w_max, w_max]
    shift: int | None = None  # the shifts' base (default: from the accumulators' size)
    bits: int = 8  # 4: int4 weights in [-8, 7] (clipped to [-w_max, w_max]), the *_s4 kernels


CASES = [
    Case("conv_im2col", "conv", (1, 9, 8, 3), 5, stride=(2, 1), dilation=(1, 2), padding=(1, 2)),
    Case("conv_pw", "conv", (2, 4, 5, 6), 7, kernel=(1, 1), per_channel=False, in_off=128),
    Case("conv_relu_no_bias", "conv", (1, 6, 6, 4), 3, kernel=(2, 3), bias=False, act=(-128, 30)),
    Case("dw3x3", "dw", (1, 7, 6, 5), 0, padding=(1, 1), out_off=20, seed=1),
    Case("dw_dm2_5x3", "dw", (2, 8, 7, 3), 0, kernel=(5, 3), stride=(2, 2), dm=2, padding=(2, 1)),
    # 3x3 by groups of four channels: a group and a tail, padding on one side at a time
    # (out_hw cuts the trailing side), a single channel, stride 2, a one-pixel input.
    Case("dw3x3_ch7_pad_top_left", "dw", (1, 6, 7, 7), 0, padding=(1, 2), out_hw=(5, 7)),
    Case("dw3x3_ch4_pad_bottom_right", "dw", (1, 6, 5, 4), 0, out_hw=(5, 4), seed=4),
    Case("dw3x3_ch1_stride2", "dw", (1, 9, 8, 1), 0, stride=(2, 2), padding=(1, 0), in_off=128),
    Case("dw3x3_1x1_input", "dw", (1, 1, 1, 6), 0, padding=(1, 1), act=(-20, 100), seed=5),
    Case(
        "dw3x3_per_tensor_relu",
        "dw",
        (2, 4, 5, 12),
        0,
        padding=(1, 1),
        per_channel=False,
        act=(-5, 127),
        bias=False,
    ),
    Case("dw_dilated_ch5", "dw", (1, 9, 9, 5), 0, dilation=(2, 2), padding=(2, 1), seed=6),
    Case("dw_dm5_ch2", "dw", (1, 6, 7, 2), 0, dm=5, padding=(1, 1), seed=7),
    Case(
        "dw_dm8_10x8",
        "dw",
        (1, 13, 12, 1),
        0,
        kernel=(10, 8),
        stride=(2, 2),
        dm=8,
        padding=(4, 3),
        seed=8,
    ),
    Case("fc", "fc", (3, 21), 6, per_channel=False, in_off=-100),
    Case("fc_per_channel_filter_off", "fc", (2, 17), 5, filter_off=2, act=(-60, 90), seed=2),
    Case("fc_single", "fc", (4, 19), 7, rounding="single", seed=3),
    Case("fc_double_per_tensor", "fc", (4, 19), 7, per_channel=False, rounding="double"),
    # The GEMM kernels' paths: the assembly loop (in_ch a multiple of 4, the whole int8
    # range, shifts <= -1) with an odd last channel and an odd pixel; an odd number of
    # 4-tap groups; taps not a multiple of 4 (staged im2col); one channel; shifts >= 0.
    Case("conv_pw_odd_pixels_odd_out", "conv", (1, 3, 5, 8), 5, kernel=(1, 1)),
    Case("conv_pw_in1_out1", "conv", (1, 2, 3, 1), 1, kernel=(1, 1), in_off=-127, seed=4),
    Case("conv_pw_relu", "conv", (1, 3, 3, 12), 6, kernel=(1, 1), act=(-128, 40)),
    Case("conv_in4_stride2_pad", "conv", (1, 7, 6, 4), 3, stride=(2, 2), padding=(1, 1)),
    Case("conv_in4_groups_odd", "conv", (2, 4, 5, 4), 7, padding=(1, 1), in_off=128),
    Case("conv_in1_10x4", "conv", (1, 12, 6, 1), 6, kernel=(5, 4), stride=(2, 2), padding=(2, 1)),
    Case("conv_in3_dilated", "conv", (2, 6, 7, 3), 5, dilation=(2, 1), padding=(2, 1)),
    Case("conv_in3_out_even", "conv", (1, 6, 5, 3), 4, padding=(1, 1), seed=7),
    Case("conv_pw_shift_ge0", "conv", (1, 4, 3, 2), 4, kernel=(1, 1), w_max=1, shift=0),
    Case("conv_3x3_shift_ge0", "conv", (1, 4, 4, 1), 3, w_max=1, shift=0, padding=(1, 1)),
    Case("fc_in1_odd_units", "fc", (3, 1), 5, seed=5),
    Case("fc_odd_units_filter_off", "fc", (2, 13), 7, filter_off=-3, in_off=127, seed=6),
]


def _axis(size: int, k: int, stride: int, dilation: int, pad: int) -> int:
    # The largest output size whose windows all touch the input.
    return (size + pad - 1) // stride + 1 if pad else (size - (k - 1) * dilation - 1) // stride + 1


def _data(c: Case) -> dict:
    """The case's tensors and shapes, as numpy arrays."""
    rng = np.random.default_rng(1000 + c.seed + sum(map(ord, c.name)))
    x = rng.integers(-128, 128, c.in_shape, dtype=np.int8)
    if c.kind == "fc":
        depth, out_c = c.in_shape[1], c.out_c
        w_shape, out_shape, taps = (out_c, depth), (c.in_shape[0], out_c), depth
    else:
        n, h, w, ch = c.in_shape
        kh, kw = c.kernel
        out_c = ch * c.dm if c.kind == "dw" else c.out_c
        oh, ow = c.out_hw or (
            _axis(h, kh, c.stride[0], c.dilation[0], c.padding[0]),
            _axis(w, kw, c.stride[1], c.dilation[1], c.padding[1]),
        )
        w_shape = (1, kh, kw, out_c) if c.kind == "dw" else (out_c, kh, kw, ch)
        out_shape = (n, oh, ow, out_c)
        taps = kh * kw * (1 if c.kind == "dw" else ch)
    if c.bits == 4:
        # Both int4 extremes (-8, 7) unless w_max narrows the range.
        weights = rng.integers(-8, 8, w_shape, dtype=np.int8)
        weights.flat[0], weights.flat[-1] = -8, 7
        weights = np.clip(weights, -c.w_max, c.w_max).astype(np.int8)
    else:
        weights = rng.integers(-c.w_max, c.w_max + 1, w_shape, dtype=np.int8)
    acc_std = 74.0 * (0.6 * c.w_max if c.w_max < 127 else 74.0) * np.sqrt(taps)
    bias = rng.integers(-int(acc_std), int(acc_std), out_c).astype(np.int32) if c.bias else None
    nq = out_c if c.per_channel else 1
    mult = rng.integers(1 << 30, 1 << 31, nq).astype(np.int32)
    base = -int(np.ceil(np.log2(acc_std / 50))) if c.shift is None else c.shift
    shift = np.full(nq, base, np.int32)
    shift -= rng.integers(0, 2, nq).astype(np.int32)
    return dict(x=x, w=weights, bias=bias, mult=mult, shift=shift, out_shape=out_shape)


def _ptr(ffi, ctype: str, a: np.ndarray | None):
    return ffi.NULL if a is None else ffi.cast(ctype, ffi.from_buffer(a))


def _s4_packed(w: np.ndarray) -> np.ndarray:
    """int4 weights in TFLite's packing (what the board's weights_bits=4 takes)."""
    from microai import blob as B

    return np.frombuffer(B.element_bytes("s4", w), np.uint8).copy()


def _s4_rows(w: np.ndarray) -> np.ndarray:
    """int4 weights [rows, ...] as the GEMM's int4 rows (MAI_LAYOUT_S4_ROWS), in a
    4-byte aligned buffer."""
    from microai import layouts

    raw = layouts.prepare("s4_rows", w).data
    buf = np.zeros(len(raw) // 4, np.uint32)
    buf.view(np.uint8)[:] = np.frombuffer(raw, np.uint8)
    return buf


def _host(c: Case, d: dict) -> bytes:
    """The case through the host's C core (the *_s4 kernels for c.bits == 4)."""
    ffi, lib = native.load()
    x, w, b, mult, shift = d["x"], d["w"], d["bias"], d["mult"], d["shift"]
    s4 = c.bits == 4
    y = np.full(d["out_shape"], 0x55, np.int8)
    q = ffi.new(
        "nn_quant *",
        {
            "multiplier": _ptr(ffi, "int32_t *", mult),
            "shift": _ptr(ffi, "int32_t *", shift),
            "per_channel": int(mult.size > 1),
            # fully_connected's default on the board: rounding='double' (TFLite-Micro's).
            "rounding": lib.NN_ROUNDING_SINGLE
            if c.rounding == "single"
            else lib.NN_ROUNDING_DOUBLE,
        },
    )
    xp, wp, yp = (_ptr(ffi, "int8_t *", a) for a in (x, w, y))
    if s4:
        w4 = _s4_packed(w) if c.kind == "dw" else _s4_rows(w)
        wp = _ptr(ffi, "uint8_t *", w4)
    bp = _ptr(ffi, "int32_t *", b)
    act = {"min": c.act[0], "max": c.act[1]}
    if c.kind == "fc":
        p = ffi.new(
            "nn_fc_params *",
            {
                "input_offset": c.in_off,
                "filter_offset": c.filter_off,
                "output_offset": c.out_off,
                "act": act,
            },
        )
        batches, depth = x.shape
        fc = lib.nn_fc_s4 if s4 else lib.nn_fc_s8
        st = fc(p, q, batches, depth, xp, w.shape[0], wp, bp, yp)
    else:
        p = ffi.new(
            "nn_conv_params *",
            {
                "input_offset": c.in_off,
                "output_offset": c.out_off,
                "stride_h": c.stride[0],
                "stride_w": c.stride[1],
                "dilation_h": c.dilation[0],
                "dilation_w": c.dilation[1],
                "pad_h": c.padding[0],
                "pad_w": c.padding[1],
                "depth_multiplier": c.dm if c.kind == "dw" else 1,
                "act": act,
            },
        )
        dims = [
            ffi.new("nn_dims *", dict(zip("nhwc", s, strict=True)))
            for s in (x.shape, w.shape, y.shape)
        ]
        name = "nn_dw_conv_wrapper_s8" if c.kind == "dw" else "nn_conv_s8"
        size = getattr(lib, name + "_scratch_size")(p, *dims)
        if s4:  # the int4 depthwise kernels take their int8 twins' scratch
            name = name.replace("_s8", "_s4")
            if c.kind == "conv":
                size = lib.nn_conv_s4_scratch_size(p, *dims)
        scratch = np.zeros(size // 4 + 1, np.int32)  # 4-byte aligned
        st = getattr(lib, name)(
            p, q, dims[0], xp, dims[1], wp, bp, dims[2], yp, _ptr(ffi, "void *", scratch), size
        )
    assert st == lib.NN_OK
    return y.tobytes()


def _b64(a: np.ndarray) -> str:
    return repr(base64.b64encode(a.tobytes()).decode())


def _board_code(c: Case, d: dict) -> str:
    """MicroPython that runs the case and prints the output as base64."""
    w = _s4_packed(d["w"]) if c.bits == 4 else d["w"]
    lines = [
        f"x = a2b({_b64(d['x'])})",
        f"w = a2b({_b64(w)})",
        f"b = array('i', a2b({_b64(d['bias'])}))" if d["bias"] is not None else "b = None",
    ]
    if c.per_channel:
        lines += [
            f"m = array('i', a2b({_b64(d['mult'])}))",
            f"s = array('i', a2b({_b64(d['shift'])}))",
        ]
    else:
        lines += [f"m = {int(d['mult'][0])}", f"s = {int(d['shift'][0])}"]
    n_out = int(np.prod(d["out_shape"]))
    lines.append(f"y = bytearray({n_out})")
    kw = f"multiplier=m, shift=s, act={c.act}, input_offset={c.in_off}, output_offset={c.out_off}"
    if c.bits == 4:
        kw += ", weights_bits=4"
    if c.kind == "fc":
        rounding = f", rounding={c.rounding!r}" if c.rounding else ""
        lines.append(
            f"microai.fully_connected(x, w, b, y, batches={c.in_shape[0]}, "
            f"filter_offset={c.filter_off}, {kw}{rounding})"
        )
    else:
        fn = "depthwise_conv2d" if c.kind == "dw" else "conv2d"
        extra = f", depth_multiplier={c.dm}" if c.kind == "dw" else ""
        lines.append(
            f"microai.{fn}(x, {c.in_shape}, w, {d['w'].shape}, b, y, {d['out_shape']}, "
            f"stride={c.stride}, dilation={c.dilation}, padding={c.padding}, {kw}{extra})"
        )
    lines.append("print(b2a(y).decode().strip())")
    return "\n".join(lines)


@pytest.fixture(scope="module", params=BOARDS)
def board(firmware, request):
    firmware(request.param)
    with connect(board=request.param, build=False) as t:
        t.exec("import microai\nfrom array import array")
        t.exec("from binascii import a2b_base64 as a2b, b2a_base64 as b2a")
        yield t


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_board_matches_host(board, case: Case):
    d = _data(case)
    want = _host(case, d)
    got = base64.b64decode(board.exec(_board_code(case, d), timeout=30).strip())
    assert len(got) == len(want)
    if got != want:
        first = next(i for i, (g, h) in enumerate(zip(got, want, strict=True)) if g != h)
        pytest.fail(
            f"{case.name}: first difference at byte {first}: board {got[first]}, host {want[first]}"
        )
    # A meaningful case: the outputs are spread, not all clamped to one value.
    assert len(set(want)) >= min(6, len(want))


def test_fc_rounding_on_board(board):
    """fully_connected's rounding keyword: double by default (TFLite-Micro), single on
    request (LiteRT); they differ where the first of two roundings makes a tie
    (acc * 0.6 / 2 for acc = +-1: +-1 with double, 0 with single); any other value is a
    ValueError naming the keyword."""
    ffi, lib = native.load()
    x = np.array([1, -1, 2, 5, -3], np.int8)
    w = np.ones((1, 1), np.int8)
    got = {}
    for r in (None, "double", "single"):
        kw = f", rounding={r!r}" if r else ""
        code = (
            f"y = bytearray(5)\nmicroai.fully_connected(bytes({x.tobytes()!r}), b'\\x01', None, "
            f"y, batches=5, multiplier=1288490189, shift=-1{kw})\nprint(list(array('b', y)))"
        )
        got[r] = board.exec(code, timeout=30).strip()
    mult, shift = ffi.new("int32_t[1]", [1288490189]), ffi.new("int32_t[1]", [-1])
    for r, want in (("double", "[1, -1, 1, 2, -1]"), ("single", "[0, 0, 1, 2, -1]")):
        y = np.zeros(5, np.int8)
        q = ffi.new(
            "nn_quant *",
            {
                "multiplier": mult,
                "shift": shift,
                "per_channel": 0,
                "rounding": getattr(lib, f"NN_ROUNDING_{r.upper()}"),
            },
        )
        p = ffi.new("nn_fc_params *", {"act": {"min": -128, "max": 127}})
        st = lib.nn_fc_s8(
            p,
            q,
            5,
            1,
            _ptr(ffi, "int8_t *", x),
            1,
            _ptr(ffi, "int8_t *", w),
            ffi.NULL,
            _ptr(ffi, "int8_t *", y),
        )
        assert st == lib.NN_OK
        assert str(y.tolist()) == want == got[r], (r, got[r])
    assert got[None] == got["double"] != got["single"]
    err = board.exec(
        "try:\n microai.fully_connected(b'\\x01', b'\\x01', None, bytearray(1), "
        "multiplier=1 << 30, shift=0, rounding='nearest')\n"
        "except ValueError as e:\n print('ValueError', e)",
        timeout=30,
    ).strip()
    assert err == "ValueError rounding: 'double' or 'single' expected"


# ---- weights widened on the host: the *_S8W16 kernels' assembly on each core ----------

WIDE_CASES = [
    "per_tensor",
    "batch2",
    "big_k",
    "1x1_odd_pixels_odd_out",
    "1x1_in1_out1",
    "1x1_in12_relu",
    "in4_stride2_pad",
    "in4_groups_odd",
    "in1_10x4_stride2",
    "in1_out1",
    "in3_dilated_relu6",
    "in2_wide_stride",
    "1x1_shift_ge0",
    "3x3_shift_ge0",
]


@pytest.mark.parametrize("name", WIDE_CASES)
def test_widened_weights_on_board(board, name: str):
    """A one-conv blob with its weights widened to int16 (MAI_LAYOUT_WIDE), uploaded and
    run on the board, equals the host engine's output byte for byte: the DSP assembly
    (4 LDRD, 8 SMLAD a group) on the M4 and M7, the LDRSH/MLA one on the M3."""
    from test_kernels_conv import CONV_CASES, _conv_model, _wide

    from microai.engine import Model
    from microai.hil import board_run, place_model

    case = next(c for c in CONV_CASES if c.name == name)
    conv = _wide(case)
    assert conv.layers[0].kernel in ("CONV_PW_S8W16", "CONV_IM2COL_S8W16")
    x = _conv_model(case)[1]
    with Model(conv.blob) as m:
        want = m.run(x).tobytes()
    place_model(board, conv.blob, None)
    assert board_run(board, x.tobytes()) == want


# ---- Winograd F(2x2, 3x3): its transforms and the 16 sums' assembly on each core -----

WINO_CASES = [
    "wino_same_8x8_in3",
    "wino_valid_odd",
    "wino_same_odd_relu",
    "wino_per_tensor_batch2",
    "wino_in1_out1_no_bias",
    "wino_in32_zp",
    "wino_1x1_input",
    "wino_shift_ge0",
    "wino_relu6_in7",
    "wino_in2_out33",
]


@pytest.mark.parametrize("name", WINO_CASES)
def test_winograd_on_board(board, name: str):
    """A one-conv blob by Winograd (MAI_LAYOUT_WINOGRAD), uploaded and run on the board,
    equals the host engine's output byte for byte, which equals the direct kernel's
    (test_kernels_conv.py): the SADD16/SSUB16 input transform and the SMLAD assembly on
    the M4 and M7, the plain C transform and LDRSH/MLA assembly on the M3."""
    from test_kernels_conv import WINO_CASES as CASES
    from test_kernels_conv import _conv_model, _winograd

    from microai.engine import Model
    from microai.hil import board_run, place_model

    case = next(c for c in CASES if c.name == name)
    conv = _winograd(case)
    assert conv.layers[0].kernel == "CONV_WINOGRAD_3X3_S8"
    x = _conv_model(case)[1]
    with Model(conv.blob) as m:
        want = m.run(x).tobytes()
    place_model(board, conv.blob, None)
    assert board_run(board, x.tobytes()) == want


SPARSE_CASES = [
    "pw_odd_channels",
    "pw_multiple_of_4",
    "pw_zero_rows",
    "pw_empty",
    "im2col_stride2_pad",
    "im2col_5x2_odd",
    "im2col_dense",
    "fc_batch1",
    "fc_batch1_wide",
    "fc_batch2_per_channel",
    "fc_batch3_odd",
    "fc_zero_rows",
    "fc_empty",
    "fc_weights_zero_point",
]


@pytest.mark.parametrize("name", SPARSE_CASES)
def test_block_sparse_weights_on_board(board, name: str):
    """A one-layer blob with block-sparse weights (S8_BLOCK4), uploaded and run on the
    board, equals the dense kernel's output on the host byte for byte: the SMLAD assembly
    on the M4 and M7, the LDRSB/LDRSH/MLA one on the M3, the loader's checks of the
    metadata on the board."""
    from test_kernels_sparse import CASES, _convert, _model

    from microai.engine import Model
    from microai.hil import board_run, place_model

    case = next(c for c in CASES if c.name == name)
    model, x, _ = _model(case)
    sparse = _convert(model, case.algorithm)
    assert sparse.layers[0].kernel.endswith("_BLOCK4")
    with Model(_convert(model).blob) as m:
        want = m.run(x).tobytes()
    place_model(board, sparse.blob, None)
    assert board_run(board, x.tobytes()) == want


# ---- int4 weights: the *_s4 kernels on each core ---------------------------------------

S4_BOARD_CASES = [
    "conv_im2col",
    "conv_in4_groups_odd",
    "conv_in16_stride2_pad",
    "conv_in1_5x4",
    "conv_in3_dilated",
    "conv_relu_no_bias",
    "conv_big_k_per_tensor",
    "conv_3x3_shift_ge0",
    "conv_pw_per_tensor_batch2",
    "conv_pw_k8_odd",
    "conv_pw_in1_out1",
    "conv_pw_k24_relu",
    "conv_pw_shift_ge0",
    "dw3x3",
    "dw3x3_ch1_stride2",
    "dw3x3_ch7_per_tensor_batch2",
    "dw_dm2_5x3",
    "dw_dilated_ch5",
    "dw_dm5_ch2",
    "dw_5x5_ch6_per_tensor",
    "dw_5x5_ch8_stride2",
    "dw_dm3_ch2",
    "fc",
    "fc_per_channel_filter_off",
    "fc_single",
    "fc_in1_odd_units",
    "fc_in8_one_unit",
    "fc_in40_batch1",
    "fc_in13_odd_units_per_tensor",
]


@pytest.mark.parametrize("name", S4_BOARD_CASES)
def test_int4_weights_on_board(board, name: str):
    """microai.conv2d / depthwise_conv2d / fully_connected(..., weights_bits=4) with the
    weights in TFLite's INT4 packing equal the host's int4 kernels byte for byte: the
    SXTB16/SMLAD form on the M4 and M7, the scalar one on the M3."""
    from test_kernels_s4 import S4_CASES

    case = next(c for c in S4_CASES if c.name == name)
    d = _data(case)
    want = _host(case, d)
    got = base64.b64decode(board.exec(_board_code(case, d), timeout=30).strip())
    assert got == want


def test_int4_weights_errors_on_board(board):
    """weights_bits other than 4 or 8, and an int4 buffer of the wrong length, are
    ValueErrors that say what was expected."""
    run = "try:\n microai.{}\nexcept ValueError as e:\n print('ValueError', e)"
    conv = (
        "conv2d(bytes(8), (1, 2, 2, 2), bytes({}), (3, 1, 1, 2), None, bytearray(12), "
        "(1, 2, 2, 3), multiplier=1 << 30, shift=0, weights_bits={})"
    )
    fc = (
        "fully_connected(bytes(5), bytes({}), None, bytearray(3), multiplier=1 << 30, "
        "shift=0, weights_bits={})"
    )
    dw = (
        "depthwise_conv2d(bytes(12), (1, 2, 2, 3), bytes({}), (1, 1, 1, 3), None, "
        "bytearray(12), (1, 2, 2, 3), multiplier=1 << 30, shift=0, weights_bits={})"
    )
    cases = [
        (conv.format(3, 5), "weights_bits: 5 given, must be 8 (int8) or 4 (int4)"),
        (conv.format(4, 4), "weights: 4 bytes given, 6 int4 weights need 3"),
        (fc.format(7, 4), "weights: 7 bytes given, 15 int4 weights need 8"),
        (dw.format(1, 4), "weights: 1 bytes given, 3 int4 weights need 2"),
        (fc.format(8, 3), "weights_bits: 3 given, must be 4..8"),
    ]
    for call, message in cases:
        got = board.exec(run.format(call), timeout=30).strip()
        assert got == f"ValueError {message}", call
    # A valid call of each runs.
    for call in (conv.format(3, 4), fc.format(8, 4), dw.format(2, 4)):
        assert board.exec(f"microai.{call}\nprint('ok')", timeout=30).strip() == "ok"


# ---- an output trailing its input, at the least gap the op's check allows ---------------


@pytest.mark.parametrize("name", ["trail_im2col_dilated_batch2", "trail_dw_dm8_10x8_stride2"])
def test_trailing_output_on_board(board, name: str):
    """A one-conv blob whose output starts the least gap before its input and runs into
    it (test_kernels_conv.py), run on the board, equals the host engine's output byte for
    byte: the board's im2col and depthwise loops (DSP or not) read rows in order too."""
    from test_kernels_conv import TRAIL_CASES, _conv_model, _tampered, _trail_gap, _trailing

    from microai.convert import convert
    from microai.engine import Model
    from microai.hil import board_run, place_model

    case = next(c for c in TRAIL_CASES if c.name == name)
    blob = _tampered(convert(_conv_model(case)[0], case.name).blob, _trailing(_trail_gap(case)))
    x = _conv_model(case)[1]
    with Model(blob) as m:
        want = m.run(x).tobytes()
    place_model(board, blob, None)
    assert board_run(board, x.tobytes()) == want


# ---- a PAD folded into the convolution after it (test_fused_pad.py) ----------------------


@pytest.mark.parametrize("name", ["dw3x3_lead2", "im2col_lead2", "asymmetric_0_1_stride2"])
def test_fused_pad_on_board(board, name: str):
    """A convolution with a PAD folded in (leading padding up to the filter's extent less
    one), run on the board, equals the host engine's output byte for byte."""
    from test_fused_pad import FUSED, pad_conv

    from microai.convert import convert
    from microai.engine import Model
    from microai.hil import board_run, place_model

    model, x = pad_conv(**FUSED[name])
    blob = convert(model, name).blob
    with Model(blob) as m:
        want = m.run(x).tobytes()
    place_model(board, blob, None)
    assert board_run(board, x.tobytes()) == want
