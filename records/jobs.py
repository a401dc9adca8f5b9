"""Durable jobs: the database holds every job's state; a runner only carries its id.

A job is claimed atomically (so two deliveries never run it twice at once), holds a lease
that its progress reports extend, and ends done, scheduled for a retry (only for errors its
handler declares transient, with exponential backoff up to a cap), or quarantined with the
reason. A job whose worker died is claimed again once its lease has run out.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

from records.ports import Clock

__all__ = [
    "Job",
    "JobContext",
    "JobDeps",
    "JobHandler",
    "JobOutcome",
    "JobRunner",
    "JobState",
    "JobStore",
    "TransientJobError",
    "idempotency_key",
    "run_job",
]

log = logging.getLogger(__name__)


class JobState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"  # the last attempt failed transiently; a retry is scheduled
    QUARANTINED = "quarantined"  # given up: a person must look at the reason


class JobOutcome(StrEnum):
    DONE = "done"
    RETRY_SCHEDULED = "retry_scheduled"
    QUARANTINED = "quarantined"
    NOT_CLAIMED = "not_claimed"  # finished already, or another worker holds the lease


@dataclass(frozen=True, kw_only=True, slots=True)
class Job:
    id: int
    kind: str
    document_id: int
    version: int
    input_sha256: str
    idem_key: str
    state: JobState
    attempts: int
    max_attempts: int
    created_at: datetime
    updated_at: datetime
    not_before: datetime
    last_error: str | None = None
    lease_until: datetime | None = None
    progress_done: int = 0
    progress_total: int = 0
    pending_output: str | None = None


def idempotency_key(kind: str, document_id: int, version: int, input_sha256: str) -> str:
    return f"{kind}:{document_id}:{version}:{input_sha256}"


class TransientJobError(Exception):
    """Raised by a handler for a failure worth retrying (a server briefly away, a full disk).
    Anything else quarantines the job at once: retrying a corrupt file helps nobody."""


class JobStore(Protocol):
    """The job half of the records store, each call its own short transaction."""

    def claim_job(self, job_id: int, *, now: datetime, lease_until: datetime) -> Job | None: ...
    def finish_job(self, job_id: int, *, state: JobState, now: datetime,
                   error: str | None = None, not_before: datetime | None = None) -> None: ...
    def job_progress(self, job_id: int, *, done: int, total: int,
                     lease_until: datetime) -> None: ...
    def set_pending_output(self, job_id: int, sha256: str | None) -> None: ...
    def due_jobs(self, *, now: datetime, limit: int) -> list[int]: ...
    def job_states(self, job_ids: set[int]) -> dict[int, str]: ...


@dataclass(frozen=True, kw_only=True)
class JobContext:
    """What a handler gets: the claimed job, and ways to report on it."""

    job: Job
    report_progress: Callable[[int, int], None]
    set_pending_output: Callable[[str | None], None]


JobHandler = Callable[[JobContext], None]


@dataclass(frozen=True, kw_only=True)
class JobDeps:
    jobs: JobStore
    clock: Clock
    handlers: Mapping[str, JobHandler] = field(default_factory=dict)
    lease: timedelta = timedelta(minutes=5)
    backoff: timedelta = timedelta(seconds=10)
    backoff_cap: timedelta = timedelta(minutes=10)


class JobRunner(Protocol):
    """Carries job ids to whatever runs them.

    Contract: ``submit`` is called after the transaction that created the job has committed;
    it SHALL NOT run the job inside the caller's transaction. Losing a submission is allowed
    (the job stays queued in the database and the runner's sweep finds it), running a job
    twice at the same time is not (``run_job`` claims it atomically).
    """

    def submit(self, job_id: int) -> None: ...

    def start(self) -> None: ...

    def stop(self) -> None: ...


def _retry_delay(deps: JobDeps, attempts: int) -> timedelta:
    delay: timedelta = deps.backoff * int(2 ** max(attempts - 1, 0))
    return min(delay, deps.backoff_cap)


def run_job(deps: JobDeps, job_id: int) -> JobOutcome:
    """Claim job ``job_id`` and run its handler; record how it ended."""
    now = deps.clock.now()
    job = deps.jobs.claim_job(job_id, now=now, lease_until=now + deps.lease)
    if job is None:
        return JobOutcome.NOT_CLAIMED
    handler = deps.handlers.get(job.kind)
    if handler is None:
        deps.jobs.finish_job(job_id, state=JobState.QUARANTINED, now=now,
                             error=f"no handler for job kind {job.kind!r}")
        return JobOutcome.QUARANTINED

    def progress(done: int, total: int) -> None:
        deps.jobs.job_progress(job_id, done=done, total=total,
                               lease_until=deps.clock.now() + deps.lease)

    context = JobContext(job=job, report_progress=progress,
                         set_pending_output=lambda sha: deps.jobs.set_pending_output(job_id, sha))
    try:
        handler(context)
    except TransientJobError as exc:
        if job.attempts >= job.max_attempts:
            deps.jobs.finish_job(job_id, state=JobState.QUARANTINED, now=deps.clock.now(),
                                 error=f"gave up after {job.attempts} attempts: {exc}")
            return JobOutcome.QUARANTINED
        later = deps.clock.now() + _retry_delay(deps, job.attempts)
        deps.jobs.finish_job(job_id, state=JobState.FAILED, now=deps.clock.now(),
                             error=str(exc), not_before=later)
        log.warning("job %s failed transiently (attempt %s): %s", job_id, job.attempts, exc)
        return JobOutcome.RETRY_SCHEDULED
    except Exception as exc:  # a handler's fault: keep the reason, stop retrying
        log.exception("job %s quarantined", job_id)
        deps.jobs.finish_job(job_id, state=JobState.QUARANTINED, now=deps.clock.now(),
                             error=f"{type(exc).__name__}: {exc}"[:2000])
        return JobOutcome.QUARANTINED
    deps.jobs.finish_job(job_id, state=JobState.DONE, now=deps.clock.now())
    return JobOutcome.DONE
