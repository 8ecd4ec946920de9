"""Per-layer choices as data: a recipe (JSON) that `convert`, `verify`, `hil` and
`validate` take with --recipe, and that `microai search` writes.

    {"layers": {"3": {"algorithm": "im2col"},
                "conv2d_1/Relu": {"weights": "int4", "prune": 0.25}}}

A layer is named by its op's index in the .tflite ("3") or by its output tensor's name.
Fields: `weights` ("int8" keeps the model's weights; "int4" makes them int4 as
`microai compress --weights int4 --layers L` does, without calibration data),
`prune` (a CONV_2D's or FULLY_CONNECTED's fraction of output channels removed, as
`microai compress --prune-channels R --layers L` does without data: the whole channel
space the layer starts, its consumers losing the matching inputs), `sparsity` (a
CONV_2D's or FULLY_CONNECTED's fraction of blocks of 4 input channels zeroed, the
smallest first, as `microai compress --sparsity S --layers L` does; its int8 weights
only) and `algorithm` ("auto", or one of the C table's algorithms for the op, e.g.
"im2col", "winograd", "pointwise", "3x3", "direct", "pointwise_sparse"). Pruning comes
first, then sparsity, then int4, all on the .tflite (a standard model), then the
conversion; the same recipe always gives the same blob.
With "calibration": "data.npz" beside "layers" (a path relative to the recipe's file),
both use that data as `microai compress --data` does (channels ranked by their
activations, the removed ones' mean folded into the consumers' bias; int4 scales and
bias corrected on it); without, the weights alone.
With "patches" beside "layers", the network's first stage runs band by band
(passes/patches.py: smaller activations live at once, a few rows recomputed where bands
meet): "off" (the default), "auto" (among the splits that recompute at most a tenth
of the model's MACs, the one that gives the smallest arena, then the fewest extra MACs;
none when no split shrinks it), or
{"through": LAYER, "bands": N} (the stage ends at that layer, N bands of its output).
A field a layer cannot take is an error naming the layer, the field and why; the passes
read the recipe, never flags of their own.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from . import MAX_FILE_BYTES, InputError
from .ir import Graph, Op

FIELDS = ("weights", "algorithm", "prune", "sparsity")
# The fields that are fractions of a CONV_2D's or FULLY_CONNECTED's: (what another op
# lacks, what they are a fraction of).
FRACTIONS = {
    "prune": ("starts no channels to prune", "output channels"),
    "sparsity": ("has no blocks of weights to zero", "blocks"),
}
WEIGHTS = ("int8", "int4")
PRUNED = ("CONV_2D", "FULLY_CONNECTED")  # the ops whose output channels a recipe prunes
WEIGHTED = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")


class RecipeError(InputError):
    pass


@dataclass
class Recipe:
    layers: dict[str, dict] = field(default_factory=dict)
    source: str = "recipe"
    # Calibration data (an .npz, compress.load_data's) for the recipe's pruning and int4
    # weights: importance by activations and bias compensation, as `microai compress
    # --data` does; a path, relative to the recipe file's folder when read from one.
    calibration: str | None = None
    # What microai chose for layers left at "auto" (op index -> algorithm), for a target
    # (passes/choose_layouts.py); never read from a file.
    chosen: dict[int, str] = field(default_factory=dict)
    # The calibration data itself ((x, y) arrays), when given in memory: used instead of
    # reading `calibration` (a worker of `microai search` on another machine).
    data: tuple | None = field(default=None, compare=False, repr=False)
    # Patch-based execution of the first stage: "off", "auto" or {"through", "bands"}.
    patches: str | dict = "off"

    def choose(self, chosen: dict[int, str]) -> Recipe:
        """This recipe with microai's choices for some of its "auto" layers."""
        return Recipe(
            self.layers,
            self.source,
            self.calibration,
            {**self.chosen, **chosen},
            self.data,
            self.patches,
        )

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
        recipe = cls.from_dict(data, str(path))
        if recipe.calibration is not None:
            recipe.calibration = str(path.parent / recipe.calibration)
        return recipe

    @classmethod
    def from_dict(cls, data, source: str = "recipe") -> Recipe:
        if not isinstance(data, dict) or set(data) - {"layers", "calibration", "patches"}:
            raise RecipeError(
                f'{source}: a recipe is {{"layers": {{layer: {{field: value}}}}}} '
                'and optionally "calibration": "data.npz" and "patches"'
            )
        patches = data.get("patches", "off")
        if not (
            patches in ("off", "auto")
            or isinstance(patches, dict)
            and set(patches) == {"through", "bands"}
            and isinstance(patches["through"], (str, int))
            and not isinstance(patches["through"], bool)
            and type(patches["bands"]) is int
            and patches["bands"] >= 2
        ):
            raise RecipeError(
                f'{source}: patches {patches!r}: "off", "auto" or {{"through": LAYER, '
                '"bands": N} (N >= 2)'
            )
        cal = data.get("calibration")
        if cal is not None and not isinstance(cal, str):
            raise RecipeError(f"{source}: 'calibration' must be the path of an .npz")
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
        return cls({str(k): dict(v) for k, v in layers.items()}, source, cal, patches=patches)

    def _fields(self, graph: Graph, op: Op) -> dict:
        out = {}
        for key in (str(op.index), *(graph.t(t).name for t in op.outputs)):
            out.update(self.layers.get(key, {}))
        return out

    @staticmethod
    def _by_key(graph: Graph) -> dict[str, Op]:
        by_key = {str(op.index): op for op in graph.ops}
        by_key.update({graph.t(t).name: op for op in graph.ops for t in op.outputs})
        return by_key

    def layer(self, graph: Graph, key: str, by_key: dict[str, Op] | None = None) -> Op:
        """The op a recipe's layer key names: its index in the .tflite or its output's
        name (`by_key`: _by_key(graph), when already made)."""
        op = (by_key or self._by_key(graph)).get(str(key))
        if op is None:
            raise RecipeError(
                f"{self.source}: no layer {key!r} in the model (name a layer by its op "
                f"index 0..{len(graph.ops) - 1} or its output tensor's name)"
            )
        return op

    def check(self, graph: Graph, ops: list[Op]) -> None:
        """Every layer the recipe names exists; every value is one microai has."""
        by_key = self._by_key(graph)
        for key, fields in self.layers.items():
            op = self.layer(graph, key, by_key)
            if "weights" in fields and op.opcode not in WEIGHTED:
                raise RecipeError(
                    f"{self.source}: layer {key!r}: weights: a {op.opcode} has no weights"
                )
            w = fields.get("weights", "int8")
            if w not in WEIGHTS:
                raise RecipeError(
                    f"{self.source}: layer {key!r}: weights {w!r}: this microai stores "
                    f"weights as {', '.join(WEIGHTS)} only"
                )
            if not isinstance(fields.get("algorithm", "auto"), str):
                raise RecipeError(f"{self.source}: layer {key!r}: algorithm must be a string")
            for name, (none, what) in FRACTIONS.items():
                if name not in fields:
                    continue
                r = fields[name]
                if op.opcode not in PRUNED:
                    raise RecipeError(
                        f"{self.source}: layer {key!r}: {name}: a {op.opcode} {none} "
                        f"({', '.join(PRUNED)} do)"
                    )
                if isinstance(r, bool) or not isinstance(r, (int, float)) or not 0 <= r < 1:
                    raise RecipeError(
                        f"{self.source}: layer {key!r}: {name} {r!r}: a fraction of the "
                        f"{what} in [0, 1)"
                    )
            if fields.get("sparsity", 0) > 0 and w == "int4":
                raise RecipeError(
                    f"{self.source}: layer {key!r}: sparsity with int4 weights: the "
                    "block-sparse kernels read int8 weights"
                )

    def compression(self, graph: Graph) -> tuple[dict[int, float], dict[int, float], list[int]]:
        """What the recipe asks of the .tflite before conversion: {op index: fraction of
        output channels to prune}, {op index: fraction of blocks to zero} and the op
        indices whose weights become int4."""
        self.check(graph, graph.ops)
        prune, sparsity, int4 = {}, {}, []
        for op in graph.ops:
            fields = self._fields(graph, op)
            if fields.get("prune", 0) > 0:
                prune[op.index] = float(fields["prune"])
            if fields.get("sparsity", 0) > 0:
                sparsity[op.index] = float(fields["sparsity"])
            if fields.get("weights", "int8") == "int4":
                int4.append(op.index)
        return prune, sparsity, int4

    def algorithm(self, graph: Graph, op: Op) -> str:
        asked = self._fields(graph, op).get("algorithm", "auto")
        return self.chosen.get(op.index, asked) if asked == "auto" else asked

    def model(self, model: bytes, name: str = "model") -> bytes:
        """The .tflite the recipe asks for: `model` with its layers pruned (each at its
        fraction, in op order), then its sparse layers' blocks zeroed, then its int4
        layers compressed, on the calibration data when the recipe names some; `model`
        itself when the recipe asks none of them."""
        from .prune import prune_channels
        from .tflite import read_model

        graph = read_model(model, name)
        prune, sparsity, int4 = self.compression(graph)
        if not prune and not sparsity and not int4:
            return model
        data = self.data
        if data is None and self.calibration is not None:
            from .compress import load_data

            data = load_data(self.calibration, graph)
        for index, ratio in sorted(prune.items()):
            result = prune_channels(model, name, ratio, [str(index)], data=data, measured=False)
            for space in result.spaces:
                if index in space.producers and space.reason is not None:
                    raise RecipeError(
                        f"{self.source}: layer '{index}': prune {ratio}: its channels cannot "
                        f"be pruned ({space.reason})"
                    )
            model = result.model
        if sparsity:
            from .sparsify import block_sparsify

            for index, s in sorted(sparsity.items()):
                model = block_sparsify(model, s, 4, [str(index)], name, measured=False).model
        if int4:
            from .compress import compress

            graph = read_model(model, name)
            ops = {op.index: op for op in graph.ops}
            todo = [str(i) for i in int4 if graph.t(ops[i].inputs[1]).storage != "s4"]
            if todo:
                model = compress(model, name, "int4", todo, data=data, measured=False).model
        return model
