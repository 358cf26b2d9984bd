"""Photos in S3 (the attachments bucket): presigned uploads straight from the browser, checks of
what arrived, and the metadata-free public copies. Only this module talks to S3."""
from __future__ import annotations

import os
import re
import uuid
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from chalicelib import aws

UPLOAD_SECONDS = 900
VIEW_SECONDS = 3600
_UPLOAD_KEY = re.compile(r"^uploads/[0-9a-f]{32}/photo\.(jpg|png|heic)$")
_KEPT_KEY = re.compile(r"^photos/[0-9a-f]{32}/photo\.(jpg|png|heic)$")
_PUBLIC_KEY = re.compile(r"^public/[A-Z0-9-]+/[0-9]+\.(jpg|png)$")


def bucket() -> str:
    return os.environ["ATTACHMENTS_BUCKET"]


def presigned_upload(content_type: str, extension: str, max_bytes: int) -> dict[str, Any]:
    """Returns {url, fields, key}: a POST the browser sends straight to S3, limited to this key,
    this content type and 1 byte .. `max_bytes`."""
    key = f"uploads/{uuid.uuid4().hex}/photo{extension}"
    post = aws.client("s3").generate_presigned_post(
        Bucket=bucket(), Key=key, Fields={"Content-Type": content_type},
        Conditions=[{"Content-Type": content_type}, ["content-length-range", 1, max_bytes]],
        ExpiresIn=UPLOAD_SECONDS)
    return {"url": post["url"], "fields": post["fields"], "key": key}


@lru_cache(maxsize=1)
def upload_origin() -> str:
    """The origin browsers upload to (for the page's Content-Security-Policy); signing is local."""
    url = aws.client("s3").generate_presigned_post(Bucket=bucket(), Key="uploads/probe", ExpiresIn=60)["url"]
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def is_upload_key(key: str) -> bool:
    """A key the browser was allowed to upload to (expires after 2 days unless claimed)."""
    return bool(_UPLOAD_KEY.match(key))


def is_photo_key(key: str) -> bool:
    """A photo kept with a ticket (claimed from an upload when the report was sent)."""
    return bool(_KEPT_KEY.match(key))


def claim(upload_key: str) -> str:
    """Copies an upload to a key of its own (kept; the uploader can no longer overwrite it, and the
    uploads/ prefix expires); returns the new key."""
    key = f"photos/{uuid.uuid4().hex}/{upload_key.rsplit('/', 1)[1]}"
    aws.client("s3").copy_object(Bucket=bucket(), Key=key, CopySource={"Bucket": bucket(), "Key": upload_key},
                                 MetadataDirective="COPY")
    return key


def uploaded(key: str) -> tuple[int, bytes] | None:
    """Returns (size, first 32 bytes) of an uploaded object, or None when it is not there."""
    from botocore.exceptions import ClientError

    try:
        answer = aws.client("s3").get_object(Bucket=bucket(), Key=key, Range="bytes=0-31")
    except ClientError as exc:
        # Without s3:ListBucket S3 answers a missing key with AccessDenied; both mean "not there".
        if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "InvalidRange", "AccessDenied"):
            return None
        raise
    total = int(str(answer.get("ContentRange", "")).rpartition("/")[2] or answer["ContentLength"])
    return total, answer["Body"].read()


def keep_copy(seed: str, data: bytes, content_type: str, extension: str) -> str:
    """Stores a photo fetched for a ticket (a Messenger image, whose link expires) under a key drawn
    from `seed`, so storing the same one again overwrites it; returns the key (a kept photo's)."""
    import hashlib

    key = f"photos/{hashlib.sha256(seed.encode()).hexdigest()[:32]}/photo{extension}"
    aws.client("s3").put_object(Bucket=bucket(), Key=key, Body=data, ContentType=content_type)
    return key


def read(key: str) -> bytes:
    return aws.client("s3").get_object(Bucket=bucket(), Key=key)["Body"].read()


def put_public(key: str, data: bytes, content_type: str) -> None:
    aws.client("s3").put_object(Bucket=bucket(), Key=key, Body=data, ContentType=content_type)


def view_url(key: str) -> str:
    """A short-lived link to one object (the bucket itself is never public)."""
    return aws.client("s3").generate_presigned_url("get_object", Params={"Bucket": bucket(), "Key": key},
                                                   ExpiresIn=VIEW_SECONDS)


def delete(key: str) -> None:
    """Deletes one photo or public copy (retention, erasure). Deleting a key that is not there is
    no error, so a second run changes nothing; the bucket's lifecycle expires the old version."""
    aws.client("s3").delete_object(Bucket=bucket(), Key=key)


def is_public_key(key: str) -> bool:
    """A metadata-free public copy of a published ticket's photo (public/<code>/<n>.jpg|png)."""
    return bool(_PUBLIC_KEY.match(key))
