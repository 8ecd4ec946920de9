"""The kernels' Cortex-M DSP loops on the host: the C core built once with
MICROAI_DSP_EMULATE=1 (nn_dsp.h: SXTB16, SXTAB16, SMLAD, SMLABB, SMMULR, SSUB8/SEL...
written in C, bit for bit), and the GEMM (CONV_2D, FULLY_CONNECTED), depthwise, ADD,
int4-weights, block-sparse, SVDF, LSTM, trailing-output and fused-PAD kernel tests run
again on it, so that the DSP-shaped loops and the column-pair layout are checked against
both goldens here, not only on the emulated Cortex-M4/M7 (whose real instructions and
hand-written assembly test_board_kernels.py runs).

A separate pytest process: the C core is loaded once per process, keyed by its flags
(build/native/).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent


def test_kernels_with_emulated_dsp():
    flags = os.environ.get("MICROAI_HOST_CFLAGS", "")
    env = dict(os.environ, MICROAI_HOST_CFLAGS=f"{flags} -DMICROAI_DSP_EMULATE=1".strip())
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            str(HERE / "test_kernels_conv.py"),
            str(HERE / "test_kernels_misc.py"),
            str(HERE / "test_kernels_s4.py"),
            str(HERE / "test_svdf.py"),
            str(HERE / "test_lstm.py"),
            str(HERE / "test_kernels_sparse.py"),
            str(HERE / "test_fused_pad.py"),
            "-k",
            "(test_conv or test_fc or test_fast_path or test_executor or dw or add or binary "
            "or s4 or svdf or lstm or test_sparse_equals_dense or trailing or pad_folded) "
            "and not boards",
        ],
        env=env,
        check=False,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
    assert " passed" in r.stdout and "failed" not in r.stdout
