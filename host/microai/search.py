"""`microai search`: per-layer weights precision, channel pruning and algorithm for a
board, under flash / RAM / instruction budgets, written as a recipe (recipe.py).

1. Options, from what the layers can take: int8 or int4 weights (compress.py's rules),
   each prunable channel space (prune.py) kept whole or pruned by each of `ratios`, and
   for int8 weights each algorithm of the C table that reads a prepared format
   (widened, Winograd) and supports the layer, beside the layer's own, and its
   block-sparse algorithm with each of `sparsities` of its blocks of 4 zeroed
   (sparsify.py).
2. Costs. Flash: the weights' bytes in each format for the pruned shapes (layouts.py,
   the C core's own sizes) plus the per-channel constants, the rest of the blob as
   converted. Instructions: for each family of options (int8 / int4, each algorithm)
   with no channel pruned and with every space pruned by the largest ratio, each op's
   count by the board's calibrated cost table (cost.py, `microai calibrate`; --costs
   board, or a kernel the table lacks: measured on the board by `microai hil`); a
   layer's count between the two is a line in its MACs kept (or, for an op without
   weights, in its channels kept). A pick's own prediction is the table's for it as
   converted. RAM: the arena of the recipe as converted (checked, not modelled).
3. Sensitivity, measured by the host engine (bit-exact with the board) on the data:
   the output's mean squared error against the int8 model's with one option taken
   alone; with labels, accuracy too. The data (or the --calibration data, kept apart
   from what is measured) also calibrate the pruning (its refit) and the int4 weights
   (the recipe names it: "calibration"), as `microai compress --data` does.
4. An integer linear program (scipy.optimize.milp) picks one option per layer and one
   ratio per space, consistent with each other (a layer's input and output channels are
   its spaces'), with the least total error within the budgets; the pick is then
   converted and measured whole (flash, arena, accuracy or SQNR), and a pick that
   misses the RAM budget or --min-accuracy is cut off and the program solved again.
   With --minimize energy, the program instead takes the fewest instructions (the
   board's energy estimate is linear in them) under a cap on the total error, the cap
   bisected for the loosest one whose pick is still within --min-accuracy / --min-sqnr.
5. The Pareto front: the same program at flash budgets from the least possible to the
   int8 model's, each point measured whole.

The measurements of steps 3 and 5 (the host engine over the data, per candidate) go
through one executor (Runner): in this process, in local processes (--workers) or on a
Dask cluster (--cluster).

Every layer's algorithm is written into the recipe, so `convert --board` keeps the
search's choice (its layout choice only touches "auto" layers).
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass, field

import numpy as np

from . import InputError, cost, layouts, native
from .boards import Target, load_board
from .convert import convert
from .ir import ConvertError
from .paths import BUILD_DIR
from .recipe import Recipe
from .tflite import read_model

RATIOS = (0.125, 0.25, 0.375, 0.5)
SPARSITIES = (0.5, 0.75)  # fractions of blocks of 4 zeroed, for a block-sparse kernel
WEIGHTED = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")
MAX_CUTS = 24
SPARSE = "sparse@"  # a family's algorithm: every layer's block-sparse one, at a level
COSTS = ("table", "board")  # where instructions come from: cost.py's table, or hil
# What the pick minimizes within the budgets: the output's error, or the energy (the
# instructions: boards.Board.energy_uj is linear in them) within --min-accuracy/--min-sqnr.
OBJECTIVES = ("error", "energy")
BISECTIONS = 8  # the energy objective's steps over the cap on the total error


class SearchError(InputError):
    pass


@dataclass
class Space:
    """A prunable channel space: its channels and the op that names it in a recipe."""

    producers: list[int]
    channels: int
    ratios: tuple[float, ...]  # 0 first

    def kept(self, r: float) -> int:
        from .prune import kept_channels

        return self.channels if r == 0 else kept_channels(self.channels, r)


@dataclass
class Option:
    """One choice for a weighted layer: weights, algorithm, its spaces' ratios, and what
    it costs."""

    layer: int
    weights: str
    algorithm: str
    r_in: float
    r_out: float
    flash: float = 0.0
    instructions: float = 0.0
    loss: float = 0.0
    sparsity: float = 0.0  # of blocks zeroed (a block-sparse algorithm)


@dataclass
class Pick:
    recipe: dict
    flash_bytes: int
    arena_bytes: int
    predicted_instructions: int
    predicted_flash: int
    mse: float
    sqnr_db: float | None
    accuracy: float | None
    layers: list[dict] = field(default_factory=list)


def _aligned(n: int) -> int:
    return -(-n // 16) * 16


def _block4_bytes(shape, level: float) -> int:
    """Bytes of block-sparse weights (layouts' s8_block4, with its index) of `shape` with
    the fraction `level` of their blocks of 4 zero (sparsify.py's count)."""
    rows, k = layouts._rows_k(shape)
    blocks = rows * -(-k // 4)
    nnz = blocks - int(round(level * blocks))
    _, lib = native.load()
    return 4 * nnz + int(lib.nn_block4_aux_bytes(rows, nnz))


def _space_of(sp, maps, t: int, prunable: dict[int, int]) -> int | None:
    m = maps.get(t)
    if not m:
        return None
    return prunable.get(sp.find(m[0][0]))


def evaluate(model: bytes, name: str, recipe: dict, x: np.ndarray, data=None):
    """The model as the recipe makes it (calibrated on `data`, in memory, when the recipe
    asks for calibration): its outputs over x by the host engine (real values), its blob
    and its conversion."""
    from .engine import Model

    r = Recipe.from_dict(recipe)
    r.data = data
    conv = convert(model, name, recipe=r)
    with Model(conv.blob) as m:
        scale, zp = m.output_scale, m.output_zero_point
        ys = np.stack([m.run(xi) for xi in x]).astype(np.float64)
    return (ys - zp) * (scale or 1.0), conv.blob, conv


def evaluate_outputs(args: tuple) -> np.ndarray:
    """evaluate()'s outputs only: what a worker runs (module level, so that local
    processes and Dask workers import it by name)."""
    return evaluate(*args)[0]


class Runner:
    """Where candidate evaluations run: in this process (workers 1), in local processes
    (workers > 1) or on a Dask cluster (`cluster`: a scheduler's address, or a
    distributed.Client), through one interface, concurrent.futures' executor."""

    def __init__(self, workers: int = 1, cluster=None):
        self.client = None
        self.pool = None
        if cluster is not None:
            try:
                from distributed import Client
            except ImportError:
                raise SearchError(
                    "--cluster needs Dask: pip install 'microai[cluster]' (dask, distributed)"
                ) from None
            self.client = cluster if isinstance(cluster, Client) else Client(cluster)
            self.pool = self.client.get_executor()
        elif workers > 1:
            from concurrent.futures import ProcessPoolExecutor

            self.pool = ProcessPoolExecutor(max_workers=workers)

    def map(self, fn, items: list, progress, what: str) -> list:
        if self.pool is None:
            return [fn(a) for a in progress.track(items, what)]
        from concurrent.futures import as_completed

        futures = {self.pool.submit(fn, a): k for k, a in enumerate(items)}
        out: list = [None] * len(items)
        for f in progress.track(as_completed(futures), what, len(items)):
            out[futures[f]] = f.result()
        return out

    def close(self) -> None:
        if self.pool is not None and self.client is None:
            self.pool.shutdown()

    def __enter__(self) -> Runner:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _count_key(weights: str, algorithm: str | None, ratio: float) -> str:
    """The key of one board measurement: a family of options at a ratio."""
    return f"{weights}|{algorithm}|{ratio}"


def _between(c0: float, c1: float, f: float, f_max: float) -> float:
    """Instructions at fraction f kept, on the line through (1, c0) and (f_max, c1)."""
    return c0 if f_max >= 1 else c0 + (c1 - c0) * (1 - f) / (1 - f_max)


class Problem:
    """The model's options and their costs (module text, steps 1-3)."""

    def __init__(
        self,
        model: bytes,
        name: str,
        data_path,
        board: str,
        ratios,
        progress,
        runner,
        calibration_path=None,
        costs: str = "table",
        sparsities=SPARSITIES,
    ):
        from .compress import _why_not, evaluation_inputs, load_data
        from .prune import _channel_maps, kept_channels, prune_channels

        self.model, self.name, self.board = model, name, board
        self.progress, self.runner = progress, runner
        self.sparsities = tuple(sorted(set(sparsities)))
        # Instructions: the board's cost table (cost.py), or measured on the board.
        self.table = cost.load_table(board) if costs == "table" else None
        self.costs = "table" if self.table is not None else "board"
        self.graph = g = read_model(model, name)
        shape = g.t(g.inputs[0]).shape if g.inputs else ()
        if len(shape) > 1 and shape[0] > 1:
            raise SearchError(
                f"{name}: the model's input has a fixed batch of {shape[0]} ({list(shape)}); "
                "search measures one sample at a time: convert the model with batch 1"
            )
        data = None if data_path is None else load_data(data_path, g)
        # What calibrates the pruning and the int4 scales: its own data, or the data
        # measured on (the results on that data are then optimistic).
        cal_path = calibration_path if calibration_path is not None else data_path
        self.calibration = None if cal_path is None else str(cal_path)
        self.data = data if calibration_path is None else load_data(calibration_path, g)
        self.x, self.y = evaluation_inputs(g, data)
        ops = {op.index: op for op in g.ops}
        self.ops = ops
        # Spaces (prune.py's, the prunable ones).
        sp, maps = _channel_maps(g)
        try:
            report = prune_channels(model, name, max(ratios)).spaces if ratios else []
        except InputError:
            report = []  # weights not int8 (already compressed): nothing to prune
        self.spaces: list[Space] = []
        prunable: dict[int, int] = {}
        for rep in report:
            if rep.reason is None and rep.producers:
                root = sp.find(maps[ops[rep.producers[0]].outputs[0]][0][0])
                # Only ratios that remove channels, one per kept count (kept counts
                # round to multiples of 4: prune.kept_channels).
                by_kept = {}
                for r in ratios:
                    k = kept_channels(rep.channels, r)
                    if k < rep.channels:
                        by_kept.setdefault(k, r)
                if by_kept:
                    prunable[root] = len(self.spaces)
                    self.spaces.append(
                        Space(rep.producers, rep.channels, (0.0, *sorted(by_kept.values())))
                    )
        # Layers and the spaces they read and make.
        users: dict[int, int] = {}
        for op in g.ops:
            for t in op.inputs:
                if t >= 0:
                    users[t] = users.get(t, 0) + 1
        base = convert(model, name)
        self.base = base
        kernels = native.table()["kernels"]
        self.weighted = [op.index for op in g.ops if op.opcode in WEIGHTED]
        self.in_space: dict[int, int | None] = {}
        self.out_space: dict[int, int | None] = {}
        self.space_ops: dict[int, int | None] = {}  # op without weights -> its space
        for op in g.ops:
            if not op.outputs:
                continue
            s_out = _space_of(sp, maps, op.outputs[0], prunable)
            if op.index in self.weighted:
                self.in_space[op.index] = _space_of(sp, maps, op.inputs[0], prunable)
                self.out_space[op.index] = s_out
            else:
                self.space_ops[op.index] = s_out
        by_source = {L.source: L for L in base.layers}
        self.layer_of = by_source
        self.natural: dict[int, str] = {}
        self.precisions: dict[int, list[str]] = {}
        self.algorithms: dict[int, list[str]] = {}
        self.sparse: dict[int, str] = {}  # layer -> its block-sparse algorithm
        for i in self.weighted:
            op = ops[i]
            kern = kernels[by_source[i].kernel]
            self.natural[i] = kern.algorithm
            stored = g.t(op.inputs[1]).storage
            can4 = stored == "s8" and _why_not(g, op, users) is None
            self.precisions[i] = (
                ["int8", "int4"] if can4 else ["int4" if stored == "s4" else "int8"]
            )
            algs = [kern.algorithm]
            if stored == "s8":
                low_type = kern.op
                for k in kernels.values():
                    if (
                        k.op == low_type
                        and k.weights in ("wide", "winograd")
                        and k.algorithm not in algs
                        and self._takes(i, k.algorithm)
                    ):
                        algs.append(k.algorithm)
                    elif (
                        k.op == low_type
                        and k.weights == "s8_block4"
                        and op.opcode in ("CONV_2D", "FULLY_CONNECTED")
                        # sparsify's blocks of 4 input channels are the layout's
                        and g.t(op.inputs[1]).shape[-1] % 4 == 0
                        and i not in self.sparse
                        and self._takes(i, k.algorithm)
                    ):
                        self.sparse[i] = k.algorithm
            self.algorithms[i] = algs
        self.overhead = len(base.blob) - sum(by_source[i].weight_bytes for i in self.weighted)

    def can_int4(self, i: int) -> bool:
        """Layer i's int8 weights may become int4 (an option; int4 already is none)."""
        return self.precisions[i] == ["int8", "int4"]

    def _takes(self, i: int, algorithm: str) -> bool:
        try:
            convert(
                self.model,
                self.name,
                recipe=Recipe.from_dict({"layers": {str(i): {"algorithm": algorithm}}}),
            )
        except ConvertError:
            return False
        return True

    # ---- recipes ---------------------------------------------------------------------------

    def recipe(
        self,
        weights: dict[int, str],
        algorithms: dict[int, str],
        ratios: dict[int, float],
        sparsity: dict[int, float] | None = None,
    ) -> dict:
        """The recipe for per-layer weights, algorithms and block sparsity, and per-space
        ratios."""
        layers: dict[str, dict] = {}
        for i in self.weighted:
            f = {"algorithm": algorithms.get(i, self.natural[i])}
            if weights.get(i, "int8") == "int4" and self.can_int4(i):
                f["weights"] = "int4"
            elif (sparsity or {}).get(i, 0) > 0:
                f["sparsity"] = sparsity[i]
            layers[str(i)] = f
        for s, r in ratios.items():
            if r > 0:
                layers.setdefault(str(self.spaces[s].producers[0]), {})["prune"] = r
        compressed = any("prune" in f or "weights" in f for f in layers.values())
        if compressed and self.calibration is not None:
            return {"layers": layers, "calibration": self.calibration}
        return {"layers": layers}

    def family_recipe(self, weights: str, algorithm: str | None, r: float) -> dict:
        """A family of options (families()) with every space at ratio r."""
        w = {i: weights for i in self.weighted if weights in self.precisions[i]}
        a = {}
        if algorithm is not None and algorithm.startswith(SPARSE):
            level = float(algorithm[len(SPARSE) :])
            return self.recipe(
                {},
                dict(self.sparse),
                dict.fromkeys(range(len(self.spaces)), r),
                dict.fromkeys(self.sparse, level),
            )
        for i in self.weighted:
            if (
                algorithm is not None
                and algorithm in self.algorithms[i]
                and w.get(i, "int8") == "int8"
            ):
                a[i] = algorithm
        return self.recipe(w, a, dict.fromkeys(range(len(self.spaces)), r))

    # ---- measurements ----------------------------------------------------------------------

    @property
    def rmax(self) -> float:
        """The largest ratio of any space: the second board measurement's."""
        return max((s.ratios[-1] for s in self.spaces), default=0.0)

    def families(self) -> list[tuple[str, str | None]]:
        """(weights, algorithm): int8 by each layer's own algorithm (None), by each
        prepared one, by the block-sparse ones at each level (SPARSE + level), int4."""
        fams: list[tuple[str, str | None]] = [("int8", None)]
        extra = sorted({a for i in self.weighted for a in self.algorithms[i][1:]})
        fams += [("int8", a) for a in extra]
        if self.sparse:
            fams += [("int8", f"{SPARSE}{level}") for level in self.sparsities]
        if any("int4" in self.precisions[i] for i in self.weighted):
            fams.append(("int4", None))
        return fams

    def counts(self) -> dict:
        """Per family and ratio (0 and the largest), each op's instructions: by the board's
        cost table (cost.py) when it has every kernel they use, else measured on the board
        (cached by the model, the options and the C sources' hash)."""
        from .hil import hil

        runs = [(w, a, r) for w, a in self.families() for r in sorted({0.0, self.rmax})]
        if self.table is not None:
            out = {}
            target = Target.of(load_board(self.board))
            for w, a, r in self.progress.track(runs, "predicting instructions"):
                recipe = Recipe.from_dict(self.family_recipe(w, a, r))
                recipe.data = self.data
                conv = convert(self.model, self.name, recipe=recipe, target=target)
                total, per = cost.predict_instructions(conv, self.table)
                if total is None:
                    lacking = sorted({L.kernel for L in conv.layers} - set(self.table["kernels"]))
                    self.costs = f"board (the cost table has no {', '.join(lacking)})"
                    self.table = None
                    break
                out[_count_key(w, a, r)] = {str(s): v for s, v in per.items()}
            else:
                return out
        key = hashlib.sha256(
            self.model + json.dumps([self.board, runs]).encode() + native.source_hash().encode()
        ).hexdigest()[:16]
        path = BUILD_DIR / "search" / f"{self.name}-{key}.json"
        if path.is_file():
            return json.loads(path.read_text())
        out = {}
        for w, a, r in self.progress.track(runs, "measuring on the board"):
            recipe = Recipe.from_dict(self.family_recipe(w, a, r))
            res = hil(self.model, self.board, n_inputs=1, name=self.name, recipe=recipe)
            if res["mismatches"]:
                raise SearchError(f"{self.name}: the board's output differs from the host's")
            out[_count_key(w, a, r)] = {str(L["source"]): L["instructions"] for L in res["layers"]}
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(out))
        return out

    def outputs(self, recipe: dict) -> tuple[np.ndarray, bytes, object]:
        """The model's outputs (real values) over the data by the host engine, the blob."""
        return evaluate(self.model, self.name, recipe, self.x, self.data)

    def track_map(self, recipes: list[dict], what: str) -> list[np.ndarray]:
        """evaluate() on each recipe through the runner, in order, with progress."""
        return self.runner.map(
            evaluate_outputs,
            [(self.model, self.name, r, self.x, self.data) for r in recipes],
            self.progress,
            what,
        )

    def score(self, ys: np.ndarray) -> tuple[float, float | None, float | None]:
        """(MSE against the int8 model, SQNR dB, accuracy or None)."""
        err = float(((ys - self.ref) ** 2).mean())
        signal = float((self.ref**2).mean())
        sqnr = None if err == 0 else 10 * np.log10(max(signal, 1e-30) / err)
        acc = None
        if self.y is not None:
            acc = float((ys.reshape(len(ys), -1).argmax(1) == self.y).mean())
        return err, sqnr, acc

    def sensitivities(self) -> None:
        self.ref, _, _ = self.outputs(self.recipe({}, {}, {}))
        _, _, self.int8_accuracy = self.score(self.ref)
        self.loss_int4: dict[int, float] = {}
        self.loss_prune: dict[tuple[int, float], float] = {}
        self.loss_sparse: dict[tuple[int, float], float] = {}
        jobs = [("int4", i) for i in self.weighted if self.can_int4(i)]
        jobs += [("prune", (s, r)) for s, sp in enumerate(self.spaces) for r in sp.ratios[1:]]
        jobs += [("sparse", (i, lv)) for i in self.sparse for lv in self.sparsities]
        recipes = []
        for kind, what in jobs:
            if kind == "int4":
                recipes.append(self.recipe({what: "int4"}, {}, {}))
            elif kind == "prune":
                recipes.append(self.recipe({}, {}, dict([what])))
            else:
                i, lv = what
                recipes.append(self.recipe({}, {i: self.sparse[i]}, {}, {i: lv}))
        losses = {"int4": self.loss_int4, "prune": self.loss_prune, "sparse": self.loss_sparse}
        for (kind, what), ys in zip(
            jobs, self.track_map(recipes, "measuring sensitivities"), strict=True
        ):
            losses[kind][what] = self.score(ys)[0]

    # ---- costs -----------------------------------------------------------------------------

    def _fmt(self, i: int, weights: str, algorithm: str) -> str:
        kernels = native.table()["kernels"]
        op = self.ops[i]
        if weights == "int4":
            return "s4" if op.opcode == "DEPTHWISE_CONV_2D" else "s4_rows"
        for k in kernels.values():
            if k.op == kernels[self.layer_of[i].kernel].op and k.algorithm == algorithm:
                if layouts.SOURCE.get(k.weights) == "s8":
                    return k.weights
        return "s8"

    def _fraction(self, i: int, r_in: float, r_out: float) -> tuple[float, tuple]:
        """The fraction of layer i's MACs kept, and its weights' pruned shape."""
        op = self.ops[i]
        shape = list(self.graph.t(op.inputs[1]).shape)
        f = 1.0
        s_in, s_out = self.in_space[i], self.out_space[i]
        if op.opcode == "DEPTHWISE_CONV_2D":
            if s_in is not None and r_in > 0:
                k = self.spaces[s_in].kept(r_in)
                f = k / shape[-1]
                shape[-1] = k
            return f, tuple(shape)
        if s_out is not None and r_out > 0:
            k = self.spaces[s_out].kept(r_out)
            f *= k / shape[0]
            shape[0] = k
        if s_in is not None and r_in > 0:
            k = self.spaces[s_in].kept(r_in)
            f *= k / self.spaces[s_in].channels
            shape[-1] = int(round(shape[-1] * k / self.spaces[s_in].channels))
        return f, tuple(shape)

    def options(self, counts: dict) -> list[Option]:
        rmax = self.rmax
        out = []
        for i in self.weighted:
            op = self.ops[i]
            base = self.layer_of[i]
            w_full = self.graph.t(op.inputs[1]).shape
            consts = base.weight_bytes - _aligned(
                layouts.nbytes(self._fmt(i, self.precisions[i][0], self.natural[i]), w_full)
            )
            s_in, s_out = self.in_space[i], self.out_space[i]
            r_ins = self.spaces[s_in].ratios if s_in is not None else (0.0,)
            if op.opcode == "DEPTHWISE_CONV_2D":
                r_outs = None
            else:
                r_outs = self.spaces[s_out].ratios if s_out is not None else (0.0,)
            f_max, _ = self._fraction(
                i, rmax if s_in is not None else 0.0, rmax if s_out is not None else 0.0
            )
            # (weights, algorithm, its family (families()), block sparsity)
            variants = [
                (w, a, None if a == self.natural[i] else a, 0.0)
                for w in self.precisions[i]
                for a in (self.algorithms[i] if w == "int8" else [self.natural[i]])
            ]
            if i in self.sparse:
                variants += [
                    ("int8", self.sparse[i], f"{SPARSE}{lv}", lv) for lv in self.sparsities
                ]
            for w, a, fam, lv in variants:
                c0 = counts[_count_key(w, fam, 0.0)][str(i)]
                c1 = counts.get(_count_key(w, fam, rmax), {}).get(str(i), c0)
                for r_in in r_ins:
                    for r_out in r_outs if r_outs is not None else (r_in,):
                        f, shape = self._fraction(i, r_in, r_out)
                        ins = _between(c0, c1, f, f_max)
                        kept_out = (
                            f
                            if op.opcode == "DEPTHWISE_CONV_2D"
                            else (
                                self.spaces[s_out].kept(r_out) / self.spaces[s_out].channels
                                if s_out is not None
                                else 1.0
                            )
                        )
                        fmt = self._fmt(i, w, a)
                        size = _block4_bytes(shape, lv) if lv else layouts.nbytes(fmt, shape)
                        flash = _aligned(size) + consts * kept_out
                        loss = (
                            self.loss_int4.get(i, 0.0)
                            if w == "int4"
                            else self.loss_sparse.get((i, lv), 0.0)
                        )
                        out.append(Option(i, w, a, r_in, r_out, flash, ins, loss, lv))
        return out

    def space_costs(self, counts: dict) -> tuple[dict[tuple[int, float], float], float]:
        """Instructions of the ops without weights per (space, ratio), and those of the ops
        outside every space (constant)."""
        rmax = self.rmax
        c0 = counts[_count_key("int8", None, 0.0)]
        c1 = counts.get(_count_key("int8", None, rmax), c0)
        per: dict[tuple[int, float], float] = {}
        const = 0.0
        for i, s in self.space_ops.items():
            if str(i) not in c0:
                continue  # a view (RESHAPE): no op on the board
            a, b = c0[str(i)], c1.get(str(i), c0[str(i)])
            if s is None:
                const += a
                continue
            sp = self.spaces[s]
            fmax = sp.kept(rmax) / sp.channels
            for r in sp.ratios:
                f = sp.kept(r) / sp.channels
                per[(s, r)] = per.get((s, r), 0.0) + _between(a, b, f, fmax)
        return per, const


def _solve(
    p: Problem,
    opts: list[Option],
    space_ins,
    const_ins,
    flash: float | None,
    instructions: float | None,
    cuts: list[list[int]],
    lossless: bool = False,
    max_loss: float | None = None,
) -> list[int] | None:
    """The options (indices into opts) and ratios the program picks, or None: the least
    total error, or with `max_loss` (a cap on the total error) the fewest instructions;
    only options that lose nothing (int8 as stored, no channel pruned, no block zeroed)
    when `lossless`."""
    from scipy.optimize import Bounds, LinearConstraint, milp

    ys = [(s, r) for s, sp in enumerate(p.spaces) for r in sp.ratios]
    n = len(opts) + len(ys)
    yi = {k: len(opts) + j for j, k in enumerate(ys)}
    rows, lo, hi = [], [], []

    def row(entries: dict[int, float], a: float, b: float) -> None:
        v = np.zeros(n)
        for k, x in entries.items():
            v[k] += x
        rows.append(v)
        lo.append(a)
        hi.append(b)

    for i in p.weighted:
        row({k: 1 for k, o in enumerate(opts) if o.layer == i}, 1, 1)
    for s, sp in enumerate(p.spaces):
        row({yi[(s, r)]: 1 for r in sp.ratios}, 1, 1)
    for i in p.weighted:
        for which, s in (("r_in", p.in_space[i]), ("r_out", p.out_space[i])):
            if s is None:
                continue
            for r in p.spaces[s].ratios:
                e = {k: 1 for k, o in enumerate(opts) if o.layer == i and getattr(o, which) == r}
                e[yi[(s, r)]] = -1
                row(e, 0, 0)
    if flash is not None:
        row({k: o.flash for k, o in enumerate(opts)}, -np.inf, flash - p.overhead)
    if instructions is not None:
        e = {k: o.instructions for k, o in enumerate(opts)}
        for (s, r), c in space_ins.items():
            e[yi[(s, r)]] = c
        row(e, -np.inf, instructions - const_ins)
    for cut in cuts:  # not these choices together again
        row(dict.fromkeys(cut, 1), -np.inf, len(cut) - 1)
    loss = {k: o.loss for k, o in enumerate(opts)}
    loss.update({k: p.loss_prune.get(sr, 0.0) for sr, k in yi.items()})
    if max_loss is not None:
        row(loss, -np.inf, max_loss)
    scale = max([*loss.values(), 1e-30])
    c = np.zeros(n)
    fl = max(o.flash for o in opts) or 1.0
    ins = max(o.instructions for o in opts) or 1.0
    for k, o in enumerate(opts):
        if max_loss is None:
            # Ties (equal error) go to fewer instructions, then to fewer bytes: flash
            # the budget leaves is spent on speed.
            tie = 1e-4 * o.instructions / ins + 1e-7 * o.flash / fl
            c[k] = o.loss / scale + tie / len(p.weighted)
        else:  # the fewest instructions; ties to less error
            c[k] = o.instructions / ins + 1e-4 * o.loss / scale
    for (s, r), k in yi.items():
        if max_loss is None:
            c[k] = loss[k] / scale
        else:
            c[k] = space_ins.get((s, r), 0.0) / ins + 1e-4 * loss[k] / scale
    upper = np.ones(n)
    if lossless:
        for k, o in enumerate(opts):
            if (
                o.r_in > 0
                or o.r_out > 0
                or o.sparsity > 0
                or (o.weights == "int4" and p.can_int4(o.layer))
            ):
                upper[k] = 0
    res = milp(
        c,
        constraints=LinearConstraint(np.array(rows), lo, hi),
        integrality=np.ones(n),
        bounds=Bounds(0, upper),
    )
    if res.x is None:
        return None
    return [k for k in range(n) if res.x[k] > 0.5]


class _Quiet:
    def track(self, seq, what, total=None):
        return seq


def search(
    model: bytes,
    name: str,
    data,
    board: str,
    flash: int | None = None,
    ram: int | None = None,
    instructions: int | None = None,
    min_accuracy: float | None = None,
    ratios=RATIOS,
    pareto: int = 6,
    verify_on_board: bool = False,
    progress=None,
    workers: int = 1,
    cluster=None,
    energy: float | None = None,
    calibration=None,
    costs: str = "table",
    sparsities=SPARSITIES,
    minimize: str = "error",
    min_sqnr: float | None = None,
) -> dict:
    """The search (module text) on the data at path `data` (an .npz: compress.load_data;
    None: random inputs, output error only), calibrating on the one at `calibration`
    (default: `data`); the result as a dict (the CLI's --json).
    The sensitivities and the Pareto front's picks are measured by `workers` local
    processes, or on a Dask `cluster`
    (Runner). `energy` (µJ, the board's estimate: boards.Board.energy_uj) is a budget of
    instructions."""
    t0 = time.monotonic()
    progress = progress or _Quiet()
    load_board(board)  # a clear error for an unknown board, before any work
    bad = [r for r in ratios if not 0 < r < 1]
    if bad:
        raise SearchError(f"--ratios: {bad[0]} is not a fraction in (0, 1)")
    bad = [s for s in sparsities if not 0 < s < 1]
    if bad:
        raise SearchError(f"--sparsities: {bad[0]} is not a fraction in (0, 1)")
    if costs not in COSTS:
        raise SearchError(f"--costs {costs}: one of {', '.join(COSTS)}")
    if minimize not in OBJECTIVES:
        raise SearchError(f"--minimize {minimize}: one of {', '.join(OBJECTIVES)}")
    if minimize == "energy" and min_accuracy is None and min_sqnr is None:
        raise SearchError(
            "--minimize energy: say how good the pick must be: --min-accuracy (with "
            "labels) or --min-sqnr"
        )
    b = load_board(board)
    if energy is not None:
        per = b.energy_uj(1.0)
        if per is None:
            raise SearchError(f"--energy: board {board} has no energy model (board.json 'energy')")
        # Energy is linear in instructions (boards.Board.energy_uj): a budget of them.
        cap = int(energy / per)
        instructions = cap if instructions is None else min(instructions, cap)
    ratios = tuple(sorted(set(ratios)))
    with Runner(workers, cluster) as runner:
        p = Problem(
            model, name, data, board, ratios, progress, runner, calibration, costs, sparsities
        )
        counts = p.counts()
        p.sensitivities()
        opts = p.options(counts)
        space_ins, const_ins = p.space_costs(counts)
        target = Target.of(load_board(board))

        def predict(picked: list[int]) -> tuple[int, int]:
            ins = const_ins + sum(opts[k].instructions for k in picked if k < len(opts))
            fl = p.overhead + sum(opts[k].flash for k in picked if k < len(opts))
            ys = [(s, r) for s, sp in enumerate(p.spaces) for r in sp.ratios]
            ins += sum(space_ins.get(ys[k - len(opts)], 0.0) for k in picked if k >= len(opts))
            return int(round(ins)), int(round(fl))

        def recipe_of(picked: list[int]) -> dict:
            chosen = [opts[k] for k in picked if k < len(opts)]
            ys = [(s, r) for s, sp in enumerate(p.spaces) for r in sp.ratios]
            ratios_ = dict(ys[k - len(opts)] for k in picked if k >= len(opts))
            return p.recipe(
                {o.layer: o.weights for o in chosen},
                {o.layer: o.algorithm for o in chosen},
                ratios_,
                {o.layer: o.sparsity for o in chosen if o.sparsity},
            )

        def realise(picked: list[int], out: np.ndarray | None = None) -> Pick:
            """The pick converted and measured (its outputs `out` if already measured)."""
            chosen = [opts[k] for k in picked if k < len(opts)]
            recipe = recipe_of(picked)
            if out is None:
                out, _, _ = p.outputs(recipe)
            mse, sqnr, acc = p.score(out)
            conv = convert(p.model, p.name, recipe=Recipe.from_dict(recipe), target=target)
            ins, fl = predict(picked)
            if p.table is not None:  # the pick as converted, by the table
                ins = int(round(cost.predict_instructions(conv, p.table)[0]))
                if ram is not None and conv.arena_size > ram:
                    # Over the RAM budget: the first stage band by band (patches.py)
                    # may fit, for the rows it computes again (the table counts them).
                    banded = {**recipe, "patches": "auto"}
                    c2 = convert(p.model, p.name, recipe=Recipe.from_dict(banded), target=target)
                    i2 = cost.predict_instructions(c2, p.table)[0]
                    if (
                        c2.arena_size < conv.arena_size
                        and i2 is not None
                        and (instructions is None or i2 <= instructions)
                    ):
                        recipe, conv, ins = banded, c2, int(round(i2))
            layers = [
                {
                    "op": o.layer,
                    "weights": o.weights,
                    "algorithm": o.algorithm,
                    "prune_in": o.r_in,
                    "prune_out": o.r_out,
                    "sparsity": o.sparsity,
                    "flash": int(o.flash),
                    "instructions": int(o.instructions),
                }
                for o in chosen
            ]
            return Pick(recipe, len(conv.blob), conv.arena_size, ins, fl, mse, sqnr, acc, layers)

        def first(flash_budget) -> list[int] | None:
            return _solve(p, opts, space_ins, const_ins, flash_budget, instructions, [])

        def meets(pick: Pick, flash_budget) -> bool:
            """The pick is within the budgets measured whole (RAM, flash) and as good as
            asked (accuracy with labels, SQNR: None when exact)."""
            return (
                (ram is None or pick.arena_bytes <= ram)
                and (flash_budget is None or pick.flash_bytes <= flash_budget)
                and (min_accuracy is None or pick.accuracy is None or pick.accuracy >= min_accuracy)
                and (min_sqnr is None or pick.sqnr_db is None or pick.sqnr_db >= min_sqnr)
            )

        def least_energy() -> Pick | None:
            """The pick with the fewest instructions that meets the budgets and the
            quality: the program with a cap on the total error, bisected over the cap."""
            top = sum(max(o.loss for o in opts if o.layer == i) for i in p.weighted)
            top += sum(max(p.loss_prune.get((s, r), 0.0) for r in sp.ratios)
                       for s, sp in enumerate(p.spaces))  # fmt: skip
            lo, hi, found = 0.0, top, None
            for step in range(BISECTIONS + 1):
                cap = hi if step == 0 else (lo + hi) / 2
                picked = _solve(p, opts, space_ins, const_ins, flash, instructions, [],
                                max_loss=cap)  # fmt: skip
                pick = None if picked is None else realise(picked)
                if pick is not None and meets(pick, flash):
                    if found is None or pick.predicted_instructions < found.predicted_instructions:
                        found = pick
                    if step == 0:
                        break  # the loosest cap is good enough
                    lo = cap
                else:
                    hi = cap
            if found is None:  # nothing lossy is good enough: the least error
                found = best(flash)
            return found

        def best(flash_budget, measured=None) -> Pick | None:
            """The pick for the budget; `measured`: (the program's first pick, its
            outputs), measured already."""
            cuts: list[list[int]] = []
            for k in range(MAX_CUTS):
                if k == 0 and measured is not None:
                    picked, out = measured
                else:
                    picked = _solve(p, opts, space_ins, const_ins, flash_budget, instructions, cuts)
                    out = None
                if picked is None:
                    return None
                pick = realise(picked, out)
                if meets(pick, flash_budget):
                    return pick
                over_ram = ram is not None and pick.arena_bytes > ram
                # Not this pick again; over the RAM budget, not these channel counts
                # either (they size the activations) when the model has spaces.
                ratios_ = [k for k in picked if k >= len(opts)]
                cuts.append(ratios_ if over_ram and ratios_ else picked)
            return None

        chosen = least_energy() if minimize == "energy" else best(flash)
        # The Pareto front: flash budgets from the least the options allow to the most a
        # lossless pick can use (the fastest one: prepared layouts cost flash).
        least = _solve(p, [replace_loss(o, "flash") for o in opts], space_ins, const_ins,
                       None, None, [])  # fmt: skip
        fastest = _solve(p, [replace_loss(o, "instructions") for o in opts], space_ins,
                         const_ins, None, None, [], lossless=True)  # fmt: skip
        lo_flash = predict(least)[1] if least else len(p.base.blob)
        hi_flash = max(len(p.base.blob), predict(fastest)[1] if fastest else 0)
        # Each budget's first pick measured through the runner (local processes or Dask,
        # like the sensitivities); a pick the budgets cut off is solved again here.
        budgets = [float(fb) * 1.02 for fb in np.linspace(lo_flash, hi_flash, max(pareto, 0))]
        firsts = [first(fb) for fb in budgets]
        todo = [k for k, f in enumerate(firsts) if f is not None]
        outs = p.track_map([recipe_of(firsts[k]) for k in todo], "measuring the Pareto front")
        measured = dict(zip(todo, outs, strict=True))
        front = []
        for k, fb in enumerate(budgets):
            pk = best(fb, (firsts[k], measured[k])) if k in measured else None
            if pk is not None and all(_key(pk) != _key(q) for q in front):
                front.append(pk)
        front = [a for a in front if not any(_dominates(b, a) for b in front)]
        front.sort(key=lambda q: q.flash_bytes)
        measured = {}
        if verify_on_board and chosen is not None:
            from .hil import hil

            r = hil(p.model, board, n_inputs=3, name=name, recipe=Recipe.from_dict(chosen.recipe))
            measured = {
                "measured_instructions": r["instructions"],
                # board = host engine, and host engine = the recipe's .tflite in the golden
                "bit_exact": not r["mismatches"] and not r["reference_mismatches"],
                "reference_mismatches": r["reference_mismatches"],
                "prediction_error": round(chosen.predicted_instructions / r["instructions"] - 1, 4),
            }
        return {
            "model": name,
            "board": board,
            "budgets": {
                "flash": flash,
                "ram": ram,
                "instructions": instructions,
                "min_accuracy": min_accuracy,
                "min_sqnr": min_sqnr,
            },
            "minimize": minimize,
            "costs": p.costs,
            "cost_table_stale": None if p.table is None else p.table["stale"],
            "int8_accuracy": p.int8_accuracy,
            "int8_flash_bytes": len(p.base.blob),
            "found": chosen is not None,
            **(
                {}
                if chosen is None
                else {
                    "accuracy": chosen.accuracy,
                    "sqnr_db": chosen.sqnr_db,
                    "mse": chosen.mse,
                    "flash_bytes": chosen.flash_bytes,
                    "arena_bytes": chosen.arena_bytes,
                    "predicted_instructions": chosen.predicted_instructions,
                    "energy_uj_estimate": _uj(board, chosen.predicted_instructions),
                    "predicted_flash_bytes": chosen.predicted_flash,
                    "recipe": chosen.recipe,
                    "layers": chosen.layers,
                    **measured,
                }
            ),
            "pareto": [
                {
                    **{k: v for k, v in asdict(q).items() if k != "layers"},
                    "energy_uj_estimate": _uj(board, q.predicted_instructions),
                }
                for q in front
            ],
            "options": len(opts),
            "spaces": [asdict(s) for s in p.spaces],
            "seconds": round(time.monotonic() - t0, 1),
        }


def _uj(board: str, instructions: int) -> float | None:
    e = load_board(board).energy_uj(instructions)
    return None if e is None else round(e, 1)


def _key(q: Pick) -> tuple:
    return (q.flash_bytes, q.predicted_instructions, q.mse)


def replace_loss(o: Option, what: str) -> Option:
    """The option with its flash or instructions as its loss: the program then finds the
    smallest blob, or (lossless) the fastest pick."""
    from dataclasses import replace

    return replace(o, loss=getattr(o, what))


def _dominates(a: Pick, b: Pick) -> bool:
    qa = a.accuracy if a.accuracy is not None else -a.mse
    qb = b.accuracy if b.accuracy is not None else -b.mse
    no_worse = (
        a.flash_bytes <= b.flash_bytes
        and a.predicted_instructions <= b.predicted_instructions
        and qa >= qb
    )
    better = (
        a.flash_bytes < b.flash_bytes
        or a.predicted_instructions < b.predicted_instructions
        or qa > qb
    )
    return no_worse and better


def plot(result: dict, path) -> None:
    """Accuracy (or SQNR) against flash for the Pareto front, coloured by instructions."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pts = result["pareto"]
    fig, ax = plt.subplots(figsize=(7, 4.5))
    labelled = result.get("int8_accuracy") is not None
    ys = [(q["accuracy"] * 100 if labelled else (q["sqnr_db"] or 99.0)) for q in pts]
    xs = [q["flash_bytes"] / 1024 for q in pts]
    sc = ax.scatter(
        xs, ys, c=[q["predicted_instructions"] / 1e6 for q in pts], cmap="viridis", s=60
    )
    ax.plot(xs, ys, color="grey", lw=0.8, zorder=0)
    fig.colorbar(sc, label="instructions (M, predicted)")
    if labelled:
        ax.axhline(result["int8_accuracy"] * 100, color="red", ls="--", lw=0.8, label="int8")
        ax.legend()
    ax.set_xlabel("blob (KiB)")
    ax.set_ylabel("accuracy (%)" if labelled else "output SQNR vs int8 (dB)")
    ax.set_title(f"{result['model']} on {result['board']}: Pareto front")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
