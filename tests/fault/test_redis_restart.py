"""Redis restarted with jobs queued (Celery backend): the broker comes back empty, and the
database, not the broker, is what says which work is owed.

OCR jobs are queued through ``add_document`` and published to a private ``redis-server``;
before any worker has consumed them Redis is killed (no persistence: its messages are gone)
and started again, empty, on the same port. A ``motcua worker`` started then finds nothing
in the queue: its sweeper republishes the queued jobs from the database, and every job ends
done exactly once (one attempt, one "done" task), with nothing lost or duplicated.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from api.bootstrap import Services
from records.adapters.jobs_celery import CeleryJobRunner
from records.jobs import JobState
from records.model import VersionStatus
from tests.fixtures.faults import RestartableRedis, check_invariants, report_line
from tests.fixtures.jobs import (
    WorkerProcess,
    add_scans,
    finished,
    job_services,
    job_settings,
    open_dossier,
    version_row,
    wait_for_job,
    write_scan,
)
from tests.fixtures.pages import PageSize, PageSpec
from tests.fixtures.services import free_port

pytestmark = [pytest.mark.fault, pytest.mark.integration, pytest.mark.postgres]

PAPERS = 2  # half-page scans: about a second of OCR each
DONE_S = 90.0


@pytest.fixture
def broker() -> Iterator[RestartableRedis]:
    server = RestartableRedis(free_port())
    try:
        server.start()
    except RuntimeError as exc:
        server.close()
        pytest.skip(f"Redis tests skipped: no Redis server (redis-server) could be started: {exc}")
    try:
        yield server
    finally:
        server.close()


def _queued_messages(url: str) -> int:
    client = redis.Redis.from_url(url)
    try:
        return int(client.llen("ocr"))
    finally:
        client.close()


def test_jobs_queued_when_redis_restarts_empty_are_republished_and_done_once(
        broker: RestartableRedis, postgres_db_url: str, tmp_path: Path) -> None:
    settings = job_settings(tmp_path / "data", backend="celery", database_url=postgres_db_url,
                            redis_url=broker.url)
    services: Services = job_services(settings)
    # Two jobs at once, as docker-compose.yml runs the ocr worker: the two OCR runs overlap.
    worker = WorkerProcess(settings, tmp_path, "worker", concurrency=PAPERS)
    try:
        who, code = open_dossier(services)
        papers = [add_scans(services, who, code, [write_scan(
            tmp_path / "in", f"trang-{n}.png", PageSpec(size=PageSize.HALF, document=n))])
            for n in range(PAPERS)]
        job_ids = [view.job.id for view in papers if view.job is not None]
        assert len(job_ids) == PAPERS
        assert _queued_messages(broker.url) == PAPERS  # published, not consumed

        broker.kill()
        broker.start()
        assert _queued_messages(broker.url) == 0  # the restarted broker knows nothing

        worker.start()
        jobs = [wait_for_job(services, job_id, finished, timeout=DONE_S,
                             what="done after the restart", worker=worker)
                for job_id in job_ids]
        assert [(j.state, j.attempts, j.last_error) for j in jobs] == [
            (JobState.DONE, 1, None)] * PAPERS
        assert worker.task_results().count("done") == PAPERS  # others were "not_claimed"
        lost = sum(version_row(services, view.document.id).status is not VersionStatus.READY
                   for view in papers)
        invariants = check_invariants(services)
        report_line("redis restarted empty with jobs queued (celery)", 1, lost=lost,
                    duplicated=len(invariants.duplicated),
                    extra=f"{PAPERS} messages lost with Redis, {PAPERS} jobs republished "
                          f"from the database and done once, {invariants.blobs} blobs "
                          f"re-hashed")
        assert lost == 0
        invariants.assert_intact()
    finally:
        worker.close()
        runner = services.runner
        if isinstance(runner, CeleryJobRunner):
            runner.app.close()
        services.close()
