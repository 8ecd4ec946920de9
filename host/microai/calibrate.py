"""`microai calibrate`: measure every kernel on an emulated board, fit its instructions.

A corpus of layers is run on the board under the instruction-count plugin (hil.py, one
run a model, every layer counted at once): small synthetic models, chains of layers over
a grid of shapes per op (testing/tflite_builder.py), with recipes that force the C
table's other algorithms and weights formats (widened, block-sparse, Winograd, int4),
and every layer of the real models (../shared/models beside the clone, the fixtures),
some also with a recipe. Each kernel's counts are then fitted, by non-negative least
squares on the relative error (ERROR_POWER), as a sum of a few of the layer's features
(cost.FEATURES): of the subsets of the features its loops may depend on, the one whose
leave-one-out error (RMS) is smallest, a set only taken with more distinct layers than
features, so a kernel seen in too few distinct layers is left out (and listed as such). The table
(cost.load_table) records per kernel the features, coefficients, layers and worst error,
and the C sources' hash it was measured against.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import InputError, MicroaiError, cost, native
from .boards import Target, load_board
from .paths import FIXTURES_DIR, ROOT

SHARED_MODELS = ROOT.parent / "shared" / "models"  # beside the clone, when there
MAX_FEATURES = 5  # the most features a kernel's row has
# The fit weighs each layer's relative error by its count ** (1 - ERROR_POWER) (1: all
# alike). 0.75 gives, on the F405, the whole models' totals within 1 % where 1 gave
# micro_speech +8.6 % and the digits CNN +4.6 %.
ERROR_POWER = 0.75


class CalibrateError(InputError):
    pass


@dataclass
class Case:
    """One model to run: its bytes, a recipe (as a dict) and a name."""

    name: str
    model: bytes
    recipe: dict | None = None
    real: bool = False  # a real model (reported per model), not a synthetic chain


@dataclass
class Sample:
    case: str
    layer: int
    kernel: str
    features: dict[str, float]
    instructions: int


# ---- the synthetic corpus ------------------------------------------------------------


class Chain:
    """A chain of ops (each reads the one before) from one int8 input, built with
    ModelBuilder, with per-op recipe fields."""

    def __init__(self, name: str, shape, seed: int = 0):
        from .testing.tflite_builder import ModelBuilder

        self.name = name
        self.rng = np.random.default_rng(seed)
        self.mb = ModelBuilder(f"microai calibration: {name}")
        self.x = self.mb.input("x", shape, scale=0.05, zero_point=-3)
        self.layers: dict[str, dict] = {}
        self.n = 0

    def _shape(self, t=None):
        return self.mb.tensors[self.x if t is None else t]["shape"]

    def _next(self, opname, inputs, shape, options=None, scale=0.1, zero_point=0, **fields):
        y = self.mb.tensor(f"t{self.n}", shape, scale=scale, zero_point=zero_point)
        self.mb.op(opname, inputs, [y], options, **fields)
        self.x = y
        self.n += 1
        return y

    def _recipe(self, **fields):
        fields = {k: v for k, v in fields.items() if v is not None}
        if fields:
            self.layers[str(self.n)] = fields

    def _weights(self, shape, zero_blocks: float):
        w = self.rng.integers(-127, 128, shape, dtype=np.int8)
        if zero_blocks:
            rows = w.reshape(shape[0], -1)
            k4 = rows.shape[1] // 4
            for r in rows:
                for b in np.flatnonzero(self.rng.random(k4) < zero_blocks):
                    r[4 * b : 4 * b + 4] = 0
            w = rows.reshape(shape)
        return w

    @staticmethod
    def _out(size, k, stride, same):
        return -(-size // stride) if same else (size - k) // stride + 1

    def conv(self, cout, k=1, stride=1, same=True, algorithm=None, weights=None, zero=0.0):
        _, h, w, cin = self._shape()
        scales = np.full(cout, 0.01, np.float32)
        wt = self.mb.const(f"w{self.n}", self._weights((cout, k, k, cin), zero), scale=scales)
        b = self.mb.const(
            f"b{self.n}",
            self.rng.integers(-500, 500, cout).astype(np.int32),
            scale=scales * 0.05,
        )
        if algorithm and algorithm.startswith("pointwise") and (k, stride) != (1, 1):
            algorithm = algorithm.replace("pointwise", "im2col")  # its kxk twin
        self._recipe(algorithm=algorithm, weights=weights)
        shape = (1, self._out(h, k, stride, same), self._out(w, k, stride, same), cout)
        return self._next(
            "CONV_2D", [self.x, wt, b], shape, "Conv2DOptions",
            Padding=0 if same else 1, StrideW=stride, StrideH=stride,
        )  # fmt: skip

    def dw(self, k=3, stride=1, mult=1, same=True, algorithm=None, weights=None):
        _, h, w, cin = self._shape()
        cout = cin * mult
        scales = np.full(cout, 0.01, np.float32)
        wt = self.mb.const(
            f"w{self.n}",
            self.rng.integers(-127, 128, (1, k, k, cout), dtype=np.int8),
            scale=scales,
            quantized_dimension=3,
        )
        b = self.mb.const(
            f"b{self.n}", self.rng.integers(-500, 500, cout).astype(np.int32), scale=scales * 0.05
        )
        self._recipe(algorithm=algorithm, weights=weights)
        shape = (1, self._out(h, k, stride, same), self._out(w, k, stride, same), cout)
        return self._next(
            "DEPTHWISE_CONV_2D", [self.x, wt, b], shape, "DepthwiseConv2DOptions",
            Padding=0 if same else 1, StrideW=stride, StrideH=stride, DepthMultiplier=mult,
        )  # fmt: skip

    def fc(self, out, algorithm=None, weights=None, zero=0.0):
        batch, k = self._shape()
        scales = np.full(out, 0.01, np.float32)
        wt = self.mb.const(f"w{self.n}", self._weights((out, k), zero), scale=scales)
        b = self.mb.const(
            f"b{self.n}", self.rng.integers(-500, 500, out).astype(np.int32), scale=scales * 0.05
        )
        self._recipe(algorithm=algorithm, weights=weights)
        return self._next("FULLY_CONNECTED", [self.x, wt, b], (batch, out), "FullyConnectedOptions")

    def pool(self, kind, k, stride, same=True):
        _, h, w, c = self._shape()
        t = self.mb.tensors[self.x]
        shape = (1, self._out(h, k, stride, same), self._out(w, k, stride, same), c)
        return self._next(
            kind, [self.x], shape, "Pool2DOptions", scale=t["scale"], zero_point=t["zero_point"],
            Padding=0 if same else 1, StrideW=stride, StrideH=stride,
            FilterWidth=k, FilterHeight=k,
        )  # fmt: skip

    def binary(self, opname, options):
        return self._next(opname, [self.x, self.x], self._shape(), options, scale=0.12)

    def unary(self, opname, options=None, scale=0.1, zero_point=0, **fields):
        return self._next(opname, [self.x], self._shape(), options, scale, zero_point, **fields)

    def mean(self):
        n, _, _, c = self._shape()
        axis = self.mb.const(f"axis{self.n}", np.array([1, 2], np.int32))
        return self._next("MEAN", [self.x, axis], (n, 1, 1, c), "ReducerOptions", KeepDims=True)

    def pad(self, p=1):
        n, h, w, c = self._shape()
        t = self.mb.tensors[self.x]
        pads = self.mb.const(f"pads{self.n}", np.array([[0, 0], [p, p], [p, p], [0, 0]], np.int32))
        return self._next(
            "PAD", [self.x, pads], (n, h + 2 * p, w + 2 * p, c), "PadOptions",
            scale=t["scale"], zero_point=t["zero_point"],
        )  # fmt: skip

    def concat(self):
        *rest, c = self._shape()
        t = self.mb.tensors[self.x]
        return self._next(
            "CONCATENATION", [self.x, self.x], (*rest, 2 * c), "ConcatenationOptions",
            scale=t["scale"], zero_point=t["zero_point"], Axis=len(rest),
        )  # fmt: skip

    def case(self) -> Case:
        self.mb.output(self.x)
        return Case(self.name, self.mb.build(), {"layers": self.layers} if self.layers else None)


def _conv_chains(tag: str, seed: int, **kw) -> list[Case]:
    """Pointwise and 3x3 (padded, valid, strided) convolutions over a few shapes."""
    a = Chain(f"{tag}_pw", (1, 16, 16, 8), seed)
    for cout in (16, 24, 8, 36):
        a.conv(cout, 1, **kw)
    b = Chain(f"{tag}_pw_odd", (1, 7, 7, 12), seed + 1)
    for cout in (20, 4, 64, 10):
        b.conv(cout, 1, **kw)
    c = Chain(f"{tag}_3x3", (1, 14, 14, 3), seed + 2)
    c.conv(8, 3, **kw)
    c.conv(16, 3, same=False, **kw)
    c.conv(12, 3, stride=2, **kw)
    c.conv(24, 3, **kw)
    c.conv(6, 3, same=False, **kw)
    d = Chain(f"{tag}_kxk", (1, 15, 9, 5), seed + 3)
    d.conv(10, 5, **kw)
    d.conv(7, 3, stride=2, same=False, **kw)
    d.conv(32, 1, stride=2, **kw)
    d.conv(16, 3, **kw)
    return [a.case(), b.case(), c.case(), d.case()]


def _winograd_chains() -> list[Case]:
    out = []
    for k, (shape, couts) in enumerate(
        [((1, 16, 16, 4), (8, 16, 12, 4)), ((1, 11, 13, 10), (6, 20, 32, 8))]
    ):
        ch = Chain(f"winograd_{k}", shape, 40 + k)
        for j, cout in enumerate(couts):
            ch.conv(cout, 3, same=j % 2 == 0, algorithm="winograd")
        out.append(ch.case())
    return out


def _dw_chains(tag: str, seed: int, weights=None, algorithm=None) -> list[Case]:
    a = Chain(f"{tag}_dw3x3", (1, 16, 16, 8), seed)
    a.dw(3, weights=weights, algorithm=algorithm)
    a.dw(3, stride=2, weights=weights, algorithm=algorithm)
    a.dw(3, same=False, weights=weights, algorithm=algorithm)
    a.conv(20, 1, algorithm="pointwise")
    a.dw(3, weights=weights, algorithm=algorithm)
    b = Chain(f"{tag}_dw_other", (1, 12, 12, 6), seed + 1)
    b.dw(5, weights=weights)
    b.dw(3, mult=2, weights=weights)
    b.dw(3, algorithm="direct", weights=weights)
    b.dw(5, stride=2, same=False, weights=weights)
    b.dw(3, stride=2, algorithm="direct", weights=weights)
    return [a.case(), b.case()]


def _fc_chains(tag: str, seed: int, **kw) -> list[Case]:
    out = []
    for j, (shape, sizes) in enumerate(
        [((1, 64), (32, 48, 10, 100)), ((2, 100), (40, 17, 64)), ((3, 24), (8, 30))]
    ):
        ch = Chain(f"{tag}_fc{j}", shape, seed + j)
        for n in sizes:
            ch.fc(n, **kw)
        out.append(ch.case())
    return out


def _other_chains() -> list[Case]:
    a = Chain("pool", (1, 16, 16, 8), 60)
    a.pool("MAX_POOL_2D", 2, 2)
    a.pool("AVERAGE_POOL_2D", 3, 1)
    a.pool("MAX_POOL_2D", 3, 2, same=False)
    a.conv(24, 1, algorithm="pointwise")
    a.pool("AVERAGE_POOL_2D", 2, 2)
    a.pool("MAX_POOL_2D", 3, 1)
    b = Chain("elementwise", (1, 8, 8, 16), 61)
    b.binary("ADD", "AddOptions")
    b.binary("MUL", "MulOptions")
    b.unary("LOGISTIC", scale=1 / 256, zero_point=-128)
    b.pad()
    b.concat()
    b.binary("ADD", "AddOptions")
    b.unary("TANH", scale=1 / 128)
    b.mean()
    c = Chain("elementwise_2", (1, 5, 7, 3), 62)
    c.binary("ADD", "AddOptions")
    c.concat()
    c.binary("MUL", "MulOptions")
    c.pad(2)
    c.unary("LOGISTIC", scale=1 / 256, zero_point=-128)
    c.mean()
    d = Chain("elementwise_3", (1, 20, 20, 4), 67)
    d.binary("MUL", "MulOptions")
    d.pool("AVERAGE_POOL_2D", 5, 5, same=False)
    d.pad()
    d.binary("ADD", "AddOptions")
    d.concat()
    d.unary("LOGISTIC", scale=1 / 256, zero_point=-128)
    d.binary("MUL", "MulOptions")
    d.concat()
    d.mean()
    out = [a.case(), b.case(), c.case(), d.case()]
    for j, shape in enumerate([(1, 10), (1, 100), (2, 37), (1, 4, 4, 12)]):
        s = Chain(f"softmax{j}", shape, 63 + j)
        s.unary("SOFTMAX", "SoftmaxOptions", scale=1 / 256, zero_point=-128, Beta=1.0)
        s.binary("ADD", "AddOptions")
        out.append(s.case())
    return out


def synthetic_cases() -> list[Case]:
    cases = _conv_chains("conv", 0, algorithm="pointwise")
    cases += _conv_chains("conv_wide", 10, algorithm="pointwise_wide")
    cases += _conv_chains("conv_s4", 20, weights="int4")
    cases += _conv_chains("conv_sparse", 30, algorithm="pointwise_sparse", zero=0.5)
    cases += _winograd_chains()
    cases += _dw_chains("dw", 50, algorithm="3x3")
    cases += _dw_chains("dw_s4", 55, weights="int4")
    cases += _fc_chains("fc", 70, algorithm="direct")
    cases += _fc_chains("fc_s4", 75, weights="int4")
    cases += _fc_chains("fc_sparse", 80, algorithm="direct_sparse", zero=0.6)
    cases += _other_chains()
    return cases


# ---- the real models -----------------------------------------------------------------


def model_files() -> list[Path]:
    dirs = [SHARED_MODELS, FIXTURES_DIR]
    return [p for d in dirs if d.is_dir() for p in sorted(d.glob("*.tflite"))]


def real_cases(board: str) -> list[Case]:
    """Every real model, plus int4 weights, Winograd where it applies, and every weighted
    layer by its int8 kernel without prepared weights (what the board's layout choice
    would not run, and the search may pick)."""
    from .convert import convert

    target = Target.of(load_board(board))
    kernels = native.table()["kernels"]
    cases = []
    for p in model_files():
        data = p.read_bytes()
        cases.append(Case(p.stem, data, None, True))
        if p.stem not in ("kws_ref_model", "pretrainedResnet_quant", "digits_cnn"):
            continue
        try:
            conv = convert(data, p.stem, target=target)
        except MicroaiError:
            continue
        int4, wino = {}, {}
        plain = {
            str(L.source): {"algorithm": kernels[L.kernel].algorithm}
            for L in convert(data, p.stem).layers
            if L.type in ("CONV", "DWCONV", "FC")
        }
        for L in conv.layers:
            d = cost._described(conv.blob)["layers"][L.index]
            if L.type in ("CONV", "DWCONV", "FC"):
                int4[str(L.source)] = {"weights": "int4"}
            p_ = d.get("params") or {}
            if (
                L.type == "CONV"
                and (d.get("weights_shape") or [0])[1:3] == [3, 3]
                and p_.get("stride_h") == 1
                and p_.get("stride_w") == 1
                and p_.get("dilation_h") == 1
            ):
                wino[str(L.source)] = {"algorithm": "winograd"}
        for tag, layers in (("int4", int4), ("winograd", wino), ("int8", plain)):
            if layers:
                cases.append(Case(f"{p.stem}+{tag}", data, {"layers": layers}, True))
    return cases


# ---- measuring -----------------------------------------------------------------------


def _convert(case: Case, board: str):
    from .convert import convert
    from .recipe import Recipe

    recipe = Recipe.from_dict(case.recipe, case.name) if case.recipe else None
    return convert(case.model, case.name, recipe=recipe, target=Target.of(load_board(board)))


def measure(case: Case, board: str) -> tuple[list[Sample], int | None]:
    """The case's layers' counts on the board, and the whole inference's."""
    from .hil import hil
    from .recipe import Recipe

    conv = _convert(case, board)
    recipe = Recipe.from_dict(case.recipe, case.name) if case.recipe else None
    res = hil(case.model, board, n_inputs=1, name=case.name, recipe=recipe)
    samples = []
    for L, r in zip(conv.layers, res["layers"], strict=True):
        if r["kernel"] != L.kernel or r["instructions"] is None:
            raise CalibrateError(f"{case.name}: layer {L.index} converted differently on the board")
        samples.append(
            Sample(case.name, L.index, L.kernel, cost.layer_features(conv, L), r["instructions"])
        )
    return samples, res["instructions"]


