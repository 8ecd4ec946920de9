"""Pooling, elementwise, activation and data-movement kernels against both goldens
(TFLite-Micro and LiteRT's reference kernels), byte for byte.

Each case is data: a one-op int8 model is built with ModelBuilder, read with read_model,
lowered with ops.lower; the params are packed with native.pack and the C kernel is
called through cffi on random inputs (fixed seeds), and the output is compared with
golden.run_reference of each golden that takes the model. A few cases also go through
the whole converter and host engine.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
import tflite

from microai import golden, native, ops
from microai.ir import ConvertError
from microai.testing.tflite_builder import ModelBuilder
from microai.tflite import read_model

ACT = {"NONE": 0, "RELU": 1, "RELU_N1_TO_1": 2, "RELU6": 3}


@dataclass
class T:
    """A tensor of a test model: runtime input/output, or a constant when data is set."""

    shape: tuple
    scale: float | None = 0.05
    zp: int = 0
    dtype: type = np.int8
    data: np.ndarray | None = None


def build(opname: str, inputs: list[T], output: T, options: str | None = None, **fields):
    mb = ModelBuilder()
    ids = []
    for k, t in enumerate(inputs):
        if t.data is not None:
            ids.append(
                mb.const(f"c{k}", np.asarray(t.data, t.dtype), scale=t.scale, zero_point=t.zp)
            )
        else:
            ids.append(mb.input(f"x{k}", t.shape, t.dtype, scale=t.scale, zero_point=t.zp))
    y = mb.tensor("y", output.shape, output.dtype, scale=output.scale, zero_point=output.zp)
    mb.op(opname, ids, [y], options, **fields)
    mb.output(y)
    return mb.build()


def rand(rng, t: T, full_range: bool = True) -> np.ndarray:
    if t.dtype == np.float32:
        return rng.normal(0, 3, t.shape).astype(np.float32)
    x = rng.integers(-128, 128, t.shape, dtype=np.int16).astype(np.int8)
    if full_range and x.size >= 2:  # make sure both ends of int8 are there
        x.flat[0], x.flat[-1] = -128, 127
    return x


def dims4(ffi, shape):
    n, h, w, c = (1,) * (4 - len(shape)) + tuple(int(d) for d in shape)
    return ffi.new("nn_dims *", {"n": n, "h": h, "w": w, "c": c})


def ptr(ffi, a: np.ndarray):
    ctype = {np.dtype(np.int8): "int8_t *", np.dtype(np.float32): "float *"}[a.dtype]
    return ffi.cast(ctype, ffi.from_buffer(a))


def run_c(
    model: bytes, feeds: list[np.ndarray], in_place: bool = False, add_tables: bool = True
) -> np.ndarray:
    """The model's one op, lowered and run by its C kernel (in place: over input 0;
    ADD with its tables unless add_tables is False)."""
    ffi, lib = native.load()
    g = read_model(model)
    low = ops.lower(g, g.ops[0])
    params = bytearray(native.pack(low.params_type, low.params))
    p = ffi.cast(f"{low.params_type} *", ffi.from_buffer(params))
    fed = iter(feeds)
    arrays = []
    for i in low.inputs:
        t = g.t(i)
        a = t.data if t.is_const else next(fed)
        arrays.append(np.ascontiguousarray(np.asarray(a, t.dtype).reshape(t.shape)))
    y = g.t(low.outputs[0])
    if in_place:
        assert low.in_place, f"{low.type} is not marked in_place"
        out = arrays[0]
        assert out.nbytes == y.nbytes
    else:
        out = np.zeros(y.shape, y.dtype)
    fn = getattr(lib, "nn_" + low.kernel.lower())
    x0 = arrays[0]
    if low.type in ("AVGPOOL", "MAXPOOL", "MEAN", "PAD"):
        st = fn(p, dims4(ffi, x0.shape), ptr(ffi, x0), dims4(ffi, y.shape), ptr(ffi, out))
    elif low.type in ("ADD", "MUL"):
        x1 = arrays[1]
        args = [
            p,
            dims4(ffi, x0.shape),
            ptr(ffi, x0),
            dims4(ffi, x1.shape),
            ptr(ffi, x1),
            dims4(ffi, y.shape),
            ptr(ffi, out),
        ]
        if low.type == "ADD":  # tables whatever the size (the planner's rule gives small
            # outputs none; test_add_tables_match_direct compares the two paths)
            scratch = np.zeros(512 if add_tables else 1, np.int32)
            args += [ffi.cast("void *", ffi.from_buffer(scratch)), scratch.nbytes]
        st = fn(*args)
    elif low.type == "SOFTMAX":
        depth = x0.shape[-1]
        st = fn(p, x0.size // depth, depth, ptr(ffi, x0), ptr(ffi, out))
    elif low.type == "CONCAT":
        dims = [dims4(ffi, a.shape) for a in arrays]
        st = fn(
            p,
            len(arrays),
            ffi.new("const nn_dims *[]", dims),
            ffi.new("const int8_t *[]", [ptr(ffi, a) for a in arrays]),
            dims4(ffi, y.shape),
            ptr(ffi, out),
        )
    else:  # LOGISTIC, REQUANTIZE, QUANTIZE, DEQUANTIZE
        st = fn(p, x0.size, ptr(ffi, x0), ptr(ffi, out))
    assert st == lib.NN_OK
    return out.reshape(y.shape)


def check(model: bytes, feeds: list[np.ndarray], in_place: bool = False) -> None:
    """The C kernel against every golden that takes the model; at least one must
    (TFLite-Micro refuses a few models LiteRT takes, e.g. int64 paddings)."""
    got = run_c(model, [f.copy() for f in feeds], in_place=in_place)
    refused = []
    for name in golden.GOLDENS:
        try:
            want = golden.run_reference(model, feeds, name)[0]
        except golden.GoldenError as e:
            refused.append(str(e))
            continue
        assert got.dtype == want.dtype and got.shape == tuple(want.shape)
        if got.tobytes() != want.tobytes():
            bad = np.flatnonzero(
                got.reshape(-1).view(np.uint8 if got.itemsize == 1 else np.uint32)
                != want.reshape(-1).view(np.uint8 if got.itemsize == 1 else np.uint32)
            )
            i = bad[0]
            raise AssertionError(
                f"{name}: {len(bad)} of {got.size} values differ; first at {i}: "
                f"got {got.reshape(-1)[i]}, want {want.reshape(-1)[i]}"
            )
    assert len(refused) < len(golden.GOLDENS), refused


# ---- pooling ------------------------------------------------------------------------

# (shape, filter (h, w), stride (h, w), padding, activation, scale, zero point)
POOL_CASES = [
    ((1, 8, 8, 3), (2, 2), (2, 2), "VALID", "NONE", 0.05, 0),
    ((1, 7, 9, 4), (3, 3), (1, 1), "SAME", "NONE", 0.02, -128),
    ((2, 5, 7, 5), (3, 2), (2, 1), "SAME", "RELU", 0.1, 5),
    ((1, 9, 6, 2), (2, 5), (2, 2), "VALID", "RELU6", 0.05, -10),
    ((1, 6, 6, 8), (6, 6), (1, 1), "VALID", "NONE", 0.01, 127),
    ((1, 5, 5, 3), (4, 4), (3, 3), "SAME", "RELU_N1_TO_1", 0.02, 3),
    ((1, 1, 1, 7), (1, 1), (1, 1), "SAME", "NONE", 0.05, 0),
]


@pytest.mark.parametrize("opname", ["AVERAGE_POOL_2D", "MAX_POOL_2D"])
@pytest.mark.parametrize("case", POOL_CASES, ids=str)
def test_pool(opname, case):
    shape, (fh, fw), (sh, sw), padding, act, scale, zp = case
    pad = getattr(tflite.Padding, padding)
    outs = []
    for size, f, s in ((shape[1], fh, sh), (shape[2], fw, sw)):
        outs.append((size + s - 1) // s if padding == "SAME" else (size - f + s) // s)
    x, y = T(shape, scale, zp), T((shape[0], *outs, shape[3]), scale, zp)
    model = build(
        opname,
        [x],
        y,
        "Pool2DOptions",
        Padding=pad,
        StrideW=sw,
        StrideH=sh,
        FilterWidth=fw,
        FilterHeight=fh,
        FusedActivationFunction=ACT[act],
    )
    rng = np.random.default_rng(hash(case) % 2**32)
    check(model, [rand(rng, x)])


@pytest.mark.parametrize(
    "shape,keep,in_q,out_q",
    [
        ((1, 4, 4, 8), True, (0.05, 3), (0.05, 3)),
        ((1, 7, 5, 3), False, (0.1, -128), (0.02, 10)),
        ((2, 3, 3, 16), True, (0.02, 127), (0.04, -5)),
        ((3, 10, 10, 4), False, (0.03, -7), (0.0005, 0)),
        ((1, 1, 1, 5), True, (0.05, 0), (0.5, 1)),
    ],
)
def test_mean(shape, keep, in_q, out_q):
    n, _, _, c = shape
    x = T(shape, *in_q)
    axes = T((2,), None, 0, np.int32, np.array([1, 2], np.int32))
    y = T((n, 1, 1, c) if keep else (n, c), *out_q)
    model = build("MEAN", [x, axes], y, "ReducerOptions", KeepDims=keep)
    rng = np.random.default_rng(sum(shape))
    check(model, [rand(rng, x)])


# ---- elementwise --------------------------------------------------------------------

# (shape 1, shape 2, output shape, (scale, zp) of in1, in2, out, activation)
BINARY_CASES = [
    ((1, 4, 4, 3), (1, 4, 4, 3), (1, 4, 4, 3), (0.05, 0), (0.05, 0), (0.1, 0), "NONE"),
    ((1, 4, 4, 3), (1, 1, 1, 3), (1, 4, 4, 3), (0.02, -128), (0.1, 127), (0.08, 3), "NONE"),
    ((1, 4, 1, 3), (1, 1, 5, 3), (1, 4, 5, 3), (0.03, 5), (0.07, -20), (0.05, -1), "RELU"),
    ((2, 3, 5), (5,), (2, 3, 5), (0.1, -3), (0.01, 40), (0.11, 0), "RELU6"),
    ((1, 1, 1, 1), (1, 3, 3, 2), (1, 3, 3, 2), (0.2, 10), (0.05, -5), (0.3, 20), "NONE"),
    ((2, 1, 3, 1), (1, 4, 1, 6), (2, 4, 3, 6), (0.04, 127), (0.04, -128), (0.02, 0), "NONE"),
    ((7, 9), (7, 9), (7, 9), (0.5, 0), (0.003, 1), (0.25, -128), "RELU_N1_TO_1"),
]


@pytest.mark.parametrize("opname", ["ADD", "MUL"])
@pytest.mark.parametrize("case", BINARY_CASES, ids=str)
def test_binary(opname, case):
    s1, s2, so, q1, q2, qo, act = case
    if opname == "MUL":  # products need a wider output scale
        qo = (qo[0] * 4 * max(q1[0], q2[0]) * 10, qo[1])
    a, b, y = T(s1, *q1), T(s2, *q2), T(so, *qo)
    model = build(
        opname, [a, b], y, f"{opname.capitalize()}Options", FusedActivationFunction=ACT[act]
    )
    rng = np.random.default_rng(len(str(case)))
    check(model, [rand(rng, a), rand(rng, b)])


@pytest.mark.parametrize("opname", ["ADD", "MUL"])
def test_binary_const_and_in_place(opname):
    a = T((1, 5, 5, 4), 0.05, -3)
    c = T((4,), 0.02, 7, data=np.array([-128, -1, 0, 127], np.int8))
    y = T((1, 5, 5, 4), 0.09, 2)
    model = build(opname, [a, c], y, f"{opname.capitalize()}Options", FusedActivationFunction=0)
    rng = np.random.default_rng(5)
    x = rand(rng, a)
    check(model, [x])
    check(model, [x], in_place=True)
    # the same-shape path in place too
    b = T((1, 5, 5, 4), 0.03, 9)
    model = build(opname, [a, b], y, f"{opname.capitalize()}Options", FusedActivationFunction=0)
    check(model, [x, rand(rng, b)], in_place=True)


def test_add_exhaustive_pairs():
    """Every (in1, in2) int8 pair once."""
    a, b, y = T((256, 256), 0.031, -7), T((1, 256), 0.017, 100), T((256, 256), 0.06, 11)
    model = build("ADD", [a, b], y, "AddOptions", FusedActivationFunction=0)
    x1 = np.repeat(np.arange(-128, 128, dtype=np.int8)[:, None], 256, axis=1)
    x2 = np.arange(-128, 128, dtype=np.int8)[None, :]
    check(model, [x1, x2])


ADD_AWKWARD_CASES = [
    # odd sizes (a tail after the groups of four), one element, broadcasting both ways
    ((1, 3, 5, 7), (1, 3, 5, 7), (1, 3, 5, 7), (0.05, -3), (0.02, 9), (0.07, 4), "NONE"),
    ((1,), (1,), (1,), (0.5, 100), (0.25, -100), (0.3, 0), "NONE"),
    ((1, 1, 1, 5), (2, 3, 3, 1), (2, 3, 3, 5), (0.01, 0), (0.9, -128), (0.5, -20), "RELU"),
    # extreme scale ratios: one input's multiplier tiny, the output's shift large
    ((1, 4, 6, 3), (1, 4, 6, 3), (1, 4, 6, 3), (0.0001, 7), (2.0, -7), (4.0, 127), "RELU6"),
    ((2, 9, 11), (2, 9, 11), (2, 9, 11), (3.0, 0), (3.0, 1), (0.001, -128), "NONE"),
]


@pytest.mark.parametrize("case", BINARY_CASES + ADD_AWKWARD_CASES, ids=str)
def test_add_tables_match_direct(case):
    """ADD with its per-input tables and without (the planner gives small outputs no
    scratch): the same bytes; and the awkward cases against the goldens."""
    s1, s2, so, q1, q2, qo, act = case
    a, b, y = T(s1, *q1), T(s2, *q2), T(so, *qo)
    model = build("ADD", [a, b], y, "AddOptions", FusedActivationFunction=ACT[act])
    rng = np.random.default_rng(len(str(case)) + 1)
    feeds = [rand(rng, a), rand(rng, b)]
    with_tables = run_c(model, [f.copy() for f in feeds])
    direct = run_c(model, [f.copy() for f in feeds], add_tables=False)
    assert with_tables.tobytes() == direct.tobytes()
    if case in ADD_AWKWARD_CASES:
        check(model, feeds)


@pytest.mark.parametrize(
    "in_q,out_q", [((0.05, 0), (0.1, 3)), ((0.1, -128), (0.01, 127)), ((0.003, 17), (0.2, -90))]
)
def test_requantize(in_q, out_q):
    x, y = T((1, 16, 16), *in_q), T((1, 16, 16), *out_q)
    model = build("QUANTIZE", [x], y)
    feed = np.arange(-128, 128, dtype=np.int8).reshape(x.shape)
    check(model, [feed])
    check(model, [feed], in_place=True)


@pytest.mark.parametrize("scale,zp", [(0.05, 0), (0.1, -128), (0.0123, 17), (1.5, 127)])
def test_quantize_dequantize_float(scale, zp):
    rng = np.random.default_rng(int(scale * 1000))
    n = 400
    x = (rng.normal(0, 128 * scale, n)).astype(np.float32)
    # exact halves, both signs, and far outside the int8 range (but |x / scale| < 2^31:
    # beyond that LiteRT's float -> int32 cast is undefined; x86 gives INT32_MIN, the
    # kernel saturates)
    ks = rng.integers(-200, 200, 100)
    x[:100] = (ks + 0.5).astype(np.float32) * np.float32(scale)
    x[100:104] = [0.0, -0.0, 1e5, -1e5]
    q = T((4, 100), scale, zp)
    check(build("QUANTIZE", [T((4, 100), None, 0, np.float32)], q), [x.reshape(4, 100)])
    feed = np.arange(-128, 128, dtype=np.int8).reshape(2, 128)
    check(build("DEQUANTIZE", [T((2, 128), scale, zp)], T((2, 128), None, 0, np.float32)), [feed])


def test_quantize_dequantize_in_place():
    """The float kernels also run with the output starting where the input starts."""
    ffi, lib = native.load()
    p = ffi.new("nn_affine_params *", {"scale": 0.05, "zero_point": -3})
    x = np.linspace(-7, 7, 64, dtype=np.float32)
    buf = x.copy()
    lib.nn_quantize_f32_s8(p, 64, ptr(ffi, buf), ffi.cast("int8_t *", ffi.from_buffer(buf)))
    want = np.zeros(64, np.int8)
    lib.nn_quantize_f32_s8(p, 64, ptr(ffi, x), ptr(ffi, want))
    assert buf.view(np.int8)[:64].tobytes() == want.tobytes()
    buf = np.zeros(64, np.float32)
    buf.view(np.int8)[:64] = want
    lib.nn_dequantize_s8_f32(p, 64, ffi.cast("int8_t *", ffi.from_buffer(buf)), ptr(ffi, buf))
    out = np.zeros(64, np.float32)
    lib.nn_dequantize_s8_f32(p, 64, ptr(ffi, want), ptr(ffi, out))
    assert buf.tobytes() == out.tobytes()


# ---- activations --------------------------------------------------------------------

_SOFTMAX_SCALES = (0.1, 0.05, 0.003, 0.25, 1.0, 0.02, 0.5, 0.0001)
# depths 1..37 with small and large input scales, both betas; then the extremes where
# beta * scale * 2^26 saturates (the left shift reaches 31, diff_min reaches 0).
SOFTMAX_CASES = [
    (beta, depth, _SOFTMAX_SCALES[(depth + int(beta * 2)) % len(_SOFTMAX_SCALES)])
    for beta in (1.0, 0.5)
    for depth in range(1, 38)
] + [(1.0, 3, 8.0), (0.5, 7, 40.0), (1.0, 9, 64.0), (1.0, 12, 3.0)]


@pytest.mark.parametrize("case", SOFTMAX_CASES, ids=str)
def test_softmax(case):
    beta, depth, scale = case
    x = T((3, 4, depth), scale, -5)
    y = T(x.shape, 1 / 256, -128)
    model = build("SOFTMAX", [x], y, "SoftmaxOptions", Beta=beta)
    rng = np.random.default_rng(depth)
    feed = rand(rng, x)
    feed[0, 0] = 17  # a row of equal values
    check(model, [feed])
    check(model, [feed], in_place=True)


LOGISTIC_CASES = [(0.05, 0), (0.1, -128), (0.01, 127), (0.3, 20), (1.0, -3)] + [
    (float(s), int(z))
    for s, z in zip(
        np.random.default_rng(7).uniform(0.002, 0.4, 16),
        np.random.default_rng(8).integers(-128, 128, 16),
        strict=True,
    )
]


@pytest.mark.parametrize("scale,zp", LOGISTIC_CASES)
def test_logistic(scale, zp):
    x = T((2, 128), scale, zp)
    y = T(x.shape, 1 / 256, -128)
    model = build("LOGISTIC", [x], y)
    feed = np.arange(-128, 128, dtype=np.int8).reshape(2, 128)
    check(model, [feed])
    check(model, [feed], in_place=True)


# ---- data movement ------------------------------------------------------------------


@pytest.mark.parametrize(
    "shape,pads,dtype",
    [
        ((1, 4, 5, 3), [[0, 0], [1, 2], [0, 3], [0, 0]], np.int32),
        ((2, 3, 3, 2), [[1, 0], [0, 1], [2, 2], [1, 3]], np.int64),
        ((5, 7), [[2, 1], [0, 4]], np.int32),
        ((1, 1, 1, 1), [[0, 0], [3, 3], [3, 3], [0, 0]], np.int32),
    ],
)
def test_pad(shape, pads, dtype):
    out = tuple(d + b + a for d, (b, a) in zip(shape, pads, strict=True))
    x, y = T(shape, 0.05, -7), T(out, 0.05, -7)
    p = T((len(shape), 2), None, 0, dtype, np.array(pads, dtype))
    model = build("PAD", [x, p], y)
    check(model, [rand(np.random.default_rng(len(shape)), x)])


@pytest.mark.parametrize("axis", [0, 1, 2, 3, -1, -3])
@pytest.mark.parametrize("n_inputs", [2, 3])
def test_concat(axis, n_inputs):
    base = [2, 3, 4, 5]
    shapes = []
    for k in range(n_inputs):
        s = list(base)
        s[axis] = k + 1
        shapes.append(tuple(s))
    out = list(base)
    out[axis] = sum(s[axis] for s in shapes)
    xs = [T(s, 0.05, 3) for s in shapes]
    model = build(
        "CONCATENATION",
        xs,
        T(tuple(out), 0.05, 3),
        "ConcatenationOptions",
        Axis=axis,
        FusedActivationFunction=0,
    )
    rng = np.random.default_rng(axis + 10 * n_inputs)
    check(model, [rand(rng, x) for x in xs])


def test_concat_rank2():
    xs = [T((3, 4), 0.1, -1), T((3, 2), 0.1, -1)]
    model = build(
        "CONCATENATION",
        xs,
        T((3, 6), 0.1, -1),
        "ConcatenationOptions",
        Axis=1,
        FusedActivationFunction=0,
    )
    rng = np.random.default_rng(3)
    check(model, [rand(rng, x) for x in xs])


# ---- whole converter + host engine ----------------------------------------------------


@pytest.mark.parametrize(
    "which",
    [
        "avgpool",
        "add",
        "softmax",
        "logistic",
        "mean",
        "pad",
        "concat",
        "requantize",
        "quantize",
        "dequantize",
        "mul",
    ],
)
def test_through_engine(which):
    """The op through convert() and the host engine (prepare + eval, planner in place)."""
    from microai.convert import convert
    from microai.engine import Model

    q = (0.05, -3)
    cases = {
        "avgpool": lambda: (
            build(
                "AVERAGE_POOL_2D",
                [T((1, 6, 6, 3), *q)],
                T((1, 3, 3, 3), *q),
                "Pool2DOptions",
                Padding=tflite.Padding.SAME,
                StrideW=2,
                StrideH=2,
                FilterWidth=3,
                FilterHeight=3,
                FusedActivationFunction=0,
            ),
            [T((1, 6, 6, 3))],
        ),
        "add": lambda: (
            build(
                "ADD",
                [T((1, 4, 4, 3), *q), T((1, 1, 1, 3), 0.1, 5)],
                T((1, 4, 4, 3), 0.1, 0),
                "AddOptions",
                FusedActivationFunction=1,
            ),
            [T((1, 4, 4, 3)), T((1, 1, 1, 3))],
        ),
        "mul": lambda: (
            build(
                "MUL",
                [T((1, 4, 4, 3), *q), T((1, 4, 4, 3), 0.1, 5)],
                T((1, 4, 4, 3), 0.2, 0),
                "MulOptions",
                FusedActivationFunction=0,
            ),
            [T((1, 4, 4, 3)), T((1, 4, 4, 3))],
        ),
        "softmax": lambda: (
            build(
                "SOFTMAX", [T((2, 10), *q)], T((2, 10), 1 / 256, -128), "SoftmaxOptions", Beta=1.0
            ),
            [T((2, 10))],
        ),
        "logistic": lambda: (
            build("LOGISTIC", [T((4, 64), *q)], T((4, 64), 1 / 256, -128)),
            [T((4, 64))],
        ),
        "mean": lambda: (
            build(
                "MEAN",
                [T((1, 5, 5, 8), *q), T((2,), None, 0, np.int32, np.array([1, 2], np.int32))],
                T((1, 8), 0.02, 1),
                "ReducerOptions",
                KeepDims=False,
            ),
            [T((1, 5, 5, 8))],
        ),
        "pad": lambda: (
            build(
                "PAD",
                [
                    T((1, 3, 3, 2), *q),
                    T(
                        (4, 2),
                        None,
                        0,
                        np.int32,
                        np.array([[0, 0], [1, 1], [2, 0], [0, 0]], np.int32),
                    ),
                ],
                T((1, 5, 5, 2), *q),
            ),
            [T((1, 3, 3, 2))],
        ),
        "concat": lambda: (
            build(
                "CONCATENATION",
                [T((1, 2, 2, 3), *q), T((1, 2, 2, 5), *q)],
                T((1, 2, 2, 8), *q),
                "ConcatenationOptions",
                Axis=3,
                FusedActivationFunction=0,
            ),
            [T((1, 2, 2, 3)), T((1, 2, 2, 5))],
        ),
        "requantize": lambda: (
            build("QUANTIZE", [T((3, 50), *q)], T((3, 50), 0.02, 9)),
            [T((3, 50))],
        ),
        "quantize": lambda: (
            build("QUANTIZE", [T((3, 50), None, 0, np.float32)], T((3, 50), *q)),
            [T((3, 50), None, 0, np.float32)],
        ),
        "dequantize": lambda: (
            build("DEQUANTIZE", [T((3, 50), *q)], T((3, 50), None, 0, np.float32)),
            [T((3, 50))],
        ),
    }
    model, specs = cases[which]()
    rng = np.random.default_rng(42)
    feeds = [rand(rng, t) for t in specs]
    conv = convert(model)
    with Model(conv.blob) as m:
        got = m.run(*feeds)
    want = golden.run_reference(model, feeds)[0]
    assert np.asarray(got).tobytes() == want.tobytes()


# ---- what is refused -----------------------------------------------------------------


def _refused(model: bytes, opname: str, match: str) -> None:
    g = read_model(model)
    with pytest.raises(ConvertError, match=match) as e:
        ops.lower(g, g.ops[0])
    assert opname in str(e.value)


def test_refuses_unsupported_variants():
    q = (0.05, 0)
    axes = T((2,), None, 0, np.int32, np.array([1, 3], np.int32))
    _refused(
        build(
            "MEAN",
            [T((1, 4, 4, 3), *q), axes],
            T((1, 4, 1, 1), *q),
            "ReducerOptions",
            KeepDims=True,
        ),
        "MEAN",
        "axes",
    )
    _refused(
        build(
            "MEAN",
            [T((1, 4, 4, 3), *q), T((2,), None, 0, np.int32)],
            T((1, 1, 1, 3), *q),
            "ReducerOptions",
            KeepDims=True,
        ),
        "MEAN",
        "constant",
    )
    _refused(
        build("PAD", [T((1, 4, 4, 3), *q), T((4, 2), None, 0, np.int32)], T((1, 6, 6, 3), *q)),
        "PAD",
        "constant",
    )
    _refused(
        build(
            "CONCATENATION",
            [T((1, 2, 2, 3), 0.05, 0), T((1, 2, 2, 3), 0.1, 0)],
            T((1, 2, 2, 6), 0.05, 0),
            "ConcatenationOptions",
            Axis=3,
            FusedActivationFunction=0,
        ),
        "CONCATENATION",
        "zero point",
    )
    _refused(
        build(
            "CONCATENATION",
            [T((1, 2, 2, 3), *q), T((1, 2, 2, 3), *q)],
            T((1, 2, 2, 6), *q),
            "ConcatenationOptions",
            Axis=3,
            FusedActivationFunction=1,
        ),
        "CONCATENATION",
        "activation",
    )
    _refused(
        build(
            "MUL",
            [T((1, 2, 2, 3), 0.05, 0, np.int16), T((1, 2, 2, 3), 0.05, 0, np.int16)],
            T((1, 2, 2, 3), 0.05, 0, np.int16),
            "MulOptions",
            FusedActivationFunction=0,
        ),
        "MUL",
        "int16",
    )
    _refused(
        build(
            "ADD",
            [T((1, 1, 2, 2, 3), *q), T((1, 1, 2, 2, 3), *q)],
            T((1, 1, 2, 2, 3), *q),
            "AddOptions",
            FusedActivationFunction=0,
        ),
        "ADD",
        "rank 5",
    )
    _refused(
        build(
            "MUL",
            [T((1, 2, 2, 3), *q), T((1, 2, 2, 3), *q)],
            T((1, 2, 2, 3), *q),
            "MulOptions",
            FusedActivationFunction=5,
        ),
        "MUL",
        "activation",
    )
    _refused(
        build("SOFTMAX", [T((2, 5), *q)], T((2, 5), 1 / 256, 0), "SoftmaxOptions", Beta=1.0),
        "SOFTMAX",
        "zero point -128",
    )
    _refused(build("QUANTIZE", [T((2, 5), *q)], T((2, 5), 0.05, 0, np.int16)), "QUANTIZE", "int16")
    _refused(
        build(
            "AVERAGE_POOL_2D",
            [T((1, 4, 4, 3), 0.05, 0)],
            T((1, 2, 2, 3), 0.05, 1),
            "Pool2DOptions",
            Padding=tflite.Padding.SAME,
            StrideW=2,
            StrideH=2,
            FilterWidth=2,
            FilterHeight=2,
            FusedActivationFunction=0,
        ),
        "AVERAGE_POOL_2D",
        "quantization",
    )


# ---- what the runtime refuses at load (prepare) --------------------------------------


def _patched(model: bytes, edit) -> bytes:
    """The converted blob with one op-table or params edit, CRC fixed up."""
    import struct

    from microai import blob as B
    from microai.convert import convert

    b = bytearray(convert(model).blob)
    h = B.read_header(b)
    op = B.OP.unpack(b, h["ops_offset"])
    edit(b, h["ops_offset"], op["params_offset"])
    struct.pack_into("<I", b, 12, B.crc32(b))
    return bytes(b)


def _set_i32(offset_in_params: int, value: int):
    import struct

    return lambda b, op_off, p_off: struct.pack_into("<i", b, p_off + offset_in_params, value)


_Q = (0.05, -3)


def _add_model() -> bytes:
    return build(
        "ADD",
        [T((1, 4, 4, 3), *_Q), T((1, 1, 1, 3), 0.1, 5)],
        T((1, 4, 4, 3), 0.1, 0),
        "AddOptions",
        FusedActivationFunction=0,
    )


def _pad_model() -> bytes:
    return build(
        "PAD",
        [
            T((1, 3, 3, 2), *_Q),
            T((4, 2), None, 0, np.int32, np.array([[0, 0], [1, 1], [0, 0], [0, 0]])),
        ],
        T((1, 5, 3, 2), *_Q),
    )


def _softmax_model() -> bytes:
    return build(
        "SOFTMAX", [T((2, 10), *_Q)], T((2, 10), 1 / 256, -128), "SoftmaxOptions", Beta=1.0
    )


def _concat_model() -> bytes:
    return build(
        "CONCATENATION",
        [T((1, 2, 2, 3), *_Q), T((1, 2, 2, 5), *_Q)],
        T((1, 2, 2, 8), *_Q),
        "ConcatenationOptions",
        Axis=3,
        FusedActivationFunction=0,
    )


def _set_kernel(b, op_off, p_off):
    b[op_off + 1] = 9  # NN_KERNEL_MUL_S8 on an ADD


def _shrink_params(b, op_off, p_off):
    b[op_off + 12] -= 4  # params_size


@pytest.mark.parametrize(
    "model,edit,message",
    [
        (_add_model, _set_kernel, "not a kernel of this op type"),
        (_add_model, _shrink_params, "params size"),
        (_add_model, _set_i32(0, 4), "parameter out of range"),  # input1_offset != -zero point
        (_add_model, _set_i32(12, 30), "parameter out of range"),  # left_shift
        (_pad_model, _set_i32(4, 2), "shapes do not agree"),  # before[H]
        (_softmax_model, _set_i32(8, 1), "parameter out of range"),  # diff_min > 0
        (_concat_model, _set_i32(0, 2), "shapes do not agree"),  # axis W
        (_concat_model, _set_i32(0, 4), "parameter out of range"),  # axis 4
    ],
)
def test_load_refuses(model, edit, message):
    from microai.engine import Model, ModelError

    blob = _patched(model(), edit)
    with pytest.raises(ModelError, match=f"op 0: .*{message}"):
        Model(blob)
