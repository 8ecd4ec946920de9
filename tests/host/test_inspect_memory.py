"""`microai inspect`: the arena against its lower bound (the most bytes live at one op,
read back from the blob alone) and the memory timeline plot."""

from __future__ import annotations

import json
import subprocess
import sys

from microai.convert import convert
from microai.inspect import describe
from microai.paths import ROOT

DIGITS_PATH = ROOT / "tests" / "fixtures" / "models" / "digits_cnn.tflite"


def test_lower_bound_and_timeline():
    c = convert(DIGITS_PATH.read_bytes(), "digits")
    info = describe(c.blob)
    mem = info["memory"]
    assert len(mem["live_bytes"]) == len(info["layers"])
    assert max(mem["live_bytes"]) == mem["lower_bound"] <= info["arena_bytes"]
    assert mem["live_bytes"][mem["peak_op"]] == mem["lower_bound"]
    # Every buffer inside the arena; two buffers live at one op never share bytes, but
    # for an output trailing its input (starting before it) at the op between them.
    bufs = mem["buffers"]
    trailing = 0
    for i, a in enumerate(bufs):
        assert 0 <= a["offset"] and a["offset"] + a["size"] <= info["arena_bytes"]
        for b in bufs[:i]:
            if a["first"] <= b["last"] and b["first"] <= a["last"]:
                apart = (
                    a["offset"] + a["size"] <= b["offset"] or b["offset"] + b["size"] <= a["offset"]
                )
                x, y = (a, b) if a["first"] == b["last"] else (b, a)  # y's output x
                assert apart or (x["first"] == y["last"] and x["offset"] < y["offset"])
                trailing += not apart
    assert trailing  # the digits CNN's first conv trails its input
    # Each op's scratch is a buffer of its own, live at that op only.
    scratch = [b for b in bufs if b["name"].startswith("scratch")]
    assert scratch and all(b["first"] == b["last"] for b in scratch)


def test_cli_plot(tmp_path):
    png = tmp_path / "m.png"
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "microai",
            "inspect",
            str(DIGITS_PATH),
            "--plot",
            str(png),
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert r.returncode == 0, r.stderr
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert json.loads(r.stdout)["memory"]["lower_bound"] > 0
