"""`make package` output: a template and its real SAM expansion that cfn-lint accepts, wired as
Lambda requires, with alarms that reach someone; and a zip that imports on its own under the
Lambda runtime's Python."""
from __future__ import annotations

import glob
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT

# What the Lambda Python runtime provides; everything else must come from the zip.
RUNTIME = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six.py")
LAMBDA_PYTHON = "3.13"  # the functions' runtime, python3.13
TOPIC = [{"Ref": "AlarmTopic"}]


def _load(dist: Path, name: str) -> dict[str, Any]:
    return json.loads((dist / name).read_text())


def _of_type(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in template["Resources"].items() if r["Type"] == kind}


def _queue(reference: Any) -> str:
    """The queue resource named by {"Fn::Sub": "${X.Arn}"} or {"Fn::GetAtt": [X, "Arn"]}."""
    if "Fn::GetAtt" in reference:
        return str(reference["Fn::GetAtt"][0])
    match = re.fullmatch(r"\$\{(\w+)\.Arn\}", reference["Fn::Sub"])
    assert match, reference
    return match.group(1)


def test_cfn_lint_accepts_the_template_and_its_sam_expansion(dist: Path) -> None:
    lint = subprocess.run([str(Path(sys.executable).with_name("cfn-lint")), str(dist / "sam.json"),
                           str(dist / "expanded.json")], capture_output=True, text=True, check=False)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    # the expansion is what CloudFormation creates: no SAM left, and the mappings lint never saw in sam.json
    expanded = _load(dist, "expanded.json")
    assert "Transform" not in expanded
    assert not [r for r in expanded["Resources"].values() if r["Type"].startswith("AWS::Serverless::")]
    assert len(_of_type(expanded, "AWS::Lambda::EventSourceMapping")) == 3


def test_the_stack_wires_tables_queues_dlq_and_alarm(dist: Path) -> None:
    template = _load(dist, "sam.json")
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


def test_queue_mappings_are_ones_lambda_accepts_and_bounded(dist: Path) -> None:
    """On the expansion, what Lambda will be asked to create: no batching window on the FIFO queue
    (refused), a concurrency cap on every mapping, and a consumer that cannot outlive its batch."""
    from chalicelib.notify.base import TIMEOUT_S

    expanded = _load(dist, "expanded.json")
    resources = expanded["Resources"]
    caps = {}
    for mapping in _of_type(expanded, "AWS::Lambda::EventSourceMapping").values():
        properties = mapping["Properties"]
        queue = resources[_queue(properties["EventSourceArn"])]["Properties"]
        function = properties["FunctionName"]["Ref"]
        timeout = resources[function]["Properties"]["Timeout"]
        if queue.get("FifoQueue"):
            assert "MaximumBatchingWindowInSeconds" not in properties, function
        caps[function] = properties["ScalingConfig"]["MaximumConcurrency"]
        assert caps[function] >= 2  # Lambda's minimum
        # SQS hands a message to another consumer when its visibility ends: 6 x the timeout, as AWS advises
        assert queue["VisibilityTimeout"] >= 6 * timeout, function
        if function == "SendNotifications":
            # each message may take two provider calls (a Zalo token refresh, then the send), each up to
            # TIMEOUT_S; the rest (DynamoDB, SSM, a cold start) gets a margin
            assert properties["BatchSize"] * 2 * TIMEOUT_S + 10 <= timeout
            # the AWS senders too: one attempt each within TIMEOUT_S (botocore's defaults: 60 s reads, 3 tries)
            from chalicelib import aws

            for service in ("ses", "sns"):
                config = aws.client(service).meta.config
                assert config.retries["total_max_attempts"] == 1, service  # no retry inside the call
                assert config.connect_timeout + config.read_timeout <= TIMEOUT_S, service
    # a slow provider must not fan out: the sender runs the fewest copies
    assert caps["SendNotifications"] == min(caps.values())
    assert set(caps) == {"RouteTickets", "HandleInbound", "SendNotifications"}


