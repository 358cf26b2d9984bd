"""Stringee call control (reference/telephony.md §2-4): signatures, the requests Stringee sends us,
and the SCCO actions we answer with. Pure format: no AWS, no clock, no storage.

X-STRINGEE-SIGNATURE = base64(HMAC-SHA1(signing secret, data)); data is the raw body of a POST and
the Request-URI (path + query, spaces as %20) of a GET. Behind API Gateway the app sees neither the
raw query string nor, on execute-api, the stage in the route path, so a GET is verified against a
few rebuilt Request-URIs (`request_uri_candidates`): the public prefix Stringee used (STRINGEE_PUBLIC_PATH,
else the request's own base path) plus the route, with the query in a handful of orders and two
percent-encodings. That is at most 12 HMACs, each a microsecond.

Unverified by us against a live project (docs/channels.md, "Tổng đài / Stringee"): the encoding of
characters other than space in the signed query, and every field name of the voicemail recording
POST. Parsing is therefore tolerant: unknown fields are kept, optional ones may be missing, and a
request only fails when the call id (or, for events, the status) is missing or malformed.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, quote

from chalicelib.domain.errors import FieldError, ValidationFailed

PROVIDER = "stringee"
SIGNATURE_HEADER = "X-STRINGEE-SIGNATURE"
# The order of Stringee's documented answer_url example (reference/telephony.md §4); other keys follow.
DOCUMENTED_ORDER = ("from", "to", "fromInternal", "userId", "projectId", "callId", "custom")
VOICE_DEFAULT = "hn_male_xuantin_vdts_48k-hsmm"  # a Northern male voice from Stringee's TTS list
STATUSES = ("created", "started", "ringing", "answered", "ended", "agentEnded")
MAX_BODY_BYTES = 64 * 1024
_MAX_ID = 128
_MAX_NUMBER = 64
_MAX_TEXT = 2000
# Percent-encodings tried for the signed query: strict RFC 3986 (what Java's URI and most HTTP
# clients send) and JavaScript's encodeURIComponent (a Node caller). Both write a space as %20.
_SAFE_SETS = ("-_.~", "-_.!~*'()")


# --- signatures ---------------------------------------------------------------------------------

def signature(data: bytes | str, secret: str) -> str:
    """Returns what Stringee puts in X-STRINGEE-SIGNATURE for `data` (a Request-URI or a raw body)."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    return base64.b64encode(hmac.new(secret.encode("utf-8"), raw, hashlib.sha1).digest()).decode("ascii")


def _matches(data: bytes | str, given: str | None, secret: str) -> bool:
    if not given or not secret:
        return False
    return hmac.compare_digest(signature(data, secret).encode("ascii"), given.strip().encode("utf-8", "replace"))


def _ordered_keys(query: Mapping[str, str]) -> list[tuple[str, ...]]:
    received = tuple(query.keys())
    documented = tuple(k for k in DOCUMENTED_ORDER if k in query) + tuple(k for k in received if k not in DOCUMENTED_ORDER)
    orders: list[tuple[str, ...]] = []
    for keys in (received, documented, tuple(sorted(received))):
        if keys not in orders:
            orders.append(keys)
    return orders


def request_uri_candidates(public_prefix: str, route_path: str, query: Mapping[str, str]) -> list[str]:
    """Returns the Request-URIs Stringee may have signed for a GET of `route_path` (the app's route,
    e.g. '/webhooks/stringee/answer') with the decoded `query`, most likely first: under
    `public_prefix` ('/api' on execute-api, '' on a custom domain) and, when that is not empty, also
    without it (a proxy that strips the stage). At most 3 orders x 2 encodings x 2 paths = 12."""
    prefix = "/" + (public_prefix or "").strip("/") if (public_prefix or "").strip("/") else ""
    route = "/" + route_path.lstrip("/")
    paths = [prefix + route] + ([route] if prefix else [])
    query = {str(k): "" if v is None else str(v) for k, v in (query or {}).items()}
    candidates: list[str] = []
    for path in paths:
        if not query:
            candidates.append(path)
            continue
        for keys in _ordered_keys(query):
            for safe in _SAFE_SETS:
                text = "&".join(f"{quote(k, safe=safe)}={quote(query[k], safe=safe)}" for k in keys)
                uri = f"{path}?{text}"
                if uri not in candidates:
                    candidates.append(uri)
    return candidates


