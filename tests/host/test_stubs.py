"""The board module's stubs (microai/stubs/microai.pyi) name what the firmware has: every
public name of the module, of Model (its attributes too) and of Blob, read from the unix
port's firmware; and `microai stubs DIR` writes them where
micropython-stubs users keep board stubs."""

import ast
import json
import re
import subprocess

from click.testing import CliRunner

from microai import paths
from microai.boards import load_board
from microai.cli import main
from microai.firmware import build

# What the firmware has, printed as JSON by the unix port.
PROBE = """
import json, microai
def names(o):
    return sorted(n for n in dir(o) if not n.startswith('_'))
print(json.dumps({'module': names(microai), 'Model': names(microai.Model),
                  'Blob': names(microai.Blob)}))
"""


def model_attributes() -> set[str]:
    # Model's attributes answer in microai_model_attr(), not in dir() on MicroPython.
    c = (paths.CMODULES_DIR / "microai" / "microai_model.c").read_text()
    body = c[c.index("static void microai_model_attr(") :]
    body = body[: body.index("\n}\n")]
    return set(re.findall(r"case MP_QSTR_(\w+):", body))


def stub_names() -> dict[str, list[str]]:
    tree = ast.parse((paths.STUBS_DIR / "microai.pyi").read_text())
    out = {"module": []}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            name = node.name
        elif isinstance(node, ast.AnnAssign):
            name = node.target.id
        else:
            continue
        if name.startswith("_"):
            continue
        out["module"].append(name)
        if isinstance(node, ast.ClassDef):
            out[name] = [
                n.name if isinstance(n, ast.FunctionDef) else n.target.id
                for n in node.body
                if isinstance(n, (ast.FunctionDef, ast.AnnAssign))
                and not (isinstance(n, ast.FunctionDef) and n.name.startswith("_"))
            ]
    return {k: sorted(v) for k, v in out.items()}


def test_stubs_name_what_the_firmware_has():
    firmware = build(load_board("unix"))
    r = subprocess.run(
        [str(firmware), "-c", PROBE], capture_output=True, text=True, timeout=60, check=True
    )
    have = json.loads(r.stdout)
    have["Model"] += model_attributes()
    stubs = stub_names()
    for what in ("module", "Model", "Blob"):
        assert stubs[what] == sorted(set(have[what])), what


def test_microai_stubs_writes_the_typings_folder(tmp_path):
    r = CliRunner().invoke(main, ["stubs", str(tmp_path / "typings"), "--json"])
    assert r.exit_code == 0, r.output
    info = json.loads(r.output)
    written = tmp_path / "typings" / "microai.pyi"
    assert info["written"] == [str(written)]
    assert written.read_text() == (paths.STUBS_DIR / "microai.pyi").read_text()
