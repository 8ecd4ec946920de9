"""Per-layer choices as data: a recipe (JSON) that `convert`, `verify` and `hil` take
with --recipe, and that `microai search` will write.

    {"layers": {"3": {"algorithm": "im2col"},
                "conv2d_1/Relu": {"weights": "int8", "algorithm": "auto"}}}

A layer is named by its op's index in the .tflite ("3") or by its output tensor's name.
Fields: `weights` (the weights' storage: "int8") and `algorithm` ("auto", or one of the
C table's algorithms for the op, e.g. "im2col", "pointwise", "3x3", "direct"). A field a
layer cannot take is an error naming the layer, the field and why; the passes read the
recipe, never flags of their own.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from . import MAX_FILE_BYTES, InputError
from .ir import Graph, Op

FIELDS = ("weights", "algorithm")
WEIGHTS = ("int8",)
WEIGHTED = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")


class RecipeError(InputError):
    pass


@dataclass
class Recipe:
    layers: dict[str, dict] = field(default_factory=dict)
    source: str = "recipe"
    # What microai chose for layers left at "auto" (op index -> algorithm), for a target
    # (passes/choose_layouts.py); never read from a file.
    chosen: dict[int, str] = field(default_factory=dict)

    def choose(self, chosen: dict[int, str]) -> Recipe:
        """This recipe with microai's choices for some of its "auto" layers."""
        return Recipe(self.layers, self.source, {**self.chosen, **chosen})

    @classmethod
    def load(cls, path: Path | str | None) -> Recipe:
        if path is None:
            return cls()
        path = Path(path)
        try:
            if path.stat().st_size > MAX_FILE_BYTES:
                raise RecipeError(f"{path}: bigger than {MAX_FILE_BYTES:,} bytes")
            data = json.loads(path.read_text())
        except OSError as e:
            raise RecipeError(f"{path}: cannot read the recipe ({e.strerror})") from None
        except (ValueError, UnicodeDecodeError) as e:
            raise RecipeError(f"{path}: not JSON ({e})") from None
        return cls.from_dict(data, str(path))

    @classmethod
    def from_dict(cls, data, source: str = "recipe") -> Recipe:
        if not isinstance(data, dict) or set(data) - {"layers"}:
            raise RecipeError(f'{source}: a recipe is {{"layers": {{layer: {{field: value}}}}}}')
        layers = data.get("layers", {})
        if not isinstance(layers, dict):
            raise RecipeError(f"{source}: 'layers' must map layer names or indices to fields")
        for key, fields in layers.items():
            if not isinstance(fields, dict):
                raise RecipeError(f"{source}: layer {key!r}: fields must be an object")
            unknown = set(fields) - set(FIELDS)
            if unknown:
                raise RecipeError(
                    f"{source}: layer {key!r}: unknown field {sorted(unknown)[0]!r} "
                    f"(fields: {', '.join(FIELDS)})"
                )
        return cls({str(k): dict(v) for k, v in layers.items()}, source)

    def _fields(self, graph: Graph, op: Op) -> dict:
        out = {}
        for key in (str(op.index), *(graph.t(t).name for t in op.outputs)):
            out.update(self.layers.get(key, {}))
        return out

    def check(self, graph: Graph, ops: list[Op]) -> None:
        """Every layer the recipe names exists; every value is one microai has."""
        by_key = {str(op.index): op for op in graph.ops}
        by_key.update({graph.t(t).name: op for op in graph.ops for t in op.outputs})
        for key, fields in self.layers.items():
            op = by_key.get(key)
            if op is None:
                raise RecipeError(
                    f"{self.source}: no layer {key!r} in the model (name a layer by its op "
                    f"index 0..{len(graph.ops) - 1} or its output tensor's name)"
                )
            if "weights" in fields and op.opcode not in WEIGHTED:
                raise RecipeError(
                    f"{self.source}: layer {key!r}: weights: a {op.opcode} has no weights"
                )
            w = fields.get("weights", "int8")
            if w == "int4":
                raise RecipeError(
                    f"{self.source}: layer {key!r}: weights 'int4': a recipe keeps the "
                    "model's weights; make int4 ones with `microai compress --weights int4 "
                    f"--layers {key}` (a standard .tflite), then convert that"
                )
            if w not in WEIGHTS:
                raise RecipeError(
                    f"{self.source}: layer {key!r}: weights {w!r}: this microai stores "
                    f"weights as {', '.join(WEIGHTS)} only"
                )
            if not isinstance(fields.get("algorithm", "auto"), str):
                raise RecipeError(f"{self.source}: layer {key!r}: algorithm must be a string")

    def algorithm(self, graph: Graph, op: Op) -> str:
        asked = self._fields(graph, op).get("algorithm", "auto")
        return self.chosen.get(op.index, asked) if asked == "auto" else asked

    def weights(self, graph: Graph, op: Op) -> str:
        return self._fields(graph, op).get("weights", "int8")
