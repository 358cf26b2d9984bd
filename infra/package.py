"""Builds dist/: the CloudFormation/SAM template (chalice package merged with infra/), the zip,
and the template as AWS will expand it.

1. deep-merges infra/resources.json (the part the local emulator creates too) with the AWS-only
   fragments in OVERLAYS into dist/merge.json, the packaged stage as the `Stage` parameter's default;
2. runs `chalice package --merge-template dist/merge.json` (needs a region, no credentials) for
   LAMBDA_RUNTIME, whatever Python runs this script: Chalice takes the runtime from the running
   interpreter, so it is told the target instead, and fetches that runtime's manylinux wheels;
3. fixes what the merge cannot express (it never deletes a key): Chalice writes a batching window
   on every SQS event, which Lambda refuses for a FIFO queue;
4. drops from the zip what the Lambda runtime already provides (boto3, botocore and their
   dependencies): PynamoDB pulls botocore in, which would triple the zip, and a vendored
   botocore next to the runtime's boto3 invites version skew;
5. runs the real SAM transform (aws-sam-translator, no AWS call) into dist/expanded.json, what
   CloudFormation will create: the event-source mappings, permissions and stage that cfn-lint
   never sees in sam.json. `make package` lints both.

`python infra/package.py [dist]` (STAGE=prod by default).
"""
from __future__ import annotations

import copy
import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# AWS-only parts, merged in this order: what Chalice's functions need (environment, event sources),
# the API's gateway responses and custom domain, each function's own role policy, alarms and logs.
OVERLAYS = ("chalice-overlay.json", "api.json", "iam.json", "alarms.json")
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six")
LAMBDA_RUNTIME = "python3.13"
# Log retention by stage unless the deployer passes LogRetentionDays (infra/alarms.json).
LOG_RETENTION_DAYS = {"prod": 90}
DEFAULT_LOG_RETENTION_DAYS = 14
# dist/expanded.json names the code as `make deploy` uploads it, in a bucket only known then.
PLACEHOLDER_BUCKET = "artifact-bucket"
REGION = "ap-southeast-1"


def deep_merge(base: dict[str, Any], overlay: dict[str, Any]) -> dict[str, Any]:
    """Returns base with overlay merged in (dicts recursively; anything else, and an intrinsic function
    such as {"Fn::If": ...}, replaced: merging one into {"Ref": ...} would make an invalid object)."""
    merged = dict(base)
    for key, value in overlay.items():
        intrinsic = isinstance(value, dict) and len(value) == 1 and next(iter(value)).startswith(("Ref", "Fn::"))
        if isinstance(value, dict) and isinstance(merged.get(key), dict) and not intrinsic:
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _runtime_provided(name: str) -> bool:
    top = name.split("/", 1)[0]
    if top == "six.py":
        return True
    dist = top.split("-", 1)[0].lower().replace("_", "")
    return top in RUNTIME_PROVIDED or (top.endswith(".dist-info") and dist in
                                       {p.replace("_", "") for p in RUNTIME_PROVIDED + ("python_dateutil",)})


