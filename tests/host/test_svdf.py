"""SVDF (int8, int16 or int8 state) and state tensors: bit-exact with the goldens over
sequences of invocations (the state carries over), reset() forgets, the blob gives each
state bytes of its own, refusals name the op; the boards run it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from microai import blob as B
from microai.convert import convert
from microai.engine import Model, ModelError
from microai.golden import GoldenError, open_golden
from microai.ir import ConvertError
from microai.testing.crafted import patch
from microai.testing.tflite_builder import ModelBuilder
from microai.verify import verify


@dataclass(frozen=True)
class Case:
    name: str
    batch: int
    n_input: int
    units: int
    rank: int
    memory: int
    state: type = np.int16
    bias: bool = True
    zps: tuple[int, int, int] = (-3, 0, 7)  # input, state (int8 only), output
    goldens: tuple[str, ...] = ("tflm", "litert")


CASES = [
    Case("kws_like", 1, 40, 16, 1, 10),
    Case("rank2_batch2", 2, 13, 5, 2, 7, zps=(-128, 0, -128)),
    Case("memory1", 1, 9, 3, 3, 1),
    Case("odd_sizes", 3, 1, 7, 1, 33, zps=(127, 0, 0)),
    Case("int8_state", 1, 24, 8, 2, 6, state=np.int8, zps=(5, -11, -4), goldens=("tflm",)),
    Case("int8_state_batch2", 2, 7, 3, 1, 4, state=np.int8, zps=(0, 100, 3), goldens=("tflm",)),
    Case("no_bias", 1, 10, 4, 2, 5, bias=False, goldens=("litert",)),
]


def svdf_model(c: Case, seed: int | None = None, out_scale: float | None = None) -> bytes:
    rng = np.random.default_rng(sum(map(ord, c.name)) if seed is None else seed)
    filters = c.units * c.rank
    x_s, wf_s = 0.05, float(rng.uniform(0.004, 0.01))
    st_s = x_s * wf_s * np.sqrt(c.n_input) * 3.0
    if c.state == np.int16:
        st_s /= 256.0  # int16 keeps more of the feature's range
    wt_s = float(rng.uniform(0.005, 0.02))
    t_info = np.iinfo(c.state)
    mb = ModelBuilder("svdf")
    x = mb.input("x", (c.batch, c.n_input), scale=x_s, zero_point=c.zps[0])
    wf = mb.const("wf", rng.integers(-127, 128, (filters, c.n_input), dtype=np.int8), scale=wf_s)
    wt = mb.const(
        "wt",
        rng.integers(t_info.min // 2, t_info.max // 2, (filters, c.memory)).astype(c.state),
        scale=wt_s,
    )
    bias = -1
    b_s = float(np.float32(st_s) * np.float32(wt_s))
    if c.bias:
        bias = mb.const("b", rng.integers(-(1 << 14), 1 << 14, c.units).astype(np.int32), scale=b_s)
    st = mb.tensor(
        "state",
        (c.batch, c.memory * filters),
        c.state,
        scale=float(st_s),
        zero_point=c.zps[1] if c.state == np.int8 else 0,
        variable=True,
    )
    y_s = out_scale or b_s * t_info.max * np.sqrt(c.memory * c.rank) * 0.4
    y = mb.tensor("y", (c.batch, c.units), scale=float(y_s), zero_point=c.zps[2])
    # LiteRT runs an integer SVDF only with RELU, which neither golden applies.
    mb.op("SVDF", [x, wf, wt, bias, st], [y], "SVDFOptions", Rank=c.rank, FusedActivationFunction=1)
    mb.output(y)
    return mb.build()


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_svdf_bit_exact_over_a_sequence(case):
    """verify runs its inputs in order on one golden interpreter and one engine: the
    state carries over, so every invocation after the first checks it too."""
    for golden in case.goldens:
        r = verify(svdf_model(case), n_inputs=12, seed=3, golden=golden)
        assert r["mismatches"] == 0, (golden, r["layers"])
        assert r["layers"][0]["kernel"] == "SVDF_S8"


def test_state_matters_and_reset_forgets():
    """The same input gives another output once the state holds earlier inputs;
    reset() brings back the first answer, as a fresh golden interpreter gives it."""
    c = CASES[0]
    model = svdf_model(c)
    m = Model(convert(model, "svdf").blob)
    rng = np.random.default_rng(0)
    xs = [rng.integers(-128, 128, (1, c.n_input), dtype=np.int8) for _ in range(4)]
    first = m.run(xs[0]).copy()
    later = [m.run(x).copy() for x in xs[1:]]
    assert not np.array_equal(m.run(xs[0]), first)
    m.reset()
    assert np.array_equal(m.run(xs[0]), first)
    ref = open_golden(model)
    assert np.array_equal(ref.run([xs[0]])[0], first)
    for x, want in zip(xs[1:], later, strict=True):
        assert np.array_equal(ref.run([x])[0], want)


def _entries(blob: bytes) -> list[dict]:
    h = B.read_header(blob)
    at = h["tensors_offset"]
    return [B.TENSOR.unpack(blob, at + i * B.TENSOR.size) for i in range(h["n_tensors"])]


def _state_index(blob: bytes) -> int:
    mems = [e["mem"] for e in _entries(blob)]
    assert mems.count(B.MEM_STATE) == 1
    return mems.index(B.MEM_STATE)


def test_state_has_bytes_of_its_own_and_the_loader_checks_it():
    """The state is the blob's MEM_STATE tensor, which no other arena tensor shares; a
    blob whose state shares bytes with another tensor, or holds int32, is refused at
    load, naming the tensor."""
    blob = convert(svdf_model(CASES[1]), "svdf").blob
    k = _state_index(blob)
    m = Model(blob)
    st = m.tensor(k)
    assert st.dtype == np.int16 and not st.any()
    y = m.output(0)
    assert st.ctypes.data + st.nbytes <= y.ctypes.data or y.ctypes.data + y.nbytes <= st.ctypes.data
    with pytest.raises(ModelError, match=f"tensor {k}.*overlap"):
        # Over the first 2 bytes of the first other arena tensor.
        other = next(e["offset"] for e in _entries(blob) if e["mem"] == B.MEM_ARENA)
        Model(patch(blob, "tensor", k, offset=max(0, other + 2 - st.nbytes)))
    with pytest.raises(ModelError, match=f"tensor {k}"):
        Model(patch(blob, "tensor", k, storage=B.STORAGES["s32"], size=st.nbytes * 2))


def test_tflm_golden_refuses_svdf_without_bias():
    c = next(c for c in CASES if not c.bias)
    with pytest.raises(GoldenError, match="SVDF without a bias"):
        open_golden(svdf_model(c), "tflm")


def _bad(**kw) -> bytes:
    c = Case("bad", 1, 6, 2, 1, 3)
    rng = np.random.default_rng(1)
    mb = ModelBuilder("bad svdf")
    x = mb.input("x", kw.get("x_shape", (1, 6)), kw.get("x_dtype", np.int8), scale=0.05)
    wf = mb.const("wf", rng.integers(-5, 5, (2, 6), dtype=np.int8), scale=0.01)
    wt = mb.const("wt", np.ones((2, 3), kw.get("wt_dtype", np.int16)), scale=0.01)
    b = mb.const("b", np.zeros(2, np.int32), scale=kw.get("b_scale", 0.01 * 0.001))
    st = mb.tensor(
        "state",
        kw.get("st_shape", (1, 6)),
        kw.get("st_dtype", np.int16),
        scale=0.001,
        zero_point=kw.get("st_zp", 0),
        variable=kw.get("variable", True),
    )
    y = mb.tensor("y", (1, 2), scale=0.1)
    mb.op("SVDF", [x, wf, wt, b, st], [y], "SVDFOptions", Rank=kw.get("rank", c.rank))
    mb.output(y)
    return mb.build()


@pytest.mark.parametrize(
    "kw, match",
    [
        ({"variable": False}, "is not a variable tensor"),
        ({"st_zp": 3}, "has zero point 3; it must be 0"),
        ({"st_dtype": np.int8}, "state 'state' is int8; int16 is supported"),
        ({"rank": 4}, "rank 4 does not divide the 2 filters"),
        ({"st_shape": (1, 5)}, r"state shape \[1, 5\], expected \[1, 6\]"),
        ({"b_scale": 0.5}, "scale is not state x weights_time scale"),
        ({"x_shape": (1, 2, 3)}, "rank 2"),
    ],
)
def test_svdf_refusals_name_the_op(kw, match):
    with pytest.raises(ConvertError, match=rf"SVDF \(op 0;.*{match}"):
        convert(_bad(**kw), "bad")


FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "models"


@pytest.mark.parametrize("golden", ["tflm", "litert"])
def test_svdf_kws_fixture_verifies(golden):
    """The streaming keyword fixture (make_svdf_fixtures.py): every tensor of 30 frames
    in a row, state carried over, bit-exact with the golden."""
    r = verify((FIXTURES / "svdf_kws.tflite").read_bytes(), n_inputs=30, golden=golden)
    assert r["mismatches"] == 0
    assert [L["kernel"] for L in r["layers"]] == ["SVDF_S8", "FC_S8", "SOFTMAX_S8"]


def test_svdf_kws_fixture_streams_its_test_set():
    """Frame by frame with reset() between sequences, as a keyword spotter runs: the
    same outputs as TFLite-Micro's interpreter, and its accuracy."""
    d = np.load(FIXTURES / "svdf_kws_test.npz")
    model = (FIXTURES / "svdf_kws.tflite").read_bytes()
    m = Model(convert(model, "svdf_kws").blob)
    xs, ys = d["x"][:100], d["y"][:100]
    ours = []
    for seq in xs:
        m.reset()
        for frame in seq:
            y = m.run(frame[None])
        ours.append(y.reshape(-1).copy())
    for seq, want in zip(xs, ours, strict=True):
        ref = open_golden(model)  # a fresh interpreter: its state starts at zero
        for frame in seq:
            got = ref.run([frame[None]])[0]
        assert np.array_equal(got.reshape(-1), want)
    assert (np.argmax(ours, axis=1) == ys).mean() >= 0.95


@pytest.mark.parametrize("board", ["QEMU_STM32F405", "QEMU_STM32F205", "QEMU_M7"])
def test_svdf_streams_and_resets_on_boards(board: str):
    """The fixture streamed frame by frame on the board: every output as the host
    engine's (the state carries over), and reset() starts the stream again."""
    from microai.device import connect
    from microai.device.upload import upload

    model = (FIXTURES / "svdf_kws.tflite").read_bytes()
    blob = convert(model, "svdf_kws").blob
    seq = np.load(FIXTURES / "svdf_kws_test.npz")["x"][0]
    with Model(blob) as m, connect(board=board) as t:
        upload(t, blob, "b")
        t.exec("import microai\nm = microai.Model(b)")
        for _ in range(2):
            for frame in seq[:5]:
                want = m.run(frame[None]).tobytes()
                assert t.eval(f"bytes(m.run({frame.tobytes()!r}))") == want
            m.reset()
            t.exec("m.reset()")
