"""Staff sign-in with the emulator's Cognito and the app's own JWT checks: forged, expired,
wrong-pool, wrong-client, access and tampered tokens are all refused with 401."""
from __future__ import annotations

import base64
import gzip
import json
import os
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.conftest import bearer


def _moto_private_key() -> Any:
    """The key moto signs every pool's tokens with (it ships inside moto, so a real deployment
    never trusts it: the JWKS comes from the pool's own endpoint)."""
    import moto.cognitoidp

    path = Path(moto.cognitoidp.__file__).parent / "resources" / "jwks-private.json.gz"
    return jwt.PyJWK(json.loads(gzip.decompress(path.read_bytes()))).key


def _claims(token: str) -> dict[str, Any]:
    return jwt.decode(token, options={"verify_signature": False})


def _me(client: Any, headers: dict[str, str]) -> Any:
    return client.http.get("/api/v1/staff/me", headers=headers)


def test_a_valid_id_token_is_accepted_with_its_roles_and_agency(client: Any, staff: dict[str, str]) -> None:
    response = _me(client, bearer(staff["officer"]))
    assert response.status_code == 200
    assert response.json_body == {"email": "soxaydung@demo.1022.vn", "name": "Phạm Văn Hùng (Sở Xây dựng)",
                                  "roles": ["agency_officer"], "agency": "so-xay-dung"}


@pytest.mark.parametrize("headers", [{}, {"Authorization": "garbage"}, {"Authorization": "Bearer garbage"},
                                     {"Authorization": "Bearer a.b.c"}, {"Authorization": "Basic dXNlcjpwYXNz"}])
def test_missing_or_malformed_tokens_get_401_in_both_languages(client: Any, stack: Any, headers: dict[str, str]) -> None:
    response = _me(client, headers)
    assert response.status_code == 401
    error = response.json_body["error"]
    assert error["code"] == "unauthorized" and "đăng nhập" in error["message"] and "sign in" in error["message_en"]


def test_a_token_signed_with_another_key_is_refused(client: Any, staff: dict[str, str]) -> None:
    claims = _claims(staff["admin"])
    forger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode(claims, forger, algorithm="RS256", headers={"kid": "dummy"})
    assert _me(client, bearer(forged)).status_code == 401


def test_unsigned_and_algorithm_confusion_tokens_are_refused(client: Any, staff: dict[str, str]) -> None:
    claims = _claims(staff["admin"])
    unsigned = jwt.encode(claims, None, algorithm="none")
    assert _me(client, bearer(unsigned)).status_code == 401
    header, payload, _ = staff["admin"].split(".")
    hs = base64.urlsafe_b64encode(json.dumps({"alg": "HS256", "kid": "dummy", "typ": "JWT"}).encode()).rstrip(b"=")
    assert _me(client, bearer(f"{hs.decode()}.{payload}.c2lnbmF0dXJl")).status_code == 401


def test_a_tampered_payload_breaks_the_signature(client: Any, staff: dict[str, str]) -> None:
    header, _, signature = staff["officer"].split(".")
    claims = {**_claims(staff["officer"]), "cognito:groups": ["admin"]}
    payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    assert _me(client, bearer(f"{header}.{payload}.{signature}")).status_code == 401


def test_expired_tokens_are_refused_even_with_a_valid_signature(client: Any, staff: dict[str, str]) -> None:
    key = _moto_private_key()
    claims = _claims(staff["operator"])
    now = int(time.time())
    fresh = jwt.encode({**claims, "iat": now, "exp": now + 600}, key, algorithm="RS256", headers={"kid": "dummy"})
    assert _me(client, bearer(fresh)).status_code == 200  # the test's signing is right …
    expired = jwt.encode({**claims, "iat": now - 7200, "exp": now - 3600}, key, algorithm="RS256",
                         headers={"kid": "dummy"})
    assert _me(client, bearer(expired)).status_code == 401  # … so only the expiry refuses this one


