"""Sends staff email through Amazon SES (HTML and text parts). Throttling is retried; a rejected
address is not (the bounce/complaint record tells admins which contact to fix)."""
from __future__ import annotations

import os

from botocore.exceptions import ClientError

from chalicelib import aws
from chalicelib.notify.base import DeliveryFailed

_RETRYABLE = {"Throttling", "ThrottlingException", "ServiceUnavailable", "InternalFailure", "TooManyRequests"}


class SesSender:
    def send(self, recipient: str, text: str, subject: str | None = None, html: str | None = None,
             reply_to: str | None = None) -> str:
        body = {"Text": {"Data": text, "Charset": "UTF-8"}}
        if html:
            body["Html"] = {"Data": html, "Charset": "UTF-8"}
        extra = {}
        if os.environ.get("SES_CONFIGURATION_SET"):  # routes bounces and complaints to the SES events topic
            extra["ConfigurationSetName"] = os.environ["SES_CONFIGURATION_SET"]
        try:
            answer = aws.client("ses").send_email(
                Source=os.environ.get("SES_FROM", "hotline1022@example.gov.vn"),
                Destination={"ToAddresses": [recipient]},
                Message={"Subject": {"Data": subject or "Đường dây nóng 1022", "Charset": "UTF-8"}, "Body": body},
                **extra,
            )
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            raise DeliveryFailed(f"ses {code}", transient=code in _RETRYABLE) from exc
        return str(answer.get("MessageId", ""))
