"""Accounts: staff and citizen logins, bearer tokens, lockout.

Tokens are random and opaque; only their sha256 is stored, so a copy of the database does not
hand out sessions. Repeated wrong passwords lock the account for a while.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import struct
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from records.audit import AuditEvent
from records.authz import Principal
from records.errors import Conflict, InvalidInput, Unauthenticated
from records.model import Role
from records.ports import Clock, PasswordHasher
from records.repository import RecordsSession, RecordsStore, StoredToken, User

__all__ = [
    "AccountsDeps",
    "IssuedToken",
    "authenticate",
    "create_user",
    "login",
    "login_client",
    "logout",
    "principal_of",
    "token_owner",
    "totp_code",
]

MIN_PASSWORD = 8


@dataclass(frozen=True, kw_only=True)
class AccountsDeps:
    store: RecordsStore
    clock: Clock
    hasher: PasswordHasher
    audit_key: bytes
    token_ttl: timedelta = timedelta(hours=8)
    max_failed_logins: int = 5
    lockout: timedelta = timedelta(minutes=15)


@dataclass(frozen=True, kw_only=True, slots=True)
class IssuedToken:
    token: str  # shown once, to the client that logged in
    expires_at: datetime
    principal: Principal


def _sha(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


def principal_of(user: User) -> Principal:
    return Principal(username=user.username, roles=user.roles, display_name=user.display_name,
                     agency_code=user.agency_code, branch_code=user.branch_code,
                     owner_id=user.owner_id)


_DUMMY_HASHES: dict[int, str] = {}


def _dummy_hash(hasher: PasswordHasher) -> str:
    key = id(hasher)
    if key not in _DUMMY_HASHES:
        _DUMMY_HASHES[key] = hasher.hash(secrets.token_hex(16))
    return _DUMMY_HASHES[key]


def _bad_login() -> Unauthenticated:
    # One message for an unknown user and a wrong password: no account enumeration.
    return Unauthenticated("invalid_credentials", "Tên đăng nhập hoặc mật khẩu không đúng.")


TOTP_STEP_SECONDS = 30


def totp_code(secret_b32: str, at: datetime, *, offset: int = 0) -> str:
    """The six-digit time-based one-time password of RFC 6238 (what authenticator apps
    show) for ``at``; ``offset`` steps earlier or later."""
    key = base64.b32decode(secret_b32.upper() + "=" * (-len(secret_b32) % 8))
    counter = int(at.timestamp()) // TOTP_STEP_SECONDS + offset
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    start = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[start:start + 4])[0] & 0x7FFFFFFF
    return f"{value % 1_000_000:06d}"


def _otp_matches(secret_b32: str, otp: str, now: datetime) -> bool:
    # One step either side, for a phone clock a little off.
    return any(hmac.compare_digest(totp_code(secret_b32, now, offset=o), otp.strip())
               for o in (-1, 0, 1))


def _find_user(tx: RecordsSession, login_name: str) -> User | None:
    # Citizens log in with their 12-digit personal identification number.
    name = login_name.strip()
    user = tx.get_user(name)
    if user is None and name.isdigit() and len(name) == 12:
        user = tx.user_by_owner(name)
    return user


def login(deps: AccountsDeps, username: str, password: str, *,
          otp: str | None = None) -> IssuedToken:
    """Check the password (and the one-time code of a user enrolled in two-factor login)
    and issue a token. ``username`` may be a citizen's personal identification number."""
    now = deps.clock.now()
    with deps.store.session() as tx:
        user = _find_user(tx, username)
        if user is None or not user.active:
            # Hash anyway, so that timing does not tell which usernames exist.
            deps.hasher.verify(_dummy_hash(deps.hasher), password)
            raise _bad_login()
        if user.locked_until is not None and user.locked_until > now:
            raise Unauthenticated("account_locked", "Tài khoản tạm thời bị khóa do đăng nhập "
                                  "sai nhiều lần. Vui lòng thử lại sau.")
        password_ok = deps.hasher.verify(user.password_hash, password)
        if password_ok and user.totp_secret and not otp:
            # The password is right; ask for the second factor without counting a failure.
            raise Unauthenticated("otp_required", "Nhập mã xác thực 6 số từ ứng dụng xác "
                                  "thực trên điện thoại của bạn.", field="otp")
        otp_bad = bool(password_ok and user.totp_secret and otp
                       and not _otp_matches(user.totp_secret, otp, now))
        if not password_ok or otp_bad:
            failed = user.failed_logins + 1
            locked = now + deps.lockout if failed >= deps.max_failed_logins else None
            tx.update_user(replace(user, failed_logins=0 if locked else failed,
                                   locked_until=locked))
            tx.append_audit(AuditEvent(actor=user.username, action="auth.login_failed",
                                       object_type="user", object_id=user.username,
                                       detail={"locked": locked is not None}),
                            at=now, key=deps.audit_key)
            failure = (Unauthenticated("otp_invalid", "Mã xác thực không đúng hoặc đã hết "
                                       "hạn.", field="otp") if otp_bad else _bad_login())
        else:
            failure = None
            if user.failed_logins or user.locked_until:
                tx.update_user(replace(user, failed_logins=0, locked_until=None))
            token = secrets.token_urlsafe(32)
            expires = now + deps.token_ttl
            tx.add_token(StoredToken(token_sha256=_sha(token), username=user.username,
                                     created_at=now, expires_at=expires))
            tx.append_audit(AuditEvent(actor=user.username, action="auth.login",
                                       object_type="user", object_id=user.username),
                            at=now, key=deps.audit_key)
    # Raised after the block so that the failed attempt and its audit entry are committed.
    if failure is not None:
        raise failure
    return IssuedToken(token=token, expires_at=expires, principal=principal_of(user))


