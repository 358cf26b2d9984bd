"""Fakes of the providers' HTTP APIs on loopback, so the real sender code runs locally and in
tests without calling Zalo, Facebook, an SMS gateway or eSMS: the Zalo OA message and OAuth APIs,
the Messenger Send API (Graph API /me/messages), the android-sms-gateway send API and eSMS's send API. Every message lands in an outbox that
`make run` shows at /outbox.

Faults (off by default): FAKE_FAULT_RATE=0.1 (and FAKE_FAULT_SEED, FAKE_FAULT_HANG_S) make a share
of sends fail as a provider does (timeouts, 5xx, rate limits); see `Faults`."""
from __future__ import annotations

import base64
import hashlib
import hmac
import html
import json
import os
import random
import secrets
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable
from urllib.parse import parse_qs

# Local-only values (not secrets): the stack stores them in the emulator's SSM, as AWS would hold
# the real ones, and devstack/sign.py signs sample requests with them.
LOCAL_SECRETS = {
    "zalo_app_id": "1022000000000000001",
    "zalo_oa_secret_key": "local-oa-secret-key",
    "zalo_app_secret_key": "local-app-secret-key",
    "facebook_app_secret": "local-facebook-app-secret",
    "facebook_verify_token": "local-facebook-verify-token",
    "facebook_page_token": "local-facebook-page-token",
    "android_gateway_signing_key": "local-signing-key",
    "android_gateway_user": "sms",
    "android_gateway_password": "local-gateway-password",
    "smssync_secret": "local-smssync-secret",
    "esms_cpid": "local-cpid",
    "esms_private_key": "local-esms-private-key",
    "esms_api_key": "local-esms-api-key",
    "esms_secret_key": "local-esms-secret-key",
    "stringee_signing_secret": "local-stringee-signing-secret",
    "stringee_api_key_sid": "SK.local.hotline1022",
    "stringee_api_key_secret": "local-stringee-api-key-secret-for-hs256-tokens",
}


FAULT_KINDS = ("timeout", "5xx", "rate_limit")


@dataclass
class Faults:
    """Provider sends that fail on purpose (soak runs, fault tests); none unless `rate` > 0 or `down`.

    Each send fails with probability `rate`, as one of FAULT_KINDS drawn from a generator seeded
    with `seed` (the same seed, the same sequence of draws):
    - "timeout": the request is held `hang_s` and the connection closed unanswered. Nothing is
      sent: the provider never took it. (Past the senders' 8 s timeout the sender times out;
      under it, it sees the connection dropped. Both are the same transient network failure.)
    - "5xx": HTTP 503.
    - "rate_limit": HTTP 429 from the SMS gateways; Zalo's own rate-limit error (-32, in a 200).
    `down` (a kind) fails every send that way until it is set back to None: an outage.
    `injected` counts what was injected, by kind.
    """

    rate: float = 0.0
    seed: int = 0
    hang_s: float = 9.0
    down: str | None = None
    injected: Counter[str] = field(default_factory=Counter)
    _draws: random.Random | None = None

    @classmethod
    def from_environment(cls) -> "Faults":
        """FAKE_FAULT_RATE (0 if unset: no faults), FAKE_FAULT_SEED, FAKE_FAULT_HANG_S."""
        return cls(rate=float(os.environ.get("FAKE_FAULT_RATE") or 0), seed=int(os.environ.get("FAKE_FAULT_SEED") or 0),
                   hang_s=float(os.environ.get("FAKE_FAULT_HANG_S") or 9.0))

    def draw(self) -> str | None:
        """The fault for the next send, or None (called under the fakes' lock: one sequence)."""
        if self.down:
            self.injected[self.down] += 1
            return self.down
        if self.rate <= 0:
            return None
        if self._draws is None:
            self._draws = random.Random(self.seed)
        if self._draws.random() >= self.rate:
            return None
        kind = self._draws.choice(FAULT_KINDS)
        self.injected[kind] += 1
        return kind


# The smallest JPEG a browser shows (one white pixel): the fake CDN's Messenger image.
FAKE_JPEG = bytes.fromhex(
    "ffd8ffe000104a46494600010100000100010000ffdb004300080606070605080707070909080a0c140d0c0b0b0c1912130f141d1a1f1e1d"
    "1a1c1c20242e2720222c231c1c2837292c30313434341f27393d38323c2e333432ffc0000b080001000101011100ffc4001f0000010501"
    "010101010100000000000000000102030405060708090a0bffc400b5100002010303020403050504040000017d01020300041105122131"
    "410613516107227114328191a1082342b1c11552d1f02433627282090a161718191a25262728292a3435363738393a434445464748494a"
    "535455565758595a636465666768696a737475767778797a838485868788898a92939495969798999aa2a3a4a5a6a7a8a9aab2b3b4b5b6"
    "b7b8b9bac2c3c4c5c6c7c8c9cad2d3d4d5d6d7d8d9dae1e2e3e4e5e6e7e8e9eaf1f2f3f4f5f6f7f8f9faffda0008010100003f00fbd3ff"
    "d9")


