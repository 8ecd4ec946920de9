"""The blob literals embedded in MicroPython tests are what the converter makes today."""

from __future__ import annotations

import ast
import importlib.util

from microai.paths import ROOT

spec = importlib.util.spec_from_file_location("run_mpy_tests", ROOT / "tests" / "run_mpy_tests.py")
run_mpy_tests = importlib.util.module_from_spec(spec)
spec.loader.exec_module(run_mpy_tests)


def test_blob_literals_are_current():
    for name, make in run_mpy_tests.BLOB_TESTS.items():
        text = (run_mpy_tests.TEST_DIR / name).read_text()
        found = {}
        for node in ast.parse(text).body:
            if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
                try:  # bytes, numbers and lists of them
                    found[node.targets[0].id] = ast.literal_eval(node.value)
                except ValueError:
                    continue
        want = make()
        for key, value in want.items():
            assert found[key] == value, f"{name}: {key} is stale; run run_mpy_tests.py --gen-blobs"
