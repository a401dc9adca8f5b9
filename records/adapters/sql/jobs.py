"""Jobs in the records database: rows added inside a records transaction, and the runner's
short transactions to claim, report and finish them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, Row, and_, insert, or_, select, update

from records.adapters.sql import tables as t
from records.adapters.sql.engine import READONLY
from records.jobs import Job, JobState

__all__ = ["JobRows", "SqlJobStore"]

_J = t.jobs.c


def _job(row: Row[Any]) -> Job:
    m = row._mapping
    return Job(id=m["id"], kind=m["kind"], document_id=m["document_id"], version=m["version"],
               input_sha256=m["input_sha256"], idem_key=m["idem_key"],
               state=JobState(m["state"]), attempts=m["attempts"],
               max_attempts=m["max_attempts"], created_at=m["created_at"],
               updated_at=m["updated_at"], not_before=m["not_before"],
               last_error=m["last_error"], lease_until=m["lease_until"],
               progress_done=m["progress_done"], progress_total=m["progress_total"],
               pending_output=m["pending_output"])


class JobRows:
    """Session methods for jobs (mixed into ``SqlRecordsSession``)."""

    _c: Connection

    def add_job(self, *, kind: str, document_id: int, version: int, input_sha256: str,
                idem_key: str, max_attempts: int, now: datetime) -> Job:
        """Add the job, or return the one with the same idempotency key."""
        existing = self._c.execute(select(t.jobs).where(_J.idem_key == idem_key)).first()
        if existing is not None:
            return _job(existing)
        new_id = self._c.execute(insert(t.jobs).values(
            kind=kind, document_id=document_id, version=version, input_sha256=input_sha256,
            idem_key=idem_key, state=JobState.QUEUED.value, attempts=0,
            max_attempts=max_attempts, created_at=now, updated_at=now, not_before=now,
            progress_done=0, progress_total=0).returning(_J.id)).scalar_one()
        row = self._c.execute(select(t.jobs).where(_J.id == new_id)).one()
        return _job(row)

    def get_job(self, job_id: int) -> Job | None:
        row = self._c.execute(select(t.jobs).where(_J.id == job_id)).first()
        return _job(row) if row else None

    def jobs_for_document(self, document_id: int) -> list[Job]:
        rows = self._c.execute(select(t.jobs).where(_J.document_id == document_id)
                               .order_by(_J.id))
        return [_job(r) for r in rows]

    def count_jobs(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for row in self._c.execute(select(_J.state)):
            counts[row.state] = counts.get(row.state, 0) + 1
        return counts


def _claimable(now: datetime) -> Any:
    waiting = and_(_J.state.in_([JobState.QUEUED.value, JobState.FAILED.value]),
                   _J.not_before <= now)
    abandoned = and_(_J.state == JobState.RUNNING.value, _J.lease_until < now)
    return or_(waiting, abandoned)


class SqlJobStore:
    """``records.jobs.JobStore``: each call commits on its own."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def claim_job(self, job_id: int, *, now: datetime, lease_until: datetime) -> Job | None:
        with self._engine.begin() as c:
            # One conditional UPDATE: of two workers delivered the same id, one wins.
            done = c.execute(update(t.jobs).where(_J.id == job_id, _claimable(now)).values(
                state=JobState.RUNNING.value, attempts=_J.attempts + 1,
                lease_until=lease_until, updated_at=now))
            if done.rowcount != 1:
                return None
            return _job(c.execute(select(t.jobs).where(_J.id == job_id)).one())

    def finish_job(self, job_id: int, *, state: JobState, now: datetime,
                   error: str | None = None, not_before: datetime | None = None) -> None:
        values: dict[str, Any] = {"state": state.value, "updated_at": now, "lease_until": None,
                                  "last_error": error}
        if not_before is not None:
            values["not_before"] = not_before
        if state is JobState.DONE:
            values["pending_output"] = None
        with self._engine.begin() as c:
            c.execute(update(t.jobs).where(_J.id == job_id).values(**values))

    def job_progress(self, job_id: int, *, done: int, total: int,
                     lease_until: datetime) -> None:
        with self._engine.begin() as c:
            c.execute(update(t.jobs).where(_J.id == job_id, _J.state == "running").values(
                progress_done=done, progress_total=total, lease_until=lease_until))

    def set_pending_output(self, job_id: int, sha256: str | None) -> None:
        with self._engine.begin() as c:
            c.execute(update(t.jobs).where(_J.id == job_id).values(pending_output=sha256))

    def job_states(self, job_ids: set[int]) -> dict[int, str]:
        with self._engine.execution_options(**{READONLY: True}).connect() as c:
            rows = c.execute(select(_J.id, _J.state).where(_J.id.in_(job_ids)))
            return {int(r.id): str(r.state) for r in rows}

    def due_jobs(self, *, now: datetime, limit: int) -> list[int]:
        with self._engine.execution_options(**{READONLY: True}).connect() as c:
            rows = c.execute(select(_J.id).where(_claimable(now)).order_by(_J.id).limit(limit))
            return [int(r.id) for r in rows]
