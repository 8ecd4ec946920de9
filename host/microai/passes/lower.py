"""lower: each op becomes one blob op (ops/: params, constants, checks).

Reads: Compilation.ops, the golden (the few values the goldens compute differently),
the recipe (checked here against the model).
Changes: Compilation.lowered (one ops.Lowered per op, with the table's preferred kernel).
Guarantees: every op's params and constants are what the golden's kernels compute;
anything the lowering cannot take is a ConvertError naming the op.
"""

from __future__ import annotations

from ..ops import lower


def run(c):
    c.recipe.check(c.graph, c.ops)
    c.lowered = [lower(c.graph, op, c.golden) for op in c.ops]
    return c
