"""eSMS.vn short-code MO forwarding (reference/channels.md §2.4).

eSMS calls GET (or POST) `receive_mo?sender=&content=&serviceNumber=&keyword=&sign=&cpid=&smsid=
&receiverTime=`; sign = MD5(cpid + smsid + content + receiverTime + private key). Its docs show
the digest both as hex and as Base64, so both are accepted. It expects an XML reply.
"""
from __future__ import annotations

import base64
import hashlib
from datetime import datetime, timedelta, timezone
from xml.sax.saxutils import escape

from chalicelib.channels.base import PayloadInvalid, SignatureInvalid, same
from chalicelib.domain.messages import InboundMessage
from chalicelib.domain.phones import normalise_phone

PROVIDER = "esms"
_VN = timezone(timedelta(hours=7))


def signatures(params: dict[str, str], private_key: str) -> tuple[str, str]:
    """Returns the (hex, base64) encodings of the MD5 signature of `params`."""
    material = "".join(params.get(k, "") for k in ("cpid", "smsid", "content", "receiverTime")) + private_key
    digest = hashlib.md5(material.encode("utf-8")).digest()  # noqa: S324 - eSMS's scheme, not our choice
    return digest.hex(), base64.b64encode(digest).decode()


def verify(params: dict[str, str], private_key: str, cpid: str) -> None:
    """Raises SignatureInvalid for a wrong partner id or signature."""
    if not same(cpid, params.get("cpid")):
        raise SignatureInvalid()
    hex_sign, b64_sign = signatures(params, private_key)
    given = (params.get("sign") or "").strip()
    if not (same(hex_sign, given.lower()) or same(b64_sign, given)):
        raise SignatureInvalid()


def parse(params: dict[str, str]) -> InboundMessage:
    """Returns the InboundMessage of a verified MO; raises PayloadInvalid."""
    try:
        sender = normalise_phone(params["sender"])
        sms_id = params["smsid"].strip()
        if not sms_id:
            raise ValueError("empty smsid")
        received = datetime.strptime(params["receiverTime"], "%Y%m%d%H%M%S").replace(tzinfo=_VN)
        return InboundMessage(channel="sms", provider=PROVIDER, provider_message_id=sms_id, sender=sender,
                              text=params.get("content", ""), received_at=received,
                              reply_via=f"{PROVIDER}:{params.get('serviceNumber', '')}")
    except Exception as exc:  # KeyError, ValueError, ValidationFailed (phone)
        raise PayloadInvalid(f"esms: {type(exc).__name__}") from exc


def reply(sms_id: str, receiver: str, text: str = "") -> str:
    """The XML body eSMS expects; an empty Message sends nothing back (our replies go through the
    notifications queue, so they are retried and recorded)."""
    return (f"<ClientResponse><Message>{escape(text)}</Message><Smsid>{escape(sms_id)}</Smsid>"
            f"<Receiver>{escape(receiver)}</Receiver></ClientResponse>")