@dataclass
class FakeState:
    """What the fake providers hold; tests read it and script failures through it."""

    outbox: list[dict[str, Any]] = field(default_factory=list)
    # more outbox rows from elsewhere (the emulator's SES and SNS, in `make run`)
    extra_outbox: Callable[[], list[dict[str, Any]]] = field(default=lambda: [])
    access_token: str = field(default_factory=lambda: "at-" + secrets.token_hex(8))
    refresh_token: str = field(default_factory=lambda: "rt-" + secrets.token_hex(8))
    refresh_calls: int = 0
    refused_refreshes: int = 0
    zalo_errors: list[int] = field(default_factory=list)   # next Zalo send answers (popped first)
    graph_errors: list[tuple[int, int, int]] = field(default_factory=list)  # next Messenger (HTTP, code, subcode)
    http_errors: list[int] = field(default_factory=list)   # next SMS gateway HTTP statuses
    gateway_delay_s: float = 0.0                           # a slow Android phone
    faults: Faults = field(default_factory=Faults)         # random failures and outages of sends
    # the app's /webhooks/facebook: as Meta does, each Messenger send is followed by a signed delivery receipt there
    messenger_webhook: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)


def _channel_label(message: dict[str, Any]) -> str:
    """The outbox's "kênh" column: Messenger rows say which kind of message Meta was asked for."""
    if message["provider"] == "facebook":
        return f"facebook Messenger ({message.get('tag') or message.get('messaging_type')})"
    return message["provider"]


