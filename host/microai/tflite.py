"""Read a .tflite model into the IR, with the `tflite` schema package.

No hand-written flatbuffer code: tensors, buffers, operator codes and builtin options
come from the schema package's generated readers. Options become snake_case dicts with
enum values as names ("SAME", "RELU6"), e.g. {"padding": "SAME", "stride_w": 2}.
"""

from __future__ import annotations

import re
from functools import cache

import numpy as np
import tflite

from . import blob as B
from .ir import ConvertError, Graph, Op, Tensor

_DTYPES = {
    tflite.TensorType.FLOAT32: np.float32,
    tflite.TensorType.INT8: np.int8,
    tflite.TensorType.UINT8: np.uint8,
    tflite.TensorType.INT16: np.int16,
    tflite.TensorType.INT32: np.int32,
    tflite.TensorType.INT64: np.int64,
    tflite.TensorType.BOOL: np.bool_,
    tflite.TensorType.FLOAT16: np.float16,
    tflite.TensorType.FLOAT64: np.float64,
    tflite.TensorType.UINT16: np.uint16,
    tflite.TensorType.UINT32: np.uint32,
    tflite.TensorType.UINT64: np.uint64,
    tflite.TensorType.COMPLEX64: np.complex64,
}

# Option fields whose integer values are enums, and their enum classes.
_ENUM_FIELDS = {
    "padding": tflite.Padding,
    "fused_activation_function": tflite.ActivationFunctionType,
}


@cache
def _names(enum_class) -> dict[int, str]:
    return {v: k for k, v in vars(enum_class).items() if not k.startswith("_")}


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _options(op) -> dict:
    kind = op.BuiltinOptionsType()
    if kind == 0:
        return {}
    name = _names(tflite.BuiltinOptions).get(kind)
    cls = getattr(tflite, name, None) if name else None
    if cls is None:
        return {}
    table = op.BuiltinOptions()
    obj = cls()
    obj.Init(table.Bytes, table.Pos)
    out = {}
    for attr in dir(cls):
        if (
            not attr[0].isupper()
            or attr.startswith(("Init", "GetRootAs"))
            or attr.endswith(("Length", "IsNone", "AsNumpy", "BufferHasIdentifier"))
        ):
            continue
        if hasattr(cls, attr + "AsNumpy"):
            value = getattr(obj, attr + "AsNumpy")()
            value = [] if isinstance(value, int) else [int(v) for v in value]
        else:
            try:
                value = getattr(obj, attr)()
            except TypeError:  # an accessor that takes an index
                continue
        key = _snake(attr)
        if key in _ENUM_FIELDS and isinstance(value, int):
            value = _names(_ENUM_FIELDS[key]).get(value, value)
        out[key] = value
    return out


def _custom_options(op, name: str, opcode: str, index: int) -> dict:
    """A custom op's options: Larq Compute Engine writes a flexbuffer map (read with the
    flatbuffers package's flexbuffers, not by hand); other custom ops' are not read."""
    if not opcode.startswith("CUSTOM(Lce") or op.CustomOptionsLength() == 0:
        return {}
    from flatbuffers import flexbuffers

    raw = op.CustomOptionsAsNumpy().tobytes()
    try:
        options = flexbuffers.Loads(raw)
    except Exception as e:  # the flexbuffer reader fails with IndexError, struct.error...
        raise ConvertError(
            f"{name}: op {index} {opcode}: custom options are not a flexbuffer ({type(e).__name__})"
        ) from None
    if not isinstance(options, dict):
        raise ConvertError(f"{name}: op {index} {opcode}: custom options are not a map")
    return options


def _opcode_name(model, index: int) -> str:
    code = model.OperatorCodes(index)
    builtin = code.BuiltinCode()
    name = _names(tflite.BuiltinOperator).get(builtin, f"BUILTIN_{builtin}")
    if name == "CUSTOM":
        custom = code.CustomCode()
        return f"CUSTOM({custom.decode() if custom else '?'})"
    return name


