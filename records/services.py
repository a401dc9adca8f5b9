"""Use cases on dossiers: open, move through the workflow, read, list, and audit.

Each use case runs in one records transaction: it authorises, changes the records, appends
its audit entry, and commits all together, or raises and leaves nothing behind.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import datetime

from records.audit import AuditEvent, ChainReport, verify_chain
from records.authz import Action, NewDossier, Principal, authorize, dossier_not_found, reach_of
from records.calendar import WorkingCalendar
from records.datastore import on_result_returned
from records.errors import Conflict, DomainError, Forbidden, InvalidInput, TransitionRefused
from records.identifiers import DossierCodeFormat, validate_owner_id
from records.lifecycle import (
    Policy,
    TransitionOutcome,
    TransitionRequest,
    apply_transition,
    finished_late,
    is_overdue,
    open_dossier,
    resolve_spec,
)
from records.model import (
    Branch,
    Document,
    Dossier,
    DossierStatus,
    HistoryEntry,
    Person,
    PersonKind,
    Procedure,
    ReuseStatus,
    Role,
)
from records.ports import Clock
from records.repository import DossierQuery, RecordsSession, RecordsStore
from records.workflow import STATES, TRANSITIONS, Permission, TransitionSpec

__all__ = [
    "AllowedActions",
    "CreateDossier",
    "Desk",
    "DossierRow",
    "DossierView",
    "Receipt",
    "RecordsDeps",
    "allowed_actions",
    "create_dossier",
    "get_dossier",
    "intake_desk",
    "list_dossier_rows",
    "list_dossiers",
    "list_procedures",
    "receipt_of",
    "transition_dossier",
    "verify_audit",
]

MAX_NAME = 200
MAX_IDEMPOTENCY_KEY = 100
_PHONE = re.compile(r"\+?[0-9][0-9 .()-]{6,18}[0-9]")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


@dataclass(frozen=True, kw_only=True)
class RecordsDeps:
    """What the use cases need, built once by the composition root."""

    store: RecordsStore
    clock: Clock
    audit_key: bytes
    code_format: DossierCodeFormat = field(default_factory=DossierCodeFormat)
    supplement_window_days: int = 3


@dataclass(frozen=True, kw_only=True, slots=True)
class CreateDossier:
    procedure_code: str
    applicant_id: str
    applicant_name: str
    branch_code: str | None = None  # defaults to the clerk's desk
    phone: str | None = None
    email: str | None = None
    address: str | None = None
    # A client's key for this request (a form's hidden field, an ``Idempotency-Key``
    # header): the same key from the same user opens one dossier, never two.
    idempotency_key: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class DossierView:
    """A dossier as its reader sees it: with its procedure, history and derived flags."""

    dossier: Dossier
    procedure: Procedure
    applicant: Person
    history: tuple[HistoryEntry, ...]
    overdue: bool
    finished_late: bool
    staff_label: str
    citizen_label: str
    national_code: int | None
    papers_scanned: int = 0
    papers_reused: int = 0  # attached from the data store instead of scanned again
    replayed: bool = False  # create_dossier answered a repeated request with its first dossier


def _policy(tx: RecordsSession, deps: RecordsDeps) -> Policy:
    off, working = tx.holidays()
    return Policy(calendar=WorkingCalendar(holidays=off, working_weekend_days=working),
                  supplement_window_days=deps.supplement_window_days)


def _procedure(tx: RecordsSession, code: str) -> Procedure:
    procedure = tx.get_procedure(code)
    if procedure is None:
        raise InvalidInput("unknown_procedure", f"Không có thủ tục hành chính mã «{code}».",
                           field="procedure_code")
    return procedure


def _record(tx: RecordsSession, deps: RecordsDeps, now: datetime, outcome: TransitionOutcome,
            code: str) -> None:
    tx.add_history(outcome.entry)
    entry = outcome.entry
    tx.append_audit(AuditEvent(
        actor=entry.actor, action=f"dossier.{entry.action}", object_type="dossier",
        object_id=code,
        detail={"from": entry.from_status.value if entry.from_status else None,
                "to": entry.to_status.value, "comment": entry.comment,
                "due_at": outcome.dossier.due_at.isoformat() if outcome.dossier.due_at else None},
    ), at=now, key=deps.audit_key)


def _optional(value: str | None) -> str | None:
    text = " ".join(value.split()) if value else ""
    return text or None


def _person(cmd: CreateDossier, owner_id: str) -> Person:
    name = " ".join(cmd.applicant_name.split())
    if not name or len(name) > MAX_NAME:
        raise InvalidInput("invalid_applicant_name", "Vui lòng nhập họ và tên người nộp hồ sơ "
                           f"(tối đa {MAX_NAME} ký tự).", field="applicant_name")
    phone, email, address = _optional(cmd.phone), _optional(cmd.email), _optional(cmd.address)
    if phone is not None and not _PHONE.fullmatch(phone):
        raise InvalidInput("invalid_phone", "Số điện thoại không hợp lệ (ví dụ 0912345678).",
                           field="phone")
    if email is not None and (len(email) > 200 or not _EMAIL.fullmatch(email)):
        raise InvalidInput("invalid_email", "Địa chỉ thư điện tử không hợp lệ (ví dụ "
                           "ten@example.vn).", field="email")
    if address is not None and len(address) > 500:
        raise InvalidInput("invalid_address", "Địa chỉ dài quá 500 ký tự.", field="address")
    kind = PersonKind.CITIZEN if len(owner_id) == 12 else PersonKind.ORGANISATION
    return Person(owner_id=owner_id, name=name, kind=kind, phone=phone, email=email,
                  address=address)


def _check_key(key: str | None) -> str | None:
    if key is None:
        return None
    if not 1 <= len(key) <= MAX_IDEMPOTENCY_KEY or not key.isascii() or not key.isprintable():
        raise InvalidInput("invalid_idempotency_key", "Khóa chống gửi trùng không hợp lệ "
                           f"(1 đến {MAX_IDEMPOTENCY_KEY} ký tự ASCII).",
                           field="idempotency_key")
    return key


def _replay(tx: RecordsSession, deps: RecordsDeps, who: Principal, cmd: CreateDossier,
            owner_id: str, code: str) -> DossierView:
    """The dossier a repeated request opened the first time, if it asked for the same."""
    dossier = tx.get_dossier(code)
    if dossier is None:  # the key table refers to a dossier code: a broken database
        raise RuntimeError(f"idempotency key refers to missing dossier {code}")
    authorize(who, Action.VIEW, dossier)
    if (dossier.procedure_code, dossier.applicant_id) != (cmd.procedure_code, owner_id):
        raise Conflict("idempotency_key_reused", "Khóa chống gửi trùng này đã được dùng cho "
                       f"hồ sơ khác ({code}).", field="idempotency_key")
    view = _view(tx, dossier, _procedure(tx, dossier.procedure_code), deps.clock.now())
    return replace(view, replayed=True)


def create_dossier(deps: RecordsDeps, who: Principal, cmd: CreateDossier) -> DossierView:
    """Open a dossier: at the desk (``received``, clock started) or online (``submitted``).

    With an idempotency key, a repeated request (a double click, a retry after a lost
    answer) returns the dossier the first one opened, marked ``replayed``.
    """
    owner_id = validate_owner_id(cmd.applicant_id)
    person = _person(cmd, owner_id)
    key = _check_key(cmd.idempotency_key)
    try:
        return _create(deps, who, cmd, owner_id, person, key)
    except DomainError:
        raise
    except Exception:
        # Two requests with one key raced: the loser's insert of the key failed and its
        # transaction rolled back whole; answer with the winner's dossier.
        if key is None:
            raise
        with deps.store.session(readonly=True) as tx:
            code = tx.recall_request(who.username, key)
            if code is None:
                raise
            return _replay(tx, deps, who, cmd, owner_id, code)


def _create(deps: RecordsDeps, who: Principal, cmd: CreateDossier, owner_id: str,
            person: Person, key: str | None) -> DossierView:
    now = deps.clock.now()
    with deps.store.session() as tx:
        if key is not None:
            earlier = tx.recall_request(who.username, key)
            if earlier is not None:
                return _replay(tx, deps, who, cmd, owner_id, earlier)
        procedure = _procedure(tx, cmd.procedure_code)
        branch_code = cmd.branch_code or who.branch_code
        branch = tx.get_branch(branch_code) if branch_code else None
        if branch is None:
            raise InvalidInput("unknown_branch", "Không xác định được bộ phận tiếp nhận hồ sơ.",
                               field="branch_code")
        authorize(who, Action.CREATE, NewDossier(agency_code=procedure.agency_code,
                                                 branch_code=branch.code,
                                                 applicant_id=owner_id))
        at_desk = (who.has(Role.CLERK) and branch.code == who.branch_code) or who.has(Role.ADMIN)
        if not at_desk and who.has(Role.CITIZEN) and who.owner_id != owner_id:
            raise InvalidInput("not_own_dossier", "Công dân chỉ được nộp hồ sơ của chính mình.",
                               field="applicant_id")
        tx.save_person(person)
        policy = _policy(tx, deps)
        day = policy.calendar.local_date(now)
        seq = tx.next_dossier_seq(procedure.agency_code, day)
        code = deps.code_format.render(agency_code=procedure.agency_code, day=day, seq=seq)
        if tx.get_dossier(code) is not None:
            raise Conflict("duplicate_dossier_code", f"Mã hồ sơ «{code}» đã tồn tại.")
        draft = Dossier(id=0, code=code, procedure_code=procedure.code,
                        agency_code=procedure.agency_code, branch_code=branch.code,
                        applicant_id=owner_id, status=DossierStatus.SUBMITTED, created_at=now,
                        created_by=who.username, online=not at_desk)
        outcome = open_dossier(draft, "receive_at_desk" if at_desk else "submit", actor=who,
                               now=now, procedure=procedure, policy=policy)
        stored = tx.add_dossier(outcome.dossier)
        outcome = TransitionOutcome(dossier=stored,
                                    entry=replace(outcome.entry, dossier_id=stored.id))
        _record(tx, deps, now, outcome, code)
        if key is not None:
            tx.remember_request(who.username, key, code, now=now)
        return _view(tx, stored, procedure, now)


def _check_staff(tx: RecordsSession, username: str | None, role: Role, agency: str,
                 field: str) -> None:
    if username is None:
        return
    user = tx.get_user(username)
    if user is None or role not in user.roles or user.agency_code != agency or not user.active:
        label = "chuyên viên xử lý" if role is Role.HANDLER else "người ký"
        raise InvalidInput(f"invalid_{field}", f"«{username}» không phải {label} của cơ quan "
                           "giải quyết hồ sơ này.", field=field)


def transition_dossier(deps: RecordsDeps, who: Principal, code: str,
                       request: TransitionRequest) -> DossierView:
    now = deps.clock.now()
    with deps.store.session() as tx:
        dossier = tx.get_dossier(code)
        if dossier is None:
            raise dossier_not_found()
        procedure = _procedure(tx, dossier.procedure_code)
        outcome = apply_transition(dossier, request, actor=who, now=now, procedure=procedure,
                                   policy=_policy(tx, deps), history=tx.history(dossier.id))
        spec = resolve_spec(request.name)
        if spec.by_signing:
            raise TransitionRefused("use_signing", "Thao tác này chỉ thực hiện được bằng chức "
                                    "năng ký số kết quả.")
        if spec.name == "submit_for_approval" and tx.result_of_dossier(dossier.id) is None:
            raise TransitionRefused("no_draft_result", "Chưa có dự thảo kết quả để trình ký.")
        _check_staff(tx, request.handler, Role.HANDLER, dossier.agency_code, "handler")
        _check_staff(tx, request.signer, Role.SIGNER, dossier.agency_code, "signer")
        if not tx.update_dossier(outcome.dossier, expected_version=dossier.version):
            raise Conflict("stale_dossier", "Hồ sơ vừa được người khác cập nhật, vui lòng tải "
                           "lại và thử lại.")
        _record(tx, deps, now, outcome, code)
        if spec.name == "return_result":
            on_result_returned(tx, dossier.id, now)
        return _view(tx, outcome.dossier, procedure, now)


def _view(tx: RecordsSession, dossier: Dossier, procedure: Procedure,
          now: datetime) -> DossierView:
    state = STATES[dossier.status]
    applicant = tx.get_person(dossier.applicant_id)
    if applicant is None:  # the foreign key makes this a broken database, not a user error
        raise RuntimeError(f"dossier {dossier.code} has no applicant record")
    counts = tx.reuse_counts(dossier.id)
    scanned = counts.get(ReuseStatus.NEW, 0)
    reused = sum(counts.values()) - scanned
    return DossierView(dossier=dossier, procedure=procedure, applicant=applicant,
                       history=tuple(tx.history(dossier.id)), overdue=is_overdue(dossier, now),
                       finished_late=finished_late(dossier), staff_label=state.staff_label,
                       citizen_label=state.citizen_label, national_code=state.national_code,
                       papers_scanned=scanned, papers_reused=reused)


def get_dossier(deps: RecordsDeps, who: Principal, code: str) -> DossierView:
    with deps.store.session(readonly=True) as tx:
        dossier = tx.get_dossier(code)
        if dossier is None:
            raise dossier_not_found()
        authorize(who, Action.VIEW, dossier)
        return _view(tx, dossier, _procedure(tx, dossier.procedure_code), deps.clock.now())


def list_dossiers(deps: RecordsDeps, who: Principal, *,
                  statuses: frozenset[DossierStatus] | None = None,
                  procedure_code: str | None = None, overdue_only: bool = False,
                  limit: int = 50, offset: int = 0) -> list[tuple[Dossier, bool]]:
    """Dossiers ``who`` may see, newest first, each with its overdue flag."""
    return [(row.dossier, row.overdue) for row in list_dossier_rows(
        deps, who, statuses=statuses, procedure_code=procedure_code,
        overdue_only=overdue_only, limit=limit, offset=offset, names=False)]


@dataclass(frozen=True, kw_only=True, slots=True)
class DossierRow:
    """A line of a dossier list: the dossier and what a reader needs to recognise it."""

    dossier: Dossier
    overdue: bool
    procedure_name: str = ""
    applicant_name: str = ""


def list_dossier_rows(deps: RecordsDeps, who: Principal, *,
                      statuses: frozenset[DossierStatus] | None = None,
                      procedure_code: str | None = None, overdue_only: bool = False,
                      limit: int = 50, offset: int = 0, names: bool = True) -> list[DossierRow]:
    """``list_dossiers`` with the procedure's and the applicant's names (with ``names``)."""
    if not 1 <= limit <= 500 or offset < 0:
        raise InvalidInput("invalid_page", "Tham số phân trang không hợp lệ.", field="limit")
    now = deps.clock.now()
    with deps.store.session(readonly=True) as tx:
        found = tx.list_dossiers(DossierQuery(scope=reach_of(who), statuses=statuses,
                                              procedure_code=procedure_code,
                                              overdue_at=now if overdue_only else None,
                                              limit=limit, offset=offset))
        if not names:
            return [DossierRow(dossier=d, overdue=is_overdue(d, now)) for d in found]
        procedures = {code: tx.get_procedure(code) for code in {d.procedure_code for d in found}}
        people = {oid: tx.get_person(oid) for oid in {d.applicant_id for d in found}}
    rows = []
    for d in found:
        procedure, person = procedures.get(d.procedure_code), people.get(d.applicant_id)
        rows.append(DossierRow(dossier=d, overdue=is_overdue(d, now),
                               procedure_name=procedure.name if procedure else d.procedure_code,
                               applicant_name=person.name if person else ""))
    return rows


def list_procedures(deps: RecordsDeps, who: Principal) -> tuple[Procedure, ...]:
    """The procedures the installation knows (the published national list), by name."""
    del who  # public information: any signed-in user may read it
    with deps.store.session(readonly=True) as tx:
        return tuple(sorted(tx.list_procedures(), key=lambda p: p.name))


@dataclass(frozen=True, kw_only=True, slots=True)
class Desk:
    """The counter a clerk receives dossiers at, and the procedures offered there."""

    branch: Branch
    procedures: tuple[Procedure, ...]


def intake_desk(deps: RecordsDeps, who: Principal) -> Desk:
    """What the intake form offers ``who``; refused to anyone without a receiving desk.

    A one-stop centre receives the procedures of every agency it serves, as
    ``create_dossier`` allows; the desk's own agency's procedures come first.
    """
    refused = Forbidden("forbidden", "Chỉ cán bộ một cửa tại bộ phận tiếp nhận mới được "
                        "tiếp nhận hồ sơ.")
    if not (who.has(Role.CLERK) and who.branch_code):
        raise refused
    with deps.store.session(readonly=True) as tx:
        branch = tx.get_branch(who.branch_code)
        if branch is None:
            raise refused
        authorize(who, Action.CREATE, NewDossier(agency_code=branch.agency_code,
                                                 branch_code=branch.code, applicant_id=""))
        procedures = tx.list_procedures()
    ordered = sorted(procedures, key=lambda p: (p.agency_code != branch.agency_code, p.name))
    return Desk(branch=branch, procedures=tuple(ordered))


@dataclass(frozen=True, kw_only=True, slots=True)
class AllowedActions:
    """What ``who`` may do to a dossier now, by the workflow table and ``authorize``.

    Guards (the supplement window, the one extension) are checked when the step is taken;
    steps taken by signing are left to the signing queues.
    """

    transitions: tuple[TransitionSpec, ...]
    edit_documents: bool


def _allowed(who: Principal, action: Action, dossier: Dossier,
             spec: TransitionSpec | None = None) -> bool:
    try:
        authorize(who, action, dossier, transition=spec)
    except DomainError:
        return False
    return True


def allowed_actions(who: Principal, dossier: Dossier) -> AllowedActions:
    steps = tuple(spec for spec in TRANSITIONS
                  if not spec.by_signing and dossier.status in spec.sources
                  and _allowed(who, Action.TRANSITION, dossier, spec))
    editors = STATES[dossier.status].roles_for(Permission.EDIT_DOCUMENTS)
    return AllowedActions(transitions=steps,
                          edit_documents=bool(editors & who.roles)
                          and _allowed(who, Action.EDIT_DOCUMENTS, dossier))


@dataclass(frozen=True, kw_only=True, slots=True)
class Receipt:
    """What the receipt and appointment slip prints [Circular 01/2018 form 01]."""

    view: DossierView
    branch: Branch | None
    agency_name: str
    received_by: str  # the clerk who received the dossier, by name
    documents: tuple[Document, ...]


def receipt_of(deps: RecordsDeps, who: Principal, code: str) -> Receipt:
    with deps.store.session(readonly=True) as tx:
        dossier = tx.get_dossier(code)
        if dossier is None:
            raise dossier_not_found()
        authorize(who, Action.VIEW, dossier)
        view = _view(tx, dossier, _procedure(tx, dossier.procedure_code), deps.clock.now())
        receiver = next((h.actor for h in view.history
                         if h.action in {"receive_at_desk", "receive"}), dossier.created_by)
        user = tx.get_user(receiver)
        agency = tx.get_agency(dossier.agency_code)
        return Receipt(view=view, branch=tx.get_branch(dossier.branch_code),
                       agency_name=agency.name if agency else dossier.agency_code,
                       received_by=user.display_name if user else receiver,
                       documents=tuple(tx.documents_of(dossier.id)))


def verify_audit(deps: RecordsDeps, who: Principal) -> ChainReport:
    authorize(who, Action.VERIFY_AUDIT)
    with deps.store.session(readonly=True) as tx:
        return verify_chain(tx.audit_entries(), key=deps.audit_key, head=tx.audit_head(),
                            hash_exists=tx.audit_hash_exists)
