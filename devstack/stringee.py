"""A fake Stringee on loopback (reference/telephony.md §7): it places scripted calls into the app the
way Stringee does (a signed answer_url GET, the SCCO played, signed event_url / onFailEventUrl /
voicemail POSTs), and it accepts the app's callouts (POST /v1/call2/callout) after checking their
JWT, then drives those calls' events too.

- `place_call(base_url, script, caller)`: one scripted call against the app at `base_url` (origin +
  base path); returns a CallResult (status codes, SCCOs, events) for tests to assert on;
- `start_fake_stringee()`: the REST API fake, which also serves the voicemail recordings (a tiny WAV);
- `CallPage`: the dev page /dev/goi-thu of `make run`, and `python -m devstack.call <script>`.

What the fake cannot know (docs/channels.md, "Tổng đài / Stringee"): the body of the onFailEventUrl
POST (sent here as an event of the failed leg, with the connect's customData) and the field names of
the recording POST. It sends `answered` only when an operator answers, not when the call is taken by
a spoken message or voicemail.
"""
from __future__ import annotations

import html
import io
import json
import secrets
import threading
import time
import urllib.error
import urllib.request
import wave
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from chalicelib.channels import stringee
from devstack.fakes import LOCAL_SECRETS

ANSWER = "/webhooks/stringee/answer"
EVENT = "/webhooks/stringee/event"
NEXT = "/webhooks/stringee/next"
VOICEMAIL = "/webhooks/stringee/voicemail"
PAGE = "/dev/goi-thu"
LOCAL_HOTLINE = "+842763661022"  # the local stack's Stringee number (STRINGEE_HOTLINE_NUMBER)
PROJECT_ID = "25102"
ACCOUNT_SID = "AC.local.hotline1022"
CALLOUT_PATH = "/v1/call2/callout"
MAX_SCCOS = 12  # a call that keeps being handed a new SCCO is a loop: the fake hangs up

# script -> what the caller and the operators do (the page shows the Vietnamese description)
SCRIPTS: dict[str, str] = {
    "answered": "Người dân gọi, tổng đài viên đầu tiên nghe máy",
    "missed_busy": "Mọi tổng đài viên đều bận; người dân để lại lời nhắn thoại",
    "after_hours_voicemail": "Không ai nghe máy (như ngoài giờ); người dân nghe thông báo và để lại lời nhắn",
    "abandoned": "Người dân gác máy khi đang đổ chuông",
    "missed": "Không tổng đài viên nào nghe máy; người dân gác máy trước tiếng bíp (không để lại lời nhắn)",
    "out_of_order": "Cuộc gọi được nghe, nhưng sự kiện đến lộn xộn: kết thúc trước khi nghe máy, nghe máy hai lần",
    "forged": "Yêu cầu giả mạo: chữ ký sai hoặc thiếu (answer_url: lời nhắn an toàn, không đổ chuông ai; POST: từ chối)",
}
# nominal lengths (seconds) of a scripted call's parts, for durations and timestamps when it is not paced
RING_S, TALK_S, MESSAGE_S = 12, 95, 18


def _wav() -> bytes:
    """A quarter second of silence: what the fake serves as every voicemail recording."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(b"\0\0" * 2000)
    return buffer.getvalue()


# --- talking to the app ---------------------------------------------------------------------------

def _request(method: str, url: str, body: bytes | None = None, headers: dict[str, str] | None = None,
             timeout_s: float = 30) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as answer:  # noqa: S310 - the local stack
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()
    except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
        return 0, str(exc).encode()


def signed_post(url: str, payload: dict[str, Any], secret: str | None) -> tuple[int, bytes]:
    """POSTs `payload` as JSON with Stringee's signature of the exact bytes (none when `secret` is None)."""
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers[stringee.SIGNATURE_HEADER] = stringee.signature(body, secret)
    return _request("POST", url, body, headers)


