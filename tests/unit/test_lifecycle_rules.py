"""The lifecycle engine's guards and effects: withdrawal, creation, the supplement window,
the clock, the one extension and the derived deadline flags.

The dossier is received on Thursday 2026-11-19 at 10:00 Vietnam time; its procedure takes 5
working days, so it is due Thursday 2026-11-26 at 17:00 Vietnam time (10:00 UTC).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from records.authz import Principal
from records.calendar import WorkingCalendar
from records.errors import Forbidden, InvalidInput, TransitionRefused
from records.lifecycle import (
    Policy,
    TransitionOutcome,
    TransitionRequest,
    apply_transition,
    finished_late,
    is_overdue,
    open_dossier,
)
from records.model import Dossier, DossierStatus, HistoryEntry, Procedure, Role

pytestmark = pytest.mark.unit

S = DossierStatus
VN = ZoneInfo("Asia/Ho_Chi_Minh")
AGENCY = "000.00.15.H40"
BRANCH = "000.00.15.H40-MC01"
APPLICANT = "001203004567"
NOW = datetime(2026, 11, 19, 10, 0, tzinfo=VN)  # a Thursday
DUE = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)  # 5 working days later, 17:00 Vietnam time
NEW_DUE = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)
POLICY = Policy(calendar=WorkingCalendar(
    holidays=frozenset(date(2026, 2, day) for day in range(16, 21))))
PROCEDURE = Procedure(code="1.001234.000.00.00.H40", name="Cấp giấy phép xây dựng",
                      agency_code=AGENCY, processing_days=5)
COMMENT = "Thiếu bản sao giấy chứng nhận quyền sử dụng đất"


def principal(role: Role, *, username: str | None = None) -> Principal:
    """A user of ``role`` who can see the default dossier."""
    return Principal(
        username=username or f"{role}1",
        roles=frozenset({role}),
        agency_code=AGENCY if role in (Role.HANDLER, Role.SIGNER, Role.SEAL_CUSTODIAN) else None,
        branch_code=BRANCH if role is Role.CLERK else None,
        owner_id=APPLICANT if role is Role.CITIZEN else None,
    )


def dossier(**overrides: Any) -> Dossier:
    fields: dict[str, Any] = {
        "id": 42, "code": f"{AGENCY}-261119-0001", "procedure_code": PROCEDURE.code,
        "agency_code": AGENCY, "branch_code": BRANCH, "applicant_id": APPLICANT,
        "status": S.IN_REVIEW, "created_at": NOW, "created_by": "clerk1",
        "received_at": NOW, "clock_started_at": NOW, "due_at": DUE, "version": 3,
    }
    fields.update(overrides)
    return Dossier(**fields)


def act(d: Dossier, name: str, actor: Principal, *, now: datetime = NOW,
        history: tuple[HistoryEntry, ...] = (), **request: Any) -> TransitionOutcome:
    return apply_transition(d, TransitionRequest(name=name, **request), actor=actor, now=now,
                            procedure=PROCEDURE, policy=POLICY, history=history)


def withdrawal(from_status: DossierStatus, at: datetime) -> HistoryEntry:
    return HistoryEntry(dossier_id=42, at=at, actor="citizen1", action="request_withdrawal",
                        from_status=from_status, to_status=S.WITHDRAWAL_REQUESTED,
                        comment="Tôi không còn nhu cầu")

# --- withdrawal and creation --------------------------------------------------------------


def test_cancel_withdrawal_returns_to_the_state_before_the_latest_request() -> None:
    history = (
        withdrawal(S.SUBMITTED, datetime(2026, 11, 18, 9, 0, tzinfo=VN)),
        HistoryEntry(dossier_id=42, at=datetime(2026, 11, 18, 10, 0, tzinfo=VN),
                     actor="citizen1", action="cancel_withdrawal",
                     from_status=S.WITHDRAWAL_REQUESTED, to_status=S.SUBMITTED),
        withdrawal(S.SUPPLEMENT_REQUESTED, datetime(2026, 11, 23, 9, 0, tzinfo=VN)),
    )
    d = dossier(status=S.WITHDRAWAL_REQUESTED)
    out = act(d, "cancel_withdrawal", principal(Role.CITIZEN), history=history)
    assert out.dossier.status is S.SUPPLEMENT_REQUESTED
    assert (out.entry.from_status, out.entry.to_status) == (
        S.WITHDRAWAL_REQUESTED, S.SUPPLEMENT_REQUESTED)


def test_cancel_withdrawal_without_its_history_is_refused() -> None:
    with pytest.raises(TransitionRefused) as caught:
        act(dossier(status=S.WITHDRAWAL_REQUESTED), "cancel_withdrawal", principal(Role.CLERK))
    assert caught.value.code == "no_previous_state"


def test_receipt_at_the_desk_starts_the_clock_in_working_days() -> None:
    draft = dossier(status=S.SUBMITTED, version=0, received_at=None, clock_started_at=None,
                    due_at=None)
    out = open_dossier(draft, "receive_at_desk", actor=principal(Role.CLERK), now=NOW,
                       procedure=PROCEDURE, policy=POLICY)
    assert out.dossier.status is S.RECEIVED
    assert out.dossier.version == 1
    assert out.dossier.received_at == NOW
    assert out.dossier.clock_started_at == NOW
    assert out.dossier.due_at == datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
    assert out.entry == HistoryEntry(dossier_id=42, at=NOW, actor="clerk1",
                                     action="receive_at_desk", from_status=None,
                                     to_status=S.RECEIVED)


def test_online_submission_does_not_start_the_clock_until_received() -> None:
    draft = dossier(status=S.SUBMITTED, version=0, received_at=None, clock_started_at=None,
                    due_at=None, online=True)
    submitted = open_dossier(draft, "submit", actor=principal(Role.CITIZEN), now=NOW,
                             procedure=PROCEDURE, policy=POLICY).dossier
    assert (submitted.status, submitted.version) == (S.SUBMITTED, 1)
    assert (submitted.received_at, submitted.clock_started_at, submitted.due_at) == (
        None, None, None)
    assert not is_overdue(submitted, datetime(2027, 1, 1, tzinfo=UTC))
    # Received on Monday 2026-11-23 (UTC 02:00 = 09:00 Vietnam): due Monday 2026-11-30.
    monday = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
    received = act(submitted, "receive", principal(Role.CLERK), now=monday).dossier
    assert (received.received_at, received.due_at) == (
        monday, datetime(2026, 11, 30, 10, 0, tzinfo=UTC))


def test_open_dossier_refuses_a_role_the_creation_is_not_for() -> None:
    with pytest.raises(Forbidden) as caught:
        open_dossier(dossier(status=S.SUBMITTED), "submit", actor=principal(Role.CLERK),
                     now=NOW, procedure=PROCEDURE, policy=POLICY)
    assert caught.value.code == "forbidden"
    with pytest.raises(InvalidInput) as not_creation:
        open_dossier(dossier(status=S.SUBMITTED), "receive", actor=principal(Role.CLERK),
                     now=NOW, procedure=PROCEDURE, policy=POLICY)
    assert not_creation.value.code == "not_a_creation"


# --- guards -------------------------------------------------------------------------------


@pytest.mark.parametrize("now", [
    datetime(2026, 11, 20, 16, 0, tzinfo=VN),  # Friday: 1st working day
    datetime(2026, 11, 24, 16, 59, tzinfo=UTC),  # Tuesday 23:59 Vietnam: 3rd working day
])
def test_a_supplement_may_be_requested_within_three_working_days(now: datetime) -> None:
    out = act(dossier(handler="handler1"), "request_supplement", principal(Role.HANDLER),
              now=now, comment=COMMENT)
    assert out.dossier.status is S.SUPPLEMENT_REQUESTED


@pytest.mark.parametrize("now", [
    datetime(2026, 11, 25, 8, 0, tzinfo=VN),  # Wednesday: 4th working day after Thursday
    datetime(2026, 11, 24, 23, 30, tzinfo=UTC),  # still Tuesday in UTC, Wednesday in Vietnam
])
def test_a_supplement_is_refused_on_the_fourth_working_day(now: datetime) -> None:
    with pytest.raises(TransitionRefused) as caught:
        act(dossier(handler="handler1"), "request_supplement", principal(Role.HANDLER),
            now=now, comment=COMMENT)
    assert caught.value.code == "supplement_window_passed"


def test_supplying_the_supplement_restarts_the_clock() -> None:
    d = dossier(status=S.SUPPLEMENT_REQUESTED)
    supplied = datetime(2026, 11, 30, 9, 0, tzinfo=VN)  # Monday
    out = act(d, "supply_supplement", principal(Role.CITIZEN), now=supplied)
    assert out.dossier.status is S.IN_REVIEW
    assert out.dossier.clock_started_at == supplied
    assert out.dossier.received_at == NOW
    assert out.dossier.due_at == datetime(2026, 12, 7, 10, 0, tzinfo=UTC)


def extend(d: Dossier, now: datetime, new_due_at: datetime | None = NEW_DUE
           ) -> TransitionOutcome:
    return act(d, "extend", principal(Role.HANDLER), now=now, comment="Thư xin lỗi mẫu 04",
               new_due_at=new_due_at)


def test_an_extension_the_day_before_the_due_date_sets_the_new_date_once() -> None:
    eve = datetime(2026, 11, 25, 16, 0, tzinfo=VN)
    out = extend(dossier(handler="handler1"), eve)
    assert (out.dossier.status, out.dossier.due_at, out.dossier.extended_at) == (
        S.IN_REVIEW, NEW_DUE, eve)
    assert (out.entry.from_status, out.entry.to_status) == (S.IN_REVIEW, S.IN_REVIEW)
    with pytest.raises(TransitionRefused) as caught:
        extend(out.dossier, eve, NEW_DUE + timedelta(days=7))
    assert caught.value.code == "already_extended"


@pytest.mark.parametrize("now", [
    datetime(2026, 11, 26, 8, 0, tzinfo=VN),  # the due date itself
    datetime(2026, 11, 25, 23, 30, tzinfo=UTC),  # 06:30 on the due date in Vietnam
    datetime(2026, 11, 27, 8, 0, tzinfo=VN),  # after it
])
def test_an_extension_on_or_after_the_due_date_is_too_late(now: datetime) -> None:
    with pytest.raises(TransitionRefused) as caught:
        extend(dossier(handler="handler1"), now)
    assert caught.value.code == "extension_too_late"


@pytest.mark.parametrize("new_due_at", [None, DUE, DUE - timedelta(days=1)])
def test_an_extension_must_move_the_due_date_later(new_due_at: datetime | None) -> None:
    with pytest.raises(InvalidInput) as caught:
        extend(dossier(handler="handler1"), NOW, new_due_at)
    assert (caught.value.code, caught.value.field) == ("invalid_new_due_date", "new_due_at")


def test_an_extension_needs_a_due_date() -> None:
    with pytest.raises(TransitionRefused) as caught:
        extend(dossier(handler="handler1", due_at=None), NOW)
    assert caught.value.code == "no_due_date"


def test_assigning_a_handler() -> None:
    d = dossier(status=S.DIGITISED)
    with pytest.raises(InvalidInput) as caught:
        act(d, "assign_handler", principal(Role.CLERK))
    assert (caught.value.code, caught.value.field) == ("handler_required", "handler")
    assert act(d, "assign_handler", principal(Role.CLERK), handler="hà.nv").dossier.handler \
        == "hà.nv"
    assert act(d, "assign_handler", principal(Role.HANDLER)).dossier.handler == "handler1"


def test_submitting_for_approval_assigns_the_named_signer_only() -> None:
    d = dossier(handler="handler1")
    assert act(d, "submit_for_approval", principal(Role.HANDLER), signer="ld.tran").dossier \
        .signer == "ld.tran"
    assert act(d, "submit_for_approval", principal(Role.HANDLER)).dossier.signer is None


# --- deadlines ----------------------------------------------------------------------------


@pytest.mark.parametrize(("status", "now", "overdue"), [
    (S.IN_REVIEW, DUE - timedelta(seconds=1), False),
    (S.IN_REVIEW, DUE, False),
    (S.IN_REVIEW, DUE + timedelta(seconds=1), True),
    (S.FEE_REQUESTED, datetime(2026, 11, 27, 8, 0, tzinfo=VN), True),
    (S.SIGNED, datetime(2026, 11, 27, 8, 0, tzinfo=VN), True),
    (S.SUPPLEMENT_REQUESTED, datetime(2026, 12, 15, 8, 0, tzinfo=VN), False),
])
def test_overdue_while_the_clock_runs_past_the_due_time(
    status: DossierStatus, now: datetime, overdue: bool
) -> None:
    assert is_overdue(dossier(status=status), now) is overdue


def test_a_finished_dossier_is_never_overdue_but_may_have_finished_late() -> None:
    late = datetime(2026, 11, 27, 9, 0, tzinfo=VN)
    done = act(dossier(status=S.SEALED), "publish_result", principal(Role.SEAL_CUSTODIAN),
               now=late).dossier
    assert done.finished_at == late
    assert is_overdue(done, datetime(2026, 12, 31, tzinfo=UTC)) is False
    assert finished_late(done) is True
    on_time = datetime(2026, 11, 26, 16, 59, tzinfo=VN)
    assert finished_late(dossier(finished_at=on_time)) is False
    assert finished_late(dossier(finished_at=DUE)) is False  # at 17:00 sharp is in time
    assert finished_late(dossier()) is False
    assert finished_late(dossier(due_at=None, finished_at=late)) is False
