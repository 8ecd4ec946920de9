"""The converter's passes, one file each, run in order by `convert` (PIPELINE).

Each pass is a function from a Compilation to a Compilation, documented with what it
reads, what it changes and what it guarantees. Per-layer choices come from the recipe
(recipe.py), never from flags of the passes' own.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .. import blob as B
from ..ir import Graph, Op
from ..recipe import Recipe


@dataclass
class Layer:
    """One blob op, with where it came from and what it costs (cost.py)."""

    index: int  # blob op index
    source: int  # op index in the .tflite
    opcode: str  # TFLite op name
    type: str  # blob op type (mai_op_type name)
    kernel: str  # nn_kernel name
    inputs: list[int]  # blob tensor ids (NO_TENSOR = omitted)
    outputs: list[int]
    graph_outputs: list[int]  # the model's tensor ids of the outputs
    macs: int = 0
    weight_bytes: int = 0
    scratch: int = 0


@dataclass
class Compilation:
    """What the passes share: the model, the choices, and what they have built."""

    graph: Graph
    name: str
    golden: str
    recipe: Recipe = field(default_factory=Recipe)
    ops: list[Op] = field(default_factory=list)  # the ops that become blob ops
    alias_of: dict[int, int] = field(default_factory=dict)  # views: RESHAPE/SQUEEZE, bands
    view_at: dict[int, int] = field(default_factory=dict)  # a view's bytes into its tensor
    # The ops' order (order.py: indices into the model's order), None: the model's.
    order: list[int] | None = None
    # Patch-based execution (patches.py): the stage c.ops[0..k] in n bands, as (k, n).
    patch: tuple[int, int] | None = None
    lowered: list = field(default_factory=list)  # ops.Lowered, one per op
    tensors: list[B.BlobTensor] = field(default_factory=list)
    tensor_ids: dict[int, int] = field(default_factory=dict)  # model tensor -> blob tensor
    group: dict[int, int] = field(default_factory=dict)  # blob tensor -> bytes' model tensor
    group_at: dict[int, int] = field(default_factory=dict)  # blob tensor -> bytes into it
    blob_ops: list[B.BlobOp] = field(default_factory=list)
    layers: list[Layer] = field(default_factory=list)
    # What the model has that microai cannot run, found by aliases and lower, refused
    # together by lower (one message listing all): unsupported ops, and other problems
    # (each naming its op or tensor).
    unsupported: list[Op] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    model_inputs: list[int] = field(default_factory=list)
    model_outputs: list[int] = field(default_factory=list)
    arena_size: int = 0
    blob: bytes = b""

    def describe(self, op: Op) -> str:
        return self.graph.describe(op)

    def root(self, t: int) -> int:
        """The model tensor whose bytes t views (itself unless it is an alias)."""
        while t in self.alias_of:
            t = self.alias_of[t]
        return t

    def root_at(self, t: int) -> int:
        """Where t's bytes start in root(t)'s."""
        at = 0
        while t in self.alias_of:
            at += self.view_at.get(t, 0)
            t = self.alias_of[t]
        return at


def pipeline():
    from . import aliases, build, choose_kernels, lower, order, pack, patches, plan

    return [
        aliases.run,
        order.run,
        patches.run,
        lower.run,
        choose_kernels.run,
        build.run,
        plan.run,
        pack.run,
    ]


def run(c: Compilation, passes=None) -> Compilation:
    for p in passes or pipeline():
        c = p(c)
    return c
