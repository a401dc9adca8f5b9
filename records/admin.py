"""Administration: what its use cases share, the overview, agencies and their desks, and
public holidays. Procedures, accounts and certificates have modules of their own beside this
one (``records.admin_procedures``, ``records.admin_accounts``, ``records.admin_seals``).

Every use case is for administrators only, runs in one records transaction and leaves an
audit entry, or raises and changes nothing. Input arrives as the text a form sends; every
problem found is reported against its field at once (``InvalidFields``), so a form shows
all of them in one round.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import TypeVar

from records.audit import AuditEvent, JsonValue
from records.authz import Action, Principal, authorize
from records.calendar import VN_TZ
from records.errors import Conflict, InvalidInput, NotFound
from records.model import Agency, Branch
from records.ports import Clock, PasswordHasher
from records.repository import Holiday, RecordsSession, RecordsStore, UserCounts

__all__ = [
    "EXPIRY_WARNING",
    "AdminDeps",
    "AdminOverview",
    "InvalidFields",
    "add_holiday",
    "create_agency",
    "create_branch",
    "list_agencies",
    "list_branches",
    "list_holidays",
    "overview",
    "remove_holiday",
    "rename_agency",
    "rename_branch",
]

EXPIRY_WARNING = timedelta(days=30)


@dataclass(frozen=True, kw_only=True)
class AdminDeps:
    store: RecordsStore
    clock: Clock
    hasher: PasswordHasher
    audit_key: bytes


class InvalidFields(InvalidInput):
    """Several fields are wrong at once: ``fields`` maps each to its message."""

    def __init__(self, fields: Mapping[str, str]) -> None:
        first = next(iter(fields))
        super().__init__("invalid_fields", fields[first], field=first)
        self.fields = dict(fields)


# -- shared by the admin_* use cases: checking a form's fields, auditing --------------------
def check(problems: dict[str, str]) -> None:
    """Raise every problem found so far at once; nothing when there is none."""
    if problems:
        raise InvalidFields(problems)


def audit(tx: RecordsSession, deps: AdminDeps, who: Principal, action: str,
          object_type: str, object_id: str,
          detail: Mapping[str, JsonValue] | None = None) -> None:
    tx.append_audit(AuditEvent(actor=who.username, action=action, object_type=object_type,
                               object_id=object_id, detail=dict(detail or {})),
                    at=deps.clock.now(), key=deps.audit_key)


def text_field(value: str, field: str, label: str, problems: dict[str, str], *,
               max_length: int, required: bool = True) -> str:
    """The text with its runs of spaces collapsed; a problem noted if missing or too long."""
    text = " ".join(value.split())
    if required and not text:
        problems[field] = f"Vui lòng nhập {label}."
    elif len(text) > max_length:
        problems[field] = f"{label[:1].upper()}{label[1:]} dài quá {max_length} ký tự."
    return text


def code_field(value: str, pattern: re.Pattern[str], problems: dict[str, str], field: str,
               message: str) -> str:
    """The code stripped; ``message`` noted when it does not match ``pattern``."""
    code = value.strip()
    if not code:
        problems[field] = "Vui lòng nhập mã."
    elif not pattern.fullmatch(code):
        problems[field] = message
    return code


def day_field(value: str, field: str, problems: dict[str, str]) -> date | None:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        problems[field] = "Ngày không hợp lệ (định dạng ngày/tháng/năm)."
        return None


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
_UNIT_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9.\-]{1,39}")  # e-ID codes: 000.00.15.H40


@dataclass(frozen=True, kw_only=True, slots=True)
class _Unit:
    """What tells an agency from a desk here; their codes and names follow the same rules."""

    kind: str  # the audit entry's object type
    name_label: str
    bad_code: str
    not_found: str  # the NotFound error's code
    not_found_message: str


_AGENCY = _Unit(kind="agency", name_label="tên cơ quan",
                bad_code="Mã định danh cơ quan chỉ gồm chữ, số, dấu chấm và gạch ngang (ví dụ "
                         "000.00.15.H40).",
                not_found="agency_not_found", not_found_message="Không có cơ quan này.")
_BRANCH = _Unit(kind="branch", name_label="tên bộ phận",
                bad_code="Mã bộ phận chỉ gồm chữ, số, dấu chấm và gạch ngang (ví dụ "
                         "MC-HALONG).",
                not_found="branch_not_found",
                not_found_message="Không có bộ phận tiếp nhận này.")

_Named = TypeVar("_Named", Agency, Branch)


def _unit_name(unit: _Unit, name: str, problems: dict[str, str]) -> str:
    return text_field(name, "name", unit.name_label, problems, max_length=300)


def _unit_fields(unit: _Unit, code: str, name: str,
                 problems: dict[str, str]) -> tuple[str, str]:
    return (code_field(code, _UNIT_CODE, problems, "code", unit.bad_code),
            _unit_name(unit, name, problems))


def _rename(deps: AdminDeps, who: Principal, unit: _Unit, code: str, name: str, *,
            find: Callable[[RecordsSession], _Named | None],
            rename: Callable[[RecordsSession, str], bool]) -> _Named:
    authorize(who, Action.ADMINISTER)
    problems: dict[str, str] = {}
    name = _unit_name(unit, name, problems)
    check(problems)
    with deps.store.session() as tx:
        before = find(tx)
        if before is None or not rename(tx, name):
            raise NotFound(unit.not_found, unit.not_found_message)
        audit(tx, deps, who, f"{unit.kind}.rename", unit.kind, code,
              {"from": before.name, "to": name})
    return replace(before, name=name)


def list_agencies(deps: AdminDeps, who: Principal) -> list[Agency]:
    authorize(who, Action.ADMINISTER)
    with deps.store.session(readonly=True) as tx:
        return tx.list_agencies()


def list_branches(deps: AdminDeps, who: Principal) -> list[Branch]:
    authorize(who, Action.ADMINISTER)
    with deps.store.session(readonly=True) as tx:
        return tx.list_branches()


def create_agency(deps: AdminDeps, who: Principal, *, code: str, name: str) -> Agency:
    authorize(who, Action.ADMINISTER)
    problems: dict[str, str] = {}
    code, name = _unit_fields(_AGENCY, code, name, problems)
    check(problems)
    agency = Agency(code=code, name=name)
    with deps.store.session() as tx:
        if tx.get_agency(code) is not None:
            raise Conflict("duplicate_agency", f"Mã cơ quan «{code}» đã tồn tại.", field="code")
        tx.add_agency(agency)
        audit(tx, deps, who, "agency.create", "agency", code, {"name": name})
    return agency


def rename_agency(deps: AdminDeps, who: Principal, code: str, name: str) -> Agency:
    return _rename(deps, who, _AGENCY, code, name, find=lambda tx: tx.get_agency(code),
                   rename=lambda tx, new: tx.rename_agency(code, new))


def create_branch(deps: AdminDeps, who: Principal, *, code: str, name: str,
                  agency_code: str) -> Branch:
    authorize(who, Action.ADMINISTER)
    problems: dict[str, str] = {}
    code, name = _unit_fields(_BRANCH, code, name, problems)
    with deps.store.session() as tx:
        if not agency_code.strip() or tx.get_agency(agency_code.strip()) is None:
            problems["agency_code"] = "Vui lòng chọn cơ quan quản lý bộ phận."
        check(problems)
        if tx.get_branch(code) is not None:
            raise Conflict("duplicate_branch", f"Mã bộ phận «{code}» đã tồn tại.",
                           field="code")
        branch = Branch(code=code, name=name, agency_code=agency_code.strip())
        tx.add_branch(branch)
        audit(tx, deps, who, "branch.create", "branch", code,
              {"name": name, "agency": branch.agency_code})
    return branch


def rename_branch(deps: AdminDeps, who: Principal, code: str, name: str) -> Branch:
    return _rename(deps, who, _BRANCH, code, name, find=lambda tx: tx.get_branch(code),
                   rename=lambda tx, new: tx.rename_branch(code, new))


# -- public holidays --------------------------------------------------------------------------
def list_holidays(deps: AdminDeps, who: Principal, year: int) -> list[Holiday]:
    authorize(who, Action.ADMINISTER)
    with deps.store.session(readonly=True) as tx:
        return tx.list_holidays(year)


def add_holiday(deps: AdminDeps, who: Principal, *, day: str, name: str,
                working: bool) -> Holiday:
    """Add a day off, or a weekend day worked instead of a day off (ngày làm bù). Due dates
    already given are not moved [Labour Code 2019 Art. 112; the annual holiday notice]."""
    authorize(who, Action.ADMINISTER)
    problems: dict[str, str] = {}
    when = day_field(day, "day", problems)
    text = text_field(name, "name", "tên ngày nghỉ", problems, max_length=200)
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
        audit(tx, deps, who, "holiday.add", "holiday", when.isoformat(),
              {"name": text, "working": working})
    return holiday


def remove_holiday(deps: AdminDeps, who: Principal, day: date) -> None:
    authorize(who, Action.ADMINISTER)
    with deps.store.session() as tx:
        if not tx.delete_holiday(day):
            raise NotFound("holiday_not_found", "Không có ngày này trong danh sách.")
        audit(tx, deps, who, "holiday.remove", "holiday", day.isoformat())