def test_tokens_of_another_pool_or_another_app_client_are_refused(client: Any, staff: dict[str, str]) -> None:
    import boto3

    cognito = boto3.client("cognito-idp")
    ours = os.environ["COGNITO_USER_POOL_ID"]
    other_pool = cognito.create_user_pool(PoolName="someone-else", UsernameAttributes=["email"])["UserPool"]["Id"]
    for pool in (other_pool, ours):
        app_client = cognito.create_user_pool_client(UserPoolId=pool, ClientName="other-app",
                                                     ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"])
        client_id = app_client["UserPoolClient"]["ClientId"]
        email = f"intruder-{pool[-6:]}@example.vn"
        cognito.admin_create_user(UserPoolId=pool, Username=email, MessageAction="SUPPRESS",
                                  UserAttributes=[{"Name": "email", "Value": email}])
        cognito.admin_set_user_password(UserPoolId=pool, Username=email, Password="Passw0rd!Passw0rd", Permanent=True)
        if pool == ours:
            cognito.admin_add_user_to_group(UserPoolId=pool, Username=email, GroupName="admin")
        else:
            cognito.create_group(UserPoolId=pool, GroupName="admin")
            cognito.admin_add_user_to_group(UserPoolId=pool, Username=email, GroupName="admin")
        tokens = cognito.initiate_auth(ClientId=client_id, AuthFlow="USER_PASSWORD_AUTH",
                                       AuthParameters={"USERNAME": email, "PASSWORD": "Passw0rd!Passw0rd"})
        id_token = tokens["AuthenticationResult"]["IdToken"]
        assert "admin" in _claims(id_token)["cognito:groups"]
        assert _me(client, bearer(id_token)).status_code == 401
        assert client.http.get("/api/v1/admin/reference", headers=bearer(id_token)).status_code == 401


def test_an_access_token_is_not_an_id_token(client: Any, staff: dict[str, str]) -> None:
    import boto3

    from devstack.seed import DEMO_PASSWORD

    tokens = boto3.client("cognito-idp").initiate_auth(
        ClientId=os.environ["COGNITO_CLIENT_ID"], AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "quantri@demo.1022.vn", "PASSWORD": DEMO_PASSWORD})["AuthenticationResult"]
    assert _me(client, bearer(tokens["AccessToken"])).status_code == 401
    assert _me(client, bearer(tokens["IdToken"])).status_code == 200


def test_cookies_are_never_accepted_by_the_json_api(client: Any, staff: dict[str, str]) -> None:
    assert _me(client, {"Cookie": f"hl_id={staff['admin']}"}).status_code == 401


# The sign-in pages


def _form(client: Any, path: str, fields: dict[str, str], cookie: str = "") -> Any:
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if cookie:
        headers["Cookie"] = cookie
    return client.http.post(path, headers=headers, body=urlencode(fields).encode())


def _set_cookies(response: Any) -> dict[str, str]:
    values = response.headers.get("Set-Cookie") or response.headers.get("set-cookie") or []
    values = values if isinstance(values, list) else [values]
    return {v.split("=", 1)[0]: v.split("=", 1)[1].split(";", 1)[0] for v in values}


def test_wrong_passwords_and_unknown_emails_get_the_same_answer(client: Any, staff: dict[str, str]) -> None:
    wrong = _form(client, "/staff/sign-in", {"email": "tongdai@demo.1022.vn", "password": "Sai-mat-khau-1"})
    unknown = _form(client, "/staff/sign-in", {"email": "khongco@demo.1022.vn", "password": "Sai-mat-khau-1"})
    assert wrong.status_code == unknown.status_code == 401
    assert "Email hoặc mật khẩu không đúng." in wrong.body.decode() and "Email hoặc mật khẩu không đúng." in \
        unknown.body.decode() and "Wrong email" not in unknown.body.decode()  # pages speak Vietnamese only
    assert not _set_cookies(wrong)


def test_pages_without_a_session_send_staff_to_sign_in(client: Any, stack: Any) -> None:
    response = client.http.get("/staff/tickets/TN-AAAAAA", headers={"Cookie": "hl_id=forged.token.here"})
    assert response.status_code == 303
    assert response.headers["Location"] == "/staff/sign-in?next=%2Fstaff%2Ftickets%2FTN-AAAAAA"


