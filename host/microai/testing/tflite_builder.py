"""Build small int8 TFLite models in code, with the `tflite` schema package's builders.

Kernel and converter tests declare a case as data (shapes, strides, padding, zero
points), build a one- or few-op model here and compare microai with the goldens
(TFLite-Micro, LiteRT's reference kernels) on it. No TensorFlow needed.

    mb = ModelBuilder()
    x = mb.input("x", (1, 8, 8, 3), scale=0.05, zero_point=-3)
    w = mb.const("w", weights_int8, scale=per_channel_scales, quantized_dimension=0)
    b = mb.const("b", bias_int32, scale=0.05 * per_channel_scales)
    y = mb.tensor("y", (1, 8, 8, 4), scale=0.1, zero_point=2)
    mb.op("CONV_2D", [x, w, b], [y], "Conv2DOptions",
          Padding=tflite.Padding.SAME, StrideW=1, StrideH=1, FusedActivationFunction=0)
    mb.output(y)
    model_bytes = mb.build()
"""

from __future__ import annotations

from collections.abc import Sequence

import flatbuffers
import numpy as np
import tflite

_DTYPES = {
    np.dtype(np.int8): tflite.TensorType.INT8,
    np.dtype(np.uint8): tflite.TensorType.UINT8,
    np.dtype(np.int16): tflite.TensorType.INT16,
    np.dtype(np.int32): tflite.TensorType.INT32,
    np.dtype(np.int64): tflite.TensorType.INT64,
    np.dtype(np.float32): tflite.TensorType.FLOAT32,
}


