"""A short run of the blob fuzzer: every mutated blob is refused or runs safely.

`make test` also runs this under AddressSanitizer and UBSan (test-sanitize), where a
stray memory access aborts the run; `make fuzz` runs the long version.
"""

from __future__ import annotations

import importlib.util

from microai.paths import ROOT

spec = importlib.util.spec_from_file_location("fuzz_blob", ROOT / "tests" / "fuzz" / "fuzz_blob.py")
fuzz_blob = importlib.util.module_from_spec(spec)
spec.loader.exec_module(fuzz_blob)


def test_mutated_blobs_are_refused_or_run_safely():
    r = fuzz_blob.run(iterations=1500, seed=1)
    assert r["refused"] + r["ran"] + r["kernel_errors"] == 1500
    # The mutations must reach both sides of the loader's checks to mean anything.
    assert r["refused"] > 500 and r["ran"] > 100
