"""One `make package` run shared by the packaging and deployment tests."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT


@pytest.fixture(scope="session")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """dist/ as `make package STAGE=prod` builds it: sam.json, expanded.json, deployment.zip."""
    out = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, str(ROOT / "infra" / "package.py"), str(out)], cwd=ROOT, check=True,
                   capture_output=True, env={**os.environ, "STAGE": "prod"})
    return out
