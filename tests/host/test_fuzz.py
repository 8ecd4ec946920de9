"""The libFuzzer set-up (tests/fuzz/): its seeds, its lying shapes and its report.

The fuzzing itself is `make fuzz` (long) and `make test-fuzz` (a minute in make test);
these check what the fuzzer relies on: every seed is a model the engine runs, the
mutator's dims really do wrap to the sizes it claims, and run_fuzz.py reads libFuzzer's
figures from both its one-process and its -fork output.
"""

from __future__ import annotations

import importlib.util
import math
import re

import numpy as np

from microai.engine import Model
from microai.paths import ROOT

FUZZ = ROOT / "tests" / "fuzz"
spec = importlib.util.spec_from_file_location("run_fuzz", FUZZ / "run_fuzz.py")
run_fuzz = importlib.util.module_from_spec(spec)
spec.loader.exec_module(run_fuzz)


def test_seeds_are_models_that_run(tmp_path, monkeypatch):
    monkeypatch.setattr(run_fuzz, "OUT", tmp_path)
    seeds = sorted(run_fuzz.write_seeds().glob("*.mai"))
    assert len(seeds) >= 5
    for path in seeds:
        m = Model(path.read_bytes())
        for i in range(m.header["n_inputs"]):
            m.input(i)[...] = np.zeros(m.input(i).shape, m.input(i).dtype)
        m.invoke()


def test_wrapping_dims_wrap_as_claimed():
    src = (FUZZ / "fuzz_blob.c").read_text()
    rows = re.findall(r"\{(\d+), \{(\d+), (\d+), (\d+)\}\}", src)
    assert len(rows) >= 10
    for p, *dims in rows:
        dims = [int(d) for d in dims]
        assert all(1 <= d < 2**31 for d in dims)
        assert math.prod(dims) % 2**64 == int(p), dims


SINGLE = """\
INFO: Loaded 1 modules   (2995 inline 8-bit counters): 2995 [0x1, 0x2),
#52611	NEW    cov: 909 ft: 2073 corp: 404/1406Kb lim: 16384 exec/s: 7515 rss: 208Mb
Done 52692 runs in 8 second(s)
stat::number_of_executed_units: 52692
"""
FORK = """\
INFO: Loaded 1 modules   (2995 inline 8-bit counters): 2995 [0x1, 0x2),
#2569: cov: 1012 ft: 1012 corp: 8 exec/s 1284 oom/timeout/crash: 0/0/0 time: 2s job: 1
#140017: cov: 1641 ft: 1673 corp: 249 exec/s 2024 oom/timeout/crash: 0/0/0 time: 46s job: 11
"""


def test_stats_from_either_output():
    s = run_fuzz.parse_stats(SINGLE, 8.0)
    assert (s["runs"], s["cov"], s["ft"], s["edges"]) == (52692, 909, 2073, 2995)
    assert s["runs_per_s"] == 6586
    f = run_fuzz.parse_stats(FORK, 46.0)
    assert (f["runs"], f["cov"], f["ft"]) == (140017, 1641, 1673)
