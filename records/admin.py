"""Administration: agencies and their desks, procedures and the papers they require, user
accounts and their roles and second factor, public holidays, and the certificate registry.

Every use case is for administrators only, runs in one records transaction and leaves an
audit entry, or raises and changes nothing. Input arrives as the text a form sends; every
problem found is reported against its field at once (``InvalidFields``), so a form shows
all of them in one round.
"""

from __future__ import annotations

import base64
import hmac
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from urllib.parse import quote, urlencode

from records.accounts import MIN_PASSWORD, totp_code
from records.audit import AuditEvent, JsonValue
from records.authz import Action, Principal, authorize
from records.calendar import VN_TZ
from records.certificates import CertificateDeps, grant_seal_authorisation
from records.errors import Conflict, InvalidInput, NotFound
from records.identifiers import validate_owner_id
from records.model import (
    Agency,
    Branch,
    CertificateRecord,
    Procedure,
    RequiredComponent,
    Role,
    SealAuthorisation,
)
from records.ports import Clock, PasswordHasher
from records.repository import Holiday, RecordsSession, RecordsStore, User, UserCounts

__all__ = [
    "AdminDeps",
    "AdminOverview",
    "AuthorisationDraft",
    "ComponentDraft",
    "InvalidFields",
    "ProcedureDraft",
    "UserDraft",
    "add_holiday",
    "certificate_deps",
    "create_account",
    "create_agency",
    "create_branch",
    "create_procedure",
    "enrol_totp",
    "get_account",
    "get_procedure",
    "grant_authorisation",
    "list_accounts",
    "list_agencies",
    "list_authorisations",
    "list_branches",
    "list_certificates",
    "list_holidays",
    "list_procedures",
    "new_totp_secret",
    "overview",
    "remove_holiday",
    "remove_totp",
    "rename_agency",
    "rename_branch",
    "reset_password",
    "set_account_active",
    "totp_uri",
    "update_account",
    "update_procedure",
]

TOTP_ISSUER = "Motcua"
EXPIRY_WARNING = timedelta(days=30)

_AGENCY_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9.\-]{1,39}")  # e-ID codes: 000.00.15.H40
_PROCEDURE_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9.\-]{0,39}")  # 1.012736.000.00.00.H40
_COMPONENT_CODE = re.compile(r"[A-Z0-9_]{1,40}")
_DOCUMENT_TYPE = re.compile(r"[a-z0-9_]{1,80}")
_USERNAME = re.compile(r"[a-z0-9][a-z0-9._\-]{2,79}")
_BASE32 = re.compile(r"[A-Z2-7]{16,64}")

# Roles that work for an agency, and roles an account must hold alone.
_AGENCY_ROLES = frozenset({Role.HANDLER, Role.SIGNER, Role.SEAL_CUSTODIAN, Role.AGENCY})
_SOLE_ROLES = frozenset({Role.CITIZEN, Role.AGENCY})


@dataclass(frozen=True, kw_only=True)
class AdminDeps:
    store: RecordsStore
    clock: Clock
    hasher: PasswordHasher
    audit_key: bytes


def certificate_deps(deps: AdminDeps) -> CertificateDeps:
    """The certificate registry's use cases run on the same store, clock and audit key."""
    return CertificateDeps(store=deps.store, clock=deps.clock, audit_key=deps.audit_key)


class InvalidFields(InvalidInput):
    """Several fields are wrong at once: ``fields`` maps each to its message."""

    def __init__(self, fields: Mapping[str, str]) -> None:
        first = next(iter(fields))
        super().__init__("invalid_fields", fields[first], field=first)
        self.fields = dict(fields)


def _check(problems: dict[str, str]) -> None:
    if problems:
        raise InvalidFields(problems)


def _audit(tx: RecordsSession, deps: AdminDeps, who: Principal, action: str,
           object_type: str, object_id: str,
           detail: Mapping[str, JsonValue] | None = None) -> None:
    tx.append_audit(AuditEvent(actor=who.username, action=action, object_type=object_type,
                               object_id=object_id, detail=dict(detail or {})),
                    at=deps.clock.now(), key=deps.audit_key)


def _text(value: str, field: str, label: str, problems: dict[str, str], *,
          max_length: int, required: bool = True) -> str:
    text = " ".join(value.split())
    if required and not text:
        problems[field] = f"Vui lòng nhập {label}."
    elif len(text) > max_length:
        problems[field] = f"{label[:1].upper()}{label[1:]} dài quá {max_length} ký tự."
    return text


