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
    except ConvertError as e:
        text = str(e)
        raise ConvertError(text if text.startswith(f"{name}:") else f"{name}: {text}") from None
    except B.BlobError as e:
        raise ConvertError(f"{name}: {e}") from None
    return Converted(c.blob, c.graph, c.layers, c.tensor_ids, c.arena_size)