def verify_get(request_uri_candidates: list[str], signature: str | None, secret: str) -> bool:
    """True when `signature` is Stringee's signature of one of the candidate Request-URIs under
    `secret`. Every comparison is constant-time; an empty secret or signature never verifies."""
    found = False
    for candidate in request_uri_candidates:
        found = _matches(candidate, signature, secret) or found  # no early exit: same work either way
    return found


def verify_post(body: bytes, signature: str | None, secret: str) -> bool:
    """True when `signature` is Stringee's signature of the raw `body` under `secret`."""
    return _matches(body or b"", signature, secret)


# Our own signature of the query we put in the URLs we hand Stringee (onFailEventUrl, a recordMessage's
# eventUrl): Stringee's POST signature covers only the body, so without it a replayed body could be sent
# to another ?call=. A truncated HMAC-SHA256 under the signing secret, over what the query steers.
QUERY_TOKEN = "t"


def query_token(secret: str, call_id: str, tried: str = "", kind: str = "") -> str:
    """The `t` parameter for a URL of ours carrying `call_id`, `tried` (/next's try) and `kind`."""
    data = f"hotline1022-scco-url|{call_id}|{tried}|{kind}".encode("utf-8")
    digest = hmac.new(secret.encode("utf-8"), data, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:18]).decode("ascii")


def query_token_ok(secret: str, token: str | None, call_id: str, tried: str = "", kind: str = "") -> bool:
    """True when `token` is query_token of these values (constant-time; no secret or token: False)."""
    if not secret or not token:
        return False
    expected = query_token(secret, call_id, tried, kind)
    return hmac.compare_digest(expected.encode("ascii"), token.strip().encode("utf-8", "replace"))


def public_prefix(configured: str | None, request_base: str) -> str:
    """The path Stringee puts before the route: STRINGEE_PUBLIC_PATH when configured ('' is a custom
    domain's root), else the base path of the request itself (chalicelib/web/urls.py)."""
    chosen = request_base if configured is None else configured
    return "/" + chosen.strip("/") if chosen.strip("/") else ""


# --- what Stringee sends --------------------------------------------------------------------------

def _invalid(name: str, vi: str, en: str) -> ValidationFailed:
    return ValidationFailed([FieldError(name, vi, en)])


def _text(value: Any, name: str, limit: int) -> str:
    """A string field (a number is tolerated and kept as its text); '' when missing."""
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise _invalid(name, f"Trường {name} không đúng kiểu.", f"Field {name} has the wrong type.")
    text = str(value).strip()
    if len(text) > limit or any(ord(c) < 32 for c in text):
        raise _invalid(name, f"Trường {name} quá dài hoặc có ký tự lạ.", f"Field {name} is too long or has control characters.")
    return text


def _call_id(value: Any, name: str = "call_id") -> str:
    text = _text(value, name, _MAX_ID)
    if not text:
        raise _invalid(name, "Thiếu mã cuộc gọi.", "The call id is missing.")
    return text


def _seconds(value: Any, name: str, limit: int = 10 ** 9) -> int | None:
    """A non-negative whole number below `limit` (seconds, or epoch milliseconds with a larger
    limit; Stringee sends numbers, sometimes as strings); None when missing or empty."""
    if value is None or value == "":
        return None
    try:
        number = float("x" if isinstance(value, bool) else value)
    except (TypeError, ValueError):
        raise _invalid(name, f"Trường {name} không phải là số.", f"Field {name} is not a number.") from None
    if not 0 <= number < limit:  # also false for NaN
        raise _invalid(name, f"Trường {name} ngoài khoảng cho phép.", f"Field {name} is out of range.")
    return round(number)


def _flag(value: Any) -> bool:
    return str(value).strip().lower() in ("true", "1", "yes")


@dataclass(frozen=True)
class Offer:
    """An answer_url request: a call that wants to know what to do."""

    call_id: str
    caller: str            # as Stringee sent it: '0909982888', '84909982888', a user id, or ''
    called: str            # the DID (or user) that was called
    from_internal: bool    # from a Stringee app/web client rather than the phone network
    user_id: str
    project_id: str
    custom: str
    extra: dict[str, str] = field(default_factory=dict)  # every other query key, kept as sent


