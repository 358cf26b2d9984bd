"""`make deploy` and `make secrets` as far as they go without AWS: the deploy's dry run names every
step with the real artifacts, the template it uploads runs the zip it uploads, and the secrets land
(against the emulator) exactly where the code reads them."""
from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT

BUCKET = "hotline-artifacts-test"


def _deploy(dist: Path, tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """Runs `make deploy`'s script with no AWS configuration but `env`; any AWS call it made would
    go to a closed port and fail."""
    isolated = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "AWS_CONFIG_FILE": str(tmp_path / "none"),
                "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"), "AWS_EC2_METADATA_DISABLED": "true",
                "AWS_ENDPOINT_URL": "http://127.0.0.1:9", "AWS_MAX_ATTEMPTS": "1"}
    return subprocess.run([sys.executable, "-m", "infra.deploy", "--dist", str(dist)], cwd=ROOT, text=True,
                          capture_output=True, env={**isolated, **env}, check=False)


def _calls(output: str, name: str) -> list[str]:
    return [line.strip() for line in output.splitlines() if line.strip().startswith(name + "(")]


def test_deploy_dry_run_prints_every_step_with_the_real_artifacts_and_calls_nothing(dist: Path, tmp_path: Path) -> None:
    # Given credentials (so only DRY_RUN holds it back), an artifact bucket and an alarm address
    run = _deploy(dist, tmp_path, DRY_RUN="1", STAGE="prod", ARTIFACT_BUCKET=BUCKET, ALARM_EMAIL="ops@example.gov.vn",
                  AWS_ACCESS_KEY_ID="AKIDEXAMPLE", AWS_SECRET_ACCESS_KEY="example")
    assert run.returncode == 0, run.stderr
    out = run.stdout
    # the zip goes to the bucket under its content hash
    digest = hashlib.sha256((dist / "deployment.zip").read_bytes()).hexdigest()
    [upload] = _calls(out, "s3.upload_file")
    assert f'Bucket="{BUCKET}"' in upload and f'Key="prod/{digest}.zip"' in upload
    # the template is uploaded too, being over the inline limit, and deployed by URL
    size = int(re.search(r"\(([\d,]+) bytes; CloudFormation takes at most 51,200 inline\)", out).group(1).replace(",", ""))
    assert size > 51_200
    [put] = _calls(out, "s3.put_object")
    key = re.search(r'Key="([^"]+)"', put).group(1)
    [change_set, second_pass] = _calls(out, "cloudformation.create_change_set")
    assert f'TemplateURL="https://{BUCKET}.s3.ap-southeast-1.amazonaws.com/{key}"' in change_set
    assert 'Capabilities=["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"]' in change_set
    assert '{"ParameterKey": "Stage", "ParameterValue": "prod"}' in change_set
    assert '{"ParameterKey": "AlarmEmail", "ParameterValue": "ops@example.gov.vn"}' in change_set
    assert _calls(out, "cloudformation.execute_change_set")
    # with no PUBLIC_ORIGIN, a second pass gives the stack its own execute-api origin
    assert '"ParameterKey": "PublicOrigin", "ParameterValue": "<ExecuteApiOrigin>"' in second_pass
    assert "DRY RUN (DRY_RUN is set)" in out


def test_deploy_without_credentials_only_prints_and_a_given_origin_needs_no_second_pass(dist: Path,
                                                                                       tmp_path: Path) -> None:
    run = _deploy(dist, tmp_path, STAGE="prod", ARTIFACT_BUCKET=BUCKET, PUBLIC_ORIGIN="https://1022.tayninh.gov.vn")
    assert run.returncode == 0, run.stderr
    assert "DRY RUN (no AWS credentials found)" in run.stdout
    [change_set] = _calls(run.stdout, "cloudformation.create_change_set")
    assert '{"ParameterKey": "PublicOrigin", "ParameterValue": "https://1022.tayninh.gov.vn"}' in change_set


def test_deploy_refuses_a_package_built_for_another_stage(dist: Path, tmp_path: Path) -> None:
    run = _deploy(dist, tmp_path, DRY_RUN="1", STAGE="dev", ARTIFACT_BUCKET=BUCKET)
    assert run.returncode == 1
    assert "packaged for stage 'prod', not 'dev'" in run.stderr


