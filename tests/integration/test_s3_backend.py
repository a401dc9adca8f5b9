"""The documents service on the S3 backend (``moto_server`` with object lock): an upload
through the API lands in the bucket, OCR reads it back from there, downloads come back byte
for byte, a refused or failed upload leaves the bucket as it was, and an unreachable server
is answered with 503 ``storage_unavailable`` and no rows."""

from __future__ import annotations

import hashlib
import io
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pikepdf
import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import select, text

from api.app import create_app
from api.bootstrap import Services, bootstrap
from api.demo import PROCEDURES, seed_demo
from records.adapters.clock import ManualClock
from records.adapters.jobs_local import LocalJobRunner
from records.adapters.sql import tables
from tests.fixtures.app import FAST_ARGON2, HermeticSettings, bearer, count_rows, is_vietnamese
from tests.fixtures.app import token_for as login
from tests.fixtures.pages import PageSize, PageSpec, make_page, save_page
from tests.fixtures.s3 import S3Server

pytestmark = [
    pytest.mark.integration,
    pytest.mark.s3,
]

T0 = datetime(2026, 11, 19, 3, 0, tzinfo=UTC)
OWNER_ID, OWNER = "022190001234", "Nguyễn Thị Hương"
TABLES = ("documents", "document_versions", "document_files", "document_pages",
          "document_counters", "jobs", "audit_log")
STORAGE_UNAVAILABLE = {"error": {"code": "storage_unavailable", "field": None,
                                 "message": "Kho lưu trữ tạm thời không truy cập được. Vui "
                                            "lòng thử lại sau ít phút."}}


def _closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _services(data_dir: Path, endpoint: str, s3: S3Server, bucket: str) -> Services:
    settings = HermeticSettings(
        data_dir=data_dir, blob_backend="s3", s3_endpoint=endpoint,
        s3_access_key=s3.access_key, s3_secret_key=s3.secret_key, s3_bucket=bucket,
        s3_region=s3.region, s3_secure=False, s3_object_lock=True, **FAST_ARGON2)
    return bootstrap(settings, clock=ManualClock(T0))


@dataclass
class Office:
    client: TestClient
    services: Services
    s3: S3Server
    bucket: str
    clerk: dict[str, str]
    dossier: str

    def upload(self, name: str, body: bytes, client: TestClient | None = None) -> Response:
        return (client or self.client).post(
            f"/api/v1/dossiers/{self.dossier}/documents", headers=self.clerk,
            data={"component_code": "DON"}, files=[("files", (name, body, "image/png"))])

    def bucket_objects(self) -> list[tuple[str, str | None]]:
        """Every object version in the bucket: (key, version id)."""
        listed = self.s3.client().list_objects(self.bucket, recursive=True,
                                               include_version=True)
        return sorted((str(o.object_name), o.version_id) for o in listed)

    def rows(self) -> dict[str, int]:
        return count_rows(self.services.engine, *TABLES)


@pytest.fixture
def office(tmp_path: Path, s3_server: S3Server, s3_bucket_name: str) -> Iterator[Office]:
    services = _services(tmp_path, s3_server.endpoint, s3_server, s3_bucket_name)
    seed_demo(services)
    client = TestClient(create_app(services))  # not entered: jobs run when the test says
    try:
        clerk = bearer(login(client, "tiepnhan"))
        created = client.post("/api/v1/dossiers", headers=clerk, json={
            "procedure_code": PROCEDURES[0].code, "applicant_id": OWNER_ID,
            "applicant_name": OWNER})
        assert created.status_code == 201, created.text
        yield Office(client=client, services=services, s3=s3_server, bucket=s3_bucket_name,
                     clerk=clerk, dossier=created.json()["code"])
    finally:
        client.close()
        services.close()