# ---- fitting -------------------------------------------------------------------------

_GENERIC = [("out",), ("in",), ("one", "out"), ("one", "in"), ("one", "out", "in")]
_GENERIC += [("one", "out", "pixels"), ("one", "out", "in", "pixels")]
_MACS = [("macs",), ("one", "macs"), ("one", "macs", "out"), ("one", "macs", "out", "pixels")]
_MACS += [("one", "macs", "out", "in"), ("one", "macs", "out", "in", "pixels")]
_GEMM = [
    ("one", "pass_macs", "pass_out", "ch_tail"),
    ("one", "pass_macs", "pass_out"),
    ("one", "pass_macs", "pass_out", "columns"),
    ("one", "pass_macs", "pass_out", "pixels"),
    ("one", "pass_macs", "pass_out", "columns", "pixels"),
    ("one", "pass_macs", "pass_out", "columns", "pixels", "in"),
]
_IM2COL = [
    ("one", "pass_macs", "pass_out", "tail_out", "taps"),
    ("one", "pass_macs", "pass_out", "tail_out", "rows"),
    ("one", "pass_macs", "pass_out", "tail_out", "columns", "taps"),
    ("one", "pass_macs", "pass_out", "tail_out", "pixels", "taps"),
    ("one", "pass_macs", "pass_out", "taps"),
    ("one", "pass_macs", "pass_out", "columns", "taps"),
    ("one", "pass_macs", "pass_out", "columns", "rows"),
    ("one", "pass_macs", "pass_out", "pixels", "taps"),
    ("one", "pass_macs", "pass_out", "columns", "pixels", "taps"),
    ("one", "pass_macs", "pass_out", "columns", "pixels", "rows"),
]
_DW = [
    ("one", "macs", "out", "ch_tail"),
    ("one", "macs", "taps"),
    ("one", "macs", "out", "taps"),
    ("one", "macs", "out", "pixels"),
    ("one", "macs", "out", "taps", "rows"),
    ("one", "macs", "out", "in", "taps"),
]
_WINOGRAD = [
    ("one", "wg_group", "wg_element", "wg_tile_out", "wg_in", "wg_tile", "wg_setup"),
    ("wg_group", "wg_element", "wg_tile_out", "wg_in", "wg_tile"),
    ("one", "wg_group", "wg_tile_out", "wg_in", "wg_tile"),
]
_FC = [
    ("one", "stored_macs", "out"),
    ("one", "stored_macs", "out", "in"),
    ("one", "stored_macs", "out", "odd_macs", "odd_out"),
    ("one", "stored_macs", "out", "in", "odd_macs", "odd_out"),
]
_POOL = [("one", "window", "out"), ("one", "window", "out", "pixels")]


