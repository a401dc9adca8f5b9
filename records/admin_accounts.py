"""Administration of user accounts: their roles, agency and desk, password, active state and
second factor (TOTP, RFC 6238). Administrators only; see ``records.admin`` for what every
administration use case promises."""

from __future__ import annotations

import base64
import hmac
import re
import secrets
from dataclasses import dataclass, replace
from urllib.parse import quote, urlencode

from records.accounts import MIN_PASSWORD, totp_code
from records.admin import AdminDeps, audit, check, text_field
from records.authz import Action, Principal, authorize
from records.errors import Conflict, InvalidInput, NotFound
from records.identifiers import validate_owner_id
from records.model import Role
from records.repository import RecordsSession, User

__all__ = [
    "TOTP_ISSUER",
    "UserDraft",
    "create_account",
    "enrol_totp",
    "get_account",
    "list_accounts",
    "new_totp_secret",
    "remove_totp",
    "reset_password",
    "set_account_active",
    "totp_uri",
    "update_account",
]

TOTP_ISSUER = "Motcua"

_USERNAME = re.compile(r"[a-z0-9][a-z0-9._\-]{2,79}")
_BASE32 = re.compile(r"[A-Z2-7]{16,64}")

# Roles that work for an agency, and roles an account must hold alone.
_AGENCY_ROLES = frozenset({Role.HANDLER, Role.SIGNER, Role.SEAL_CUSTODIAN, Role.AGENCY})
_SOLE_ROLES = frozenset({Role.CITIZEN, Role.AGENCY})


@dataclass(frozen=True, kw_only=True, slots=True)
class UserDraft:
    display_name: str = ""
    roles: tuple[str, ...] = ()
    agency_code: str = ""
    branch_code: str = ""
    owner_id: str = ""
    username: str = ""  # only when creating
    password: str = ""  # only when creating


def _password(value: str, problems: dict[str, str], field: str = "password") -> None:
    if len(value) < MIN_PASSWORD:
        problems[field] = f"Mật khẩu phải có ít nhất {MIN_PASSWORD} ký tự."
    elif len(value) > 200:
        problems[field] = "Mật khẩu dài quá 200 ký tự."


def _account_fields(tx: RecordsSession, draft: UserDraft, username: str,
                    problems: dict[str, str]) -> User:
    """The account as the draft describes it (password hash left empty)."""
    name = text_field(draft.display_name, "display_name", "họ tên hoặc tên hiển thị",
                      problems, max_length=200)
    roles: set[Role] = set()
    for value in draft.roles:
        try:
            roles.add(Role(value))
        except ValueError:
            problems["roles"] = "Vai trò không hợp lệ."
    if not roles and "roles" not in problems:
        problems["roles"] = "Vui lòng chọn ít nhất một vai trò."
    elif len(roles) > 1 and roles & _SOLE_ROLES:
        problems["roles"] = ("Tài khoản công dân hoặc hệ thống cơ quan khác không được kiêm "
                             "vai trò khác.")
    agency = draft.agency_code.strip() or None
    branch = draft.branch_code.strip() or None
    owner = draft.owner_id.strip() or None
    if agency is not None and tx.get_agency(agency) is None:
        problems["agency_code"] = "Không có cơ quan này."
    elif agency is None and roles & _AGENCY_ROLES:
        problems["agency_code"] = ("Chuyên viên, lãnh đạo, văn thư và hệ thống cơ quan khác "
                                   "phải thuộc một cơ quan.")
    if branch is not None and tx.get_branch(branch) is None:
        problems["branch_code"] = "Không có bộ phận tiếp nhận này."
    elif branch is None and Role.CLERK in roles:
        problems["branch_code"] = "Cán bộ một cửa phải thuộc một bộ phận tiếp nhận."
    if Role.CITIZEN in roles:
        try:
            owner = validate_owner_id(owner or "", field="owner_id")
        except InvalidInput as exc:
            problems["owner_id"] = exc.message
        else:
            holder = tx.user_by_owner(owner)
            if holder is not None and holder.username != username:
                problems["owner_id"] = (f"Số định danh này đã gắn với tài khoản "
                                        f"«{holder.username}».")
    else:
        owner = None  # only citizens log in by a personal id
    return User(username=username, password_hash="", display_name=name,
                roles=frozenset(roles), agency_code=agency, branch_code=branch,
                owner_id=owner)


def _roles_text(roles: frozenset[Role]) -> str:
    return ",".join(sorted(roles))


def list_accounts(deps: AdminDeps, who: Principal, *, query: str = "",
                  role: Role | None = None, limit: int = 200) -> list[User]:
    authorize(who, Action.ADMINISTER)
    with deps.store.session(readonly=True) as tx:
        return tx.list_users(query=query, role=role, limit=limit)


def _existing(tx: RecordsSession, username: str) -> User:
    user = tx.get_user(username)
    if user is None:
        raise NotFound("user_not_found", "Không có tài khoản này.")
    return user


def get_account(deps: AdminDeps, who: Principal, username: str) -> User:
    authorize(who, Action.ADMINISTER)
    with deps.store.session(readonly=True) as tx:
        return _existing(tx, username)


