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
import threading
from functools import cache
from pathlib import Path

from . import BuildError
from .paths import BUILD_DIR, CMODULES_DIR

NN_DIR = CMODULES_DIR / "microai" / "nn"
# Headers whose declarations Python sees, in dependency order.
HEADERS = ["nn_types.h", "nn_functions.h", "mai_blob.h", "mai_exec.h"]
# -fno-wrapv: Python builds extensions with -fwrapv, which would make signed overflow
# defined here (and hide it from UBSan) though the firmware does not build that way.
CFLAGS = [
    "-std=c99",
    "-O2",
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
    return [NN_DIR / h for h in HEADERS]


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
    return sorted(NN_DIR.rglob("*.c"))


@cache
def load():
    """(ffi, lib) for the C core, building it first if needed."""
    import cffi

    headers = _headers()
    srcs = sources()
    flags = CFLAGS + os.environ.get("MICROAI_HOST_CFLAGS", "").split()
    cdef = _cdef(headers) + LIBC_CDEF
    h = hashlib.sha256(cdef.encode())
    for p in headers + srcs:
        h.update(str(p.relative_to(NN_DIR)).encode() + b"\0" + p.read_bytes())
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
                include_dirs=[str(NN_DIR)],
                extra_compile_args=flags,
                extra_link_args=[f for f in flags if f.startswith("-fsanitize")],
            )
            out.mkdir(parents=True, exist_ok=True)
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
