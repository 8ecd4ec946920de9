"""choose_kernels: each op's kernel, picked on the host from the C table, checked by C.

Reads: each lowered op (type, params, tensors), the golden's rounding, and the recipe's
`algorithm` for the layer ("auto" by default).
Changes: Lowered.kernel and Lowered.scratch.
Guarantees: the kernel is a row of the C table for the op's type, and that row's own
supports() passes on the op as the runtime will see it, so the loader accepts it; the
scratch is the row's scratch(). "auto" takes the first row, in the table's order of
preference, that supports the op and reads its weights as the IR stores them (a format
that pays only sometimes, layouts.PREPARED: choose_layouts.py picks those for a target, or
the recipe names one); an
algorithm the op cannot have is a ConvertError naming the layer, the algorithm and the
kernel's reason.
"""

from __future__ import annotations

import numpy as np

from .. import blob as B
from .. import layouts, native
from ..ir import STORAGE_OF, ConvertError, Graph


def kernels_for(op_type: str) -> list[native.Kernel]:
    """The table's kernels for an op type, in order of preference."""
    return [k for k in native.table()["kernels"].values() if k.op == op_type]


def algorithms_for(op_type: str) -> list[str]:
    """The op type's algorithms, once each (kernels for other weights share names)."""
    return list(dict.fromkeys(k.algorithm for k in kernels_for(op_type)))


class _Context:
    """A mai_op_ctx for the op as the runtime will see it with `kernel` (shapes, storage,
    params, rounding, the weights in the kernel's layout; a distinct stand-in pointer for
    each tensor's bytes, output 0's placed against input 0's as `overlap` says: "none",
    "same_start" (in place) or "trailing" (starting before it, running into it)), kept
    alive with its buffers."""

    def __init__(
        self, graph: Graph, low, rounding: str, kernel: native.Kernel, overlap: str = "none"
    ):
        ffi, _ = native.load()
        self.ffi = ffi
        self.params = ffi.from_buffer(native.pack(low.params_type, low.params))
        self.dummy = ffi.new("int32_t[]", 4 * (len(low.inputs) + len(low.outputs)))
        self.n = 0
        c = self.ctx = ffi.new("mai_op_ctx *")
        c.params = self.params
        c.params_size = len(self.params)
        c.rounding = B.ROUNDINGS[rounding]
        c.n_in, c.n_out = len(low.inputs), len(low.outputs)
        for i, x in enumerate(low.inputs):
            self._view(getattr(c, "in")[i], graph, x)
        for i, t in enumerate(low.outputs):
            self._view(c.out[i], graph, t)
        # Input 0 and output 0 in bytes of their own, apart or overlapping as asked.
        x, y = getattr(c, "in")[0] if c.n_in else None, c.out[0] if c.n_out else None
        if x is not None and y is not None and x.data != ffi.NULL:
            at = {"none": (0, x.size), "same_start": (0, 0), "trailing": (1, 0)}[overlap]
            self.io = ffi.new("uint8_t[]", max(at[0] + x.size, at[1] + y.size))
            x.data, y.data = self.io + at[0], self.io + at[1]
        if kernel.weights != "none" and len(low.inputs) > 1:
            w = getattr(c, "in")[1]
            w.storage = B.STORAGES[layouts.storage(kernel.weights)]
            w.layout = B.LAYOUTS[layouts.layout(kernel.weights)]
            x = low.inputs[1]
            w.size = layouts.nbytes(
                kernel.weights, x.shape if isinstance(x, np.ndarray) else graph.t(x).shape
            )

    def _view(self, v, graph: Graph, x) -> None:
        if isinstance(x, int) and x < 0:
            return  # an omitted input: all zero, data NULL
        state = False
        if isinstance(x, np.ndarray):
            shape, dtype, zp, scale, const = x.shape, x.dtype, 0, 0.0, True
        else:
            t = graph.t(x)
            shape, dtype, const, state = t.shape, t.dtype, t.is_const, t.variable
            zp = t.zp if t.scale is not None else 0
            scale = t.scale1 if t.scale is not None and t.scale.size == 1 else 0.0
        dims = [1] * (B.MAX_RANK - len(shape)) + [int(d) for d in shape]
        name = STORAGE_OF.get(np.dtype(dtype), "s8")
        storage = B.STORAGES[name]
        v.data = self.dummy + 4 * self.n
        self.n += 1
        v.dims = dict(zip("nhwc", dims, strict=True))
        v.size = B.storage_bytes(name, tuple(shape))
        v.storage, v.rank, v.is_const = storage, len(shape), int(const)
        v.zero_point, v.scale, v.is_state = zp, scale, int(state)


