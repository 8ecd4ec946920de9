"""Where the project's files are: boards, C module, firmware scripts and build outputs.

The package is installed in editable mode from the repository (`make setup`), so the
repository root is two levels above this file; MICROAI_ROOT overrides it.
"""

import os
from pathlib import Path

ROOT = Path(os.environ.get("MICROAI_ROOT") or Path(__file__).resolve().parents[2])
BOARDS_DIR = ROOT / "boards"
CMODULES_DIR = ROOT / "cmodules"
FIRMWARE_DIR = ROOT / "firmware"
BUILD_DIR = ROOT / "build"
