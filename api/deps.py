"""Request-scoped dependencies: the services and the authenticated principal."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.bootstrap import Services
from records.accounts import authenticate
from records.authz import Principal

__all__ = ["AppServices", "BearerToken", "CurrentUser", "services_of"]

_bearer = HTTPBearer(auto_error=False, description="Token từ POST /api/v1/auth/token")


def services_of(request: Request) -> Services:
    """The services the app was built with, for code that holds a request (the pages'
    cookies and CSRF); a route takes them as ``AppServices``."""
    services: Services = request.app.state.services
    return services


# The two trivial dependencies are coroutines: FastAPI runs a plain function dependency in
# the thread pool, a hop that costs more than the function.
async def _services(request: Request) -> Services:
    return services_of(request)


AppServices = Annotated[Services, Depends(_services)]


async def _token(credentials: Annotated[HTTPAuthorizationCredentials | None,
                                  Depends(_bearer)]) -> str | None:
    return credentials.credentials if credentials else None


BearerToken = Annotated[str | None, Depends(_token)]


def _current_user(services: AppServices, token: BearerToken) -> Principal:
    return authenticate(services.accounts, token)


CurrentUser = Annotated[Principal, Depends(_current_user)]
