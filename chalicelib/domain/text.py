"""Vietnamese text: NFC for storage and display, folding for matching."""
from __future__ import annotations

import unicodedata

_D = str.maketrans({"đ": "d", "Đ": "D"})


def nfc(text: str) -> str:
    """Returns `text` in NFC with surrounding whitespace removed (NFD keyboards exist)."""
    return unicodedata.normalize("NFC", text).strip()


def strip_diacritics(text: str) -> str:
    """Returns `text` without Vietnamese diacritics, case kept: 'Đã tiếp nhận' -> 'Da tiep nhan'.

    đ/Đ have no Unicode decomposition, so they are mapped explicitly.
    """
    decomposed = unicodedata.normalize("NFD", text.translate(_D))
    return unicodedata.normalize("NFC", "".join(c for c in decomposed if unicodedata.category(c) != "Mn"))


def fold(text: str) -> str:
    """Returns a lower-case, diacritic-free matching key: 'Đường  NGẬP' -> 'duong ngap'."""
    return " ".join(strip_diacritics(text).casefold().split())
