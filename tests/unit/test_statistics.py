"""The statistics use case on a fake store: who may see it, the period it asks the store
for, working days taken against the legal time, rates and totals; and the rating rules that
feed the satisfaction figure."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from records.adapters.clock import ManualClock
from records.audit import AuditEvent
from records.authz import Principal
from records.errors import Conflict, Forbidden, InvalidInput, NotFound, TransitionRefused
from records.model import Branch, Dossier, DossierStatus, Procedure, Rating, Role
from records.ratings import RatingRequest, rate_dossier, rating_of
from records.services import RecordsDeps
from records.statistics import (
    BranchTally,
    ProcessingDay,
    StatisticsRequest,
    StatisticsWindow,
    dossier_statistics,
    percent,
)

pytestmark = pytest.mark.unit

NOW = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
A, B = "A-DESK", "B-DESK"
ADMIN = Principal(username="quantri", roles=frozenset({Role.ADMIN}))
SIGNER = Principal(username="lanhdao", roles=frozenset({Role.SIGNER}), agency_code="X")
CITIZEN = Principal(username="congdan", roles=frozenset({Role.CITIZEN}),
                    owner_id="022190001234")
OTHER = Principal(username="khac", roles=frozenset({Role.CITIZEN}), owner_id="001190009999")
NOVEMBER = StatisticsRequest(date_from=date(2026, 11, 1), date_to=date(2026, 11, 30))


@dataclass(frozen=True)
class Span:
    """``count`` settled dossiers whose clock started on ``start`` and ended on ``end``."""

    branch_code: str
    procedure_code: str
    start: date
    end: date
    count: int


@dataclass
class FakeSession:
    tallies: list[BranchTally] = field(default_factory=list)
    spans: list[Span] = field(default_factory=list)
    holidays_off: frozenset[date] = frozenset()
    windows: list[StatisticsWindow] = field(default_factory=list)
    dossiers: dict[str, Dossier] = field(default_factory=dict)
    ratings: dict[int, Rating] = field(default_factory=dict)
    audit: list[AuditEvent] = field(default_factory=list)

    def list_branches(self) -> list[Branch]:
        return [Branch(code=A, name="Trung tâm", agency_code="X"),
                Branch(code=B, name="Phường", agency_code="Y")]

    def list_procedures(self) -> list[Procedure]:
        return [Procedure(code="LAND", name="Đất đai", agency_code="X", processing_days=20),
                Procedure(code="BIRTH", name="Khai sinh", agency_code="Y", processing_days=1)]

    def holidays(self) -> tuple[frozenset[date], frozenset[date]]:
        return self.holidays_off, frozenset()

    def statistics_tallies(self, window: StatisticsWindow) -> list[BranchTally]:
        self.windows.append(window)
        return [t for t in self.tallies if window.branch_code in (None, t.branch_code)]

    def processing_days(self, window: StatisticsWindow) -> list[ProcessingDay]:
        found: dict[tuple[str, str, date], dict[str, int]] = {}
        for span in self.spans:
            if window.branch_code not in (None, span.branch_code):
                continue
            for day, key in ((span.start, "started"), (span.end, "settled")):
                counts = found.setdefault((span.branch_code, span.procedure_code, day), {})
                counts[key] = counts.get(key, 0) + span.count
        return [ProcessingDay(branch_code=b, procedure_code=p, day=d, **counts)
                for (b, p, d), counts in found.items()]

    def get_dossier(self, code: str) -> Dossier | None:
        return self.dossiers.get(code)

    def get_rating(self, dossier_id: int) -> Rating | None:
        return self.ratings.get(dossier_id)

    def add_rating(self, rating: Rating) -> bool:
        if rating.dossier_id in self.ratings:
            return False
        self.ratings[rating.dossier_id] = rating
        return True

    def append_audit(self, event: AuditEvent, *, at: datetime, key: bytes) -> None:
        self.audit.append(event)


@dataclass
class FakeStore:
    tx: FakeSession

    @contextmanager
    def session(self, *, readonly: bool = False) -> Iterator[Any]:
        before = (dict(self.tx.ratings), list(self.tx.audit))
        try:
            yield self.tx
        except BaseException:
            self.tx.ratings, self.tx.audit = before  # a refusal leaves nothing behind
            raise


def _deps(tx: FakeSession) -> RecordsDeps:
    return RecordsDeps(store=FakeStore(tx), clock=ManualClock(NOW), audit_key=b"k")


def test_only_managers_see_statistics() -> None:
    tx = FakeSession()
    for who in (CITIZEN, Principal(username="tiepnhan", roles=frozenset({Role.CLERK}),
                                   branch_code=A),
                Principal(username="chuyenvien", roles=frozenset({Role.HANDLER}),
                          agency_code="X")):
        with pytest.raises(Forbidden):
            dossier_statistics(_deps(tx), who, NOVEMBER)
    assert tx.windows == []  # refused before the store is asked
    for who in (ADMIN, SIGNER):
        assert dossier_statistics(_deps(tx), who, NOVEMBER).total.received == 0


def test_the_period_is_whole_local_days_and_overdue_is_judged_now() -> None:
    tx = FakeSession()
    dossier_statistics(_deps(tx), ADMIN, NOVEMBER)
    window = tx.windows[0]
    # 1 November 00:00 and 1 December 00:00 in Hà Nội (UTC+7).
    assert (window.start, window.end) == (datetime(2026, 10, 31, 17, tzinfo=UTC),
                                          datetime(2026, 11, 30, 17, tzinfo=UTC))
    assert window.overdue_at == NOW
    assert window.utc_offset == timedelta(hours=7)
    assert DossierStatus.SUPPLEMENT_REQUESTED not in window.running_statuses
    assert window.finished_statuses == {DossierStatus.RESULT_READY, DossierStatus.RETURNED,
                                        DossierStatus.REFUSED}
    dossier_statistics(_deps(tx), ADMIN, StatisticsRequest(date_from=date(2026, 1, 1),
                                                           date_to=date(2026, 1, 31)))
    assert tx.windows[1].overdue_at == datetime(2026, 1, 31, 17, tzinfo=UTC)  # period's end


@pytest.mark.parametrize(("request_", "field"), [
    (StatisticsRequest(date_from=date(2026, 11, 2), date_to=date(2026, 11, 1)), "date_to"),
    (StatisticsRequest(date_from=date(2020, 1, 1), date_to=date(2026, 1, 1)), "date_from"),
    (StatisticsRequest(date_from=date(2026, 11, 1), date_to=date(2026, 11, 2),
                       branch_code="NOWHERE"), "branch_code"),
])
def test_a_wrong_request_names_its_field(request_: StatisticsRequest, field: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        dossier_statistics(_deps(FakeSession()), ADMIN, request_)
    assert refused.value.field == field


def test_working_days_rates_and_totals() -> None:
    holiday = date(2026, 11, 10)
    tx = FakeSession(holidays_off=frozenset({holiday}), tallies=[
        BranchTally(branch_code=A, received=8, received_online=2, finished=3, finished_late=1,
                    open_overdue=2, papers=10, papers_reused=3, ratings=2, score_total=9),
        BranchTally(branch_code=B, received=2, finished=1, ratings=1, score_total=3),
    ], spans=[
        # Mon 2 to Fri 20 November: 15 working days, less the holiday on the 10th.
        Span(branch_code=A, procedure_code="LAND", start=date(2026, 11, 2),
                       end=date(2026, 11, 20), count=2),
        # Friday to Monday: one working day.
        Span(branch_code=A, procedure_code="LAND", start=date(2026, 11, 6),
                       end=date(2026, 11, 9), count=1),
        Span(branch_code=B, procedure_code="BIRTH", start=date(2026, 11, 12),
                       end=date(2026, 11, 12), count=1),
    ])
    report = dossier_statistics(_deps(tx), ADMIN, NOVEMBER)
    a, b = report.rows
    assert (a.branch_code, a.branch_name, b.branch_code) == (A, "Trung tâm", B)
    assert (a.processing_days_total, a.legal_days_total) == (2 * 13 + 1, 60)
    assert (a.average_processing_days, a.average_legal_days) == (9.0, 20.0)
    assert (a.finished_on_time, a.on_time_rate, a.overdue) == (2, 66.7, 3)
    assert (a.online_share, a.reuse_rate, a.average_score) == (25.0, 30.0, 4.5)
    assert (b.average_processing_days, b.average_legal_days, b.online_share) == (0.0, 1.0, 0.0)
    assert b.reuse_rate is None  # no papers: nothing to divide
    total = report.total
    assert (total.branch_name, total.received, total.finished, total.ratings) == (
        "Tổng cộng", 10, 4, 3)
    assert (total.average_processing_days, total.average_legal_days, total.average_score
            ) == (6.8, 15.2, 4.0)
    assert total.on_time_rate == 75.0

    one = dossier_statistics(_deps(tx), ADMIN, StatisticsRequest(
        date_from=date(2026, 11, 1), date_to=date(2026, 11, 30), branch_code=B))
    assert [r.branch_code for r in one.rows] == [B]
    assert one.total.received == 2
    assert one.branch_code == B
    assert len(one.branches) == 2


def test_a_desk_with_nothing_reports_zeros_and_no_rates() -> None:
    report = dossier_statistics(_deps(FakeSession()), ADMIN, NOVEMBER)
    line = report.total
    assert (line.received, line.finished, line.overdue) == (0, 0, 0)
    assert (line.on_time_rate, line.online_share, line.reuse_rate, line.average_score,
            line.average_processing_days) == (None, None, None, None, None)
    assert (percent(1, 3), percent(2, 3), percent(0, 5), percent(3, 0)) == (
        33.3, 66.7, 0.0, None)


# -- ratings ---------------------------------------------------------------------------------


def _dossier(status: DossierStatus, finished: bool = True) -> Dossier:
    return Dossier(id=7, code="D-1", procedure_code="LAND", agency_code="X", branch_code=A,
                   applicant_id=CITIZEN.owner_id or "", status=status, created_at=NOW,
                   created_by="tiepnhan", finished_at=NOW if finished else None)


def test_the_applicant_rates_a_settled_dossier_once() -> None:
    tx = FakeSession(dossiers={"D-1": _dossier(DossierStatus.RETURNED)})
    deps = _deps(tx)
    rating = rate_dossier(deps, CITIZEN, "D-1", RatingRequest(score=5, comment="  Tốt  "))
    assert (rating.score, rating.comment, rating.created_at) == (5, "Tốt", NOW)
    assert rating_of(deps, CITIZEN, "D-1") == rating
    assert [(e.action, e.actor, dict(e.detail)) for e in tx.audit] == [
        ("dossier.rate", "congdan", {"score": 5})]
    with pytest.raises(Conflict) as twice:
        rate_dossier(deps, CITIZEN, "D-1", RatingRequest(score=1))
    assert twice.value.code == "already_rated"
    assert tx.ratings[7].score == 5
    assert len(tx.audit) == 1


def test_ratings_are_refused_to_others_early_and_out_of_range() -> None:
    tx = FakeSession(dossiers={"D-1": _dossier(DossierStatus.RETURNED)})
    deps = _deps(tx)
    for who in (OTHER, Principal(username="x", roles=frozenset({Role.CITIZEN}))):
        with pytest.raises(NotFound) as hidden:
            rate_dossier(deps, who, "D-1", RatingRequest(score=5))
        assert hidden.value.message == "Không tìm thấy hồ sơ."
    with pytest.raises(NotFound):
        rate_dossier(deps, CITIZEN, "NO-SUCH", RatingRequest(score=5))
    with pytest.raises(Forbidden):  # staff may see it, but it is not theirs to rate
        rate_dossier(deps, ADMIN, "D-1", RatingRequest(score=5))
    for score in (0, 6, -1):
        with pytest.raises(InvalidInput) as wrong:
            rate_dossier(deps, CITIZEN, "D-1", RatingRequest(score=score))
        assert wrong.value.field == "score"
    with pytest.raises(InvalidInput) as long:
        rate_dossier(deps, CITIZEN, "D-1", RatingRequest(score=3, comment="x" * 1001))
    assert long.value.field == "comment"
    tx.dossiers["D-1"] = _dossier(DossierStatus.IN_REVIEW, finished=False)
    with pytest.raises(TransitionRefused):
        rate_dossier(deps, CITIZEN, "D-1", RatingRequest(score=5))
    assert tx.ratings == {}
    assert tx.audit == []
    tx.dossiers["D-1"] = _dossier(DossierStatus.STOPPED)  # withdrawn: ended, may be rated
    assert rate_dossier(deps, CITIZEN, "D-1", RatingRequest(score=3)).score == 3