def test_the_template_deploy_uploads_runs_the_zip_it_uploads(dist: Path) -> None:
    """What CloudFormation gets by TemplateURL expands (SAM) into functions that all run the
    uploaded zip, on the parameters deploy passes."""
    from infra.deploy import Plan
    from infra.package import expand

    plan = Plan({"STAGE": "prod", "ARTIFACT_BUCKET": BUCKET, "ALARM_EMAIL": "ops@example.gov.vn"}, dist)
    expanded = expand(json.loads(plan.body))
    code = {r["Properties"]["Code"]["S3Key"] for r in expanded["Resources"].values() if r["Type"] == "AWS::Lambda::Function"}
    assert code == {plan.code_key} and plan.code_key.startswith("prod/")
    buckets = {r["Properties"]["Code"]["S3Bucket"] for r in expanded["Resources"].values()
               if r["Type"] == "AWS::Lambda::Function"}
    assert buckets == {BUCKET}
    # an update keeps every parameter not given at its previous value, never resetting it to a default
    listed = plan.parameters(previous={"Stage", "AlarmEmail", "SesFromAddress", "PublicOrigin"})
    assert {"ParameterKey": "SesFromAddress", "UsePreviousValue": True} in listed
    assert {"ParameterKey": "AlarmEmail", "ParameterValue": "ops@example.gov.vn"} in listed
    assert all(p["ParameterKey"] in expanded["Parameters"] for p in listed)


def _secrets_read_by_the_code() -> set[str]:
    source = "\n".join(path.read_text() for path in (ROOT / "chalicelib").rglob("*.py"))
    return set(re.findall(r"""\bsecret\(\s*["'](\w+)["']\s*\)""", source))


def _stored(ssm: Any, stage: str) -> dict[str, dict[str, Any]]:
    pages = ssm.get_paginator("get_parameters_by_path").paginate(Path=f"/hotline1022/{stage}", Recursive=True,
                                                                  WithDecryption=True)
    return {p["Name"]: p for page in pages for p in page["Parameters"]}


def test_make_secrets_stores_every_secret_the_code_reads_where_it_reads_them(stack: Any, monkeypatch: pytest.MonkeyPatch,
                                                                             capsys: pytest.CaptureFixture[str]) -> None:
    import boto3

    from chalicelib import secrets as app_secrets
    from chalicelib.notify import zalo
    from infra import ssm_secrets as make_secrets

    stage = "secretscheck"
    read_by_code = _secrets_read_by_the_code()
    assert {s.name for s in make_secrets.SECRETS} == read_by_code  # nothing the code reads is left out
    # Given every value in the environment, and a refresh token from the OA admin's consent
    env = {name.upper(): f"value-of-{name}" for name in read_by_code} | {"ZALO_REFRESH_TOKEN": "rt-consented"}
    ssm = boto3.client("ssm")
    make_secrets.main(stage, env, ssm, ask=None)
    # Then each is a SecureString under the stage's prefix, and the output never shows a value
    stored = _stored(ssm, stage)
    assert set(stored) == {f"/hotline1022/{stage}/{name}" for name in read_by_code | {"zalo/token"}}
    assert {p["Type"] for p in stored.values()} == {"SecureString"}
    assert "value-of" not in capsys.readouterr().out
    # and the app finds them where it looks (only SSM: no variable of the same name set)
    monkeypatch.setenv("SSM_PREFIX", f"/hotline1022/{stage}")
    for name in read_by_code | {"ZALO_TOKEN_PARAMETER"}:
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.setattr(app_secrets, "_cache", {})
    assert app_secrets.secret("zalo_oa_secret_key") == "value-of-zalo_oa_secret_key"
    token = zalo.read_token()
    assert (token.refresh_token, token.expires_at, token.generation) == ("rt-consented", 0, 1)  # refreshed at once

    # When the refresher has since rotated the token and the same command runs again
    zalo.write_token(zalo.Token("at-live", "rt-live", 2e9, 7))
    rerun = make_secrets.main(stage, {"ZALO_REFRESH_TOKEN": "rt-consented"}, ssm, ask=None)
    # Then nothing is overwritten: the used refresh token would break the chain
    assert rerun["written"] == [] and set(rerun["kept"]) == read_by_code | {"zalo/token"}
    assert zalo.read_token().refresh_token == "rt-live"
    # and after a re-consent, an explicit replacement starts a newer generation
    make_secrets.main(stage, {"ZALO_REFRESH_TOKEN": "rt-reconsented", "FORCE_ZALO_TOKEN": "1"}, ssm, ask=None)
    assert (zalo.read_token().refresh_token, zalo.read_token().generation) == ("rt-reconsented", 8)


def test_make_secrets_dry_run_and_prompts(stack: Any, capsys: pytest.CaptureFixture[str]) -> None:
    import boto3

    from infra import ssm_secrets as make_secrets

    # dry run: says what it would do, names only
    make_secrets.main("secretsdry", {"ESMS_API_KEY": "k-123"}, None, None)
    out = capsys.readouterr().out
    assert "would put /hotline1022/secretsdry/esms_api_key (SecureString, from ESMS_API_KEY)" in out and "k-123" not in out
    # at a terminal, what is neither given nor stored is asked for; an empty answer skips it
    asked: list[str] = []

    def ask(prompt: str) -> str:
        asked.append(prompt)
        return "typed-secret" if "SMSSYNC_SECRET" in prompt else ""

    ssm = boto3.client("ssm")
    outcome = make_secrets.main("secretsprompt", {}, ssm, ask)
    assert len(asked) == len(make_secrets.SECRETS)
    assert outcome["written"] == ["smssync_secret"] and "zalo/token" in outcome["missing"]
    assert set(_stored(ssm, "secretsprompt")) == {"/hotline1022/secretsprompt/smssync_secret"}