def test_a_new_account_must_change_its_password_at_first_sign_in_then_can_sign_out(client: Any,
                                                                                     staff: dict[str, str]) -> None:
    from chalicelib import identity

    email = f"moi-{int(time.time() * 1000)}@demo.1022.vn"
    temporary = identity.create_staff(email, "Nhân viên mới", "operator", None)
    first = _form(client, "/staff/sign-in", {"email": email, "password": temporary, "next": "/staff/inbox"})
    assert first.status_code == 200 and "Đặt mật khẩu mới" in first.body.decode()
    assert not _set_cookies(first)
    session = first.body.decode().split('name="session" value="', 1)[1].split('"', 1)[0]
    weak = _form(client, "/staff/new-password", {"email": email, "session": session, "new_password": "ngan",
                                                 "confirm": "ngan"})
    assert weak.status_code == 400 and "ít nhất 10 ký tự" in weak.body.decode()
    mismatch = _form(client, "/staff/new-password", {"email": email, "session": session,
                                                     "new_password": "MatKhauMoi2026", "confirm": "MatKhauMoi2027"})
    assert mismatch.status_code == 400 and "không khớp" in mismatch.body.decode()
    done = _form(client, "/staff/new-password", {"email": email, "session": session, "new_password": "MatKhauMoi2026",
                                                 "confirm": "MatKhauMoi2026", "next": "/staff/inbox"})
    assert done.status_code == 303 and done.headers["Location"] == "/staff/inbox"
    cookies = _set_cookies(done)
    assert set(cookies) >= {"hl_id", "hl_csrf", "hl_refresh"}
    raw = done.headers["Set-Cookie"]
    assert all("HttpOnly" in c and "Secure" in c and "SameSite=Strict" in c and "Path=/staff" in c for c in raw)
    jar = f"hl_id={cookies['hl_id']}; hl_csrf={cookies['hl_csrf']}; hl_refresh={cookies['hl_refresh']}"
    assert client.http.get("/staff/inbox", headers={"Cookie": jar}).status_code == 200
    # Signing out needs the form's CSRF token, clears every cookie and revokes the refresh token.
    assert _form(client, "/staff/sign-out", {"csrf": "wrong"}, jar).status_code == 403
    out = _form(client, "/staff/sign-out", {"csrf": cookies["hl_csrf"]}, jar)
    assert out.status_code == 303 and out.headers["Location"] == "/staff/sign-in"
    assert all(value == "" for value in _set_cookies(out).values())
    from chalicelib.domain.errors import Unauthenticated

    with pytest.raises(Unauthenticated):
        identity.refresh(cookies["hl_refresh"])
    assert identity.sign_in(email, "MatKhauMoi2026").id_token  # the password itself still works


def test_an_expired_page_session_is_renewed_with_the_refresh_cookie(client: Any, staff: dict[str, str]) -> None:
    from chalicelib import identity
    from devstack.seed import DEMO_PASSWORD

    signed_in = identity.sign_in("giamsat@demo.1022.vn", DEMO_PASSWORD)
    claims = _claims(signed_in.id_token or "")
    now = int(time.time())
    expired = jwt.encode({**claims, "iat": now - 7200, "exp": now - 3600}, _moto_private_key(), algorithm="RS256",
                         headers={"kid": "dummy"})
    jar = f"hl_id={expired}; hl_csrf=x; hl_refresh={signed_in.refresh_token}"
    response = client.http.get("/staff/inbox", headers={"Cookie": jar})
    assert response.status_code == 200
    renewed = _set_cookies(response)["hl_id"]
    assert _claims(renewed)["exp"] > now and _claims(renewed)["email"] == "giamsat@demo.1022.vn"
    without_refresh = client.http.get("/staff/inbox", headers={"Cookie": f"hl_id={expired}"})
    assert without_refresh.status_code == 303
