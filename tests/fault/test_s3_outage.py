"""The S3 server goes away (``MOTCUA_BLOB_BACKEND=s3``): the API says so, stores nothing
partial, and the OCR job caught by the outage is retried and finishes once it is back.

The service reaches ``moto_server`` through a TCP relay the test cuts and restores (moto
keeps no state across a restart, and a paused server would only time out after the
client's 30 s read timeout). Cut, the relay resets every connection, as a vanished server
does.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from api.bootstrap import Services
from records.jobs import Job, JobState
from tests.fixtures.faults import TcpCut, check_invariants, desk, report_line
from tests.fixtures.jobs import job_row
from tests.fixtures.s3 import S3Server

pytestmark = [pytest.mark.fault, pytest.mark.integration, pytest.mark.s3]

UNAVAILABLE = {"code": "storage_unavailable", "field": None,
               "message": "Kho lưu trữ tạm thời không truy cập được. Vui lòng thử lại sau "
                          "ít phút."}
OCR_S = 60.0
# Long enough to restore the server before the retry: the test sees the failure within
# 0.05 s (its poll) and restores the relay at once; as JOB_KNOBS, the job tests' backoff.
BACKOFF_S = 1.0


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


def _wait(services: Services, job_id: int, until: str, *, timeout: float) -> Job:
    end = time.monotonic() + timeout
    while (job := job_row(services, job_id)).state.value != until:
        assert time.monotonic() < end, f"job {job_id} not {until}: {job}"
        assert job.state is not JobState.QUARANTINED, job
        time.sleep(0.05)
    return job


def test_an_s3_outage_answers_503_stores_nothing_and_the_job_finishes_after_it(
        relay: TcpCut, s3_server: S3Server, s3_bucket_name: str, tmp_path: Path) -> None:
    with desk(tmp_path, job_backoff_seconds=BACKOFF_S, blob_backend="s3",
              s3_endpoint=relay.endpoint, s3_access_key=s3_server.access_key,
              s3_secret_key=s3_server.secret_key, s3_bucket=s3_bucket_name,
              s3_region=s3_server.region, s3_secure=False, s3_object_lock=True
              ) as at, contextlib.ExitStack() as on_exit:
        on_exit.callback(relay.restore)  # the desk is closed with the server reachable
        services, runner, client, clerk = at.services, at.runner, at.client, at.clerk
        first, second = at.scans
        status, body = at.upload("don.png", first)
        assert status == 202, body
        doc = str(body["doc_code"])
        job_id = at.job_of(doc)

        # Outage: an upload and a download answer 503 in Vietnamese, nothing is written.
        rows, objects = at.rows(), _objects(s3_server, s3_bucket_name)
        relay.cut()
        began = time.monotonic()
        status, body = at.upload("trang-2.png", second)
        assert (status, body) == (503, {"error": UNAVAILABLE})
        refused_in = time.monotonic() - began
        assert list((at.settings.data_dir / "tmp").iterdir()) == []  # spooled upload gone
        download = client.get(f"/api/v1/documents/{doc}/files/0", headers=clerk)
        assert (download.status_code, download.json()) == (503, {"error": UNAVAILABLE})
        assert download.headers["Retry-After"] == "30"
        assert list((at.settings.data_dir / "tmp").iterdir()) == []  # no scratch copy either
        assert at.rows() == rows  # no document, no job
        assert _objects(s3_server, s3_bucket_name) == objects
        relay.restore()

        # The OCR job is cut off mid-way (its inputs read, OCR running): a transient
        # failure, retried after the backoff, done once the server is back.
        worker = threading.Thread(target=runner.wait_for, args=([job_id],),
                                  kwargs={"timeout": OCR_S}, daemon=True)
        worker.start()
        end = time.monotonic() + OCR_S
        while not list((at.settings.data_dir / "work").glob(f"job-{job_id}-*/progress")):
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
        status, body = at.upload("trang-2.png", second)
        assert status == 202, body
        assert runner.wait_for([at.job_of(str(body["doc_code"]))], timeout=OCR_S)

        invariants = check_invariants(services)
        lost = int(view["status"] != "ready")
        report_line("s3 server cut (upload, download, mid-OCR)", 1, lost=lost,
                    duplicated=len(invariants.duplicated),
                    extra=f"upload refused in {refused_in:.1f} s, job done after "
                          f"{done.attempts} attempts, {invariants.blobs} blobs re-hashed")
        invariants.assert_intact()
