"""Edit a .tflite model with LiteRT's own flatbuffer object API
(ai_edge_litert.schema_py_generated: ModelT, TensorT, ... with Pack), never by hand:
`microai compress` writes its models here, and the LiteRT golden relabels what its
reference resolver lacks.

Buffers kept after the flatbuffer (files over 2 GB's flatbuffer limit keep data at an
offset) are pulled back into the flatbuffer on load, so a saved model is self-contained.
"""

from __future__ import annotations

import flatbuffers
import numpy as np

from .ir import ConvertError


def _schema():
    from ai_edge_litert import schema_py_generated as S

    return S


def load(data: bytes, name: str = "model"):
    """The model as a ModelT; ConvertError when it is not a TFLite flatbuffer."""
    S = _schema()
    data = bytes(data)
    if len(data) < 8 or data[4:8] != b"TFL3":
        raise ConvertError(f"{name}: not a TFLite model (no 'TFL3' file identifier)")
    try:
        m = S.ModelT.InitFromPackedBuf(data, 0)
    except Exception as e:  # the generated readers fail with IndexError, struct.error...
        raise ConvertError(f"{name}: malformed TFLite model ({type(e).__name__})") from None
    for buf in m.buffers or []:
        if buf.offset and buf.offset > 1:
            buf.data = np.frombuffer(data[buf.offset : buf.offset + buf.size], np.uint8)
            buf.offset = buf.size = 0
    return m


def _compact(m) -> None:
    """Drop the buffers nothing refers to any more (edits give tensors new ones), keeping
    buffer 0 (the empty sentinel) and those metadata entries name."""
    used = {0}
    for sg in m.subgraphs or []:
        used.update(t.buffer for t in sg.tensors or [])
    used.update(md.buffer for md in m.metadata or [])
    if len(used) == len(m.buffers or []):
        return
    new_index = {}
    kept = []
    for i, buf in enumerate(m.buffers):
        if i in used:
            new_index[i] = len(kept)
            kept.append(buf)
    m.buffers = kept
    for sg in m.subgraphs or []:
        for t in sg.tensors or []:
            t.buffer = new_index[t.buffer]
    for md in m.metadata or []:
        md.buffer = new_index[md.buffer]


def save(m) -> bytes:
    _compact(m)
    b = flatbuffers.Builder(1024)
    b.Finish(m.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output())


def builtin_code(code) -> int:
    """An operator code's builtin op, whichever of its two fields holds it."""
    return max(int(code.builtinCode or 0), int(code.deprecatedBuiltinCode or 0))


def opcode_index(m, builtin: int, version: int) -> int:
    """The index of the operator code (builtin, version), appended if new."""
    S = _schema()
    for i, code in enumerate(m.operatorCodes):
        if builtin_code(code) == builtin and code.version == version:
            return i
    code = S.OperatorCodeT()
    code.builtinCode = builtin
    code.deprecatedBuiltinCode = min(builtin, 127)  # the old int8 field caps at 127
    code.version = version
    m.operatorCodes.append(code)
    return len(m.operatorCodes) - 1


def relabel(data: bytes, builtin: int, old: int, new: int) -> bytes:
    """The model with every `builtin` op at version `old` set to version `new` (LiteRT's
    reference resolver has no DEPTHWISE_CONV_2D version 7, which int4 depthwise is,
    though its kernel runs it: 7 -> 6 in the golden's in-memory copy). Unchanged bytes
    when there is no such op."""
    m = load(data)
    hit = False
    for code in m.operatorCodes or []:
        if builtin_code(code) == builtin and code.version == old:
            code.version, hit = new, True
    return save(m) if hit else data


def widen_int4(data: bytes) -> bytes:
    """The model with every INT4 tensor widened to INT8 (same values, scales and
    shapes): what an int4 model must equal, tensor for tensor, in the goldens."""
    from . import blob as B

    m = load(data)
    sg = m.subgraphs[0]
    for t in sg.tensors:
        if t.type != 17:  # INT4
            continue
        buf = m.buffers[t.buffer]
        n = int(np.prod(t.shape)) if t.shape is not None else 1
        raw = bytes(np.asarray(buf.data, np.uint8)) if buf.data is not None else b""
        t.type = 9  # INT8
        buf.data = B.int4_values(raw, n).view(np.uint8)
    for o in sg.operators:
        code = m.operatorCodes[o.opcodeIndex]
        if code.version == 7 and builtin_code(code) in (3, 4):  # CONV_2D, DEPTHWISE_CONV_2D
            o.opcodeIndex = opcode_index(m, builtin_code(code), 3)
        elif code.version == 10 and builtin_code(code) == 9:  # FULLY_CONNECTED
            o.opcodeIndex = opcode_index(m, 9, 4)
    return save(m)
