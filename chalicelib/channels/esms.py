"""eSMS.vn short-code MO forwarding (reference/channels.md §2.4).

eSMS calls GET (or POST) `receive_mo?sender=&content=&serviceNumber=&keyword=&sign=&cpid=&smsid=
&receiverTime=`; sign = MD5(cpid + smsid + content + receiverTime + private key). Its docs show
the digest both as hex and as Base64, so both are accepted. It expects an XML reply.

What the signature does not cover: `sender`, `serviceNumber` and `keyword`. The signed
`receiverTime` bounds a signed MO's life to MAX_AGE, and the signed `smsid` is its dedup key
(whatever sender comes with it), so one signed MO has at most one effect, under one sender: the
first to be processed (docs/channels.md says what that leaves open).
"""
from __future__ import annotations

import base64
import hashlib
from datetime import datetime, timedelta, timezone
from xml.sax.saxutils import escape

from chalicelib.channels.base import PayloadInvalid, SignatureInvalid, check_age, same
from chalicelib.domain.messages import InboundMessage
from chalicelib.domain.phones import normalise_phone

PROVIDER = "esms"
_VN = timezone(timedelta(hours=7))  # receiverTime carries no zone; eSMS's examples are Vietnamese local time
# eSMS documents no retry schedule for MO; an hour covers a late delivery while our endpoint recovers.
MAX_AGE = timedelta(hours=1)


def signatures(params: dict[str, str], private_key: str) -> tuple[str, str]:
    """Returns the (hex, base64) encodings of the MD5 signature of `params`."""
    material = "".join(params.get(k, "") for k in ("cpid", "smsid", "content", "receiverTime")) + private_key
    digest = hashlib.md5(material.encode("utf-8")).digest()  # noqa: S324 - eSMS's scheme, not our choice
    return digest.hex(), base64.b64encode(digest).decode()


def received_at(params: dict[str, str]) -> datetime:
    """Returns the signed `receiverTime` (yyyyMMddHHmmss, Vietnam time); raises SignatureInvalid
    ('undated') when it is missing or unreadable: a signed MO must be dated to be bounded."""
    text = (params.get("receiverTime") or "").strip()
    if not (len(text) == 14 and text.isascii() and text.isdigit()):
        raise SignatureInvalid("undated")
    try:
        return datetime.strptime(text, "%Y%m%d%H%M%S").replace(tzinfo=_VN)
    except ValueError:
        raise SignatureInvalid("undated") from None


def verify(params: dict[str, str], private_key: str, cpid: str, now: datetime) -> None:
    """Raises SignatureInvalid for a wrong partner id or signature ('signature'), and for a signed
    receiverTime missing ('undated'), more than MAX_AGE before `now` ('stale') or more than
    MAX_AHEAD after it ('future')."""
    if not same(cpid, params.get("cpid")):
        raise SignatureInvalid()
    hex_sign, b64_sign = signatures(params, private_key)
    given = (params.get("sign") or "").strip()
    if not (same(hex_sign, given.lower()) or same(b64_sign, given)):
        raise SignatureInvalid()
    check_age(int(received_at(params).timestamp() * 1000), now, MAX_AGE)


def parse(params: dict[str, str]) -> InboundMessage:
    """Returns the InboundMessage of a verified MO; raises PayloadInvalid."""
    try:
        sender = normalise_phone(params["sender"])
        sms_id = params["smsid"].strip()
        if not sms_id:
            raise ValueError("empty smsid")
        return InboundMessage(channel="sms", provider=PROVIDER, provider_message_id=sms_id, sender=sender,
                              text=params.get("content", ""), received_at=received_at(params),
                              reply_via=f"{PROVIDER}:{params.get('serviceNumber', '')}")
    except Exception as exc:  # KeyError, ValueError, ValidationFailed (phone)
        raise PayloadInvalid(f"esms: {type(exc).__name__}") from exc


def reply(sms_id: str, receiver: str, text: str = "") -> str:
    """The XML body eSMS expects; an empty Message sends nothing back (our replies go through the
    notifications queue, so they are retried and recorded)."""
    return (f"<ClientResponse><Message>{escape(text)}</Message><Smsid>{escape(sms_id)}</Smsid>"
            f"<Receiver>{escape(receiver)}</Receiver></ClientResponse>")
