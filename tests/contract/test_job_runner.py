"""The ``JobRunner`` contract (records/jobs.py), run against every runner.

``local``: ``LocalJobRunner``, threads in this process polling the database (SQLite, the
embedded default). ``celery``: ``CeleryJobRunner`` publishing to a real Redis, consumed by a
real ``motcua worker --concurrency 1`` process on PostgreSQL. A ``motcua worker`` knows only
the handlers the composition root registers, so these tests drive the real OCR job on small
generated pages: one test body for both runners, each fault made with a real input or a real
storage fault, none by replacing code under test.

The clauses that need a handler the test controls (the backoff schedule, a lease kept alive
by progress, a crashed worker's job, many jobs on competing threads) are at the end, on the
local runner only, with the test kinds of ``tests/fixtures/jobs.py``.
"""

from __future__ import annotations

import contextlib
import io
import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pikepdf
import pytest

from api.bootstrap import Services
from records.adapters.jobs_celery import CeleryJobRunner
from records.adapters.jobs_local import LocalJobRunner
from records.documents import DocumentView
from records.jobs import Job, JobDeps, JobState
from records.model import VersionStatus
from tests.fixtures.jobs import (
    BROKEN,
    ECHO,
    FLAKY,
    SLOW,
    CallLog,
    LostSubmissions,
    Scan,
    WorkerProcess,
    add_scans,
    add_test_job,
    blob_writes_failing,
    deps_with_test_kinds,
    empty_broker,
    finished,
    job_document,
    job_row,
    job_services,
    job_settings,
    open_dossier,
    page_rows,
    stored_blobs,
    version_row,
    wait_for_job,
    write_scan,
    write_thumbnail,
)
from tests.fixtures.pages import PageSize, PageSpec, cer

PAGE = PageSpec(size=PageSize.HALF)  # half an A4 page: 2-4 s of OCR
JOB_S = 90.0  # the longest one job may take here, retries and sweeps included
RESULTS_S = 30.0
BACKOFF = timedelta(seconds=1)  # JOB_KNOBS["job_backoff_seconds"]
THUMBNAIL_FAILURE = "ValueError: Page size must be between 3 and 14400 PDF units"


@dataclass(frozen=True, kw_only=True)
class Harness:
    """A runner under test: the services of the submitting process, how to start the side
    that runs jobs, and the worker process if there is one."""

    name: str
    services: Services
    start: Callable[[], None]
    worker: WorkerProcess | None

    def wait(self, job_id: int, until: Callable[[Job], bool] = finished,
             what: str = "finished") -> Job:
        return wait_for_job(self.services, job_id, until, timeout=JOB_S, what=what,
                            worker=self.worker)

    def results(self, at_least: int) -> list[str]:
        """What the worker's ``run_job`` tasks returned, once there are ``at_least``."""
        assert self.worker is not None
        end = time.monotonic() + RESULTS_S
        while len(results := self.worker.task_results()) < at_least:
            assert time.monotonic() < end, f"fewer than {at_least} deliveries: {results}"
            time.sleep(0.1)
        return results


RUNNERS = [
    pytest.param("local", marks=pytest.mark.integration),
    pytest.param("celery", marks=[pytest.mark.integration, pytest.mark.postgres]),
]


@pytest.fixture(params=RUNNERS)
def harness(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Harness]:
    if request.param == "local":
        services = job_services(job_settings(tmp_path / "data", backend="local"))
        try:
            yield Harness(name="local", services=services, start=services.runner.start,
                          worker=None)
        finally:
            services.close()  # stops the runner's threads
        return
    database_url: str = request.getfixturevalue("postgres_db_url")
    with empty_broker(request.getfixturevalue("redis_url")) as broker_url:
        settings = job_settings(tmp_path / "data", backend="celery",
                                database_url=database_url, redis_url=broker_url)
        services = job_services(settings)
        worker = WorkerProcess(settings, tmp_path, "worker")
        try:
            yield Harness(name="celery", services=services, start=worker.start,
                          worker=worker)
        finally:
            worker.close()
            runner = services.runner
            assert isinstance(runner, CeleryJobRunner)
            runner.app.close()
            services.close()


