"""Documents through the HTTP API, end to end: a clerk uploads scans, real tesseract reads
them, the citizen's papers come back byte for byte, and every refused upload stores nothing.

The application runs without its lifespan (the ``TestClient`` is not entered), so the
embedded runner's threads never start: a job runs only when a test calls
``services.runner.wait_for``, in the test's own thread. Pages are half A4 to keep OCR short.
"""

from __future__ import annotations

import hashlib
import io
import json
import random
import struct
import subprocess
import unicodedata
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pikepdf
import pytest
from fastapi.testclient import TestClient
from fpdf import FPDF
from fpdf.enums import XPos, YPos
from httpx import Response
from sqlalchemy import select, text

from api.app import create_app
from api.bootstrap import Services, bootstrap
from api.demo import BRANCH_WARD, DEMO_PASSWORD, PROCEDURES, seed_demo
from records.accounts import create_user
from records.adapters.clock import ManualClock
from records.adapters.jobs_local import LocalJobRunner
from records.adapters.sql import tables
from records.model import Role
from records.services import verify_audit
from tests.fixtures.app import (
    FAST_ARGON2,
    HermeticSettings,
    bearer,
    count_rows,
    is_vietnamese,
    principal,
    token_for,
)
from tests.fixtures.pages import FONTS, PageSize, PageSpec, make_page, save_page

pytestmark = pytest.mark.e2e

T0 = datetime(2026, 11, 19, 3, 0, tzinfo=UTC)  # Thursday 10:00 in Hà Nội
LAND = PROCEDURES[0].code
OWNER_ID, OWNER = "022190001234", "Nguyễn Thị Hương"
OTHER_ID = "038190004321"
TYPES = {c.code: c.document_type for c in PROCEDURES[0].components}
SHA256 = r"[0-9a-f]{64}"
# Everything an upload writes besides the audit trail; a refused upload changes none of it.
DOCUMENT_TABLES = ("documents", "document_versions", "document_files", "document_pages",
                   "document_counters", "jobs")
MISSING_DOC = "000.00.15.H40_don_dang_ky_dat_dai_999999"
DOCUMENT_NOT_FOUND = {"error": {"code": "document_not_found", "field": None,
                                "message": "Không tìm thấy tài liệu."}}


# --- the application -------------------------------------------------------------------------


@dataclass
class Desk:
    """The API of one installation, its services, and a clerk's login."""

    client: TestClient
    services: Services

    @property
    def data_dir(self) -> Path:
        return self.services.settings.data_dir

    def login(self, username: str) -> dict[str, str]:
        return bearer(token_for(self.client, username))

    def open_dossier(self, headers: dict[str, str] | None = None) -> str:
        """A land dossier for the demo citizen, opened at the desk (status ``received``)."""
        response = self.client.post("/api/v1/dossiers", headers=headers or self.login(
            "tiepnhan"), json={"procedure_code": LAND, "applicant_id": OWNER_ID,
                               "applicant_name": OWNER})
        assert response.status_code == 201, response.text
        return str(response.json()["code"])

    def upload(self, headers: dict[str, str], dossier: str, *files: tuple[str, bytes],
               component: str = "DON") -> Response:
        return self.client.post(f"/api/v1/dossiers/{dossier}/documents",
                                data={"component_code": component},
                                files=[("files", (name, body, "application/octet-stream"))
                                       for name, body in files],
                                headers=headers)

    def run(self, job_id: int) -> None:
        """Run the job here, in this thread, until it is finished."""
        runner = self.services.runner
        assert isinstance(runner, LocalJobRunner)
        assert runner.wait_for([job_id], timeout=120)
        states = self.services.jobs.jobs.job_states({job_id})
        assert states == {job_id: "done"}

    def stored(self) -> tuple[dict[str, int], list[str]]:
        """Rows of the document tables, and every file in the blob store's directory."""
        root = self.data_dir / "blobs"
        files = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
        return count_rows(self.services.engine, *DOCUMENT_TABLES), files

    def audit(self, object_id: str | None = None) -> list[tuple[str, str, str, dict[str, Any]]]:
        """(actor, action, object id, detail) of the audit entries, oldest first."""
        log = tables.audit_log.c
        query = select(log.actor, log.action, log.object_id, log.detail).order_by(log.seq)
        if object_id is not None:
            query = query.where(log.object_id == object_id)
        with self.services.engine.connect() as connection:
            return [(r.actor, r.action, r.object_id, json.loads(r.detail))
                    for r in connection.execute(query)]


