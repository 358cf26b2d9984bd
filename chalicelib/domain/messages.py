"""The one internal shape of a message from a citizen, whatever provider delivered it."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

# Channels whose sender is an app's user id, not a phone: a Zalo id, a Messenger page-scoped id (PSID).
MESSAGING_APPS = ("zalo", "facebook")


@dataclass(frozen=True)
class InboundMessage:
    """A message (or follow/unfollow) as the adapters hand it on. Nothing past an adapter sees a
    provider's format.

    `sender` is an E.164 phone for SMS, the OA-scoped user id for Zalo, the PSID for Facebook. `reply_via` names the
    provider that received it, so answers go back the same way (e.g. the same Android phone).
    """

    channel: str                # "sms" | "zalo" | "facebook"
    provider: str               # "zalo" | "facebook" | "android_gateway" | "smssync" | "esms"
    provider_message_id: str
    sender: str
    text: str
    received_at: datetime
    kind: str = "message"       # "message" | "follow" | "unfollow" | "delivered" | "read" (a Messenger receipt)
    attachments: list[dict[str, str]] = field(default_factory=list)
    location: tuple[float, float] | None = None
    reply_via: str = ""

    @property
    def quotable_id(self) -> str | None:
        """The id a Zalo reply quotes so that Zalo bills it as a reply, not a proactive message
        (a citizen's Zalo message; follow events have no message to quote, SMS has no quoting)."""
        return self.provider_message_id if self.channel == "zalo" and self.kind == "message" else None

    @property
    def dedup_key(self) -> str:
        return f"in#{self.provider}#{self.provider_message_id}"

    def to_json(self) -> dict[str, Any]:
        body = asdict(self)
        body["received_at"] = self.received_at.isoformat()
        body["location"] = list(self.location) if self.location else None
        return body

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> "InboundMessage":
        location = body.get("location")
        return cls(**{**body, "received_at": datetime.fromisoformat(body["received_at"]),
                      "location": (float(location[0]), float(location[1])) if location else None})
