"""The installed package works outside the clone: a wheel built from the clone, into a
fresh venv (its dependencies taken from the project venv, so no network is needed),
run from another folder with its own cache: boards, convert, inspect of a .tflite,
validate, and the board module's stubs are there."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

from microai.paths import ROOT

FIXTURES = ROOT / "tests" / "fixtures" / "models"


def test_wheel_in_a_fresh_venv(tmp_path):
    wheels = tmp_path / "wheels"
    # setuptools copies into build/lib and never removes what the tree no longer has: a
    # source file deleted since the last build would still ship (and fail to compile).
    shutil.rmtree(ROOT / "build" / "lib", ignore_errors=True)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(wheels),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
        timeout=600,
    )
    venv = tmp_path / "v"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    py = venv / "bin" / "python"
    site = subprocess.run(
        [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    # The project venv's packages (numpy, LiteRT...) without its editable microai.
    Path(site, "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    whl = next(wheels.glob("microai-*.whl"))
    subprocess.run(
        [str(py), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(whl)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    work = tmp_path / "elsewhere"
    work.mkdir()
    shutil.copy(FIXTURES / "digits_cnn.tflite", work)
    shutil.copy(FIXTURES / "digits_test.npz", work)
    env = {k: v for k, v in os.environ.items() if k not in ("MICROAI_ROOT", "XDG_CACHE_HOME")}
    env["HOME"] = str(tmp_path / "home")
    exe = str(venv / "bin" / "microai")

    def run(*args) -> str:
        r = subprocess.run(
            [exe, *args],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        assert r.returncode == 0, (args, r.stderr)
        return r.stdout

    where = json.loads(
        subprocess.run(
            [
                str(py),
                "-c",
                "import json, microai.paths as p; print(json.dumps({"
                "'root': str(p.ROOT), 'clone': p.CLONE, 'build': str(p.BUILD_DIR), "
                "'stub': (p.STUBS_DIR / 'microai.pyi').is_file()}))",
            ],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    assert not where["clone"] and where["stub"]
    assert where["root"].startswith(site) and where["build"].startswith(env["HOME"])
    boards = json.loads(run("boards", "--json"))
    assert {b["name"] for b in boards} >= {"QEMU_STM32F405", "QEMU_STM32F205", "QEMU_M7"}
    run("convert", "digits_cnn.tflite", "-o", "d.mai")
    assert (work / "d.mai").stat().st_size > 0
    info = json.loads(run("inspect", "digits_cnn.tflite", "--json"))
    assert info["layers"] and info["arena_bytes"] > 0
    r = json.loads(run("validate", "digits_cnn.tflite", "--data", "digits_test.npz", "--json"))
    assert r["top1"] > 0.95
    # The C core was built in the user's cache, not in the clone.
    assert list(Path(where["build"], "native").glob("*/*.so"))
