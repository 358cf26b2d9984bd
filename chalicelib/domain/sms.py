"""SMS text: GSM-7 and segments. One GSM-7 segment holds 160 characters; any character outside
GSM-7 (every Vietnamese diacritic) switches the whole message to UCS-2 at 70 per segment."""
from __future__ import annotations

import math

from chalicelib.domain.text import strip_diacritics

_GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM7_EXTENSION = set("^{}\\[~]|€\f")  # each costs two septets


def is_gsm7(text: str) -> bool:
    return all(c in _GSM7_BASIC or c in _GSM7_EXTENSION for c in text)


def segments(text: str) -> int:
    """Returns how many SMS segments `text` takes (concatenated parts hold 153 / 67)."""
    if is_gsm7(text):
        septets = sum(2 if c in _GSM7_EXTENSION else 1 for c in text)
        return 1 if septets <= 160 else math.ceil(septets / 153)
    units = len(text.encode("utf-16-le")) // 2
    return 1 if units <= 70 else math.ceil(units / 67)


def fits_one_segment(text: str) -> bool:
    """What a citizen SMS may take: one segment. Registered sender IDs and brandnames in Vietnam
    are approved per template, and a longer message is billed (and refused by some gateways) per part."""
    return segments(text) == 1


def sms_text(text: str) -> str:
    """Returns `text` as an SMS: no diacritics, and only GSM-7 characters ('?' for the rest)."""
    plain = strip_diacritics(text).replace("–", "-").replace("“", '"').replace("”", '"').replace("’", "'")
    return "".join(c if c in _GSM7_BASIC or c in _GSM7_EXTENSION else "?" for c in plain)
