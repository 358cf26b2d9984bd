"""Vietnamese phone numbers -> E.164 (+84...), per reference/channels.md §4.1."""
from __future__ import annotations

import re

from chalicelib.domain.errors import FieldError, ValidationFailed

# The 2018 conversion of 11-digit mobile numbers to 10 digits (old prefix -> new prefix).
_OLD_PREFIXES = {
    "0162": "032", "0163": "033", "0164": "034", "0165": "035", "0166": "036", "0167": "037",
    "0168": "038", "0169": "039", "0120": "070", "0121": "079", "0122": "077", "0126": "076",
    "0128": "078", "0123": "083", "0124": "084", "0125": "085", "0127": "081", "0129": "082",
    "0186": "056", "0188": "058", "0199": "059",
}
_SEPARATORS = re.compile(r"[\s.\-()]")


def _national(raw: str) -> str:
    """Returns the number in national form ('0…'), folding +84 / 84 / 0084 and '+84 (0)' spellings."""
    digits = _SEPARATORS.sub("", raw)
    if digits.startswith("+840"):
        digits = "0" + digits[4:]
    for international in ("+84", "0084", "84"):
        # A bare '84…' is only international when it is too long to be a national number.
        if digits.startswith(international) and (international != "84" or len(digits) >= 11):
            return "0" + digits[len(international):]
    return digits


def normalise_phone(raw: str, field: str = "phone") -> str:
    """Returns `raw` as E.164 ('+84912345678').

    Raises ValidationFailed naming `field` when the text is not a Vietnamese phone number.
    """
    import phonenumbers  # lazy: its metadata costs cold-start time on routes that never see a phone

    national = _national(raw or "")
    if len(national) == 11 and national[:4] in _OLD_PREFIXES:
        national = _OLD_PREFIXES[national[:4]] + national[4:]
    try:
        parsed = phonenumbers.parse(national, "VN")
    except phonenumbers.NumberParseException:
        parsed = None
    if parsed is None or not national.isdigit() or not phonenumbers.is_valid_number(parsed) \
            or parsed.country_code != 84:
        raise ValidationFailed([FieldError(
            field,
            "Số điện thoại không hợp lệ. Ví dụ: 0912 345 678.",
            "Not a valid Vietnamese phone number. Example: 0912 345 678.",
        )])
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def last4(e164: str) -> str:
    """Returns the last four digits, the citizen's proof of ownership on the status page."""
    return e164[-4:]
