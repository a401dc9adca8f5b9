"""Statistics for the centre's managers: per receiving desk and period, how many dossiers
came in, how many were settled and how many on time, how long they took against the legal
time, how many came online, how often the state reused papers it already held, and how
satisfied citizens were.

The counts follow the headings of the one-stop centres' periodic reports (received in the
period; settled in the period, on time or late; still being processed past the due date)
[Decree 61/2018; the exact report form was not checked, so the headings are a documented
choice]. The store computes them with a few
aggregate queries over the whole table (``RecordsSession.statistics_tallies`` and
``processing_days``); only the per-day counts are turned into working days here, with the
centre's own calendar.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from records.authz import Action, Principal, authorize
from records.calendar import VN_TZ, WorkingCalendar
from records.errors import InvalidInput
from records.model import Branch, DossierStatus
from records.services import RecordsDeps
from records.workflow import STATES

__all__ = [
    "FINISHED_STATES",
    "MAX_PERIOD_DAYS",
    "RUNNING_STATES",
    "BranchStatistics",
    "BranchTally",
    "ProcessingDay",
    "StatisticsReport",
    "StatisticsRequest",
    "StatisticsWindow",
    "dossier_statistics",
    "percent",
]

# Settled dossiers: a result issued (status 9 and 10) or a reasoned refusal (8). A dossier
# stopped at the citizen's request, or refused at the desk, was never settled.
FINISHED_STATES = frozenset({DossierStatus.RESULT_READY, DossierStatus.RETURNED,
                             DossierStatus.REFUSED})
# Where the processing clock runs: a dossier there past its due date is overdue
# (records.lifecycle.is_overdue).
RUNNING_STATES = frozenset(s for s, spec in STATES.items() if spec.clock_running)
MAX_PERIOD_DAYS = 3 * 366


@dataclass(frozen=True, kw_only=True, slots=True)
class StatisticsWindow:
    """What the store is asked: dossiers of ``branch_code`` (None: all desks) in the period
    ``[start, end)``, UTC. Local days are ``utc_offset`` ahead of UTC (Vietnam keeps one
    offset all year)."""

    start: datetime
    end: datetime
    overdue_at: datetime  # open dossiers whose due date passed before this are overdue
    branch_code: str | None = None
    finished_statuses: frozenset[DossierStatus] = FINISHED_STATES
    running_statuses: frozenset[DossierStatus] = RUNNING_STATES
    utc_offset: timedelta = timedelta(hours=7)


@dataclass(frozen=True, kw_only=True, slots=True)
class BranchTally:
    """The store's counts for one desk.

    ``received``: received in the period (``received_online`` of them submitted online);
    ``finished``: settled in the period, ``finished_late`` of them after their due date;
    ``open_overdue``: received before the period's end, not settled, clock running and due
    before ``overdue_at``; ``papers``: papers of the dossiers received in the period,
    ``papers_reused`` of them taken from the data store instead of scanned; ``ratings``:
    satisfaction ratings given in the period, ``score_total`` their sum.
    """

    branch_code: str
    received: int = 0
    received_online: int = 0
    finished: int = 0
    finished_late: int = 0
    open_overdue: int = 0
    papers: int = 0
    papers_reused: int = 0
    ratings: int = 0
    score_total: int = 0


@dataclass(frozen=True, kw_only=True, slots=True)
class ProcessingDay:
    """Of the dossiers of a desk and procedure settled in the period: how many had their
    processing clock last started on local ``day``, and how many were settled on it.

    Working days taken are then a difference of prefix sums (the working days up to the
    day settled, less those up to the day started), so the store groups by one day, not by
    every pair of days."""

    branch_code: str
    procedure_code: str
    day: date
    started: int = 0
    settled: int = 0


@dataclass(frozen=True, kw_only=True, slots=True)
class StatisticsRequest:
    date_from: date  # local days, both included
    date_to: date
    branch_code: str | None = None


def percent(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


def _ratio(total: int, count: int) -> float | None:
    return round(total / count, 1) if count else None


@dataclass(frozen=True, kw_only=True, slots=True)
class BranchStatistics:
    """One line of the report (or the total line). Rates are percentages, None when there
    is nothing to divide by; processing times are in working days."""

    branch_code: str
    branch_name: str
    received: int
    received_online: int
    finished: int
    finished_late: int
    open_overdue: int
    processing_days_total: int
    legal_days_total: int
    papers: int
    papers_reused: int
    ratings: int
    score_total: int

    @property
    def finished_on_time(self) -> int:
        return self.finished - self.finished_late

    @property
    def overdue(self) -> int:
        return self.finished_late + self.open_overdue

    @property
    def on_time_rate(self) -> float | None:
        return percent(self.finished_on_time, self.finished)

    @property
    def online_share(self) -> float | None:
        return percent(self.received_online, self.received)

    @property
    def reuse_rate(self) -> float | None:
        return percent(self.papers_reused, self.papers)

    @property
    def average_processing_days(self) -> float | None:
        return _ratio(self.processing_days_total, self.finished)

    @property
    def average_legal_days(self) -> float | None:
        return _ratio(self.legal_days_total, self.finished)

    @property
    def average_score(self) -> float | None:
        return round(self.score_total / self.ratings, 2) if self.ratings else None


@dataclass(frozen=True, kw_only=True, slots=True)
class StatisticsReport:
    date_from: date
    date_to: date
    branch_code: str | None
    rows: tuple[BranchStatistics, ...]
    total: BranchStatistics
    branches: tuple[Branch, ...]  # every desk, for choosing another
    generated_at: datetime


def _window(request: StatisticsRequest, now: datetime) -> StatisticsWindow:
    if request.date_to < request.date_from:
        raise InvalidInput("invalid_period", "Ngày kết thúc phải từ ngày bắt đầu trở đi.",
                           field="date_to")
    if (request.date_to - request.date_from).days >= MAX_PERIOD_DAYS:
        raise InvalidInput("period_too_long", "Kỳ thống kê dài tối đa 3 năm.",
                           field="date_from")
    start = datetime.combine(request.date_from, time(0), tzinfo=VN_TZ).astimezone(UTC)
    end = datetime.combine(request.date_to + timedelta(days=1), time(0),
                           tzinfo=VN_TZ).astimezone(UTC)
    offset = VN_TZ.utcoffset(start) or timedelta(0)
    return StatisticsWindow(start=start, end=end, overdue_at=min(now, end),
                            branch_code=request.branch_code, utc_offset=offset)


def _working_index(calendar: WorkingCalendar, days: set[date]) -> dict[date, int]:
    """For each day, the working days after the first of them up to it: a prefix sum, so
    that ``index[b] - index[a]`` is ``calendar.working_days_between(a, b)``."""
    if not days:
        return {}
    first, last = min(days), max(days)
    index: dict[date, int] = {}
    count, current = 0, first
    while current <= last:
        if current != first and calendar.is_working_day(current):
            count += 1
        index[current] = count
        current += timedelta(days=1)
    return index


def _line(code: str, name: str, tally: BranchTally | None, days: list[ProcessingDay],
          legal_days: dict[str, int], index: dict[date, int]) -> BranchStatistics:
    tally = tally or BranchTally(branch_code=code)
    taken = legal = 0
    for row in days:
        taken += index[row.day] * (row.settled - row.started)
        legal += legal_days.get(row.procedure_code, 0) * row.started
    return BranchStatistics(
        branch_code=code, branch_name=name, received=tally.received,
        received_online=tally.received_online, finished=tally.finished,
        finished_late=tally.finished_late, open_overdue=tally.open_overdue,
        processing_days_total=taken, legal_days_total=legal, papers=tally.papers,
        papers_reused=tally.papers_reused, ratings=tally.ratings,
        score_total=tally.score_total)


def _sum(rows: tuple[BranchStatistics, ...], name: str) -> BranchStatistics:
    def total(attribute: str) -> int:
        return sum(int(getattr(row, attribute)) for row in rows)

    return BranchStatistics(
        branch_code="", branch_name=name, received=total("received"),
        received_online=total("received_online"), finished=total("finished"),
        finished_late=total("finished_late"), open_overdue=total("open_overdue"),
        processing_days_total=total("processing_days_total"),
        legal_days_total=total("legal_days_total"), papers=total("papers"),
        papers_reused=total("papers_reused"), ratings=total("ratings"),
        score_total=total("score_total"))


def dossier_statistics(deps: RecordsDeps, who: Principal,
                       request: StatisticsRequest) -> StatisticsReport:
    """The report for one desk (or all) over a period of local days."""
    authorize(who, Action.VIEW_STATISTICS)
    now = deps.clock.now()
    window = _window(request, now)
    with deps.store.session(readonly=True) as tx:
        branches = tuple(tx.list_branches())
        if request.branch_code and request.branch_code not in {b.code for b in branches}:
            raise InvalidInput("unknown_branch", "Không có bộ phận tiếp nhận này.",
                               field="branch_code")
        legal_days = {p.code: p.processing_days for p in tx.list_procedures()}
        off, working = tx.holidays()
        tallies = {t.branch_code: t for t in tx.statistics_tallies(window)}
        days = tx.processing_days(window)
    calendar = WorkingCalendar(holidays=off, working_weekend_days=working)
    index = _working_index(calendar, {row.day for row in days})
    by_branch: dict[str, list[ProcessingDay]] = {}
    for row in days:
        by_branch.setdefault(row.branch_code, []).append(row)
    shown = [b for b in branches if request.branch_code in (None, "", b.code)]
    rows = tuple(_line(b.code, b.name, tallies.get(b.code), by_branch.get(b.code, []),
                       legal_days, index) for b in shown)
    return StatisticsReport(date_from=request.date_from, date_to=request.date_to,
                            branch_code=request.branch_code or None, rows=rows,
                            total=_sum(rows, "Tổng cộng"), branches=branches,
                            generated_at=now)