class ModelBuilder:
    """Collects tensors and ops of one subgraph, then writes the flatbuffer."""

    def __init__(self, description: str = "microai test model"):
        self.description = description
        self.tensors: list[dict] = []
        self.buffers: list[bytes] = [b""]  # buffer 0: the empty sentinel
        self.ops: list[tuple] = []
        self.opcodes: list[int] = []
        self.versions: dict[int, int] = {}
        self.inputs: list[int] = []
        self.outputs: list[int] = []

    def tensor(
        self,
        name,
        shape,
        dtype=np.int8,
        scale=None,
        zero_point=0,
        quantized_dimension=0,
        data: np.ndarray | None = None,
        variable: bool = False,
    ) -> int:
        buffer = 0
        if data is not None:
            buffer = len(self.buffers)
            self.buffers.append(np.ascontiguousarray(data).tobytes())
        self.tensors.append(
            dict(
                name=name,
                shape=tuple(int(d) for d in shape),
                dtype=np.dtype(dtype),
                scale=scale,
                zero_point=zero_point,
                qdim=quantized_dimension,
                buffer=buffer,
                variable=variable,
            )
        )
        return len(self.tensors) - 1

    def input(self, name, shape, dtype=np.int8, scale=None, zero_point=0) -> int:
        t = self.tensor(name, shape, dtype, scale, zero_point)
        self.inputs.append(t)
        return t

    def const(self, name, data: np.ndarray, scale=None, zero_point=0, quantized_dimension=0) -> int:
        data = np.asarray(data)
        return self.tensor(
            name, data.shape, data.dtype, scale, zero_point, quantized_dimension, data
        )

    def output(self, t: int) -> None:
        self.outputs.append(t)

    def conv1x1(
        self, name, x, cout: int, shape, rng, scale=0.1, zero_point=0, stride=1,
        padding=tflite.Padding.VALID,
    ) -> int:  # fmt: skip
        """A CONV_2D with a 1x1 filter of random int8 weights (per-channel scales 0.01)
        and int32 bias from x into a new tensor `name` of `shape`; returns it."""
        cin = self.tensors[x]["shape"][-1]
        w = self.const(
            f"{name}_w",
            rng.integers(-127, 128, (cout, 1, 1, cin), dtype=np.int8),
            scale=np.full(cout, 0.01, np.float32),
            quantized_dimension=0,
        )
        b = self.const(
            f"{name}_b",
            rng.integers(-500, 500, cout).astype(np.int32),
            scale=np.full(cout, 0.01 * self.tensors[x]["scale"], np.float32),
        )
        y = self.tensor(name, shape, scale=scale, zero_point=zero_point)
        self.op(
            "CONV_2D", [x, w, b], [y], "Conv2DOptions",
            Padding=padding, StrideW=stride, StrideH=stride,
        )  # fmt: skip
        return y

    def op(
        self,
        opname: str,
        inputs: Sequence[int],
        outputs: Sequence[int],
        options: str | None = None,
        version: int = 1,
        intermediates: Sequence[int] = (),
        **fields,
    ) -> None:
        """Add an op. options names the schema table (e.g. "Conv2DOptions"); fields are its
        fields in CamelCase (StrideW=2). A list value becomes an int32 vector field.
        An input of -1 is an omitted optional input. version: the op code's version (the
        highest given for it), as the converter writes it; intermediates: the op's
        intermediate tensors (an integer LSTM's)."""
        code = getattr(tflite.BuiltinOperator, opname)
        if code not in self.opcodes:
            self.opcodes.append(code)
        self.versions[code] = max(self.versions.get(code, 1), version)
        self.ops.append(
            (self.opcodes.index(code), list(inputs), list(outputs), options, fields, intermediates)
        )

    def custom_op(
        self, name: str, inputs: Sequence[int], outputs: Sequence[int], options: dict | None = None
    ) -> None:
        """Add a custom op (e.g. Larq Compute Engine's "LceBconv2d") whose options are a
        flexbuffer map, as LCE's converter writes them."""
        from flatbuffers import flexbuffers

        if name not in self.opcodes:
            self.opcodes.append(name)
        raw = bytes(flexbuffers.Dumps(options)) if options is not None else None
        self.ops.append((self.opcodes.index(name), list(inputs), list(outputs), raw, {}, ()))

    # ---- serialization ----------------------------------------------------------------

    @staticmethod
    def _int_vector(b, start_fn, values, prepend="PrependInt32"):
        start_fn(b, len(values))
        for v in reversed(values):
            getattr(b, prepend)(int(v))
        return b.EndVector()

    def _quantization(self, b, t):
        if t["scale"] is None:
            return None
        scale = np.atleast_1d(np.asarray(t["scale"], dtype=np.float32))
        zp = np.atleast_1d(np.asarray(t["zero_point"], dtype=np.int64))
        if zp.size == 1 and scale.size > 1:
            zp = np.repeat(zp, scale.size)
        scale_v = b.CreateNumpyVector(scale)
        zp_v = b.CreateNumpyVector(zp)
        tflite.QuantizationParametersStart(b)
        tflite.QuantizationParametersAddScale(b, scale_v)
        tflite.QuantizationParametersAddZeroPoint(b, zp_v)
        tflite.QuantizationParametersAddQuantizedDimension(b, t["qdim"])
        return tflite.QuantizationParametersEnd(b)

    def _options(self, b, options, fields):
        module = getattr(tflite, options + "Start").__module__
        table = __import__(module, fromlist=["x"])
        vectors = {}
        for key, value in fields.items():
            if isinstance(value, (list, tuple)):
                start = getattr(table, f"{options}Start{key}Vector")
                vectors[key] = self._int_vector(b, start, value)
        getattr(table, f"{options}Start")(b)
        for key, value in fields.items():
            getattr(table, f"{options}Add{key}")(b, vectors.get(key, value))
        return getattr(table, f"{options}End")(b)

    def build(self) -> bytes:
        b = flatbuffers.Builder(1024)
        buffers = []
        for data in self.buffers:
            vec = b.CreateNumpyVector(np.frombuffer(data, np.uint8)) if data else None
            tflite.BufferStart(b)
            if vec is not None:
                tflite.BufferAddData(b, vec)
            buffers.append(tflite.BufferEnd(b))
        tensors = []
        for t in self.tensors:
            name = b.CreateString(t["name"])
            shape = self._int_vector(b, tflite.TensorStartShapeVector, t["shape"])
            quant = self._quantization(b, t)
            tflite.TensorStart(b)
            tflite.TensorAddName(b, name)
            tflite.TensorAddShape(b, shape)
            tflite.TensorAddType(b, _DTYPES[t["dtype"]])
            tflite.TensorAddBuffer(b, t["buffer"])
            if t["variable"]:
                tflite.TensorAddIsVariable(b, True)
            if quant is not None:
                tflite.TensorAddQuantization(b, quant)
            tensors.append(tflite.TensorEnd(b))
        ops = []
        for opcode_index, ins, outs, options, fields, between in self.ops:
            ins_v = self._int_vector(b, tflite.OperatorStartInputsVector, ins)
            outs_v = self._int_vector(b, tflite.OperatorStartOutputsVector, outs)
            between_v = (
                self._int_vector(b, tflite.OperatorStartIntermediatesVector, between)
                if between
                else None
            )
            custom = None
            if isinstance(options, bytes):  # a custom op's flexbuffer options
                custom = b.CreateNumpyVector(np.frombuffer(options, np.uint8))
                options = None
            opts = self._options(b, options, fields) if options else None
            tflite.OperatorStart(b)
            tflite.OperatorAddOpcodeIndex(b, opcode_index)
            tflite.OperatorAddInputs(b, ins_v)
            tflite.OperatorAddOutputs(b, outs_v)
            if between_v is not None:
                tflite.OperatorAddIntermediates(b, between_v)
            if opts is not None:
                tflite.OperatorAddBuiltinOptionsType(b, getattr(tflite.BuiltinOptions, options))
                tflite.OperatorAddBuiltinOptions(b, opts)
            if custom is not None:
                tflite.OperatorAddCustomOptions(b, custom)
                tflite.OperatorAddCustomOptionsFormat(b, tflite.CustomOptionsFormat.FLEXBUFFERS)
            ops.append(tflite.OperatorEnd(b))
        codes = []
        custom_names = {c: b.CreateString(c) for c in self.opcodes if isinstance(c, str)}
        for code in self.opcodes:
            if isinstance(code, str):
                tflite.OperatorCodeStart(b)
                tflite.OperatorCodeAddDeprecatedBuiltinCode(b, tflite.BuiltinOperator.CUSTOM)
                tflite.OperatorCodeAddBuiltinCode(b, tflite.BuiltinOperator.CUSTOM)
                tflite.OperatorCodeAddCustomCode(b, custom_names[code])
                tflite.OperatorCodeAddVersion(b, 1)
                codes.append(tflite.OperatorCodeEnd(b))
                continue
            tflite.OperatorCodeStart(b)
            tflite.OperatorCodeAddDeprecatedBuiltinCode(b, min(code, 127))
            tflite.OperatorCodeAddBuiltinCode(b, code)
            tflite.OperatorCodeAddVersion(b, self.versions.get(code, 1))
            codes.append(tflite.OperatorCodeEnd(b))

        def vector(start_fn, items):
            start_fn(b, len(items))
            for item in reversed(items):
                b.PrependUOffsetTRelative(item)
            return b.EndVector()

        tensors_v = vector(tflite.SubGraphStartTensorsVector, tensors)
        ops_v = vector(tflite.SubGraphStartOperatorsVector, ops)
        in_v = self._int_vector(b, tflite.SubGraphStartInputsVector, self.inputs)
        out_v = self._int_vector(b, tflite.SubGraphStartOutputsVector, self.outputs)
        sg_name = b.CreateString("main")
        tflite.SubGraphStart(b)
        tflite.SubGraphAddTensors(b, tensors_v)
        tflite.SubGraphAddOperators(b, ops_v)
        tflite.SubGraphAddInputs(b, in_v)
        tflite.SubGraphAddOutputs(b, out_v)
        tflite.SubGraphAddName(b, sg_name)
        subgraph = tflite.SubGraphEnd(b)
        subgraphs_v = vector(tflite.ModelStartSubgraphsVector, [subgraph])
        codes_v = vector(tflite.ModelStartOperatorCodesVector, codes)
        buffers_v = vector(tflite.ModelStartBuffersVector, buffers)
        desc = b.CreateString(self.description)
        tflite.ModelStart(b)
        tflite.ModelAddVersion(b, 3)
        tflite.ModelAddOperatorCodes(b, codes_v)
        tflite.ModelAddSubgraphs(b, subgraphs_v)
        tflite.ModelAddBuffers(b, buffers_v)
        tflite.ModelAddDescription(b, desc)
        b.Finish(tflite.ModelEnd(b), file_identifier=b"TFL3")
        return bytes(b.Output())
