"""Staff and citizen login with bearer tokens."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from api.deps import AppServices, BearerToken, CurrentUser
from api.errors import error_response
from api.ratelimit import TooManyAttempts, client_address
from api.schemas import ErrorPublic, TokenPublic
from records.accounts import login, logout

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


class MePublic(BaseModel):
    username: str
    display_name: str
    roles: list[str]
    agency_code: str | None
    branch_code: str | None


@router.post("/token", response_model=TokenPublic,
             responses={401: {"model": ErrorPublic}, 422: {"model": ErrorPublic},
                        429: {"model": ErrorPublic}})
def issue_token(
    request: Request,
    services: AppServices,
    username: Annotated[str, Form(min_length=1, max_length=80)],
    password: Annotated[str, Form(min_length=1, max_length=200)],
) -> TokenPublic | JSONResponse:
    """OAuth2 password flow: form fields ``username`` and ``password``."""
    try:
        issued = services.login_throttle.attempt(
            address=client_address(request), name=username,
            login=lambda: login(services.accounts, username, password))
    except TooManyAttempts as exc:
        return error_response(429, exc.code, exc.message,
                              headers={"Retry-After": str(exc.retry_after)})
    who = issued.principal
    return TokenPublic(access_token=issued.token, expires_at=issued.expires_at,
                       username=who.username, display_name=who.display_name,
                       roles=sorted(who.roles))


@router.post("/logout", status_code=204, responses={401: {"model": ErrorPublic}})
def end_session(services: AppServices, who: CurrentUser, token: BearerToken) -> None:
    del who  # authenticated first: only a live token may be revoked
    if token:
        logout(services.accounts, token)


@router.get("/me", response_model=MePublic, responses={401: {"model": ErrorPublic}})
def me(who: CurrentUser) -> MePublic:
    return MePublic(username=who.username, display_name=who.display_name,
                    roles=sorted(who.roles), agency_code=who.agency_code,
                    branch_code=who.branch_code)


