"""`microai compress --sparsity S --block 1xB`: the smallest blocks of B consecutive
input channels become zero, S of them per layer; the output is a standard int8 .tflite
that both goldens and microai run alike."""

from __future__ import annotations

import numpy as np
import pytest

from microai.compress import CompressError
from microai.convert import convert
from microai.engine import Model
from microai.golden import run_reference
from microai.paths import ROOT
from microai.sparsify import block_sparsify
from microai.tflite import read_model

SHARED = ROOT.parent / "shared" / "models"
DIGITS = (ROOT / "tests" / "fixtures" / "models" / "digits_cnn.tflite").read_bytes()


def _zero_blocks(w: np.ndarray, block: int) -> tuple[int, int]:
    rows, cin = w.shape[0], w.shape[-1]
    nb = -(-cin // block)
    pad = np.zeros((rows, int(np.prod(w.shape[1:-1], dtype=int)), nb * block), np.int64)
    pad[:, :, :cin] = w.reshape(rows, -1, cin)
    b = np.abs(pad.reshape(rows, -1, nb, block)).sum(axis=3)
    return int((b == 0).sum()), b.size


@pytest.mark.parametrize("block", [4, 8])
@pytest.mark.parametrize("sparsity", [0.25, 0.75])
def test_blocks_are_zeroed(block, sparsity):
    r = block_sparsify(DIGITS, sparsity, block)
    g0, g = read_model(DIGITS), read_model(r.model)
    for L in r.layers:
        op = g.ops[L.op]
        w = g.t(op.inputs[1]).data
        zero, total = _zero_blocks(w, block)
        assert (zero, total) == (L.zero_after, L.blocks)
        assert zero >= round(sparsity * total)
        # Only whole blocks changed, and the kept ones are untouched.
        w0 = g0.t(op.inputs[1]).data
        assert np.all((w == w0) | (w == 0))
    c = convert(r.model, "s")
    x = np.random.default_rng(2).integers(-128, 128, (1, 8, 8, 1), dtype=np.int8)
    with Model(c.blob) as m:
        np.testing.assert_array_equal(
            m.run(x).reshape(-1), run_reference(r.model, [x])[0].reshape(-1)
        )


@pytest.mark.skipif(not SHARED.is_dir(), reason="shared/models not beside the repo")
def test_kws_75():
    r = block_sparsify((SHARED / "kws_ref_model.tflite").read_bytes(), 0.75)
    assert [L.op for L in r.layers] == [0, 2, 4, 6, 8, 11]
    assert all(L.zero_after / L.blocks >= 0.75 for L in r.layers)


def test_refusals():
    with pytest.raises(CompressError, match=r"--sparsity 1.0: a fraction"):
        block_sparsify(DIGITS, 1.0)
    with pytest.raises(CompressError, match=r"--block 1x3"):
        block_sparsify(DIGITS, 0.5, 3)
    r = block_sparsify(DIGITS, 0.5, layers=["1"])
    assert r.layers[0].reason == "a DEPTHWISE_CONV_2D: no blocks"
