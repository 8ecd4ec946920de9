"""pack: the blob's bytes, checked by the runtime's own loader.

Reads: everything the passes built.
Changes: Compilation.blob.
Guarantees: the C loader (the same code as on the board) accepts the blob: anything the
runtime would refuse is refused here, with the runtime's words.
"""

from __future__ import annotations

from .. import MAX_FILE_BYTES
from .. import blob as B
from ..engine import Model, ModelError
from ..ir import ConvertError


def run(c):
    blob = B.pack(c.tensors, c.blob_ops, c.model_inputs, c.model_outputs, c.arena_size)
    if len(blob) > MAX_FILE_BYTES:
        raise ConvertError(
            f"{c.name}: the blob would have {len(blob):,} bytes; microai reads at most "
            f"{MAX_FILE_BYTES:,}"
        )
    try:
        Model(blob).close()
    except ModelError as e:
        raise ConvertError(f"{c.name}: the runtime would refuse this blob: {e}") from None
    c.blob = blob
    return c
