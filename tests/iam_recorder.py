"""Records, for the IAM check, every AWS call a Lambda handler of the app makes during the tests.

The emulator enforces no IAM, so a call missing from a function's role would only fail on AWS.
This plug-in tags each call made through the app's shared botocore session (chalicelib/aws.py:
boto3 clients, PynamoDB and the Powertools idempotency layer all use it) with the handler that
was running (`app.app` for the API, `app.<name>` for each event handler: the SAM `Handler`), and
turns it into the IAM requests AWS would authorise: (action, resource ARN, condition keys).
tests/package/test_iam.py checks them against each function's role in the packaged template.

Calls made outside a handler (test set-up, tests calling services directly) are not recorded, as
no deployed function makes them, unless the test runs them `with running("app.<name>")`.
"""
from __future__ import annotations

import contextlib
import contextvars
import json
import os
from typing import Any, Iterator
from urllib.parse import urlsplit

import pytest

ACCOUNT = "123456789012"  # the emulator's account
PARTITION = "aws"
# SAM handler of the function whose code is running ("app.app", "app.route_tickets", ...)
HANDLER: contextvars.ContextVar[str | None] = contextvars.ContextVar("iam_handler", default=None)
CALLS: list[dict[str, Any]] = []
MARK = "after_integration"

# Operations that act on several items through per-item IAM actions.
_TRANSACT_WRITE = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem",
                   "ConditionCheck": "ConditionCheckItem"}
# Batch operations authorised as their single-message action.
_SQS_BATCH = {"SendMessageBatch": "SendMessage", "DeleteMessageBatch": "DeleteMessage",
              "ChangeMessageVisibilityBatch": "ChangeMessageVisibility"}


def _region(context: dict[str, Any]) -> str:
    return context.get("client_region") or os.environ.get("AWS_REGION") or os.environ["AWS_DEFAULT_REGION"]


def _arn(service: str, region: str, resource: str) -> str:
    return f"arn:{PARTITION}:{service}:{region}:{ACCOUNT}:{resource}"


def _address(source: str) -> str:
    """'Name <a@b>' -> 'a@b'."""
    return source.rsplit("<", 1)[-1].rstrip(">").strip()


def _dynamodb(operation: str, params: dict[str, Any], region: str) -> list[tuple[str, str, dict[str, str]]]:
    def table(name: str, index: str | None = None) -> str:
        return _arn("dynamodb", region, f"table/{name}" + (f"/index/{index}" if index else ""))

    if operation == "TransactWriteItems":
        return [(f"dynamodb:{_TRANSACT_WRITE[kind]}", table(body["TableName"]), {})
                for item in params["TransactItems"] for kind, body in item.items()]
    if operation == "TransactGetItems":
        return [("dynamodb:GetItem", table(item["Get"]["TableName"]), {}) for item in params["TransactItems"]]
    if operation in ("BatchGetItem", "BatchWriteItem"):
        return [(f"dynamodb:{operation}", table(name), {}) for name in params["RequestItems"]]
    return [(f"dynamodb:{operation}", table(params["TableName"], params.get("IndexName")), {})]


def _sqs(operation: str, params: dict[str, Any], region: str) -> list[tuple[str, str, dict[str, str]]]:
    if "QueueUrl" in params:
        account, name = urlsplit(params["QueueUrl"]).path.strip("/").split("/")[-2:]
        arn = f"arn:{PARTITION}:sqs:{region}:{account}:{name}"
    else:
        arn = _arn("sqs", region, params.get("QueueName", "*"))
    return [(f"sqs:{_SQS_BATCH.get(operation, operation)}", arn, {})]


def _ssm(operation: str, params: dict[str, Any], region: str) -> list[tuple[str, str, dict[str, str]]]:
    names = params.get("Names") or [params.get("Name") or params.get("Path")]
    return [(f"ssm:{operation}", _arn("ssm", region, "parameter/" + str(name).lstrip("/")), {}) for name in names]


def _s3(operation: str, params: dict[str, Any]) -> list[tuple[str, str, dict[str, str]]]:
    bucket = params["Bucket"]
    if operation in ("ListObjects", "ListObjectsV2"):
        return [("s3:ListBucket", f"arn:{PARTITION}:s3:::{bucket}", {"s3:prefix": params.get("Prefix", "")})]
    obj = f"arn:{PARTITION}:s3:::{bucket}/{params['Key']}"
    if operation in ("GetObject", "HeadObject"):
        return [("s3:GetObject", obj, {})]
    if operation == "CopyObject":
        source = params["CopySource"]
        source = source if isinstance(source, str) else f"{source['Bucket']}/{source['Key']}"
        tagged = [("s3:PutObjectTagging", obj, {})] if params.get("Tagging") else []
        return [("s3:PutObject", obj, {}), ("s3:GetObject", f"arn:{PARTITION}:s3:::{source.lstrip('/')}", {}),
                *tagged]
    return [(f"s3:{operation}", obj, {})]