def _delivery_receipt(state: FakeState, row: dict[str, Any]) -> None:
    """Meta's delivery receipt for one sent message, signed and posted to the app's webhook a moment after
    the send; the outbox row says "đã nhận (đã báo)" once the app took it."""
    import urllib.request

    time.sleep(0.5)
    now_ms = int(time.time() * 1000)
    page = os.environ.get("FACEBOOK_PAGE_ID") or "1022"
    body = json.dumps({"object": "page", "entry": [{"id": page, "time": now_ms, "messaging": [
        {"sender": {"id": row["to"]}, "recipient": {"id": page}, "timestamp": now_ms,
         "delivery": {"mids": [row["id"]], "watermark": now_ms}}]}]}).encode()
    proof = hmac.new(LOCAL_SECRETS["facebook_app_secret"].encode(), body, hashlib.sha256).hexdigest()
    request = urllib.request.Request(state.messenger_webhook, data=body, method="POST", headers={
        "Content-Type": "application/json", "X-Hub-Signature-256": f"sha256={proof}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 - the local app
            taken = answer.status == 200
    except OSError:
        taken = False
    with state.lock:
        row["receipt"] = "đã nhận (đã báo)" if taken else "báo nhận thất bại"


class _Handler(BaseHTTPRequestHandler):
    state: FakeState

    def log_message(self, *_: Any) -> None:  # quiet: the outbox is the record
        pass

    def _reply(self, status: int, body: Any, content_type: str = "application/json") -> None:
        data = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _unlocked_sleep(self, seconds: float) -> None:
        """Waits without holding the fakes' lock, so other requests go on meanwhile."""
        self.state.lock.release()
        try:
            time.sleep(seconds)
        finally:
            self.state.lock.acquire()

    def _fault(self, rate_limited: tuple[int, Any]) -> bool:
        """Answers with the next injected fault, if any (`rate_limited`: this provider's (status,
        body) for a rate limit); returns whether it did."""
        kind = self.state.faults.draw()
        if kind is None:
            return False
        if kind == "timeout":
            self._unlocked_sleep(self.state.faults.hang_s)
            self.close_connection = True  # hang up without a word: the sender sees no answer
        elif kind == "5xx":
            self._reply(503, {"message": "injected: service unavailable"})
        else:
            self._reply(*rate_limited)
        return True

    def do_GET(self) -> None:  # noqa: N802
        if self.path.startswith("/outbox"):
            with self.state.lock:
                messages = [*self.state.outbox, *self.state.extra_outbox()]
            rows = "".join(
                f"<tr><td>{html.escape(_channel_label(m))}</td><td>{html.escape(m['to'])}</td>"
                f"<td>{html.escape(m['text'])}</td><td>{html.escape(m.get('receipt', ''))}</td></tr>"
                for m in reversed(messages))
            page = ("<!doctype html><meta charset=utf-8><title>Outbox</title><h1>Tin nhắn gửi đi (giả lập)</h1>"
                    "<table border=1 cellpadding=4><tr><th>kênh</th><th>đến</th><th>nội dung</th><th>báo nhận</th></tr>"
                    f"{rows}</table>")
            return self._reply(200, page.encode(), "text/html; charset=utf-8")
        if self.path.startswith("/fbcdn/"):  # Meta's CDN, where a Messenger image's (expiring) link points
            return self._media(self.path.split("?", 1)[0][len("/fbcdn/"):])
        return self._reply(404, {"error": "not found"})

    def _media(self, name: str) -> None:
        """photo.jpg: a small JPEG; slow.jpg: the same after a second; big.jpg: a JPEG over 10 MB; page.jpg:
        HTML under an image's name; else gone."""
        if name in ("photo.jpg", "slow.jpg"):
            if name == "slow.jpg":
                time.sleep(1.0)
            return self._reply(200, FAKE_JPEG, "image/jpeg")
        if name == "big.jpg":
            return self._reply(200, FAKE_JPEG + b"\0" * (10 * 1024 * 1024), "image/jpeg")
        if name == "page.jpg":
            return self._reply(200, b"<!doctype html><title>Facebook</title>", "text/html")
        return self._reply(404, {"error": "URL signature expired"})

    def do_POST(self) -> None:  # noqa: N802
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with self.state.lock:
            if self.path == "/zalo/v3.0/oa/message/cs":
                return self._zalo_send(raw)
            if self.path.split("?", 1)[0] == "/graph/v19.0/me/messages":
                return self._graph_send(raw)
            if self.path == "/zalo-oauth/v4/oa/access_token":
                return self._zalo_refresh(raw)
            if self.path == "/android/message":
                return self._android(raw)
            if self.path == "/esms/MainService.svc/json/SendMultipleMessage_V4_post_json/":
                return self._esms(raw)
        return self._reply(404, {"error": "not found"})

    def _zalo_send(self, raw: bytes) -> None:
        if self.headers.get("access_token") != self.state.access_token:
            return self._reply(200, {"error": -216, "message": "Access token is invalid"})
        if self.state.zalo_errors:
            return self._reply(200, {"error": self.state.zalo_errors.pop(0), "message": "scripted"})
        if self._fault((200, {"error": -32, "message": "injected: exceeded rate limit"})):
            return None
        body = json.loads(raw)
        message_id = secrets.token_hex(10)
        # `quote`: the user's message this one replies to (Zalo bills an unquoted one as proactive)
        self.state.outbox.append({"provider": "zalo", "to": body["recipient"]["user_id"],
                                  "text": body["message"]["text"], "id": message_id,
                                  "quote": body["message"].get("react_message_id")})
        return self._reply(200, {"error": 0, "message": "Success", "data": {"message_id": message_id}})

    def _graph_send(self, raw: bytes) -> None:
        # As Meta with "Require app secret" on: the token in the header (none in the URL) and its proof
        query = {k: v[-1] for k, v in parse_qs(self.path.partition("?")[2]).items()}
        token = LOCAL_SECRETS["facebook_page_token"]
        proof = hmac.new(LOCAL_SECRETS["facebook_app_secret"].encode(), token.encode(), hashlib.sha256).hexdigest()
        if "access_token" in query or self.headers.get("Authorization") != f"Bearer {token}":
            return self._reply(400, {"error": {"message": "Invalid OAuth access token.", "type": "OAuthException",
                                               "code": 190, "fbtrace_id": "fake"}})
        if not hmac.compare_digest(query.get("appsecret_proof", ""), proof):
            return self._reply(400, {"error": {"message": "Invalid appsecret_proof provided in the API argument",
                                               "type": "GraphMethodException", "code": 100, "fbtrace_id": "fake"}})
        if self.state.graph_errors:
            status, code, subcode = self.state.graph_errors.pop(0)
            return self._reply(status, {"error": {"message": "scripted", "type": "OAuthException", "code": code,
                                                  "error_subcode": subcode, "fbtrace_id": "fake"}})
        if self._fault((400, {"error": {"message": "injected: calls to this api have exceeded the rate limit",
                                        "type": "OAuthException", "code": 613, "fbtrace_id": "fake"}})):
            return None
        body = json.loads(raw)
        message_id = "m_" + secrets.token_hex(12)
        # `tag`: HUMAN_AGENT for a staff reply 24 h to 7 days after the person's last message
        row = {"provider": "facebook", "to": body["recipient"]["id"], "text": body["message"]["text"],
               "id": message_id, "messaging_type": body.get("messaging_type"), "tag": body.get("tag")}
        self.state.outbox.append(row)
        if self.state.messenger_webhook:
            threading.Thread(target=_delivery_receipt, args=(self.state, row), daemon=True).start()
        return self._reply(200, {"recipient_id": body["recipient"]["id"], "message_id": message_id})

    def _zalo_refresh(self, raw: bytes) -> None:
        form = {k: v[-1] for k, v in parse_qs(raw.decode()).items()}
        self.state.refresh_calls += 1
        valid = (self.headers.get("secret_key") == LOCAL_SECRETS["zalo_app_secret_key"]
                 and form.get("app_id") == LOCAL_SECRETS["zalo_app_id"]
                 and form.get("refresh_token") == self.state.refresh_token)
        if not valid:  # a used refresh token is dead for good: the chain is broken
            self.state.refused_refreshes += 1
            return self._reply(200, {"error": -14014, "message": "Invalid refresh token"})
        self.state.access_token = "at-" + secrets.token_hex(8)
        self.state.refresh_token = "rt-" + secrets.token_hex(8)
        return self._reply(200, {"access_token": self.state.access_token, "refresh_token": self.state.refresh_token,
                                 "expires_in": "90000"})

    def _android(self, raw: bytes) -> None:
        if self.state.gateway_delay_s:
            self._unlocked_sleep(self.state.gateway_delay_s)
        expected = base64.b64encode(
            f"{LOCAL_SECRETS['android_gateway_user']}:{LOCAL_SECRETS['android_gateway_password']}".encode()).decode()
        if self.headers.get("Authorization") != f"Basic {expected}":
            return self._reply(401, {"message": "unauthorized"})
        if self.state.http_errors:
            return self._reply(self.state.http_errors.pop(0), {"message": "scripted"})
        if self._fault((429, {"message": "injected: too many requests"})):
            return None
        body = json.loads(raw)
        message_id = secrets.token_hex(8)
        for number in body["phoneNumbers"]:
            self.state.outbox.append({"provider": "android_gateway", "to": number,
                                      "text": body["textMessage"]["text"], "id": message_id})
        return self._reply(202, {"id": message_id, "state": "Pending"})

    def _esms(self, raw: bytes) -> None:
        body = json.loads(raw)
        if (body.get("ApiKey"), body.get("SecretKey")) != (LOCAL_SECRETS["esms_api_key"],
                                                           LOCAL_SECRETS["esms_secret_key"]):
            return self._reply(200, {"CodeResult": "101", "ErrorMessage": "Authorize Failed"})
        if self.state.http_errors:
            return self._reply(self.state.http_errors.pop(0), {"message": "scripted"})
        if self._fault((429, {"message": "injected: too many requests"})):
            return None
        sms_id = secrets.token_hex(8)
        self.state.outbox.append({"provider": "esms", "to": "+" + body["Phone"], "text": body["Content"],
                                  "id": sms_id, "brandname": body.get("Brandname")})
        return self._reply(200, {"CodeResult": "100", "SMSID": sms_id})


@dataclass
class FakeProviders:
    server: ThreadingHTTPServer
    state: FakeState
    base: str

    def environment(self) -> dict[str, str]:
        """The provider base URLs the app reads (the AWS stage leaves them at the real defaults)."""
        return {"ZALO_API_BASE": f"{self.base}/zalo", "ZALO_OAUTH_BASE": f"{self.base}/zalo-oauth",
                "FACEBOOK_GRAPH_URL": f"{self.base}/graph/v19.0",
                "FACEBOOK_MEDIA_HOSTS": "127.0.0.1,fbcdn.net,fbsbx.com,facebook.com",
                "ANDROID_GATEWAY_URL": f"{self.base}/android", "ESMS_API_BASE": f"{self.base}/esms"}

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def start_fakes(port: int = 0, faults: Faults | None = None) -> FakeProviders:
    """Starts the fake providers on 127.0.0.1 (port 0: any free port), failing sends as `faults`
    says (default: as FAKE_FAULT_RATE says, which is unset: never)."""
    state = FakeState(faults=faults or Faults.from_environment())
    handler = type("Handler", (_Handler,), {"state": state})
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    threading.Thread(target=server.serve_forever, daemon=True, name="fake-providers").start()
    return FakeProviders(server, state, f"http://127.0.0.1:{server.server_address[1]}")


def seed_provider_secrets(fakes: FakeProviders, ssm_prefix: str, token_expires_at: float) -> None:
    """Stores the local secrets and the fake Zalo token pair in the emulator's SSM, as an admin
    would in AWS (SecureString parameters under the stage's prefix)."""
    import boto3

    ssm = boto3.client("ssm")
    for name, value in LOCAL_SECRETS.items():
        ssm.put_parameter(Name=f"{ssm_prefix}/{name}", Value=value, Type="SecureString", Overwrite=True)
    token = {"access_token": fakes.state.access_token, "refresh_token": fakes.state.refresh_token,
             "expires_at": token_expires_at, "generation": 1}
    ssm.put_parameter(Name=f"{ssm_prefix}/zalo/token", Value=json.dumps(token), Type="SecureString", Overwrite=True)
