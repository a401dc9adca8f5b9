"""The embedded job runner: worker threads that take due jobs from the database.

The database is the queue: ``submit`` only wakes a worker early, and a poll finds what a
submission missed, what another process queued (``motcua ingest`` without ``--wait``), and
what a crash left behind (a running job whose lease ran out is claimed again). That is how
unfinished work resumes at start-up.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable

from records.jobs import JobDeps, JobOutcome, run_job

__all__ = ["LocalJobRunner"]

log = logging.getLogger(__name__)


class LocalJobRunner:
    def __init__(self, deps: JobDeps, *, workers: int = 1, poll_seconds: float = 2.0) -> None:
        self._deps = deps
        self._workers = workers
        self._poll = poll_seconds
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    def submit(self, job_id: int) -> None:
        del job_id  # the database already holds it; just look sooner
        self._wake.set()

    def start(self) -> None:
        with self._lock:
            if self._threads:
                return
            self._stopping.clear()
            for n in range(self._workers):
                thread = threading.Thread(target=self._loop, name=f"motcua-job-{n}",
                                          daemon=True)
                thread.start()
                self._threads.append(thread)

    def stop(self, timeout: float = 30.0) -> None:
        self._stopping.set()
        self._wake.set()
        with self._lock:
            for thread in self._threads:
                thread.join(timeout)
            self._threads.clear()

    def run_due(self, limit: int = 100) -> list[JobOutcome]:
        """Run what is due now in the calling thread; for the CLI's ``--wait``."""
        due = self._deps.jobs.due_jobs(now=self._deps.clock.now(), limit=limit)
        return [run_job(self._deps, job_id) for job_id in due]

    def wait_for(self, job_ids: Iterable[int], *, timeout: float,
                 finished: set[str] | None = None) -> bool:
        """Run due jobs here until every job in ``job_ids`` has finished (or time is up)."""
        wanted = set(job_ids)
        end = time.monotonic() + timeout
        final = finished or {"done", "quarantined"}
        while time.monotonic() < end:
            self.run_due()
            states = self._deps.jobs.job_states(wanted)
            if all(states.get(job_id) in final for job_id in wanted):
                return True
            time.sleep(0.2)
        return False

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                ran = self.run_due(limit=1)
            except Exception:  # keep the worker alive: the next poll tries again
                log.exception("job runner poll failed")
                ran = []
            if not ran:
                self._wake.wait(self._poll)
                self._wake.clear()