def candidates(kernel: str) -> list[tuple[str, ...]]:
    """The feature sets tried for a kernel, from its op's loops (cost.py)."""
    row = native.table()["kernels"].get(kernel)
    op = row.op if row else ""
    if kernel == "CONV_WINOGRAD_3X3_S8":
        return _WINOGRAD + _MACS
    if kernel in cost.PASS:
        return _GEMM + (_IM2COL if "IM2COL" in kernel else []) + _MACS
    if op == "DWCONV":
        return _DW + _MACS
    if op == "FC":
        return _FC + _MACS
    if op in ("AVGPOOL", "MAXPOOL", "BMAXPOOL"):
        return _POOL + _GENERIC
    if op in ("CONV", "DWCONV", "BCONV", "SVDF", "LSTM"):
        return _MACS + _GENERIC
    return _GENERIC + _MACS


def _nnls_rel(a: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Non-negative x minimizing the squares of the relative errors (a x - y) / y, each
    weighted by y ** (1 - ERROR_POWER): a large layer, which decides a model's total,
    counts a little more than a small one."""
    from scipy.optimize import nnls

    w = a / y[:, None] ** ERROR_POWER
    scale = np.maximum(np.abs(w).max(axis=0), 1e-30)
    x, _ = nnls(w / scale, y ** (1 - ERROR_POWER), maxiter=50 * a.shape[1])
    return x / scale


def _fit_set(feats: tuple[str, ...], rows: list[Sample]):
    """(coefficients, worst relative error, RMS leave-one-out relative error) of a set."""
    a = np.array([[s.features.get(f, 0.0) for f in feats] for s in rows], float)
    y = np.array([s.instructions for s in rows], float)
    x = _nnls_rel(a, y)
    worst = float(np.max(np.abs(a @ x - y) / y))
    loo = []
    for i in range(len(rows)):
        keep = np.arange(len(rows)) != i
        loo.append((float(a[i] @ _nnls_rel(a[keep], y[keep])) - y[i]) / y[i])
    return x, worst, float(np.sqrt(np.mean(np.square(loo))))


def fit_kernel(kernel: str, rows: list[Sample]) -> tuple[dict | None, str]:
    """The kernel's table row (None if it cannot be fitted) and why not: of the subsets
    of up to MAX_FEATURES of the features its loops may depend on (candidates), the one
    with the least leave-one-out error (RMS, relative), a feature more paying its way."""
    pool = sorted({f for c in candidates(kernel) for f in c})
    best = None
    for n in range(1, min(MAX_FEATURES, len(pool)) + 1):
        for feats in itertools.combinations(pool, n):
            distinct = {tuple(round(s.features.get(f, 0.0), 6) for f in feats) for s in rows}
            if len(distinct) < len(feats) + 2 or any(
                all(s.features.get(f, 0.0) == 0 for s in rows) for f in feats
            ):
                continue
            x, worst, loo = _fit_set(feats, rows)
            score = loo * (1 + 0.05 * len(feats))
            if best is None or score < best[0]:
                best = (score, feats, x, worst)
    if best is None:
        distinct = len({tuple(sorted(s.features.items())) for s in rows})
        return None, f"{distinct} distinct layer(s) measured: too few to fit"
    _, feats, x, worst = best
    keep = [k for k, c in enumerate(x) if c > 0] or [0]
    return {
        "features": [feats[k] for k in keep],
        "coefficients": [round(float(x[k]), 6) for k in keep],
        "layers": len(rows),
        "worst_error": round(worst, 4),
    }, ""


def fit(samples: list[Sample]) -> tuple[dict, dict]:
    """(kernels' rows, rejected kernels and why) from the samples."""
    by: dict[str, list[Sample]] = {}
    for s in samples:
        by.setdefault(s.kernel, []).append(s)
    rows, rejected = {}, {}
    for kernel in sorted(by):
        row, why = fit_kernel(kernel, by[kernel])
        if row is None:
            rejected[kernel] = why
        else:
            rows[kernel] = row
    return rows, rejected


# ---- the command ---------------------------------------------------------------------


@dataclass
class Report:
    table: dict
    cases: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0


def check_kernels(kernels: list[str] | None) -> None:
    if kernels is None:
        return
    known = native.table()["kernels"]
    bad = [k for k in kernels if k not in known]
    if bad or not kernels:
        raise CalibrateError(
            f"unknown kernel(s) {', '.join(bad) or '(none given)'}; the C table has: "
            + ", ".join(known)
        )


def calibrate(
    board: str,
    kernels: list[str] | None = None,
    progress: Callable[[str], None] | None = None,
) -> Report:
    """Measure the corpus on `board` (only the models with a layer of `kernels`, when
    given) and fit the table."""
    b = load_board(board)
    if not b.emulated:
        raise CalibrateError(f"board {board} is not emulated: calibrate counts under QEMU")
    check_kernels(kernels)
    say = progress or (lambda _: None)
    t0 = time.monotonic()
    report = Report({})
    wanted = set(kernels) if kernels else None
    samples: list[Sample] = []
    models = []
    for case in synthetic_cases() + real_cases(board):
        try:
            conv = _convert(case, board)
            if wanted is not None and not wanted & {L.kernel for L in conv.layers}:
                continue
            got, total = measure(case, board)
        except MicroaiError as e:
            report.skipped.append((case.name, str(e).splitlines()[0]))
            say(f"{case.name}: skipped ({str(e).splitlines()[0]})")
            continue
        report.cases += 1
        samples += got
        if case.real:
            models.append((case, got, total))
        say(f"{case.name}: {len(got)} layers, {total:,} instructions")
    if wanted is not None:
        samples = [s for s in samples if s.kernel in wanted]
    rows, rejected = fit(samples)
    table = {
        "board": board,
        "source_hash": native.source_hash(),
        "measured_layers": len(samples),
        "kernels": rows,
        "rejected": rejected,
        "models": [],
    }
    for case, got, total in models:
        pred = [cost.predict_features(table, s.kernel, s.features) for s in got]
        if wanted is None and total and None not in pred:
            p = sum(pred)
            table["models"].append(
                {
                    "model": case.name,
                    "predicted": round(p),
                    "measured": total,
                    "error": round(p / total - 1, 4),
                }
            )
    report.table = table
    report.seconds = round(time.monotonic() - t0, 1)
    return report


def write_table(table: dict, path: Path) -> None:
    from .cli import write_output

    write_output(Path(path), (json.dumps(table, indent=1) + "\n").encode())