def _tensor(model, data: bytes, subgraph, i: int) -> Tensor:
    t = subgraph.Tensors(i)
    name = t.Name().decode() if t.Name() else f"tensor_{i}"
    # Types with no numpy twin (string, resource, int4...) get an opaque placeholder;
    # an op that uses one is refused by its lowering.
    dtype = np.dtype(_DTYPES.get(t.Type(), "V1"))
    shape = tuple(int(d) for d in _shape(t))
    scale = zero_point = None
    qdim = 0
    q = t.Quantization()
    if q is not None and q.ScaleLength() > 0:
        scale = q.ScaleAsNumpy().astype(np.float32)
        zero_point = (
            q.ZeroPointAsNumpy().astype(np.int64)
            if q.ZeroPointLength() > 0
            else np.zeros(scale.size, np.int64)
        )
        qdim = q.QuantizedDimension()
    const = None
    buf = model.Buffers(t.Buffer()) if t.Buffer() < model.BuffersLength() else None
    raw = None
    if buf is not None:
        if buf.Offset() > 1:  # large models keep buffers after the flatbuffer
            raw = data[buf.Offset() : buf.Offset() + buf.Size()]
        elif buf.DataLength() > 0:
            raw = buf.DataAsNumpy().tobytes()
    if t.IsVariable():
        # LiteRT refuses a variable tensor with a buffer ("not supported now"); both
        # goldens start a variable at its zero point.
        if raw:
            raise ConvertError(
                f"tensor {i} '{name}' is a variable tensor with initial values; microai "
                "starts every state at its zero point, as the goldens do, and takes none"
            )
        return Tensor(i, name, shape, dtype, scale, zero_point, qdim, variable=True)
    if raw and t.Sparsity() is not None:
        # TFLite's sparse encoding (the converter's EXPERIMENTAL_SPARSITY): densified here;
        # the kernels that skip zeros take it from the dense weights.
        if dtype.kind == "V" or t.Type() == tflite.TensorType.INT4:
            raise ConvertError(f"tensor {i} '{name}': a sparse {_type_name(t.Type())} tensor")
        values = np.frombuffer(raw, dtype=dtype)
        if len(raw) % dtype.itemsize:
            raise ConvertError(f"tensor {i} '{name}': sparse values are not whole {dtype}")
        const = densify(values, shape, _sparsity(t.Sparsity()), f"tensor {i} '{name}'")
        return Tensor(i, name, shape, dtype, scale, zero_point, qdim, const, sparse=True)
    if t.Type() == tflite.TensorType.INT4:
        # Weights only: int8 values in the IR, stored as s4 (two per byte) in the blob.
        if not raw:
            raise ConvertError(
                f"tensor {i} '{name}' is INT4 but not constant: microai takes INT4 weights only"
            )
        return Tensor(
            i,
            name,
            shape,
            np.dtype(np.int8),
            scale,
            zero_point,
            qdim,
            _unpack_int4(raw, shape, i, name),
            storage_override="s4",
        )
    if raw and dtype.kind != "V":
        n = _elements(shape)
        if len(raw) != n * dtype.itemsize:
            raise ConvertError(
                f"tensor {i} '{name}': buffer has {len(raw)} bytes, "
                f"shape {list(shape)} of {dtype} needs {n * dtype.itemsize}"
            )
        const = np.frombuffer(raw, dtype=dtype).reshape(shape).copy()
    return Tensor(i, name, shape, dtype, scale, zero_point, qdim, const)


def _type_name(t: int) -> str:
    return _names(tflite.TensorType).get(t, str(t))


def _index_vector(kind: int, table) -> np.ndarray:
    """A SparseIndexVector union (Int32Vector, Uint16Vector, Uint8Vector) as int64."""
    for name in ("Int32Vector", "Uint16Vector", "Uint8Vector"):
        if kind == getattr(tflite.SparseIndexVector, name):
            v = getattr(tflite, name)()
            v.Init(table.Bytes, table.Pos)
            a = v.ValuesAsNumpy()
            return np.zeros(0, np.int64) if isinstance(a, int) else a.astype(np.int64)
    return np.zeros(0, np.int64)


