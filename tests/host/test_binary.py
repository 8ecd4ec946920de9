"""Binary layers (Larq Compute Engine's Lce ops): the C kernels against microai's numpy
reference of LCE (lce.py) on built models of every geometry, the output transform
exhaustively, and the refusals. The reference itself is checked against LCE's own
interpreter on the Larq fixtures (test_larq_fixtures.py)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from microai import lce, native
from microai.convert import convert
from microai.engine import Model
from microai.golden import open_golden
from microai.ir import ConvertError
from microai.testing.tflite_builder import ModelBuilder
from microai.verify import verify


@dataclass(frozen=True)
class Bconv:
    h: int = 6
    w: int = 5
    cin: int = 40
    cout: int = 7
    kh: int = 3
    kw: int = 3
    stride: tuple[int, int] = (1, 1)
    dilation: tuple[int, int] = (1, 1)
    padding: str = "VALID"
    out: str = "int8"  # int8, float32, bits (then LceDequantize to int8)
    act: int = 0  # NONE, RELU, RELU_N1_TO_1, RELU6
    batch: int = 1
    pool: tuple[int, int, int, str] | None = None  # (filter, stride, ..., padding) before
    seed: int = 0

    def __str__(self) -> str:
        pool = f"-pool{self.pool}" if self.pool else ""
        return (
            f"{self.batch}x{self.h}x{self.w}x{self.cin}-{self.cout}-k{self.kh}{self.kw}-"
            f"s{self.stride}-d{self.dilation}-{self.padding}-{self.out}-a{self.act}{pool}"
        )


CASES = [
    Bconv(),
    Bconv(cin=1, cout=1, kh=1, kw=1),
    Bconv(cin=32, cout=32, kh=1, kw=1, out="bits"),
    Bconv(cin=33, cout=65, kh=1, kw=1, stride=(2, 2), out="bits"),
    Bconv(h=9, w=7, cin=3, cout=33, padding="SAME", stride=(2, 2), out="float32"),
    Bconv(h=9, w=7, cin=70, cout=5, padding="SAME", out="int8", act=1),
    Bconv(h=9, w=9, cin=64, cout=31, dilation=(2, 2), out="bits"),
    Bconv(
        h=8,
        w=6,
        cin=17,
        cout=9,
        kh=2,
        kw=3,
        stride=(1, 2),
        dilation=(2, 1),
        padding="SAME",
        out="int8",
        act=3,
    ),
    Bconv(h=7, w=7, cin=95, cout=12, kh=5, kw=5, padding="SAME", out="float32", act=2),
    Bconv(h=4, w=4, cin=40, cout=10, kh=4, kw=4, out="int8"),  # a binary "dense" layer
    Bconv(h=5, w=3, cin=130, cout=3, kh=3, kw=1, batch=2, out="bits", padding="SAME"),
    Bconv(h=8, w=8, cin=40, cout=8, pool=(2, 2, 0, "VALID"), out="bits"),
    Bconv(h=9, w=7, cin=36, cout=6, pool=(3, 2, 0, "SAME"), padding="SAME", out="int8"),
    Bconv(h=6, w=6, cin=8, cout=4, pool=(3, 1, 0, "SAME"), out="float32"),
]


def _bnn_model(c: Bconv) -> bytes:
    """int8 input -> LceQuantize -> [LceBMaxPool2d] -> LceBconv2d -> [LceDequantize]."""
    rng = np.random.default_rng(c.seed + hash(str(c)) % 1000)
    mb = ModelBuilder("binary test model")
    n = c.batch
    x = mb.input("x", (n, c.h, c.w, c.cin), scale=0.05, zero_point=int(rng.integers(-20, 20)))
    bits = mb.tensor("x_bits", (n, c.h, c.w, lce.words(c.cin)), np.int32)
    mb.custom_op("LceQuantize", [x], [bits])
    h, w = c.h, c.w
    if c.pool:
        f, s, _, pad = c.pool
        h, _ = lce.conv_axis(pad, h, f, s, 1)
        w, _ = lce.conv_axis(pad, w, f, s, 1)
        pooled = mb.tensor("pooled", (n, h, w, lce.words(c.cin)), np.int32)
        mb.custom_op(
            "LceBMaxPool2d",
            [bits],
            [pooled],
            {
                "padding": 0 if pad == "SAME" else 1,
                "filter_height": f,
                "filter_width": f,
                "stride_height": s,
                "stride_width": s,
            },
        )
        bits = pooled
    oh, _ = lce.conv_axis(c.padding, h, c.kh, c.stride[0], c.dilation[0])
    ow, _ = lce.conv_axis(c.padding, w, c.kw, c.stride[1], c.dilation[1])
    k = c.kh * c.kw * c.cin
    filt = mb.const("filter", lce.pack(rng.random((c.cout, c.kh, c.kw, c.cin)) < 0.5))
    mul = mb.const(
        "post_mul", (rng.uniform(0.2, 2.0, c.cout) * rng.choice([-1, 1], c.cout)).astype(np.float32)
    )
    bias = mb.const("post_bias", rng.uniform(-k / 2, k / 2, c.cout).astype(np.float32))
    thr = mb.const("thresholds", rng.integers(-1, k + 2, c.cout).astype(np.int32))
    options = {
        "channels_in": c.cin,
        "dilation_height_factor": c.dilation[0],
        "dilation_width_factor": c.dilation[1],
        "fused_activation_function": c.act,
        "pad_values": 1,
        "padding": 0 if c.padding == "SAME" else 1,
        "stride_height": c.stride[0],
        "stride_width": c.stride[1],
    }
    if c.out == "bits":
        y = mb.tensor("y_bits", (n, oh, ow, lce.words(c.cout)), np.int32)
        mb.custom_op("LceBconv2d", [bits, filt, -1, -1, thr], [y], options)
        out = mb.tensor("y", (n, oh, ow, c.cout), np.int8, scale=0.1, zero_point=3)
        mb.custom_op("LceDequantize", [y], [out])
        y = out
    elif c.out == "int8":
        scale = float(rng.uniform(0.5, 4.0)) * np.sqrt(k) / 100
        y = mb.tensor(
            "y", (n, oh, ow, c.cout), np.int8, scale=scale, zero_point=int(rng.integers(-30, 30))
        )
        mb.custom_op("LceBconv2d", [bits, filt, mul, bias, -1], [y], options)
    else:
        y = mb.tensor("y", (n, oh, ow, c.cout), np.float32)
        mb.custom_op("LceBconv2d", [bits, filt, mul, bias, -1], [y], options)
    mb.output(y)
    return mb.build()


@pytest.mark.parametrize("case", CASES, ids=str)
def test_bnn_layer_is_bit_exact(case: Bconv):
    r = verify(_bnn_model(case), n_inputs=4, seed=1, name=str(case))
    bad = [(L["op"], L["mismatches"]) for L in r["layers"] if L["mismatches"]]
    assert r["mismatches"] == 0, bad
    kernels = {L["kernel"] for L in r["layers"]}
    assert "BCONV_B1" in kernels and "BQUANTIZE_B1" in kernels


def test_bconv_reference_counts_every_tap():
    """lce.bconv_acc on a hand case: 2 channels, 3x1 filter, SAME: a padding tap is +1."""
    x = lce.pack(np.array([[[[True, False]], [[False, False]]]]))  # [1, 2, 1, 2]
    w = lce.pack(np.array([[[[True, True]], [[False, False]], [[True, False]]]]))  # [1,3,1,2]
    acc = lce.bconv_acc(x, w, (1, 1), (1, 1), (1, 0), (2, 1))
    # Output 0: taps (pad, x0, x1) vs (w0, w1, w2): 2 + 1 + 1 = 4; output 1: (x0, x1, pad):
    # (1) + (0) + (1) = 2.
    assert acc.reshape(-1).tolist() == [4, 2]


def test_popcount_matches_numpy():
    ffi, lib = native.load()
    rng = np.random.default_rng(3)
    for n in [0, 1, 2, 3, 29, 30, 31, 32, 61, 100]:
        a = rng.integers(0, 2**32, n, dtype=np.uint32)
        b = rng.integers(0, 2**32, n, dtype=np.uint32)
        if n > 3:
            a[:3], b[:3] = 0xFFFFFFFF, 0  # whole words of ones
        want = int(np.unpackbits((a ^ b).view(np.uint8)).sum())
        pa = ffi.cast("uint32_t *", ffi.from_buffer(a))
        pb = ffi.cast("uint32_t *", ffi.from_buffer(b))
        assert lib.nn_xor_popcount(pa, pb, n) == want


def _transforms(rng, n: int, k: int):
    """Multipliers and biases LCE's transform produces, with ties: y exactly k + 0.5."""
    mul = (rng.uniform(0.01, 3.0, n) * rng.choice([-1, 1], n)).astype(np.float32)
    bias = rng.uniform(-300, 300, n).astype(np.float32)
    mul[:4] = [-0.5, 0.5, -0.25, 0.75]
    bias[:4] = [100.5, -60.5, 0.25, -0.125]
    return mul, bias