# -- overview ---------------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True, slots=True)
class AdminOverview:
    agencies: int
    branches: int
    procedures: int
    users: UserCounts
    certificates: int
    certificates_expiring: int  # within EXPIRY_WARNING, or already expired
    authorisations_in_force: int
    holidays_this_year: int
    year: int


def overview(deps: AdminDeps, who: Principal) -> AdminOverview:
    authorize(who, Action.ADMINISTER)
    now = deps.clock.now()
    year = now.astimezone(VN_TZ).year
    with deps.store.session(readonly=True) as tx:
        certificates = tx.certificates()
        return AdminOverview(
            agencies=len(tx.list_agencies()), branches=len(tx.list_branches()),
            procedures=len(tx.list_procedures()), users=tx.user_counts(),
            certificates=len(certificates),
            certificates_expiring=sum(1 for c in certificates
                                      if c.not_after <= now + EXPIRY_WARNING),
            authorisations_in_force=sum(1 for a in tx.authorisations() if a.covers(now)),
            holidays_this_year=len(tx.list_holidays(year)), year=year)


# -- agencies and branches --------------------------------------------------------------------
def list_agencies(deps: AdminDeps, who: Principal) -> list[Agency]:
    authorize(who, Action.ADMINISTER)
    with deps.store.session(readonly=True) as tx:
        return tx.list_agencies()


def list_branches(deps: AdminDeps, who: Principal) -> list[Branch]:
    authorize(who, Action.ADMINISTER)
    with deps.store.session(readonly=True) as tx:
        return tx.list_branches()


def _code(value: str, pattern: re.Pattern[str], problems: dict[str, str], field: str,
          message: str) -> str:
    code = value.strip()
    if not code:
        problems[field] = "Vui lòng nhập mã."
    elif not pattern.fullmatch(code):
        problems[field] = message
    return code


def create_agency(deps: AdminDeps, who: Principal, *, code: str, name: str) -> Agency:
    authorize(who, Action.ADMINISTER)
    problems: dict[str, str] = {}
    code = _code(code, _AGENCY_CODE, problems, "code", "Mã định danh cơ quan chỉ gồm chữ, số, "
                 "dấu chấm và gạch ngang (ví dụ 000.00.15.H40).")
    name = _text(name, "name", "tên cơ quan", problems, max_length=300)
    _check(problems)
    agency = Agency(code=code, name=name)
    with deps.store.session() as tx:
        if tx.get_agency(code) is not None:
            raise Conflict("duplicate_agency", f"Mã cơ quan «{code}» đã tồn tại.", field="code")
        tx.add_agency(agency)
        _audit(tx, deps, who, "agency.create", "agency", code, {"name": name})
    return agency


def rename_agency(deps: AdminDeps, who: Principal, code: str, name: str) -> Agency:
    authorize(who, Action.ADMINISTER)
    problems: dict[str, str] = {}
    name = _text(name, "name", "tên cơ quan", problems, max_length=300)
    _check(problems)
    with deps.store.session() as tx:
        before = tx.get_agency(code)
        if before is None or not tx.rename_agency(code, name):
            raise NotFound("agency_not_found", "Không có cơ quan này.")
        _audit(tx, deps, who, "agency.rename", "agency", code,
               {"from": before.name, "to": name})
    return Agency(code=code, name=name)


def create_branch(deps: AdminDeps, who: Principal, *, code: str, name: str,
                  agency_code: str) -> Branch:
    authorize(who, Action.ADMINISTER)
    problems: dict[str, str] = {}
    code = _code(code, _AGENCY_CODE, problems, "code", "Mã bộ phận chỉ gồm chữ, số, dấu chấm "
                 "và gạch ngang (ví dụ MC-HALONG).")
    name = _text(name, "name", "tên bộ phận", problems, max_length=300)
    with deps.store.session() as tx:
        if not agency_code.strip() or tx.get_agency(agency_code.strip()) is None:
            problems["agency_code"] = "Vui lòng chọn cơ quan quản lý bộ phận."
        _check(problems)
        if tx.get_branch(code) is not None:
            raise Conflict("duplicate_branch", f"Mã bộ phận «{code}» đã tồn tại.",
                           field="code")
        branch = Branch(code=code, name=name, agency_code=agency_code.strip())
        tx.add_branch(branch)
        _audit(tx, deps, who, "branch.create", "branch", code,
               {"name": name, "agency": branch.agency_code})
    return branch


