"""Login with bearer tokens: people with the password grant (and their one-time code),
other agencies' systems with client credentials (OAuth2, RFC 6749 §4.3 and §4.4)."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated
from urllib.parse import unquote_plus

from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict

from api.deps import AppServices, BearerToken, CurrentUser
from api.errors import error_response
from api.ratelimit import TooManyAttempts, client_address
from api.schemas import ErrorPublic, TokenPublic
from records.accounts import IssuedToken, login_client, logout
from records.errors import DomainError, InvalidInput
from records.identity import PasswordLogin

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])

PASSWORD_GRANT = "password"  # noqa: S105 - the OAuth2 grant type's name
CLIENT_GRANT = "client_credentials"


def _errors(*codes: int) -> dict[int | str, dict[str, object]]:
    return {code: {"model": ErrorPublic} for code in codes}


class MePublic(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "username": "tiepnhan", "display_name": "Trần Thị Lan (cán bộ một cửa)",
        "roles": ["clerk"], "agency_code": None, "branch_code": "TTPVHCC-QN"}]})

    username: str
    display_name: str
    roles: list[str]
    agency_code: str | None
    branch_code: str | None


def _basic_client(request: Request) -> tuple[str, str] | None:
    """Client id and secret from ``Authorization: Basic`` (RFC 6749 §2.3.1: each part
    form-encoded before joining)."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic" or not value:
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, sep, secret = decoded.partition(":")
    return (unquote_plus(client_id), unquote_plus(secret)) if sep else None


def _required(value: str | None, field: str) -> str:
    if not value:
        raise InvalidInput("invalid_request", f"Thiếu trường «{field}».", field=field)
    return value


def _token_public(issued: IssuedToken) -> TokenPublic:
    who = issued.principal
    return TokenPublic(access_token=issued.token, expires_at=issued.expires_at,
                       username=who.username, display_name=who.display_name,
                       roles=sorted(who.roles))


# Whole-request examples, one per grant (the form's fields carry their own too).
_TOKEN_EXAMPLES = {
    "password": {"summary": "Cán bộ một cửa đăng nhập bằng mật khẩu",
                 "value": {"grant_type": PASSWORD_GRANT, "username": "tiepnhan",
                           "password": "motcua-demo"}},
    "citizen": {"summary": "Công dân đăng nhập bằng số định danh cá nhân",
                "value": {"username": "022190001234", "password": "motcua-demo"}},
    "totp": {"summary": "Lãnh đạo có xác thực hai lớp: mật khẩu và mã 6 số",
             "value": {"username": "lanhdao", "password": "motcua-demo", "otp": "492039"}},
    "client_credentials": {"summary": "Hệ thống của Cục Thuế (tài khoản cơ quan)",
                           "value": {"grant_type": CLIENT_GRANT, "client_id": "coquankhac",
                                     "client_secret": "motcua-demo"}},
}


@router.post(
    "/token", response_model=TokenPublic, summary="Đăng nhập, nhận bearer token",
    openapi_extra={"requestBody": {"content": {"application/x-www-form-urlencoded": {
        "examples": _TOKEN_EXAMPLES}}}},
    responses={**_errors(400, 401, 422),
               429: {"model": ErrorPublic, "description": "Quá nhiều lần đăng nhập sai; "
                     "xem header Retry-After"}})
def issue_token(
    request: Request,
    services: AppServices,
    grant_type: Annotated[str, Form(max_length=40, examples=[PASSWORD_GRANT, CLIENT_GRANT])]
    = PASSWORD_GRANT,
    username: Annotated[str | None, Form(max_length=80, examples=["tiepnhan",
                                                                  "022190001234"])] = None,
    password: Annotated[str | None, Form(max_length=200, examples=["motcua-demo"])] = None,
    otp: Annotated[str | None, Form(max_length=10, examples=["492039"],
                                    description="TOTP code, for users enrolled in "
                                                "two-factor login")] = None,
    client_id: Annotated[str | None, Form(max_length=80, examples=["coquankhac"])] = None,
    client_secret: Annotated[str | None, Form(max_length=200,
                                              examples=["motcua-demo"])] = None,
) -> TokenPublic | JSONResponse:
    """OAuth2 token endpoint (form-encoded).

    - `grant_type=password` (the default): `username` (a user name, or a citizen's 12-digit
      personal id), `password`, and `otp` for a user enrolled in two-factor login.
    - `grant_type=client_credentials`: `client_id` and `client_secret` in the form or as
      HTTP Basic; only agency system accounts (role `agency`) may use it.

    Failed logins are throttled per client address and per name (429 with `Retry-After`);
    five wrong passwords in a row lock the account for 15 minutes."""
    if grant_type == PASSWORD_GRANT:
        name = _required(username, "username")
        secret = _required(password, "password")

        def attempt() -> IssuedToken:
            return services.identity.login(PasswordLogin(username=name, password=secret,
                                                         otp=otp or None))
    elif grant_type == CLIENT_GRANT:
        basic = _basic_client(request)
        name = _required(client_id or (basic[0] if basic else None), "client_id")
        secret = _required(client_secret or (basic[1] if basic else None), "client_secret")

        def attempt() -> IssuedToken:
            return login_client(services.accounts, name, secret)
    else:
        raise DomainError("unsupported_grant_type", "Kiểu cấp quyền (grant_type) không được "
                          "hỗ trợ: dùng «password» hoặc «client_credentials».",
                          field="grant_type")
    try:
        issued = services.login_throttle.attempt(address=client_address(request), name=name,
                                                 login=attempt)
    except TooManyAttempts as exc:
        return error_response(429, exc.code, exc.message,
                              headers={"Retry-After": str(exc.retry_after)})
    return _token_public(issued)


@router.post("/logout", status_code=204, summary="Đăng xuất: thu hồi token đang dùng",
             responses=_errors(401))
def end_session(services: AppServices, who: CurrentUser, token: BearerToken) -> None:
    """Revoke the bearer token of this request; other tokens of the user stay valid."""
    del who  # authenticated first: only a live token may be revoked
    if token:
        logout(services.accounts, token)


@router.get("/me", response_model=MePublic, summary="Người đang đăng nhập",
            responses=_errors(401))
def me(who: CurrentUser) -> MePublic:
    """Who the bearer token belongs to: name, roles, agency and one-stop desk."""
    return MePublic(username=who.username, display_name=who.display_name,
                    roles=sorted(who.roles), agency_code=who.agency_code,
                    branch_code=who.branch_code)
