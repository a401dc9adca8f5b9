"""Statistics as aggregate queries: each one pass over the dossiers, grouped in the database,
so that a report over 100,000 dossiers moves a few rows, not the dossiers."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    DateTime,
    and_,
    case,
    func,
    or_,
    select,
    true,
    type_coerce,
)

from records.adapters.sql import tables as t
from records.model import ReuseStatus
from records.statistics import BranchTally, ProcessingDay, StatisticsWindow

__all__ = ["StatisticsRows"]

_D = t.dossiers.c


def _count(condition: ColumnElement[bool]) -> ColumnElement[Any]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _received(window: StatisticsWindow) -> ColumnElement[bool]:
    return and_(_D.received_at >= window.start, _D.received_at < window.end)


def _finished(window: StatisticsWindow) -> ColumnElement[bool]:
    return and_(_D.finished_at >= window.start, _D.finished_at < window.end,
                _D.received_at.is_not(None),
                _D.status.in_([s.value for s in window.finished_statuses]))


def _branch(window: StatisticsWindow) -> ColumnElement[bool]:
    return _D.branch_code == window.branch_code if window.branch_code else true()


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


class StatisticsRows:
    _c: Connection

    def _local_day(self, column: Any, offset: timedelta) -> ColumnElement[Any]:
        minutes = int(offset.total_seconds() // 60)
        if self._c.dialect.name == "postgresql":
            # The column is timestamptz: its UTC wall time, moved to the local zone's.
            utc = type_coerce(func.timezone("UTC", column), DateTime())
            return func.date(utc + timedelta(minutes=minutes))
        return func.date(column, f"{minutes:+d} minutes")  # SQLite keeps naive UTC text

    def statistics_tallies(self, window: StatisticsWindow) -> list[BranchTally]:
        received, finished = _received(window), _finished(window)
        open_overdue = and_(_D.finished_at.is_(None), _D.received_at < window.end,
                            _D.status.in_([s.value for s in window.running_statuses]),
                            _D.due_at < window.overdue_at)
        counts = self._c.execute(
            select(_D.branch_code, _count(received).label("received"),
                   _count(and_(received, _D.online.is_(True))).label("online"),
                   _count(finished).label("finished"),
                   _count(and_(finished, _D.finished_at > _D.due_at)).label("late"),
                   _count(open_overdue).label("open_overdue"))
            .where(or_(received, finished, open_overdue), _branch(window))
            .group_by(_D.branch_code))
        tallies: dict[str, dict[str, int]] = {}
        for row in counts:
            tallies[row.branch_code] = {
                "received": int(row.received), "received_online": int(row.online),
                "finished": int(row.finished), "finished_late": int(row.late),
                "open_overdue": int(row.open_overdue)}
        doc = t.documents.c
        papers = self._c.execute(
            select(_D.branch_code, func.count(doc.id).label("papers"),
                   _count(doc.reuse_status != ReuseStatus.NEW.value).label("reused"))
            .select_from(t.documents.join(t.dossiers, doc.dossier_id == _D.id))
            .where(received, _branch(window)).group_by(_D.branch_code))
        for row in papers:
            tallies.setdefault(row.branch_code, {}).update(
                papers=int(row.papers), papers_reused=int(row.reused))
        r = t.ratings.c
        ratings = self._c.execute(
            select(_D.branch_code, func.count().label("ratings"),
                   func.coalesce(func.sum(r.score), 0).label("score"))
            .select_from(t.ratings.join(t.dossiers, r.dossier_id == _D.id))
            .where(r.created_at >= window.start, r.created_at < window.end, _branch(window))
            .group_by(_D.branch_code))
        for row in ratings:
            tallies.setdefault(row.branch_code, {}).update(
                ratings=int(row.ratings), score_total=int(row.score))
        return [BranchTally(branch_code=code, **values) for code, values in tallies.items()]

    def processing_days(self, window: StatisticsWindow) -> list[ProcessingDay]:
        found: dict[tuple[str, str, date], dict[str, int]] = {}
        start = func.coalesce(_D.clock_started_at, _D.received_at)
        for column, key in ((start, "started"), (_D.finished_at, "settled")):
            day = self._local_day(column, window.utc_offset).label("day")
            rows = self._c.execute(
                select(_D.branch_code, _D.procedure_code, day, func.count().label("n"))
                .where(_finished(window), _branch(window))
                .group_by(_D.branch_code, _D.procedure_code, day))
            for row in rows:
                counts = found.setdefault(
                    (row.branch_code, row.procedure_code, _as_date(row.day)), {})
                counts[key] = int(row.n)
        return [ProcessingDay(branch_code=branch, procedure_code=procedure, day=day, **counts)
                for (branch, procedure, day), counts in found.items()]
