"""Bit-exactness check: the host engine against LiteRT's reference kernels, on every
op output (intermediates included) and every model output."""

from __future__ import annotations

import numpy as np

from .convert import convert
from .engine import Model
from .golden import reference_interpreter


def random_input(detail: dict, rng: np.random.Generator) -> np.ndarray:
    shape, dtype = detail["shape"], detail["dtype"]
    if dtype == np.int8:
        return rng.integers(-128, 128, size=shape, dtype=np.int8)
    if dtype == np.float32:
        # Cover the range the model's first QUANTIZE maps to int8, and a little beyond.
        q = detail.get("quantization_parameters", {})
        scale = q.get("scales", np.array([]))
        lo, hi = (-1.0, 1.0)
        if len(scale):
            zp = q["zero_points"][0]
            lo, hi = scale[0] * (-128 - zp), scale[0] * (127 - zp)
        return rng.uniform(lo * 1.05, hi * 1.05, size=shape).astype(np.float32)
    raise ValueError(f"no random inputs for {dtype}")


def verify(
    model: bytes,
    n_inputs: int = 50,
    seed: int = 0,
    given: list[np.ndarray] | None = None,
    name: str = "model",
) -> dict:
    conv = convert(model, name)
    g = conv.graph
    engine = Model(conv.blob)
    ref = reference_interpreter(model, preserve_all_tensors=True)
    in_details = ref.get_input_details()
    rng = np.random.default_rng(seed)
    cases = [[x] for x in (given or [])]
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
        for d, x in zip(in_details, xs, strict=True):
            ref.set_tensor(d["index"], np.asarray(x, d["dtype"]).reshape(d["shape"]))
        ref.invoke()
        for i, x in enumerate(xs):
            engine.input(i)[...] = np.asarray(x).reshape(engine.input(i).shape)
        for L in conv.layers:
            engine.invoke_op(L.index)
            for bt, gt in zip(L.outputs, L.graph_outputs, strict=True):
                ours = engine.tensor(bt)
                want = ref.get_tensor(gt).reshape(ours.shape)
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
        for i, t in enumerate(g.outputs):
            ours = engine.output(i)
            out_mismatches += int((ours != ref.get_tensor(t).reshape(ours.shape)).sum())
    total = sum(r["mismatches"] for r in per_layer) + out_mismatches
    return {
        "model": name,
        "inputs": len(cases),
        "seed": seed,
        "mismatches": total,
        "output_mismatches": out_mismatches,
        "first_mismatch": first,
        "arena_bytes": conv.arena_size,
        "blob_bytes": len(conv.blob),
        "layers": per_layer,
    }