def _services(data_dir: Path, **settings: Any) -> Services:
    services = bootstrap(HermeticSettings(data_dir=data_dir, **FAST_ARGON2, **settings),
                         clock=ManualClock(T0))
    seed_demo(services)
    return services


@contextmanager
def _desk(data_dir: Path, *, raise_server_exceptions: bool = True,
          **settings: Any) -> Iterator[Desk]:
    services = _services(data_dir, **settings)
    # Not entered: no lifespan, so no runner threads; the services are closed here instead.
    client = TestClient(create_app(services), raise_server_exceptions=raise_server_exceptions)
    try:
        yield Desk(client=client, services=services)
    finally:
        client.close()
        services.close()


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[Desk]:
    with _desk(tmp_path) as running:
        yield running


def _ok(response: Response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


def _add_user(desk: Desk, username: str, role: Role, **fields: str) -> dict[str, str]:
    create_user(desk.services.accounts, username=username, password=DEMO_PASSWORD,
                display_name=fields.pop("display_name", username), roles=frozenset({role}),
                **fields)
    return desk.login(username)


# --- what is uploaded ------------------------------------------------------------------------


def _png(spec: PageSpec, folder: Path, name: str) -> bytes:
    return save_page(make_page(spec), folder / name).read_bytes()


@pytest.fixture(scope="module")
def scans(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """Half-A4 scans at 300 dpi: the land application (it names the citizen), a decision."""
    folder = tmp_path_factory.mktemp("scans")
    return {
        "don.png": _png(PageSpec(size=PageSize.HALF, document=0), folder, "don.png"),
        "quyet-dinh.png": _png(PageSpec(size=PageSize.HALF, document=2, font="noto-sans"),
                               folder, "quyet-dinh.png"),
        "don.jpg": save_page(make_page(PageSpec(size=PageSize.HALF, document=0, seed=5)),
                             folder / "don.jpg").read_bytes(),
    }


TEXT_LINES = ("GIẤY XÁC NHẬN TÌNH TRẠNG HÔN NHÂN", f"Họ và tên: {OWNER}",
              f"Số định danh cá nhân: {OWNER_ID}")


def _pdf_with_text() -> bytes:
    """A born-digital PDF: real text (Noto Serif embedded), no image to read."""
    pdf = FPDF(format=(148, 210))
    pdf.add_page()
    pdf.add_font("noto", fname=str(FONTS["noto-serif"][0]))
    pdf.set_font("noto", size=12)
    for line in TEXT_LINES:
        pdf.cell(text=line, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    return bytes(pdf.output())


def _blank_pdf(**save: Any) -> bytes:
    pdf = pikepdf.new()
    pdf.add_blank_page()
    buffer = io.BytesIO()
    pdf.save(buffer, **save)
    return buffer.getvalue()


def _png_bomb(width: int = 20_000, height: int = 20_000) -> bytes:
    """A valid 1-bit PNG of 400 million pixels in about 50 KB: zeros compress well."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data)))

    row = bytes(1 + (width + 7) // 8)  # filter byte 0, then the packed pixels
    packer = zlib.compressobj(9)
    pixels = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels)
            + chunk(b"IEND", b""))


def _pdftotext(pdf: bytes, folder: Path) -> str:
    path = folder / "check.pdf"
    path.write_bytes(pdf)
    done = subprocess.run(["pdftotext", "-raw", "-enc", "UTF-8", str(path), "-"],
                          capture_output=True, text=True, check=True, timeout=60)
    return done.stdout


def _pdfa_part(pdf: bytes) -> tuple[str | None, int]:
    with pikepdf.open(io.BytesIO(pdf)) as opened:
        return opened.open_metadata().get("pdfaid:part"), len(opened.pages)


# --- one land dossier with one digitised paper (shared by the read-only tests) --------------


@dataclass
class Land:
    desk: Desk
    clerk: dict[str, str]
    dossier: str
    upload_status: int
    uploaded: dict[str, Any]
    before_ocr: dict[str, Any]
    scan: bytes

    @property
    def doc(self) -> str:
        return str(self.uploaded["doc_code"])


@pytest.fixture(scope="module")
def land(tmp_path_factory: pytest.TempPathFactory, scans: dict[str, bytes]) -> Iterator[Land]:
    with _desk(tmp_path_factory.mktemp("land")) as running:
        clerk = running.login("tiepnhan")
        dossier = running.open_dossier(clerk)
        response = running.upload(clerk, dossier, ("don-dang-ky.png", scans["don.png"]))
        uploaded = response.json()
        before = _ok(running.client.get(f"/api/v1/documents/{uploaded['doc_code']}",
                                        headers=clerk))
        if response.status_code == 202:
            running.run(_job_of(running, uploaded["doc_code"]))
        yield Land(desk=running, clerk=clerk, dossier=dossier,
                   upload_status=response.status_code, uploaded=uploaded, before_ocr=before,
                   scan=scans["don.png"])


def test_an_upload_is_answered_at_once_with_a_queued_job(land: Land) -> None:
    assert land.upload_status == 202, land.uploaded
    up = land.uploaded
    assert up["doc_code"] == "000.00.15.H40_don_dang_ky_dat_dai_000001"
    assert up["document_id"] == "000.00.15.H40_don_dang_ky_dat_dai_000001_V1"
    assert (up["dossier_code"], up["component_code"], up["document_type"]) == (
        land.dossier, "DON", "don_dang_ky_dat_dai")
    assert (up["owner_id"], up["title"], up["copy_kind"], up["version"]) == (
        OWNER_ID, PROCEDURES[0].components[0].name, "copy", 1)
    assert (up["status"], up["page_count"], up["signed"]) == ("processing", 1, False)
    assert (up["pages"], up["pages_to_review"], up["archival_sha256"], up["suggested"]) == (
        [], [], None, {})
    assert up["files"] == [{"position": 0, "filename": "don-dang-ky.png",
                            "media_type": "image/png", "size": len(land.scan),
                            "sha256": hashlib.sha256(land.scan).hexdigest()}]
    job = up["job"]
    assert (job["state"], job["attempts"], job["pages_done"], job["last_error"]) == (
        "queued", 0, 0, None)
    # Until the job has run, reading the document says the same.
    before = land.before_ocr
    assert (before["status"], before["job"]["state"], before["pages"]) == (
        "processing", "queued", [])


def test_after_ocr_the_document_is_ready_with_text_and_suggestions(land: Land) -> None:
    view = _ok(land.desk.client.get(f"/api/v1/documents/{land.doc}", headers=land.clerk))
    assert (view["status"], view["failure"], view["page_count"]) == ("ready", None, 1)
    [page] = view["pages"]
    assert (page["number"], page["ocr_done"]) == (1, True)
    assert 0 < page["confidence"] <= 100
    threshold = land.desk.services.settings.ocr_review_threshold
    assert page["needs_review"] is (page["confidence"] < threshold)
    assert view["pages_to_review"] == ([1] if page["needs_review"] else [])
    assert view["ocr_confidence"] == page["confidence"]
    assert unicodedata.is_normalized("NFC", page["text"])
    for words in ("ĐƠN ĐĂNG KÝ ĐẤT ĐAI", f"Họ và tên: {OWNER}", OWNER_ID):
        assert words in page["text"]
    assert (view["suggested"]["owner_id"], view["suggested"]["full_name"]) == (OWNER_ID, OWNER)
    job = view["job"]
    assert (job["state"], job["attempts"], job["pages_done"], job["pages_total"]) == (
        "done", 1, 1, 1)
    assert view["archival_sha256"] is not None
    assert len(view["archival_sha256"]) == 64
    assert view["files"] == land.uploaded["files"]


def test_the_original_comes_back_byte_for_byte(land: Land) -> None:
    response = land.desk.client.get(f"/api/v1/documents/{land.doc}/files/0",
                                    headers=land.clerk)
    assert response.status_code == 200
    assert response.content == land.scan
    assert response.headers["content-type"] == "image/png"
    assert 'filename="don-dang-ky.png"' in response.headers["content-disposition"]
    missing = land.desk.client.get(f"/api/v1/documents/{land.doc}/files/1",
                                   headers=land.clerk)
    assert (missing.status_code, missing.json()) == (404, DOCUMENT_NOT_FOUND)
    assert list((land.desk.data_dir / "tmp").iterdir()) == []  # the copy sent is removed


def test_the_archival_copy_is_a_searchable_pdfa_2(land: Land, tmp_path: Path) -> None:
    view = _ok(land.desk.client.get(f"/api/v1/documents/{land.doc}", headers=land.clerk))
    response = land.desk.client.get(f"/api/v1/documents/{land.doc}/archival",
                                    headers=land.clerk)
    assert response.status_code == 200
    pdf = response.content
    assert pdf.startswith(b"%PDF")
    assert response.headers["content-type"] == "application/pdf"
    assert f'filename="{view["document_id"]}.pdf"' in response.headers["content-disposition"]
    assert hashlib.sha256(pdf).hexdigest() == view["archival_sha256"]
    assert _pdfa_part(pdf) == ("2", 1)
    with pikepdf.open(io.BytesIO(pdf)) as opened:  # the image layer: the scan as it was
        assert len(opened.pages[0].get_images()) == 1
    layer = unicodedata.normalize("NFC", _pdftotext(pdf, tmp_path))  # the text layer
    assert OWNER in layer
    assert OWNER_ID in layer


def test_the_text_is_served_as_plain_text(land: Land) -> None:
    view = _ok(land.desk.client.get(f"/api/v1/documents/{land.doc}", headers=land.clerk))
    response = land.desk.client.get(f"/api/v1/documents/{land.doc}/text", headers=land.clerk)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert response.text == view["pages"][0]["text"]
    assert OWNER in response.text
    assert "Kính gửi: Ủy ban nhân dân phường Cửa Nam" in response.text


def test_the_same_file_again_is_digitised_once(land: Land, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    desk = land.desk
    first = _ok(desk.client.get(f"/api/v1/documents/{land.doc}", headers=land.clerk))
    rows_before, blobs_before = desk.stored()
    again = _ok(desk.upload(land.clerk, land.dossier, ("ban-sao.png", land.scan),
                            component="GTNGUONGOC"), 202)
    assert again["doc_code"] != land.doc
    assert again["files"][0]["sha256"] == first["files"][0]["sha256"]
    # No OCR tool can be found now: had OCR run again, the job would have failed.
    monkeypatch.setenv("PATH", str(tmp_path / "no-tools-here"))
    desk.run(_job_of(desk, again["doc_code"]))
    monkeypatch.undo()
    second = _ok(desk.client.get(f"/api/v1/documents/{again['doc_code']}", headers=land.clerk))
    assert second["status"] == "ready"
    assert second["archival_sha256"] == first["archival_sha256"]
    assert second["pages"] == first["pages"]
    assert (second["page_count"], second["ocr_confidence"], second["suggested"]) == (
        first["page_count"], first["ocr_confidence"], first["suggested"])
    # Nothing new in the store: the original and the archival copy are the first ones.
    rows_after, blobs_after = desk.stored()
    assert blobs_after == blobs_before
    assert rows_after == {**rows_before, "documents": rows_before["documents"] + 1,
                          "document_versions": rows_before["document_versions"] + 1,
                          "document_files": rows_before["document_files"] + 1,
                          "document_pages": rows_before["document_pages"] + 1,
                          "document_counters": rows_before["document_counters"] + 1,
                          "jobs": rows_before["jobs"] + 1}
    # The metadata taken at upload (the scan's resolution, required for a digitised paper)
    # is kept as it is for a version digitised the ordinary way.
    assert _resolutions(desk) == {land.doc: 300, again["doc_code"]: 300}


def _job_of(desk: Desk, doc_code: str) -> int:
    d, j = tables.documents.c, tables.jobs.c
    with desk.services.engine.connect() as connection:
        return int(connection.execute(select(j.id).join(tables.documents, d.id == j.document_id)
                                      .where(d.doc_code == doc_code)).scalar_one())


def _resolutions(desk: Desk) -> dict[str, int | None]:
    d, v = tables.documents.c, tables.document_versions.c
    with desk.services.engine.connect() as connection:
        rows = connection.execute(select(d.doc_code, v.resolution_dpi).join(
            tables.documents, d.id == v.document_id))
        return {r.doc_code: r.resolution_dpi for r in rows}


def test_creation_reading_and_downloads_are_audited(land: Land) -> None:
    desk = land.desk
    before = len(desk.audit(land.doc))
    client, doc = desk.client, land.doc
    for path in ("", "/text", "/files/0", "/archival"):
        assert client.get(f"/api/v1/documents/{doc}{path}", headers=land.clerk).status_code == 200
    entries = desk.audit(doc)
    sha = land.uploaded["files"][0]["sha256"]
    assert entries[0] == ("tiepnhan", "document.create", doc, {
        "dossier": land.dossier, "component": "DON", "files": 1, "sha256": sha})
    view = _ok(client.get(f"/api/v1/documents/{doc}", headers=land.clerk))
    assert [e[:3] for e in entries[before:]] == [
        ("tiepnhan", "document.view", doc), ("tiepnhan", "document.view", doc),
        ("tiepnhan", "document.download", doc), ("tiepnhan", "document.download", doc)]
    assert [e[3] for e in entries[before + 2:]] == [
        {"what": "original:0", "sha256": sha},
        {"what": "archival", "sha256": view["archival_sha256"]}]
    report = verify_audit(desk.services.records, principal(desk.services, "quantri"))
    assert report.intact, report.message


def test_a_citizen_of_another_dossier_cannot_read_the_document(land: Land) -> None:
    desk = land.desk
    stranger = _add_user(desk, "congdan_khac", Role.CITIZEN, owner_id=OTHER_ID,
                         display_name="Lê Văn Nam")
    audit_before = desk.audit()
    for path in ("", "/text", "/files/0", "/archival"):
        theirs = desk.client.get(f"/api/v1/documents/{land.doc}{path}", headers=stranger)
        missing = desk.client.get(f"/api/v1/documents/{MISSING_DOC}{path}", headers=stranger)
        assert (theirs.status_code, theirs.json()) == (404, DOCUMENT_NOT_FOUND), path
        assert (missing.status_code, missing.json()) == (404, DOCUMENT_NOT_FOUND), path
    assert desk.audit() == audit_before
    # The citizen whose paper it is may read it.
    owner = desk.login("congdan")
    assert desk.client.get(f"/api/v1/documents/{land.doc}/text", headers=owner).status_code \
        == 200


# --- several pages, a text PDF, the type from the bytes --------------------------------------


def test_several_files_make_one_document_with_pages_in_order(
        desk: Desk, scans: dict[str, bytes]) -> None:
    clerk = desk.login("tiepnhan")
    dossier = desk.open_dossier(clerk)
    first, second = scans["don.png"], scans["quyet-dinh.png"]
    up = _ok(desk.upload(clerk, dossier, ("1-don.png", first), ("2-quyet-dinh.png", second)),
             202)
    assert [(f["position"], f["filename"], f["sha256"]) for f in up["files"]] == [
        (0, "1-don.png", hashlib.sha256(first).hexdigest()),
        (1, "2-quyet-dinh.png", hashlib.sha256(second).hexdigest())]
    assert up["page_count"] == 2
    assert count_rows(desk.services.engine, "documents", "document_files", "jobs") == {
        "documents": 1, "document_files": 2, "jobs": 1}
    desk.run(_job_of(desk, up["doc_code"]))
    view = _ok(desk.client.get(f"/api/v1/documents/{up['doc_code']}", headers=clerk))
    assert (view["status"], view["page_count"]) == ("ready", 2)
    assert [p["number"] for p in view["pages"]] == [1, 2]
    assert "ĐƠN ĐĂNG KÝ ĐẤT ĐAI" in view["pages"][0]["text"]
    assert "QUYẾT ĐỊNH" in view["pages"][1]["text"]
    assert "QUYẾT ĐỊNH" not in view["pages"][0]["text"]
    assert (view["job"]["pages_done"], view["job"]["pages_total"]) == (2, 2)
    text = desk.client.get(f"/api/v1/documents/{up['doc_code']}/text", headers=clerk).text
    assert text == "\f".join(p["text"] for p in view["pages"])
    archival = desk.client.get(f"/api/v1/documents/{up['doc_code']}/archival", headers=clerk)
    assert _pdfa_part(archival.content) == ("2", 2)
    for position, body in enumerate((first, second)):
        got = desk.client.get(f"/api/v1/documents/{up['doc_code']}/files/{position}",
                              headers=clerk)
        assert got.content == body


def test_a_pdf_that_has_text_keeps_it_and_is_not_ocrd(desk: Desk, tmp_path: Path) -> None:
    clerk = desk.login("tiepnhan")
    dossier = desk.open_dossier(clerk)
    original = _pdf_with_text()
    up = _ok(desk.upload(clerk, dossier, ("xac-nhan.pdf", original), component="CCCD"), 202)
    assert up["files"][0]["media_type"] == "application/pdf"
    desk.run(_job_of(desk, up["doc_code"]))
    view = _ok(desk.client.get(f"/api/v1/documents/{up['doc_code']}", headers=clerk))
    assert (view["status"], view["ocr_confidence"], view["pages_to_review"]) == (
        "ready", None, [])
    [page] = view["pages"]
    assert (page["ocr_done"], page["confidence"], page["needs_review"]) == (False, None, False)
    assert page["text"] == "\n".join(TEXT_LINES)
    archival = desk.client.get(f"/api/v1/documents/{up['doc_code']}/archival", headers=clerk)
    assert _pdfa_part(archival.content) == ("2", 1)
    assert "\n".join(TEXT_LINES) in unicodedata.normalize(
        "NFC", _pdftotext(archival.content, tmp_path))
    original_back = desk.client.get(f"/api/v1/documents/{up['doc_code']}/files/0",
                                    headers=clerk)
    assert original_back.content == original


def test_the_type_comes_from_the_bytes_not_the_name(desk: Desk,
                                                    scans: dict[str, bytes]) -> None:
    clerk = desk.login("tiepnhan")
    dossier = desk.open_dossier(clerk)
    up = _ok(desk.upload(clerk, dossier, ("scan.pdf", scans["don.jpg"])), 202)
    assert [(f["filename"], f["media_type"]) for f in up["files"]] == [
        ("scan.pdf", "image/jpeg")]
    with desk.services.engine.connect() as connection:
        stored = connection.execute(select(tables.document_files.c.media_type)).scalars().all()
    assert stored == ["image/jpeg"]
    back = desk.client.get(f"/api/v1/documents/{up['doc_code']}/files/0", headers=clerk)
    assert (back.headers["content-type"], back.content) == ("image/jpeg", scans["don.jpg"])


# --- refusals: nothing stored ----------------------------------------------------------------

_CORRUPT = ("Tệp PDF bị hỏng hoặc không đầy đủ, không thể đọc được. Vui lòng quét hoặc tải "
            "lên lại.")
REFUSED_CONTENT = [
    pytest.param("rong.png", lambda: b"", "empty", "Tệp rỗng (0 byte).", id="empty"),
    pytest.param("khong-ro.pdf", lambda: random.Random(7).randbytes(4096),  # noqa: S311
                 "unsupported_type", "Định dạng tệp không được hỗ trợ. Chỉ nhận tệp PDF, "
                 "JPEG, PNG hoặc TIFF.", id="random-bytes-named-pdf"),
    pytest.param("cat-ngang.pdf", lambda: _blank_pdf()[:300], "pdf_corrupt", _CORRUPT,
                 id="truncated-pdf"),
    pytest.param("mat-khau.pdf", lambda: _blank_pdf(encryption=pikepdf.Encryption(
        user="mat-khau", owner="chu-so-huu")), "pdf_encrypted",
        "Tệp PDF đã được mã hóa hoặc đặt mật khẩu. Vui lòng nộp bản không mã hóa.",
        id="encrypted-pdf"),
    pytest.param("bom.png", _png_bomb, "image_too_large", "Ảnh quá lớn (20000 × 20000 điểm "
                 "ảnh); giới hạn là 250 triệu điểm ảnh mỗi trang.", id="decompression-bomb"),
]


@pytest.mark.parametrize(("filename", "make", "code", "message"), REFUSED_CONTENT)
def test_a_bad_file_is_refused_in_vietnamese_and_only_the_refusal_is_recorded(
        desk: Desk, filename: str, make: Any, code: str, message: str) -> None:
    clerk = desk.login("tiepnhan")
    dossier = desk.open_dossier(clerk)
    before, audit_before = desk.stored(), desk.audit()
    response = desk.upload(clerk, dossier, (filename, make()))
    assert response.status_code == 422, response.text
    assert response.json() == {"error": {"code": code, "message": f"«{filename}»: {message}",
                                         "field": "files"}}
    assert is_vietnamese(message)
    assert desk.stored() == before
    assert desk.audit() == [*audit_before, ("tiepnhan", "document.refused", dossier,
                                            {"filename": filename, "code": code})]
    assert list((desk.data_dir / "tmp").iterdir()) == []


def test_a_bad_file_among_good_ones_refuses_the_whole_upload(
        desk: Desk, scans: dict[str, bytes]) -> None:
    clerk = desk.login("tiepnhan")
    dossier = desk.open_dossier(clerk)
    before, audit_before = desk.stored(), desk.audit()
    response = desk.upload(clerk, dossier, ("1.png", scans["don.png"]), ("2.png", b""))
    assert (response.status_code, response.json()["error"]["code"]) == (422, "empty")
    assert desk.stored() == before  # not even the good first file
    assert desk.audit() == [*audit_before, ("tiepnhan", "document.refused", dossier,
                                            {"filename": "2.png", "code": "empty"})]


def test_an_upload_over_the_size_limit_is_refused_with_413(
        tmp_path: Path, scans: dict[str, bytes]) -> None:
    with _desk(tmp_path, max_upload_bytes=50_000) as desk:
        clerk = desk.login("tiepnhan")
        dossier = desk.open_dossier(clerk)
        before, audit_before = desk.stored(), desk.audit()
        assert len(scans["don.png"]) > 50_000
        response = desk.upload(clerk, dossier, ("lon.png", scans["don.png"]))
        assert response.status_code == 413, response.text
        error = response.json()["error"]
        assert (error["code"], error["field"]) == ("file_too_large", "files")
        assert error["message"].startswith("Tệp «lon.png» vượt quá dung lượng cho phép")
        assert is_vietnamese(error["message"])
        assert desk.stored() == before
        assert list((desk.data_dir / "tmp").iterdir()) == []
        # Refused like any other bad file: recorded, and nothing else.
        assert desk.audit() == [*audit_before, ("tiepnhan", "document.refused", dossier,
                                                {"filename": "lon.png",
                                                 "code": "file_too_large"})]


def _refused_without_trace(desk: Desk, response: Response, status: int, code: str,
                           before: tuple[Any, ...]) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == code
    assert is_vietnamese(error["message"]), error
    assert (desk.stored(), desk.audit()) == before
    return error


def test_an_unknown_component_is_refused(desk: Desk, scans: dict[str, bytes]) -> None:
    clerk = desk.login("tiepnhan")
    dossier = desk.open_dossier(clerk)
    before = (desk.stored(), desk.audit())
    response = desk.upload(clerk, dossier, ("don.png", scans["don.png"]), component="SOHONG")
    error = _refused_without_trace(desk, response, 422, "unknown_component", before)
    assert (error["message"], error["field"]) == (
        "Thủ tục này không có thành phần hồ sơ «SOHONG».", "component_code")


def test_a_dossier_the_user_cannot_see_answers_as_a_missing_one(
        desk: Desk, scans: dict[str, bytes]) -> None:
    dossier = desk.open_dossier()
    # A clerk at another desk: allowed to upload in a received dossier, were it theirs.
    elsewhere = _add_user(desk, "tiepnhan_phuong", Role.CLERK, branch_code=BRANCH_WARD)
    before = (desk.stored(), desk.audit())
    theirs = desk.upload(elsewhere, dossier, ("don.png", scans["don.png"]))
    missing = desk.upload(elsewhere, "000.00.15.H40-261119-9999", ("don.png", scans["don.png"]))
    _refused_without_trace(desk, theirs, 404, "dossier_not_found", before)
    assert (missing.status_code, missing.json()) == (404, theirs.json())


def test_a_handler_may_not_change_the_papers_of_a_received_dossier(
        desk: Desk, scans: dict[str, bytes]) -> None:
    dossier = desk.open_dossier()
    handler = desk.login("chuyenvien")  # sees the dossier: it is for the handler's agency
    assert desk.client.get(f"/api/v1/dossiers/{dossier}", headers=handler).status_code == 200
    before = (desk.stored(), desk.audit())
    response = desk.upload(handler, dossier, ("don.png", scans["don.png"]))
    error = _refused_without_trace(desk, response, 403, "forbidden", before)
    assert error["message"] == "Bạn không có quyền thực hiện thao tác này."


def test_an_upload_without_files_is_refused(desk: Desk) -> None:
    clerk = desk.login("tiepnhan")
    dossier = desk.open_dossier(clerk)
    before = (desk.stored(), desk.audit())
    response = desk.client.post(f"/api/v1/dossiers/{dossier}/documents",
                                data={"component_code": "DON"}, headers=clerk)
    error = _refused_without_trace(desk, response, 422, "invalid_request", before)
    assert error["field"] == "files"


def test_a_failed_write_after_the_original_was_stored_leaves_no_orphan(
        tmp_path: Path, scans: dict[str, bytes]) -> None:
    with _desk(tmp_path, raise_server_exceptions=False) as desk:
        clerk = desk.login("tiepnhan")
        dossier = desk.open_dossier(clerk)
        before, audit_before = desk.stored(), desk.audit()
        with desk.services.engine.begin() as connection:
            connection.execute(text("ALTER TABLE jobs RENAME TO jobs_away"))
        response = desk.upload(clerk, dossier, ("don.png", scans["don.png"]))
        assert response.status_code == 500
        with desk.services.engine.begin() as connection:
            connection.execute(text("ALTER TABLE jobs_away RENAME TO jobs"))
        assert desk.stored() == before  # no blob, no row, no counter taken
        assert desk.audit() == audit_before
        # With the database back, the same upload goes through and stores the original.
        up = _ok(desk.upload(clerk, dossier, ("don.png", scans["don.png"])), 202)
        assert up["doc_code"] == "000.00.15.H40_don_dang_ky_dat_dai_000001"
        assert desk.services.blobs.get(up["files"][0]["sha256"]) == scans["don.png"]
