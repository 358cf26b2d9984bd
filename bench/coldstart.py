"""Cold start: wall time of a fresh interpreter importing the app, against a bare Chalice app."""
from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import ROOT
from devstack.emulator import DUMMY_AWS

ROUNDS = 15

# The baseline: what any Chalice app talking to DynamoDB and SQS pays at import.
BARE_APP = '''from chalice import Chalice
import boto3

app = Chalice(app_name="bare")
s = boto3.session.Session()
ddb = s.client("dynamodb")
sqs = s.client("sqs")


@app.route("/")
def index():
    return {"hello": "world"}
'''
APP_WITH_CLIENTS = "import app; from chalicelib import aws; aws.client('dynamodb'); aws.client('sqs')"


def _environment() -> dict[str, str]:
    """The same minimal environment for every run: dummy credentials, no emulator endpoint.

    The resource names only need to exist: chalicelib.config reads them when a client is made.
    """
    return {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp"), **DUMMY_AWS,
            "TICKETS_TABLE": "bench-tickets", "IDEMPOTENCY_TABLE": "bench-idempotency",
            "ROUTING_QUEUE_URL": "http://localhost/queue/bench-routing"}


def _wall_ms(code: str, cwd: Path, env: dict[str, str]) -> float:
    """Returns the wall time of `python -c code` in `cwd`, in milliseconds."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, check=True)
    return (time.perf_counter() - start) * 1000


def measure() -> dict[str, Any]:
    """Returns the cold-start medians (ms) and the ratios of the app to the bare baseline."""
    env = _environment()
    with tempfile.TemporaryDirectory(prefix="bench-bare-") as bare_dir:
        (Path(bare_dir) / "app.py").write_text(BARE_APP, encoding="utf-8")
        commands = {"app": ("import app", ROOT), "app_with_clients": (APP_WITH_CLIENTS, ROOT),
                    "bare": ("import app", Path(bare_dir))}
        # One untimed run each writes the .pyc files and warms the page cache for all of them alike.
        for code, cwd in commands.values():
            _wall_ms(code, cwd, env)
        samples: dict[str, list[float]] = {name: [] for name in commands}
        names = list(commands)
        for round_ in range(ROUNDS):
            # Rotating the order keeps any drift of the machine from favouring one command.
            for name in names[round_ % 3:] + names[:round_ % 3]:
                samples[name].append(_wall_ms(*commands[name], env))
    app, with_clients, bare = (statistics.median(samples[name]) for name in names)
    return {
        "cold_start_ratio": round(app / bare, 3),
        "cold_start_app_ms": round(app, 1),
        "cold_start_bare_ms": round(bare, 1),
        "cold_start_ratio_with_clients": round(with_clients / bare, 3),
        "cold_start_app_with_clients_ms": round(with_clients, 1),
    }
