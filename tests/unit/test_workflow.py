"""The lifecycle engine against the workflow table: every transition, every role, every state.

The matrices are built from ``TRANSITIONS`` itself, so a transition added to the table is
tested without touching this file. The dossier is received on Thursday 2026-11-19 at 10:00
Vietnam time; its procedure takes 5 working days, so it is due Thursday 2026-11-26 at 17:00
Vietnam time (10:00 UTC).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from records.authz import Principal, dossier_not_found
from records.calendar import WorkingCalendar
from records.errors import DomainError, Forbidden, InvalidInput, NotFound, TransitionRefused
from records.lifecycle import (
    Policy,
    TransitionOutcome,
    TransitionRequest,
    apply_transition,
)
from records.model import Dossier, DossierStatus, HistoryEntry, Procedure, Role
from records.workflow import (
    OPEN_STATES,
    STATES,
    TRANSITIONS,
    Effect,
    LocalRole,
    Target,
    TransitionSpec,
    transition_named,
)

pytestmark = pytest.mark.unit

S = DossierStatus
VN = ZoneInfo("Asia/Ho_Chi_Minh")
AGENCY = "000.00.15.H40"
BRANCH = "000.00.15.H40-MC01"
APPLICANT = "001203004567"
NOW = datetime(2026, 11, 19, 10, 0, tzinfo=VN)  # a Thursday
DUE = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)  # 5 working days later, 17:00 Vietnam time
NEW_DUE = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)
TET_2026 = frozenset(date(2026, 2, day) for day in range(16, 21))
POLICY = Policy(calendar=WorkingCalendar(holidays=TET_2026))
PROCEDURE = Procedure(code="1.001234.000.00.00.H40", name="Cấp giấy phép xây dựng",
                      agency_code=AGENCY, processing_days=5)
COMMENT = "Thiếu bản sao giấy chứng nhận quyền sử dụng đất"
WITHDRAWN_FROM = S.FEE_REQUESTED  # the state the matrix's withdrawal was requested in

USERNAMES = {
    Role.CLERK: "clerk1", Role.HANDLER: "handler1", Role.SIGNER: "signer1",
    Role.SEAL_CUSTODIAN: "seal1", Role.ADMIN: "admin1", Role.CITIZEN: "citizen1",
    Role.AGENCY: "agency1",
}
_AGENCY_ROLES = (Role.HANDLER, Role.SIGNER, Role.SEAL_CUSTODIAN, Role.AGENCY)


def principal(role: Role, *, username: str | None = None, agency: str = AGENCY,
              branch: str = BRANCH, owner: str = APPLICANT) -> Principal:
    """A user of ``role`` placed where the default dossier is visible to that role."""
    return Principal(
        username=username or USERNAMES[role],
        roles=frozenset({role}),
        agency_code=agency if role in _AGENCY_ROLES else None,
        branch_code=branch if role is Role.CLERK else None,
        owner_id=owner if role is Role.CITIZEN else None,
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


def setup_for(spec: TransitionSpec, state: DossierStatus
              ) -> tuple[Dossier, dict[str, Any], tuple[HistoryEntry, ...]]:
    """A dossier in ``state``, a request and a history under which ``spec`` may be applied
    by any holder of its roles (the local role is held by the default user of that role)."""
    before_receipt = state in (S.SUBMITTED, S.INCOMPLETE_AT_INTAKE)
    d = dossier(
        status=state,
        received_at=None if before_receipt else NOW,
        clock_started_at=None if before_receipt else NOW,
        due_at=None if before_receipt else DUE,
        handler="handler1" if spec.local_role is LocalRole.HANDLER else None,
        signer="signer1" if spec.local_role is LocalRole.SIGNER else None,
    )
    request: dict[str, Any] = {"comment": COMMENT}
    if Effect.ASSIGN_HANDLER in spec.effects:
        request["handler"] = "handler1"
    if Effect.ASSIGN_SIGNER in spec.effects:
        request["signer"] = "signer1"
    if Effect.EXTEND in spec.effects:
        request["new_due_at"] = NEW_DUE
    return d, request, (withdrawal(WITHDRAWN_FROM, NOW - timedelta(hours=1)),)


def expected_target(spec: TransitionSpec, state: DossierStatus) -> DossierStatus:
    if spec.target is None:
        return state
    if spec.target is Target.PREVIOUS:
        return WITHDRAWN_FROM
    return spec.target


def real_sources(spec: TransitionSpec) -> list[DossierStatus]:
    return sorted(s for s in spec.sources if s is not None)


MATRIX = [
    pytest.param(spec, state, role, id=f"{spec.name}-{state}-{role}")
    for spec in TRANSITIONS for state in real_sources(spec) for role in Role
]
OUTSIDE_SOURCES = [
    pytest.param(spec, state, id=f"{spec.name}-{state}")
    for spec in TRANSITIONS for state in S if state not in spec.sources
]
COMMENTED = [pytest.param(spec, id=spec.name) for spec in TRANSITIONS
             if spec.comment_required and real_sources(spec)]
LOCAL = [pytest.param(spec, id=spec.name) for spec in TRANSITIONS if spec.local_role]
OUTSIDERS = {
    Role.CLERK: principal(Role.CLERK, username="clerk9", branch="000.00.16.H40-MC02"),
    Role.HANDLER: principal(Role.HANDLER, username="handler9", agency="000.00.16.H40"),
    Role.SIGNER: principal(Role.SIGNER, username="signer9", agency="000.00.16.H40"),
    Role.SEAL_CUSTODIAN: principal(Role.SEAL_CUSTODIAN, username="seal9",
                                   agency="000.00.16.H40"),
    Role.CITIZEN: principal(Role.CITIZEN, username="citizen9", owner="079088001234"),
}
INVISIBLE = [
    pytest.param(spec, role, id=f"{spec.name}-{role}")
    for spec in TRANSITIONS if real_sources(spec) for role in sorted(spec.roles)
]


def test_the_table_is_consistent() -> None:
    names = [spec.name for spec in TRANSITIONS]
    assert len(names) == len(set(names))
    final = {status for status, state in STATES.items() if state.final}
    assert final == {S.REFUSED_AT_INTAKE, S.RETURNED, S.STOPPED, S.REFUSED}
    assert set(STATES) == set(S)
    for spec in TRANSITIONS:
        assert not (spec.sources & final), f"{spec.name} leaves a final state"
    leaving = {s for spec in TRANSITIONS for s in spec.sources if s is not None}
    assert leaving == set(S) - final
    assert all(state.citizen_label and state.staff_label for state in STATES.values())


def spec_named(name: str) -> TransitionSpec:
    spec = transition_named(name)
    assert spec is not None, name
    return spec


def roles_of(name: str) -> frozenset[Role]:
    return spec_named(name).roles


def test_the_table_follows_the_domain_rules() -> None:
    # A citizen withdraws from any open state; only the clerk stops the dossier.
    assert spec_named("request_withdrawal").sources == OPEN_STATES
    assert roles_of("request_withdrawal") == {Role.CITIZEN, Role.CLERK}
    assert roles_of("stop") == {Role.CLERK}
    # The official signs first with a personal certificate; the seal goes second.
    sign, seal = spec_named("sign"), spec_named("seal")
    assert (sign.roles, sign.local_role, sign.sources) == (
        {Role.SIGNER}, LocalRole.SIGNER, {S.PENDING_APPROVAL})
    assert (seal.roles, seal.sources) == ({Role.SEAL_CUSTODIAN}, {S.SIGNED})
    assert roles_of("receive") == roles_of("return_result") == {Role.CLERK}
    # Refusals carry a reason; the extension carries its apology letter.
    for name in ("refuse_intake", "request_completion", "refuse", "extend",
                 "request_supplement", "return_for_revision"):
        assert spec_named(name).comment_required, name


@pytest.mark.parametrize(("spec", "state", "role"), MATRIX)
def test_transition_is_allowed_exactly_for_its_roles(
    spec: TransitionSpec, state: DossierStatus, role: Role
) -> None:
    d, request, history = setup_for(spec, state)
    actor = principal(role)
    if role in spec.roles:
        out = act(d, spec.name, actor, history=history, **request)
        target = expected_target(spec, state)
        assert out.dossier.status is target
        assert out.dossier.version == 4
        assert out.entry == HistoryEntry(dossier_id=42, at=NOW, actor=USERNAMES[role],
                                         action=spec.name, from_status=state,
                                         to_status=target, comment=COMMENT)
        assert out.dossier.finished_at == (NOW if Effect.FINISH in spec.effects else None)
        assert (out.dossier.id, out.dossier.code) == (42, d.code)
        return
    expected: type[DomainError] = NotFound if role is Role.AGENCY else Forbidden
    with pytest.raises(expected) as caught:
        act(d, spec.name, actor, history=history, **request)
    assert caught.value.code == ("dossier_not_found" if role is Role.AGENCY else "forbidden")
    assert (d.status, d.version, d.finished_at) == (state, 3, None)


@pytest.mark.parametrize(("spec", "state"), OUTSIDE_SOURCES)
def test_transition_is_refused_outside_its_source_states(
    spec: TransitionSpec, state: DossierStatus
) -> None:
    actor = principal(sorted(spec.roles)[0])
    d = dossier(status=state, handler="handler1", signer="signer1")
    with pytest.raises(TransitionRefused) as caught:
        act(d, spec.name, actor, comment=COMMENT, handler="handler1", new_due_at=NEW_DUE)
    assert caught.value.code == "transition_not_allowed"
    assert STATES[state].staff_label in caught.value.message
    assert spec.label in caught.value.message


@pytest.mark.parametrize("blank", ["", "  \n\t "])
@pytest.mark.parametrize("spec", COMMENTED)
def test_a_required_comment_must_not_be_blank(spec: TransitionSpec, blank: str) -> None:
    state = real_sources(spec)[0]
    d, request, history = setup_for(spec, state)
    request["comment"] = blank
    with pytest.raises(InvalidInput) as caught:
        act(d, spec.name, principal(sorted(spec.roles)[0]), history=history, **request)
    assert (caught.value.code, caught.value.field) == ("comment_required", "comment")


def test_comments_are_recorded_stripped_and_optional_where_not_required() -> None:
    d = dossier(status=S.RECEIVED)
    out = act(d, "complete_digitisation", principal(Role.CLERK))
    assert out.entry.comment == ""
    out = act(d, "complete_digitisation", principal(Role.CLERK), comment="  Đủ 12 trang \n")
    assert out.entry.comment == "Đủ 12 trang"


def test_an_unknown_transition_is_invalid_input() -> None:
    with pytest.raises(InvalidInput) as caught:
        act(dossier(), "approve_everything", principal(Role.ADMIN))
    assert (caught.value.code, caught.value.field) == ("unknown_transition", "transition")


@pytest.mark.parametrize("spec", LOCAL)
def test_a_local_role_transition_refuses_another_holder_of_the_global_role(
    spec: TransitionSpec,
) -> None:
    state = real_sources(spec)[0]
    d, request, history = setup_for(spec, state)
    role = Role.HANDLER if spec.local_role is LocalRole.HANDLER else Role.SIGNER
    colleague = principal(role, username=f"{role}2")  # same agency, not the one assigned
    with pytest.raises(Forbidden) as caught:
        act(d, spec.name, colleague, history=history, **request)
    assert caught.value.code == "forbidden"


def test_each_role_of_a_principal_is_judged_on_its_own_reach() -> None:
    # A clerk of another branch who is also the applicant sees the dossier as a citizen,
    # but may not act on it as a clerk.
    both = Principal(username="clerk9", roles=frozenset({Role.CLERK, Role.CITIZEN}),
                     branch_code="000.00.16.H40-MC02", owner_id=APPLICANT)
    with pytest.raises(Forbidden):
        act(dossier(status=S.FEE_REQUESTED), "confirm_fee", both)
    out = act(dossier(status=S.SUPPLEMENT_REQUESTED), "supply_supplement", both)
    assert out.dossier.status is S.IN_REVIEW


def test_until_assigned_any_handler_or_signer_of_the_agency_may_act() -> None:
    out = act(dossier(handler=None), "request_fee", principal(Role.HANDLER, username="h2"),
              comment="Lệ phí 100.000 đồng")
    assert out.dossier.status is S.FEE_REQUESTED
    out = act(dossier(status=S.PENDING_APPROVAL, signer=None), "sign",
              principal(Role.SIGNER, username="s2"))
    assert out.dossier.status is S.SIGNED


@pytest.mark.parametrize(("spec", "role"), INVISIBLE)
def test_a_dossier_outside_ones_branch_agency_or_person_is_not_found(
    spec: TransitionSpec, role: Role
) -> None:
    d, request, history = setup_for(spec, real_sources(spec)[0])
    missing = dossier_not_found()
    with pytest.raises(NotFound) as caught:
        act(d, spec.name, OUTSIDERS[role], history=history, **request)
    assert (caught.value.code, caught.value.message) == (missing.code, missing.message)
    assert caught.value.code == "dossier_not_found"
    assert caught.value.http_status == 404
