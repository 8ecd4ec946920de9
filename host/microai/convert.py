"""TFLite model -> blob: read the model, then the passes (passes/), in order.

aliases (RESHAPE and SQUEEZE become views), lower (ops/), choose_kernels (from the C
table, honouring the recipe), build (tensors, ops, costs), plan (one arena, an
elementwise op's output over an input that dies there), pack (checked by the C
loader). The result keeps the map from the model's tensors to the blob's, so
verification can compare every intermediate tensor.

A recipe that prunes layers or makes their weights int4 (recipe.py) first rewrites
the .tflite as `microai compress` would. For a target (a board: its core and the bytes
its blob may have), the model is
converted once with standard weights, then again with the layers choose_layouts picks
reading weights prepared for that core, within the budget.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from . import blob as B
from .boards import Target
from .golden import DEFAULT_GOLDEN
from .ir import ConvertError, Graph
from .passes import Compilation, Layer
from .passes import run as run_passes
from .recipe import Recipe
from .tflite import read_model

__all__ = ["Converted", "Layer", "convert"]


@dataclass
class Converted:
    blob: bytes
    graph: Graph
    layers: list[Layer]
    tensor_ids: dict[int, int] = field(default_factory=dict)  # model tensor -> blob tensor
    arena_size: int = 0
    # The first stage run in bands (passes/patches.py): {"through": its last layer's op
    # index, "bands": n, "extra_macs": MACs recomputed where bands meet}; None if not.
    patches: dict | None = None
    # The .tflite converted: the model as its recipe rewrote it (pruned, sparse, int4:
    # a standard model, its own golden), else the model itself.
    tflite: bytes = b""


def convert(
    model: bytes,
    name: str = "model",
    golden: str = DEFAULT_GOLDEN,
    recipe: Recipe | None = None,
    target: Target | None = None,
) -> Converted:
    """The blob for a .tflite model, for `golden`'s arithmetic, the recipe's per-layer
    choices and, with a target, the weights layouts that pay on it; ConvertError (one
    message naming the model and the op, tensor or limit at fault) for anything microai
    cannot run."""
    from .passes import choose_layouts

    recipe = recipe or Recipe()
    try:
        model = recipe.model(model, name)  # pruned and int4 layers, when it asks
        c = run_passes(Compilation(read_model(model, name), name, golden, recipe))
        chosen = choose_layouts.choose(c, target) if target is not None else {}
        if chosen:
            recipe = recipe.choose(chosen)
            c = run_passes(Compilation(read_model(model, name), name, golden, recipe))
        c, ordered = _order(model, name, golden, recipe, c)
        c, patched = _patches(model, name, golden, recipe, c, ordered)
    except ConvertError as e:
        text = str(e)
        raise ConvertError(text if text.startswith(f"{name}:") else f"{name}: {text}") from None
    except B.BlobError as e:
        raise ConvertError(f"{name}: {e}") from None
    return Converted(c.blob, c.graph, c.layers, c.tensor_ids, c.arena_size, patched, model)


BANDS = (2, 3, 4, 6, 8, 12, 16)  # the numbers of bands "auto" tries
STAGES = 3  # ... on the shortest stages holding the op where the most bytes live
MAX_EXTRA = 0.1  # ... recomputing at most this fraction of the model's MACs


def _macs(c: Compilation) -> int:
    return sum(L.macs for L in c.layers)


def _order(model: bytes, name: str, golden: str, recipe: Recipe, c: Compilation):
    """c, or the conversion with its ops in another order the graph allows
    (passes/order.py) when that plans a smaller arena; and that order (None: the
    model's)."""
    from .passes import order

    alt = order.best(c)  # c.ops: the model's ops after aliases, in the model's order
    if alt is None:
        return c, None
    t = run_passes(Compilation(read_model(model, name), name, golden, recipe, order=alt))
    return (t, alt) if t.arena_size < c.arena_size else (c, None)


def _patches(model: bytes, name: str, golden: str, recipe: Recipe, c: Compilation, ordered=None):
    """c, or the conversion with the recipe's first stage in bands (recipe.patches),
    and what was split; the ops in the order `ordered` (None: the model's)."""
    from .passes import patches

    spec = recipe.patches
    if spec == "off":
        return c, None
    ks = patches.stages(c)  # c.ops: after aliases, in the order `ordered`
    if isinstance(spec, dict):
        op = recipe.layer(c.graph, spec["through"])
        # By index: aliases may have replaced the op (a PAD folded into it).
        k = next((k for k in ks if c.ops[k].index == op.index), None)
        if k is None:
            raise ConvertError(
                f"{recipe.source}: patches through {c.describe(op)}: ops 0 to it "
                "are not a stage microai runs in bands (CONV_2D, DEPTHWISE_CONV_2D and ADD "
                "on 4-D int8 tensors of batch 1, only the last op's output read after them)"
            )
        rows = c.graph.t(op.outputs[0]).shape[1]
        if spec["bands"] > rows:
            raise ConvertError(
                f"{recipe.source}: patches: {spec['bands']} bands, but layer "
                f"{spec['through']}'s output has {rows} row(s)"
            )
        trials = [(k, spec["bands"])]
    else:
        from .inspect import describe

        peak = describe(c.blob)["memory"]["peak_op"]
        ks = [k for k in ks if k >= peak][:STAGES]
        rows = {k: c.graph.t(c.ops[k].outputs[0]).shape[1] for k in ks}
        trials = [(k, n) for k in ks for n in BANDS if n <= rows[k]]
    best, done = None, None
    for k, n in trials:
        t = Compilation(read_model(model, name), name, golden, recipe, order=ordered, patch=(k, n))
        try:
            t = run_passes(t)
        except ConvertError:
            if spec != "auto":
                raise
            continue  # a band a layer's kernel cannot take: another split may do
        if spec == "auto" and _macs(t) - _macs(c) > MAX_EXTRA * _macs(c):
            continue
        if best is None or (t.arena_size, _macs(t)) < (best.arena_size, _macs(best)):
            best, done = t, (c.ops[k].index, n)
    if best is None or (spec == "auto" and best.arena_size >= c.arena_size):
        return c, None
    return best, {"through": done[0], "bands": done[1], "extra_macs": _macs(best) - _macs(c)}