@pytest.mark.parametrize("k", [9, 288, 1152, 4608])
def test_output_transform_exhaustively(k: int):
    """nn_bconv_out_s8 / _f32 (the C core, as the boards run it) and the int8 integer form
    (nn_bconv_out_fixed) equal LCE's float32 arithmetic for every channel and every
    reachable accumulator 0..K, with every clamp LCE derives from a fused activation."""
    ffi, lib = native.load()
    rng = np.random.default_rng(k)
    mul, bias = _transforms(rng, 24, k)
    acc = np.arange(k + 1)
    for act in lce.ACTIVATIONS:
        t = lce.output_transform(mul, bias, k, act, 0.07, -5)
        ts = lce.transform_s8(acc[:, None], t)
        tf = lce.transform_f32(acc[:, None], t)
        for c in range(len(mul)):
            m, b = float(t.mul[c]), float(t.bias[c])
            got_s8 = [lib.nn_bconv_out_s8(a, t.clamp_min, t.clamp_max, m, b) for a in acc]
            got_f32 = [lib.nn_bconv_out_f32(a, t.clamp_min, t.clamp_max, m, b) for a in acc]
            assert got_s8 == ts[:, c].tolist(), (act, c)
            assert np.array_equal(np.array(got_f32, np.float32), tf[:, c]), (act, c)
        # The integer form the kernels run for int8 (float32 where none matched).
        fixed = lce.fixed_point(t, k)
        assert np.array_equal(lce.transform_fixed(acc[:, None], t, fixed), ts)
        for c in range(len(mul)):
            if fixed[c, 3] == lce.FIXED_FLOAT:
                continue
            row = ffi.new("int32_t[4]", fixed[c].tolist())
            got = [lib.nn_bconv_out_fixed(a, t.clamp_min, t.clamp_max, row) for a in acc]
            assert got == ts[:, c].tolist(), (act, c)


