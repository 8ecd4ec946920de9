"""What the benchmarks share: `microai hil` with a recipe forcing layers' algorithms."""

from __future__ import annotations

from microai.hil import hil
from microai.recipe import Recipe


def hil_forced(model: bytes, board: str, name: str, algorithms: dict[int, str] | None = None):
    """One input through `microai hil` with each layer (op index in the .tflite) on its
    algorithm; exits when the board's output differs from the host engine's."""
    layers = {str(i): {"algorithm": a} for i, a in (algorithms or {}).items()}
    r = hil(model, board, n_inputs=1, name=name, recipe=Recipe.from_dict({"layers": layers}))
    if r["mismatches"]:
        raise SystemExit(f"{name} on {board}: the board's output differs from the host's")
    return r
