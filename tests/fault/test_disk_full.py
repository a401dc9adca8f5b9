"""The blob volume fills up (filesystem backend): uploads are refused with 507 and a
Vietnamese message, nothing half-written remains, and an OCR job that cannot store its
archival copy is retried and finishes once space is freed.

The store's directory (``data_dir/blobs``) is an 8 MiB tmpfs mounted for the test (the
suite runs as root in CI; elsewhere the test is skipped with the reason). The database, the
upload spool and the OCR scratch folder stay on the ordinary disk: only the blob writes meet
the full volume, as when an operator's blob volume is the one that fills.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from records.jobs import JobState
from tests.fixtures.app import is_vietnamese
from tests.fixtures.faults import check_invariants, desk, report_line
from tests.fixtures.jobs import job_row, stored_blobs

pytestmark = [pytest.mark.fault, pytest.mark.integration]

FULL = {"code": "storage_full", "field": None,
        "message": "Kho lưu trữ đã hết dung lượng, tệp chưa được lưu. Vui lòng báo quản trị "
                   "hệ thống và thử lại sau."}
OCR_S = 60.0


@pytest.fixture
def small_volume(tmp_path: Path) -> Iterator[Path]:
    """``tmp_path/data/blobs`` as an 8 MiB tmpfs, unmounted at the end."""
    blobs = tmp_path / "data" / "blobs"
    blobs.mkdir(parents=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(blobs)],
                             capture_output=True, text=True, check=False)
    if mounted.returncode != 0:
        pytest.fail(f"cannot mount a tmpfs for the full disk (the suite runs as root): "
                    f"{mounted.stderr.strip()}")
    try:
        yield blobs
    finally:
        if subprocess.run(["umount", str(blobs)], check=False).returncode != 0:
            subprocess.run(["umount", "-l", str(blobs)], check=False)


def _fill(volume: Path) -> Path:
    """Write a filler file until the volume refuses another byte."""
    filler = volume / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with contextlib.suppress(OSError):
            while True:
                os.write(fd, b"\0" * 4096)
    finally:
        os.close(fd)
    assert os.statvfs(volume).f_bavail == 0
    return filler


def test_a_full_blob_volume_refuses_uploads_with_507_and_jobs_finish_after_space_is_freed(
        small_volume: Path, tmp_path: Path) -> None:
    with desk(tmp_path) as at:
        services, runner, client, clerk = at.services, at.runner, at.client, at.clerk
        first, second = at.scans
        status, body = at.upload("don.png", first)
        assert status == 202, body
        doc = str(body["doc_code"])
        job_id = at.job_of(doc)
        blobs_before = stored_blobs(services)

        # Full: the upload is refused, nothing half-written, no row.
        filler = _fill(small_volume)
        rows = at.rows()
        status, body = at.upload("trang-2.png", second)
        assert (status, body) == (507, {"error": FULL})
        assert is_vietnamese(FULL["message"] or "")
        assert at.rows() == rows
        assert stored_blobs(services) == blobs_before
        assert list((small_volume / "tmp").iterdir()) == []
        assert list((at.settings.data_dir / "tmp").iterdir()) == []

        # The OCR job cannot store its archival copy: a transient failure, retried later.
        runner.run_due()
        failed = job_row(services, job_id)
        assert (failed.state, failed.attempts) == (JobState.FAILED, 1), failed
        assert "blob volume full" in (failed.last_error or "")
        assert stored_blobs(services) == blobs_before
        assert list((small_volume / "tmp").iterdir()) == []
        assert client.get(f"/api/v1/documents/{doc}", headers=clerk).json()["status"] == (
            "processing")

        # Space freed: the job finishes, the refused upload is accepted when sent again.
        filler.unlink()
        assert runner.wait_for([job_id], timeout=OCR_S)
        done = job_row(services, job_id)
        assert (done.state, done.attempts, done.last_error) == (JobState.DONE, 2, None)
        status, body = at.upload("trang-2.png", second)
        assert status == 202, body
        queued = job_row(services, at.job_of(str(body["doc_code"])))
        assert (queued.state, queued.attempts) == (JobState.QUEUED, 0)  # its OCR as any

        view = client.get(f"/api/v1/documents/{doc}", headers=clerk).json()
        lost = int(view["status"] != "ready")
        invariants = check_invariants(services, jobs_must_end=False)  # the one just queued
        report_line("blob volume full (upload, OCR output)", 1, lost=lost,
                    duplicated=len(invariants.duplicated),
                    extra=f"upload refused with 507, job done after {done.attempts} "
                          f"attempts, {invariants.blobs} blobs re-hashed")
        assert lost == 0
        invariants.assert_intact()
