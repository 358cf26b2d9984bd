"""Photo uploads on AWS: the browser posts to the bucket's regional virtual-hosted endpoint with a
SigV4 policy, which a bucket created minutes ago accepts (the global endpoint answers 307 for up to
a day, and a browser's POST does not follow it)."""
from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Runs in a fresh interpreter: the shared clients of this test session point at the emulator.
_PROBE = r"""
import json
from chalicelib import aws
from chalicelib.store import photos

def no_network(**_):
    raise AssertionError("presigning must not call AWS")

aws.botocore_session().register("before-send", no_network)
grant = photos.presigned_upload("image/jpeg", ".jpg", 10 * 1024 * 1024)
print(json.dumps({"grant": grant, "origin": photos.upload_origin(),
                  "view": photos.view_url("photos/" + "a" * 32 + "/photo.jpg")}))
"""


def _presign_as_on_aws() -> dict:
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    env.update(AWS_ACCESS_KEY_ID="AKIDEXAMPLE", AWS_SECRET_ACCESS_KEY="dummy-secret", AWS_REGION="ap-southeast-1",
               AWS_DEFAULT_REGION="ap-southeast-1", ATTACHMENTS_BUCKET="hotline1022-prod-attachments-abc123",
               TICKETS_TABLE="t", IDEMPOTENCY_TABLE="i", ROUTING_QUEUE_URL="https://sqs.example/q",
               AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull)
    done = subprocess.run([sys.executable, "-c", _PROBE], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_on_aws_the_upload_form_posts_sigv4_to_the_regional_virtual_hosted_endpoint() -> None:
    # Given the deployed configuration (no AWS_ENDPOINT_URL) and credentials that are never used
    result = _presign_as_on_aws()
    grant = result["grant"]
    # Then the browser posts to the bucket's regional host, never s3.amazonaws.com
    assert grant["url"] == "https://hotline1022-prod-attachments-abc123.s3.ap-southeast-1.amazonaws.com/"
    assert result["origin"] == "https://hotline1022-prod-attachments-abc123.s3.ap-southeast-1.amazonaws.com"
    # And the form is signed with SigV4 for that region (no SigV2 AWSAccessKeyId/signature fields)
    fields = grant["fields"]
    assert fields["x-amz-algorithm"] == "AWS4-HMAC-SHA256"
    assert fields["x-amz-credential"].startswith("AKIDEXAMPLE/")
    assert fields["x-amz-credential"].endswith("/ap-southeast-1/s3/aws4_request")
    assert fields["x-amz-signature"] and "AWSAccessKeyId" not in fields and "signature" not in fields
    # And the policy still pins the key, the declared type and the size range
    policy = json.loads(base64.b64decode(fields["policy"]))
    conditions = policy["conditions"]
    assert {"key": grant["key"]} in conditions and {"Content-Type": "image/jpeg"} in conditions
    assert ["content-length-range", 1, 10 * 1024 * 1024] in conditions
    assert {"x-amz-algorithm": "AWS4-HMAC-SHA256"} in conditions
    # And staff photo links are SigV4 on the same host
    assert result["view"].startswith(
        "https://hotline1022-prod-attachments-abc123.s3.ap-southeast-1.amazonaws.com/photos/")
    assert "X-Amz-Algorithm=AWS4-HMAC-SHA256" in result["view"]