def slim_zip(path: Path) -> tuple[int, int]:
    """Rewrites the zip without runtime-provided packages; returns (bytes before, bytes after)."""
    before = path.stat().st_size
    slim = path.with_suffix(".slim.zip")
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(slim, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            if not _runtime_provided(info.filename):
                dst.writestr(info, src.read(info.filename))
    slim.replace(path)
    return before, path.stat().st_size


def _queue_logical_id(queue: Any) -> str:
    """The template resource an SQS event reads from ({"Fn::Sub": "${X.Arn}"} or GetAtt X.Arn)."""
    if isinstance(queue, dict) and isinstance(queue.get("Fn::Sub"), str):
        inner = queue["Fn::Sub"]
        if inner.startswith("${") and inner.endswith(".Arn}"):
            return inner[2:-5]
    if isinstance(queue, dict) and isinstance(queue.get("Fn::GetAtt"), list) and queue["Fn::GetAtt"][1:] == ["Arn"]:
        return str(queue["Fn::GetAtt"][0])
    raise ValueError(f"an SQS event reads a queue this template does not define: {queue!r}")


def strip_fifo_batching_windows(template: dict[str, Any]) -> list[str]:
    """Removes MaximumBatchingWindowInSeconds from SQS events on FIFO queues (Lambda refuses a
    batching window there; Chalice writes one, 0, on every SQS event); returns the events fixed."""
    resources = template["Resources"]
    fixed = []
    for name, resource in resources.items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        for event_name, event in resource["Properties"].get("Events", {}).items():
            if event["Type"] != "SQS":
                continue
            queue = resources[_queue_logical_id(event["Properties"]["Queue"])]
            if queue["Properties"].get("FifoQueue") is True:
                event["Properties"].pop("MaximumBatchingWindowInSeconds", None)
                fixed.append(f"{name}.{event_name}")
    return fixed


def artifact_key(zip_path: Path, stage: str) -> str:
    """Where `make deploy` puts the zip in the artifact bucket: by content, so a rebuild of the same
    code is the same object and CloudFormation updates the functions only when the code changed."""
    return f"{stage}/{hashlib.sha256(zip_path.read_bytes()).hexdigest()}.zip"


def with_code_location(template: dict[str, Any], bucket: str, key: str) -> dict[str, Any]:
    """Returns a copy of the SAM template whose functions run the zip at s3://bucket/key (what
    `aws cloudformation package` does to a local CodeUri)."""
    located = copy.deepcopy(template)
    for resource in located["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = {"Bucket": bucket, "Key": key}
    return located


def expand(template: dict[str, Any]) -> dict[str, Any]:
    """Returns the plain CloudFormation template AWS's SAM transform makes of `template` (its
    functions must name code in S3). Raises samtranslator's InvalidDocumentException."""
    os.environ.setdefault("AWS_DEFAULT_REGION", REGION)  # the translator reads the partition from it
    from samtranslator.translator.managed_policy_translator import ManagedPolicyLoader
    from samtranslator.translator.transform import transform

    class NoManagedPolicies(ManagedPolicyLoader):
        """Every function has its own role, so the transform needs no AWS managed policy ARN and
        no IAM call (the stock loader lists them with credentials)."""

        def __init__(self) -> None:
            self._policy_map: dict[str, str] | None = {}

        def load(self) -> dict[str, str]:
            return {}

    return transform(copy.deepcopy(template), {}, NoManagedPolicies())


def run_chalice_for_lambda_runtime(argv: list[str]) -> None:
    """Runs the chalice CLI with `argv`, packaging for LAMBDA_RUNTIME instead of the running
    interpreter's version.

    Chalice (chalice/config.py) takes the runtime from sys.version_info, and its manylinux retry
    (chalice/deploy/packager.py, PipRunner.download_manylinux_wheels) passes `--abi cpXY` without
    `--python-version`, so pip would look for the running interpreter's tags and find no wheel.
    """
    from chalice import cli
    from chalice.config import Config
    from chalice.deploy.packager import PipRunner

    version = LAMBDA_RUNTIME.removeprefix("python")
    Config.lambda_python_version = property(lambda self: LAMBDA_RUNTIME)  # type: ignore[assignment]
    download = PipRunner.download_manylinux_wheels

    def download_for_runtime(self: Any, abi: str, packages: list[str], directory: str,
                             platforms: list[str] | None = None) -> None:
        execute = self._execute
        self._execute = lambda command, args, *rest, **options: execute(
            command, ["--python-version", version, *args], *rest, **options)
        try:
            download(self, abi, packages, directory, platforms)
        finally:
            del self._execute

    PipRunner.download_manylinux_wheels = download_for_runtime  # type: ignore[method-assign]
    sys.argv = ["chalice", *argv]
    sys.exit(cli.main())


def main(out: Path, stage: str) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for stale in ("sam.json", "deployment.zip", "expanded.json"):
        (out / stale).unlink(missing_ok=True)
    merged = json.loads((ROOT / "infra" / "resources.json").read_text(encoding="utf-8"))
    for name in OVERLAYS:
        merged = deep_merge(merged, json.loads((ROOT / "infra" / name).read_text(encoding="utf-8")))
    from gateway_page import fill_gateway_pages  # infra/gateway_page.py: our 404 page in api.json's gateway responses

    merged = fill_gateway_pages(merged, stage)
    merged["Parameters"]["Stage"]["Default"] = stage
    merged["Parameters"]["LogRetentionDays"]["Default"] = LOG_RETENTION_DAYS.get(stage, DEFAULT_LOG_RETENTION_DAYS)
    merged.pop("AWSTemplateFormatVersion", None)
    merged.pop("Description", None)
    build = out / "build"
    shutil.rmtree(build, ignore_errors=True)
    (out / "merge.json").write_text(json.dumps(merged, indent=2, ensure_ascii=False), encoding="utf-8")
    env = {**os.environ, "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", REGION)}
    subprocess.run([sys.executable, str(Path(__file__).resolve()), "--chalice", "package", "--stage", stage,
                    "--merge-template", str(out / "merge.json"), str(build)], cwd=ROOT, env=env, check=True)
    template = json.loads((build / "sam.json").read_text(encoding="utf-8"))
    strip_fifo_batching_windows(template)
    (out / "sam.json").write_text(json.dumps(template, indent=2, ensure_ascii=False), encoding="utf-8")
    (build / "deployment.zip").replace(out / "deployment.zip")
    shutil.rmtree(build)
    before, after = slim_zip(out / "deployment.zip")
    expanded = expand(with_code_location(template, PLACEHOLDER_BUCKET, artifact_key(out / "deployment.zip", stage)))
    (out / "expanded.json").write_text(json.dumps(expanded, indent=2, ensure_ascii=False), encoding="utf-8")
    print(f"{out.name}/sam.json, {out.name}/expanded.json (the SAM transform's output) and {out.name}/deployment.zip "
          f"for {LAMBDA_RUNTIME} ({after:,} bytes; {before:,} before dropping runtime-provided packages)")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--chalice"]:
        run_chalice_for_lambda_runtime(sys.argv[2:])
    main(ROOT / (sys.argv[1] if len(sys.argv) > 1 else "dist"), os.environ.get("STAGE", "prod"))