def weights_storage(graph: Graph, low) -> str:
    """How the IR stores the op's input 1 (its weights, for a weighted op)."""
    if len(low.inputs) < 2:
        return ""
    x = low.inputs[1]
    if isinstance(x, np.ndarray):
        return STORAGE_OF.get(x.dtype, "")
    return "" if isinstance(x, int) and x < 0 else graph.t(x).storage


def supports(
    graph: Graph, low, kernel: native.Kernel, rounding: str, overlap: str = "none"
) -> str | None:
    """None if the C kernel takes the op (with its output placed against input 0's
    bytes as `overlap` says, _Context), else its reason."""
    _, lib = native.load()
    c = _Context(graph, low, rounding, kernel, overlap)
    why = lib.mai_kernel_supports(kernel.id, c.ctx)
    return None if why == c.ffi.NULL else c.ffi.string(why).decode()


def trail_bytes(graph: Graph, low, kernel: native.Kernel, rounding: str) -> int:
    """The least gap by which a CONV's or DWCONV's output may start before its input
    and run into it (the C op check's own mai_conv_trail_bytes)."""
    _, lib = native.load()
    c = _Context(graph, low, rounding, kernel, "trailing")
    return int(lib.mai_conv_trail_bytes(c.ctx))


def scratch(graph: Graph, low, kernel: native.Kernel, rounding: str) -> int:
    _, lib = native.load()
    c = _Context(graph, low, rounding, kernel)  # alive through the call: ctx points into it
    return int(lib.mai_kernel_scratch(kernel.id, c.ctx))


def choose(graph: Graph, low, rounding: str, algorithm: str = "auto", where: str = "") -> None:
    """Set low.kernel and low.scratch: the first kernel of the op's type that takes it,
    among those with `algorithm` unless it is "auto"."""
    candidates = kernels_for(low.type)
    if algorithm == "auto":  # prepared formats come from the recipe or choose_layouts
        stored = weights_storage(graph, low)
        candidates = [k for k in candidates if layouts.natural(k.weights, stored)]
    else:
        candidates = [k for k in candidates if k.algorithm == algorithm]
        if not candidates:
            have = ", ".join(["auto", *algorithms_for(low.type)])
            raise ConvertError(f"{where}algorithm {algorithm!r}: a {low.type} op has {have}")
        # The algorithm's kernels for the weights as the IR stores them (int8, int4...).
        stored = weights_storage(graph, low)
        candidates = [
            k for k in candidates if k.weights == "none" or layouts.SOURCE.get(k.weights) == stored
        ] or candidates
    if not candidates:
        stored = weights_storage(graph, low)
        raise ConvertError(
            f"{where}no kernel of this microai reads {stored} weights in a {low.type} op"
        )
    reasons = []
    for k in candidates:
        why = supports(graph, low, k, rounding)
        if why is None:
            low.kernel = k.name
            low.scratch = scratch(graph, low, k, rounding)
            return
        reasons.append(f"{k.name}: {why}")
    asked = "" if algorithm == "auto" else f"algorithm {algorithm!r}: "
    raise ConvertError(f"{where}{asked}no kernel takes this {low.type} op ({'; '.join(reasons)})")


def run(c):
    """The pass: every layer's kernel, honouring the recipe."""
    from ..golden import op_rounding

    for op, low in zip(c.ops, c.lowered, strict=True):
        algorithm = c.recipe.algorithm(c.graph, op)
        choose(c.graph, low, op_rounding(c.golden, low), algorithm, f"{c.describe(op)}: ")
    return c
