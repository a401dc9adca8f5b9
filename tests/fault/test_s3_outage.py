"""The S3 server goes away (``MOTCUA_BLOB_BACKEND=s3``): the API says so, stores nothing
partial, and the OCR job caught by the outage is retried and finishes once it is back.

The service reaches ``moto_server`` through a TCP relay the test cuts and restores (moto
keeps no state across a restart, and a paused server would only time out after the
client's 30 s read timeout). Cut, the relay resets every connection, as a vanished server
does.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.app import create_app
from api.bootstrap import Services
from api.demo import PROCEDURES
from records.adapters.jobs_local import LocalJobRunner
from records.adapters.sql import tables
from records.jobs import Job, JobState
from tests.fixtures.app import bearer, count_rows, token_for
from tests.fixtures.faults import TcpCut, check_invariants, report_line
from tests.fixtures.jobs import job_row, job_services, job_settings
from tests.fixtures.pages import PageSize, PageSpec, make_page, save_page
from tests.fixtures.s3 import S3Server

pytestmark = [pytest.mark.fault, pytest.mark.integration, pytest.mark.s3]

TABLES = ("documents", "document_versions", "document_files", "jobs")
UNAVAILABLE = {"code": "storage_unavailable", "field": None,
               "message": "Kho lưu trữ tạm thời không truy cập được. Vui lòng thử lại sau "
                          "ít phút."}
OCR_S = 60.0
# Long enough to restore the server before the retry; short enough for the suite.
BACKOFF_S = 3.0


@pytest.fixture
def relay(s3_server: S3Server) -> Iterator[TcpCut]:
    host, port = s3_server.endpoint.rsplit(":", 1)
    cut = TcpCut((host, int(port)))
    try:
        yield cut
    finally:
        cut.close()


def _objects(s3: S3Server, bucket: str) -> list[str]:
    """Every object version in the bucket, read past the relay."""
    listed = s3.client().list_objects(bucket, recursive=True, include_version=True)
    return sorted(f"{o.object_name}@{o.version_id}" for o in listed)


def _upload(client: TestClient, clerk: dict[str, str], dossier: str, name: str,
            body: bytes) -> tuple[int, dict[str, object]]:
    response = client.post(f"/api/v1/dossiers/{dossier}/documents", headers=clerk,
                           data={"component_code": "DON"},
                           files=[("files", (name, body, "image/png"))])
    return response.status_code, response.json()


def _job_of(services: Services, doc_code: str) -> int:
    d, j = tables.documents.c, tables.jobs.c
    with services.engine.connect() as connection:
        return int(connection.execute(select(j.id).join(tables.documents, d.id == j.document_id)
                                      .where(d.doc_code == doc_code)).scalar_one())


def _wait(services: Services, job_id: int, until: str, *, timeout: float) -> Job:
    end = time.monotonic() + timeout
    while (job := job_row(services, job_id)).state.value != until:
        assert time.monotonic() < end, f"job {job_id} not {until}: {job}"
        assert job.state is not JobState.QUARANTINED, job
        time.sleep(0.05)
    return job


def test_an_s3_outage_answers_503_stores_nothing_and_the_job_finishes_after_it(
        relay: TcpCut, s3_server: S3Server, s3_bucket_name: str, tmp_path: Path) -> None:
    settings = job_settings(
        tmp_path / "data", backend="local", job_backoff_seconds=BACKOFF_S,
        blob_backend="s3", s3_endpoint=relay.endpoint, s3_access_key=s3_server.access_key,
        s3_secret_key=s3_server.secret_key, s3_bucket=s3_bucket_name,
        s3_region=s3_server.region, s3_secure=False, s3_object_lock=True)
    services = job_services(settings)
    runner = services.runner
    assert isinstance(runner, LocalJobRunner)
    client = TestClient(create_app(services))  # not entered: jobs run when the test says
    folder = tmp_path / "in"
    folder.mkdir()
    first, second = (save_page(make_page(PageSpec(size=PageSize.HALF, document=n)),
                               folder / f"trang-{n}.png").read_bytes() for n in (0, 1))
    try:
        clerk = bearer(token_for(client, "tiepnhan"))
        created = client.post("/api/v1/dossiers", headers=clerk, json={
            "procedure_code": PROCEDURES[0].code, "applicant_id": "022190001234",
            "applicant_name": "Nguyễn Thị Hương"})
        assert created.status_code == 201, created.text
        dossier = str(created.json()["code"])
        status, body = _upload(client, clerk, dossier, "don.png", first)
        assert status == 202, body
        doc = str(body["doc_code"])
        job_id = _job_of(services, doc)

        # Outage: an upload and a download answer 503 in Vietnamese, nothing is written.
        rows, objects = count_rows(services.engine, *TABLES), _objects(s3_server,
                                                                        s3_bucket_name)
        relay.cut()
        began = time.monotonic()
        status, body = _upload(client, clerk, dossier, "trang-2.png", second)
        assert (status, body) == (503, {"error": UNAVAILABLE})
        refused_in = time.monotonic() - began
        assert list((settings.data_dir / "tmp").iterdir()) == []  # spooled upload gone
        download = client.get(f"/api/v1/documents/{doc}/files/0", headers=clerk)
        assert (download.status_code, download.json()) == (503, {"error": UNAVAILABLE})
        assert download.headers["Retry-After"] == "30"
        assert list((settings.data_dir / "tmp").iterdir()) == []  # no scratch copy either
        assert count_rows(services.engine, *TABLES) == rows  # no document, no job
        assert _objects(s3_server, s3_bucket_name) == objects
        relay.restore()

        # The OCR job is cut off mid-way (its inputs read, OCR running): a transient
        # failure, retried after the backoff, done once the server is back.
        worker = threading.Thread(target=runner.wait_for, args=([job_id],),
                                  kwargs={"timeout": OCR_S}, daemon=True)
        worker.start()
        end = time.monotonic() + OCR_S
        while not list((settings.data_dir / "work").glob(f"job-{job_id}-*/progress")):
            assert time.monotonic() < end, "OCR never started"
            time.sleep(0.02)
        relay.cut()
        failed = _wait(services, job_id, "failed", timeout=OCR_S)
        assert failed.attempts == 1
        assert "S3 server unavailable" in (failed.last_error or "")
        relay.restore()
        worker.join(OCR_S + 5)
        done = job_row(services, job_id)
        assert (done.state, done.attempts, done.last_error) == (JobState.DONE, 2, None)
        view = client.get(f"/api/v1/documents/{doc}", headers=clerk).json()
        assert view["status"] == "ready", view
        archival = client.get(f"/api/v1/documents/{doc}/archival", headers=clerk)
        assert archival.status_code == 200
        assert hashlib.sha256(archival.content).hexdigest() == view["archival_sha256"]

        # The refused upload, sent again, is accepted.
        status, body = _upload(client, clerk, dossier, "trang-2.png", second)
        assert status == 202, body
        assert runner.wait_for([_job_of(services, str(body["doc_code"]))], timeout=OCR_S)

        invariants = check_invariants(services)
        lost = int(view["status"] != "ready")
        report_line("s3 server cut (upload, download, mid-OCR)", 1, lost=lost,
                    duplicated=len(invariants.duplicated),
                    extra=f"upload refused in {refused_in:.1f} s, job done after "
                          f"{done.attempts} attempts, {invariants.blobs} blobs re-hashed")
        invariants.assert_intact()
    finally:
        relay.restore()
        client.close()
        services.close()
