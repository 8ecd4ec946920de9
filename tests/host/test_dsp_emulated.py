"""The kernels' Cortex-M DSP loops on the host: the C core built with MICROAI_HAS_DSP=1
runs them on nn_dsp.h's C versions of SXTB16, SMLABB, SMMULR, SSUB8/SEL..., and the
depthwise and ADD kernel tests must pass there too (the boards run the real
instructions: test_board_kernels.py on QEMU_STM32F405 and QEMU_M7).

A separate build (the flags key build/native/), so the tests run in a child pytest.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent


def test_dsp_loops_emulated_on_the_host():
    env = dict(os.environ)
    env["MICROAI_HOST_CFLAGS"] = (
        env.get("MICROAI_HOST_CFLAGS", "") + " -DMICROAI_HAS_DSP=1"
    ).strip()
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
            "-k",
            "dw or fast or add or binary",
        ],
        env=env,
        check=False,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    assert " passed" in r.stdout and "failed" not in r.stdout
