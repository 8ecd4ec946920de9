"""`microai validate`: a model on your own data, on the host engine or on a board.

Data: an `.npz` (`x`, optional integer labels `y`), an `.npy` of inputs (labels from
`--labels L.npy`), or a folder of them (sorted by name); streamed in batches, never
loaded whole. Float inputs are quantized with the model's input scale and zero point
(the report says so); int8 inputs are taken as they are. The outputs give top-1 and
top-k accuracy and a confusion matrix when there are labels and, against a float
reference model (`--reference float.tflite`, run by LiteRT on the same real inputs),
RMSE, MAE, cosine similarity and the L2 relative error of the dequantized outputs.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import InputError
from .inspect import describe
from .quant import quantize_input

BATCH = 256


class ValidateError(InputError):
    pass


@dataclass
class IO:
    shape: tuple[int, ...]
    scale: float
    zero_point: int


def model_io(blob: bytes) -> tuple[IO, IO]:
    info = describe(blob)
    if len(info["inputs"]) != 1 or len(info["outputs"]) != 1:
        raise ValidateError("validate takes models with one input and one output")
    i, o = info["inputs"][0], info["outputs"][0]
    if i["storage"] != "s8" or o["storage"] != "s8":
        raise ValidateError("validate takes int8 inputs and outputs")
    if len(i["shape"]) > 1 and i["shape"][0] > 1:
        raise ValidateError(
            f"the model's input has a fixed batch of {i['shape'][0]} ({list(i['shape'])}); "
            "validate runs one sample at a time: convert the model with batch 1"
        )
    return (
        IO(tuple(i["shape"]), float(i["scale"]), int(i["zero_point"])),
        IO(tuple(o["shape"]), float(o["scale"]), int(o["zero_point"])),
    )


def _files(path: Path) -> list[Path]:
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix in (".npz", ".npy"))
        if not files:
            raise ValidateError(f"{path}: no .npz or .npy files in the folder")
        return files
    if not path.exists():
        raise ValidateError(f"{path}: no such file or folder")
    if path.suffix not in (".npz", ".npy"):
        raise ValidateError(f"{path}: data is .npz, .npy or a folder of them")
    return [path]


@dataclass
class Data:
    """Batches of (int8 inputs, labels or None) for a model input."""

    path: Path
    inp: IO
    labels: Path | None = None
    notes: list[str] = field(default_factory=list)
    float_inputs: bool = False

    def _quantize(self, x: np.ndarray, where: Path) -> np.ndarray:
        per = tuple(self.inp.shape[1:])
        if tuple(x.shape[1:]) != per:
            if x.ndim == len(per) and tuple(x.shape) == per:
                x = x[None]
            else:
                raise ValidateError(
                    f"{where}: inputs of shape {list(x.shape)}; the model takes N x {list(per)}"
                )
        if x.dtype.kind == "f":
            if self.inp.scale <= 0:
                raise ValidateError(f"{where}: float inputs, but the model has no input scale")
            if not self.float_inputs:
                self.float_inputs = True
                self.notes.append(
                    f"float inputs quantized with the model's input scale {self.inp.scale:.6g} "
                    f"and zero point {self.inp.zero_point}"
                )
            return quantize_input(x, self.inp.scale, self.inp.zero_point)
        if x.dtype.kind not in "iu" or (x.size and (x.min() < -128 or x.max() > 127)):
            raise ValidateError(f"{where}: inputs must be int8 values or floats")
        return x.astype(np.int8)

    def batches(self) -> Iterator[tuple[np.ndarray, np.ndarray | None, np.ndarray]]:
        """(int8 x, labels or None, the inputs as given: floats for the reference)."""
        labels = None
        if self.labels is not None:
            labels = np.load(self.labels, mmap_mode="r", allow_pickle=False)
        seen = 0
        for f in _files(self.path):
            try:
                if f.suffix == ".npz":
                    with np.load(f, allow_pickle=False) as z:
                        if "x" not in z:
                            raise ValidateError(f"{f}: no array 'x' (the inputs) in the .npz")
                        x, y = z["x"], z["y"] if "y" in z else None
                else:
                    x, y = np.load(f, mmap_mode="r", allow_pickle=False), None
            except (OSError, ValueError) as e:
                raise ValidateError(f"{f}: not a readable array file ({e})") from None
            if y is None and labels is not None:
                y = labels[seen : seen + len(x)]
                if len(y) != len(x):
                    raise ValidateError(f"{self.labels}: fewer labels than inputs")
            if y is not None and (y.dtype.kind not in "iu" or len(y) != len(x)):
                raise ValidateError(f"{f}: labels must be one integer per input")
            for k in range(0, len(x), BATCH):
                raw = np.asarray(x[k : k + BATCH])
                yield (
                    self._quantize(raw, f),
                    None if y is None else np.asarray(y[k : k + BATCH]),
                    raw,
                )
            seen += len(x)


@dataclass
class Report:
    samples: int = 0
    top1: float | None = None
    topk: float | None = None
    k: int = 0
    confusion: list[list[int]] | None = None
    reference: dict | None = None
    notes: list[str] = field(default_factory=list)
    target: str = "host engine"


def _reference_runner(path: Path, inp: IO):
    from ai_edge_litert.interpreter import Interpreter

    data = path.read_bytes()
    try:
        it = Interpreter(model_content=data)
        it.allocate_tensors()
    except Exception as e:  # LiteRT's own checks
        raise ValidateError(f"{path}: LiteRT refused the reference model ({e})") from None
    ind, outd = it.get_input_details()[0], it.get_output_details()[0]
    if ind["dtype"] != np.float32 or outd["dtype"] != np.float32:
        raise ValidateError(f"{path}: the reference must be a float model (float32 in and out)")

    def run(real: np.ndarray) -> np.ndarray:
        it.set_tensor(ind["index"], real.reshape(ind["shape"]).astype(np.float32))
        it.invoke()
        return it.get_tensor(outd["index"]).astype(np.float64).reshape(-1)

    return run


def validate(
    blob: bytes,
    data: Data,
    run_one,
    reference: Path | None = None,
    k: int = 5,
    progress=None,
) -> Report:
    """run_one(int8 x) -> int8 output bytes or array (the host engine, or a board)."""
    inp, out = data.inp, model_io(blob)[1]
    classes = int(np.prod(out.shape))
    ref = _reference_runner(reference, inp) if reference else None
    r = Report(k=min(k, classes))
    conf = np.zeros((classes, classes), np.int64)
    hit1 = hitk = labelled = 0
    sq = ab = l2d = l2r = cos = 0.0
    n_ref = 0
    for x, y, raw in data.batches():
        for i in range(len(x)):
            res = run_one(x[i : i + 1])
            got = (
                np.frombuffer(bytes(res), np.int8)
                if isinstance(res, (bytes, bytearray))
                else np.asarray(res).astype(np.int8).reshape(-1)
            )
            q = got.astype(np.float64)
            real_out = (q - out.zero_point) * out.scale
            if y is not None:
                label = int(y[i])
                if not 0 <= label < classes:
                    raise ValidateError(f"label {label} out of range for {classes} outputs")
                order = np.argsort(-q, kind="stable")
                hit1 += int(order[0] == label)
                hitk += int(label in order[: r.k])
                conf[label, order[0]] += 1
                labelled += 1
            if ref is not None:
                real_in = (
                    raw[i].astype(np.float64)
                    if raw.dtype.kind == "f"
                    else (raw[i].astype(np.float64) - inp.zero_point) * inp.scale
                )
                want = ref(real_in)
                if want.size != real_out.size:
                    raise ValidateError(
                        f"{reference}: {want.size} outputs; the model has {real_out.size}"
                    )
                d = real_out - want
                sq += float((d * d).mean())
                ab += float(np.abs(d).mean())
                l2d += float((d * d).sum())
                l2r += float((want * want).sum())
                den = np.linalg.norm(real_out) * np.linalg.norm(want)
                cos += float(real_out @ want / den) if den else 1.0
                n_ref += 1
            r.samples += 1
            if progress:
                progress(r.samples)
    if r.samples == 0:
        raise ValidateError(f"{data.path}: no inputs")
    if labelled:
        r.top1, r.topk = hit1 / labelled, hitk / labelled
        r.confusion = conf.tolist()
    if n_ref:
        r.reference = {
            "rmse": float(np.sqrt(sq / n_ref)),
            "mae": ab / n_ref,
            "cosine": cos / n_ref,
            "l2_relative": float(np.sqrt(l2d / l2r)) if l2r else 0.0,
        }
    r.notes = list(data.notes)
    return r
