"""Who is logging in: the identity-provider port.

A provider turns what a person presents, a login form or an assertion signed by an external
identity provider (VNeID, the national electronic identification, speaks OpenID Connect),
into a session on one of our accounts. Today there is one implementation, ``LocalPasswords``
(argon2 passwords and the optional TOTP code of ``records.accounts``); docs/security.md says
how an OIDC provider plugs in. Agency systems are machines, not people: they use client
credentials (``records.accounts.login_client``), not this port.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from records.accounts import AccountsDeps, IssuedToken, login
from records.errors import Unauthenticated

__all__ = [
    "Credentials",
    "ExternalAssertion",
    "IdentityProvider",
    "LocalPasswords",
    "PasswordLogin",
]


@dataclass(frozen=True, kw_only=True, slots=True)
class PasswordLogin:
    """The login form: a user name or a citizen's 12-digit personal id, a password, and the
    one-time code of a user enrolled in two-factor login."""

    username: str
    password: str
    otp: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class ExternalAssertion:
    """What an external provider sent back: for OpenID Connect, the ID token (a signed JWT)
    and the nonce this server put in the authorisation request."""

    issuer: str
    token: str
    nonce: str = ""


Credentials = PasswordLogin | ExternalAssertion


class IdentityProvider(Protocol):
    """Turns credentials into a session on an existing, active account.

    Contract: ``login`` SHALL either return an ``IssuedToken`` whose principal is that
    account, or raise ``Unauthenticated`` with a stable code (``invalid_credentials``,
    ``account_locked``, ``otp_required``, ``otp_invalid``, or ``unsupported_credentials``
    for a kind of credentials it does not take). It SHALL NOT create accounts: a person
    unknown here is refused as a wrong password is, whatever the external provider says.
    It SHALL leave an audit entry for every success and every failure it counts.
    """

    name: str

    def login(self, credentials: Credentials) -> IssuedToken: ...


class LocalPasswords:
    """Passwords and TOTP codes checked here, with the per-account lockout."""

    name = "local"

    def __init__(self, accounts: AccountsDeps) -> None:
        self._accounts = accounts

    def login(self, credentials: Credentials) -> IssuedToken:
        if not isinstance(credentials, PasswordLogin):
            raise Unauthenticated("unsupported_credentials", "Hình thức đăng nhập này chưa "
                                  "được hỗ trợ.")
        return login(self._accounts, credentials.username, credentials.password,
                     otp=credentials.otp)
