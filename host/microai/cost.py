"""The one cost model: what a layer costs, from the shapes and params the blob holds.

`convert` (each Layer), `inspect` (read back from a blob), `hil` and the coming search
all ask here, so they cannot count differently. MACs are the weighted ops'
multiply-accumulates (CONV, DWCONV, FC), as MLPerf Tiny counts them (DS-CNN: 2,656,768),
and BCONV's binary ones (one XOR-popcount bit each);
weight bytes are the op's blob constants (weights, bias, multipliers, shifts); scratch
bytes are the kernel's own (the C table's).

Instructions: the inner loops' instructions per MAC of the kernels that have a twin
reading prepared weights (INNER_LOOP), on a core with the DSP extension (SMLAD) and
without, with the im2col kernels' gathering (IM2COL), and Winograd's whole layer
(WINOGRAD); what the kernels of a layer do alike (the requantization's constants...)
is left out, so the difference decides whether a layout pays for its flash
(passes/choose_layouts.py).
Whole-layer counts are measured, never estimated: `microai hil`, `make bench`.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path


def _n(shape) -> int:
    return math.prod(int(d) for d in shape)


def macs(op_type: str, inputs: list, outputs: list, params: dict) -> int:
    """MACs of one op. inputs/outputs: shapes (None for an omitted input), in the
    executor's order (CONV/DWCONV/FC: activation, weights, ...); params: the op's params
    struct as a dict (for the kernels whose cost depends on them)."""
    if not outputs:
        return 0
    out = _n(outputs[0])
    if op_type in ("CONV", "BCONV"):  # weights [out_c, kh, kw, in_c]; BCONV: binary MACs
        return out * _n(inputs[1][-3:])
    if op_type == "DWCONV":  # weights [1, kh, kw, out_c]
        return out * _n(inputs[1][-3:-1])
    if op_type == "FC":  # weights [out_depth, in_depth]
        return out * int(inputs[1][-1])
    if op_type == "SVDF":  # feature [filters, in], time [filters, memory], per batch row
        return int(params["batch"]) * (_n(inputs[1]) + _n(inputs[2]))
    if op_type == "LSTM":  # four gates' input and recurrent weights, per step and row
        return int(params["batch"]) * int(params["time"]) * (_n(inputs[1]) + _n(inputs[2]))
    return 0


@dataclass
class LayerCost:
    macs: int
    weight_bytes: int
    scratch_bytes: int


def layer_cost(
    op_type: str, inputs: list, outputs: list, params: dict, const_bytes: int, scratch: int
) -> LayerCost:
    return LayerCost(macs(op_type, inputs, outputs, params), const_bytes, scratch)


# Instructions per MAC of the GEMM's 2x2 block (four taps of two weights rows against a
# column pair: 16 MACs), as nn_dot.h and nn_conv_gemm_s8.c write it:
#   int8 rows, DSP:     2 LDR, 2 LDRD, 4 SXTB16, 8 SMLAD     = 16
#   widened rows, DSP:  4 LDRD, 8 SMLAD                       = 12
#   either, Cortex-M3:  16 LDRSB/LDRSH, 16 MLA                = 32
# and of its int4 form (eight taps of two int4 rows: 32 MACs, nn_dot.h's int4 rows; the
# rows' words loaded twice, as 14 registers hold no mask):
#   int4 rows, DSP:     4 LDR, 4 LDRD, 2 LSL, 4 AND, 8 SXTB16, 16 SMLAD   = 38
#   int4 rows, M3:      8 LDRB, 16 SBFX, 16 LDRSH, 32 MLA                 = 72
# The block-sparse kernels count per MAC of a stored block (4 taps x 4 columns = 16 MACs
# a block; nn_conv_gemm_block4_s8.c), so their cost scales with the density:
#   DSP:        LDRH, LDR, 2 ADD, 2 SXTB16, 4 LDRD, 8 SMLAD, CMP, BNE = 20
#   Cortex-M3:  LDRH, 2 ADD, 4 LDRSB, 16 LDRSH, 16 MLA, CMP, BNE     = 41
# Their rows' tails cost less than the dense kernels' (one row of four outputs a pass,
# not two rows of two), measured per output channel and pixel (TAIL: the layer's
# instructions beyond the inner loop, over its outputs; KWS's pointwise layers at the
# whole int8 range, `microai hil`, tests/bench/sparsity.py): DSP 25 dense, 20 sparse;
# Cortex-M3 27 and 21. With them (and PASS), KWS's pointwise layers (k = 64, 125
# pixels) break even at 84 % of the blocks stored on the F405 (measured: 83 %) and 79 %
# on the F205 (measured: 79 %).
INNER_LOOP = {
    "CONV_PW_S8": {"dsp": 16 / 16, "scalar": 32 / 16},
    "CONV_IM2COL_S8": {"dsp": 16 / 16, "scalar": 32 / 16},
    "CONV_PW_S8W16": {"dsp": 12 / 16, "scalar": 32 / 16},
    "CONV_IM2COL_S8W16": {"dsp": 12 / 16, "scalar": 32 / 16},
    "CONV_PW_S8_BLOCK4": {"dsp": 20 / 16, "scalar": 41 / 16},
    "CONV_IM2COL_S8_BLOCK4": {"dsp": 20 / 16, "scalar": 41 / 16},
    "CONV_PW_S4": {"dsp": 38 / 32, "scalar": 72 / 32},
    "CONV_IM2COL_S4": {"dsp": 38 / 32, "scalar": 72 / 32},
}
TAIL = {
    "CONV_PW_S8": {"dsp": 25, "scalar": 27},
    "CONV_IM2COL_S8": {"dsp": 25, "scalar": 27},
    "CONV_PW_S8W16": {"dsp": 25, "scalar": 27},
    "CONV_IM2COL_S8W16": {"dsp": 25, "scalar": 27},
    "CONV_PW_S8_BLOCK4": {"dsp": 20, "scalar": 21},
    "CONV_IM2COL_S8_BLOCK4": {"dsp": 20, "scalar": 21},
    "CONV_PW_S4": {"dsp": 25, "scalar": 27},  # not measured: as the int8 kernels'
    "CONV_IM2COL_S4": {"dsp": 25, "scalar": 27},
}
# Output pixels a pass of the kernel's GEMM takes (a last short pass repeats a pixel).
PASS = {
    "CONV_PW_S8": 2,
    "CONV_IM2COL_S8": 2,
    "CONV_PW_S8W16": 2,
    "CONV_IM2COL_S8W16": 2,
    "CONV_PW_S8_BLOCK4": 4,
    "CONV_IM2COL_S8_BLOCK4": 4,
    "CONV_PW_S4": 2,
    "CONV_IM2COL_S4": 2,
}
# Kernels whose inner loop runs over the stored blocks only.
SPARSE = frozenset({"CONV_PW_S8_BLOCK4", "CONV_IM2COL_S8_BLOCK4", "FC_S8_BLOCK4"})
# The im2col kernels' gathering of the columns (the same for every weights format):
# instructions per output pixel and tap, and per output pixel. Fitted, with INNER_LOOP
# and TAIL fixed, to `microai hil` counts of twelve single 3x3 layers (8x8 to 32x32,
# 3 to 128 inputs, 4 to 64 outputs; tests/bench/winograd.py --calibrate): within 6 % of
# the whole layer but for the two smallest (4 in, 4 out: +16 %; 6 in, 10 out: -9 %).
IM2COL = {
    "CONV_IM2COL_S8": {"dsp": (2.67, 423.0), "scalar": (4.23, 440.0)},
    "CONV_IM2COL_S8W16": {"dsp": (2.67, 423.0), "scalar": (4.23, 440.0)},
    "CONV_IM2COL_S8_BLOCK4": {"dsp": (2.67, 423.0), "scalar": (4.23, 440.0)},
    "CONV_IM2COL_S4": {"dsp": (2.67, 423.0), "scalar": (4.23, 440.0)},
}
# Winograd F(2x2, 3x3) (CONV_WINOGRAD_3X3_S8), the whole layer, from its loops'
# structure (nn_conv_winograd_3x3_s8.c): per tile pair and output channel pair, 16
# elements of `group` instructions per 4 input channels (nn_conv_gemm.h's 2x2 group: 12
# and a branch) and `element` more; per tile and output channel, the output transform
# and requantization of 4 outputs; per tile, its input transform (`in4` per 4 input
# channels on a DSP core, `in1` per other channel) and pixels; per output channel and
# group of 4 inputs, the set-up. Fitted to the same twelve layers (non-negative least
# squares): within 1 % of each but for the smallest (4 in, 4 out: -5 %).
WINOGRAD = {
    "dsp": {
        "group": 12.7,
        "element": 28.3,
        "tile_out": 100.7,
        "in4": 270.4,
        "in1": 140.3,
        "tile": 409.7,
        "setup": 28.3,
    },
    "scalar": {
        "group": 32.8,
        "element": 35.0,
        "tile_out": 95.3,
        "in4": 4 * 122.3,
        "in1": 122.3,
        "tile": 445.5,
        "setup": 28.6,
    },
}


def winograd_instructions(dsp: bool, n: int, oh: int, ow: int, cin: int, cout: int) -> float:
    """CONV_WINOGRAD_3X3_S8's instructions for a layer with output [n, oh, ow, cout]
    and cin input channels (WINOGRAD)."""
    c = WINOGRAD["dsp" if dsp else "scalar"]
    tiles = n * -(-oh // 2) * -(-ow // 2)
    groups = -(-cin // 4)
    quads = cin // 4
    calls = -(-tiles // 2) * -(-cout // 2)
    return (
        calls * 16 * (c["group"] * groups + c["element"])
        + tiles * (cout * c["tile_out"] + quads * c["in4"] + (cin - 4 * quads) * c["in1"])
        + tiles * c["tile"]
        + cout * groups * c["setup"]
    )


# FULLY_CONNECTED, per batch row: (instructions per MAC, per output, per input tap) of a
# row in a pass of two (nn_fc_s8: the 2x2 block; nn_fc_s8_block4: the blocks shared by
# both rows) and of a row alone (a batch of 1, or a last odd row), over the MACs stored
# for a block-sparse kernel (SPARSE). The MACs' costs are the loops' (nn_fc_s8.c,
# nn_fc_s8_block4.c: DSP 2 and 27/16 dense, 8.5/4 and 13/8 block-sparse; M3 31/8 and 3,
# 4 and 3); the rest is fitted to `microai hil` counts of FC layers (48 outputs, 128 and
# 512 inputs, 1 and 2 rows, 0 and 75 % of the blocks zero) within 0.2 %: the
# requantization per output, and the block-sparse kernel's widening of its input column.
FC = {
    "FC_S8": {
        "dsp": {1: (2.0, 76, 0.0), 2: (27 / 16, 61, 0.0)},
        "scalar": {1: (31 / 8, 79, 0.0), 2: (3.0, 61, 0.0)},
    },
    "FC_S8_BLOCK4": {
        "dsp": {1: (8.5 / 4, 80, 2.0), 2: (13 / 8, 60, 2.0)},
        "scalar": {1: (4.0, 73, 4.0), 2: (3.0, 58, 4.0)},
    },
}


def fc_instructions(
    kernel: str, dsp: bool, batches: int, k: int, out: int, stored: float = 1.0
) -> float:
    """An FC kernel's instructions (FC) for `batches` rows of k inputs and `out` outputs."""
    rows = FC[kernel]["dsp" if dsp else "scalar"]
    total = 0.0
    for n, count in ((2, batches - batches % 2), (1, batches % 2)):
        mac, output, tap = rows[n]
        total += count * (mac * k * out * stored + output * out + tap * k)
    return total


