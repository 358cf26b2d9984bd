"""Builds dist/: the CloudFormation/SAM template (chalice package merged with infra/) and the zip.

1. deep-merges infra/resources.json (the part the local emulator creates too) with the AWS-only
   fragments in OVERLAYS into dist/merge.json, the packaged stage as the `Stage` parameter's default;
2. runs `chalice package --merge-template dist/merge.json` (needs a region, no credentials);
3. drops from the zip what the Lambda runtime already provides (boto3, botocore and their
   dependencies): PynamoDB pulls botocore in, which would triple the zip, and a vendored
   botocore next to the runtime's boto3 invites version skew.
"""
from __future__ import annotations

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


def main(out: Path, stage: str) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for stale in ("sam.json", "deployment.zip"):
        (out / stale).unlink(missing_ok=True)
    merged = json.loads((ROOT / "infra" / "resources.json").read_text(encoding="utf-8"))
    for name in OVERLAYS:
        merged = deep_merge(merged, json.loads((ROOT / "infra" / name).read_text(encoding="utf-8")))
    from gateway_page import fill_gateway_pages  # infra/gateway_page.py: our 404 page in api.json's gateway responses

    merged = fill_gateway_pages(merged, stage)
    merged["Parameters"]["Stage"]["Default"] = stage
    merged.pop("AWSTemplateFormatVersion", None)
    merged.pop("Description", None)
    build = out / "build"
    shutil.rmtree(build, ignore_errors=True)
    (out / "merge.json").write_text(json.dumps(merged, indent=2, ensure_ascii=False), encoding="utf-8")
    env = {**os.environ, "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "ap-southeast-1")}
    chalice = Path(sys.executable).with_name("chalice")
    subprocess.run([str(chalice), "package", "--stage", stage, "--merge-template", str(out / "merge.json"),
                    str(build)], cwd=ROOT, env=env, check=True)
    for name in ("sam.json", "deployment.zip"):
        (build / name).replace(out / name)
    shutil.rmtree(build)
    before, after = slim_zip(out / "deployment.zip")
    print(f"dist/sam.json and dist/deployment.zip ({after:,} bytes; {before:,} before dropping runtime-provided packages)")


if __name__ == "__main__":
    main(ROOT / (sys.argv[1] if len(sys.argv) > 1 else "dist"), os.environ.get("STAGE", "prod"))
