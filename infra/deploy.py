"""`make deploy STAGE=prod ARTIFACT_BUCKET=… [AWS_REGION=ap-southeast-1]`: dist/ to a CloudFormation stack.

0. on an update, refuses a table change DynamoDB would reject: more than one global secondary index
   added or removed at once, or any change while an index is still being built;
1. uploads dist/deployment.zip to s3://$ARTIFACT_BUCKET/<stage>/<sha256>.zip (the bucket is created
   if missing; an object already there is not uploaded again);
2. points every function at it and uploads the template too: with the code location it is over
   CloudFormation's 51,200-byte limit for an inline template, so it is deployed by TemplateURL;
3. creates a change set (CREATE or UPDATE, CAPABILITY_IAM and CAPABILITY_AUTO_EXPAND for the SAM
   transform), waits, executes it and waits for the stack;
4. second pass, when PUBLIC_ORIGIN is not given: the API's own origin exists only once the stack
   does (a function referring to RestAPI would be a circular dependency), so the stack is updated
   once more with PublicOrigin = its ExecuteApiOrigin output, if it differs;
5. prints the stack's outputs.

With DRY_RUN=1, or when no AWS credentials are found, it prints every step and call it would make
and calls nothing. Settings come from the environment (see PARAMETERS and the Makefile); secrets
never pass through here (`make secrets`).
`python -m infra.deploy [--dist DIR]`
"""
from __future__ import annotations

import hashlib
import json
import os
import sys
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from infra.package import artifact_key, with_code_location

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_REGION = "ap-southeast-1"
CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"]
INLINE_TEMPLATE_LIMIT = 51_200
# template parameter <- environment variable; unset ones keep their previous value on an update
PARAMETERS = {
    "AlarmEmail": "ALARM_EMAIL",
    "SesFromAddress": "SES_FROM",
    "PublicOrigin": "PUBLIC_ORIGIN",
    "CustomDomainName": "CUSTOM_DOMAIN_NAME",
    "CertificateArn": "CERTIFICATE_ARN",
    "ZaloEnabled": "ZALO_ENABLED",
    "LogRetentionDays": "LOG_RETENTION_DAYS",
    "ZaloSourceCidrs": "ZALO_SOURCE_CIDRS",
    "AndroidGatewaySourceCidrs": "ANDROID_GATEWAY_SOURCE_CIDRS",
    "SmssyncSourceCidrs": "SMSSYNC_SOURCE_CIDRS",
    "EsmsSourceCidrs": "ESMS_SOURCE_CIDRS",
}
_NO_CHANGES = ("didn't contain changes", "No updates are to be performed")


class DeployError(Exception):
    """Something the operator must fix; the message says what."""


class Plan:
    """The settings of one deployment, read from the environment."""

    def __init__(self, env: dict[str, str], dist: Path) -> None:
        self.stage = env.get("STAGE", "prod")
        self.region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or DEFAULT_REGION
        self.stack = env.get("STACK_NAME") or f"hotline1022-{self.stage}"
        self.bucket = env.get("ARTIFACT_BUCKET", "")
        self.bucket_shown = self.bucket or "<ARTIFACT_BUCKET>"
        self.dist = dist
        self.given = {name: env[var] for name, var in PARAMETERS.items() if var in env}
        self.second_pass = "PUBLIC_ORIGIN" not in env
        self.template = json.loads((dist / "sam.json").read_text(encoding="utf-8"))
        packaged_stage = self.template["Parameters"]["Stage"].get("Default")
        if packaged_stage != self.stage:
            raise DeployError(f"{dist}/sam.json was packaged for stage {packaged_stage!r}, not {self.stage!r}: "
                              f"run `make package STAGE={self.stage}` (make deploy does)")
        unknown = set(self.given) - set(self.template["Parameters"])
        if unknown:
            raise DeployError(f"the template has no parameter {', '.join(sorted(unknown))}")
        self.code_key = artifact_key(dist / "deployment.zip", self.stage)
        self.body = json.dumps(with_code_location(self.template, self.bucket_shown, self.code_key),
                               ensure_ascii=False, indent=1).encode("utf-8")
        self.template_key = f"{self.stage}/{hashlib.sha256(self.body).hexdigest()}.template.json"

    @property
    def template_url(self) -> str:
        return f"https://{self.bucket_shown}.s3.{self.region}.amazonaws.com/{self.template_key}"

    def parameters(self, previous: set[str] | None, override: dict[str, str] | None = None) -> list[dict[str, Any]]:
        """CloudFormation Parameters: Stage, the given ones, and (on an update: `previous` is the
        stack's parameter names) every other one the stack already has at its previous value."""
        values = {"Stage": self.stage, **self.given, **(override or {})}
        listed: list[dict[str, Any]] = [{"ParameterKey": k, "ParameterValue": v} for k, v in values.items()]
        for name in sorted((previous or set()) & set(self.template["Parameters"]) - set(values)):
            listed.append({"ParameterKey": name, "UsePreviousValue": True})
        return listed


