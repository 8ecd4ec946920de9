"""UNIDIRECTIONAL_SEQUENCE_LSTM (int8 x int8 -> int16 cell): bit-exact with TFLite-Micro's
and LiteRT's integer LSTMs (two arithmetics) over sequences of invocations (the states
carry over), batch-major and
time-major, cell clip, cell scales either side of the tanh's own; refusals name the op;
the boards run it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from microai.convert import convert
from microai.engine import Model
from microai.golden import GOLDENS
from microai.ir import ConvertError
from microai.testing.tflite_builder import ModelBuilder
from microai.verify import verify

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "models"
TANH = 4  # tflite.ActivationFunctionType


@dataclass(frozen=True)
class Case:
    name: str
    batch: int
    time: int
    n_in: int
    n_state: int
    time_major: bool = False
    cell_clip: float = 0.0
    act: int = TANH
    zps: tuple[int, int] = (-5, 3)  # input, hidden state
    cell_power: int = -11
    hidden_out_zp: int | None = None  # LiteRT's hidden intermediate, if not the state's


CASES = [
    Case("small", 1, 4, 6, 5),
    Case("batch2", 2, 3, 7, 8, zps=(-128, -2)),
    Case("time_major", 3, 2, 5, 4, time_major=True),
    Case("cell_clip", 1, 6, 4, 6, cell_clip=1.5),
    Case("tiny", 2, 2, 3, 3),
    Case("wide_cell", 1, 5, 9, 7, cell_power=-8, zps=(0, 0)),
    Case("fine_cell", 1, 5, 9, 7, cell_power=-14),
    Case("hidden_intermediate_zp", 1, 4, 6, 5, hidden_out_zp=-7),
]
LITERT_CELL = range(-15, -8)  # LiteRT's ApplyTanh reads the cell in Q0..Q6


def lstm_model(c: Case, variant: dict | None = None) -> bytes:
    rng = np.random.default_rng(sum(map(ord, c.name)))
    variant = variant or {}
    mb = ModelBuilder("lstm")
    x_shape = (c.time, c.batch, c.n_in) if c.time_major else (c.batch, c.time, c.n_in)
    y_shape = (*x_shape[:2], c.n_state)
    x_s, h_s = 0.04, 1.0 / 128.0
    x = mb.input("x", x_shape, scale=x_s, zero_point=c.zps[0])
    ins = [x] + [-1] * 23
    for g in range(4):
        wi_s, wr_s = (float(rng.uniform(0.005, 0.02)) for _ in range(2))
        ins[1 + g] = mb.const(
            f"w_in{g}", rng.integers(-127, 128, (c.n_state, c.n_in), dtype=np.int8), scale=wi_s
        )
        ins[5 + g] = mb.const(
            f"w_rec{g}",
            rng.integers(-127, 128, (c.n_state, c.n_state), dtype=np.int8),
            scale=wr_s,
        )
        ins[12 + g] = mb.const(
            f"b{g}", rng.integers(-3000, 3000, c.n_state).astype(np.int32), scale=x_s * wi_s
        )
    ins[18] = mb.tensor(
        "h",
        (c.batch, c.n_state),
        scale=h_s,
        zero_point=c.zps[1],
        variable=variant.get("h_variable", True),
    )
    ins[19] = mb.tensor(
        "c",
        (c.batch, c.n_state),
        np.int16,
        scale=2.0**c.cell_power,
        zero_point=variant.get("c_zp", 0),
        variable=True,
    )
    for k, v in variant.get("extra", {}).items():
        ins[k] = mb.const(f"extra{k}", np.ones(v, np.int16 if k < 12 else np.int8), scale=0.01)
    y = mb.tensor("y", y_shape, scale=h_s, zero_point=c.zps[1])
    # The converter's intermediates: four unused float32 ones, then the hidden state's
    # quantization, which LiteRT's integer LSTM writes h with.
    between = [mb.tensor(f"intermediate{k}", (0,), np.float32) for k in range(4)]
    hidden_zp = c.zps[1] if c.hidden_out_zp is None else c.hidden_out_zp
    between.append(mb.tensor("hidden", (0,), scale=h_s, zero_point=hidden_zp))
    mb.op(
        "UNIDIRECTIONAL_SEQUENCE_LSTM",
        ins,
        [y],
        "UnidirectionalSequenceLSTMOptions",
        version=variant.get("version", 3),
        intermediates=[] if variant.get("no_intermediates") else between,
        FusedActivationFunction=variant.get("act", c.act),
        CellClip=c.cell_clip,
        TimeMajor=c.time_major,
    )
    mb.output(y)
    return mb.build()


@pytest.mark.parametrize("golden", GOLDENS)
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_lstm_bit_exact_over_a_sequence(case, golden):
    if golden == "litert" and case.cell_power not in LITERT_CELL:
        with pytest.raises(ConvertError, match="LiteRT takes 2\\^-15 to 2\\^-9"):
            convert(lstm_model(case), "lstm", golden=golden)
        return
    r = verify(lstm_model(case), n_inputs=8, seed=2, golden=golden)
    assert r["mismatches"] == 0, r["layers"]
    assert r["layers"][0]["kernel"] == "LSTM_S8"


def test_lstm_without_intermediates_under_litert_is_refused_with_a_reason():
    with pytest.raises(ConvertError, match="0 intermediate tensors; LiteRT's integer LSTM"):
        convert(lstm_model(CASES[0], {"no_intermediates": True}), "lstm", golden="litert")


def test_the_goldens_differ_and_each_blob_follows_its_own():
    """TFLite-Micro's and LiteRT's LSTMs give different outputs on the fixture; the blob
    converted for each matches that one."""
    from microai.golden import open_golden

    model = (FIXTURES / "lstm_kws.tflite").read_bytes()
    xs = np.load(FIXTURES / "lstm_kws_test.npz")["x"][:100]
    outs = {}
    for golden in GOLDENS:
        m = Model(convert(model, "lstm_kws", golden=golden).blob)
        outs[golden] = []
        for seq in xs:
            m.reset()
            ours = m.run(seq[None]).reshape(-1).copy()
            ref = open_golden(model, golden)  # its state starts at zero, as ours after reset
            assert np.array_equal(ref.run([seq[None]])[0].reshape(-1), ours)
            outs[golden].append(ours)
    assert not np.array_equal(outs["tflm"], outs["litert"])


@pytest.mark.parametrize(
    "variant, match",
    [
        ({"h_variable": False}, "state 'h' is not a variable tensor"),
        ({"c_zp": 4}, "cell state 'c' has zero point 4"),
        ({"act": 1}, "cell activation RELU"),
        ({"extra": {9: 5}}, "a peephole LSTM"),
        ({"extra": {16: (5, 5)}}, "a projection LSTM"),
    ],
)
def test_lstm_refusals_name_the_op(variant, match):
    with pytest.raises(ConvertError, match=rf"UNIDIRECTIONAL_SEQUENCE_LSTM \(op 0;.*{match}"):
        convert(lstm_model(CASES[0], variant), "bad")


def test_lstm_state_carries_and_reset_forgets():
    c = CASES[0]
    m = Model(convert(lstm_model(c), "lstm").blob)
    x = np.random.default_rng(1).integers(-128, 128, (c.batch, c.time, c.n_in), dtype=np.int8)
    first = m.run(x).copy()
    assert not np.array_equal(m.run(x), first)
    m.reset()
    assert np.array_equal(m.run(x), first)


@pytest.mark.parametrize("golden", GOLDENS)
def test_lstm_kws_fixture_verifies(golden):
    """The converter's own LSTM (make_lstm_fixtures.py: Keras LSTM(16) over 12 frames,
    full-integer): every tensor bit-exact with the golden over 20 sequences in a row."""
    r = verify((FIXTURES / "lstm_kws.tflite").read_bytes(), n_inputs=20, golden=golden)
    assert r["mismatches"] == 0
    assert r["layers"][0]["kernel"] == "LSTM_S8"


def test_lstm_kws_fixture_accuracy():
    """Its test sequences, each after reset() (TFLite-Micro's interpreter starts each
    from zero state too): the same outputs as TFLite-Micro, and its accuracy."""
    from microai.golden import open_golden

    model = (FIXTURES / "lstm_kws.tflite").read_bytes()
    d = np.load(FIXTURES / "lstm_kws_test.npz")
    m = Model(convert(model, "lstm_kws").blob)
    ours = []
    for seq in d["x"][:100]:
        m.reset()
        ours.append(m.run(seq[None]).reshape(-1).copy())
    for seq, want in list(zip(d["x"], ours, strict=False))[:20]:
        assert np.array_equal(open_golden(model).run([seq[None]])[0].reshape(-1), want)
    assert (np.argmax(ours, axis=1) == d["y"][:100]).mean() >= 0.95


@pytest.mark.parametrize("board", ["QEMU_STM32F405", "QEMU_STM32F205", "QEMU_M7"])
def test_lstm_kws_on_boards(board: str):
    from microai.hil import hil

    model = (FIXTURES / "lstm_kws.tflite").read_bytes()
    for golden in GOLDENS:  # the two arithmetics, each against its golden
        r = hil(model, board, n_inputs=3, seed=4, name="lstm_kws", count=False, golden=golden)
        assert r["mismatches"] == 0 and r["reference_mismatches"] == 0, (golden, r)