def test_integer_form_falls_back_where_float_rounding_breaks_the_line():
    """A channel whose float32 results are not those of any integer line (a huge bias:
    float32's rounding steps are 1/8) keeps the float32 transform, and stays exact."""
    t = lce.Transform(np.float32([-32.976974, 0.01]), np.float32([1.1345184e6, 3.0]), 0, 51200)
    fixed = lce.fixed_point(t, 25600)
    acc = np.arange(25601)[:, None]
    assert fixed[0, 3] == lce.FIXED_FLOAT and fixed[1, 3] != lce.FIXED_FLOAT
    assert np.array_equal(lce.transform_fixed(acc, t, fixed), lce.transform_s8(acc, t))


def test_round_half_away_on_ties():
    ffi, lib = native.load()
    for y, want in [
        (0.5, 1),
        (-0.5, -1),
        (1.5, 2),
        (-2.5, -3),
        (126.5, 127),
        (127.5, 127),
        (-128.5, -128),
        (0.49999997, 0),
        (1e30, 127),
        (-1e30, -128),
    ]:
        # acc 1, clamp [0, 2]: x = 2; mul 0.5 -> 1.0; bias y - 1.
        t = lce.Transform(np.float32([0.5]), np.float32([y - 1.0]), 0, 2)
        assert lib.nn_bconv_out_s8(1, 0, 2, 0.5, float(np.float32(y - 1.0))) == want, y
        assert lce.transform_s8(np.array([[1]]), t)[0, 0] == want, y


def _refused(model: bytes) -> str:
    with pytest.raises(ConvertError) as e:
        convert(model, "m")
    return str(e.value)