def rename_branch(deps: AdminDeps, who: Principal, code: str, name: str) -> Branch:
    authorize(who, Action.ADMINISTER)
    problems: dict[str, str] = {}
    name = _text(name, "name", "tên bộ phận", problems, max_length=300)
    _check(problems)
    with deps.store.session() as tx:
        before = tx.get_branch(code)
        if before is None or not tx.rename_branch(code, name):
            raise NotFound("branch_not_found", "Không có bộ phận tiếp nhận này.")
        _audit(tx, deps, who, "branch.rename", "branch", code,
               {"from": before.name, "to": name})
    return replace(before, name=name)


# -- procedures -------------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True, slots=True)
class ComponentDraft:
    """One row of the required papers as typed; a row left entirely blank is skipped."""

    code: str = ""
    name: str = ""
    document_type: str = ""
    mandatory: bool = True
    order: str = ""

    @property
    def blank(self) -> bool:
        return not (self.code.strip() or self.name.strip() or self.document_type.strip())


@dataclass(frozen=True, kw_only=True, slots=True)
class ProcedureDraft:
    code: str = ""
    name: str = ""
    agency_code: str = ""
    processing_days: str = ""
    fee_vnd: str = ""
    result_type: str = ""
    components: tuple[ComponentDraft, ...] = ()


_AMOUNT = re.compile(r"\d{1,3}(?:[.,]\d{3})+|\d+")  # 100000, 100.000 or 100,000 đồng


def _whole_number(value: str) -> int | None:
    text = value.strip()
    return int(text) if text.isascii() and text.isdigit() else None


def _amount(value: str) -> int | None:
    text = value.strip()
    return int(text.replace(".", "").replace(",", "")) if _AMOUNT.fullmatch(text) else None


def _components(rows: Sequence[ComponentDraft],
                problems: dict[str, str]) -> tuple[RequiredComponent, ...]:
    ordered: list[tuple[int, int, RequiredComponent]] = []
    seen: set[str] = set()
    for index, row in enumerate(rows):
        if row.blank:
            continue
        key = f"components.{index}"
        code = _code(row.code, _COMPONENT_CODE, problems, f"{key}.code", "Mã giấy tờ chỉ gồm "
                     "chữ in hoa không dấu, số và gạch dưới (ví dụ CCCD).")
        if code and code in seen:
            problems[f"{key}.code"] = f"Mã giấy tờ «{code}» bị trùng trong thủ tục."
        seen.add(code)
        name = _text(row.name, f"{key}.name", "tên giấy tờ", problems, max_length=500)
        doc_type = row.document_type.strip()
        if not _DOCUMENT_TYPE.fullmatch(doc_type):
            problems[f"{key}.document_type"] = ("Loại giấy tờ chỉ gồm chữ thường không dấu, số "
                                                "và gạch dưới (ví dụ can_cuoc_cong_dan).")
        order = _whole_number(row.order) if row.order.strip() else index + 1
        if order is None:
            problems[f"{key}.order"] = "Thứ tự phải là số nguyên không âm."
            order = index + 1
        ordered.append((order, index, RequiredComponent(
            code=code, name=name, document_type=doc_type, mandatory=row.mandatory)))
    return tuple(component for *_, component in sorted(ordered, key=lambda t: t[:2]))


def _procedure(tx: RecordsSession, draft: ProcedureDraft, code: str) -> Procedure:
    problems: dict[str, str] = {}
    name = _text(draft.name, "name", "tên thủ tục", problems, max_length=500)
    agency = draft.agency_code.strip()
    if not agency or tx.get_agency(agency) is None:
        problems["agency_code"] = "Vui lòng chọn cơ quan giải quyết thủ tục."
    days = _whole_number(draft.processing_days)
    if days is None or not 1 <= days <= 365:
        problems["processing_days"] = ("Thời hạn giải quyết phải là số nguyên dương (số ngày "
                                       "làm việc, tối đa 365).")
    fee = _amount(draft.fee_vnd) if draft.fee_vnd.strip() else 0
    if fee is None:
        problems["fee_vnd"] = "Lệ phí phải là số tiền nguyên không âm, tính bằng đồng."
    result_type = _text(draft.result_type, "result_type", "loại kết quả", problems,
                        max_length=200, required=False)
    components = _components(draft.components, problems)
    _check(problems)
    return Procedure(code=code, name=name, agency_code=agency, processing_days=days or 0,
                     fee_vnd=fee or 0, result_type=result_type, components=components)


def _procedure_detail(procedure: Procedure) -> dict[str, JsonValue]:
    return {"name": procedure.name, "agency": procedure.agency_code,
            "processing_days": procedure.processing_days, "fee_vnd": procedure.fee_vnd,
            "components": ",".join(c.code for c in procedure.components)}


