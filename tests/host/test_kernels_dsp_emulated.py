"""The GEMM kernels' DSP-shaped loops on the host: the CONV_2D and FULLY_CONNECTED
kernel tests (test_kernels_conv.py) again, with the C core built with
MICROAI_DSP_EMULATE=1 (nn_dot.h: SXTB16, SXTAB16 and SMLAD written in C), so that the
column-pair layout and the DSP loops are checked against both goldens here, not only
on the emulated Cortex-M4/M7 (whose hand-written assembly these loops specify).

A separate pytest process: the C core is loaded once per process, keyed by its flags.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent


def test_conv_and_fc_kernels_with_emulated_dsp():
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
            "-k",
            "test_conv or test_fc or test_fast_path or test_executor",
        ],
        env=env,
        check=False,
        capture_output=True,
        text=True,
        timeout=280,
    )
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
    assert " passed" in r.stdout and "failed" not in r.stdout
