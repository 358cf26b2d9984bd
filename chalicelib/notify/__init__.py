"""Outbound senders behind one interface (`Sender.send(recipient, text) -> provider id`)."""
from __future__ import annotations

from chalicelib.notify.base import Sender


def sender_for(provider: str) -> Sender:
    """Returns the sender for a provider name ('zalo', 'facebook', 'android_gateway', 'esms', 'sns').
    Imports lazily: a worker pays only for the providers it actually uses."""
    if provider == "zalo":
        from chalicelib.notify.zalo import ZaloSender

        return ZaloSender()
    if provider == "facebook":
        from chalicelib.notify.facebook import FacebookSender

        return FacebookSender()
    if provider == "android_gateway":
        from chalicelib.notify.android_gateway import AndroidGatewaySender

        return AndroidGatewaySender()
    if provider == "esms":
        from chalicelib.notify.esms import EsmsSender

        return EsmsSender()
    if provider == "ses":
        from chalicelib.notify.ses import SesSender

        return SesSender()
    if provider == "sns":
        from chalicelib.notify.sns import SnsSender

        return SnsSender()
    raise ValueError(f"no sender for provider {provider!r}")
