#!/usr/bin/env python3
"""Write the crafted reproducers in this folder: a fixture model with the few fields the
fuzzer's crash needed, CRC re-sealed. README.md says what each one found.

    tests/fuzz/regress/craft.py          write every <name>.mai here
    tests/fuzz/regress/craft.py --check  fail when a committed file differs
"""

from __future__ import annotations

import argparse
import struct
import sys
from pathlib import Path

from microai import blob as B
from microai.convert import convert
from microai.paths import ROOT

HERE = Path(__file__).resolve().parent
INT32_MIN = -(2**31)

# name -> (fixture model, [(table, index, field, value)]); table is "tensor", "op",
# "params" or "params32" (a 16- or 32-bit field of the op's nn_*_params, by byte offset),
# or "const32" (element `field` of constant int32 tensor `index`).
CRAFTED = {
    # Fixed by 582e00d: dims bounded before they multiply; overlaps refused at load.
    "dims_wrap_conv_filter": (
        "cov_conv",
        [("tensor", 6, "shape", [20, 1718039348, 2147418113, 1])],
    ),
    # 24 bytes before op 3's input (tensor 15 at arena offset 1344).
    "im2col_scratch_over_input": ("cov_conv", [("op", 3, "scratch_offset", 1320)]),
    # Open when found: see README.md.
    "conv_input_zero_point_int_min": ("cov_pool_mean", [("tensor", 0, "zero_point", INT32_MIN)]),
    "fc_weights_zero_point_int_min": ("cov_pool_mean", [("tensor", 11, "zero_point", INT32_MIN)]),
    "add_input2_zero_point_int_min": ("cov_elementwise", [("tensor", 21, "zero_point", INT32_MIN)]),
    "maxpool_pad_left": ("cov_pool_mean", [("params", 3, 10, 1)]),  # pad_w of 6x5 -> 3x2
    "avgpool_pad_left": ("cov_pool_mean", [("params", 2, 10, 1)]),  # pad_w of 12x10 -> 6x5
    # Fixed by nn_add_wrap: the largest multiplier with the largest left shift pushes the
    # requantized sum to the int32 limit; adding the output zero point overflowed.
    "mean_requantize_overflow": (
        "cov_pool_mean",
        [("params32", 5, 8, 2147483647), ("params32", 5, 12, 30)],
    ),
    # Fixed by nn_mac(): op 0's (im2col) bias near INT32_MIN; the GEMM's int32
    # accumulators, started from the bias, overflowed (UBSan) instead of wrapping.
    "im2col_bias_int_min": ("cov_conv", [("const32", 2, 0, INT32_MIN + 1)]),
}


def craft(model: str, edits: list) -> bytes:
    path = ROOT / "tests" / "fixtures" / "models" / f"{model}.tflite"
    b = bytearray(convert(path.read_bytes(), model).blob)
    h = B.read_header(b)
    for table, i, field, value in edits:
        if table == "tensor":
            at = h["tensors_offset"] + i * B.TENSOR.size
            t = B.TENSOR.unpack(b, at)
            if field == "shape":  # dims and the size they claim, as a wrapping check sees it
                n = 1
                for d in value:
                    n = n * d % 2**64
                t.update(dims=value, rank=len(value), size=n * (1, 4, 4, 2)[t["storage"]])
            else:
                t[field] = value
            b[at : at + B.TENSOR.size] = B.TENSOR.pack(**t)
        elif table == "op":
            at = h["ops_offset"] + i * B.OP.size
            op = B.OP.unpack(b, at)
            op[field] = value
            b[at : at + B.OP.size] = B.OP.pack(**op)
        elif table == "const32":
            t = B.TENSOR.unpack(b, h["tensors_offset"] + i * B.TENSOR.size)
            struct.pack_into("<i", b, t["offset"] + 4 * field, value)
        else:  # "params" (16-bit) or "params32": a field of the op's params struct
            op = B.OP.unpack(b, h["ops_offset"] + i * B.OP.size)
            fmt = "<i" if table == "params32" else "<h"
            struct.pack_into(fmt, b, op["params_offset"] + field, value)
    struct.pack_into("<I", b, 12, B.crc32(b[: h["total_size"]]))
    return bytes(b)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args()
    bad = 0
    for name, (model, edits) in CRAFTED.items():
        path, data = HERE / f"{name}.mai", craft(model, edits)
        if args.check:
            if not path.is_file() or path.read_bytes() != data:
                print(f"{path.name} differs from what craft.py makes")
                bad += 1
        else:
            path.write_bytes(data)
            print(f"wrote {path.relative_to(ROOT)}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
