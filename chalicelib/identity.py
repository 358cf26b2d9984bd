"""Staff identity with Amazon Cognito: sign-in, first-sign-in password change, refresh, sign-out,
staff accounts, and our own verification of every ID token.

API Gateway's Cognito authorizer is not used: `chalice local` lets forged tokens through, so the
app checks each token itself, the same way locally and on AWS — RS256 signature against the
pool's JWKS (fetched once per container, refetched for an unknown key id), issuer, audience (our
app client), expiry and `token_use`. The JWKS lives at the cognito-idp endpoint botocore resolves
(AWS, or the emulator when AWS_ENDPOINT_URL says so); the issuer is always the AWS-style URL.
"""
from __future__ import annotations

import secrets
import string
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from chalicelib import aws
from chalicelib.config import settings
from chalicelib.domain.errors import FieldError, Unauthenticated, Unavailable, ValidationFailed, WrongCredentials
from chalicelib.domain.permissions import ROLES, StaffUser, user_from_claims

CLOCK_SKEW_SECONDS = 30
_REQUIRED_CLAIMS = ["exp", "iat", "iss", "aud", "sub", "token_use"]


def issuer() -> str:
    return f"https://cognito-idp.{settings().region}.amazonaws.com/{settings().cognito_user_pool_id}"


def jwks_url() -> str:
    endpoint = aws.client("cognito-idp").meta.endpoint_url.rstrip("/")
    return f"{endpoint}/{settings().cognito_user_pool_id}/.well-known/jwks.json"


@lru_cache(maxsize=4)
def _jwks(url: str) -> Any:
    import jwt

    return jwt.PyJWKClient(url, cache_keys=True, lifespan=6 * 3600, timeout=5)


def verify(token: str | None) -> StaffUser:
    """Returns the staff member of a valid ID token of our pool and app client.

    Raises Unauthenticated for a missing, malformed, forged, foreign (other pool or client),
    expired (`expired=True`) or non-ID token; Unavailable (503) when the JWKS cannot be fetched.
    """
    import jwt

    if not token or not settings().cognito_user_pool_id:
        raise Unauthenticated("missing")
    try:
        if jwt.get_unverified_header(token).get("alg") != "RS256":
            raise Unauthenticated("algorithm")
        key = _jwks(jwks_url()).get_signing_key_from_jwt(token)
        claims = jwt.decode(token, key.key, algorithms=["RS256"], audience=settings().cognito_client_id,
                            issuer=issuer(), leeway=CLOCK_SKEW_SECONDS, options={"require": _REQUIRED_CLAIMS})
    except jwt.ExpiredSignatureError as exc:
        raise Unauthenticated("expired", expired=True) from exc
    except jwt.PyJWKClientConnectionError as exc:  # Cognito's JWKS unreachable: not the caller's fault
        raise Unavailable() from exc
    except jwt.PyJWTError as exc:  # bad signature, unknown key, wrong iss/aud, malformed, JWKS unreachable
        raise Unauthenticated(type(exc).__name__) from exc
    if claims.get("token_use") != "id":
        raise Unauthenticated("token_use")
    return user_from_claims(claims)


@dataclass(frozen=True)
class SignIn:
    """Either tokens (signed in) or a challenge session (a new password is needed first)."""

    id_token: str | None = None
    refresh_token: str | None = None
    new_password_session: str | None = None


def _cognito_error(exc: Any) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _password_rejected() -> ValidationFailed:
    return ValidationFailed([FieldError(
        "new_password", "Mật khẩu mới phải có ít nhất 10 ký tự, gồm chữ hoa, chữ thường và chữ số.",
        "The new password needs at least 10 characters with upper and lower case letters and a digit.")])


def _result(reply: dict[str, Any], refresh_token: str | None = None) -> SignIn:
    if reply.get("ChallengeName") == "NEW_PASSWORD_REQUIRED":
        return SignIn(new_password_session=reply["Session"])
    tokens = reply.get("AuthenticationResult") or {}
    if "IdToken" not in tokens:
        raise WrongCredentials()  # another challenge (MFA) this console does not offer
    return SignIn(id_token=tokens["IdToken"], refresh_token=tokens.get("RefreshToken") or refresh_token)