def test_deploy_against_the_emulator_uploads_once_keeps_settings_and_takes_the_api_origin(
        stack: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """The real calls, on the emulator's S3 and CloudFormation, with a small plain template (the
    emulator has no SAM transform, and its change sets compute no outputs: ExecuteApiOrigin is given)."""
    import boto3

    from infra.deploy import Deployer, Plan

    dist = tmp_path / "dist"
    dist.mkdir()
    (dist / "deployment.zip").write_bytes(b"PK\x05\x06" + bytes(18))
    (dist / "sam.json").write_text(json.dumps({
        "Parameters": {name: {"Type": "String", "Default": default} for name, default in
                       (("Stage", "prod"), ("AlarmEmail", ""), ("PublicOrigin", "https://placeholder.example"))},
        "Resources": {"AlarmTopic": {"Type": "AWS::SNS::Topic", "Properties": {}}}}))
    bucket, name = "deploy-check-artifacts", "deploy-check"
    settings = {"STAGE": "prod", "ARTIFACT_BUCKET": bucket, "STACK_NAME": name}
    session = boto3.Session(region_name="ap-southeast-1")
    s3, cfn = session.client("s3"), session.client("cloudformation")

    # First deploy: creates the bucket (not public), uploads, creates the stack with the given settings
    plan = Plan({**settings, "ALARM_EMAIL": "ops@example.gov.vn"}, dist)
    Deployer(plan, session).run()
    assert s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]["BlockPublicPolicy"] is True
    assert s3.head_object(Bucket=bucket, Key=plan.code_key)["ContentLength"] == 22
    assert json.loads(s3.get_object(Bucket=bucket, Key=plan.template_key)["Body"].read())["Resources"]
    parameters = {p["ParameterKey"]: p["ParameterValue"] for p in cfn.describe_stacks(StackName=name)["Stacks"][0]["Parameters"]}
    assert parameters["AlarmEmail"] == "ops@example.gov.vn"

    # Next deploy of the same code, no ALARM_EMAIL given, the API's origin known from the stack
    origin = "https://abc123.execute-api.ap-southeast-1.amazonaws.com"
    monkeypatch.setattr(Deployer, "outputs", lambda self: {"ExecuteApiOrigin": origin})
    capsys.readouterr()
    Deployer(Plan(settings, dist), session).run()
    out = capsys.readouterr().out
    assert "(already uploaded)" in out and f"second pass: PublicOrigin = {origin}" in out
    parameters = {p["ParameterKey"]: p["ParameterValue"] for p in cfn.describe_stacks(StackName=name)["Stacks"][0]["Parameters"]}
    assert parameters == {"Stage": "prod", "AlarmEmail": "ops@example.gov.vn", "PublicOrigin": origin}


def test_deploy_refuses_more_than_one_index_change_per_table(stack: Any, tmp_path: Path) -> None:
    """DynamoDB takes one global secondary index change per table update (and CloudFormation does
    not wait for an index to be built): checked against the live table before any change set."""
    import boto3

    from infra.deploy import Deployer, DeployError, Plan

    template = json.loads((ROOT / "infra" / "resources.json").read_text())
    template["Parameters"]["Stage"]["Default"] = "prod"
    indexes = template["Resources"]["TicketsTable"]["Properties"]["GlobalSecondaryIndexes"]
    dist = tmp_path / "dist"
    dist.mkdir()
    (dist / "deployment.zip").write_bytes(b"zip")
    session = boto3.Session(region_name="ap-southeast-1")

    def deployer(changed: list[dict[str, Any]]) -> Deployer:
        template["Resources"]["TicketsTable"]["Properties"]["GlobalSecondaryIndexes"] = changed
        (dist / "sam.json").write_text(json.dumps(template))
        return Deployer(Plan({"STAGE": "prod", "STACK_NAME": stack.stack_name, "ARTIFACT_BUCKET": BUCKET}, dist), session)

    new_index = {**indexes[0], "IndexName": "by_something_new"}
    deployer(indexes[1:]).check_indexes()  # one removed: fine
    deployer([*indexes, new_index]).check_indexes()  # one added: fine
    with pytest.raises(DeployError, match=r"add \['by_something_new'\] and remove \['" + indexes[0]["IndexName"]):
        deployer([*indexes[1:], new_index]).check_indexes()  # a "rename" is two changes