def parse_offer(query: Mapping[str, str]) -> Offer:
    """Returns the Offer in answer_url's decoded query; raises ValidationFailed when the call id
    (`uuid`, or `callId` from an app client) is missing or a field is too long."""
    query = dict(query or {})
    call_id = _call_id(query.get("uuid") or query.get("callId"), "uuid")
    known = {"uuid", "callId", "from", "to", "fromInternal", "userId", "projectId", "custom"}
    return Offer(call_id=call_id, caller=_text(query.get("from"), "from", _MAX_NUMBER),
                 called=_text(query.get("to"), "to", _MAX_NUMBER), from_internal=_flag(query.get("fromInternal")),
                 user_id=_text(query.get("userId"), "userId", _MAX_ID),
                 project_id=_text(query.get("projectId"), "projectId", _MAX_ID),
                 custom=_text(query.get("custom"), "custom", _MAX_TEXT),
                 extra={k: str(v)[:_MAX_TEXT] for k, v in query.items() if k not in known})


@dataclass(frozen=True)
class CallEvent:
    """One event_url POST: a state change of one call."""

    call_id: str
    status: str                      # one of STATUSES, or a status we don't know yet (kept, not refused)
    timestamp_ms: int | None
    from_number: str
    from_type: str                   # 'external' | 'internal' | ''
    to_number: str
    to_type: str
    duration_s: int | None           # on 'ended'
    answer_duration_s: int | None    # on 'ended'; 0 = never answered
    end_cause: str                   # on 'ended', e.g. '486 Busy Here'
    ended_by: str                    # on 'ended', e.g. 'EXTERNAL'
    custom: str                      # clientCustomData / customData
    raw: dict[str, Any] = field(default_factory=dict)  # the whole body, unknown keys included


def _body(body: bytes | str) -> dict[str, Any]:
    """The JSON object in a POST body (a form-encoded body is tolerated too); raises ValidationFailed."""
    raw = body.encode("utf-8") if isinstance(body, str) else (body or b"")
    if len(raw) > MAX_BODY_BYTES:
        raise _invalid("body", "Dữ liệu gửi lên quá lớn.", "Request body too large.")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise _invalid("body", "Dữ liệu không đúng định dạng.", "The body is not UTF-8.") from None
    if text.lstrip().startswith("{"):
        try:
            parsed = json.loads(text)
        except (ValueError, RecursionError):
            raise _invalid("body", "Dữ liệu không đúng định dạng JSON.", "The body is not valid JSON.") from None
        if isinstance(parsed, dict):
            return parsed
    elif "=" in text:
        return dict(parse_qsl(text, keep_blank_values=True))
    raise _invalid("body", "Dữ liệu không phải một đối tượng JSON.", "The body is not a JSON object.")


def _party(value: Any, name: str) -> tuple[str, str]:
    """(number, type) of a 'from'/'to' object; a bare string is taken as the number."""
    if value is None:
        return "", ""
    if isinstance(value, dict):
        return _text(value.get("number"), f"{name}.number", _MAX_NUMBER), _text(value.get("type"), f"{name}.type", 32)
    return _text(value, name, _MAX_NUMBER), ""


def parse_event(body: bytes | str) -> CallEvent:
    """Returns the CallEvent in an event_url body; raises ValidationFailed when it is not a JSON
    object, lacks call_id or call_status, or a field has an impossible type or size."""
    data = _body(body)
    status = _text(data.get("call_status"), "call_status", 32)
    if not status:
        raise _invalid("call_status", "Thiếu trạng thái cuộc gọi.", "The call status is missing.")
    from_number, from_type = _party(data.get("from"), "from")
    to_number, to_type = _party(data.get("to"), "to")
    custom = data.get("clientCustomData", data.get("customData"))
    return CallEvent(call_id=_call_id(data.get("call_id")), status=status,
                     timestamp_ms=_seconds(data.get("timestamp_ms"), "timestamp_ms", 10 ** 14),
                     from_number=from_number, from_type=from_type, to_number=to_number, to_type=to_type,
                     duration_s=_seconds(data.get("duration"), "duration"),
                     answer_duration_s=_seconds(data.get("answerDuration"), "answerDuration"),
                     end_cause=_text(data.get("endCallCause"), "endCallCause", 200),
                     ended_by=_text(data.get("endedBy"), "endedBy", 64),
                     custom=_text(custom, "clientCustomData", _MAX_TEXT), raw=data)


