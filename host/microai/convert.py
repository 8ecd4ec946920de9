"""TFLite model -> blob: read the model, then the passes (passes/), in order.

aliases (RESHAPE and SQUEEZE become views), lower (ops/), choose_kernels (from the C
table, honouring the recipe), build (tensors, ops, costs), plan (one arena, an
elementwise op's output over an input that dies there), pack (checked by the C
loader). The result keeps the map from the model's tensors to the blob's, so
verification can compare every intermediate tensor.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from . import blob as B
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
) -> Converted:
    """The blob for a .tflite model, for `golden`'s arithmetic and the recipe's
    per-layer choices; ConvertError (one message naming the model and the op, tensor or
    limit at fault) for anything microai cannot run."""
    try:
        c = Compilation(read_model(model, name), name, golden, recipe or Recipe())
        c = run_passes(c)
    except ConvertError as e:
        text = str(e)
        raise ConvertError(text if text.startswith(f"{name}:") else f"{name}: {text}") from None
    except B.BlobError as e:
        raise ConvertError(f"{name}: {e}") from None
    return Converted(c.blob, c.graph, c.layers, c.tensor_ids, c.arena_size)