def _assert_ready(services: Services, view: DocumentView, scans: Sequence[Scan]) -> None:
    """The version is READY with one archival copy, its pages' text, and the originals as
    uploaded; the store holds those blobs and no other."""
    version = version_row(services, view.document.id)
    assert (version.status, version.page_count, version.failure) == (
        VersionStatus.READY, len(scans), None)
    assert [f.sha256 for f in version.files] == [s.sha256 for s in scans]
    originals = {s.sha256 for s in scans}
    archival = version.archival_sha256
    assert archival is not None
    assert archival not in originals
    assert stored_blobs(services) == originals | {archival}
    for scan in scans:
        assert services.blobs.get(scan.sha256) == scan.data
    with pikepdf.open(io.BytesIO(services.blobs.get(archival))) as pdf:
        assert len(pdf.pages) == len(scans)
    pages = page_rows(services, view.document.id)
    assert [p.number for p in pages] == list(range(1, len(scans) + 1))
    for page, scan in zip(pages, scans, strict=True):
        assert cer(scan.truth, page.text) <= 0.02


def _assert_failed(services: Services, view: DocumentView, scan: Scan,
                   failure: str) -> None:
    """The version is FAILED with ``failure`` (a regular expression); the original is
    intact and the only blob; there is no archival copy and no page text."""
    version = version_row(services, view.document.id)
    assert (version.status, version.archival_sha256, version.page_count) == (
        VersionStatus.FAILED, None, 1)
    assert version.failure is not None
    assert re.fullmatch(failure, version.failure), version.failure
    assert [f.sha256 for f in version.files] == [scan.sha256]
    assert stored_blobs(services) == {scan.sha256}
    assert services.blobs.get(scan.sha256) == scan.data
    assert page_rows(services, view.document.id) == []


def _write_failure(tmp: Path) -> str:
    """What a blob write says when the store's write directory is not a directory."""
    return rf"\[Errno 20\] Not a directory: '{re.escape(str(tmp))}/put-\w+\.part'"


def test_a_job_submitted_twice_runs_exactly_once_and_ends_done(harness: Harness,
                                                               tmp_path: Path) -> None:
    services = harness.services
    who, code = open_dossier(services)
    scan = write_scan(tmp_path / "in", "don.png", PAGE)
    view = add_scans(services, who, code, [scan])  # the first submission
    assert view.job is not None
    assert (view.job.state, view.job.attempts) == (JobState.QUEUED, 0)
    services.runner.submit(view.job.id)  # the same id again: a retried request, a sweep
    harness.start()

    job = harness.wait(view.job.id)

    assert job == job_row(services, view.job.id)
    assert (job.state, job.attempts, job.last_error, job.pending_output, job.lease_until) == (
        JobState.DONE, 1, None, None, None)
    assert (job.progress_done, job.progress_total) == (1, 1)
    _assert_ready(services, view, [scan])
    if harness.worker is not None:
        # Every message was delivered (the worker's start-up sweep may add a third): one
        # ran the job, the others found nothing to claim.
        results = harness.results(2)
        assert results.count("done") == 1
        assert set(results) == {"done", "not_claimed"}


def test_a_job_whose_submission_was_lost_is_still_run(harness: Harness,
                                                      tmp_path: Path) -> None:
    services = harness.services
    who, code = open_dossier(services)
    scan = write_scan(tmp_path / "in", "don.png", PAGE)
    harness.start()  # already running: only its periodic poll or sweep can find the job

    lost = LostSubmissions()
    view = add_scans(services, who, code, [scan], runner=lost)
    assert view.job is not None
    assert (lost.lost, view.job.state) == ([view.job.id], JobState.QUEUED)
    harness.wait(view.job.id)

    got = job_row(services, view.job.id)
    assert (got.state, got.attempts, got.last_error) == (JobState.DONE, 1, None)
    _assert_ready(services, view, [scan])
    if harness.worker is not None:
        assert harness.results(1).count("done") == 1


def test_a_transient_failure_is_retried_after_the_backoff_and_succeeds(
        harness: Harness, tmp_path: Path) -> None:
    services = harness.services
    who, code = open_dossier(services)
    scan = write_scan(tmp_path / "in", "don.png", PAGE)
    harness.start()

    view = add_scans(services, who, code, [scan])
    assert view.job is not None
    # The archival copy is written after the OCR, seconds from now: the write fails.
    with blob_writes_failing(services) as tmp:
        failed = harness.wait(view.job.id, lambda j: j.state is JobState.FAILED,
                              "failed transiently")
        during = version_row(services, view.document.id)
    # The volume is back well within the backoff; the retry stores the copy.
    assert failed.last_error is not None
    assert re.fullmatch(_write_failure(tmp), failed.last_error), failed.last_error
    assert (failed.attempts, failed.lease_until) == (1, None)
    delay = failed.not_before - failed.updated_at
    assert BACKOFF - timedelta(milliseconds=500) < delay <= BACKOFF
    assert during.status is VersionStatus.PROCESSING

    harness.wait(view.job.id)

    got = job_row(services, view.job.id)
    assert (got.state, got.attempts, got.last_error, got.pending_output) == (
        JobState.DONE, 2, None, None)
    _assert_ready(services, view, [scan])  # the failed attempt left no blob behind


