"""The C core (cmodules/microai/nn) compiled for this machine and loaded through cffi.

The same C sources run on the boards. The build is cached in build/native/<hash>/,
keyed by the sources, headers and flags, so editing any C file rebuilds on next use.
MICROAI_HOST_CFLAGS adds compiler flags (e.g. sanitizers) and so gets its own build.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import re
import sys
import threading
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from . import BuildError
from . import blob as B
from .paths import BUILD_DIR, CMODULES_DIR

NN_DIR = CMODULES_DIR / "microai" / "nn"  # the kernels
RUNTIME_DIR = CMODULES_DIR / "microai" / "runtime"  # the blob loader, executor and table
C_DIRS = [NN_DIR, RUNTIME_DIR]
# Headers whose declarations Python sees, in dependency order.
HEADERS = [
    NN_DIR / "nn_types.h",
    NN_DIR / "nn_functions.h",
    RUNTIME_DIR / "mai_blob.h",
    RUNTIME_DIR / "mai_exec.h",
]
# -fno-wrapv: Python builds extensions with -fwrapv, which would make signed overflow
# defined here (and hide it from UBSan) though the firmware does not build that way.
# -O3 lets the compiler vectorise the kernels' loops for the baseline instruction set of
# this kind of machine (no -march=native: the build runs on any x86-64 / aarch64);
# -fno-semantic-interposition lets it inline and call directly between the core's own
# functions instead of through the PLT. Neither changes a result: the core is integer.
# A later -O in MICROAI_HOST_CFLAGS wins (the sanitizer build keeps -O2).
# -ffp-contract=off: a float multiply and add stay two roundings (the binary output
# transform is LCE's, bit for bit), never a fused multiply-add, as on the boards.
CFLAGS = [
    "-std=c99",
    "-ffp-contract=off",
    "-O3",
    "-fno-semantic-interposition",
    "-fno-wrapv",
    "-Wall",
    "-Wextra",
    "-Werror",
    "-Wno-unused-parameter",
]
# What the host engine allocates with: buffers of exactly a blob's or an arena's size, so
# that a sanitizer sees a one-byte overrun.
LIBC_CDEF = "int posix_memalign(void **, size_t, size_t);\nvoid free(void *);\n"

_lock = threading.Lock()


class NativeBuildError(BuildError):
    pass


def _headers() -> list[Path]:
    return list(HEADERS)


def _strip(text: str) -> str:
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return re.sub(r"//[^\n]*", "", text)


def _cdef(headers: list[Path]) -> str:
    """Declarations for cffi: the headers without comments and preprocessor lines, but
    with their integer constants (cffi takes `#define NAME 42`)."""
    lines = []
    for ln in _strip("\n".join(h.read_text() for h in headers)).splitlines():
        if not ln.lstrip().startswith("#"):
            lines.append(ln)
            continue
        m = re.match(r"\s*#define\s+(\w+)\s+\(?\s*(0x[0-9a-fA-F]+|\d+)[uU]?\s*\)?\s*$", ln)
        if m:
            lines.append(f"#define {m.group(1)} {m.group(2)}")
    return "\n".join(lines)


def sources() -> list[Path]:
    return sorted(p for d in C_DIRS for p in d.rglob("*.c"))


@cache
def source_hash() -> str:
    """A hash of the C core's sources and headers: what a build of it, or a measurement
    of its kernels, depends on."""
    h = hashlib.sha256()
    for p in sorted(p for d in C_DIRS for p in d.rglob("*.h")) + sources():
        h.update(str(p.relative_to(CMODULES_DIR)).encode() + b"\0" + p.read_bytes())
    return h.hexdigest()


@cache
def load():
    """(ffi, lib) for the C core, building it first if needed."""
    import cffi

    headers = _headers()
    srcs = sources()
    flags = CFLAGS + os.environ.get("MICROAI_HOST_CFLAGS", "").split()
    cdef = _cdef(headers) + LIBC_CDEF
    h = hashlib.sha256(cdef.encode())
    h.update(source_hash().encode())
    h.update(" ".join(flags).encode())
    key = h.hexdigest()[:16]
    name = f"_microai_nn_{key}"
    out = BUILD_DIR / "native" / key
    with _lock:
        built = list(out.glob(f"{name}*.so"))
        if not built:
            ffi = cffi.FFI()
            ffi.cdef(cdef)
            includes = "#include <stdlib.h>\n"
            includes += "".join(f'#include "{p.name}"\n' for p in headers)
            ffi.set_source(
                name,
                includes,
                sources=[str(p) for p in srcs],
                include_dirs=[str(d) for d in C_DIRS],
                extra_compile_args=flags,
                extra_link_args=[f for f in flags if f.startswith("-fsanitize")],
            )
            out.mkdir(parents=True, exist_ok=True)
            if not os.environ.get("PYTEST_CURRENT_TEST"):
                sys.stderr.write(
                    f"microai: building the host engine (the C core) with the system C "
                    f"compiler into {out}; once per version of the sources\n"
                )
            try:
                ffi.compile(tmpdir=str(out), verbose=False)
            except Exception as e:  # distutils' CompileError and friends
                raise NativeBuildError(f"building the C core failed: {e}") from None
            built = list(out.glob(f"{name}*.so"))
        spec = importlib.util.spec_from_file_location(name, built[0])
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    return module.ffi, module.lib


def pack(ctype: str, fields: dict) -> bytes:
    """The bytes of C struct `ctype` (e.g. "nn_conv_params") with the given field values,
    laid out by the C compiler's rules as the runtime reads them."""
    ffi, _ = load()
    return bytes(ffi.buffer(ffi.new(f"{ctype} *", fields)))


