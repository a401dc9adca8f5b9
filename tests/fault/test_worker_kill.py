"""A worker killed with ``kill -9`` in the middle of OCR: the job is resumed, and the outcome
is as if nothing had happened.

For each backend a real ``motcua worker`` process digitises a three-page paper; when the job
is running and at least one page is done, the worker's whole process group gets SIGKILL. A
second worker is started on the same database and data directory, and must finish the job:
the version READY with its three pages, exactly one archival copy, no orphan blob, the
originals untouched, the audit chain intact, the job run once more and only once.

``celery``: Redis and PostgreSQL; the message is redelivered or the sweeper republishes the
job once its lease has run out. ``local``: the embedded runner on SQLite; the restarted
worker's poll takes the job over once its lease has run out (resumed at start-up).
"""

from __future__ import annotations

import hashlib
import io
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pikepdf
import pytest

from api.bootstrap import Services
from api.cli import OPERATOR
from api.settings import Settings
from records.adapters.jobs_celery import CeleryJobRunner
from records.documents import DocumentView
from records.jobs import JobState
from records.model import VersionStatus
from records.services import verify_audit
from tests.fixtures.app import count_rows
from tests.fixtures.jobs import (
    Scan,
    WorkerProcess,
    add_scans,
    empty_broker,
    finished,
    job_row,
    job_services,
    job_settings,
    open_dossier,
    page_rows,
    stored_blobs,
    version_row,
    wait_for_job,
    write_scan,
)
from tests.fixtures.pages import PageSpec, cer

pytestmark = [pytest.mark.fault, pytest.mark.integration]

PAGES = [PageSpec(document=n) for n in range(3)]  # three A4 papers: 2-3 s of OCR each
KNOBS: dict[str, Any] = {"job_lease_seconds": 4, "celery_visibility_timeout": 5}
RUNNING_S = 60.0
RESUMED_S = 90.0
STRAYS_S = 2.0  # a page of OCR takes longer: a child that lives on is seen


@pytest.fixture(params=[pytest.param("celery", marks=pytest.mark.postgres), "local"])
def backend(request: pytest.FixtureRequest,
            tmp_path: Path) -> Iterator[tuple[Settings, Services]]:
    data = tmp_path / "data"
    if request.param == "local":
        settings = job_settings(data, backend="local", **KNOBS)
        services = job_services(settings)
        try:
            yield settings, services
        finally:
            services.close()
        return
    database_url: str = request.getfixturevalue("postgres_db_url")
    with empty_broker(request.getfixturevalue("redis_url")) as broker_url:
        settings = job_settings(data, backend="celery", database_url=database_url,
                                redis_url=broker_url, **KNOBS)
        services = job_services(settings)
        try:
            yield settings, services
        finally:
            runner = services.runner
            assert isinstance(runner, CeleryJobRunner)
            runner.app.close()
            services.close()


def _kill_mid_ocr(services: Services, worker: WorkerProcess, scans: list[Scan]) -> DocumentView:
    """Start ``worker``, add a paper of ``scans``, and SIGKILL the worker's process group
    once its job is running with at least one page, and not all pages, done."""
    who, code = open_dossier(services)
    worker.start()
    view = add_scans(services, who, code, scans)
    assert view.job is not None
    running = wait_for_job(
        services, view.job.id,
        lambda j: j.state is JobState.RUNNING and j.progress_done >= 1,
        timeout=RUNNING_S, what="running with a page done", worker=worker)
    assert (running.attempts, running.progress_total) == (1, len(scans))
    assert running.progress_done < len(scans), "OCR finished before the kill: too late"
    worker.kill()
    return view


