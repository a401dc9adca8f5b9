"""Documents of a dossier: upload scans, follow digitisation, download, read the text."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, File, Form, UploadFile
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, PlainTextResponse
from pydantic import BaseModel

from api.deps import AppServices, CurrentUser
from api.files import send_blob, spooled_uploads
from api.schemas import ErrorPublic
from records.documents import (
    DocumentView,
    add_document,
    get_document,
    open_document_file,
)
from records.errors import InvalidInput
from records.model import CopyKind

router = APIRouter(tags=["documents"])

_ERRORS: dict[int | str, dict[str, object]] = {
    code: {"model": ErrorPublic} for code in (401, 403, 404, 409, 413, 422, 503, 507)
}
DocCode = Annotated[str, PathParam(min_length=1, max_length=120)]
Code = Annotated[str, PathParam(min_length=1, max_length=60)]


class FilePublic(BaseModel):
    position: int
    filename: str
    media_type: str
    size: int
    sha256: str


class PagePublic(BaseModel):
    number: int
    confidence: float | None
    needs_review: bool
    ocr_done: bool
    text: str


class JobPublic(BaseModel):
    state: str
    attempts: int
    pages_done: int
    pages_total: int
    last_error: str | None
    updated_at: datetime


class DocumentPublic(BaseModel):
    doc_code: str
    document_id: str  # the national id of the current version: {agency}_{type}_{seq}_V{n}
    dossier_code: str
    component_code: str
    document_type: str
    owner_id: str
    title: str
    copy_kind: CopyKind
    version: int
    status: str
    signed: bool
    page_count: int | None
    ocr_confidence: float | None
    pages_to_review: list[int]
    archival_sha256: str | None
    failure: str | None
    files: list[FilePublic]
    pages: list[PagePublic]
    job: JobPublic | None
    suggested: dict[str, object]

    @classmethod
    def of(cls, view: DocumentView) -> DocumentPublic:
        d, v, job = view.document, view.version, view.job
        return cls(
            doc_code=d.doc_code, document_id=view.version_id, dossier_code=view.dossier_code,
            component_code=d.component_code, document_type=d.document_type,
            owner_id=d.owner_id, title=d.title, copy_kind=d.copy_kind, version=v.version,
            status=v.status.value, signed=v.signed, page_count=v.page_count,
            ocr_confidence=v.ocr_confidence,
            pages_to_review=[p.number for p in view.pages if p.needs_review],
            archival_sha256=v.archival_sha256, failure=v.failure,
            files=[FilePublic(position=f.position, filename=f.filename,
                              media_type=f.media_type, size=f.size, sha256=f.sha256)
                   for f in v.files],
            pages=[PagePublic(number=p.number, confidence=p.confidence,
                              needs_review=p.needs_review, ocr_done=p.ocr_done, text=p.text)
                   for p in view.pages],
            job=JobPublic(state=job.state.value, attempts=job.attempts,
                          pages_done=job.progress_done, pages_total=job.progress_total,
                          last_error=job.last_error, updated_at=job.updated_at)
            if job else None,
            suggested=view.suggested,
        )


# Whole-request examples (the form's fields carry their own too); a file is shown by its name.
_UPLOAD_EXAMPLES = {
    "scan": {"summary": "Bản sao chứng thực Giấy chứng nhận quyền sử dụng đất, hai trang",
             "value": {"component_code": "GTNGUONGOC",
                       "title": "Giấy chứng nhận quyền sử dụng đất thửa số 125, tờ bản đồ số 07",
                       "copy_kind": "certified_copy",
                       "files": ["gcn-trang-1.jpg", "gcn-trang-2.jpg"]}},
    "pdf": {"summary": "Đơn đăng ký đất đai bản gốc, một tệp PDF",
            "value": {"component_code": "DON", "title": "Đơn đăng ký đất đai của bà "
                      "Nguyễn Thị Hương", "copy_kind": "original",
                      "files": ["don-dang-ky-dat-dai.pdf"]}},
}


@router.post("/api/v1/dossiers/{code}/documents", status_code=202,
             response_model=DocumentPublic, responses=_ERRORS,
             openapi_extra={"requestBody": {"content": {"multipart/form-data": {
                 "examples": _UPLOAD_EXAMPLES}}}})
def upload_document(
    code: Code,
    services: AppServices,
    who: CurrentUser,
    component_code: Annotated[str, Form(min_length=1, max_length=40,
                                        examples=["GTNGUONGOC", "CCCD"],
                                        description="Which required paper of the procedure")],
    files: Annotated[list[UploadFile], File(description="Scanned pages: PDF, JPEG, PNG, TIFF")],
    title: Annotated[str, Form(max_length=500, examples=[
        "Giấy chứng nhận quyền sử dụng đất thửa số 125, tờ bản đồ số 07"])] = "",
    copy_kind: Annotated[CopyKind, Form(examples=["certified_copy"])] = CopyKind.COPY,
) -> DocumentPublic:
    """Store the untouched originals and queue OCR; poll the document for progress."""
    if not files:
        raise InvalidInput("no_files", "Vui lòng chọn tệp cần tải lên.", field="files")
    with spooled_uploads(services, who, code, files) as uploads:
        view = add_document(services.documents, who, code, component_code, uploads,
                            title=title, copy_kind=copy_kind)
    return DocumentPublic.of(view)


@router.get("/api/v1/documents/{doc_code}", response_model=DocumentPublic, responses=_ERRORS)
def read_document(doc_code: DocCode, services: AppServices,
                  who: CurrentUser) -> DocumentPublic:
    """One document: its files, digitisation progress, recognised pages (with those to
    review) and the fields suggested from its text."""
    return DocumentPublic.of(get_document(services.documents, who, doc_code))


@router.get("/api/v1/documents/{doc_code}/text", response_class=PlainTextResponse,
            responses=_ERRORS)
def read_text(doc_code: DocCode, services: AppServices, who: CurrentUser) -> str:
    """The text of every page, pages separated by a form feed."""
    view = get_document(services.documents, who, doc_code)
    return "\f".join(page.text for page in view.pages)


@router.get("/api/v1/documents/{doc_code}/files/{position}", responses=_ERRORS,
            response_class=FileResponse)
def download_original(doc_code: DocCode, position: int, services: AppServices,
                      who: CurrentUser) -> FileResponse:
    """An untouched original, byte for byte as it was uploaded."""
    chosen = open_document_file(services.documents, who, doc_code, archival=False,
                                position=position)
    return send_blob(services, chosen.sha256, chosen.media_type, chosen.filename)


@router.get("/api/v1/documents/{doc_code}/archival", responses=_ERRORS,
            response_class=FileResponse)
def download_archival(doc_code: DocCode, services: AppServices,
                      who: CurrentUser) -> FileResponse:
    """The searchable two-layer PDF/A preservation copy."""
    chosen = open_document_file(services.documents, who, doc_code, archival=True)
    return send_blob(services, chosen.sha256, chosen.media_type, chosen.filename)