@dataclass(frozen=True)
class Recording:
    """The POST to a recordMessage action's eventUrl: where the voicemail is."""

    call_id: str
    url: str
    duration_s: int | None
    raw: dict[str, Any] = field(default_factory=dict)


# Names seen in Stringee's samples and forums for the recording POST; none verified (module docstring).
_URL_KEYS = ("recording_url", "recordingUrl", "record_url", "recordUrl", "url", "file_url", "fileUrl", "link")
_ID_KEYS = ("call_id", "callId", "uuid", "callUuid")
_DURATION_KEYS = ("duration", "recording_duration", "recordDuration", "record_duration")


def _first(data: Mapping[str, Any], keys: tuple[str, ...]) -> tuple[str, Any]:
    for key in keys:
        if data.get(key) not in (None, ""):
            return key, data[key]
    return keys[0], None


def parse_recording(body: bytes | str) -> Recording:
    """Returns the Recording in a voicemail POST (JSON or form-encoded, under any of the names
    above); raises ValidationFailed when the call id or an http(s) URL is missing."""
    data = _body(body)
    id_key, call_id = _first(data, _ID_KEYS)
    url_key, url = _first(data, _URL_KEYS)
    url = _text(url, url_key, _MAX_TEXT)
    if not url.lower().startswith(("https://", "http://")):
        raise _invalid(url_key, "Thiếu đường dẫn bản ghi âm.", "The recording URL is missing or not http(s).")
    duration_key, duration = _first(data, _DURATION_KEYS)
    return Recording(call_id=_call_id(call_id, id_key), url=url, duration_s=_seconds(duration, duration_key), raw=data)


# --- what we answer (SCCO actions) -------------------------------------------------------------------

def connect(to_type: str, to_number: str, from_number: str, alias: str, timeout_s: int,
            on_fail_url: str | None, custom: str = "") -> dict[str, Any]:
    """Rings `to_number` ('internal': a Stringee user id, 'external': a phone number) for up to
    `timeout_s`; with `on_fail_url`, a failure (busy, offline, no answer) makes Stringee POST there
    and run the SCCO we answer instead of the rest of this one."""
    if to_type not in ("internal", "external"):
        raise ValueError(f"to_type must be internal or external, not {to_type!r}")
    if to_type == "external":  # a phone as Stringee writes it: digits, no "+" (as in chalicelib/notify/stringee.py)
        to_number = to_number.strip().lstrip("+")
    action: dict[str, Any] = {
        "action": "connect",
        "from": {"type": "external", "number": from_number, "alias": alias},
        "to": {"type": to_type, "number": to_number, "alias": to_number},
        "customData": custom, "timeout": int(timeout_s), "maxConnectTime": -1, "peerToPeerCall": False,
    }
    if on_fail_url:
        action.update(continueOnFail=True, onFailEventUrl=on_fail_url)
    return action


def talk(text: str, voice: str = VOICE_DEFAULT) -> dict[str, Any]:
    """Speaks `text` (Vietnamese text-to-speech)."""
    return {"action": "talk", "text": text, "voice": voice, "speed": 0, "bargeIn": False, "loop": 1}


def record_message(event_url: str, timeout_s: int = 120) -> dict[str, Any]:
    """Records a voicemail after a beep, for up to `timeout_s`; Stringee POSTs its link to `event_url`."""
    return {"action": "recordMessage", "eventUrl": event_url, "beepStart": "true",
            "timeout": str(int(timeout_s) * 1000), "format": "wav", "silenceThresh": 12, "silenceTimeout": 4000}


def record(event_url: str) -> dict[str, Any]:
    """Records the whole call (asynchronous: put it before `connect`); the link is POSTed to `event_url`."""
    return {"action": "record", "eventUrl": event_url, "format": "mp3"}