def list_procedures(deps: AdminDeps, who: Principal) -> list[Procedure]:
    authorize(who, Action.ADMINISTER)
    with deps.store.session(readonly=True) as tx:
        return tx.list_procedures()


def get_procedure(deps: AdminDeps, who: Principal, code: str) -> Procedure:
    authorize(who, Action.ADMINISTER)
    with deps.store.session(readonly=True) as tx:
        found = tx.get_procedure(code)
    if found is None:
        raise NotFound("procedure_not_found", "Không có thủ tục hành chính này.")
    return found


def create_procedure(deps: AdminDeps, who: Principal, draft: ProcedureDraft) -> Procedure:
    authorize(who, Action.ADMINISTER)
    problems: dict[str, str] = {}
    code = _code(draft.code, _PROCEDURE_CODE, problems, "code", "Mã thủ tục chỉ gồm chữ, số, "
                 "dấu chấm và gạch ngang (ví dụ 1.001193.000.00.00.H40).")
    with deps.store.session() as tx:
        try:
            procedure = _procedure(tx, draft, code)
        except InvalidFields as exc:
            raise InvalidFields({**problems, **exc.fields}) from None
        _check(problems)
        if tx.get_procedure(code) is not None:
            raise Conflict("duplicate_procedure", f"Mã thủ tục «{code}» đã tồn tại.",
                           field="code")
        tx.add_procedure(procedure)
        _audit(tx, deps, who, "procedure.create", "procedure", code,
               _procedure_detail(procedure))
    return procedure


def update_procedure(deps: AdminDeps, who: Principal, code: str,
                     draft: ProcedureDraft) -> Procedure:
    """Change a procedure; its code stays, since dossiers carry it. Dossiers already
    received keep the due date they were given."""
    authorize(who, Action.ADMINISTER)
    with deps.store.session() as tx:
        if tx.get_procedure(code) is None:
            raise NotFound("procedure_not_found", "Không có thủ tục hành chính này.")
        procedure = _procedure(tx, draft, code)
        tx.replace_procedure(procedure)
        _audit(tx, deps, who, "procedure.update", "procedure", code,
               _procedure_detail(procedure))
    return procedure


# -- accounts ---------------------------------------------------------------------------------
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
    name = _text(draft.display_name, "display_name", "họ tên hoặc tên hiển thị", problems,
                 max_length=200)
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


def get_account(deps: AdminDeps, who: Principal, username: str) -> User:
    authorize(who, Action.ADMINISTER)
    with deps.store.session(readonly=True) as tx:
        user = tx.get_user(username)
    if user is None:
        raise NotFound("user_not_found", "Không có tài khoản này.")
    return user


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
        _check(problems)
        if tx.get_user(username) is not None:
            raise Conflict("duplicate_user", f"Tên đăng nhập «{username}» đã tồn tại.",
                           field="username")
        user = replace(user, password_hash=deps.hasher.hash(draft.password))
        tx.add_user(user)
        _audit(tx, deps, who, "user.create", "user", username,
               {"roles": _roles_text(user.roles), "agency": user.agency_code,
                "branch": user.branch_code})
    return user


