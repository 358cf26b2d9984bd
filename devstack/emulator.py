"""The local AWS: a moto server on 127.0.0.1 and the stack from infra/resources.json.

The app is wired to the stack exactly as on AWS: every environment variable the overlay's
`Globals` sets from a `{"Ref": X}` gets X's physical id from the emulator's stack.
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
INFRA = ROOT / "infra"
DUMMY_AWS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "ap-southeast-1",
    "AWS_REGION": "ap-southeast-1",
}


@dataclass
class LocalStack:
    server: Any
    endpoint: str
    stack_name: str
    resources: dict[str, str]  # logical id -> physical id
    outputs: dict[str, str]

    def stop(self) -> None:
        self.server.stop()


def _stop_instance_tracking() -> None:
    """moto records every model instance it ever creates (for its dashboard's data.json): every
    item version ever written would stay alive. Without the record, a long `make run` or bench
    stays flat."""
    from moto.core import common_models

    def untracked(cls: type, *args: Any, **kwargs: Any) -> Any:
        return object.__new__(cls)

    common_models.BaseModel.__new__ = untracked  # type: ignore[method-assign, assignment]


def start_emulator(port: int = 0) -> tuple[Any, str]:
    """Starts moto on 127.0.0.1 (port 0: any free port); returns (server, endpoint URL).

    Also points this process's AWS configuration at it (dummy credentials, one region).
    """
    import logging
    import warnings

    from moto.server import ThreadedMotoServer

    from devstack import moto_patches

    # The emulator skips resource types it lacks (CloudWatch alarms); that is expected locally.
    warnings.filterwarnings("ignore", message="Tried to parse AWS::")
    for name in ("werkzeug", "moto"):
        logging.getLogger(name).setLevel(logging.ERROR)

    _stop_instance_tracking()
    moto_patches.apply()  # item-level transaction rollback, narrowed queries, one DynamoDB lock
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    host, bound = server.get_host_and_port()
    endpoint = f"http://{host}:{bound}"
    os.environ.update(DUMMY_AWS)
    os.environ["AWS_ENDPOINT_URL"] = endpoint
    return server, endpoint


def create_stack(stack_name: str = "hotline1022-local", timeout: float = 60.0,
                 parameters: dict[str, str] | None = None) -> tuple[dict[str, str], dict[str, str]]:
    """Creates the infra/resources.json stack in the emulator; returns (resources, outputs)."""
    import boto3

    cfn = boto3.client("cloudformation")
    template = (INFRA / "resources.json").read_text(encoding="utf-8")
    cfn.create_stack(StackName=stack_name, TemplateBody=template, Parameters=[
        {"ParameterKey": key, "ParameterValue": value} for key, value in (parameters or {}).items()])
    deadline = time.monotonic() + timeout
    while True:
        stack = cfn.describe_stacks(StackName=stack_name)["Stacks"][0]
        if stack["StackStatus"] == "CREATE_COMPLETE":
            break
        if stack["StackStatus"].endswith("FAILED") or time.monotonic() > deadline:
            raise RuntimeError(f"local stack did not come up: {stack['StackStatus']}")
        time.sleep(0.2)
    resources = {r["LogicalResourceId"]: r["PhysicalResourceId"]
                 for r in cfn.describe_stack_resources(StackName=stack_name)["StackResources"]
                 if "LogicalResourceId" in r}  # moto lists resources it skipped without ids
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    return resources, outputs


def _template() -> dict[str, Any]:
    return json.loads((INFRA / "resources.json").read_text(encoding="utf-8"))


def bootstrap(environment: dict[str, str]) -> None:
    """Creates what the emulator's CloudFormation skips but the app needs: the verified SES sender
    (AWS verifies it by email on the first deploy)."""
    import boto3

    boto3.client("ses").verify_email_identity(EmailAddress=environment["SES_FROM"])


def overlay() -> dict[str, Any]:
    return json.loads((INFRA / "chalice-overlay.json").read_text(encoding="utf-8"))


def wire_environment(resources: dict[str, str], given: dict[str, str] | None = None) -> dict[str, str]:
    """Sets (and returns) the app's resource variables from the overlay's Globals, as AWS would."""
    variables = overlay()["Globals"]["Function"]["Environment"]["Variables"]
    parameters = {name: spec.get("Default", "") for name, spec in _template().get("Parameters", {}).items()}
    parameters.update(given or {})
    wired = {}
    for name, value in variables.items():
        if isinstance(value, dict) and "Ref" in value:
            # a resource the emulator skips (SES configuration set) resolves to "" locally
            wired[name] = resources.get(value["Ref"]) or parameters.get(value["Ref"], "")
        else:
            wired[name] = str(value)
    os.environ.update(wired)
    return wired


def queue_for_handler(handler_name: str, resources: dict[str, str]) -> str:
    """Returns the queue URL the overlay binds to a Chalice SQS handler ('route_tickets')."""
    logical = "".join(part.capitalize() for part in handler_name.split("_"))
    events = overlay()["Resources"][logical]["Properties"]["Events"]
    for source in events.values():
        queue = source["Properties"]["Queue"]["Fn::Sub"]
        return resources[queue.removeprefix("${").removesuffix(".Arn}")]
    raise KeyError(handler_name)


def stage_environment(stage: str) -> dict[str, str]:
    """Sets (and returns) the stage's variables from .chalice/config.json, as Chalice does."""
    config = json.loads((ROOT / ".chalice" / "config.json").read_text(encoding="utf-8"))
    variables = {**config.get("environment_variables", {}),
                 **config["stages"][stage].get("environment_variables", {})}
    os.environ.update(variables)
    return variables


# Resource types the emulator's CloudFormation skips, created through their own APIs from the
# very same template properties (CloudFormation name -> API name where they differ).
_COGNITO_CALLS = {
    "AWS::Cognito::UserPool": ("create_user_pool", {"UserPoolName": "PoolName"},
                               lambda reply: reply["UserPool"]["Id"]),
    "AWS::Cognito::UserPoolClient": ("create_user_pool_client", {},
                                     lambda reply: reply["UserPoolClient"]["ClientId"]),
    "AWS::Cognito::UserPoolGroup": ("create_group", {}, lambda reply: reply["Group"]["GroupName"]),
}


def _resolve(value: Any, resources: dict[str, str]) -> Any:
    if isinstance(value, dict) and set(value) == {"Ref"}:
        return resources[value["Ref"]]
    if isinstance(value, dict):
        return {key: _resolve(item, resources) for key, item in value.items()}
    if isinstance(value, list):
        return [_resolve(item, resources) for item in value]
    return value


def _bucket_cors(bucket: str, cors: dict[str, Any]) -> None:
    """The emulator's CloudFormation ignores a bucket's CorsConfiguration: apply the template's."""
    import boto3

    rules = [{**{k: v for k, v in rule.items() if k != "MaxAge"}, "MaxAgeSeconds": rule.get("MaxAge", 0)}
             for rule in cors["CorsRules"]]
    boto3.client("s3").put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": rules})


def provision_skipped(resources: dict[str, str], parameters: dict[str, str] | None = None) -> dict[str, str]:
    """Creates the template's Cognito user pool, client and groups (which the emulator's
    CloudFormation skips) from their template properties, and applies bucket CORS rules it
    ignores; returns resources with their ids."""
    import boto3

    cognito = boto3.client("cognito-idp")
    resources = dict(resources)
    template = _template()
    values = {name: spec.get("Default", "") for name, spec in template.get("Parameters", {}).items()}
    values.update(parameters or {})
    for logical, spec in template["Resources"].items():  # the template lists a pool before its users
        if spec["Type"] == "AWS::S3::Bucket" and "CorsConfiguration" in spec["Properties"]:
            _bucket_cors(resources[logical], _resolve(spec["Properties"]["CorsConfiguration"], {**values, **resources}))
        call = _COGNITO_CALLS.get(spec["Type"])
        if call is None:
            continue
        method, renames, physical_id = call
        properties = _resolve(spec.get("Properties", {}), resources)
        reply = getattr(cognito, method)(**{renames.get(name, name): value for name, value in properties.items()})
        resources[logical] = physical_id(reply)
    return resources


def bring_up(port: int = 0, stack_name: str = "hotline1022-local", public_origin: str | None = None) -> LocalStack:
    """Starts the emulator, creates the stack (its PublicOrigin: where the local site runs), wires
    the environment; returns the handle."""
    server, endpoint = start_emulator(port)
    parameters = {"PublicOrigin": public_origin} if public_origin else {}
    resources, outputs = create_stack(stack_name, parameters=parameters)
    resources = provision_skipped(resources, parameters)
    bootstrap(wire_environment(resources, parameters))
    return LocalStack(server, endpoint, stack_name, resources, outputs)


def emulator_outbox() -> list[dict[str, str]]:
    """Email (SES) and SMS (SNS) the in-process emulator accepted, for the local outbox page."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends
    from moto.sns.models import sns_backends

    region = DUMMY_AWS["AWS_REGION"]
    mail = [{"provider": "ses", "to": ", ".join(m.destinations.get("ToAddresses", [])),
             "text": f"{m.subject}"} for m in ses_backends[DEFAULT_ACCOUNT_ID][region].sent_messages]
    sms = [{"provider": "sns", "to": number, "text": text}
           for number, text, *_ in sns_backends[DEFAULT_ACCOUNT_ID][region].sms_messages.values()]
    return mail + sms