def _edit_bconv(options: dict | None = None, **case) -> bytes:
    c = Bconv(**case)
    model = _bnn_model(c)
    if options is None:
        return model
    from microai import tflite_edit

    m = tflite_edit.load(model)
    for o in m.subgraphs[0].operators:
        code = m.operatorCodes[o.opcodeIndex].customCode
        if code == b"LceBconv2d":
            from flatbuffers import flexbuffers

            opts = flexbuffers.Loads(bytes(o.customOptions))
            opts.update(options)
            o.customOptions = list(flexbuffers.Dumps(opts))
    return tflite_edit.save(m)


def test_same_zero_padding_is_refused():
    msg = _refused(_edit_bconv({"pad_values": 0}, padding="SAME"))
    assert "CUSTOM(LceBconv2d) (op 1" in msg and "pad_values=0" in msg


def test_valid_zero_padding_is_taken():
    r = verify(_edit_bconv({"pad_values": 0}), n_inputs=2)
    assert r["mismatches"] == 0


@pytest.mark.parametrize(
    "options, words",
    [
        ({"fused_activation_function": 4}, "fused activation 4"),
        ({"channels_in": 33}, "40 channels, channels_in is 33"),
        ({"channels_in": 65}, "input has 2 words, channels_in 65 needs 3"),
        ({"padding": 7}, "padding 7"),
        ({"stride_height": 0}, "strides"),
    ],
)
def test_bad_options_are_refused(options, words):
    msg = _refused(_edit_bconv(options))
    assert "LceBconv2d" in msg and words in msg


def test_missing_option_is_refused():
    from flatbuffers import flexbuffers

    from microai import tflite_edit

    m = tflite_edit.load(_bnn_model(Bconv()))
    for o in m.subgraphs[0].operators:
        if m.operatorCodes[o.opcodeIndex].customCode == b"LceBconv2d":
            opts = flexbuffers.Loads(bytes(o.customOptions))
            del opts["channels_in"]
            o.customOptions = list(flexbuffers.Dumps(opts))
    assert "option 'channels_in' is missing" in _refused(tflite_edit.save(m))


def test_unknown_lce_op_is_refused_with_the_rest():
    """An Lce op microai does not know is named in the one refusal, with the others."""
    from microai import tflite_edit

    m = tflite_edit.load(_edit_bconv({"pad_values": 0}, padding="SAME", out="bits"))
    for code in m.operatorCodes:
        if code.customCode == b"LceDequantize":
            code.customCode = b"LceFoo"
    msg = _refused(tflite_edit.save(m))
    assert "unsupported op(s):\n  CUSTOM(LceFoo) (op 2" in msg
    assert "pad_values=0" in msg


def test_lce_golden_runs_builtin_ops_by_the_golden():
    """A builtin op between Lce ops runs in the chosen golden, as a one-op model."""
    mb = ModelBuilder()
    x = mb.input("x", (1, 4, 4, 8), scale=0.1, zero_point=0)
    y = mb.tensor("y", (1, 4, 4, 8), scale=0.1, zero_point=0)
    mb.op(
        "AVERAGE_POOL_2D",
        [x],
        [y],
        "Pool2DOptions",
        Padding=0,
        StrideW=1,
        StrideH=1,
        FilterWidth=2,
        FilterHeight=2,
        FusedActivationFunction=1,
    )
    bits = mb.tensor("bits", (1, 4, 4, 1), np.int32)
    mb.custom_op("LceQuantize", [y], [bits])
    out = mb.tensor("out", (1, 4, 4, 8), np.float32)
    mb.custom_op("LceDequantize", [bits], [out])
    mb.output(out)
    model = mb.build()
    g = open_golden(model)
    xv = np.arange(-64, 64, dtype=np.int8).reshape(1, 4, 4, 8)
    (got,) = g.run([xv])
    assert set(np.unique(got)) <= {-1.0, 1.0}
    pooled = g.tensor(y)  # by the golden: RELU fused, so no -1
    assert pooled.min() >= 0 and np.all(got == 1.0)
    r = verify(model, n_inputs=3)
    assert r["mismatches"] == 0


