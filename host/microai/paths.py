"""Where the project's files are: boards, C module, firmware scripts, fixtures, builds.

In a clone (`make setup` installs the package in editable mode) they are the
repository's own folders and builds go to build/. An installed package (`pip install
<clone>` or a wheel) carries the same folders as package data (microai/_data: boards,
cmodules, firmware, the demo's fixtures) and builds under the user's cache
($XDG_CACHE_HOME/microai/<version>, else ~/.cache/...). MICROAI_ROOT points at another
tree (a clone) instead.
"""

import os
from pathlib import Path

from . import __version__

_HERE = Path(__file__).resolve().parent
_CLONE = _HERE.parents[1]


def _in_clone(root: Path) -> bool:
    return (root / "cmodules").is_dir() and (root / "boards").is_dir() and (root / "host").is_dir()


if os.environ.get("MICROAI_ROOT"):
    ROOT = Path(os.environ["MICROAI_ROOT"])
    CLONE = True
elif _in_clone(_CLONE):
    ROOT, CLONE = _CLONE, True
else:
    ROOT, CLONE = _HERE / "_data", False

BOARDS_DIR = ROOT / "boards"
CMODULES_DIR = ROOT / "cmodules"
FIRMWARE_DIR = ROOT / "firmware"
FIXTURES_DIR = ROOT / "tests" / "fixtures" / "models" if CLONE else ROOT / "fixtures"
if CLONE:
    BUILD_DIR = ROOT / "build"
else:
    _cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    BUILD_DIR = _cache / "microai" / __version__
STUBS_DIR = _HERE / "stubs"