@dataclass(frozen=True)
class Kernel:
    """A row of the C kernel table."""

    id: int  # nn_kernel
    name: str  # e.g. "CONV_IM2COL_S8"
    op: str  # the mai_op_type it runs, e.g. "CONV"
    algorithm: str  # what a recipe calls it, e.g. "im2col"
    weights: str = "none"  # the format of its weights (table()["weights"]; "none": no weights)


@cache
def table() -> dict:
    """The C table (runtime/mai_table.h) as the host reads it, never a second list:
    {"ops": {name: type}, "op_params": {name: params struct}, "kernels": {name: Kernel}
    in the host's order of preference, "storages": {name: (id, bits)}, "weights":
    {format: (storage, layout)} (blob.STORAGES and blob.LAYOUTS keys)}."""
    ffi, lib = load()

    def s(p) -> str | None:
        return None if p == ffi.NULL else ffi.string(p).decode()

    ops = {s(lib.mai_op_name(t)): t for t in range(lib.MAI_OP_COUNT) if s(lib.mai_op_name(t))}
    op_params = {name: s(lib.mai_op_params_type(t)) for name, t in ops.items()}
    op_of = {v: k for k, v in ops.items()}
    storage_of = {v: k for k, v in B.STORAGES.items()}
    layout_of = {v: k for k, v in B.LAYOUTS.items()}
    weights = {}
    while name := s(lib.mai_weights_name(len(weights))):
        f = len(weights)
        weights[name.lower()] = (
            storage_of[lib.mai_weights_storage(f)],
            layout_of[lib.mai_weights_layout(f)],
        )
    kernels = {}
    i = 0
    while (k := lib.mai_kernel_order(i)) != lib.NN_KERNEL_NONE:
        name = s(lib.mai_kernel_name(k))
        kernels[name] = Kernel(
            k,
            name,
            op_of[lib.mai_kernel_op(k)],
            s(lib.mai_kernel_algorithm(k)),
            list(weights)[lib.mai_kernel_weights(k)],
        )
        i += 1
    storages = {
        s(lib.mai_storage_name(t)): (t, lib.mai_storage_bits(t))
        for t in range(lib.MAI_STORAGE_COUNT)
    }
    return {
        "ops": ops,
        "op_params": op_params,
        "kernels": kernels,
        "storages": storages,
        "weights": weights,
    }


def unpack(ctype: str, data: bytes) -> dict:
    """The fields of C struct `ctype` read from `data` (pack's inverse): nested structs
    as dicts, arrays as lists."""
    ffi, _ = load()
    if len(data) < ffi.sizeof(ctype):
        raise ValueError(f"{len(data)} bytes for a {ffi.sizeof(ctype)}-byte {ctype}")
    p = ffi.new(f"{ctype} *")
    ffi.memmove(p, data, ffi.sizeof(ctype))

    def value(v, t):
        if t.kind == "struct":
            return {name: value(getattr(v, name), f.type) for name, f in t.fields}
        if t.kind == "array":
            return [value(v[i], t.item) for i in range(t.length)]
        return v

    return value(p[0], ffi.typeof(ctype))


def aligned(n: int):
    """A uint8_t* to exactly n bytes (one if n is 0), 16-byte aligned, zeroed, freed when
    the pointer is collected: a buffer with no slack for an overrun to hide in."""
    ffi, lib = load()
    pp = ffi.new("void **")
    if lib.posix_memalign(pp, 16, max(n, 1)) != 0:
        raise MemoryError(f"cannot allocate {n:,} aligned bytes")
    p = ffi.gc(ffi.cast("uint8_t *", pp[0]), lib.free, size=max(n, 1))
    ffi.memmove(p, bytes(max(n, 1)), max(n, 1))
    return p