def create_account(deps: AdminDeps, who: Principal, draft: UserDraft) -> User:
    authorize(who, Action.ADMINISTER)
    problems: dict[str, str] = {}
    username = draft.username.strip().lower()
    if not _USERNAME.fullmatch(username):
        problems["username"] = ("Tên đăng nhập gồm 3 đến 80 ký tự: chữ thường không dấu, số, "
                                "dấu chấm, gạch ngang hoặc gạch dưới.")
    _password(draft.password, problems)
    with deps.store.session() as tx:
        user = _account_fields(tx, draft, username, problems)
        check(problems)
        if tx.get_user(username) is not None:
            raise Conflict("duplicate_user", f"Tên đăng nhập «{username}» đã tồn tại.",
                           field="username")
        user = replace(user, password_hash=deps.hasher.hash(draft.password))
        tx.add_user(user)
        audit(tx, deps, who, "user.create", "user", username,
              {"roles": _roles_text(user.roles), "agency": user.agency_code,
               "branch": user.branch_code})
    return user


def update_account(deps: AdminDeps, who: Principal, username: str, draft: UserDraft) -> User:
    """Change a user's name, roles, agency, desk or personal id (not the password)."""
    authorize(who, Action.ADMINISTER)
    problems: dict[str, str] = {}
    with deps.store.session() as tx:
        before = _existing(tx, username)
        wanted = _account_fields(tx, draft, username, problems)
        if username == who.username and Role.ADMIN not in wanted.roles:
            problems["roles"] = ("Bạn không thể tự bỏ vai trò quản trị của chính mình; hãy nhờ "
                                 "một quản trị viên khác.")
        check(problems)
        user = replace(before, display_name=wanted.display_name, roles=wanted.roles,
                       agency_code=wanted.agency_code, branch_code=wanted.branch_code,
                       owner_id=wanted.owner_id)
        tx.update_user(user)
        audit(tx, deps, who, "user.update", "user", username,
              {"roles": _roles_text(user.roles), "from_roles": _roles_text(before.roles),
               "agency": user.agency_code, "branch": user.branch_code})
    return user


def set_account_active(deps: AdminDeps, who: Principal, username: str, *,
                       active: bool) -> User:
    """Deactivate (its sessions end at once) or reactivate an account."""
    authorize(who, Action.ADMINISTER)
    if username == who.username and not active:
        raise InvalidInput("cannot_deactivate_self", "Bạn không thể tự khóa tài khoản của "
                           "chính mình.")
    with deps.store.session() as tx:
        user = replace(_existing(tx, username), active=active, failed_logins=0,
                       locked_until=None)
        tx.update_user(user)
        if not active:
            tx.revoke_tokens_of(username)
        audit(tx, deps, who, "user.reactivate" if active else "user.deactivate", "user",
              username)
    return user


def reset_password(deps: AdminDeps, who: Principal, username: str, password: str) -> User:
    """Set a new password, lift a lockout and end the user's sessions."""
    authorize(who, Action.ADMINISTER)
    problems: dict[str, str] = {}
    _password(password, problems)
    check(problems)
    with deps.store.session() as tx:
        user = replace(_existing(tx, username), password_hash=deps.hasher.hash(password),
                       failed_logins=0, locked_until=None)
        tx.update_user(user)
        tx.revoke_tokens_of(username)
        audit(tx, deps, who, "user.password_reset", "user", username)
    return user


def new_totp_secret() -> str:
    """A fresh 160-bit secret in base32, as RFC 4226 recommends and authenticator apps read."""
    return base64.b32encode(secrets.token_bytes(20)).decode("ascii").rstrip("=")


def totp_uri(secret: str, username: str, *, issuer: str = TOTP_ISSUER) -> str:
    """The ``otpauth://`` address an authenticator app scans (Google Authenticator's Key Uri
    Format: label ``issuer:account``, six digits, 30-second steps, SHA-1)."""
    label = quote(f"{issuer}:{username}", safe="")
    query = urlencode({"secret": secret, "issuer": issuer, "algorithm": "SHA1", "digits": "6",
                       "period": "30"})
    return f"otpauth://totp/{label}?{query}"


def enrol_totp(deps: AdminDeps, who: Principal, username: str, *, secret: str,
               code: str) -> User:
    """Save a second-factor secret once the user's app shows a current code for it: a
    secret that was never scanned must not lock the user out."""
    authorize(who, Action.ADMINISTER)
    secret = secret.strip().upper()
    if not _BASE32.fullmatch(secret):
        raise InvalidInput("invalid_totp_secret", "Khóa bí mật không hợp lệ; vui lòng tạo lại "
                           "mã QR.", field="code")
    now = deps.clock.now()
    typed = code.strip().replace(" ", "")
    if not (typed.isdigit() and len(typed) == 6):
        raise InvalidInput("invalid_otp", "Nhập đúng 6 chữ số đang hiện trên ứng dụng xác "
                           "thực.", field="code")
    # One step either side, for a phone clock a little off (as at login).
    if not any(hmac.compare_digest(totp_code(secret, now, offset=o), typed)
               for o in (-1, 0, 1)):
        raise InvalidInput("otp_invalid", "Mã xác thực không đúng hoặc đã hết hạn. Kiểm tra "
                           "đồng hồ điện thoại và nhập mã mới.", field="code")
    with deps.store.session() as tx:
        user = replace(_existing(tx, username), totp_secret=secret)
        tx.update_user(user)
        audit(tx, deps, who, "user.totp_enrol", "user", username)
    return user


def remove_totp(deps: AdminDeps, who: Principal, username: str) -> User:
    """Remove the second factor (a lost phone): the next login asks for the password only."""
    authorize(who, Action.ADMINISTER)
    with deps.store.session() as tx:
        user = replace(_existing(tx, username), totp_secret=None)
        tx.update_user(user)
        audit(tx, deps, who, "user.totp_remove", "user", username)
    return user

