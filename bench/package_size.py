"""The deployment zip, built exactly as `make package` builds it, into bench/output/dist."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bench import ROOT

DIST = Path("bench") / "output" / "dist"  # relative to ROOT; bench/output/ is git-ignored


def measure() -> dict[str, int | None]:
    """Returns {"zip_bytes": size}, or None (with the packager's output on stderr) if it fails.

    A failed build (say, PyPI unreachable) should not throw away the figures already measured.
    """
    built = subprocess.run([sys.executable, "infra/package.py", str(DIST)], cwd=ROOT,
                           capture_output=True, text=True)
    if built.returncode != 0:
        print(f"infra/package.py failed ({built.returncode}):\n{built.stdout}{built.stderr}", file=sys.stderr)
        return {"zip_bytes": None}
    return {"zip_bytes": (ROOT / DIST / "deployment.zip").stat().st_size}
