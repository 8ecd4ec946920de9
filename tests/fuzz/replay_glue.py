# Replay blobs through the MicroPython glue: microai.Model, input(), invoke(), output()
# and profile() on every file in the folders given. Run by tests/fuzz/run_fuzz.py on the
# unix port built with ASan and UBSan (boards/unix_asan), so a stray access in the glue
# or the core aborts the run; the last path printed is the blob at fault.
#
#     micropython replay_glue.py DIR...
import os
import sys

import microai

# Model input values: int8 extremes, and floats a QUANTIZE must survive.
INTS = (-128, 127, 0, -1, 1, 64)
FLOATS = (0.5, -1e30, 1e30, float("inf"), float("-inf"), float("nan"), -0.0, 3.0)

ran = refused = errors = 0
for folder in sys.argv[1:]:
    for name in sorted(os.listdir(folder)):
        path = folder + "/" + name
        with open(path, "rb") as f:
            data = f.read()
        print(path)
        try:
            m = microai.Model(data)
        except (ValueError, OSError, TypeError, MemoryError):
            refused += 1
            continue
        try:
            i = 0
            while True:
                try:
                    v = m.input(i)
                except (IndexError, ValueError):
                    break
                values = FLOATS if isinstance(v[0], float) else INTS
                for k in range(len(v)):
                    v[k] = values[k % len(values)]
                i += 1
            m.invoke()
            m.output(0)
            m.profile()
            ran += 1
        except (ValueError, OSError, RuntimeError, IndexError):
            errors += 1
print("glue: ran", ran, "refused", refused, "errors", errors)
