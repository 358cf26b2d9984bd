"""Vietnamese text: NFC for storage and display, folding for matching."""
from __future__ import annotations

import unicodedata

_D = str.maketrans({"đ": "d", "Đ": "D"})


def nfc(text: str) -> str:
    """Returns `text` in NFC with surrounding whitespace removed (NFD keyboards exist)."""
    return unicodedata.normalize("NFC", text).strip()


def fold(text: str) -> str:
    """Returns a lower-case, diacritic-free key: 'Đường ngập' -> 'duong ngap'.

    đ/Đ have no Unicode decomposition, so they are mapped explicitly.
    """
    decomposed = unicodedata.normalize("NFD", text.translate(_D))
    stripped = "".join(c for c in decomposed if unicodedata.category(c) != "Mn")
    return " ".join(stripped.casefold().split())