def _show(call: str, **arguments: Any) -> None:
    print(f"    {call}(" + ", ".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in arguments.items()) + ")")


def dry_run(plan: Plan, reason: str) -> None:
    """Prints what a deployment would do, calling nothing."""
    bucket = plan.bucket_shown
    zip_path = plan.dist / "deployment.zip"
    print(f"DRY RUN ({reason}): nothing is sent to AWS. Stack {plan.stack} in {plan.region}, stage {plan.stage}.")
    if not plan.bucket:
        print("  ARTIFACT_BUCKET is not set: a real deployment needs it (an S3 bucket in the same region).")
    print("0. on an update, check each table gains or loses at most one index and none is still being built")
    _show("cloudformation.describe_stack_resource", StackName=plan.stack, LogicalResourceId="TicketsTable")
    _show("dynamodb.describe_table", TableName="<its physical name>")
    print(f"1. artifact bucket s3://{bucket} (created if missing: public access blocked, encrypted)")
    _show("s3.head_bucket", Bucket=bucket)
    _show("s3.create_bucket", Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": plan.region})
    print(f"2. upload {zip_path} ({zip_path.stat().st_size:,} bytes) unless already there")
    _show("s3.upload_file", Filename=str(zip_path), Bucket=bucket, Key=plan.code_key)
    print(f"3. upload the template with CodeUri s3://{bucket}/{plan.code_key} ({len(plan.body):,} bytes; "
          f"CloudFormation takes at most {INLINE_TEMPLATE_LIMIT:,} inline)")
    _show("s3.put_object", Bucket=bucket, Key=plan.template_key, ContentType="application/json")
    print(f"4. change set on stack {plan.stack}: CREATE if it does not exist, else UPDATE "
          "(parameters not given keep their previous values)")
    _show("cloudformation.describe_stacks", StackName=plan.stack)
    _show("cloudformation.create_change_set", StackName=plan.stack, ChangeSetName="deploy-<time>",
          ChangeSetType="CREATE|UPDATE", TemplateURL=plan.template_url,
          Capabilities=CAPABILITIES, Parameters=plan.parameters(None))
    _show("cloudformation.get_waiter('change_set_create_complete').wait", StackName=plan.stack,
          ChangeSetName="deploy-<time>")
    _show("cloudformation.execute_change_set", StackName=plan.stack, ChangeSetName="deploy-<time>")
    _show("cloudformation.get_waiter('stack_create_complete|stack_update_complete').wait", StackName=plan.stack)
    if plan.second_pass:
        print("5. PUBLIC_ORIGIN not given: read the ExecuteApiOrigin output (https://<api id>.execute-api."
              f"{plan.region}.amazonaws.com) and, if the stack's PublicOrigin differs, update once more with it")
        _show("cloudformation.create_change_set", StackName=plan.stack, ChangeSetType="UPDATE",
              TemplateURL="<same>", Parameters=[{"ParameterKey": "PublicOrigin", "ParameterValue": "<ExecuteApiOrigin>"},
                                                "… the rest UsePreviousValue"])
    else:
        print(f"5. PublicOrigin given ({plan.given['PublicOrigin']}): no second pass")
    print("6. print the stack's outputs")
    _show("cloudformation.describe_stacks", StackName=plan.stack)


class Deployer:
    """Runs a Plan against AWS."""

    def __init__(self, plan: Plan, session: Any) -> None:
        self.plan = plan
        self.session = session
        self.s3 = session.client("s3")
        self.cfn = session.client("cloudformation")

    def run(self) -> dict[str, str]:
        plan = self.plan
        self.check_indexes()
        self.ensure_bucket()
        self.upload_code()
        print(f"template: s3://{plan.bucket}/{plan.template_key} ({len(plan.body):,} bytes)")
        self.s3.put_object(Bucket=plan.bucket, Key=plan.template_key, Body=plan.body, ContentType="application/json")
        self.change({})
        outputs = self.outputs()
        if plan.second_pass:
            origin = outputs.get("ExecuteApiOrigin") or _origin(outputs.get("EndpointURL", ""))
            if origin and self.stack_parameters().get("PublicOrigin") != origin:
                print(f"second pass: PublicOrigin = {origin} (the API's own origin, known now)")
                self.change({"PublicOrigin": origin})
                outputs = self.outputs()
        for key, value in sorted(outputs.items()):
            print(f"{key}: {value}")
        return outputs

    def check_indexes(self) -> None:
        """Refuses an update that adds or removes more than one global secondary index of a table, or
        that comes while an index is still being built: DynamoDB takes one index change per table
        update and no update until the index is ACTIVE, and CloudFormation does not wait for it."""
        from botocore.exceptions import ClientError

        if self.stack_status() in (None, "REVIEW_IN_PROGRESS"):
            return
        dynamodb = self.session.client("dynamodb")
        for logical, resource in self.plan.template["Resources"].items():
            if resource["Type"] != "AWS::DynamoDB::Table":
                continue
            try:
                table = self.cfn.describe_stack_resource(StackName=self.plan.stack, LogicalResourceId=logical)
            except ClientError:
                continue  # a table this update creates
            live = dynamodb.describe_table(TableName=table["StackResourceDetail"]["PhysicalResourceId"])["Table"]
            indexes = {i["IndexName"]: i["IndexStatus"] for i in live.get("GlobalSecondaryIndexes", [])}
            wanted = {i["IndexName"] for i in resource["Properties"].get("GlobalSecondaryIndexes", [])}
            building = sorted(name for name, status in indexes.items() if status != "ACTIVE")
            if building:
                raise DeployError(f"{logical}: index {', '.join(building)} is not ACTIVE yet (still being built); "
                                  "deploy again once it is (docs/operations.md, Upgrade)")
            added, removed = sorted(wanted - set(indexes)), sorted(set(indexes) - wanted)
            if len(added) + len(removed) > 1:
                raise DeployError(f"{logical}: this update would add {added or 'no index'} and remove "
                                  f"{removed or 'no index'}, but a table takes one index change per update: "
                                  "deploy them one at a time (docs/operations.md, Upgrade)")

    def ensure_bucket(self) -> None:
        from botocore.exceptions import ClientError

        plan = self.plan
        try:
            self.s3.head_bucket(Bucket=plan.bucket)
            return
        except ClientError as error:
            if error.response["Error"]["Code"] not in ("404", "NoSuchBucket"):
                raise DeployError(f"artifact bucket {plan.bucket}: {error}") from error
        print(f"creating artifact bucket s3://{plan.bucket} in {plan.region}")
        extra = {} if plan.region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": plan.region}}
        self.s3.create_bucket(Bucket=plan.bucket, **extra)
        self.s3.put_public_access_block(Bucket=plan.bucket, PublicAccessBlockConfiguration={
            "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True})

    def upload_code(self) -> None:
        from botocore.exceptions import ClientError

        plan = self.plan
        try:
            self.s3.head_object(Bucket=plan.bucket, Key=plan.code_key)
            print(f"code: s3://{plan.bucket}/{plan.code_key} (already uploaded)")
            return
        except ClientError as error:
            if error.response["Error"]["Code"] not in ("404", "NoSuchKey"):
                raise
        print(f"code: s3://{plan.bucket}/{plan.code_key}")
        self.s3.upload_file(str(plan.dist / "deployment.zip"), plan.bucket, plan.code_key)

    def stack_status(self) -> str | None:
        from botocore.exceptions import ClientError

        try:
            return str(self.cfn.describe_stacks(StackName=self.plan.stack)["Stacks"][0]["StackStatus"])
        except ClientError as error:
            if "does not exist" in str(error):  # CloudFormation's only signal for a missing stack
                return None
            raise

    def stack_parameters(self) -> dict[str, str]:
        stack = self.cfn.describe_stacks(StackName=self.plan.stack)["Stacks"][0]
        return {p["ParameterKey"]: p.get("ParameterValue", "") for p in stack.get("Parameters", [])}

    def change(self, override: dict[str, str]) -> None:
        """Creates, waits for and executes one change set; returns when the stack is stable."""
        from botocore.exceptions import WaiterError

        plan = self.plan
        status = self.stack_status()
        if status == "ROLLBACK_COMPLETE":
            raise DeployError(f"stack {plan.stack} failed its first creation (ROLLBACK_COMPLETE): read its events, "
                              "delete it (the tables and bucket are retained; delete them too if empty), deploy again")
        creating = status in (None, "REVIEW_IN_PROGRESS")
        previous = None if creating else set(self.stack_parameters())
        name = f"deploy-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"
        self.cfn.create_change_set(StackName=plan.stack, ChangeSetName=name, TemplateURL=plan.template_url,
                                   ChangeSetType="CREATE" if creating else "UPDATE", Capabilities=CAPABILITIES,
                                   Parameters=plan.parameters(previous, override),
                                   Description=f"make deploy STAGE={plan.stage}")
        try:
            self.cfn.get_waiter("change_set_create_complete").wait(
                StackName=plan.stack, ChangeSetName=name, WaiterConfig={"Delay": 5, "MaxAttempts": 120})
        except WaiterError as error:
            described = self.cfn.describe_change_set(StackName=plan.stack, ChangeSetName=name)
            reason = described.get("StatusReason", "")
            if any(text in reason for text in _NO_CHANGES):
                print(f"stack {plan.stack}: no changes")
                self.cfn.delete_change_set(StackName=plan.stack, ChangeSetName=name)
                return
            raise DeployError(f"change set {name} failed: {reason}") from error
        print(f"{'creating' if creating else 'updating'} stack {plan.stack} (change set {name})…")
        self.cfn.execute_change_set(StackName=plan.stack, ChangeSetName=name)
        waiter = self.cfn.get_waiter("stack_create_complete" if creating else "stack_update_complete")
        try:
            waiter.wait(StackName=plan.stack, WaiterConfig={"Delay": 15, "MaxAttempts": 240})
        except WaiterError as error:
            raise DeployError(f"stack {plan.stack} did not reach a complete state:\n" + self.failures()) from error

    def failures(self) -> str:
        events = self.cfn.describe_stack_events(StackName=self.plan.stack)["StackEvents"]
        failed = [e for e in events if e["ResourceStatus"].endswith("FAILED")][:10]
        return "\n".join(f"  {e['LogicalResourceId']}: {e.get('ResourceStatusReason', '')}" for e in failed)

    def outputs(self) -> dict[str, str]:
        stack = self.cfn.describe_stacks(StackName=self.plan.stack)["Stacks"][0]
        return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def main(argv: list[str], env: dict[str, str]) -> int:
    dist = Path(argv[argv.index("--dist") + 1]) if "--dist" in argv else ROOT / "dist"
    try:
        plan = Plan(env, dist)
        if env.get("DRY_RUN", "") not in ("", "0"):
            dry_run(plan, "DRY_RUN is set")
            return 0
        import boto3

        session = boto3.Session(region_name=plan.region)
        if session.get_credentials() is None:
            dry_run(plan, "no AWS credentials found")
            return 0
        if not plan.bucket:
            raise DeployError("set ARTIFACT_BUCKET: an S3 bucket (in the stack's region) for the code and template")
        Deployer(plan, session).run()
    except DeployError as error:
        print(f"deploy: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], dict(os.environ)))