def test_a_transient_failure_is_quarantined_with_its_reason_after_max_attempts(
        harness: Harness, tmp_path: Path) -> None:
    services = harness.services
    who, code = open_dossier(services)
    scan = write_scan(tmp_path / "in", "don.png", PAGE)
    harness.start()

    view = add_scans(services, who, code, [scan], max_attempts=2)
    assert view.job is not None
    with blob_writes_failing(services) as tmp:
        harness.wait(view.job.id)
        got = job_row(services, view.job.id)
        assert (got.state, got.attempts, got.max_attempts, got.lease_until) == (
            JobState.QUARANTINED, 2, 2, None)
        assert got.last_error is not None
        assert re.fullmatch(f"gave up after 2 attempts: {_write_failure(tmp)}",
                            got.last_error), got.last_error
        _assert_failed(services, view, scan, _write_failure(tmp))


def test_a_non_transient_failure_is_quarantined_at_once_and_the_version_failed(
        harness: Harness, tmp_path: Path) -> None:
    services = harness.services
    who, code = open_dossier(services)
    thumbnail = write_thumbnail(tmp_path / "in")  # passes intake; cannot become a PDF page
    harness.start()

    view = add_scans(services, who, code, [thumbnail])
    assert view.job is not None
    harness.wait(view.job.id)

    got = job_row(services, view.job.id)
    assert (got.state, got.attempts, got.last_error, got.lease_until) == (
        JobState.QUARANTINED, 1, f"OcrFailed: {THUMBNAIL_FAILURE}", None)
    _assert_failed(services, view, thumbnail, re.escape(THUMBNAIL_FAILURE))
    if harness.worker is not None:
        assert harness.results(1).count("quarantined") == 1


# --------------------------------------------------- local runner, handlers the test controls


@dataclass(frozen=True, kw_only=True)
class Kinds:
    services: Services
    document_id: int
    log: CallLog

    def deps(self, **options: object) -> JobDeps:
        return deps_with_test_kinds(self.services, self.log, **options)  # type: ignore[arg-type]

    def add(self, kind: str, *, max_attempts: int = 5) -> int:
        return add_test_job(self.services, kind, self.document_id, max_attempts=max_attempts)

    def wait(self, job_ids: Sequence[int], timeout: float = 20.0) -> None:
        for job_id in job_ids:
            wait_for_job(self.services, job_id, finished, timeout=timeout, what="finished")


@pytest.fixture
def kinds(tmp_path: Path) -> Iterator[Kinds]:
    services = job_services(job_settings(tmp_path / "data", backend="local"))
    who, code = open_dossier(services)
    try:
        yield Kinds(services=services, document_id=job_document(services, who, code),
                    log=CallLog(tmp_path / "calls.jsonl"))
    finally:
        services.close()


@contextlib.contextmanager
def running(*runners: LocalJobRunner) -> Iterator[None]:
    for runner in runners:
        runner.start()
    try:
        yield
    finally:
        for runner in runners:
            runner.stop(timeout=10)


def test_local_many_jobs_on_competing_threads_each_run_exactly_once(kinds: Kinds) -> None:
    job_ids = [kinds.add(ECHO) for _ in range(30)]
    deps = kinds.deps()
    with running(LocalJobRunner(deps, workers=3, poll_seconds=0.05),
                 LocalJobRunner(deps, workers=3, poll_seconds=0.05)):
        kinds.wait(job_ids)
    for job_id in job_ids:
        job = job_row(kinds.services, job_id)
        assert (job.state, job.attempts) == (JobState.DONE, 1)
        assert [(c.event, c.attempt) for c in kinds.log.calls(job_id)] == [
            ("start", 1), ("done", 1)]