def test_every_function_runs_the_lambda_python_logs_to_its_group_and_is_alarmed(dist: Path) -> None:
    expanded = _load(dist, "expanded.json")
    resources = expanded["Resources"]
    functions = _of_type(expanded, "AWS::Lambda::Function")
    assert len(functions) == 16
    alarms = _of_type(expanded, "AWS::CloudWatch::Alarm")
    lambda_alarms = {(a["Properties"]["MetricName"], a["Properties"]["Dimensions"][0]["Value"]["Ref"])
                     for a in alarms.values() if a["Properties"].get("Namespace") == "AWS/Lambda"}
    for name, function in functions.items():
        properties = function["Properties"]
        assert properties["Runtime"] == f"python{LAMBDA_PYTHON}", name
        # its own log group, with a retention, so nothing is kept forever in an implicit one
        assert properties["LoggingConfig"] == {"LogGroup": {"Ref": f"{name}LogGroup"}}, name
        assert resources[f"{name}LogGroup"]["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
        # scheduled and SNS-triggered ones too: a failing RefreshZaloToken must not be silent
        assert {("Errors", name), ("Throttles", name)} <= lambda_alarms, name
    assert expanded["Parameters"]["LogRetentionDays"]["Default"] == 90  # packaged for prod
    for name, alarm in alarms.items():
        properties = alarm["Properties"]
        assert properties["AlarmActions"] == TOPIC and properties["OKActions"] == TOPIC, name
        assert properties["TreatMissingData"] in ("notBreaching", "breaching"), name
        assert len(properties["AlarmDescription"]) > 80 and "What to do" in properties["AlarmDescription"], name
    subscription = resources["AlarmEmailSubscription"]
    assert subscription["Condition"] == "HasAlarmEmail" and subscription["Properties"]["Protocol"] == "email"
    assert expanded["Parameters"]["AlarmEmail"]["Default"] == ""


def test_a_failing_schedule_or_sns_handler_leaves_its_event_in_a_watched_queue(dist: Path) -> None:
    """Lambda retries asynchronous invocations twice, then drops them unless there is an on-failure destination."""
    expanded = _load(dist, "expanded.json")
    resources = expanded["Resources"]
    configs = {c["Properties"]["FunctionName"]["Ref"]: c["Properties"]
               for c in _of_type(expanded, "AWS::Lambda::EventInvokeConfig").values()}
    asynchronous = {name for name, r in _of_type(expanded, "AWS::Lambda::Permission").items()
                    if r["Properties"]["Principal"] in ("events.amazonaws.com", "sns.amazonaws.com")}
    invoked = {resources[name]["Properties"]["FunctionName"]["Ref"] for name in asynchronous}
    assert invoked == {"SweepUnrouted", "CallbackReminders", "DeadlineWatch", "DailyDigest", "AnonymiseExpired",
                       "IndexSearch", "RefreshZaloToken", "SesEvents", "ExportAnalytics", "Reports", "KbExpiry",
                       "RetrainRouting"}
    assert set(configs) == invoked
    for function, config in configs.items():
        destination = config["DestinationConfig"]["OnFailure"]["Destination"]
        assert destination == {"Fn::GetAtt": ["ScheduleFailuresQueue", "Arn"]}, function
        # Lambda sends to the destination with the function's own role
        role = resources[function]["Properties"]["Role"]["Fn::GetAtt"][0]
        statements = resources[role]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
        assert any("sqs:SendMessage" in s["Action"] and destination in (s["Resource"] if isinstance(s["Resource"], list)
                                                                        else [s["Resource"]]) for s in statements), function
    watched = {a["Properties"]["Dimensions"][0]["Value"]["Fn::GetAtt"][0]
               for a in _of_type(expanded, "AWS::CloudWatch::Alarm").values()
               if a["Properties"].get("Namespace") == "AWS/SQS" and a["Properties"]["MetricName"] ==
               "ApproximateNumberOfMessagesVisible"}
    assert "ScheduleFailuresQueue" in watched


def test_a_stage_without_zalo_never_runs_the_token_refresher(dist: Path) -> None:
    """With ZaloEnabled=false there is no token: the refresher would fail twice a day and page someone."""
    expanded = _load(dist, "expanded.json")
    rules = [r["Properties"] for r in _of_type(expanded, "AWS::Events::Rule").values()
             if r["Properties"]["Targets"][0]["Arn"] == {"Fn::GetAtt": ["RefreshZaloToken", "Arn"]}]
    assert rules == [{**rules[0], "State": {"Fn::If": ["UsesZalo", "ENABLED", "DISABLED"]}}]
    assert expanded["Conditions"]["UsesZalo"] == {"Fn::Equals": [{"Ref": "ZaloEnabled"}, "true"]}
    others = [r["Properties"] for r in _of_type(expanded, "AWS::Events::Rule").values()
              if r["Properties"] not in rules]
    assert others and all(r.get("State", "ENABLED") == "ENABLED" for r in others)


def test_alarms_watch_queues_dead_letters_the_api_ses_and_what_the_app_reports(dist: Path) -> None:
    expanded = _load(dist, "expanded.json")
    resources = expanded["Resources"]
    alarms = [a["Properties"] for a in _of_type(expanded, "AWS::CloudWatch::Alarm").values()]
    watched = {(a.get("Namespace"), a.get("MetricName"), json.dumps(a.get("Dimensions"), sort_keys=True)) for a in alarms}

    def queue_watched(metric: str, queue: str) -> bool:
        dims = json.dumps([{"Name": "QueueName", "Value": {"Fn::GetAtt": [queue, "QueueName"]}}], sort_keys=True)
        return ("AWS/SQS", metric, dims) in watched

    dead_letter = {r["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
                   for r in _of_type(expanded, "AWS::SQS::Queue").values() if "RedrivePolicy" in r["Properties"]}
    # the schedule-failures queue is an on-failure destination, itself a dead letter (tested above)
    main_queues = set(_of_type(expanded, "AWS::SQS::Queue")) - dead_letter - {"ScheduleFailuresQueue"}
    assert len(dead_letter) == 3 and len(main_queues) == 3
    assert all(queue_watched("ApproximateNumberOfMessagesVisible", q) for q in dead_letter)
    assert all(queue_watched("ApproximateAgeOfOldestMessage", q) for q in main_queues)
    # API 5xx rate on the stage the site is served from, by an API name unique to the stack
    stage = next(r["Properties"]["StageName"] for r in _of_type(expanded, "AWS::ApiGateway::Stage").values())
    api_metrics = [m["MetricStat"]["Metric"] for a in alarms for m in a.get("Metrics", []) if "MetricStat" in m]
    assert {m["MetricName"] for m in api_metrics if m["Namespace"] == "AWS/ApiGateway"} == {"5XXError", "Count"}
    assert all(m["Dimensions"] == [{"Name": "ApiName", "Value": {"Ref": "AWS::StackName"}},
                                   {"Name": "Stage", "Value": stage}] for m in api_metrics)
    assert resources["RestAPI"]["Properties"]["Name"] == {"Ref": "AWS::StackName"}
    assert ("AWS/SES", "Reputation.BounceRate", "[]") in watched
    assert ("AWS/SES", "Reputation.ComplaintRate", "[]") in watched
    by_metric = {a["MetricName"]: a for a in alarms if a.get("Namespace") == "Hotline1022"}
    assert by_metric["OutboundDead"]["Period"] == 900 and by_metric["OutboundDead"]["Threshold"] == 1
    # the token lives 25 h and is refreshed about every 24 h: no refresh in 30 hourly periods means it expired;
    # silence is the problem here, so missing data breaches
    zalo = by_metric["ZaloTokenRefreshed"]
    assert (zalo["Period"] * zalo["EvaluationPeriods"], zalo["DatapointsToAlarm"], zalo["ComparisonOperator"],
            zalo["Threshold"], zalo["TreatMissingData"]) == (30 * 3600, 30, "LessThanThreshold", 1, "breaching")
    assert 25 * 3600 < zalo["Period"] * zalo["EvaluationPeriods"] <= 7 * 86400  # CloudWatch's longest window


def test_the_app_metrics_alarmed_on_are_emitted_by_the_code_as_alarmed(dist: Path, capsys: pytest.CaptureFixture[str],
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """An alarm on a metric nobody emits, or with other dimensions, never fires: emit each one
    through the app's own helper, with the environment Chalice gives the functions, and compare."""
    from chalicelib.observability import count

    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    for name, value in config["environment_variables"].items():
        monkeypatch.setenv(name, value)
    alarms = [a["Properties"] for a in _of_type(_load(dist, "expanded.json"), "AWS::CloudWatch::Alarm").values()
              if a["Properties"].get("Namespace") == "Hotline1022"]
    source = "\n".join(path.read_text() for path in (ROOT / "chalicelib").rglob("*.py"))
    assert {a["MetricName"] for a in alarms} == {"OutboundDead", "ZaloTokenRefreshed", "WebhookRejected",
                                                 "FacebookTokenRejected"}
    for alarm in alarms:
        assert re.search(rf"""["']{alarm["MetricName"]}["']""", source), f"nothing in chalicelib emits {alarm['MetricName']}"
        capsys.readouterr()
        # as the code emits it: WebhookRejected with its provider and reason (chalicelib/services/call_control.py)
        count(alarm["MetricName"], **{d["Name"]: d["Value"] for d in alarm["Dimensions"] if d["Name"] != "service"})
        emitted = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
        directive = emitted["_aws"]["CloudWatchMetrics"][0]
        assert directive["Namespace"] == alarm["Namespace"]
        assert [m["Name"] for m in directive["Metrics"]] == [alarm["MetricName"]]
        assert [sorted(names) for names in directive["Dimensions"]] == [sorted(d["Name"] for d in alarm["Dimensions"])]
        assert all(emitted[d["Name"]] == d["Value"] for d in alarm["Dimensions"])


def test_data_survives_a_mistaken_delete_and_the_bucket_is_tls_only(dist: Path) -> None:
    resources = _load(dist, "expanded.json")["Resources"]
    for table in ("TicketsTable", "IdempotencyTable"):
        assert resources[table]["Properties"]["DeletionProtectionEnabled"] is True
        assert (resources[table]["DeletionPolicy"], resources[table]["UpdateReplacePolicy"]) == ("RetainExceptOnCreate", "Retain")
    assert resources["TicketsTable"]["Properties"]["PointInTimeRecoverySpecification"] == \
        {"PointInTimeRecoveryEnabled": True}
    bucket = resources["AttachmentsBucket"]
    assert (bucket["DeletionPolicy"], bucket["UpdateReplacePolicy"]) == ("RetainExceptOnCreate", "Retain")
    assert bucket["Properties"]["VersioningConfiguration"] == {"Status": "Enabled"}
    # a deleted photo's old versions do not live forever
    assert any(rule.get("NoncurrentVersionExpiration", {}).get("NoncurrentDays", 0) > 0
               for rule in bucket["Properties"]["LifecycleConfiguration"]["Rules"])
    # knowledge-base PDFs uploaded but never saved go after 2 days; a superseded KB index file (tagged when
    # replaced: chalicelib/store/kb.retire_index) after a day, the current one (never tagged) never
    rules = {rule["Id"]: rule for rule in bucket["Properties"]["LifecycleConfiguration"]["Rules"]}
    assert (rules["kb-unclaimed-uploads"]["Prefix"], rules["kb-unclaimed-uploads"]["ExpirationInDays"]) == (
        "kb/uploads/", 2)
    from chalicelib.store import kb as kb_store

    index_rule = rules["superseded-kb-indexes"]
    assert (index_rule["Prefix"], index_rule["ExpirationInDays"]) == (kb_store.INDEX_PREFIX, 1)
    assert index_rule["TagFilters"] == [{"Key": kb_store.SUPERSEDED_TAG[0], "Value": kb_store.SUPERSEDED_TAG[1]}]
    assert not [r for r in rules.values() if r["Status"] == "Enabled" and "ExpirationInDays" in r
                and "TagFilters" not in r and kb_store.INDEX_PREFIX.startswith(r.get("Prefix", ""))]
    statements = resources["AttachmentsBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert {"Effect": "Deny", "Principal": "*", "Action": "s3:*",
            "Condition": {"Bool": {"aws:SecureTransport": "false"}}}.items() <= statements[0].items()
    assert resources["AttachmentsBucketPolicy"]["Properties"]["Bucket"] == {"Ref": "AttachmentsBucket"}


def _lambda_python() -> str | None:
    """A python3.13 interpreter to stand in for the runtime, if this machine has one."""
    candidates = [shutil.which(f"python{LAMBDA_PYTHON}"),
                  *sorted(glob.glob(os.path.expanduser(f"~/.pyenv/versions/{LAMBDA_PYTHON}*/bin/python{LAMBDA_PYTHON}")))]
    check = f"import sys; assert '%d.%d' % sys.version_info[:2] == '{LAMBDA_PYTHON}'"
    for candidate in candidates:
        if candidate and subprocess.run([candidate, "-c", check], capture_output=True, check=False).returncode == 0:
            return candidate
    return None


def test_the_zip_imports_app_with_only_what_lambda_provides(dist: Path, tmp_path: Path) -> None:
    with zipfile.ZipFile(dist / "deployment.zip") as archive:
        names = archive.namelist()
        wheel_tags = {n: archive.read(n).decode() for n in names if n.endswith(".dist-info/WHEEL")}
        archive.extractall(tmp_path / "task")
    assert not any(n.startswith(("botocore/", "boto3/")) for n in names)
    assert (dist / "deployment.zip").stat().st_size < 8_000_000
    # compiled code built for the runtime's Python and Amazon Linux (cp313 or the stable ABI, manylinux x86_64)
    tag = "cp" + LAMBDA_PYTHON.replace(".", "")
    extensions = [n for n in names if n.endswith(".so")]
    assert extensions and all(f".cpython-{tag[2:]}-x86_64-linux-gnu.so" in n or n.endswith(".abi3.so")
                              for n in extensions), extensions
    for wheel, text in wheel_tags.items():
        tags = re.findall(r"^Tag: (\S+)$", text, re.MULTILINE)
        if all(t.endswith("-none-any") for t in tags):
            continue
        assert any(re.fullmatch(rf"cp\d+-({tag}|abi3)-manylinux\w*_x86_64", t) for t in tags), (wheel, tags)
    python = _lambda_python()
    if python is None:
        pytest.skip(f"no python{LAMBDA_PYTHON} here to import the zip with (its extensions' tags were checked)")
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
        "import aws_lambda_powertools.utilities.batch\n"
        "import markupsafe._speedups  # the compiled one, built for this Python\n"
        "import jwt, jwt.algorithms; assert jwt.algorithms.has_crypto  # RS256 needs cryptography in the zip\n"
        "print('ok', app.app.app_name, '%d.%d' % sys.version_info[:2])\n"
    )
    env = {"AWS_DEFAULT_REGION": "ap-southeast-1", "PATH": "/usr/bin:/bin"}
    result = subprocess.run([python, "-I", "-S", "-c", probe, str(tmp_path / "task"), str(runtime)],
                            capture_output=True, text=True, env=env, cwd=tmp_path, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"ok hotline1022 {LAMBDA_PYTHON}"