def test_a_worker_killed_mid_ocr_is_resumed_with_one_archival_copy(
        backend: tuple[Settings, Services], tmp_path: Path) -> None:
    settings, services = backend
    scans = [write_scan(tmp_path / "in", f"trang-{n}.png", spec)
             for n, spec in enumerate(PAGES, start=1)]
    originals = {s.sha256 for s in scans}
    first = WorkerProcess(settings, tmp_path, "worker-1")
    second = WorkerProcess(settings, tmp_path, "worker-2")
    try:
        view = _kill_mid_ocr(services, first, scans)
        assert view.job is not None
        job_id = view.job.id

        killed = job_row(services, job_id)
        assert (killed.state, killed.attempts) == (JobState.RUNNING, 1)
        assert version_row(services, view.document.id).status is VersionStatus.PROCESSING
        assert stored_blobs(services) == originals  # no archival copy was written yet

        second.start()
        done = wait_for_job(services, job_id, finished, timeout=RESUMED_S,
                            what="finished after the restart", worker=second)
        # Run once more and only once: one attempt killed, one completed.
        assert (done.state, done.attempts, done.last_error, done.pending_output) == (
            JobState.DONE, 2, None, None)
        if settings.job_backend == "celery":
            assert second.task_results().count("done") == 1
        version = version_row(services, view.document.id)
        assert (version.status, version.page_count, version.failure) == (
            VersionStatus.READY, 3, None)
        assert [f.sha256 for f in version.files] == [s.sha256 for s in scans]
        archival = version.archival_sha256
        assert archival is not None
        assert archival not in originals
        # Every stored blob is an original or the one archival copy: no orphan.
        assert stored_blobs(services) == originals | {archival}
        for scan in scans:
            data = services.blobs.get(scan.sha256)
            assert data == scan.data
            assert hashlib.sha256(data).hexdigest() == scan.sha256
        with pikepdf.open(io.BytesIO(services.blobs.get(archival))) as pdf:
            assert len(pdf.pages) == 3
        pages = page_rows(services, view.document.id)
        assert [p.number for p in pages] == [1, 2, 3]
        for page, scan in zip(pages, scans, strict=True):
            assert cer(scan.truth, page.text) <= 0.02
        report = verify_audit(services.records, OPERATOR)
        assert (report.intact, report.problem) == (True, None)
        assert report.checked == count_rows(services.engine, "audit_log")["audit_log"]
    finally:
        second.close()
        first.close()


@pytest.mark.parametrize("backend", ["local"], indirect=True)
def test_a_killed_worker_leaves_no_process_and_no_scratch_files_behind(
        backend: tuple[Settings, Services], tmp_path: Path) -> None:
    """What the OCR of a killed attempt started dies with the worker, and its scratch
    files are gone once the job is done. (The code concerned, ``ocr_pipeline.isolation``
    and ``ocr_pipeline.tasks``, is the same for every backend: the embedded one is enough.)
    """
    settings, services = backend
    # Four pages, killed after the first or second: seconds of OCR left to the child.
    scans = [write_scan(tmp_path / "in", f"trang-{n}.png", PageSpec(document=n))
             for n in range(1, 5)]
    first = WorkerProcess(settings, tmp_path, "worker-1")
    second = WorkerProcess(settings, tmp_path, "worker-2")
    try:
        view = _kill_mid_ocr(services, first, scans)
        assert view.job is not None
        # The OCR child runs in a session of its own (to be killed with its tree on a
        # timeout), so the group's SIGKILL does not reach it: it must notice by itself.
        end = time.monotonic() + STRAYS_S
        while (strays := first.strays()) and time.monotonic() < end:
            time.sleep(0.1)
        assert strays == [], _describe(strays)

        second.start()
        done = wait_for_job(services, view.job.id, finished, timeout=RESUMED_S,
                            what="finished after the restart", worker=second)
        assert (done.state, done.attempts) == (JobState.DONE, 2)
        assert sorted(p.name for p in (settings.data_dir / "work").iterdir()) == []
    finally:
        second.close()
        first.close()


def _describe(pids: list[int]) -> str:
    lines = []
    for pid in pids:
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            cmdline = b"?"
        lines.append(f"{pid}: {cmdline.decode(errors='replace')[:200]}")
    return "processes of the killed worker still running:\n" + "\n".join(lines)
