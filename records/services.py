"""Use cases on dossiers: open, move through the workflow, read, list, and audit.

Each use case runs in one records transaction: it authorises, changes the records, appends
its audit entry, and commits all together, or raises and leaves nothing behind.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from records.audit import AuditEvent, ChainReport, verify_chain
from records.authz import Action, NewDossier, Principal, authorize, dossier_not_found, reach_of
from records.calendar import WorkingCalendar
from records.datastore import on_result_returned
from records.errors import Conflict, InvalidInput, TransitionRefused
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
from records.workflow import STATES

__all__ = [
    "CreateDossier",
    "DossierView",
    "RecordsDeps",
    "create_dossier",
    "get_dossier",
    "list_dossiers",
    "transition_dossier",
    "verify_audit",
]

MAX_NAME = 200


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


def _person(cmd: CreateDossier, owner_id: str) -> Person:
    name = " ".join(cmd.applicant_name.split())
    if not name or len(name) > MAX_NAME:
        raise InvalidInput("invalid_applicant_name", "Vui lòng nhập họ và tên người nộp hồ sơ "
                           f"(tối đa {MAX_NAME} ký tự).", field="applicant_name")
    kind = PersonKind.CITIZEN if len(owner_id) == 12 else PersonKind.ORGANISATION
    return Person(owner_id=owner_id, name=name, kind=kind, phone=cmd.phone, email=cmd.email,
                  address=cmd.address)


def create_dossier(deps: RecordsDeps, who: Principal, cmd: CreateDossier) -> DossierView:
    """Open a dossier: at the desk (``received``, clock started) or online (``submitted``)."""
    owner_id = validate_owner_id(cmd.applicant_id)
    person = _person(cmd, owner_id)
    now = deps.clock.now()
    with deps.store.session() as tx:
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
    documents = tx.documents_of(dossier.id)
    reused = sum(d.reuse_status is not ReuseStatus.NEW for d in documents)
    return DossierView(dossier=dossier, procedure=procedure, applicant=applicant,
                       history=tuple(tx.history(dossier.id)), overdue=is_overdue(dossier, now),
                       finished_late=finished_late(dossier), staff_label=state.staff_label,
                       citizen_label=state.citizen_label, national_code=state.national_code,
                       papers_scanned=len(documents) - reused, papers_reused=reused)


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
    if not 1 <= limit <= 500 or offset < 0:
        raise InvalidInput("invalid_page", "Tham số phân trang không hợp lệ.", field="limit")
    now = deps.clock.now()
    with deps.store.session(readonly=True) as tx:
        found = tx.list_dossiers(DossierQuery(scope=reach_of(who), statuses=statuses,
                                              procedure_code=procedure_code,
                                              overdue_at=now if overdue_only else None,
                                              limit=limit, offset=offset))
    return [(d, is_overdue(d, now)) for d in found]


def verify_audit(deps: RecordsDeps, who: Principal) -> ChainReport:
    authorize(who, Action.VERIFY_AUDIT)
    with deps.store.session(readonly=True) as tx:
        return verify_chain(tx.audit_entries(), key=deps.audit_key, head=tx.audit_head(),
                            hash_exists=tx.audit_hash_exists)