def _sparsity(sp) -> dict:
    """A tensor's SparsityParameters as plain lists."""
    dims = []
    for k in range(sp.DimMetadataLength()):
        d = sp.DimMetadata(k)
        if d.Format() == tflite.DimensionType.DENSE:
            dims.append(("dense", int(d.DenseSize()), None, None))
        else:
            seg = _index_vector(d.ArraySegmentsType(), d.ArraySegments())
            idx = _index_vector(d.ArrayIndicesType(), d.ArrayIndices())
            dims.append(("csr", 0, seg, idx))
    return {
        "traversal_order": [int(x) for x in _vector(sp.TraversalOrderAsNumpy())],
        "block_map": [int(x) for x in _vector(sp.BlockMapAsNumpy())],
        "dims": dims,
    }


def densify(values: np.ndarray, shape, sparsity: dict, where: str) -> np.ndarray:
    """The dense tensor of TFLite's sparse encoding (schema.fbs, SparsityParameters):
    levels in `traversal_order` over the original dims and then the block dims
    (`block_map[k]` is the original dim block k splits); a DENSE level has `dense_size`
    coordinates, a SPARSE_CSR level lists, for each position of the levels above, its
    coordinates array_indices[array_segments[p] : array_segments[p + 1]]; the leaves, in
    traversal order, are the stored values. Every index is checked: files lie."""
    order, bmap, dims = sparsity["traversal_order"], sparsity["block_map"], sparsity["dims"]
    rank = len(shape)
    n_exp = rank + len(bmap)
    if (
        sorted(order) != list(range(n_exp))
        or len(dims) != n_exp
        or any(not 0 <= b < rank for b in bmap)
    ):
        raise ConvertError(f"{where}: malformed sparsity parameters")
    block = {}
    for level, d in enumerate(order):
        if d >= rank:
            if dims[level][0] != "dense" or dims[level][1] < 1:
                raise ConvertError(f"{where}: a sparse block dimension")
            block[d - rank] = dims[level][1]
    extent = []  # each level's coordinate range
    for d in order:
        if d < rank:
            b = bmap.index(d) if d in bmap else -1
            extent.append(-(-shape[d] // block[b]) if b >= 0 else shape[d])
        else:
            extent.append(block[d - rank])
    # Walk the levels breadth first: (position index, expanded coordinates so far).
    pos = np.zeros(1, np.int64)
    coords = np.zeros((1, 0), np.int64)
    for level, (kind, size, seg, idx) in enumerate(dims):
        if kind == "dense":
            if size != extent[level]:
                raise ConvertError(f"{where}: dense size {size} at level {level}")
            c = np.tile(np.arange(size), len(pos))
            pos = np.repeat(pos, size) * size + c
            coords = np.column_stack([np.repeat(coords, size, axis=0), c])
        else:
            if pos.size and pos.max() + 1 >= len(seg):
                raise ConvertError(f"{where}: array_segments too short at level {level}")
            lo, hi = seg[pos], seg[pos + 1]
            if np.any(lo < 0) or np.any(hi < lo) or (hi.size and hi.max() > len(idx)):
                raise ConvertError(f"{where}: array_segments out of order at level {level}")
            j = np.concatenate([np.arange(a, b) for a, b in zip(lo, hi, strict=True)] or [[]])
            j = j.astype(np.int64)
            c = idx[j]
            if c.size and (c.min() < 0 or c.max() >= extent[level]):
                raise ConvertError(f"{where}: an index out of range at level {level}")
            coords = np.column_stack([np.repeat(coords, hi - lo, axis=0), c])
            pos = j
    # The leaves' positions are the stored values' indices.
    if len(pos) != len(values) or (pos.size and pos.max() >= len(values)):
        raise ConvertError(
            f"{where}: {len(values)} stored values, the sparsity parameters give {len(pos)}"
        )
    exp = np.zeros((len(pos), n_exp), np.int64)
    exp[:, order] = coords
    orig = exp[:, :rank].copy()
    for k, d in enumerate(bmap):
        orig[:, d] = exp[:, d] * block[k] + exp[:, rank + k]
    inside = np.all(orig < np.asarray(shape, np.int64), axis=1)
    dense = np.zeros(shape, values.dtype)
    dense[tuple(orig[inside].T)] = np.asarray(values)[pos[inside]]
    return dense


def _unpack_int4(raw: bytes, shape, i: int, name: str) -> np.ndarray:
    """TFLite's INT4 buffer: two's complement nibbles packed over the whole tensor,
    element 2i in the low nibble of byte i, an odd count leaving the last high nibble
    unused; as int8 values in [-8, 7]."""
    n = _elements(shape)
    if len(raw) != (n + 1) // 2:
        raise ConvertError(
            f"tensor {i} '{name}': INT4 buffer has {len(raw)} bytes, "
            f"shape {list(shape)} needs {(n + 1) // 2}"
        )
    return B.int4_values(raw, n).reshape(shape)


def _elements(shape) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


def check_tensor(t: Tensor, name: str) -> None:
    """Refuse, naming the tensor, a shape the blob format cannot hold (a dimension below
    1, an empty or unknown size, or above blob.MAX_DIM; 2 GiB of bytes or more) and
    quantization no kernel can use."""
    where = f"{name}: tensor {t.index} '{t.name}' has shape {list(t.shape)}"
    for d in t.shape:
        if d < 1:
            raise ConvertError(f"{where}: a dimension of {d}; microai needs every dimension >= 1")
        if d > B.MAX_DIM:
            raise ConvertError(
                f"{where}: a dimension of {d:,}; microai takes at most {B.MAX_DIM:,}"
            )
    nbytes = _elements(t.shape) * t.dtype.itemsize
    if nbytes > B.MAX_TENSOR_BYTES:
        raise ConvertError(
            f"{where}: {nbytes:,} bytes; microai takes at most {B.MAX_TENSOR_BYTES:,} per tensor"
        )
    _check_quantization(t, name)


def _check_quantization(t: Tensor, name: str) -> None:
    """Refuse, naming the tensor, int8/int16 quantization no kernel can use: scales that
    are not finite and positive, zero points outside the type, a per-channel axis that
    does not match the shape."""
    if t.scale is None or t.dtype not in (np.dtype(np.int8), np.dtype(np.int16)):
        return
    where = f"{name}: tensor {t.index} '{t.name}'"
    if not np.all(np.isfinite(t.scale)) or not np.all(t.scale > 0):
        bad = next(float(s) for s in t.scale if not (np.isfinite(s) and s > 0))
        raise ConvertError(f"{where} has a quantization scale of {bad}; scales must be > 0")
    if t.zero_point.size != t.scale.size:
        raise ConvertError(f"{where} has {t.scale.size} scales but {t.zero_point.size} zero points")
    lo, hi = (-8, 7) if t.storage == "s4" else (np.iinfo(t.dtype).min, np.iinfo(t.dtype).max)
    if t.zero_point.min() < lo or t.zero_point.max() > hi:
        kind = "int4" if t.storage == "s4" else t.dtype
        raise ConvertError(f"{where} has a zero point outside {kind}")
    if t.scale.size > 1:
        q = t.quantized_dimension
        if not 0 <= q < len(t.shape) or t.shape[q] != t.scale.size:
            raise ConvertError(
                f"{where} has {t.scale.size} scales on axis {q} of shape {list(t.shape)}"
            )


def _shape(t) -> np.ndarray:
    s = t.ShapeAsNumpy()
    return np.zeros(0, np.int32) if isinstance(s, int) else s


def read_model(data: bytes, name: str = "model") -> Graph:
    """Parse a TFLite flatbuffer into a Graph; ConvertError on anything malformed."""
    data = bytes(data)
    if len(data) < 8 or data[4:8] != b"TFL3":
        raise ConvertError(f"{name}: not a TFLite model (no 'TFL3' file identifier)")
    try:
        model = tflite.Model.GetRootAs(data, 0)
        if model.SubgraphsLength() != 1:
            raise ConvertError(
                f"{name}: {model.SubgraphsLength()} subgraphs; only single-subgraph models "
                "are supported"
            )
        sg = model.Subgraphs(0)
        if sg.TensorsLength() >= B.NO_TENSOR or sg.OperatorsLength() > 0xFFFF:
            raise ConvertError(
                f"{name}: {sg.TensorsLength()} tensors, {sg.OperatorsLength()} ops; a blob "
                f"holds at most {B.NO_TENSOR - 1} tensors and {0xFFFF} ops"
            )
        tensors = [_tensor(model, data, sg, i) for i in range(sg.TensorsLength())]
        ops = []
        for i in range(sg.OperatorsLength()):
            op = sg.Operators(i)
            inputs = [int(x) for x in _vector(op.InputsAsNumpy())]
            outputs = [int(x) for x in _vector(op.OutputsAsNumpy())]
            for t in inputs + outputs:
                if t >= len(tensors) or t < -1:
                    raise ConvertError(f"{name}: op {i} refers to tensor {t}, which does not exist")
            opcode = _opcode_name(model, op.OpcodeIndex())
            options = _options(op) or _custom_options(op, name, opcode, i)
            between = [int(x) for x in _vector(op.IntermediatesAsNumpy())]
            for t in between:
                if not 0 <= t < len(tensors):
                    raise ConvertError(f"{name}: op {i} refers to tensor {t}, which does not exist")
            ops.append(Op(i, opcode, inputs, outputs, options, between))
        ops = _fold_densify(ops, tensors, name)
        graph_inputs = [int(x) for x in _vector(sg.InputsAsNumpy())]
        graph_outputs = [int(x) for x in _vector(sg.OutputsAsNumpy())]
    except ConvertError:
        raise
    except Exception as e:  # the flatbuffer readers fail with IndexError, struct.error, ...
        first = (str(e).strip().splitlines() or [""])[0]
        kind = type(e).__name__
        if type(e).__module__ not in ("builtins", "__main__"):
            kind = f"{type(e).__module__}.{kind}"  # struct.error, not error
        raise ConvertError(
            f"{name}: malformed TFLite model, truncated or corrupt ({kind}: {first})"
        ) from None
    for what, ids in (("input", graph_inputs), ("output", graph_outputs)):
        for t in ids:
            if not 0 <= t < len(tensors):
                raise ConvertError(f"{name}: model {what} tensor {t} does not exist")
    if not graph_inputs or not graph_outputs:
        raise ConvertError(f"{name}: the model has no inputs or no outputs")
    # Every tensor the model uses must have a shape the blob can hold; unused ones may not.
    used = {t for op in ops for t in op.inputs + op.outputs if t >= 0}
    for t in sorted(used | set(graph_inputs) | set(graph_outputs)):
        check_tensor(tensors[t], name)
    return Graph(tensors, ops, graph_inputs, graph_outputs, name)


def _fold_densify(ops: list[Op], tensors: list[Tensor], name: str) -> list[Op]:
    """DENSIFY (what the converter puts before the consumer of a sparse constant) is
    done here: its output becomes the dense constant, and the op goes."""
    kept = []
    for op in ops:
        if op.opcode != "DENSIFY":
            kept.append(op)
            continue
        if len(op.inputs) != 1 or len(op.outputs) != 1 or tensors[op.inputs[0]].data is None:
            raise ConvertError(f"{name}: DENSIFY (op {op.index}) of a non-constant tensor")
        src, dst = tensors[op.inputs[0]], tensors[op.outputs[0]]
        if src.shape != dst.shape or src.dtype != dst.dtype:
            raise ConvertError(f"{name}: DENSIFY (op {op.index}) changes shape or type")
        dst.data = src.data
        if dst.scale is None:
            dst.scale, dst.zero_point = src.scale, src.zero_point
            dst.quantized_dimension = src.quantized_dimension
    return kept


def _vector(v) -> np.ndarray:
    return np.zeros(0, np.int32) if isinstance(v, int) else v