def _bad_client() -> Unauthenticated:
    return Unauthenticated("invalid_client", "Mã ứng dụng (client_id) hoặc khóa bí mật "
                           "(client_secret) không đúng.")


def login_client(deps: AccountsDeps, client_id: str, client_secret: str) -> IssuedToken:
    """Issue a token to another agency's system (OAuth2 client credentials, RFC 6749 §4.4).

    Only an account whose one role is ``agency`` is a client: a person (staff or citizen)
    logs in with the password grant, with their second factor, and is refused here exactly
    as a wrong secret is. The secret is the account's password, so the lockout and the audit
    of ``login`` apply unchanged."""
    with deps.store.session(readonly=True) as tx:
        user = tx.get_user(client_id.strip())
    # A client enrolled in two-factor login has no code to give: refused, not let through.
    if user is None or user.roles != frozenset({Role.AGENCY}) or user.totp_secret:
        deps.hasher.verify(_dummy_hash(deps.hasher), client_secret)
        raise _bad_client()
    try:
        return login(deps, user.username, client_secret)
    except Unauthenticated as refused:
        if refused.code == "invalid_credentials":
            raise _bad_client() from None
        raise


def authenticate(deps: AccountsDeps, token: str | None) -> Principal:
    if not token:
        raise Unauthenticated("not_authenticated", "Vui lòng đăng nhập.")
    now = deps.clock.now()
    with deps.store.session(readonly=True) as tx:
        found = tx.token_with_user(_sha(token))
    if found is None or found[0].revoked or found[0].expires_at <= now:
        raise Unauthenticated("session_expired",
                              "Phiên đăng nhập đã hết hạn hoặc không hợp lệ. "
                              "Vui lòng đăng nhập lại.")
    user = found[1]
    if not user.active:
        raise Unauthenticated("session_expired", "Tài khoản không còn hoạt động.")
    return principal_of(user)


def token_owner(deps: AccountsDeps, token: str) -> str | None:
    """Whose token this was, even if it has expired (not if it was revoked): a page posted
    after its session ran out keeps the form for that user only."""
    with deps.store.session(readonly=True) as tx:
        stored = tx.get_token(_sha(token))
    return stored.username if stored is not None and not stored.revoked else None


def logout(deps: AccountsDeps, token: str) -> None:
    with deps.store.session() as tx:
        tx.revoke_token(_sha(token))


def create_user(deps: AccountsDeps, *, username: str, password: str, display_name: str,
                roles: frozenset[Role], agency_code: str | None = None,
                branch_code: str | None = None, owner_id: str | None = None,
                actor: str = "system") -> User:
    if len(password) < MIN_PASSWORD:
        raise InvalidInput("weak_password", f"Mật khẩu phải có ít nhất {MIN_PASSWORD} ký tự.",
                           field="password")
    user = User(username=username, password_hash=deps.hasher.hash(password),
                display_name=display_name, roles=roles, agency_code=agency_code,
                branch_code=branch_code, owner_id=owner_id)
    with deps.store.session() as tx:
        if tx.get_user(username) is not None:
            raise Conflict("duplicate_user", f"Tên đăng nhập «{username}» đã tồn tại.")
        tx.add_user(user)
        tx.append_audit(AuditEvent(actor=actor, action="user.create", object_type="user",
                                   object_id=username,
                                   detail={"roles": ",".join(sorted(roles))}),
                        at=deps.clock.now(), key=deps.audit_key)
    return user
