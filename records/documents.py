"""Use cases on the papers of a dossier: add (originals first), read, download, text.

The untouched original is evidence: it is stored before anything else happens and is never
modified. A refused upload stores nothing but the refusal's audit entry; a failure after the
blobs were stored removes the blobs nothing else refers to.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path

from records.audit import AuditEvent
from records.audit_writer import AuditWriter
from records.authz import Action, Principal, authorize, can_see
from records.errors import Conflict, DomainError, InvalidInput, NotFound
from records.identifiers import document_id as full_document_id
from records.indexing import document_key
from records.jobs import Job, JobRunner, JobState, idempotency_key
from records.model import (
    CopyKind,
    Document,
    DocumentVersion,
    Dossier,
    PageText,
    StoredFile,
    VersionStatus,
)
from records.ports import BlobStore, Clock, UploadFacts, UploadInspector, UploadRefusal
from records.repository import RecordsSession, RecordsStore

__all__ = [
    "OCR_JOB",
    "DocumentDeps",
    "DocumentView",
    "DossierPaper",
    "FileToSend",
    "PaperState",
    "Upload",
    "add_document",
    "document_not_found",
    "dossier_documents",
    "get_document",
    "open_document_file",
    "refuse_upload",
    "review_page",
]

OCR_JOB = "ocr"
MAX_FILES = 200
MAX_PAGE_TEXT = 100_000
_PENDING_JOB = frozenset({JobState.QUEUED, JobState.RUNNING, JobState.FAILED})


@dataclass(frozen=True, kw_only=True)
class DocumentDeps:
    store: RecordsStore
    clock: Clock
    audit_key: bytes
    audit: AuditWriter  # records of reads (views, downloads), through the inbox
    blobs: BlobStore
    inspector: UploadInspector
    runner: JobRunner
    max_attempts: int = 5


@dataclass(frozen=True, kw_only=True, slots=True)
class Upload:
    """A file received from a clerk, already spooled to disk."""

    path: Path
    filename: str


@dataclass(frozen=True, kw_only=True, slots=True)
class DocumentView:
    document: Document
    dossier_code: str
    version: DocumentVersion
    version_id: str  # the national digitised-document id, {agency}_{type}_{seq}_V{n}
    pages: tuple[PageText, ...]
    job: Job | None
    suggested: dict[str, object]


def document_not_found() -> NotFound:
    return NotFound("document_not_found", "Không tìm thấy tài liệu.")


def _audit(tx: RecordsSession, deps: DocumentDeps, who: str, action: str, object_id: str,
           **detail: str | int | None) -> None:
    tx.append_audit(AuditEvent(actor=who, action=action, object_type="document",
                               object_id=object_id, detail=detail),
                    at=deps.clock.now(), key=deps.audit_key)


def _record_refusal(deps: DocumentDeps, who: Principal, dossier_code: str, filename: str,
                    code: str) -> None:
    # The refusal is recorded, and nothing else: no blob, no document row.
    with deps.store.session() as tx:
        _audit(tx, deps, who.username, "document.refused", dossier_code,
               filename=filename[:200], code=code)


def refuse_upload(deps: DocumentDeps, who: Principal, dossier_code: str, filename: str,
                  error: DomainError) -> DomainError:
    """Record an upload refused before it reached ``add_document`` (over the size limit
    while it streamed in), if the dossier is one the user may see; return the error."""
    with deps.store.session(readonly=True) as tx:
        dossier = tx.get_dossier(dossier_code)
    if dossier is None or not can_see(who, dossier):
        return NotFound("dossier_not_found", "Không tìm thấy hồ sơ.")
    _record_refusal(deps, who, dossier.code, filename, error.code)
    return error


def _inspect_all(deps: DocumentDeps, who: Principal, dossier: Dossier,
                 uploads: Sequence[Upload]) -> list[UploadFacts]:
    facts: list[UploadFacts] = []
    for upload in uploads:
        verdict = deps.inspector.inspect(upload.path)
        if isinstance(verdict, UploadRefusal):
            _record_refusal(deps, who, dossier.code, upload.filename, verdict.code)
            raise InvalidInput(verdict.code, f"«{upload.filename}»: {verdict.message}",
                               field="files")
        facts.append(verdict)
    return facts


def _store_originals(deps: DocumentDeps, uploads: Sequence[Upload],
                     facts: Sequence[UploadFacts]) -> tuple[list[StoredFile], list[str]]:
    stored: list[StoredFile] = []
    fresh: list[str] = []
    try:
        for position, (upload, fact) in enumerate(zip(uploads, facts, strict=True)):
            with upload.path.open("rb") as source:
                sha = _sha256_of(upload.path)
                existed = deps.blobs.exists(sha)
                ref = deps.blobs.put(source)
            if not existed:
                fresh.append(ref.sha256)
            stored.append(StoredFile(position=position, sha256=ref.sha256, size=ref.size,
                                     media_type=fact.media_type,
                                     filename=_safe_name(upload.filename)))
    except Exception:
        _forget(deps, fresh)
        raise
    return stored, fresh


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _safe_name(filename: str) -> str:
    # Keep only the last path component: a name is a label here, never a path.
    name = filename.replace("\\", "/").rsplit("/", 1)[-1].strip() or "tai-lieu"
    return "".join(ch for ch in name if ch.isprintable())[:255]


def _forget(deps: DocumentDeps, fresh: Sequence[str]) -> None:
    """Remove blobs this request stored if no record refers to them (no orphan blob)."""
    if not fresh:
        return
    with deps.store.session(readonly=True) as tx:
        orphans = [sha for sha in fresh if not tx.blob_referenced(sha)]
    for sha in orphans:
        deps.blobs.delete(sha)


def add_document(deps: DocumentDeps, who: Principal, dossier_code: str, component_code: str,
                 uploads: Sequence[Upload], *, title: str = "",
                 copy_kind: CopyKind = CopyKind.COPY) -> DocumentView:
    """Store the originals, record the document, queue its digitisation."""
    if not uploads or len(uploads) > MAX_FILES:
        raise InvalidInput("no_files", f"Vui lòng chọn từ 1 đến {MAX_FILES} tệp.",
                           field="files")
    with deps.store.session(readonly=True) as tx:
        dossier = tx.get_dossier(dossier_code)
        if dossier is None or not can_see(who, dossier):
            raise NotFound("dossier_not_found", "Không tìm thấy hồ sơ.")
        authorize(who, Action.EDIT_DOCUMENTS, dossier)
        procedure = tx.get_procedure(dossier.procedure_code)
        component = next((c for c in procedure.components if c.code == component_code),
                         None) if procedure else None
    if component is None:
        raise InvalidInput("unknown_component", f"Thủ tục này không có thành phần hồ sơ "
                           f"«{component_code}».", field="component_code")
    facts = _inspect_all(deps, who, dossier, uploads)
    files, fresh = _store_originals(deps, uploads, facts)
    now = deps.clock.now()
    try:
        with deps.store.session() as tx:
            seq = tx.next_document_seq(dossier.agency_code, component.document_type)
            doc_code = f"{dossier.agency_code}_{component.document_type}_{seq:06d}"
            document = tx.add_document(Document(
                id=0, dossier_id=dossier.id, doc_code=doc_code, component_code=component.code,
                document_type=component.document_type, owner_id=dossier.applicant_id,
                created_at=now, created_by=who.username, title=title or component.name,
                copy_kind=copy_kind))
            version = DocumentVersion(
                document_id=document.id, version=1, status=VersionStatus.PROCESSING,
                files=tuple(files), created_at=now, created_by=who.username,
                page_count=sum(f.page_count for f in facts),
                resolution_dpi=min((f.resolution_dpi for f in facts if f.resolution_dpi),
                                   default=None),
                signed=len(facts) == 1 and facts[0].signed)
            tx.add_version(version)
            input_sha = hashlib.sha256("".join(f.sha256 for f in files).encode()).hexdigest()
            job = tx.add_job(kind=OCR_JOB, document_id=document.id, version=1,
                             input_sha256=input_sha,
                             idem_key=idempotency_key(OCR_JOB, document.id, 1, input_sha),
                             max_attempts=deps.max_attempts, now=now)
            _audit(tx, deps, who.username, "document.create", doc_code,
                   dossier=dossier.code, component=component.code, files=len(files),
                   sha256=files[0].sha256)
    except Exception:
        _forget(deps, fresh)
        raise
    deps.runner.submit(job.id)
    return DocumentView(document=document, dossier_code=dossier.code, version=version,
                        version_id=_version_id(dossier, document, 1), pages=(), job=job,
                        suggested={})


def _version_id(dossier: Dossier, document: Document, version: int) -> str:
    seq = int(document.doc_code.rsplit("_", 1)[-1])
    return full_document_id(agency_code=dossier.agency_code, type_code=document.document_type,
                            sequence=seq, version=version)


def _visible_document(tx: RecordsSession, who: Principal,
                      doc_code: str) -> tuple[Document, Dossier]:
    document = tx.get_document(doc_code)
    dossier = tx.get_dossier_by_id(document.dossier_id) if document else None
    if document is None or dossier is None or not can_see(who, dossier):
        raise document_not_found()
    return document, dossier


def get_document(deps: DocumentDeps, who: Principal, doc_code: str) -> DocumentView:
    """The document with its latest version, page texts and digitisation progress."""
    with deps.store.session(readonly=True) as tx:
        document, dossier = _visible_document(tx, who, doc_code)
        version = document.versions[-1]
        jobs = tx.jobs_for_document(document.id)
        raw = tx.suggested(document.id, version.version)
        view = DocumentView(
            document=document, dossier_code=dossier.code, version=version,
            version_id=_version_id(dossier, document, version.version),
            pages=tuple(tx.pages(document.id, version.version)),
            job=jobs[-1] if jobs else None, suggested=json.loads(raw) if raw else {})
    deps.audit.read(who.username, "document.view", "document", doc_code)
    return view


@dataclass(frozen=True, kw_only=True, slots=True)
class FileToSend:
    sha256: str
    size: int
    media_type: str
    filename: str


def open_document_file(deps: DocumentDeps, who: Principal, doc_code: str, *,
                       archival: bool, position: int = 0) -> FileToSend:
    """Which blob to send for a download, after logging the access."""
    with deps.store.session(readonly=True) as tx:
        document, dossier = _visible_document(tx, who, doc_code)
        version = document.versions[-1]
        if archival:
            if version.archival_sha256 is None:
                raise NotFound("archival_not_ready", "Bản lưu trữ PDF/A chưa sẵn sàng: tài "
                               "liệu đang được số hóa.")
            sha = version.archival_sha256
            size = deps.blobs.size(sha)
            chosen = FileToSend(sha256=sha, size=size, media_type="application/pdf",
                                filename=f"{_version_id(dossier, document, version.version)}"
                                         ".pdf")
        else:
            if not 0 <= position < len(version.files):
                raise document_not_found()
            f = version.files[position]
            chosen = FileToSend(sha256=f.sha256, size=f.size, media_type=f.media_type,
                                filename=f.filename)
    deps.audit.read(who.username, "document.download", "document", doc_code,
                    what="archival" if archival else f"original:{position}",
                    sha256=chosen.sha256)
    return chosen




class PaperState(StrEnum):
    """Where a paper of a dossier stands, as the clerk follows it."""

    PROCESSING = "processing"  # OCR queued, running, or waiting to retry
    NEEDS_REVIEW = "needs_review"  # ready, but a page is blank or read with low confidence
    READY = "ready"
    FAILED = "failed"  # OCR gave up: the original is kept, a clerk must look


@dataclass(frozen=True, kw_only=True, slots=True)
class DossierPaper:
    """A document of a dossier with its latest version and digitisation progress."""

    document: Document
    version: DocumentVersion
    job: Job | None
    pages_to_review: tuple[int, ...]

    @property
    def pending(self) -> bool:
        return self.job is not None and self.job.state in _PENDING_JOB

    @property
    def state(self) -> PaperState:
        if self.version.status is VersionStatus.FAILED or (
                self.job is not None and self.job.state is JobState.QUARANTINED):
            return PaperState.FAILED
        if self.version.status is VersionStatus.PROCESSING:
            return PaperState.PROCESSING
        return PaperState.NEEDS_REVIEW if self.pages_to_review else PaperState.READY


def dossier_documents(deps: DocumentDeps, who: Principal,
                      dossier_code: str) -> tuple[DossierPaper, ...]:
    """The papers of a dossier and how far each one's digitisation has gone (their facts
    only: opening a paper's content is ``get_document``, which is logged)."""
    with deps.store.session(readonly=True) as tx:
        dossier = tx.get_dossier(dossier_code)
        if dossier is None or not can_see(who, dossier):
            raise NotFound("dossier_not_found", "Không tìm thấy hồ sơ.")
        papers = []
        for document in tx.documents_of(dossier.id):
            if not document.versions:
                continue
            version = document.versions[-1]
            jobs = tx.jobs_for_document(document.id)
            flagged = tuple(p.number for p in tx.pages(document.id, version.version)
                            if p.needs_review)
            papers.append(DossierPaper(document=document, version=version,
                                       job=jobs[-1] if jobs else None,
                                       pages_to_review=flagged))
        return tuple(papers)