def test_bit_tensors_show_as_words():
    """A bit-packed tensor reads as LCE's int32 words [..., ceil(C / 32)]."""
    model = _bnn_model(Bconv(out="bits", cout=40))
    conv = convert(model, "m")
    g = conv.graph
    y_bits = next(t for t in g.tensors if t.name == "y_bits")
    assert y_bits.storage == "b1" and y_bits.shape[-1] == 40
    with Model(conv.blob) as m:
        x = np.random.default_rng(0).integers(-128, 128, m.input_shape, dtype=np.int8)
        m.input()[...] = x
        m.invoke()
        words = m.tensor(conv.tensor_ids[y_bits.index])
        assert words.dtype == np.int32 and words.shape == (1, 4, 3, 2)
        ref = open_golden(model)
        ref.run([x])
        assert np.array_equal(words, ref.tensor(y_bits.index))


# Every output kind, padding, a dilation, a pool and a binary dense layer, on the three
# cores: the M4's USADA8, the M3's multiply fold, the M7's; soft-float where a channel
# keeps LCE's float32 transform.
BOARD_CASES = [CASES[4], CASES[6], CASES[7], CASES[9], CASES[12]]


@pytest.mark.parametrize("board", ["QEMU_STM32F405", "QEMU_STM32F205", "QEMU_M7"])
def test_bnn_layers_on_boards(board: str):
    from microai.hil import hil

    for case in BOARD_CASES:
        r = hil(_bnn_model(case), board, n_inputs=2, seed=5, name=str(case), count=False)
        assert r["mismatches"] == 0 and r["reference_mismatches"] == 0, (str(case), r)


def _float_transform_blob(model: bytes) -> bytes:
    """The blob with every int8 BCONV channel left to LCE's float32 transform (the path
    a channel takes where no integer form matches: it needs K in the tens of thousands
    to happen for real), CRC fixed."""
    from microai import blob as B

    conv = convert(model, "m")
    b = bytearray(conv.blob)
    h = B.read_header(b)
    layer = next(L for L in conv.layers if L.kernel == "BCONV_B1")
    e = B.TENSOR.unpack(b, h["tensors_offset"] + layer.inputs[4] * B.TENSOR.size)
    rows = np.frombuffer(bytes(b[e["offset"] : e["offset"] + e["size"]]), np.int32).copy()
    rows = rows.reshape(-1, 4)
    rows[:, 3] = lce.FIXED_FLOAT
    b[e["offset"] : e["offset"] + e["size"]] = rows.tobytes()
    b[12:16] = B.crc32(b).to_bytes(4, "little")
    return bytes(b)


@pytest.mark.parametrize("board", ["QEMU_STM32F405", "QEMU_STM32F205"])
def test_float_transform_channels_on_board(board: str):
    """LCE's float32 transform itself (soft-float on these builds) is exact on the board."""
    from microai.device import connect
    from microai.device.upload import upload

    model = _bnn_model(CASES[7])
    blob = _float_transform_blob(model)
    rng = np.random.default_rng(9)
    ref = open_golden(model)
    with Model(blob) as m, connect(board=board) as t:
        upload(t, blob, "b")
        t.exec("import microai\nm = microai.Model(b)")
        for _ in range(2):
            x = rng.integers(-128, 128, m.input_shape, dtype=np.int8)
            (want,) = ref.run([x])
            ours = m.run(x)
            assert np.array_equal(ours.reshape(want.shape), want)
            got = t.eval(f"bytes(m.run({x.tobytes()!r}))")
            assert got == ours.tobytes()


def test_extreme_thresholds_are_clamped():
    """LCE writes +/-2^31 thresholds for channels always or never set: the blob holds them
    clamped to [-1, K] (the same bits), which the loader checks."""
    c = Bconv(out="bits", cout=4)
    from microai import tflite_edit

    m = tflite_edit.load(_bnn_model(c))
    sg = m.subgraphs[0]
    t = next(t for t in sg.tensors if t.name in (b"thresholds", "thresholds"))
    m.buffers[t.buffer].data = np.array([2**31 - 1, -(2**31), 5, 400], "<i4").view(np.uint8)
    model = tflite_edit.save(m)
    assert verify(model, n_inputs=3)["mismatches"] == 0
