"""The host engine's Model has the board module's API (tests/micropython/model_predict.py
runs the same on the boards): shapes, dtypes, scales, zero points, predict() from bytes,
int8 or real values (quantized as TFLite's QUANTIZE), returning real values."""

from __future__ import annotations

import numpy as np
import pytest

from microai.convert import convert
from microai.engine import Model, ModelError
from microai.golden import run_reference
from microai.paths import ROOT
from microai.quant import quantize_input

FIXTURES = ROOT / "tests" / "fixtures" / "models"


@pytest.fixture(scope="module")
def digits():
    return Model(convert((FIXTURES / "digits_cnn.tflite").read_bytes(), "d").blob)


def test_io_description(digits):
    m = digits
    assert (m.input_shape, m.output_shape) == ((1, 8, 8, 1), (1, 10))
    assert (m.input_dtype, m.output_dtype) == ("int8", "int8")
    assert m.input_scale == pytest.approx(1 / 255) and m.input_zero_point == -128
    assert m.output_scale == pytest.approx(1 / 256) and m.output_zero_point == -128


def test_predict_forms_agree(digits):
    m = digits
    x = np.load(FIXTURES / "digits_test.npz")["x"][:20]
    for xi in x:
        real = (xi.astype(np.float32) - m.input_zero_point) * np.float32(m.input_scale)
        a, b, c = m.predict(xi.tobytes()), m.predict(xi), m.predict(real)
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, c)
        want = run_reference((FIXTURES / "digits_cnn.tflite").read_bytes(), [xi[None]])[0]
        np.testing.assert_array_equal(
            np.rint(a / m.output_scale) + m.output_zero_point, want.reshape(-1)
        )


def test_predict_takes_what_the_board_takes(digits):
    # tests/micropython/model_predict.py gives the board the same forms.
    from array import array

    m = digits
    xi = np.load(FIXTURES / "digits_test.npz")["x"][0].reshape(-1)
    real = ((xi.astype(np.float32) - m.input_zero_point) * np.float32(m.input_scale)).tolist()
    want = m.predict(xi.tobytes())
    rows = [real[r * 8 : r * 8 + 8] for r in range(8)]
    ints = xi.tolist()
    for x in (
        [rows], array("f", real), array("d", real), memoryview(array("f", real)),
        ints, tuple(ints), array("h", ints), array("b", ints), memoryview(xi.tobytes()),
    ):  # fmt: skip
        np.testing.assert_array_equal(m.predict(x), want)
    for x in ([128] * 64, array("h", [300] * 64), "x" * 64):
        with pytest.raises(ModelError, match="bytes, int8 or float values"):
            m.predict(x)


def test_quantize_is_tflites():
    # Half away from zero, in float32, saturated.
    q = quantize_input(np.array([0.5, -0.5, 1.5, -1.5, 1000.0, -1000.0, 0.49]), 1.0, 0)
    assert q.tolist() == [1, -1, 2, -2, 127, -128, 0]
    assert quantize_input(np.array([0.25]), 0.5, 3).tolist() == [4]


def test_predict_refuses(digits):
    with pytest.raises(ModelError, match="2 elements given, the model takes 64"):
        digits.predict(b"12")
    with pytest.raises(ModelError, match="bytes, int8 or float values"):
        digits.predict(np.array([300] * 64))