def review_page(deps: DocumentDeps, who: Principal, doc_code: str, number: int, *,
                text: str | None = None) -> DocumentView:
    """A person has looked at a page OCR flagged (blank or low confidence): confirm it as
    read, or correct its text. The original and the archival copy stay as they are; the
    corrected text is what search and reuse read from now on."""
    if text is not None and len(text) > MAX_PAGE_TEXT:
        raise InvalidInput("page_text_too_long", f"Nội dung trang dài quá {MAX_PAGE_TEXT} ký "
                           "tự.", field="text")
    now = deps.clock.now()
    with deps.store.session() as tx:
        document, dossier = _visible_document(tx, who, doc_code)
        authorize(who, Action.EDIT_DOCUMENTS, dossier)
        version = document.versions[-1]
        if version.status is not VersionStatus.READY:
            raise Conflict("document_not_ready", "Tài liệu chưa số hóa xong, chưa thể kiểm tra "
                           "trang.")
        pages = tx.pages(document.id, version.version)
        page = next((p for p in pages if p.number == number), None)
        if page is None:
            raise NotFound("page_not_found", f"Tài liệu không có trang số {number}.")
        new_text = page.text if text is None else text.replace("\r\n", "\n")
        checked = replace(page, text=new_text, needs_review=False)
        tx.save_pages(document.id, version.version,
                      [checked if p.number == number else p for p in pages])
        corrected = new_text != page.text
        if corrected:
            tx.add_outbox(document_key(doc_code), now=now)
        _audit(tx, deps, who.username, "document.page_review", doc_code, page=number,
               corrected=int(corrected),
               text_sha256=hashlib.sha256(new_text.encode()).hexdigest())
    return get_document(deps, who, doc_code)
