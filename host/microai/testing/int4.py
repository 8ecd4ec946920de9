"""One-op blobs whose weights are int4, in the formats the int4 kernels read (TFLite's
packing for DWCONV, S4_ROWS for CONV and FC), built directly (the converter's int4
lowering is not needed): tests/host/test_kernels_s4.py runs them against their int8
twins, and tests/fuzz/run_fuzz.py seeds the blob fuzzer with them so that it mutates
around the int4 kernels too.
"""

from __future__ import annotations

import numpy as np

from .. import blob as B
from .. import layouts, native

# The scratch function (nn_<name>_scratch_size) of each weighted kernel; FC has none.
SCRATCH = {
    "CONV_PW_S4": "nn_conv_pw_s4",
    "CONV_IM2COL_S4": "nn_conv_im2col_s4",
    "CONV_PW_S8": "nn_conv_pw_s8",
    "CONV_IM2COL_S8": "nn_conv_im2col_s8",
    "DW_CONV_3X3_S4": "nn_dw_conv_3x3_s8",  # the int4 depthwise kernels take their twins'
    "DW_CONV_3X3_S8": "nn_dw_conv_3x3_s8",
    "DW_CONV_S4": "nn_dw_conv_s8",
    "DW_CONV_S8": "nn_dw_conv_s8",
}


def one_op_blob(
    op: str,
    kernel: str,
    fmt: str,
    x_shape: tuple[int, ...],
    w: np.ndarray,
    out_shape: tuple[int, ...],
    params: dict,
    mult: np.ndarray,
    shift: np.ndarray,
    bias: np.ndarray | None = None,
    rounding: str = "double",
) -> bytes:
    """A blob of one CONV, DWCONV or FC (`op`) run by `kernel`, its weights `w` (int8
    values; int4 ones for an int4 format) stored in weights format `fmt` (layouts.py);
    params: the op's params struct as a dict (nn_conv_params or nn_fc_params)."""
    ffi, lib = native.load()
    in_zp = -params.get("input_offset", 0)
    out_zp = params.get("output_offset", 0)
    n_in, n_out = int(np.prod(x_shape)), int(np.prod(out_shape))
    x_at, y_at = 0, B.align(n_in)
    s_at = B.align(y_at + n_out)
    tensors = [
        B.BlobTensor("s8", tuple(x_shape), zero_point=in_zp, offset=x_at, scale=0.5),
        B.BlobTensor(
            layouts.storage(fmt),
            w.shape,
            zero_point=-params.get("filter_offset", 0),
            mem=B.MEM_BLOB,
            data=layouts.prepare(fmt, w).data,
            layout=layouts.layout(fmt),
        ),
        B.BlobTensor("s8", tuple(out_shape), zero_point=out_zp, offset=y_at, scale=0.25),
        B.BlobTensor("s32", mult.shape, mem=B.MEM_BLOB, data=mult.astype("<i4").tobytes()),
        B.BlobTensor("s32", shift.shape, mem=B.MEM_BLOB, data=shift.astype("<i4").tobytes()),
    ]
    ins = [0, 1, B.NO_TENSOR, 3, 4]
    if bias is not None:
        tensors.append(
            B.BlobTensor("s32", bias.shape, mem=B.MEM_BLOB, data=bias.astype("<i4").tobytes())
        )
        ins[2] = 5
    scratch = 0
    if kernel in SCRATCH:
        p = ffi.new("nn_conv_params *", params)
        dims = [
            ffi.new("nn_dims *", dict(zip("nhwc", s, strict=True)))
            for s in (x_shape, w.shape, out_shape)
        ]
        scratch = int(getattr(lib, SCRATCH[kernel] + "_scratch_size")(p, *dims))
    params_struct = "nn_fc_params" if op == "FC" else "nn_conv_params"
    o = B.BlobOp(
        getattr(lib, f"MAI_OP_{op}"),
        getattr(lib, f"NN_KERNEL_{kernel}"),
        ins,
        [2],
        native.pack(params_struct, params),
        s_at,
        scratch,
        rounding,
    )
    return B.pack(tensors, [o], [0], [2], arena_size=s_at + B.align(max(scratch, 1)))


def _conv_params(stride=(1, 1), pad=(0, 0), dm: int = 1) -> dict:
    return {
        "input_offset": 3,
        "output_offset": -5,
        "stride_h": stride[0],
        "stride_w": stride[1],
        "dilation_h": 1,
        "dilation_w": 1,
        "pad_h": pad[0],
        "pad_w": pad[1],
        "depth_multiplier": dm,
        "act": {"min": -128, "max": 127},
    }


def seed_blobs() -> dict[str, bytes]:
    """A few small int4 blobs, one per int4 kernel (fixed data)."""
    rng = np.random.default_rng(4)

    def q(n: int):
        mult = rng.integers(1 << 30, 1 << 31, n).astype(np.int32)
        return mult, np.full(n, -9, np.int32), rng.integers(-3000, 3000, n).astype(np.int32)

    def w4(shape):
        return rng.integers(-8, 8, shape).astype(np.int8)

    out = {}
    m, s, b = q(5)
    out["int4_conv_im2col"] = one_op_blob(
        "CONV", "CONV_IM2COL_S4", "s4_rows", (1, 6, 5, 3), w4((5, 3, 3, 3)), (1, 3, 3, 5),
        _conv_params((2, 2), (1, 1)), m, s, b,
    )  # fmt: skip
    out["int4_conv_pw"] = one_op_blob(
        "CONV", "CONV_PW_S4", "s4_rows", (1, 3, 3, 6), w4((5, 1, 1, 6)), (1, 3, 3, 5),
        _conv_params(), m[:1], s[:1], None,
    )  # fmt: skip
    m, s, b = q(6)
    out["int4_dw_3x3"] = one_op_blob(
        "DWCONV", "DW_CONV_3X3_S4", "s4", (1, 5, 4, 6), w4((1, 3, 3, 6)), (1, 5, 4, 6),
        _conv_params(pad=(1, 1)), m, s, b,
    )  # fmt: skip
    out["int4_dw_dm2"] = one_op_blob(
        "DWCONV", "DW_CONV_S4", "s4", (1, 5, 4, 3), w4((1, 2, 3, 6)), (1, 4, 2, 6),
        _conv_params(dm=2), m, s, b,
    )  # fmt: skip
    m, s, b = q(7)
    fc = {"input_offset": -2, "filter_offset": 0, "output_offset": 4,
          "act": {"min": -128, "max": 127}}  # fmt: skip
    out["int4_fc"] = one_op_blob(
        "FC", "FC_S4", "s4_rows", (2, 13), w4((7, 13)), (2, 7), fc, m, s, b,
    )  # fmt: skip
    return out
