"""`make secrets STAGE=prod`: puts the providers' secrets into SSM Parameter Store for one stage,
as SecureStrings under /hotline1022/<stage>/ where the functions read them (chalicelib/secrets.py,
and chalicelib/notify/zalo.py for the Zalo token pair). Never from the repository.

Each value comes from its environment variable (the name in capitals, e.g. ZALO_OA_SECRET_KEY,
the same variable the app itself would read) or, at a terminal, from a hidden prompt; an empty
answer skips it (a channel this stage does not use). A secret already stored is kept unless a new
value is given, so the command is also how one secret is rotated:
    ZALO_OA_SECRET_KEY=… make secrets STAGE=prod

The Zalo token pair is seeded from ZALO_REFRESH_TOKEN (after the OA admin's consent). A refresh
token is single-use: once the refresher has used it, writing it again breaks the chain. So a stored
pair is replaced only with FORCE_ZALO_TOKEN=1 (after a re-consent), with a newer generation.

With DRY_RUN=1, or without AWS credentials, it prints what it would do and calls nothing. It never
prints a value.  `python -m infra.ssm_secrets` (not infra/secrets.py: a script runs with its folder first
on sys.path, and that name would stand in for the standard library's `secrets` module the app imports)
"""
from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

DEFAULT_REGION = "ap-southeast-1"
TOKEN_PARAMETER = "zalo/token"


@dataclass(frozen=True)
class Secret:
    name: str  # parameter name under the stage prefix; the environment variable is name.upper()
    what: str


SECRETS = (
    Secret("zalo_app_id", "Zalo: the app's ID (developers.zalo.me, your app)"),
    Secret("zalo_app_secret_key", "Zalo: the app's Secret Key (app settings), used to refresh the OA token"),
    Secret("zalo_oa_secret_key", "Zalo: the OA Secret Key shown with the webhook settings, checks webhook signatures"),
    Secret("facebook_app_secret", "Facebook: the Meta app's App Secret (App settings > Basic), checks webhook signatures"),
    Secret("facebook_verify_token", "Facebook: the Verify Token we choose and type into the app's Webhooks settings"),
    Secret("facebook_page_token", "Facebook: the fanpage's long-lived Page Access Token (pages_messaging), sends replies"),
    Secret("android_gateway_user", "SMS Gateway for Android: the user name of its cloud/local server API"),
    Secret("android_gateway_password", "SMS Gateway for Android: that user's password"),
    Secret("android_gateway_signing_key", "SMS Gateway for Android: the webhook signing key (checks inbound SMS)"),
    Secret("smssync_secret", "SMSSync: the shared secret set in the phone app"),
    Secret("esms_api_key", "eSMS.vn: ApiKey (sending)"),
    Secret("esms_secret_key", "eSMS.vn: SecretKey (sending)"),
    Secret("esms_cpid", "eSMS.vn: CPID of the inbound (MO) service"),
    Secret("esms_private_key", "eSMS.vn: the private key that signs inbound (MO) callbacks"),
    Secret("stringee_signing_secret", "Stringee: the project's secret that signs answer_url/event_url requests"),
    Secret("stringee_api_key_sid", "Stringee: the API key's SID (SK…), for calling back citizens"),
    Secret("stringee_api_key_secret", "Stringee: that API key's secret (signs the REST API token)"),
)


def prefix(stage: str) -> str:
    return f"/hotline1022/{stage}"


def _token_value(refresh_token: str, generation: int) -> str:
    # No access token yet: expires_at 0 makes the refresher (or the first send) refresh at once.
    return json.dumps({"access_token": "", "refresh_token": refresh_token, "expires_at": 0, "generation": generation})


def main(stage: str, env: dict[str, str], ssm: Any | None, ask: Callable[[str], str] | None) -> dict[str, list[str]]:
    """Stores the stage's secrets (dry run when `ssm` is None; no prompts when `ask` is None);
    returns parameter names by outcome: written, kept, skipped, missing."""
    from botocore.exceptions import ClientError

    base = prefix(stage)
    outcome: dict[str, list[str]] = {"written": [], "kept": [], "skipped": [], "missing": []}

    def stored(name: str) -> str | None:
        if ssm is None:
            return None
        try:
            return str(ssm.get_parameter(Name=f"{base}/{name}", WithDecryption=True)["Parameter"]["Value"])
        except ClientError as error:
            if error.response["Error"]["Code"] == "ParameterNotFound":
                return None
            raise

    def put(name: str, value: str, source: str) -> None:
        if ssm is None:
            print(f"  would put {base}/{name} (SecureString, from {source})")
        else:
            ssm.put_parameter(Name=f"{base}/{name}", Value=value, Type="SecureString", Overwrite=True)
            print(f"  put {base}/{name} (from {source})")
        outcome["written"].append(name)

    print(f"Secrets of stage {stage} under {base}/ (values are never printed)")
    for secret in SECRETS:
        variable = secret.name.upper()
        if env.get(variable):
            put(secret.name, env[variable], variable)
            continue
        if ssm is None:
            print(f"  {base}/{secret.name}: kept if stored, else asked for ({secret.what})")
            continue
        if stored(secret.name) is not None:
            outcome["kept"].append(secret.name)
            continue
        answer = ask(f"{secret.what}\n  {variable} (empty: not used on this stage): ") if ask else ""
        if answer:
            put(secret.name, answer, "prompt")
        else:
            outcome["skipped" if ask else "missing"].append(secret.name)

    refresh_token = env.get("ZALO_REFRESH_TOKEN", "")
    if refresh_token:
        current = stored(TOKEN_PARAMETER)
        if current is not None and env.get("FORCE_ZALO_TOKEN") != "1":
            generation = json.loads(current).get("generation")
            print(f"  kept {base}/{TOKEN_PARAMETER} (generation {generation}): a refresh token is single-use, so the "
                  "stored pair is live; replace it only after a re-consent, with FORCE_ZALO_TOKEN=1")
            outcome["kept"].append(TOKEN_PARAMETER)
        else:
            generation = json.loads(current)["generation"] + 1 if current else 1
            put(TOKEN_PARAMETER, _token_value(refresh_token, generation), "ZALO_REFRESH_TOKEN")
    elif ssm is None:
        print(f"  {base}/{TOKEN_PARAMETER}: only from ZALO_REFRESH_TOKEN (after the OA admin's consent)")
    elif stored(TOKEN_PARAMETER) is None:
        outcome["missing"].append(TOKEN_PARAMETER)
    else:
        outcome["kept"].append(TOKEN_PARAMETER)

    for label in ("kept", "skipped", "missing"):
        if outcome[label]:
            print(f"{label}: {', '.join(outcome[label])}")
    if TOKEN_PARAMETER in outcome["missing"]:
        print("Zalo: no token pair stored; set ZALO_REFRESH_TOKEN (docs/operations.md, Zalo consent) if this stage uses Zalo")
    return outcome


def run(env: dict[str, str]) -> int:
    stage = env.get("STAGE", "prod")
    region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or DEFAULT_REGION
    if env.get("DRY_RUN", "") not in ("", "0"):
        print("DRY RUN (DRY_RUN is set): nothing is sent to AWS.")
        main(stage, env, None, None)
        return 0
    import boto3

    session = boto3.Session(region_name=region)
    if session.get_credentials() is None:
        print("DRY RUN (no AWS credentials found): nothing is sent to AWS.")
        main(stage, env, None, None)
        return 0
    import getpass

    ask = getpass.getpass if sys.stdin.isatty() else None
    main(stage, env, session.client("ssm"), ask)
    return 0


if __name__ == "__main__":
    sys.exit(run(dict(os.environ)))
