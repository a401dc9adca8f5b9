"""The engine that applies ``records.workflow``'s tables to a dossier.

Pure: it takes the dossier, the request, the actor and the time, and returns the changed
dossier and its history entry, or raises without changing anything.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from records.authz import Action, Principal, authorize
from records.calendar import WorkingCalendar
from records.errors import Forbidden, InvalidInput, TransitionRefused
from records.model import Dossier, DossierStatus, HistoryEntry, Procedure, Role
from records.workflow import STATES, Effect, Guard, Target, TransitionSpec, transition_named

__all__ = [
    "Policy",
    "TransitionOutcome",
    "TransitionRequest",
    "apply_transition",
    "finished_late",
    "is_overdue",
    "open_dossier",
    "resolve_spec",
]


@dataclass(frozen=True, kw_only=True, slots=True)
class Policy:
    """The configurable rules the engine applies."""

    calendar: WorkingCalendar
    # A supplement may be requested at most within 3 working days of receipt [Decree 61/2018
    # Art. 19(2)(b)].
    supplement_window_days: int = 3


@dataclass(frozen=True, kw_only=True, slots=True)
class TransitionRequest:
    name: str
    comment: str = ""
    handler: str | None = None
    signer: str | None = None
    new_due_at: datetime | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class TransitionOutcome:
    dossier: Dossier
    entry: HistoryEntry


def resolve_spec(name: str) -> TransitionSpec:
    spec = transition_named(name)
    if spec is None:
        raise InvalidInput("unknown_transition", f"Thao tác «{name}» không tồn tại.",
                           field="transition")
    return spec


def _refuse(code: str, message: str) -> TransitionRefused:
    return TransitionRefused(code, message)


def _check_guard(guard: Guard, dossier: Dossier, request: TransitionRequest,
                 now: datetime, policy: Policy) -> None:
    cal = policy.calendar
    if guard is Guard.SUPPLEMENT_WINDOW:
        # Counted from the last (re)start of the clock: papers supplied after a request are a
        # new receipt, and the time to process starts again from them [Decree 61/2018
        # Art. 19(2)].
        start = dossier.clock_started_at or dossier.received_at or now
        used = cal.working_days_between(cal.local_date(start), cal.local_date(now))
        if used > policy.supplement_window_days:
            raise _refuse(
                "supplement_window_passed",
                f"Đã quá {policy.supplement_window_days} ngày làm việc kể từ khi tiếp nhận: "
                "không còn được yêu cầu bổ sung hồ sơ.",
            )
    elif guard is Guard.EXTENSION_ALLOWED:
        if dossier.extended_at is not None:
            raise _refuse("already_extended", "Hồ sơ đã được gia hạn một lần, không thể gia hạn"
                          " thêm.")
        if dossier.due_at is None:
            raise _refuse("no_due_date", "Hồ sơ chưa có ngày hẹn trả để gia hạn.")
        # The extension must be made at least one day before the due date.
        if cal.local_date(now) >= cal.local_date(dossier.due_at):
            raise _refuse("extension_too_late", "Chỉ được gia hạn chậm nhất 01 ngày trước ngày"
                          " hẹn trả kết quả.")
        if request.new_due_at is None or request.new_due_at <= dossier.due_at:
            raise InvalidInput("invalid_new_due_date", "Ngày hẹn trả mới phải sau ngày hẹn trả"
                               " hiện tại.", field="new_due_at")


def _previous_status(history: Sequence[HistoryEntry]) -> DossierStatus:
    for entry in reversed(history):
        if entry.to_status is DossierStatus.WITHDRAWAL_REQUESTED and entry.from_status:
            return entry.from_status
    raise _refuse("no_previous_state", "Không xác định được trạng thái trước khi xin rút.")


def _apply_effect(effect: Effect, dossier: Dossier, request: TransitionRequest,
                  actor: Principal, now: datetime, procedure: Procedure,
                  policy: Policy) -> Dossier:
    if effect is Effect.START_CLOCK:
        return replace(dossier, received_at=now, clock_started_at=now,
                       due_at=policy.calendar.due_at(now, procedure.processing_days))
    if effect is Effect.RESTART_CLOCK:
        return replace(dossier, clock_started_at=now,
                       due_at=policy.calendar.due_at(now, procedure.processing_days))
    if effect is Effect.ASSIGN_HANDLER:
        handler = request.handler or (actor.username if actor.has(Role.HANDLER) else None)
        if handler is None:
            raise InvalidInput("handler_required", "Vui lòng chọn chuyên viên xử lý.",
                               field="handler")
        return replace(dossier, handler=handler)
    if effect is Effect.ASSIGN_SIGNER:
        return replace(dossier, signer=request.signer) if request.signer else dossier
    if effect is Effect.EXTEND:
        return replace(dossier, due_at=request.new_due_at, extended_at=now)
    if effect is Effect.FINISH:
        return replace(dossier, finished_at=now)
    raise AssertionError(f"unhandled effect {effect}")  # pragma: no cover


def apply_transition(
    dossier: Dossier,
    request: TransitionRequest,
    *,
    actor: Principal,
    now: datetime,
    procedure: Procedure,
    policy: Policy,
    history: Sequence[HistoryEntry] = (),
) -> TransitionOutcome:
    """Move ``dossier`` by ``request``; raise a ``DomainError`` and change nothing if refused."""
    authorize(actor, Action.VIEW, dossier)  # an invisible dossier is missing, whatever asked
    spec = resolve_spec(request.name)
    authorize(actor, Action.TRANSITION, dossier, transition=spec)
    if dossier.status not in spec.sources:
        raise _refuse(
            "transition_not_allowed",
            f"Không thể thực hiện «{spec.label}» khi hồ sơ đang ở trạng thái "
            f"«{STATES[dossier.status].staff_label}».",
        )
    comment = request.comment.strip()
    if spec.comment_required and not comment:
        raise InvalidInput("comment_required", f"Vui lòng nhập lý do / nội dung cho thao tác "
                           f"«{spec.label}».", field="comment")
    for guard in spec.guards:
        _check_guard(guard, dossier, request, now, policy)
    changed = dossier
    for effect in spec.effects:
        changed = _apply_effect(effect, changed, request, actor, now, procedure, policy)
    if spec.target is None:
        target = dossier.status
    elif spec.target is Target.PREVIOUS:
        target = _previous_status(history)
    else:
        target = spec.target
    changed = replace(changed, status=target, version=dossier.version + 1)
    entry = HistoryEntry(dossier_id=dossier.id, at=now, actor=actor.username, action=spec.name,
                         from_status=dossier.status, to_status=target, comment=comment)
    return TransitionOutcome(dossier=changed, entry=entry)


def open_dossier(
    draft: Dossier,
    name: str,
    *,
    actor: Principal,
    now: datetime,
    procedure: Procedure,
    policy: Policy,
) -> TransitionOutcome:
    """Create ``draft`` through the creating transition ``name`` (``submit`` online, or
    ``receive_at_desk`` at the counter); authorisation of the creation itself is the
    caller's (``Action.CREATE``)."""
    spec = resolve_spec(name)
    if None not in spec.sources or not isinstance(spec.target, DossierStatus):
        raise InvalidInput("not_a_creation", f"«{spec.label}» không tạo hồ sơ mới.")
    if not any(role in spec.roles for role in actor.roles):
        raise Forbidden("forbidden", "Bạn không có quyền thực hiện thao tác này.")
    changed = draft
    for effect in spec.effects:
        changed = _apply_effect(effect, changed, TransitionRequest(name=name), actor, now,
                                procedure, policy)
    changed = replace(changed, status=spec.target, version=1)
    entry = HistoryEntry(dossier_id=draft.id, at=now, actor=actor.username, action=spec.name,
                         from_status=None, to_status=spec.target)
    return TransitionOutcome(dossier=changed, entry=entry)


def is_overdue(dossier: Dossier, now: datetime) -> bool:
    """Overdue is derived, never stored: the clock runs and the due time has passed."""
    if dossier.due_at is None or dossier.finished_at is not None:
        return False
    return STATES[dossier.status].clock_running and now > dossier.due_at


def finished_late(dossier: Dossier) -> bool:
    """Whether a finished dossier's result came after its (possibly extended) due time."""
    return (dossier.finished_at is not None and dossier.due_at is not None
            and dossier.finished_at > dossier.due_at)