def sign_in(email: str, password: str) -> SignIn:
    """Signs in with email + password. Raises WrongCredentials (same for unknown email)."""
    from botocore.exceptions import ClientError

    if not email.strip() or not password:
        raise WrongCredentials()
    try:
        reply = aws.client("cognito-idp").initiate_auth(
            ClientId=settings().cognito_client_id, AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": email.strip().lower(), "PASSWORD": password})
    except ClientError as exc:
        if _cognito_error(exc) in {"NotAuthorizedException", "UserNotFoundException",
                                   "PasswordResetRequiredException", "UserNotConfirmedException"}:
            raise WrongCredentials() from exc
        raise
    return _result(reply)


def complete_new_password(email: str, session: str, new_password: str) -> SignIn:
    """Answers the first-sign-in challenge with the staff member's own password.
    Raises ValidationFailed (policy) or Unauthenticated (session expired)."""
    from botocore.exceptions import ClientError

    try:
        reply = aws.client("cognito-idp").respond_to_auth_challenge(
            ClientId=settings().cognito_client_id, ChallengeName="NEW_PASSWORD_REQUIRED", Session=session,
            ChallengeResponses={"USERNAME": email.strip().lower(), "NEW_PASSWORD": new_password})
    except ClientError as exc:
        code = _cognito_error(exc)
        if code in {"InvalidPasswordException", "InvalidParameterException"}:
            raise _password_rejected() from exc
        if code in {"NotAuthorizedException", "CodeMismatchException", "ExpiredCodeException",
                    "UserNotFoundException"}:
            raise Unauthenticated("challenge") from exc
        raise
    return _result(reply)


def refresh(refresh_token: str) -> SignIn:
    """Returns a fresh ID token for a refresh token; raises Unauthenticated when it is revoked."""
    from botocore.exceptions import ClientError

    try:
        reply = aws.client("cognito-idp").initiate_auth(
            ClientId=settings().cognito_client_id, AuthFlow="REFRESH_TOKEN_AUTH",
            AuthParameters={"REFRESH_TOKEN": refresh_token})
    except ClientError as exc:
        raise Unauthenticated("refresh") from exc
    return _result(reply, refresh_token)


def sign_out(user: StaffUser) -> None:
    """Revokes the user's refresh tokens everywhere (their cookies are cleared by the caller).
    The pool signs in by email, so the email names the user in admin calls."""
    aws.client("cognito-idp").admin_user_global_sign_out(UserPoolId=settings().cognito_user_pool_id,
                                                         Username=user.email)


def temporary_password() -> str:
    """A password that satisfies the pool policy, for the first sign-in only."""
    alphabet = string.ascii_letters + string.digits
    core = "".join(secrets.choice(alphabet) for _ in range(12))
    return "T" + core + "a7"


def create_staff(email: str, name: str, role: str, agency: str | None) -> str:
    """Creates a staff account in `role` (the agency for officers); returns its temporary password,
    which must be changed at first sign-in. Raises ValidationFailed (e.g. the email exists)."""
    from botocore.exceptions import ClientError

    pool = settings().cognito_user_pool_id
    cognito = aws.client("cognito-idp")
    attributes = [{"Name": "email", "Value": email}, {"Name": "email_verified", "Value": "true"},
                  {"Name": "name", "Value": name}]
    if agency:
        attributes.append({"Name": "custom:agency", "Value": agency})
    password = temporary_password()
    try:
        cognito.admin_create_user(UserPoolId=pool, Username=email, UserAttributes=attributes,
                                  TemporaryPassword=password, DesiredDeliveryMediums=["EMAIL"])
    except ClientError as exc:
        if _cognito_error(exc) == "UsernameExistsException":
            raise ValidationFailed([FieldError("email", "Email này đã có tài khoản.",
                                               "This email already has an account.")]) from exc
        raise
    cognito.admin_add_user_to_group(UserPoolId=pool, Username=email, GroupName=role)
    return password


def set_enabled(email: str, enabled: bool) -> None:
    """Enables or disables an account; disabling also revokes its refresh tokens."""
    pool = settings().cognito_user_pool_id
    cognito = aws.client("cognito-idp")
    if enabled:
        cognito.admin_enable_user(UserPoolId=pool, Username=email)
        return
    cognito.admin_disable_user(UserPoolId=pool, Username=email)
    cognito.admin_user_global_sign_out(UserPoolId=pool, Username=email)


def staff_by_role() -> dict[str, list[dict[str, Any]]]:
    """Returns every staff account per role (one paged listing per group)."""
    pool = settings().cognito_user_pool_id
    cognito = aws.client("cognito-idp")
    result: dict[str, list[dict[str, Any]]] = {}
    for role in ROLES:
        people: list[dict[str, Any]] = []
        for page in cognito.get_paginator("list_users_in_group").paginate(UserPoolId=pool, GroupName=role):
            for user in page["Users"]:
                attributes = {a["Name"]: a["Value"] for a in user.get("Attributes", [])}
                people.append({"email": attributes.get("email", ""), "name": attributes.get("name", ""),
                               "sub": attributes.get("sub", ""),
                               "agency": attributes.get("custom:agency"), "enabled": user.get("Enabled", True),
                               "status": user.get("UserStatus", "")})
        result[role] = sorted(people, key=lambda person: person["email"])
    return result


def set_role_and_agency(email: str, role: str, agency: str | None) -> tuple[list[str], str | None]:
    """Puts the account in `role` alone (of the staff roles) and sets its agency (None: removes it);
    returns its roles and agency before. A change also signs the person out everywhere (their
    refresh tokens are revoked): the ID token they hold lasts at most 15 minutes (the pool client's
    IdTokenValidity), then the console cannot renew it and asks them to sign in again, with the new
    role and agency. Raises ValidationFailed (no such account)."""
    from botocore.exceptions import ClientError

    pool = settings().cognito_user_pool_id
    cognito = aws.client("cognito-idp")
    try:
        account = cognito.admin_get_user(UserPoolId=pool, Username=email)
    except ClientError as exc:
        if _cognito_error(exc) == "UserNotFoundException":
            raise ValidationFailed([FieldError("email", "Không có tài khoản này.", "No such account.")]) from exc
        raise
    before_agency = next((a["Value"] for a in account.get("UserAttributes", []) if a["Name"] == "custom:agency"),
                         None) or None
    groups = [g["GroupName"] for g in cognito.admin_list_groups_for_user(UserPoolId=pool, Username=email)["Groups"]]
    before_roles = [g for g in groups if g in ROLES]
    if role not in before_roles:
        cognito.admin_add_user_to_group(UserPoolId=pool, Username=email, GroupName=role)
    for old in before_roles:
        if old != role:
            cognito.admin_remove_user_from_group(UserPoolId=pool, Username=email, GroupName=old)
    if agency and agency != before_agency:
        cognito.admin_update_user_attributes(UserPoolId=pool, Username=email,
                                             UserAttributes=[{"Name": "custom:agency", "Value": agency}])
    elif not agency and before_agency:
        cognito.admin_delete_user_attributes(UserPoolId=pool, Username=email, UserAttributeNames=["custom:agency"])
    if before_roles != [role] or before_agency != agency:
        cognito.admin_user_global_sign_out(UserPoolId=pool, Username=email)
    return before_roles, before_agency