def _existing(tx: RecordsSession, username: str) -> User:
    user = tx.get_user(username)
    if user is None:
        raise NotFound("user_not_found", "Không có tài khoản này.")
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
        _check(problems)
        user = replace(before, display_name=wanted.display_name, roles=wanted.roles,
                       agency_code=wanted.agency_code, branch_code=wanted.branch_code,
                       owner_id=wanted.owner_id)
        tx.update_user(user)
        _audit(tx, deps, who, "user.update", "user", username,
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
        _audit(tx, deps, who, "user.reactivate" if active else "user.deactivate", "user",
               username)
    return user


def reset_password(deps: AdminDeps, who: Principal, username: str, password: str) -> User:
    """Set a new password, lift a lockout and end the user's sessions."""
    authorize(who, Action.ADMINISTER)
    problems: dict[str, str] = {}
    _password(password, problems)
    _check(problems)
    with deps.store.session() as tx:
        user = replace(_existing(tx, username), password_hash=deps.hasher.hash(password),
                       failed_logins=0, locked_until=None)
        tx.update_user(user)
        tx.revoke_tokens_of(username)
        _audit(tx, deps, who, "user.password_reset", "user", username)
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
        _audit(tx, deps, who, "user.totp_enrol", "user", username)
    return user


def remove_totp(deps: AdminDeps, who: Principal, username: str) -> User:
    """Remove the second factor (a lost phone): the next login asks for the password only."""
    authorize(who, Action.ADMINISTER)
    with deps.store.session() as tx:
        user = replace(_existing(tx, username), totp_secret=None)
        tx.update_user(user)
        _audit(tx, deps, who, "user.totp_remove", "user", username)
    return user


# -- public holidays --------------------------------------------------------------------------
def list_holidays(deps: AdminDeps, who: Principal, year: int) -> list[Holiday]:
    authorize(who, Action.ADMINISTER)
    with deps.store.session(readonly=True) as tx:
        return tx.list_holidays(year)


def _day(value: str, field: str, problems: dict[str, str]) -> date | None:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        problems[field] = "Ngày không hợp lệ (định dạng ngày/tháng/năm)."
        return None


def add_holiday(deps: AdminDeps, who: Principal, *, day: str, name: str,
                working: bool) -> Holiday:
    """Add a day off, or a weekend day worked instead of a day off (ngày làm bù). Due dates
    already given are not moved [Labour Code 2019 Art. 112; the annual holiday notice]."""
    authorize(who, Action.ADMINISTER)
    problems: dict[str, str] = {}
    when = _day(day, "day", problems)
    text = _text(name, "name", "tên ngày nghỉ", problems, max_length=200)
    if when is not None and working and when.weekday() < 5:
        problems["day"] = "Ngày làm bù phải là thứ Bảy hoặc Chủ nhật."
    if problems or when is None:
        raise InvalidFields(problems)
    holiday = Holiday(day=when, name=text, working=working)
    with deps.store.session() as tx:
        if any(h.day == when for h in tx.list_holidays(when.year)):
            raise Conflict("duplicate_holiday", f"Ngày {when:%d/%m/%Y} đã có trong danh sách.",
                           field="day")
        tx.set_holiday(when, text, working=working)
        _audit(tx, deps, who, "holiday.add", "holiday", when.isoformat(),
               {"name": text, "working": working})
    return holiday


def remove_holiday(deps: AdminDeps, who: Principal, day: date) -> None:
    authorize(who, Action.ADMINISTER)
    with deps.store.session() as tx:
        if not tx.delete_holiday(day):
            raise NotFound("holiday_not_found", "Không có ngày này trong danh sách.")
        _audit(tx, deps, who, "holiday.remove", "holiday", day.isoformat())


# -- certificates and seal authorisations -----------------------------------------------------
def list_certificates(deps: AdminDeps, who: Principal) -> list[CertificateRecord]:
    authorize(who, Action.ADMINISTER)
    with deps.store.session(readonly=True) as tx:
        return tx.certificates()


def list_authorisations(deps: AdminDeps, who: Principal) -> list[SealAuthorisation]:
    authorize(who, Action.ADMINISTER)
    with deps.store.session(readonly=True) as tx:
        return tx.authorisations()


@dataclass(frozen=True, kw_only=True, slots=True)
class AuthorisationDraft:
    certificate_id: str = ""
    custodian_username: str = ""
    valid_from: str = ""  # a date, Vietnam time: from the start of that day
    valid_to: str = ""  # a date, Vietnam time: to the end of that day
    reference: str = ""
    handover_reference: str = ""


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=VN_TZ)


def grant_authorisation(deps: AdminDeps, who: Principal,
                        draft: AuthorisationDraft) -> SealAuthorisation:
    """Authorise a seal custodian to apply an organisational certificate, under the written
    authorisation and the handover minutes of the second seal (DOMAIN.md)."""
    authorize(who, Action.ADMINISTER)
    problems: dict[str, str] = {}
    certificate_id = draft.certificate_id.strip()
    if not certificate_id.isdigit():
        problems["certificate_id"] = "Vui lòng chọn chứng thư số tổ chức."
    if not draft.custodian_username.strip():
        problems["custodian_username"] = "Vui lòng chọn văn thư được giao giữ con dấu."
    start = _day(draft.valid_from, "valid_from", problems)
    end = _day(draft.valid_to, "valid_to", problems)
    if start and end and end < start:
        problems["valid_to"] = "Ngày hết hiệu lực phải từ ngày bắt đầu trở đi."
    reference = _text(draft.reference, "reference", "số, ngày văn bản giao quyền", problems,
                      max_length=300)
    handover = _text(draft.handover_reference, "handover_reference",
                     "số, ngày biên bản bàn giao", problems, max_length=300)
    if problems or start is None or end is None:
        raise InvalidFields(problems)
    return grant_seal_authorisation(
        certificate_deps(deps), who, certificate_id=int(certificate_id),
        custodian_username=draft.custodian_username.strip(), valid_from=_start_of(start),
        valid_to=_start_of(end + timedelta(days=1)), reference=reference,
        handover_reference=handover)

