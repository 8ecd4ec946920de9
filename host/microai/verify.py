"""Bit-exactness check: the host engine against a golden (TFLite-Micro by default, or
LiteRT's reference kernels), on every op output (intermediates included) and every
model output. The blob is converted for the golden it is compared with (its rounding)."""

from __future__ import annotations

import numpy as np

from . import InputError
from .convert import convert
from .engine import Model
from .golden import DEFAULT_GOLDEN, open_golden, short_title
from .recipe import Recipe


def check_input(x: np.ndarray, shape, dtype, what: str) -> np.ndarray:
    """x as a model input of `shape` and `dtype`, or InputError naming `what` (the
    file). Floats are taken for a float32 input, integers within int8 for an int8 one."""
    x = np.asarray(x)
    dtype = np.dtype(dtype)
    shape = [int(d) for d in shape]
    n = int(np.prod(shape, dtype=np.int64))
    if x.size != n:
        raise InputError(
            f"{what}: shape {list(x.shape)} ({x.size:,} values); the model's input has shape "
            f"{shape} ({n:,} values)"
        )
    if x.dtype != dtype:
        same_kind = x.dtype.kind == dtype.kind == "f" or (
            dtype.kind == "i" and x.dtype.kind in "iu"
        )
        if not same_kind:
            raise InputError(f"{what}: {x.dtype} values; the model's input takes {dtype}")
        if dtype.kind == "i":
            info = np.iinfo(dtype)
            if x.size and (x.min() < info.min or x.max() > info.max):
                raise InputError(
                    f"{what}: values {x.min()}..{x.max()} do not fit the model's {dtype} input"
                )
        x = x.astype(dtype)
    return x.reshape(shape)


def random_input(detail: dict, rng: np.random.Generator) -> np.ndarray:
    shape, dtype = detail["shape"], detail["dtype"]
    if dtype in (np.int8, np.int16):
        info = np.iinfo(dtype)
        return rng.integers(int(info.min), int(info.max) + 1, size=shape, dtype=dtype)
    if dtype == np.float32:
        # Cover the range the model's first QUANTIZE maps to int8, and a little beyond.
        q = detail.get("quantization_parameters", {})
        scale = q.get("scales", np.array([]))
        lo, hi = (-1.0, 1.0)
        if len(scale):
            zp = q["zero_points"][0]
            lo, hi = scale[0] * (-128 - zp), scale[0] * (127 - zp)
        return rng.uniform(lo * 1.05, hi * 1.05, size=shape).astype(np.float32)
    raise InputError(f"no random inputs for a {dtype} model input")


def verify(
    model: bytes,
    n_inputs: int = 50,
    seed: int = 0,
    given: list[np.ndarray] | None = None,
    name: str = "model",
    given_names: list[str] | None = None,
    golden: str = DEFAULT_GOLDEN,
    blob_golden: str | None = None,
    recipe: Recipe | None = None,
) -> dict:
    """Host engine vs `golden` on every tensor; `given` inputs (named `given_names` in
    errors, e.g. their files) first, then n_inputs random ones. The blob is converted
    for `golden`, or for `blob_golden` to see what a blob built for the other one does."""
    conv = convert(model, name, blob_golden or golden, recipe)
    g = conv.graph
    engine = Model(conv.blob)
    # The recipe's model (pruned, sparse, int4: a standard .tflite) is its own golden.
    ref = open_golden(conv.tflite, golden, preserve_all_tensors=True, name=name)
    in_details = ref.inputs
    rng = np.random.default_rng(seed)
    given = list(given or [])
    if given and len(in_details) != 1:
        raise InputError(
            f"{name}: given inputs need a single-input model; it has {len(in_details)}"
        )
    names = list(given_names or []) + [f"given input {k}" for k in range(len(given))]
    cases = [
        [check_input(x, in_details[0]["shape"], in_details[0]["dtype"], names[k])]
        for k, x in enumerate(given)
    ]
    cases += [[random_input(d, rng) for d in in_details] for _ in range(n_inputs)]

    per_layer = [
        {
            "index": L.index,
            "op": L.opcode,
            "kernel": L.kernel,
            "name": g.t(L.graph_outputs[0]).name,
            "mismatches": 0,
            "max_abs_diff": 0,
        }
        for L in conv.layers
    ]
    out_mismatches = 0
    first = None
    for case_no, xs in enumerate(cases):
        for i, x in enumerate(xs):
            ref.set_input(i, x)
        ref.invoke()
        for i, x in enumerate(xs):
            engine.input(i)[...] = np.asarray(x).reshape(engine.input(i).shape)
        for L in conv.layers:
            engine.invoke_op(L.index)
            for bt, gt in zip(L.outputs, L.graph_outputs, strict=True):
                ours = engine.tensor(bt)
                band = g.t(gt).rows_of  # a band of a layer's rows (patches.py)
                if band is None:
                    want = ref.tensor(gt).reshape(ours.shape)
                else:
                    want = ref.tensor(band[0])[:, band[1] : band[1] + ours.shape[1]]
                bad = ours != want
                if bad.any():
                    rec = per_layer[L.index]
                    rec["mismatches"] += int(bad.sum())
                    diff = np.abs(ours.astype(np.float64) - want.astype(np.float64)).max()
                    rec["max_abs_diff"] = max(rec["max_abs_diff"], float(diff))
                    if first is None:
                        first = {
                            "layer": L.index,
                            "name": rec["name"],
                            "op": L.opcode,
                            "input": case_no,
                        }
        for i in range(len(g.outputs)):
            ours = engine.output(i)
            out_mismatches += int((ours != ref.output(i).reshape(ours.shape)).sum())
    total = sum(r["mismatches"] for r in per_layer) + out_mismatches
    return {
        "model": name,
        "golden": golden,
        "golden_title": short_title(ref),
        "blob_golden": blob_golden or golden,
        "inputs": len(cases),
        "seed": seed,
        "mismatches": total,
        "output_mismatches": out_mismatches,
        "first_mismatch": first,
        "arena_bytes": conv.arena_size,
        "blob_bytes": len(conv.blob),
        "patches": conv.patches,
        "layers": per_layer,
    }
