"""A conv whose effective scale (input x weights / output) is 2^30 or more is refused at
convert, naming the op and channel: its requantization overflows in the reference
kernels, so there is no golden to be bit-exact with (found by mutating a fixture)."""

from __future__ import annotations

import pytest

from microai.convert import convert
from microai.ir import ConvertError
from microai.paths import ROOT


def test_huge_effective_scale_is_refused():
    model = bytearray(
        (ROOT / "tests" / "fixtures" / "models" / "cov_elementwise.tflite").read_bytes()
    )
    assert model[4371] == 0x3A  # the exponent byte of one weight channel's float32 scale
    model[4371] = 0x5B  # that scale becomes ~1.4e17
    with pytest.raises(ConvertError, match=r"CONV_2D \(op 2.*channel 2\), 2\^30 or more"):
        convert(bytes(model), "scaled.tflite")
