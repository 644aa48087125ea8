"""Shared fixtures: the tfjs parity fixture (test/python/parity-fixture.ts) and the package on sys.path.

The vitest wrapper (test/python/encoder.test.ts) writes the fixture and passes its directory in
GLIMPSE_PARITY_DIR; run by hand (``/usr/bin/python3 -m pytest python/tests``), the fixture is made
here with ``node --import tsx test/python/make-parity-fixture.ts``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

PYTHON_DIR = Path(__file__).resolve().parents[1]
REPO = PYTHON_DIR.parent
sys.path.insert(0, str(PYTHON_DIR))


@pytest.fixture(scope="session")
def parity_dir(tmp_path_factory) -> Path:
    given = os.environ.get("GLIMPSE_PARITY_DIR")
    if given:
        return Path(given)
    d = tmp_path_factory.mktemp("parity")
    subprocess.run(["node", "--import", "tsx", "test/python/make-parity-fixture.ts", str(d)], cwd=REPO, check=True, timeout=300)
    return d


@pytest.fixture(scope="session")
def parity_cases(parity_dir: Path) -> list:
    return json.loads((parity_dir / "manifest.json").read_text())
