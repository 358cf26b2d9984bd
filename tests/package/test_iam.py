"""Least privilege, checked against the packaged template: each Lambda function's own role allows
every AWS call its handler makes in the tests, and little else. The emulator enforces no IAM, so
without this a missing grant would only show as AccessDenied on AWS.

How: tests/iam_recorder.py tags every call on the app's botocore session with the running handler
and turns it into IAM requests (action, resource ARN). The check runs after every other test (its
marker moves it last), so it judges what the whole integration suite recorded, plus a scenario of
its own that runs each of the twelve functions from a cold container, so it never judges nothing.
Each request is evaluated against that function's statements (Deny wins, wildcards, Sub/GetAtt/Ref
resolved to the local stack's physical ids).
"""
from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
import time
import uuid
from fnmatch import fnmatchcase
from typing import Any, Callable
from urllib.parse import urlencode

import pytest

from tests import iam_recorder
from tests.conftest import ROOT, bearer, unique_phone

REGION = "ap-southeast-1"
ACCOUNT, PARTITION = iam_recorder.ACCOUNT, iam_recorder.PARTITION
CONFIGURATION_SET = "hotline1022-iam-check"
Statement = dict[str, Any]


@pytest.fixture(scope="session")
def template(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("iam-dist")
    subprocess.run([sys.executable, str(ROOT / "infra" / "package.py"), str(out)], cwd=ROOT, check=True,
                   capture_output=True)
    return json.loads((out / "sam.json").read_text(encoding="utf-8"))


def iam_spec() -> Any:
    """infra/iam.py, loaded by path (infra/ is not a package, and must not shadow stdlib modules)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("infra_iam", ROOT / "infra" / "iam.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# Reading the template: handlers, roles, statements, intrinsic functions


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def role_statements(template: dict[str, Any], role: str) -> list[Statement]:
    """The role's inline policies plus any policy resource attached to it."""
    resources = template["Resources"]
    documents = [p["PolicyDocument"] for p in resources[role]["Properties"].get("Policies", [])]
    documents += [r["Properties"]["PolicyDocument"] for r in resources.values()
                  if r["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy")
                  and {"Ref": role} in r["Properties"].get("Roles", [])]
    return [statement for document in documents for statement in _listed(document["Statement"])]


def functions(template: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """SAM handler ('app.route_tickets') -> (function logical id, role logical id)."""
    return {r["Properties"]["Handler"]: (name, r["Properties"]["Role"]["Fn::GetAtt"][0])
            for name, r in template["Resources"].items() if r["Type"] == "AWS::Serverless::Function"}


_ARN_OF = {
    "AWS::DynamoDB::Table": lambda i: f"arn:{PARTITION}:dynamodb:{REGION}:{ACCOUNT}:table/{i}",
    "AWS::SQS::Queue": lambda i: f"arn:{PARTITION}:sqs:{REGION}:{ACCOUNT}:{i.rsplit('/', 1)[-1]}",  # Ref: the URL
    "AWS::S3::Bucket": lambda i: f"arn:{PARTITION}:s3:::{i}",
    "AWS::Cognito::UserPool": lambda i: f"arn:{PARTITION}:cognito-idp:{REGION}:{ACCOUNT}:userpool/{i}",
    "AWS::Logs::LogGroup": lambda i: f"arn:{PARTITION}:logs:{REGION}:{ACCOUNT}:log-group:{i}:*",
    "AWS::SNS::Topic": lambda i: i,
}


def resolver(template: dict[str, Any], physical: dict[str, str], parameters: dict[str, str]) -> Callable[[Any], str]:
    """Resolves Ref, Fn::GetAtt Arn and Fn::Sub to strings (physical ids from `physical`, else the
    logical id itself); raises KeyError for anything it cannot resolve."""
    pseudo = {"AWS::Partition": PARTITION, "AWS::Region": REGION, "AWS::AccountId": ACCOUNT}
    defaults = {name: str(spec.get("Default", "")) for name, spec in template.get("Parameters", {}).items()}

    def ref(name: str) -> str:
        if name in pseudo:
            return pseudo[name]
        if name in parameters or name in defaults:
            return parameters.get(name, defaults.get(name, ""))
        if name not in template["Resources"]:
            raise KeyError(f"Ref to nothing: {name}")
        return physical.get(name, name)

    def arn(name: str) -> str:
        return _ARN_OF[template["Resources"][name]["Type"]](ref(name))

    def sub(match: re.Match[str]) -> str:
        name = match.group(1)
        return arn(name.removesuffix(".Arn")) if name.endswith(".Arn") else ref(name)

    def resolve(value: Any) -> str:
        if isinstance(value, str):
            return value
        if "Ref" in value:
            return ref(value["Ref"])
        if "Fn::GetAtt" in value and value["Fn::GetAtt"][1] == "Arn":
            return arn(value["Fn::GetAtt"][0])
        if "Fn::Sub" in value and isinstance(value["Fn::Sub"], str):
            return re.sub(r"\$\{([^}!]+)\}", sub, value["Fn::Sub"])
        raise KeyError(f"cannot resolve {value}")

    return resolve


def _matches(pattern: str, value: str) -> bool:
    """IAM's * and ? wildcards (an ARN never holds '[')."""
    return fnmatchcase(value, pattern.replace("[", "[[]"))


def _applies(statement: Statement, action: str, resource: str, context: dict[str, str],
             resolve: Callable[[Any], str]) -> bool:
    assert not {"NotAction", "NotResource", "NotPrincipal"} & set(statement), "the evaluator reads Action/Resource"
    if not any(_matches(a.lower(), action.lower()) for a in _listed(statement["Action"])):
        return False
    if not any(_matches(resolve(r), resource) for r in _listed(statement["Resource"])):
        return False
    for operator, keys in statement.get("Condition", {}).items():
        for key, expected in keys.items():
            value = context.get(key)
            if value is None:  # a key the request lacks fails the condition
                return False
            wanted = [resolve(e) for e in _listed(expected)]
            if operator == "StringLike" and not any(_matches(e, value) for e in wanted):
                return False
            if operator == "StringEquals" and value not in wanted:
                return False
            if operator not in ("StringLike", "StringEquals"):
                raise AssertionError(f"the evaluator does not know {operator}")
    return True


def allowed(statements: list[Statement], action: str, resource: str, resolve: Callable[[Any], str],
            context: dict[str, str] | None = None) -> bool:
    """IAM's decision for one request: an explicit Deny wins, else any Allow, else denied."""
    def hit(effect: str) -> bool:
        return any(_applies(s, action, resource, context or {}, resolve) for s in statements if s["Effect"] == effect)
    return not hit("Deny") and hit("Allow")


# A run of every function through its main paths, each from a cold container


def _cold_container() -> None:
    """Empties chalicelib's per-container caches (lru_caches, and module globals named `_cache…`:
    settings, clients, secrets, reference data, the Zalo token), as in a new Lambda container: a
    value another function cached would hide this function's call. The boto3 session stays: it
    carries the recording hooks."""
    from chalicelib import aws

    for name, module in list(sys.modules.items()):
        if name.split(".")[0] != "chalicelib":
            continue
        for attr, value in list(vars(module).items()):
            if value is aws._session:
                continue
            if callable(getattr(value, "cache_clear", None)):
                value.cache_clear()
            elif attr.startswith("_cache"):
                if isinstance(value, dict):
                    value.clear()
                else:
                    setattr(module, attr, None)


def _drain_queues() -> None:
    """Runs the three consumers until the queues are empty, each batch in a new container."""
    import app
    from chalicelib.config import settings
    from devstack.worker import poll_once

    consumers = [(app.handle_inbound, "handle_inbound", "inbound_queue_url"),
                 (app.route_tickets, "route_tickets", "routing_queue_url"),
                 (app.send_notifications, "send_notifications", "notifications_queue_url")]
    for _ in range(20):
        handled = 0
        for handler, name, queue in consumers:
            _cold_container()
            handled += poll_once(handler, name, getattr(settings(), queue), 10, wait_s=0)
        if not handled:
            return


@pytest.fixture(scope="module")
def every_function_ran(stack: Any, client: Any, providers: Any, staff: dict[str, str]) -> None:
    """Each of the twelve functions through its main paths, each call from a cold container: the
    check never judges an empty recording, even when this file runs alone."""
    import boto3
    import requests

    from devstack.fakes import seed_provider_secrets
    from devstack.worker import scheduled_event
    from tests.integration.test_channels import gateway_post, zalo_post
    from tests.integration.test_citizen_side import png_with_text

    boto3.client("ses").create_configuration_set(ConfigurationSet={"Name": CONFIGURATION_SET})
    seed_provider_secrets(providers, os.environ["SSM_PREFIX"], token_expires_at=time.time() + 25 * 3600)
    json_type = {"Content-Type": "application/json"}
    form_type = {"Content-Type": "application/x-www-form-urlencoded"}
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SES_CONFIGURATION_SET", CONFIGURATION_SET)  # as on AWS (the emulator's stack has none)
        # The API: a photo upload and a report with it, webhooks, the staff inbox and accounts.
        _cold_container()
        photo = png_with_text()
        grant = client.http.post("/api/v1/uploads", headers=json_type,
                                 body=json.dumps({"content_type": "image/png", "size": len(photo)}).encode())
        assert grant.status_code == 201, grant.body
        sent = requests.post(grant.json_body["url"], data=grant.json_body["fields"],
                             files={"file": ("photo", photo, "image/png")}, timeout=10)
        assert sent.status_code in (200, 204), sent.text
        _cold_container()
        report = client.http.post("/", headers=form_type, body=urlencode({
            "description": "Cống tắc, nước ngập cả đoạn đường", "phone": unique_phone(), "confirm_new": "1",
            "photos": grant.json_body["key"]}).encode())
        assert report.status_code == 200, report.body
        for post in (lambda: gateway_post(client, unique_phone(), "Đèn đường hỏng ở xã Bến Cầu"),
                     lambda: zalo_post(client, f"z{uuid.uuid4().int % 10**12}", "Rác ùn ứ trước chợ")):
            _cold_container()
            assert post().status_code == 200
        _cold_container()
        assert client.http.get("/api/v1/staff/tickets", headers=bearer(staff["operator"])).status_code == 200
        admin = {**form_type, "Cookie": f"hl_id={staff['admin']}; hl_csrf=a"}
        email = f"iam-{uuid.uuid4().hex[:6]}@demo.1022.vn"
        for form in ({"email": email, "name": "Tạm", "role": "operator"}, {"disable": email}, {"enable": email}):
            _cold_container()
            answer = client.http.post("/staff/accounts", headers=admin, body=urlencode({"csrf": "a", **form}).encode())
            assert answer.status_code in (200, 303), answer.body
        # The consumers: routing, SES with its configuration set, SNS, the gateways; Zalo rejects
        # the stored token once, so the notifier refreshes it.
        providers.state.access_token = f"rotated-{uuid.uuid4().hex[:6]}"
        _drain_queues()
        # The schedules (the real clock rarely has work due: see _with_work_due), the token
        # refresher (its token near expiry), SES events.
        for name in ("sweep_unrouted", "callback_reminders", "deadline_watch", "daily_digest", "anonymise_expired",
                     "index_search", "export_analytics", "reports", "kb_expiry", "retrain_routing"):
            _cold_container()
            client.lambda_.invoke(name, scheduled_event(name))
        _with_work_due(report_code=_code(report.body.decode()))
        _cold_container()  # a staff search reads the index files the run above wrote
        assert client.http.post("/api/v1/staff/search", headers=bearer(staff["operator"], **json_type),
                                body=json.dumps({"q": "đèn đường"}).encode()).status_code == 200
        seed_provider_secrets(providers, os.environ["SSM_PREFIX"], token_expires_at=time.time() + 60)
        _cold_container()
        assert client.lambda_.invoke("refresh_zalo_token", scheduled_event("refresh")).payload["generation"] == 2
        bounce = {"notificationType": "Bounce", "bounce": {"bouncedRecipients": [{"emailAddress": "iam@example.gov.vn"}]}}
        _cold_container()
        assert client.lambda_.invoke("ses_events", client.events.generate_sns_event(json.dumps(bounce))).payload == {
            "recorded": 1}
    _cold_container()


def _code(html: str) -> str:
    found = re.search(r'id="tracking-code">([^<]+)<', html)
    assert found, html
    return found.group(1)


def _with_work_due(report_code: str) -> None:
    """What each schedule's one-line handler runs, at a clock with work due (a callback to remind,
    a deadline to warn about then escalate, a digest), recorded as that schedule's function."""
    from datetime import datetime, timedelta, timezone

    from chalicelib.services import analytics_export, delivery, routing, schedules, search
    from chalicelib.store import callbacks, tickets

    ticket = tickets.get_ticket(report_code)
    noon = (datetime.now(timezone.utc) + timedelta(days=1)).astimezone(timezone(timedelta(hours=7))).replace(
        hour=12, minute=0)
    callbacks.add(report_code, noon + timedelta(minutes=10), "Hỏi thêm", "operator:iam", "op@example.gov.vn",
                  None, noon)
    runs = [("sweep_unrouted", lambda: (routing.requeue_unrouted(noon + timedelta(days=30)),
                                        delivery.requeue_stale(noon + timedelta(days=30)))),
            ("callback_reminders", lambda: schedules.callback_reminders(noon)),
            ("deadline_watch", lambda: schedules.deadline_watch(ticket.warn_at + timedelta(minutes=1))),
            ("deadline_watch", lambda: schedules.deadline_watch(ticket.due_at + timedelta(minutes=1))),
            ("daily_digest", lambda: schedules.daily_digest(noon)),
            ("anonymise_expired", lambda: _past_retention(report_code)),
            # the search index takes every ticket so far and the anonymised report's request
            ("index_search", lambda: search.index(datetime.now(timezone.utc) + search.SETTLE)),
            # the analytics export of the day the report was made, and of the days of tickets changed that day
            ("export_analytics", lambda: analytics_export.nightly(datetime.now(timezone.utc) + timedelta(days=1))),
            # a knowledge-base article whose valid-until has passed: withdrawn, its owner e-mailed
            ("kb_expiry", lambda: _kb_expired(noon))]
    for name, run in runs:
        _cold_container()
        with iam_recorder.running(f"app.{name}"):
            run()


def _kb_expired(noon: Any) -> None:
    from datetime import timedelta

    from chalicelib.domain.permissions import user_from_claims
    from chalicelib.services import kb

    supervisor = user_from_claims({"sub": "iam-kb", "email": "giamsat@demo.1022.vn", "cognito:groups": ["supervisor"]})
    unrecorded = iam_recorder.HANDLER.set(None)   # the article is the API's work, not the schedule's
    try:
        made = kb.create(supervisor, {"title": "Lịch cắt nước (IAM)", "questions": "khi nào cắt nước",
                                      "answer": "Theo thông báo của công ty cấp nước.", "category": "dien-nuoc",
                                      "agency": "so-xay-dung", "valid_until": noon.date().isoformat()}, noon,
                         action="publish")
    finally:
        iam_recorder.HANDLER.reset(unrecorded)
    assert kb.expire_due(noon + timedelta(days=2))["expired"] >= 1
    assert kb.article(made["id"], user=supervisor)["status"] == "expired"


def _past_retention(code: str) -> None:
    """The retention job on the report (its photo included) once nobody has touched it for five
    years: it is anonymised and its photo deleted."""
    from datetime import datetime, timedelta, timezone

    from chalicelib.domain.retention import purge_shard
    from chalicelib.services import privacy
    from chalicelib.store import tickets
    from chalicelib.store.models import TicketModel

    now = datetime.now(timezone.utc)
    ticket = tickets.get_ticket(code)
    ticket.update(actions=[TicketModel.updated_at.set(now - timedelta(days=5 * 365)),
                           TicketModel.watch_shard.set(purge_shard(code)), TicketModel.watch_stage.set("purge"),
                           TicketModel.watch_at.set((now - timedelta(days=1)).isoformat())])
    assert privacy.anonymise_expired(now)["anonymised"] >= 1
    assert tickets.get_ticket(code).anonymised_at is not None


def local_resolver(template: dict[str, Any], stack: Any) -> Callable[[Any], str]:
    return resolver(template, {**stack.resources, "SesConfigurationSet": CONFIGURATION_SET},
                    {"Stage": "dev", "SesFromAddress": os.environ["SES_FROM"]})


@pytest.mark.after_integration
def test_every_aws_call_a_handler_made_is_allowed_by_its_own_functions_role(
        every_function_ran: None, template: dict[str, Any], stack: Any, tmp_path_factory: pytest.TempPathFactory) -> None:
    record = tmp_path_factory.getbasetemp() / "iam-calls.json"
    iam_recorder.dump(record)
    resolve = local_resolver(template, stack)
    by_handler = functions(template)
    refused, used = set(), set()
    for call in iam_recorder.CALLS:
        function, role = by_handler[call["handler"]]
        statements = role_statements(template, role)
        for need in call["needs"]:
            used.add(function)
            if not allowed(statements, need["action"], need["resource"], resolve, need["context"]):
                refused.add(f"{function} ({call['call']}): {need['action']} on {need['resource']}")
    assert not refused, (f"not allowed by the function's role (add it in infra/iam.py, then "
                         f"`python infra/iam.py`; every call is in {record}):\n" + "\n".join(sorted(refused)))
    # every function ran (a function the recording never saw would pass unchecked)
    assert used == {function for function, _ in by_handler.values()}


# What the template grants, read without running anything


def test_nothing_is_granted_on_every_resource_except_what_aws_cannot_scope(template: dict[str, Any]) -> None:
    wildcard_only = iam_spec().WILDCARD_ONLY
    for function, role in functions(template).values():
        statements = role_statements(template, role)
        assert [p["PolicyName"] for p in template["Resources"][role]["Properties"]["Policies"]] == [f"{function}Policy"]
        for statement in statements:
            actions, resources = _listed(statement["Action"]), _listed(statement["Resource"])
            assert not any("*" in action for action in actions), (function, statement)
            if statement["Effect"] == "Allow" and any("*" in str(r) and "Fn::" not in str(r) for r in resources):
                assert resources == ["*"] and set(actions) <= set(wildcard_only), (function, statement)
        sids = [s.get("Sid", "") for s in statements]
        assert len(set(sids)) == len(sids) and all(re.fullmatch(r"[A-Za-z0-9]+", s) for s in sids), sids
        # its logs go to its own log group, nowhere else
        logs = [s for s in statements if any(a.startswith("logs:") for a in _listed(s["Action"]))]
        assert [s["Resource"] for s in logs] == [{"Fn::GetAtt": [f"{function}LogGroup", "Arn"]}], function


def test_secrets_sms_email_photos_and_accounts_are_each_only_their_functions_business(template: dict[str, Any]) -> None:
    # the prod template, with patterns standing in for physical ids
    resolve = resolver(template, {}, {"Stage": "prod", "SesFromAddress": "hotline1022@example.gov.vn"})
    prod = f"arn:{PARTITION}:ssm:{REGION}:{ACCOUNT}:parameter/hotline1022/prod"
    dev = prod.replace("/prod", "/dev")
    bucket = resolve({"Fn::GetAtt": ["AttachmentsBucket", "Arn"]})
    pool = resolve({"Fn::GetAtt": ["StaffUserPool", "Arn"]})
    topic = f"arn:{PARTITION}:sns:{REGION}:{ACCOUNT}:hotline1022-alarms"
    sender = f"arn:{PARTITION}:ses:{REGION}:{ACCOUNT}:identity/hotline1022@example.gov.vn"

    def who(action: str, resource: str, context: dict[str, str] | None = None) -> set[str]:
        return {function for function, role in functions(template).values()
                if allowed(role_statements(template, role), action, resource, resolve, context)}

    assert who("ssm:GetParameter", f"{dev}/zalo/token") == set()  # no stage reads another's secrets
    assert who("ssm:PutParameter", f"{dev}/zalo/token") == set()  # ... nor burns its refresh token
    assert who("ssm:PutParameter", f"{prod}/zalo/token") == {"RefreshZaloToken", "SendNotifications"}
    assert who("ssm:PutParameter", f"{prod}/zalo_app_secret_key") == set()  # people rotate secrets, not code
    assert who("ssm:GetParameter", f"{prod}/zalo_app_secret_key") == {"APIHandler", "SendNotifications",
                                                                      "RefreshZaloToken"}
    assert who("sns:Publish", "*") == {"SendNotifications"}  # an SMS to a phone number
    assert who("sns:Publish", topic) == set()  # never a topic, even with sns:Publish on "*"
    ours = {"ses:FromAddress": "hotline1022@example.gov.vn"}
    recipient = f"arn:{PARTITION}:ses:{REGION}:{ACCOUNT}:identity/sxd@tayninh.gov.vn"
    assert who("ses:SendEmail", sender, ours) == {"SendNotifications"}
    assert who("ses:SendEmail", recipient, ours) == {"SendNotifications"}  # the SES sandbox checks recipients too
    # never from another sender address, whatever identity the account has verified
    assert who("ses:SendEmail", recipient, {"ses:FromAddress": "someone@else.vn"}) == set()
    assert who("ses:SendEmail", sender) == set()
    assert who("ses:SendRawEmail", sender, ours) == set()
    assert who("s3:PutObject", f"{bucket}/uploads/x/photo.jpg") == {"APIHandler"}
    assert who("s3:PutObject", f"{bucket}/elsewhere/x") == set()
    assert who("s3:PutObject", f"{bucket}/photos/x/photo.jpg") == {"APIHandler", "HandleInbound"}  # Messenger images
    # photos and their public copies are deleted by retention and by an admin's erasure, nothing else
    assert who("s3:DeleteObject", f"{bucket}/photos/x/photo.jpg") == {"APIHandler", "AnonymiseExpired"}
    assert who("s3:DeleteObject", f"{bucket}/public/TN-7KXQ4M/1.jpg") == {"APIHandler", "AnonymiseExpired"}
    assert who("s3:DeleteObject", f"{bucket}/uploads/x/photo.jpg") == set()
    # the analytics export alone writes the anonymised facts, and nothing else
    assert who("s3:PutObject", f"{bucket}/analytics/tickets/dt=2026-11-03/part-0.jsonl.gz") == {"ExportAnalytics"}
    assert who("cognito-idp:AdminCreateUser", pool) == {"APIHandler"}
    # a month without a search file is 404 for whoever reads the files, so that 403 means refused: AWS
    # decides with s3:ListBucket, the key as s3:prefix; nothing else in the bucket can be listed
    assert who("s3:ListBucket", bucket, {"s3:prefix": "search/2026-05.sqlite.gz"}) == {"APIHandler", "IndexSearch"}
    assert who("s3:GetObject", f"{bucket}/search/2026-05.sqlite.gz") == {"APIHandler", "IndexSearch"}
    assert who("s3:ListBucket", bucket, {"s3:prefix": "photos/"}) == set()
    assert who("s3:ListBucket", bucket) == set()
    assert who("dynamodb:Scan", resolve({"Fn::GetAtt": ["TicketsTable", "Arn"]})) == set()


def test_every_aws_operation_the_code_names_is_granted_to_some_function(template: dict[str, Any]) -> None:
    """A backstop for paths no test runs: each `aws.client("x").method(...)` in chalicelib."""
    import botocore.session
    from botocore import xform_name

    session = botocore.session.get_session()
    named: set[tuple[str, str]] = set()
    for path in (ROOT / "chalicelib").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for function in ast.walk(tree):
            if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            clients: dict[str, str] = {}  # local name -> service, for `ssm = aws.client("ssm")`
            for node in ast.walk(function):
                if isinstance(node, ast.Assign) and _service(node.value) and isinstance(node.targets[0], ast.Name):
                    clients[node.targets[0].id] = _service(node.value) or ""
            for node in ast.walk(function):
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                    target = node.func.value
                    service = _service(target) or (clients.get(target.id) if isinstance(target, ast.Name) else None)
                    if service:
                        method = node.func.attr
                        if method in ("get_paginator", "generate_presigned_url"):
                            method = ast.literal_eval(node.args[0])
                        named.add((service, method))
    assert ("cognito-idp", "list_users_in_group") in named  # the scan sees through paginators
    granted = {a.lower() for _, role in functions(template).values() for s in role_statements(template, role)
               if s["Effect"] == "Allow" for a in _listed(s["Action"])}
    missing = set()
    for service, method in named:
        if method == "generate_presigned_post":
            needed = "s3:PutObject"
        else:
            model = session.get_service_model(service)
            operations = {xform_name(op): op for op in model.operation_names}
            operation = model.operation_model(operations[method])
            if operation.auth_type == "none":
                continue
            needed = iam_recorder.iam_requests(model.signing_name, operation.name, _PLACEHOLDER_PARAMS, REGION)[0][0]
        if needed.lower() not in granted:
            missing.add(f"{service}.{method} needs {needed}")
    assert not missing, missing


_PLACEHOLDER_PARAMS: dict[str, Any] = {
    "TableName": "t", "QueueUrl": "https://q/1/q", "Name": "/n", "Bucket": "b", "Key": "k", "Source": "s",
    "UserPoolId": "p", "PhoneNumber": "+84", "CopySource": "b/k", "Entries": [], "TransactItems": [],
    "RequestItems": {"t": {}}}


def _service(node: ast.AST) -> str | None:
    """'ssm' for the expression `aws.client("ssm")`."""
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "client"
            and isinstance(node.func.value, ast.Name) and node.func.value.id == "aws" and node.args
            and isinstance(node.args[0], ast.Constant)):
        return str(node.args[0].value)
    return None


def test_infra_iam_json_is_what_infra_iam_py_writes() -> None:
    assert (ROOT / "infra" / "iam.json").read_text(encoding="utf-8") == iam_spec().render(), \
        "infra/iam.json is stale: run `python infra/iam.py`"


# The template as AWS expands it


def _expanded(template: dict[str, Any]) -> dict[str, Any]:
    """The SAM transform CloudFormation runs (aws-sam-translator), offline."""
    import copy

    from samtranslator.translator.managed_policy_translator import ManagedPolicyLoader
    from samtranslator.translator.transform import transform

    class NoManagedPolicies(ManagedPolicyLoader):
        def __init__(self) -> None:
            self._policy_map: dict[str, str] = {}

        def load(self) -> dict[str, str]:
            return {}

    sam = copy.deepcopy(template)
    for resource in sam["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = "s3://bucket/deployment.zip"
    os.environ.setdefault("AWS_DEFAULT_REGION", REGION)
    return transform(sam, {}, NoManagedPolicies())


def _dependencies(resources: dict[str, Any], name: str) -> set[str]:
    """Every resource `name` waits for: DependsOn, Ref, GetAtt and Sub references, transitively."""
    seen: set[str] = set()

    def references(value: Any) -> set[str]:
        if isinstance(value, dict):
            found = set()
            for key, item in value.items():
                if key == "Ref" and isinstance(item, str):
                    found.add(item)
                elif key == "Fn::GetAtt":
                    found.add(item[0] if isinstance(item, list) else item.split(".")[0])
                elif key == "Fn::Sub":
                    text = item if isinstance(item, str) else item[0]
                    found |= {m.split(".")[0] for m in re.findall(r"\$\{([^}!]+)\}", text)}
                    found |= references(item[1:]) if isinstance(item, list) else set()
                else:
                    found |= references(item)
            return found
        if isinstance(value, list):
            return set().union(*(references(item) for item in value)) if value else set()
        return set()

    pending = [name]
    while pending:
        current = resources[pending.pop()]
        direct = references(current.get("Properties", {})) | set(_listed(current.get("DependsOn", [])))
        for found in direct & set(resources) - seen:
            seen.add(found)
            pending.append(found)
    return seen


def test_each_queue_mapping_can_read_its_queue_from_the_moment_it_is_created(template: dict[str, Any]) -> None:
    expanded = _expanded(template)
    resources = expanded["Resources"]
    resolve = resolver(expanded, {}, {})
    mappings = {name: r for name, r in resources.items() if r["Type"] == "AWS::Lambda::EventSourceMapping"}
    queues = {resolve(r["Properties"]["EventSourceArn"]) for r in mappings.values()}
    assert queues == {resolve({"Fn::GetAtt": [q, "Arn"]}) for q in ("RoutingQueue", "InboundQueue", "NotificationsQueue")}
    for name, mapping in mappings.items():
        queue = resolve(mapping["Properties"]["EventSourceArn"])
        before = _dependencies(resources, name)
        roles = [d for d in before if resources[d]["Type"] == "AWS::IAM::Role"]
        function = mapping["Properties"]["FunctionName"]["Ref"]
        role = resources[function]["Properties"]["Role"]["Fn::GetAtt"][0]
        assert role in roles
        # grants CloudFormation has created by then: the role's inline policies, and policies the mapping waits for
        statements = [s for r in roles for p in resources[r]["Properties"].get("Policies", [])
                      for s in _listed(p["PolicyDocument"]["Statement"])]
        statements += [s for d in before if resources[d]["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy")
                       and {"Ref": role} in resources[d]["Properties"].get("Roles", [])
                       for s in _listed(resources[d]["Properties"]["PolicyDocument"]["Statement"])]
        for action in ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"):
            assert allowed(statements, action, queue, resolve), (name, action)
