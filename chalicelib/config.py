"""One typed settings object, read from the environment on first use (never at import time).

AWS gets these from the CloudFormation stack (infra/chalice-overlay.json) and from the stage's
`environment_variables` in .chalice/config.json (the SMS sender settings: docs/channels.md); the
local stack (devstack) sets the same names from the emulator's stack outputs and its provider fakes.
No other difference.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache


@dataclass(frozen=True)
class Settings:
    tickets_table: str
    idempotency_table: str
    routing_queue_url: str
    inbound_queue_url: str
    notifications_queue_url: str
    tracking_prefix: str
    region: str
    public_base_url: str
    reference_cache_seconds: int
    province_name: str
    hotline: str
    sms_provider: str
    auto_reply_cap_per_hour: int
    notify_max_attempts: int
    cognito_user_pool_id: str
    cognito_client_id: str
    form_cap_per_ip_hour: int
    form_cap_per_phone_hour: int
    sms_sender_id: str          # SNS: the registered alphanumeric sender ID (AWS.SNS.SMS.SenderID); "" = none
    android_gateway_url: str    # the android-sms-gateway phone's API base; "" = that provider is off
    esms_brandname: str         # eSMS: the registered brandname SMS are sent under
    stringee_hotline_number: str = ""   # the Stringee number (DID) the hotline forwards to, E.164; "" = no telephony
    # what precedes a route in the URLs Stringee calls ('/api' on execute-api, '' on a custom domain);
    # None: the request's own base path (chalicelib/channels/stringee.py, public_prefix)
    stringee_public_path: str | None = None
    stringee_api_url: str = "https://api.stringee.com"  # the REST API's base (callouts); the fake's locally
    # provider -> comma-separated CIDRs its webhooks may come from ("" = any): <PROVIDER>_SOURCE_CIDRS
    source_cidrs: dict[str, str] = field(default_factory=dict)
    # hosts (and their subdomains) whose https images a sender may show staff: Zalo's CDN (chalicelib/domain/links.py)
    image_hosts: tuple[str, ...] = ("zdn.vn", "zadn.vn")
    # how far (s) a scheduled event's time may be from the real time and still be the job's `now`
    # (chalicelib/domain/clock.py): a few minutes on AWS; the local stack's movable clock sets years
    schedule_clock_skew_s: int = 300
    facebook_page_id: str = ""  # the fanpage's id: Messenger entries for any other page are quarantined ("" = any)
    # hosts (and their subdomains) Messenger image links may be copied from into the photo bucket
    facebook_media_hosts: tuple[str, ...] = ("fbcdn.net", "fbsbx.com", "facebook.com")

    def public_url(self, path: str) -> str | None:
        """The site's absolute URL for `path` ('/tra-cuu?code=...'), for links sent outside a request
        (SMS, Zalo, email); None when PUBLIC_BASE_URL (origin + stage path) is not configured."""
        base = self.public_base_url.rstrip("/")
        return f"{base}{path}" if base else None


@lru_cache(maxsize=1)
def settings() -> Settings:
    """Returns the settings; raises KeyError naming the first missing required variable."""
    env = os.environ
    return Settings(
        tickets_table=env["TICKETS_TABLE"],
        idempotency_table=env["IDEMPOTENCY_TABLE"],
        routing_queue_url=env["ROUTING_QUEUE_URL"],
        inbound_queue_url=env.get("INBOUND_QUEUE_URL", ""),
        notifications_queue_url=env.get("NOTIFICATIONS_QUEUE_URL", ""),
        tracking_prefix=env.get("TRACKING_PREFIX", "TN"),
        region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION", "ap-southeast-1"),
        public_base_url=env.get("PUBLIC_BASE_URL", ""),
        reference_cache_seconds=int(env.get("REFERENCE_CACHE_SECONDS", "60")),
        province_name=env.get("PROVINCE_NAME", "Tây Ninh"),
        hotline=env.get("HOTLINE_NUMBER", "0276 1022"),
        sms_provider=env.get("SMS_DEFAULT_PROVIDER", "sns"),
        auto_reply_cap_per_hour=int(env.get("AUTO_REPLY_CAP_PER_HOUR", "3")),
        notify_max_attempts=int(env.get("NOTIFY_MAX_ATTEMPTS", "8")),
        cognito_user_pool_id=env.get("COGNITO_USER_POOL_ID", ""),
        cognito_client_id=env.get("COGNITO_CLIENT_ID", ""),
        form_cap_per_ip_hour=int(env.get("FORM_CAP_PER_IP_HOUR", "60")),
        form_cap_per_phone_hour=int(env.get("FORM_CAP_PER_PHONE_HOUR", "10")),
        sms_sender_id=env.get("SMS_SENDER_ID", "").strip(),
        android_gateway_url=env.get("ANDROID_GATEWAY_URL", "").strip().rstrip("/"),
        esms_brandname=env.get("ESMS_BRANDNAME", "").strip(),
        stringee_hotline_number=env.get("STRINGEE_HOTLINE_NUMBER", "").strip(),
        stringee_public_path=env.get("STRINGEE_PUBLIC_PATH"),
        stringee_api_url=(env.get("STRINGEE_API_URL", "").strip() or "https://api.stringee.com").rstrip("/"),
        source_cidrs={provider: env.get(f"{provider.upper()}_SOURCE_CIDRS", "").strip()
                      for provider in ("zalo", "android_gateway", "smssync", "esms")},
        image_hosts=tuple(h.strip() for h in env.get("IMAGE_HOSTS", "zdn.vn,zadn.vn").split(",") if h.strip()),
        schedule_clock_skew_s=int(env.get("SCHEDULE_CLOCK_SKEW_S", "300")),
        facebook_page_id=env.get("FACEBOOK_PAGE_ID", "").strip(),
        facebook_media_hosts=tuple(h.strip() for h in env.get("FACEBOOK_MEDIA_HOSTS", "fbcdn.net,fbsbx.com,facebook.com")
                                   .split(",") if h.strip()),
    )
