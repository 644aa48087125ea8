"""``pip install ./python`` in a venv gives a working package: it imports from the venv (not from
the checkout), loads an encoder and has the ``glimpse-encoder`` command. Offline: the venv sees
the system's torch (--system-site-packages) and builds with the system's setuptools."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

from conftest import PYTHON_DIR


def test_pip_install_in_a_venv(tmp_path, parity_dir, parity_cases):
    # Build from a copy: setuptools writes build/ and *.egg-info next to the sources.
    src = tmp_path / "src"
    shutil.copytree(PYTHON_DIR, src, ignore=shutil.ignore_patterns("tests", "build", "*.egg-info", "__pycache__"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(venv)], check=True, timeout=60)
    py = venv / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    subprocess.run([str(py), "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--no-index", str(src)],
                   check=True, timeout=180, env=env, cwd=tmp_path)
    case = parity_cases[0]
    code = (
        "import json, sys, glimpse_encoder\n"
        "from glimpse_encoder import GlimpseEncoder\n"
        f"m = GlimpseEncoder.from_file({str(parity_dir / (case['name'] + '.safetensors'))!r})\n"
        "print(json.dumps({'file': glimpse_encoder.__file__, 'dim': m.embedding_dim}))\n"
    )
    out = json.loads(subprocess.run([str(py), "-c", code], check=True, timeout=120, env=env, cwd=tmp_path, capture_output=True, text=True).stdout)
    assert out["file"].startswith(str(venv)), out
    assert out["dim"] == case["dim"]
    info = subprocess.run([str(venv / "bin" / "glimpse-encoder"), "info", str(parity_dir / f"{case['name']}.safetensors")],
                          check=True, timeout=120, env=env, capture_output=True, text=True)
    assert json.loads(info.stdout)["embeddingDim"] == case["dim"]