@pytest.fixture(scope="module")
def scan(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    folder = tmp_path_factory.mktemp("scan")
    return save_page(make_page(PageSpec(size=PageSize.HALF)), folder / "don.png").read_bytes()


def _job_of(services: Services, doc_code: str) -> int:
    d, j = tables.documents.c, tables.jobs.c
    with services.engine.connect() as connection:
        return int(connection.execute(select(j.id).join(tables.documents, d.id == j.document_id)
                                      .where(d.doc_code == doc_code)).scalar_one())


def _key(sha256: str) -> str:
    return f"sha256/{sha256[:2]}/{sha256}"


def test_upload_digitise_and_download_through_the_bucket(office: Office, scan: bytes) -> None:
    up = office.upload("don.png", scan)
    assert up.status_code == 202, up.text
    doc = up.json()["doc_code"]
    original = hashlib.sha256(scan).hexdigest()
    assert [key for key, _ in office.bucket_objects()] == [_key(original)]
    # The service made the bucket with object lock (hence versioning) on first use.
    sdk = office.s3.client()
    assert sdk.get_bucket_versioning(office.bucket).status == "Enabled"
    sdk.get_object_lock_config(office.bucket)  # raises if the bucket has no lock

    job = _job_of(office.services, doc)
    runner = office.services.runner
    assert isinstance(runner, LocalJobRunner)
    assert runner.wait_for([job], timeout=120)
    view = office.client.get(f"/api/v1/documents/{doc}", headers=office.clerk).json()
    assert (view["status"], view["job"]["state"]) == ("ready", "done"), view
    assert OWNER in view["pages"][0]["text"]
    archival = view["archival_sha256"]
    assert sorted(key for key, _ in office.bucket_objects()) == sorted(
        [_key(original), _key(archival)])

    back = office.client.get(f"/api/v1/documents/{doc}/files/0", headers=office.clerk)
    assert (back.status_code, back.content) == (200, scan)
    pdf = office.client.get(f"/api/v1/documents/{doc}/archival", headers=office.clerk)
    assert pdf.status_code == 200
    assert pdf.content.startswith(b"%PDF")
    assert hashlib.sha256(pdf.content).hexdigest() == archival
    with pikepdf.open(io.BytesIO(pdf.content)) as opened:
        assert opened.open_metadata().get("pdfaid:part") == "2"
    # What the bucket holds is what was sent: read behind the service's back.
    stored = office.s3.client().get_object(office.bucket, _key(original))
    try:
        assert stored.read() == scan
    finally:
        stored.close()
        stored.release_conn()


def test_a_refused_upload_leaves_the_bucket_unchanged(office: Office, scan: bytes) -> None:
    office.upload("don.png", scan)  # the bucket exists and holds something
    objects, rows = office.bucket_objects(), office.rows()
    refused = office.upload("hong.png", scan[: len(scan) // 2])
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["code"] == "image_corrupt"
    assert office.bucket_objects() == objects
    assert office.rows() == {**rows, "audit_log": rows["audit_log"] + 1}  # the refusal


def test_a_failed_write_removes_the_fresh_blob_from_the_locked_bucket(
        office: Office, scan: bytes) -> None:
    office.upload("trang-khac.png", _other_png(scan))  # the bucket exists and holds something
    objects, rows = office.bucket_objects(), office.rows()
    with office.services.engine.begin() as connection:
        connection.execute(text("ALTER TABLE jobs RENAME TO jobs_away"))
    failing = TestClient(office.client.app, raise_server_exceptions=False)
    try:
        assert office.upload("don.png", scan, client=failing).status_code == 500
    finally:
        failing.close()
        with office.services.engine.begin() as connection:
            connection.execute(text("ALTER TABLE jobs_away RENAME TO jobs"))
    assert office.bucket_objects() == objects  # every version of the new object is gone
    assert office.rows() == rows


def _other_png(scan: bytes) -> bytes:
    """A different, valid page: the same scan at another size."""
    page = make_page(PageSpec(size=PageSize.HALF, document=3))
    buffer = io.BytesIO()
    page.image.resize((620, 438)).save(buffer, "PNG")
    assert buffer.getvalue() != scan
    return buffer.getvalue()


def test_an_unreachable_server_answers_503_and_writes_nothing(
        office: Office, scan: bytes, tmp_path: Path) -> None:
    office.upload("don.png", scan)
    objects = office.bucket_objects()
    # The same installation (same database), but the S3 server cannot be reached.
    away = _services(tmp_path, f"127.0.0.1:{_closed_port()}", office.s3, office.bucket)
    client = TestClient(create_app(away))
    try:
        rows = count_rows(away.engine, *TABLES)
        response = client.post(f"/api/v1/dossiers/{office.dossier}/documents",
                               headers=office.clerk, data={"component_code": "DON"},
                               files=[("files", ("moi.png", _other_png(scan), "image/png"))])
        assert (response.status_code, response.json()) == (503, STORAGE_UNAVAILABLE)
        assert response.headers["retry-after"] == "30"
        assert is_vietnamese(response.json()["error"]["message"])
        assert count_rows(away.engine, *TABLES) == rows
        assert list((tmp_path / "tmp").iterdir()) == []
    finally:
        client.close()
        away.close()
    assert office.bucket_objects() == objects