def _ses(operation: str, params: dict[str, Any], region: str) -> list[tuple[str, str, dict[str, str]]]:
    # SES authorises a send on the sender identity and, when one is named, on the configuration set;
    # while the account is in the SES sandbox also on each recipient's (verified) identity.
    sender = _address(params["Source"])
    context = {"ses:FromAddress": sender}
    recipients = [address for field in ("ToAddresses", "CcAddresses", "BccAddresses")
                  for address in (params.get("Destination") or {}).get(field, [])]
    needed = [(f"ses:{operation}", _arn("ses", region, f"identity/{identity}"), context)
              for identity in [sender, *(_address(r) for r in recipients)]]
    if params.get("ConfigurationSetName"):
        needed.append((f"ses:{operation}", _arn("ses", region, f"configuration-set/{params['ConfigurationSetName']}"),
                       context))
    return needed


def iam_requests(service: str, operation: str, params: dict[str, Any],
                 region: str) -> list[tuple[str, str, dict[str, str]]]:
    """Returns what AWS authorises for one API call: [(action, resource ARN, condition keys)].

    Unknown operations map to `<prefix>:<Operation>` on "*", which no scoped policy allows: a new
    kind of call fails the check until it is mapped here and granted in infra/iam.py.
    """
    if service == "dynamodb":
        return _dynamodb(operation, params, region)
    if service == "sqs":
        return _sqs(operation, params, region)
    if service == "ssm":
        return _ssm(operation, params, region)
    if service == "s3":
        return _s3(operation, params)
    if service == "ses" and operation in ("SendEmail", "SendRawEmail"):
        return _ses(operation, params, region)
    if service == "sns" and operation == "Publish":
        target = params.get("TopicArn") or params.get("TargetArn")
        # An SMS straight to a phone number has no resource ARN: IAM evaluates it against "*".
        return [("sns:Publish", target or "*", {})]
    if service == "cognito-idp" and "UserPoolId" in params:
        return [(f"cognito-idp:{operation}", _arn("cognito-idp", region, f"userpool/{params['UserPoolId']}"), {})]
    return [(f"{service}:{operation}", "*", {})]


def _record(service: str, operation: str, needed: list[tuple[str, str, dict[str, str]]]) -> None:
    handler = HANDLER.get()
    if handler is not None:
        CALLS.append({"handler": handler, "call": f"{service}.{operation}",
                      "needs": [{"action": a, "resource": r, "context": c} for a, r, c in needed]})


def _on_params(params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
    service = model.service_model.signing_name  # the IAM prefix: dynamodb, sqs, cognito-idp ...
    if model.auth_type == "none":  # e.g. Cognito InitiateAuth: unsigned, no IAM involved
        return
    if context.get("is_presign_request") and model.name == "CreateBucket":
        return  # botocore's presigned POST borrows this model; recorded as PutObject in _on_sign
    _record(service, model.name, iam_requests(service, model.name, params, _region(context)))


def _on_sign(request: Any, **_: Any) -> None:
    """A presigned POST: no call is made, but the browser's upload runs with the signer's
    s3:PutObject permission on that key."""
    policy = request.context.get("s3-presign-post-policy")
    if policy is None:
        return
    bucket = next(c["bucket"] for c in policy["conditions"] if isinstance(c, dict) and "bucket" in c)
    key = request.context["s3-presign-post-fields"]["key"]
    _record("s3", "PresignedPost", [("s3:PutObject", f"arn:{PARTITION}:s3:::{bucket}/{key}", {})])


@contextlib.contextmanager
def running(handler: str) -> Iterator[None]:
    """Records the calls made inside as `handler`'s (for code a handler runs, called directly)."""
    token = HANDLER.set(handler)
    try:
        yield
    finally:
        HANDLER.reset(token)


def _tagged(name_of: Any) -> Any:
    def wrap(original: Any) -> Any:
        def call(self: Any, event: Any, context: Any) -> Any:
            with running(name_of(self)):
                return original(self, event, context)
        call.__wrapped__ = original  # type: ignore[attr-defined]
        return call
    return wrap


def install(botocore_session: Any) -> None:
    """Records calls on the app's shared session. Call it before the first client is created:
    a botocore client copies the session's event hooks when it is made."""
    botocore_session.register("before-parameter-build", _on_params, unique_id="iam-recorder-params")
    botocore_session.register("before-sign.s3.PutObject", _on_sign, unique_id="iam-recorder-presign")


def _patch_chalice() -> None:
    """Tags calls with the handler running: Chalice.__call__ is the API's Lambda entry point
    (SAM Handler `app.app`), EventSourceHandler.__call__ every SQS, SNS and schedule handler's
    (`app.<function name>`), whether chalice.test's lambda_.invoke or devstack's worker calls it."""
    from chalice import app as chalice_app

    if hasattr(chalice_app.Chalice.__call__, "__wrapped__"):
        return
    chalice_app.Chalice.__call__ = _tagged(lambda app: "app.app")(chalice_app.Chalice.__call__)
    chalice_app.EventSourceHandler.__call__ = _tagged(
        lambda handler: f"{handler.func.__module__}.{handler.func.__name__}")(chalice_app.EventSourceHandler.__call__)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", f"{MARK}: runs after every other test (it checks what they recorded)")
    _patch_chalice()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Checks of the recording run last, whatever order the paths were given in."""
    items.sort(key=lambda item: item.get_closest_marker(MARK) is not None)


def dump(path: Any) -> None:
    """Writes the recording (handler, call, IAM requests) as JSON, for a person reading a failure."""
    with open(path, "w", encoding="utf-8") as out:
        json.dump(CALLS, out, indent=1)
