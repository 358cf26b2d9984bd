"""`make package` output: a template cfn-lint accepts, and a zip that imports on its own."""
from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT

# What the Lambda Python runtime provides; everything else must come from the zip.
RUNTIME = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six.py")


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, str(ROOT / "infra" / "package.py"), str(out)], cwd=ROOT, check=True,
                   capture_output=True)
    return out


def test_cfn_lint_accepts_the_template(dist: Path) -> None:
    lint = subprocess.run([str(Path(sys.executable).with_name("cfn-lint")), str(dist / "sam.json")],
                          capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout + lint.stderr


def test_the_stack_wires_tables_queues_dlq_and_alarm(dist: Path) -> None:
    template: dict[str, Any] = json.loads((dist / "sam.json").read_text())
    resources = template["Resources"]
    assert {"TicketsTable", "IdempotencyTable", "APIHandler", "SweepUnrouted", "RefreshZaloToken",
            "RestAPI"} <= set(resources)
    for function, queue in (("RouteTickets", "Routing"), ("HandleInbound", "Inbound"),
                            ("SendNotifications", "Notifications")):
        # every consumer reads its queue with partial-batch failures; every queue has a DLQ and an alarm on it
        events = resources[function]["Properties"]["Events"]
        sqs_event = events[f"{function}SqsEventSource"]["Properties"]
        assert sqs_event["Queue"] == {"Fn::Sub": f"${{{queue}Queue.Arn}}"}
        assert sqs_event["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        redrive = resources[f"{queue}Queue"]["Properties"]["RedrivePolicy"]
        assert redrive["deadLetterTargetArn"] == {"Fn::GetAtt": [f"{queue}DLQ", "Arn"]}
        alarm = resources[f"{queue}DLQAlarm"]["Properties"]
        assert alarm["Dimensions"][0]["Value"] == {"Fn::GetAtt": [f"{queue}DLQ", "QueueName"]}
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    assert variables["TICKETS_TABLE"] == {"Ref": "TicketsTable"}
    # the queue's visibility must outlast the consumer's timeout, or messages are handled twice
    timeout = resources["RouteTickets"]["Properties"]["Timeout"]
    for queue in ("RoutingQueue", "InboundQueue", "NotificationsQueue"):
        assert resources[queue]["Properties"]["VisibilityTimeout"] >= 6 * timeout
    # one citizen's messages in order; a FIFO queue needs a FIFO dead-letter queue
    assert resources["InboundQueue"]["Properties"]["FifoQueue"] is True
    assert resources["InboundDLQ"]["Properties"]["FifoQueue"] is True
    # staff sign-in: one pool, its four groups, an app client that may not write the agency attribute
    assert variables["COGNITO_USER_POOL_ID"] == {"Ref": "StaffUserPool"}
    assert variables["COGNITO_CLIENT_ID"] == {"Ref": "StaffUserPoolClient"}
    groups = {r["Properties"]["GroupName"] for r in resources.values() if r["Type"] == "AWS::Cognito::UserPoolGroup"}
    assert groups == {"operator", "agency_officer", "supervisor", "admin"}
    app_client = resources["StaffUserPoolClient"]["Properties"]
    assert "custom:agency" in app_client["ReadAttributes"] and "custom:agency" not in app_client["WriteAttributes"]


def test_the_zip_imports_app_with_only_what_lambda_provides(dist: Path, tmp_path: Path) -> None:
    with zipfile.ZipFile(dist / "deployment.zip") as archive:
        names = archive.namelist()
        archive.extractall(tmp_path / "task")
    assert not any(n.startswith(("botocore/", "boto3/")) for n in names)
    assert (dist / "deployment.zip").stat().st_size < 8_000_000
    # A stand-in for the runtime: only boto3 and its dependencies, taken from this venv.
    runtime = tmp_path / "runtime"
    runtime.mkdir()
    site = Path(__import__("boto3").__file__).resolve().parent.parent
    for name in RUNTIME:
        (runtime / name).symlink_to(site / name)
    probe = (
        "import sys; sys.path[:0] = [sys.argv[1], sys.argv[2]]\n"
        "import pkgutil, importlib, app, chalicelib\n"
        "for m in pkgutil.walk_packages(chalicelib.__path__, 'chalicelib.'): importlib.import_module(m.name)\n"
        "from chalicelib.web.pages import render\n"
        "from chalicelib.domain.phones import normalise_phone\n"
        "assert render('error.html', title='t', message='<b>', province='', hotline='').body.count('&lt;b&gt;') == 1\n"
        "assert normalise_phone('0912345678') == '+84912345678'\n"
        "import aws_lambda_powertools.utilities.idempotency, aws_lambda_powertools.metrics\n"
        "import jwt, jwt.algorithms; assert jwt.algorithms.has_crypto  # RS256 needs cryptography in the zip\n"
        "print('ok', app.app.app_name)\n"
    )
    env = {"AWS_DEFAULT_REGION": "ap-southeast-1", "PATH": "/usr/bin:/bin"}
    result = subprocess.run([sys.executable, "-I", "-S", "-c", probe, str(tmp_path / "task"), str(runtime)],
                            capture_output=True, text=True, env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok hotline1022"


def test_every_cognito_admin_call_the_code_makes_is_in_the_iam_policy() -> None:
    """The emulator does not enforce IAM, so a call missing from the policy would only fail on AWS."""
    import re

    source = (ROOT / "chalicelib" / "identity.py").read_text()
    calls = set(re.findall(r"\.((?:admin|list)_\w+)\(", source)) | set(re.findall(r'get_paginator\("(\w+)"\)', source))
    needed = {"cognito-idp:" + "".join(part.capitalize() for part in call.split("_")) for call in calls}
    overlay = json.loads((ROOT / "infra" / "chalice-overlay.json").read_text())
    granted = {action for statement in overlay["Resources"]["AppDataPolicy"]["Properties"]["PolicyDocument"]["Statement"]
               for action in statement["Action"]}
    assert needed and needed <= granted, needed - granted