def answer_request_uri(base_url: str, query: dict[str, str]) -> str:
    """The Request-URI Stringee signs for the answer_url GET: the path as requested (with the stage
    prefix, if any) and the query in Stringee's order, spaces as %20."""
    path = urlsplit(base_url).path.rstrip("/") + ANSWER
    return path + "?" + "&".join(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in query.items())


def _scco(status: int, raw: bytes) -> list[dict[str, Any]] | None:
    """The SCCO in an answer (a JSON array of actions; one action object is accepted too), or None."""
    if status != 200:
        return None
    try:
        parsed = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    if isinstance(parsed, dict):
        parsed = [parsed]
    return [a for a in parsed if isinstance(a, dict)] if isinstance(parsed, list) else None


def _international(number: str) -> str:
    """How Stringee writes a caller in events: '84909982888'."""
    digits = number.strip().lstrip("+")
    return "84" + digits[1:] if digits.startswith("0") else digits


@dataclass
class CallResult:
    """What happened during one scripted call (`steps` in order, each {"do", "status", ...})."""

    script: str
    call_id: str
    answer_status: int = 0
    sccos: list[list[dict[str, Any]]] = field(default_factory=list)
    steps: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)  # {"status": call_status, "http": code}
    outcome: str = ""  # answered | voicemail | hung_up | abandoned | refused | no_route

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class _Call:
    """One scripted call in flight."""

    def __init__(self, base_url: str, script: str, caller: str, hotline: str, secret: str, media_base: str,
                 call_id: str, ring_s: float, talk_s: float, start_ms: int | None = None) -> None:
        self.base = base_url.rstrip("/")
        self.script, self.caller, self.hotline, self.secret = script, caller, hotline, secret
        self.media_base = media_base.rstrip("/")
        self.ring_s, self.talk_s = ring_s, talk_s
        self.result = CallResult(script, call_id)
        paced = ring_s > 0 or talk_s > 0
        # Timestamps follow the script's own clock: real time when paced (the screen-pop demo), else a
        # call that started a few minutes ago and runs at its nominal lengths.
        self.start_ms = start_ms if start_ms is not None else \
            int(time.time() * 1000) - (0 if paced else 10 * 60 * 1000)
        self.elapsed_s = 0.0
        self.answered_at: float | None = None
        self.held: list[dict[str, Any]] = []  # out_of_order: events kept back, sent scrambled at the end
        self.last_to: dict[str, Any] = {"number": hotline.lstrip("+"), "type": "external"}

    # what the call looks like in Stringee's events
    def _event(self, status: str, to: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
        to = to or self.last_to
        return {"call_status": status, "project_id": int(PROJECT_ID), "account_sid": ACCOUNT_SID,
                "request_from_user_id": "", "type": "stringee_call", "call_id": self.result.call_id,
                "timestamp_ms": self.start_ms + int(self.elapsed_s * 1000),
                "from": {"number": _international(self.caller), "alias": _international(self.caller),
                         "is_online": False, "type": "external"},
                "to": {"number": to.get("number", ""), "alias": to.get("alias", to.get("number", "")),
                       "is_online": False, "type": to.get("type", "external")},
                "clientCustomData": "", **extra}

    def send_event(self, event: dict[str, Any]) -> None:
        if self.script == "out_of_order" and event["call_status"] != "created":
            self.held.append(event)
            return
        status, _ = signed_post(self.base + EVENT, event, self.secret)
        self.result.events.append({"status": event["call_status"], "http": status})

    def wait(self, real_s: float, nominal_s: float) -> None:
        if real_s > 0:
            time.sleep(real_s)
        self.elapsed_s += real_s if real_s > 0 else nominal_s

    def end(self, cause: str, ended_by: str) -> None:
        answered = 0 if self.answered_at is None else round(self.elapsed_s - self.answered_at)
        self.send_event(self._event("ended", callCreatedReason="EXTERNAL_CALL_IN", endCallCause=cause,
                                    endedBy=ended_by, callType="external_to_internal",
                                    duration=round(self.elapsed_s), answerDuration=answered))
        if self.held:  # ended first, then answered twice, then ringing: what a retried webhook looks like
            order = [e for e in self.held if e["call_status"] == "ended"] + \
                [e for e in self.held if e["call_status"] == "answered"] * 2 + \
                [e for e in self.held if e["call_status"] not in ("ended", "answered")]
            self.held = []
            for event in order:
                status, _ = signed_post(self.base + EVENT, event, self.secret)
                self.result.events.append({"status": event["call_status"], "http": status})

    def run(self) -> CallResult:
        query = {"from": self.caller, "to": self.hotline.lstrip("+"), "fromInternal": "false",
                 "uuid": self.result.call_id}
        uri = answer_request_uri(self.base, query)
        origin = "{0.scheme}://{0.netloc}".format(urlsplit(self.base))
        if self.script == "forged":
            return self._forged(origin, uri)
        self.send_event(self._event("created"))
        status, raw = _request("GET", origin + uri, headers={stringee.SIGNATURE_HEADER: stringee.signature(uri, self.secret)})
        self.result.answer_status = status
        scco = _scco(status, raw)
        self.result.steps.append({"do": "answer_url", "status": status, "actions": len(scco or [])})
        if scco is None:
            self.result.outcome = "no_route"
            self.end("480 Temporarily Unavailable", "SYSTEM")
            return self.result
        self._play(scco)
        return self.result

    def _play(self, scco: list[dict[str, Any]]) -> None:
        self.result.sccos.append(scco)
        queue = list(scco)
        left_message = False
        while queue:
            action = queue.pop(0)
            kind = action.get("action")
            if kind == "connect":
                outcome = self._connect(action)
                if outcome in ("answered", "abandoned"):
                    return
                next_scco = self._failed(action, outcome)
                if next_scco is None:
                    continue
                if len(self.result.sccos) >= MAX_SCCOS:
                    self.result.steps.append({"do": "hang_up", "why": "too many SCCOs"})
                    break
                self.result.sccos.append(next_scco)
                queue = list(next_scco)
            elif kind == "talk":
                self.result.steps.append({"do": "talk", "text": str(action.get("text", ""))[:300]})
                self.wait(0, 8)
            elif kind == "recordMessage" and self.script == "missed":
                self.result.steps.append({"do": "hang_up", "why": "before the beep"})
                break
            elif kind == "recordMessage":
                left_message = self._voicemail(action) or left_message
            elif kind == "record":
                self.result.steps.append({"do": "record", "eventUrl": action.get("eventUrl")})
            else:
                self.result.steps.append({"do": "ignored", "action": kind})
        self.result.outcome = "voicemail" if left_message else "hung_up"
        self.end("200 OK" if left_message else "16 Normal Clearing", "EXTERNAL")

    def _connect(self, action: dict[str, Any]) -> str:
        """Rings the connect's callee as the script says; returns answered | abandoned | busy | no_answer."""
        to = action.get("to") if isinstance(action.get("to"), dict) else {}
        self.last_to = to
        self.send_event(self._event("ringing", to, clientCustomData=action.get("customData", "")))
        step = {"do": "connect", "to_type": to.get("type"), "to": to.get("number"),
                "timeout": action.get("timeout"), "continueOnFail": action.get("continueOnFail")}
        self.result.steps.append(step)
        if self.script in ("answered", "out_of_order"):
            self.wait(self.ring_s, RING_S)
            self.answered_at = self.elapsed_s
            step["result"] = "answered"
            self.send_event(self._event("answered", to, clientCustomData=action.get("customData", "")))
            self.wait(self.talk_s, TALK_S)
            self.result.outcome = "answered"
            self.end("200 OK", "EXTERNAL")
            return "answered"
        if self.script == "abandoned":
            self.wait(self.ring_s, RING_S)
            step["result"] = "caller hung up"
            self.result.outcome = "abandoned"
            self.end("487 Request Terminated", "EXTERNAL")
            return "abandoned"
        busy = self.script == "missed_busy"
        self.wait(0 if busy else self.ring_s, 1 if busy else float(action.get("timeout") or 30))
        step["result"] = "busy" if busy else "no answer"
        return "busy" if busy else "no_answer"

    def _failed(self, action: dict[str, Any], why: str) -> list[dict[str, Any]] | None:
        """A failed connect: POSTs onFailEventUrl when continueOnFail, returns the SCCO answered there."""
        url = action.get("onFailEventUrl")
        if not (action.get("continueOnFail") and url):
            return None
        cause = "486 Busy Here" if why == "busy" else "480 Temporarily Unavailable"
        event = self._event("ended", action.get("to"), clientCustomData=action.get("customData", ""),
                            endCallCause=cause, endedBy="INTERNAL" if why == "busy" else "SYSTEM",
                            answerDuration=0, duration=0, reason=why)
        status, raw = signed_post(str(url), event, self.secret)
        scco = _scco(status, raw)
        self.result.steps.append({"do": "next", "status": status, "actions": len(scco or [])})
        return scco

    def _voicemail(self, action: dict[str, Any]) -> bool:
        """Records a message (every script that reaches voicemail leaves one) and POSTs its link."""
        url = action.get("eventUrl")
        self.wait(0, MESSAGE_S)
        if not url:
            self.result.steps.append({"do": "recordMessage", "status": None})
            return False
        recording = f"{self.media_base}/recordings/{self.result.call_id}.wav"
        status, _ = signed_post(str(url), {"call_id": self.result.call_id, "type": "recordMessage",
                                           "recording_url": recording, "duration": MESSAGE_S,
                                           "timestamp_ms": self.start_ms + int(self.elapsed_s * 1000)}, self.secret)
        self.result.steps.append({"do": "recordMessage", "status": status, "url": recording})
        return 200 <= status < 300

    def _forged(self, origin: str, uri: str) -> CallResult:
        """A request signed with the wrong secret, one with no signature, and a forged event."""
        wrong = "not-" + self.secret
        status, raw = _request("GET", origin + uri, headers={stringee.SIGNATURE_HEADER: stringee.signature(uri, wrong)})
        self.result.answer_status = status
        scco = _scco(status, raw)
        if scco is not None:
            self.result.sccos.append(scco)
        self.result.steps.append({"do": "answer_url", "signature": "wrong", "status": status})
        status, _ = _request("GET", origin + uri)
        self.result.steps.append({"do": "answer_url", "signature": "none", "status": status})
        event = self._event("answered")
        status, _ = signed_post(self.base + EVENT, event, wrong)
        self.result.events.append({"status": "answered", "http": status, "signature": "wrong"})
        status, _ = signed_post(self.base + EVENT, event, None)
        self.result.events.append({"status": "answered", "http": status, "signature": "none"})
        self.result.outcome = "refused"
        return self.result


def place_call(base_url: str, script: str, caller: str = "0909982888", *, hotline: str = LOCAL_HOTLINE,
               secret: str | None = None, media_base: str = "http://127.0.0.1:9", call_id: str | None = None,
               ring_s: float = 0.0, talk_s: float = 0.0, start_ms: int | None = None) -> CallResult:
    """Places one scripted call (one of SCRIPTS) from `caller` to the app at `base_url` (origin plus
    base path, e.g. 'http://127.0.0.1:8000/api'), signed with `secret` (default: the local stack's).
    `ring_s` / `talk_s` pace it in real time (0: as fast as the app answers). Voicemail links point
    at `media_base` (the fake's own host serves them). `start_ms` sets when the call started in its events'
    timestamps (a test's scripted hour). Returns what happened."""
    if script not in SCRIPTS:
        raise ValueError(f"unknown script {script!r}: one of {', '.join(SCRIPTS)}")
    call = _Call(base_url, script, caller, hotline, secret or LOCAL_SECRETS["stringee_signing_secret"], media_base,
                 call_id or f"call-vn-1-{secrets.token_hex(5).upper()}-{int(time.time() * 1000)}", ring_s, talk_s,
                 start_ms)
    return call.run()


# --- the REST API fake ----------------------------------------------------------------------------

def check_token(token: str | None, key_sid: str, key_secret: str, now: float | None = None) -> str | None:
    """Why Stringee would refuse this X-STRINGEE-AUTH token, or None when it is good: HS256 under
    the key secret, header typ JWT / alg HS256 / cty stringee-api;v=1, iss = the key's SID, exp in
    the future, rest_api true."""
    import jwt

    if not token:
        return "missing X-STRINGEE-AUTH"
    try:
        header = jwt.get_unverified_header(token)
        claims = jwt.decode(token, key_secret, algorithms=["HS256"], options={"verify_exp": False})
    except jwt.PyJWTError as exc:
        return f"invalid token: {type(exc).__name__}"
    if (header.get("typ"), header.get("alg"), header.get("cty")) != ("JWT", "HS256", "stringee-api;v=1"):
        return "wrong token header"
    if claims.get("iss") != key_sid:
        return "unknown API key"
    exp = claims.get("exp")
    if not isinstance(exp, int) or exp <= (time.time() if now is None else now):
        return "token expired"
    if claims.get("rest_api") is not True:
        return "not a REST API token"
    return None


@dataclass
class StringeeState:
    """What the fake holds; tests read it and steer it."""

    callouts: list[dict[str, Any]] = field(default_factory=list)  # accepted: {"call_id", "body"}
    refused: list[str] = field(default_factory=list)              # why each refused callout was refused
    calls: list[dict[str, Any]] = field(default_factory=list)     # placed calls' results, newest last
    event_url: str = ""          # where callouts' events go (the app's /webhooks/stringee/event)
    callout_answers: bool = True  # the callee of a callout picks up
    callout_step_s: float = 0.2   # real time between a callout's events (0: at once)
    callout_events_first: bool = False  # a callout's events are all sent BEFORE its answer (an offline softphone
                                        # fails at once: Stringee's events may beat the callout's HTTP answer)
    callout_start_ms: int | None = None  # when callouts start in their events' timestamps (None: now)
    replies: list[tuple[int, dict[str, Any]]] = field(default_factory=list)  # next callouts' answers (popped first)
    lock: threading.Lock = field(default_factory=threading.Lock)


class _Handler(BaseHTTPRequestHandler):
    state: StringeeState

    def log_message(self, *_: Any) -> None:
        pass

    def _reply(self, status: int, body: Any, content_type: str = "application/json") -> None:
        data = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:  # noqa: N802
        path = self.path.split("?", 1)[0]
        if path.startswith("/recordings/") and path.endswith(".wav"):
            return self._reply(200, _wav(), "audio/wav")
        if path == "/calls":
            with self.state.lock:
                return self._reply(200, {"callouts": self.state.callouts, "calls": self.state.calls})
        return self._reply(404, {"r": 404, "message": "not found"})

    def do_POST(self) -> None:  # noqa: N802
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path.split("?", 1)[0] != CALLOUT_PATH:
            return self._reply(404, {"r": 404, "message": "not found"})
        why = check_token(self.headers.get("X-STRINGEE-AUTH"), LOCAL_SECRETS["stringee_api_key_sid"],
                          LOCAL_SECRETS["stringee_api_key_secret"])
        if why:
            with self.state.lock:
                self.state.refused.append(why)
            return self._reply(401, {"r": 2, "message": why})
        with self.state.lock:
            scripted = self.state.replies.pop(0) if self.state.replies else None
        if scripted:
            return self._reply(*scripted)
        try:
            body = json.loads(raw.decode("utf-8"))
            callees = body["to"]
            assert isinstance(callees, list) and callees and isinstance(body["from"], dict)
        except (ValueError, KeyError, TypeError, AssertionError):
            return self._reply(400, {"r": 1, "message": "invalid request body"})
        call_id = f"call-vn-1-{secrets.token_hex(5).upper()}-{int(time.time() * 1000)}"
        with self.state.lock:
            self.state.callouts.append({"call_id": call_id, "body": body})
            event_url, answers, step_s = self.state.event_url, self.state.callout_answers, self.state.callout_step_s
            start_ms, first = self.state.callout_start_ms, self.state.callout_events_first
        if event_url and first:
            _drive_callout(event_url, call_id, body, answers, step_s, start_ms)
        self._reply(200, {"r": 0, "call_id": call_id, "message": "Call created"})
        if event_url and not first:
            threading.Thread(target=_drive_callout, args=(event_url, call_id, body, answers, step_s, start_ms),
                             daemon=True).start()


def _drive_callout(event_url: str, call_id: str, body: dict[str, Any], answers: bool, step_s: float,
                   start_ms: int | None = None) -> None:
    """A callout's events, as Stringee sends them to the project's event_url."""
    secret = LOCAL_SECRETS["stringee_signing_secret"]
    callee = body["to"][0] if isinstance(body["to"][0], dict) else {}
    start = start_ms if start_ms is not None else int(time.time() * 1000)
    base = {"project_id": int(PROJECT_ID), "account_sid": ACCOUNT_SID, "type": "stringee_call", "call_id": call_id,
            "from": {**body["from"], "is_online": False}, "to": {**callee, "is_online": False},
            "clientCustomData": body.get("customData", "")}
    steps = [("created", 0, {}), ("ringing", 1, {})]
    if answers:
        steps += [("answered", 9, {}), ("ended", 129, {"endCallCause": "200 OK", "endedBy": "EXTERNAL",
                                                      "duration": 129, "answerDuration": 120})]
    else:
        steps += [("ended", 31, {"endCallCause": "480 Temporarily Unavailable", "endedBy": "SYSTEM",
                                 "duration": 31, "answerDuration": 0})]
    for status, at_s, extra in steps:
        if step_s > 0:
            time.sleep(step_s)
        signed_post(event_url, {**base, "call_status": status, "timestamp_ms": start + at_s * 1000,
                                "callCreatedReason": "REST_API_CALLOUT", **extra}, secret)


@dataclass
class FakeStringee:
    server: ThreadingHTTPServer
    state: StringeeState
    base: str

    def environment(self) -> dict[str, str]:
        """The settings the app reads to reach this fake and to know its number."""
        return {"STRINGEE_API_URL": self.base, "STRINGEE_HOTLINE_NUMBER": LOCAL_HOTLINE}

    def place_call(self, base_url: str, script: str, caller: str = "0909982888", **options: Any) -> CallResult:
        """`place_call`, with voicemail links on this fake's host, and the result kept in `state.calls`."""
        result = place_call(base_url, script, caller, media_base=self.base, **options)
        with self.state.lock:
            self.state.calls.append(result.to_dict())
            del self.state.calls[:-20]
        return result

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def start_fake_stringee(port: int = 0, event_url: str = "") -> FakeStringee:
    """Starts the fake on 127.0.0.1 (port 0: any free port); callouts' events go to `event_url`."""
    state = StringeeState(event_url=event_url)
    handler = type("Handler", (_Handler,), {"state": state})
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    threading.Thread(target=server.serve_forever, daemon=True, name="fake-stringee").start()
    return FakeStringee(server, state, f"http://127.0.0.1:{server.server_address[1]}")


def _events_text(events: list[dict[str, Any]]) -> str:
    return ", ".join(f"{event['status']} {event['http']}" for event in events)


# --- the dev page ---------------------------------------------------------------------------------

class CallPage:
    """/dev/goi-thu: place a scripted call into the running stack (`make run`), paced so the operator's
    screen-pop shows while it rings; `python -m devstack.call` posts the same form and waits for it."""

    def __init__(self, fake: FakeStringee, site_url: str) -> None:
        self.fake = fake
        self.site_url = site_url.rstrip("/")  # origin + base path
        self.last_message = ""

    def handles(self, route_path: str) -> bool:
        return route_path.split("?", 1)[0] == PAGE

    def handle(self, method: str, route_path: str, headers: Any, body: bytes | None, base_path: str) -> dict[str, Any]:
        from devstack.clock import _response

        wants_json = "json" in (headers.get("Accept") or "")
        if method == "GET":
            if wants_json:
                with self.fake.state.lock:
                    calls = list(self.fake.state.calls)
                return _response(200, json.dumps({"calls": calls}, ensure_ascii=False), "application/json; charset=utf-8")
            return _response(200, self.page(base_path), "text/html; charset=utf-8")
        if method != "POST":
            return _response(405, "chỉ GET và POST", "text/plain; charset=utf-8")
        origin, host = headers.get("Origin"), headers.get("Host")
        if origin and origin.split("://", 1)[-1] != host:  # another site's page may not place calls
            return _response(403, "khác nguồn", "text/plain; charset=utf-8")
        form = {k: v[-1] for k, v in parse_qs((body or b"").decode("utf-8"), keep_blank_values=True).items()}
        script, caller = form.get("script", ""), (form.get("caller") or "0909982888").strip()
        if script not in SCRIPTS or not caller.lstrip("+").isdigit() or len(caller) > 15:
            return _response(400, "kịch bản hoặc số gọi đến không hợp lệ", "text/plain; charset=utf-8")
        pace = {"ring_s": float(form.get("ring_s") or 0), "talk_s": float(form.get("talk_s") or 0)}
        if wants_json:  # the command waits for the whole call
            result = self.fake.place_call(self.site_url, script, caller, **pace)
            return _response(200, json.dumps(result.to_dict(), ensure_ascii=False), "application/json; charset=utf-8")
        if not form.get("ring_s"):  # from the page: slow enough to watch the console
            pace = {"ring_s": 10.0, "talk_s": 20.0}
        threading.Thread(target=self.fake.place_call, args=(self.site_url, script, caller), kwargs=pace,
                         daemon=True).start()
        self.last_message = f"Đang gọi: {SCRIPTS[script]}. Mở bảng điều khiển để thấy cuộc gọi."
        return {"statusCode": 303, "headers": {"Location": base_path + PAGE}, "multiValueHeaders": {}, "body": ""}

    def page(self, base_path: str) -> str:
        options = "".join(f'<label class="script"><input type="radio" name="script" value="{name}"'
                          f'{" checked" if name == "answered" else ""}> <code>{name}</code> – {html.escape(text)}</label>'
                          for name, text in SCRIPTS.items())
        with self.fake.state.lock:
            calls = list(reversed(self.fake.state.calls))
        rows = "".join(
            f"<tr><td><code>{html.escape(c['script'])}</code></td><td>{html.escape(c['outcome'])}</td>"
            f"<td>{c['answer_status']}</td><td>{html.escape(_events_text(c['events']))}</td></tr>"
            for c in calls)
        table = (f'<table><tr><th>Kịch bản</th><th>Kết quả</th><th>answer_url</th><th>Sự kiện (HTTP)</th></tr>{rows}'
                 "</table>") if rows else "<p>Chưa có cuộc gọi nào.</p>"
        message = f'<p role="status" id="dev-result" class="card">{html.escape(self.last_message)}</p>' \
            if self.last_message else ""
        return f"""<!doctype html>
<html lang="vi"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Gọi thử tổng đài – máy phát triển</title>
<style>
 body {{ margin:0; font:16px/1.5 system-ui, sans-serif; color:#1b1b1b; background:#fafafa; }}
 header {{ background:#37474f; color:#fff; padding:.75rem 1rem; }} header a {{ color:#fff; }}
 main {{ max-width:60rem; margin:0 auto; padding:1rem; }}
 .card {{ background:#fff; border:1px solid #c9c9c9; border-radius:.4rem; padding:.75rem 1rem; margin:.75rem 0; }}
 .script {{ display:block; padding:.4rem 0; }} code {{ overflow-wrap:anywhere; }}
 input[type=tel] {{ font:inherit; padding:.5rem; width:100%; max-width:16rem; box-sizing:border-box; }}
 button {{ margin:.5rem 0; padding:.6rem 1rem; font:inherit; font-weight:700; color:#fff; background:#a4161a;
          border:0; border-radius:.3rem; }}
 table {{ border-collapse:collapse; width:100%; display:block; overflow-x:auto; }}
 td, th {{ border:1px solid #c9c9c9; padding:.3rem .5rem; text-align:left; vertical-align:top; }}
</style></head>
<body><header><strong>Đường dây nóng 1022 – máy phát triển</strong>
<p><a href="{base_path}/staff/inbox">Bảng điều khiển nhân viên</a> · <a href="{base_path}/dev/lich">Lịch chạy và đồng hồ</a></p></header>
<main><h1>Gọi thử tổng đài</h1>
<p>Chỉ có trên máy phát triển. Một Stringee giả gọi vào ứng dụng như tổng đài thật: hỏi <code>answer_url</code>,
làm theo kịch bản trả về và gửi các sự kiện có chữ ký. Chuông đổ khoảng 10 giây để kịp thấy cuộc gọi hiện lên
trên màn hình tổng đài viên; trong giờ hay ngoài giờ là theo giờ thật và lịch trực.</p>
{message}
<form class="card" method="post" action="{base_path}{PAGE}">
<fieldset style="border:0;padding:0;margin:0"><legend><strong>Kịch bản</strong></legend>{options}</fieldset>
<p><label for="caller"><strong>Số gọi đến</strong></label><br>
<input id="caller" name="caller" type="tel" inputmode="tel" value="0909982888" maxlength="15"></p>
<button type="submit">Gọi thử</button></form>
<section class="card"><h2>Các cuộc gọi thử gần đây</h2>{table}
<p><a href="{base_path}{PAGE}">Tải lại</a></p></section></main></body></html>"""


def main(argv: list[str] | None = None) -> int:
    """`python -m devstack.call <script> [--caller 09…]`: one scripted call into a running `make run`."""
    import argparse
    import sys
    from urllib.parse import urlencode

    parser = argparse.ArgumentParser(prog="python -m devstack.call", description="Place a scripted call "
                                     "into the running local stack (make run) through its fake Stringee.")
    parser.add_argument("script", choices=list(SCRIPTS))
    parser.add_argument("--caller", default="0909982888", help="the calling number (default 0909982888)")
    parser.add_argument("--url", default="http://127.0.0.1:8000", help="the running stack's site (with /api if so)")
    parser.add_argument("--ring-s", type=float, default=0.0, help="seconds each ringing lasts (0: no wait)")
    parser.add_argument("--talk-s", type=float, default=0.0, help="seconds an answered call lasts")
    args = parser.parse_args(argv)
    form = urlencode({"script": args.script, "caller": args.caller, "ring_s": args.ring_s, "talk_s": args.talk_s})
    status, raw = _request("POST", args.url.rstrip("/") + PAGE, form.encode(),
                           {"Accept": "application/json", "Content-Type": "application/x-www-form-urlencoded"},
                           timeout_s=120 + 3 * (args.ring_s + args.talk_s))
    if status != 200:
        print(f"no call placed ({status or 'no local stack'} at {args.url}): {raw.decode(errors='replace')[:300]}"
              " — start the stack with `make run`", file=sys.stderr)
        return 1
    print(json.dumps(json.loads(raw), ensure_ascii=False, indent=2))
    return 0
