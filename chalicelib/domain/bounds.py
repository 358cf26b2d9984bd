"""Bounds on what a request may carry, checked before anything parses it deeply: one bounded JSON
reader for the API and every webhook, and the limits of a query string.

Python's json module recurses once per nesting level (a body of 30,000 '[' ends in RecursionError)
and turns a 5,000-digit number into a ValueError that is not a JSONDecodeError; a float() of a
huge integer raises OverflowError. Here the raw text is scanned first (linear, no recursion) for
its nesting depth and the length of each string, and numbers are refused by length while they are
parsed, so every malformed body is one `Unreadable` error and never a crash further in.
"""
from __future__ import annotations

import json
import re
from typing import Any, Mapping

from chalicelib.domain.errors import FieldError, ValidationFailed

MAX_BODY_BYTES = 512 * 1024    # the admin's reference document is ~40 KB; a DynamoDB item holds 400 KB
MAX_DEPTH = 32                 # our deepest document (reference: keywords in categories) is 4 levels
MAX_STRING_CHARS = 32 * 1024   # as sent: a 5,000-character description fits even if every letter is \u-escaped
MAX_NUMBER_CHARS = 32          # a coordinate, a size in bytes or a version: never more digits than this
MAX_QUERY_PARAMS = 30
MAX_QUERY_VALUE = 2048         # a page cursor is ~400 characters, an eSMS MO text a few hundred

# A string token (its closing quote optional, so an unterminated one is consumed at once instead of
# being retried from every later quote) or a bracket; everything else is skipped in C.
_TOKENS = re.compile(r'"(?:[^"\\]+|\\.)*"?|[\[\]{}]', re.DOTALL)
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")  # json.loads joins a valid pair into one character


class Unreadable(ValueError):
    """The input is not JSON, or exceeds a bound; `reason` says which, without quoting it."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _number(text: str, strict: bool) -> int | float | str:
    """A JSON number token as int or float. Beyond MAX_NUMBER_CHARS or a double's range it is
    refused (`strict`), or kept as its text for the adapter to judge (a provider's signed payload)."""
    number: int | float | None = None
    if len(text) <= MAX_NUMBER_CHARS:
        number = float(text) if any(c in text for c in ".eE") else int(text)
    if number is not None and number not in (float("inf"), float("-inf")):
        return number
    if strict:
        raise Unreadable("number too long" if number is None else "number out of range")
    return text


def _constant(name: str, strict: bool) -> str:
    if strict:
        raise Unreadable(f"{name} is not JSON")
    return name


def check_shape(text: str) -> None:
    """Raises Unreadable when `text` nests deeper than MAX_DEPTH or has a string longer than
    MAX_STRING_CHARS. Linear in the text's length; brackets inside strings do not count."""
    depth = 0
    for token in _TOKENS.finditer(text):
        kind = token.group()
        if kind in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                raise Unreadable("nested too deep")
        elif kind in "]}":
            depth -= 1
        elif token.end() - token.start() > MAX_STRING_CHARS + 2:
            raise Unreadable("string too long")


def load_json(raw: bytes | str, lenient: bool = False) -> Any:
    """Returns the JSON value in `raw` (UTF-8 bytes or text). Raises Unreadable for a body over
    MAX_BODY_BYTES, invalid UTF-8 or JSON, nesting deeper than MAX_DEPTH, a string over
    MAX_STRING_CHARS, a number over MAX_NUMBER_CHARS characters or beyond a double, NaN or
    Infinity, a lone surrogate in a string.

    `lenient` is for a provider's signed payload, which is better kept than lost: a number out of
    bounds or NaN stays as its text and a lone surrogate becomes U+FFFD, so the adapter reads what
    it can and refuses (quarantines) the rest; only what cannot be parsed safely at all is refused."""
    if len(raw) > MAX_BODY_BYTES:
        raise Unreadable("body too large")
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError as exc:
        raise Unreadable("not UTF-8") from exc
    check_shape(text)
    try:
        value = json.loads(text, parse_int=lambda t: _number(t, not lenient),
                           parse_float=lambda t: _number(t, not lenient),
                           parse_constant=lambda t: _constant(t, not lenient))
    except Unreadable:
        raise
    except ValueError as exc:  # JSONDecodeError, and anything a parse hook refused
        raise Unreadable("not JSON") from exc
    return _text_of(value, lenient)


def _text_of(value: Any, repair: bool) -> Any:
    """`value` with every string valid text. A lone surrogate ("\\ud800" is valid JSON but no
    text: UTF-8 cannot encode it, so storing it would fail far from here) raises Unreadable, or
    with `repair` becomes U+FFFD. Recursion is bounded: the shape was checked first."""
    if isinstance(value, str):
        if _LONE_SURROGATE.search(value) is None:
            return value
        if not repair:
            raise Unreadable("not UTF-8")
        return _LONE_SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [_text_of(item, repair) for item in value]
    if isinstance(value, dict):
        return {_text_of(key, repair): _text_of(item, repair) for key, item in value.items()}
    return value


def check_query(params: Mapping[str, list[str]]) -> None:
    """Raises ValidationFailed for a query string ({name: [values]}) with more than MAX_QUERY_PARAMS
    values, or a name or value longer than MAX_QUERY_VALUE characters."""
    values = [(name, value) for name, listed in params.items() for value in listed]
    if len(values) > MAX_QUERY_PARAMS:
        raise ValidationFailed([FieldError("query", f"Quá nhiều tham số (tối đa {MAX_QUERY_PARAMS}).",
                                           f"Too many query parameters (at most {MAX_QUERY_PARAMS}).")])
    for name, value in values:
        if len(name) > MAX_QUERY_VALUE or len(value) > MAX_QUERY_VALUE:
            raise ValidationFailed([FieldError(name[:40], f"Giá trị quá dài (tối đa {MAX_QUERY_VALUE} ký tự).",
                                               f"Value too long (at most {MAX_QUERY_VALUE} characters).")])