def inner_instructions(
    kernel: str,
    dsp: bool,
    macs: int,
    stored: float = 1.0,
    outputs: int = 0,
    pixels: int = 0,
    out_shape: tuple[int, ...] | None = None,
) -> float | None:
    """The instructions of a conv or FC layer that depend on its kernel: the inner loop's for
    `macs` MACs, the rows' tails for `outputs` outputs (TAIL) and an im2col kernel's
    gathering (IM2COL); for Winograd, the whole layer (WINOGRAD; needs `out_shape`,
    [n, oh, ow, cout]); for FC, the whole layer (FC; `pixels` its batch rows). None for a
    kernel without a model. For a block-sparse kernel (SPARSE), `stored` is the fraction
    of the MACs its blocks hold: nnz x 4 taps over the rows' k taps (the density of
    blocks, with the rows' padding to whole blocks). With the layer's output `pixels`,
    its last short pass counts whole (PASS)."""
    core = "dsp" if dsp else "scalar"
    if kernel in FC:  # pixels: the batch rows
        if outputs <= 0 or pixels <= 0:
            return None
        k, out = macs // outputs, outputs // pixels
        return fc_instructions(kernel, dsp, pixels, k, out, stored if kernel in SPARSE else 1.0)
    if kernel == "CONV_WINOGRAD_3X3_S8":
        if out_shape is None or outputs <= 0:
            return None
        n, oh, ow, cout = (int(d) for d in out_shape[-4:])
        return winograd_instructions(dsp, n, oh, ow, macs // outputs // 9, cout)
    row = INNER_LOOP.get(kernel)
    if row is None:
        return None
    n = PASS[kernel]
    whole = -(-pixels // n) * n / pixels if pixels > 0 else 1.0
    inner = row[core] * macs * (stored if kernel in SPARSE else 1.0)
    gather = 0.0
    if kernel in IM2COL and outputs > 0:
        tap, pixel = IM2COL[kernel][core]
        gather = pixels * (tap * macs / outputs + pixel)
    return (inner + TAIL[kernel][core] * outputs) * whole + gather


# ---- Whole-layer instructions: the calibrated per-kernel table ------------------------
#
# Every kernel's instructions per inference, per board, as a non-negative sum of a few
# features of the layer (FEATURES), fitted by `microai calibrate` (calibrate.py) to
# counts measured on the emulated board and committed as _data/costs/<board>.json:
#   {"board", "source_hash" (native.source_hash() of the C measured), "kernels":
#    {name: {"features": [...], "coefficients": [...], "layers": n, "worst_error": r}}}
# Layers whose kernel the table lacks predict None; a table measured on other C sources
# is still read (`stale`), and said so.

COSTS_DIR = Path(__file__).resolve().parent / "_data" / "costs"

# What a feature counts, for one layer (blob_features):
FEATURES = {
    "one": "the call (set-up, requantization constants)",
    "macs": "multiply-accumulates",
    "stored_macs": "MACs of the stored blocks (block-sparse weights; else all)",
    "out": "output elements (all outputs)",
    "in": "input elements (the arena inputs)",
    "pixels": "output elements over output channels",
    "channels": "output channels",
    "columns": "MACs over output channels: an im2col column's taps, per output pixel",
    "taps": "conv: output pixels x filter taps (kh x kw)",
    "rows": "conv: output pixels x filter rows (kh)",
    "ch_tail": "conv: output pixels x the channels past a multiple of 4 (scalar tails)",
    "pass_macs": "stored MACs with the last short pass of the GEMM counted whole (PASS)",
    "pass_out": "outputs with the last short pass counted whole",
    "tail_out": "pass_out x the taps past a multiple of 4 (the GEMM's scalar tail)",
    "odd_macs": "FC: the MACs of a last odd batch row (it runs alone)",
    "odd_out": "FC: the outputs of a last odd batch row",
    "window": "pooling: output elements x filter taps",
    "wg_group": "Winograd: 2x2 GEMM groups (16 per tile and channel pair, per 4 inputs)",
    "wg_element": "Winograd: GEMM elements (16 per tile pair and output channel pair)",
    "wg_tile_out": "Winograd: tiles x output channels",
    "wg_in": "Winograd: tiles x input channels",
    "wg_tile": "Winograd: 2x2 output tiles",
    "wg_setup": "Winograd: output channels x groups of 4 inputs",
}


def _stored_fraction(d: dict) -> float:
    shape, data = d.get("weights_shape"), d.get("weights_data_bytes")
    if d.get("weights_layout") != "block_sparse" or not shape or data is None:
        return 1.0
    n = _n(shape)
    return data / n if n else 1.0


def blob_features(d: dict) -> dict[str, float]:
    """The features (FEATURES) of one layer as inspect.describe() reads it from a blob."""
    outs = d["outputs"]
    out0 = outs[0] if outs else [1]
    n_out = float(_n(out0))
    ch = float(out0[-1]) if out0 else 1.0
    pixels = n_out / ch if ch else 0.0
    macs = float(d["macs"])
    stored = macs * _stored_fraction(d)
    f = {
        "one": 1.0,
        "macs": macs,
        "stored_macs": stored,
        "out": float(sum(_n(s) for s in outs)),
        "in": float(sum(_n(s) for s in d["inputs"])),
        "pixels": pixels,
        "channels": ch,
        "columns": macs / ch if ch else 0.0,
    }
    kernel, p = d["kernel"], d.get("params") or {}
    w = d.get("weights_shape")
    if d["op"] in ("CONV", "DWCONV", "BCONV") and w and len(w) == 4:
        f["taps"] = pixels * w[1] * w[2]
        f["rows"] = pixels * w[1]
        f["ch_tail"] = pixels * (int(ch) % 4)
    if kernel in PASS and pixels:
        n = PASS[kernel]
        whole = -(-int(pixels) // n) * n
        f["pass_macs"] = stored * whole / pixels
        f["pass_out"] = whole * ch
        f["tail_out"] = whole * ch * (round(macs / n_out) % 4) if n_out else 0.0
    if d["op"] == "FC" and pixels:
        rows = int(pixels)
        f["odd_macs"] = stored / rows if rows % 2 else 0.0
        f["odd_out"] = ch if rows % 2 else 0.0
    if d["op"] in ("AVGPOOL", "MAXPOOL", "BMAXPOOL") and "filter_h" in p:
        f["window"] = n_out * p["filter_h"] * p["filter_w"]
    if kernel == "CONV_WINOGRAD_3X3_S8" and len(out0) == 4 and n_out:
        n, oh, ow, cout = (int(v) for v in out0)
        cin = int(macs // n_out // 9)
        tiles = n * -(-oh // 2) * -(-ow // 2)
        groups = -(-cin // 4)
        calls = -(-tiles // 2) * -(-cout // 2)
        f.update(
            wg_group=16.0 * calls * groups,
            wg_element=16.0 * calls,
            wg_tile_out=float(tiles * cout),
            wg_in=float(tiles * cin),
            wg_tile=float(tiles),
            wg_setup=float(cout * groups),
        )
    return f


@lru_cache(maxsize=8)
def _described(blob: bytes) -> dict:
    from .inspect import describe

    return describe(blob)


def layer_features(conv, layer) -> dict[str, float]:
    """The features of `layer` (a Layer of `conv`, a Converted or Compilation)."""
    return blob_features(_described(conv.blob)["layers"][layer.index])


def load_table(board: str, costs_dir: Path | None = None) -> dict | None:
    """The committed instruction table for `board` (None: none for it), with "stale"
    True when it was measured on other C sources than these."""
    path = (costs_dir or COSTS_DIR) / f"{board}.json"
    if not path.is_file():
        return None
    return read_table(path)


def read_table(path: Path) -> dict:
    from . import InputError, native

    try:
        table = json.loads(Path(path).read_text())
        kernels = table["kernels"]
        for row in kernels.values():
            if len(row["features"]) != len(row["coefficients"]):
                raise ValueError("features and coefficients differ in length")
    except OSError as e:
        raise InputError(f"{path}: cannot read the cost table ({e.strerror})") from None
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        raise InputError(f"{path}: not a cost table ({e})") from None
    table["stale"] = table.get("source_hash") != native.source_hash()
    return table


def predict_features(table: dict, kernel: str, features: dict[str, float]) -> float | None:
    """Instructions of a layer with these features by the table's row for `kernel`."""
    row = table["kernels"].get(kernel)
    if row is None:
        return None
    return sum(
        c * features.get(name, 0.0)
        for name, c in zip(row["features"], row["coefficients"], strict=True)
    )


def predict_layer(table: dict, conv, layer) -> float | None:
    """`layer`'s instructions per inference by the table; None: its kernel is not in it."""
    return predict_features(table, layer.kernel, layer_features(conv, layer))


def predict_instructions(conv, board: str | dict) -> tuple[float | None, dict[int, float | None]]:
    """The model's predicted instructions per inference on `board` (its committed table,
    or a table given as a dict): the total (None if any layer's kernel is not in the
    table, or no table) and per .tflite op index (layers of one op summed)."""
    table = load_table(board) if isinstance(board, str) else board
    per: dict[int, float | None] = {}
    for L in conv.layers:
        p = None if table is None else predict_layer(table, conv, L)
        if L.source not in per:
            per[L.source] = p
        elif per[L.source] is None or p is None:
            per[L.source] = None
        else:
            per[L.source] += p
    total = None if not per or any(v is None for v in per.values()) else sum(per.values())
    return total, per