def test_local_transient_failures_are_retried_after_doubling_capped_delays(
        kinds: Kinds) -> None:
    job_id = kinds.add(FLAKY)
    deps = kinds.deps(flaky_failures=4, backoff=timedelta(seconds=0.2),
                      backoff_cap=timedelta(seconds=0.5))
    with running(LocalJobRunner(deps, workers=2, poll_seconds=0.05)):
        kinds.wait([job_id])

    job = job_row(kinds.services, job_id)
    assert (job.state, job.attempts, job.last_error) == (JobState.DONE, 5, None)
    starts = kinds.log.calls(job_id, "start")
    failures = kinds.log.calls(job_id, "failed")
    assert [c.attempt for c in starts] == [1, 2, 3, 4, 5]
    assert [c.attempt for c in failures] == [1, 2, 3, 4]
    # 0.2 s, 0.4 s, then 0.8 s and 1.6 s capped at 0.5 s: never early (the doubling), and
    # picked up within 0.9 s of becoming due (the cap: uncapped, the last would be 1.6 s).
    for failure, retry, delay in zip(failures, starts[1:], (0.2, 0.4, 0.5, 0.5), strict=True):
        waited = (retry.at - failure.at).total_seconds()
        assert delay <= waited < delay + 0.9, (failure, retry)


def test_local_a_transient_failure_is_quarantined_after_max_attempts(kinds: Kinds) -> None:
    job_id = kinds.add(FLAKY, max_attempts=3)
    deps = kinds.deps(flaky_failures=99, backoff=timedelta(seconds=0.05))
    with running(LocalJobRunner(deps, workers=1, poll_seconds=0.05)):
        kinds.wait([job_id])

    job = job_row(kinds.services, job_id)
    assert (job.state, job.attempts, job.last_error) == (
        JobState.QUARANTINED, 3, "gave up after 3 attempts: the disk is full (attempt 3)")
    assert [c.attempt for c in kinds.log.calls(job_id, "start")] == [1, 2, 3]


def test_local_a_handler_error_is_quarantined_at_once(kinds: Kinds) -> None:
    job_id = kinds.add(BROKEN)
    with running(LocalJobRunner(kinds.deps(), workers=1, poll_seconds=0.05)):
        kinds.wait([job_id])

    job = job_row(kinds.services, job_id)
    assert (job.state, job.attempts, job.last_error) == (
        JobState.QUARANTINED, 1, "ValueError: page 1 cannot be decoded")
    assert [c.event for c in kinds.log.calls(job_id)] == ["start", "failed"]


def test_local_a_kind_without_handler_is_quarantined_unrun(kinds: Kinds) -> None:
    job_id = kinds.add("test.unknown")
    with running(LocalJobRunner(kinds.deps(), workers=1, poll_seconds=0.05)):
        kinds.wait([job_id])

    job = job_row(kinds.services, job_id)
    assert (job.state, job.attempts, job.last_error) == (
        JobState.QUARANTINED, 1, "no handler for job kind 'test.unknown'")
    assert kinds.log.calls(job_id) == []


def test_local_progress_keeps_a_long_job_from_being_claimed_again(kinds: Kinds) -> None:
    # 2.1 s of work against a 1 s lease, on three threads of two runners that poll
    # every 50 ms: only the progress reports keep the others off.
    job_id = kinds.add(SLOW)
    deps = kinds.deps(lease=timedelta(seconds=1), slow_steps=6, slow_step_s=0.35)
    with running(LocalJobRunner(deps, workers=2, poll_seconds=0.05),
                 LocalJobRunner(deps, workers=1, poll_seconds=0.05)):
        kinds.wait([job_id])

    job = job_row(kinds.services, job_id)
    assert (job.state, job.attempts, job.progress_done, job.progress_total) == (
        JobState.DONE, 1, 6, 6)
    assert [(c.event, c.attempt) for c in kinds.log.calls(job_id)] == [
        ("start", 1), ("done", 1)]


def test_local_a_job_left_running_by_a_dead_worker_is_run_once_its_lease_ends(
        kinds: Kinds) -> None:
    job_id = kinds.add(ECHO)
    # A worker claims the job and dies: the row says running, with a lease of 1.5 s.
    now = kinds.services.clock.now()
    claimed = kinds.services.jobs.jobs.claim_job(job_id, now=now,
                                                 lease_until=now + timedelta(seconds=1.5))
    assert claimed is not None
    with running(LocalJobRunner(kinds.deps(), workers=2, poll_seconds=0.05)):
        time.sleep(0.5)
        assert kinds.log.calls(job_id) == []  # the lease still holds
        kinds.wait([job_id])

    job = job_row(kinds.services, job_id)
    assert (job.state, job.attempts) == (JobState.DONE, 2)
    starts = kinds.log.calls(job_id, "start")
    assert [c.attempt for c in starts] == [2]
    assert starts[0].at >= now + timedelta(seconds=1.5)
