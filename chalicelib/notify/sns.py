"""Sends SMS through Amazon SNS (needs a registered sender ID for Vietnam; transactional only).

The sender ID is the stage setting SMS_SENDER_ID, sent per message as AWS.SNS.SMS.SenderID."""
from __future__ import annotations

from botocore.exceptions import ClientError

from chalicelib import aws
from chalicelib.config import settings
from chalicelib.notify.base import DeliveryFailed

_RETRYABLE = {"Throttling", "ThrottlingException", "InternalError", "KMSThrottlingException"}


class SnsSender:
    def send(self, recipient: str, text: str, subject: str | None = None, html: str | None = None,
             reply_to: str | None = None) -> str:
        attributes = {"AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"}}
        sender_id = settings().sms_sender_id
        if sender_id:
            attributes["AWS.SNS.SMS.SenderID"] = {"DataType": "String", "StringValue": sender_id}
        try:
            answer = aws.client("sns").publish(PhoneNumber=recipient, Message=text, MessageAttributes=attributes)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            raise DeliveryFailed(f"sns {code}", transient=code in _RETRYABLE) from exc
        return str(answer.get("MessageId", ""))
