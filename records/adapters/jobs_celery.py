"""The scale-out job runner: Celery on Redis carries job ids to worker processes.

Tasks carry ids only; the job's state lives in the database (``records.jobs``). Messages are
acknowledged late and rejected when a worker is lost, so a ``kill -9`` mid-job gets the
message delivered again; a sweeper republishes what is due in the database (a failed job
whose backoff has passed, a running job whose lease ran out, a submission lost between the
commit and the publish), and the atomic claim keeps a duplicate message harmless.

Queues (docs/operations.md): ``ocr`` carries the database jobs (every job kind today is
``records.documents.OCR_JOB``; ``JOB_QUEUES`` routes kinds); ``sign`` carries the archive
extension (PAdES B-LTA) that ``motcua scheduler`` asks for, by result codes; ``index`` has
no broker traffic: its worker runs the outbox publisher, which reads the database.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from celery import Celery

from records.documents import OCR_JOB
from records.jobs import JobDeps, JobOutcome

__all__ = ["ARCHIVE_TASK", "JOB_QUEUES", "QUEUES", "CeleryJobRunner", "Sweeper",
           "make_celery_app", "register_archive_task"]

log = logging.getLogger(__name__)

TASK = "motcua.run_job"
ARCHIVE_TASK = "motcua.extend_archives"
QUEUES = ("ocr", "sign", "index")
# Job kind -> queue. Signing itself is synchronous in the API (a signer waits for it), so
# no job kind goes to "sign"; the archive extension does.
JOB_QUEUES = {OCR_JOB: "ocr"}


def make_celery_app(broker_url: str, *, run: Callable[[int], JobOutcome] | None = None,
                    visibility_timeout: int = 3600, queue: str = "ocr") -> Celery:
    app = Celery("motcua", broker=broker_url)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,  # a long OCR job must not hold others hostage
        # Threads, not prefork: the work itself runs in isolated child processes, which a
        # daemonic prefork child may not start, and a forked child would share the parent's
        # database connections.
        worker_pool="threads",
        task_default_queue=queue,
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        broker_connection_retry_on_startup=True,
        # Redis redelivers an unacknowledged message only after this many seconds.
        broker_transport_options={"visibility_timeout": visibility_timeout},
        worker_hijack_root_logger=False,
        task_routes={ARCHIVE_TASK: {"queue": "sign"}},
    )

    @app.task(name=TASK)  # type: ignore[untyped-decorator]
    def run_job_task(job_id: int) -> str:
        if run is None:
            raise RuntimeError("this process only submits jobs")
        return run(int(job_id)).value

    del run_job_task
    return app


def register_archive_task(app: Celery, extend: Callable[[list[str]], int]) -> None:
    """Let this worker run archive extensions: ``extend(codes)`` returns how many it did.
    Only the ``sign`` worker registers it (it holds the signing configuration)."""

    @app.task(name=ARCHIVE_TASK)  # type: ignore[untyped-decorator]
    def extend_archives_task(codes: list[str]) -> int:
        return extend([str(c) for c in codes])

    del extend_archives_task


class CeleryJobRunner:
    """``JobRunner`` that publishes job ids to the broker."""

    def __init__(self, app: Celery, *, queue: str = "ocr") -> None:
        self.app = app
        self.queue = queue

    def submit(self, job_id: int) -> None:
        try:
            self.app.send_task(TASK, args=[job_id], queue=self.queue)
        except Exception:  # the broker is away: the sweeper publishes the job later
            log.warning("could not publish job %s; the sweeper will", job_id, exc_info=True)

    def submit_archive_extension(self, codes: list[str]) -> None:
        """Ask the ``sign`` workers to extend these results; raises if the broker is away
        (the scheduler tries again on its next round)."""
        self.app.send_task(ARCHIVE_TASK, args=[codes], queue="sign")

    def start(self) -> None:
        """Nothing to start in the publishing process; workers run ``motcua worker``."""

    def stop(self) -> None:
        """Nothing to stop in the publishing process."""


class Sweeper:
    """Publishes what the database says is due, every ``interval`` seconds."""

    def __init__(self, deps: JobDeps, runner: CeleryJobRunner, *,
                 interval: float = 5.0) -> None:
        self._deps = deps
        self._runner = runner
        self._interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def sweep(self) -> int:
        due = self._deps.jobs.due_jobs(now=self._deps.clock.now(), limit=500)
        for job_id in due:
            self._runner.submit(job_id)
        return len(due)

    def start(self) -> None:
        def loop() -> None:
            while not self._stop.is_set():
                try:
                    self.sweep()
                except Exception:  # the database may be briefly away; try again
                    log.exception("job sweep failed")
                self._stop.wait(self._interval)

        self._thread = threading.Thread(target=loop, name="motcua-sweeper", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
