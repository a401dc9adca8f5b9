"""Documents, their versions, original files and page texts in the records database."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Row,
    bindparam,
    delete,
    func,
    insert,
    select,
    union_all,
    update,
)

from records.adapters.sql import tables as t
from records.adapters.sql.counters import next_in_sequence
from records.model import (
    CopyKind,
    Document,
    DocumentVersion,
    PageText,
    ReuseStatus,
    StoredFile,
    VersionStatus,
)

__all__ = ["DocumentRows"]

_D, _V, _F, _P = t.documents.c, t.document_versions.c, t.document_files.c, t.document_pages.c
_REUSE_COUNTS = (select(_D.reuse_status, func.count())  # built once: every status lookup
                 .where(_D.dossier_id == bindparam("dossier_id")).group_by(_D.reuse_status))
_DOC_FIELDS = ("dossier_id", "doc_code", "component_code", "document_type", "owner_id",
               "title", "number", "issue_date", "issuer", "retention_years", "reuse_source",
               "created_at", "created_by")


class DocumentRows:
    """Session methods for documents (mixed into ``SqlRecordsSession``)."""

    _c: Connection

    def next_document_seq(self, agency_code: str, type_code: str) -> int:
        return next_in_sequence(self._c, t.document_counters, agency_code=agency_code,
                                type_code=type_code)

    def add_document(self, document: Document) -> Document:
        values = {k: getattr(document, k) for k in _DOC_FIELDS}
        values.update(copy_kind=document.copy_kind.value,
                      reuse_status=document.reuse_status.value)
        new_id = self._c.execute(insert(t.documents).values(**values)
                                 .returning(_D.id)).scalar_one()
        return replace(document, id=int(new_id), versions=())

    def add_version(self, version: DocumentVersion) -> None:
        self._c.execute(insert(t.document_versions).values(
            document_id=version.document_id, version=version.version,
            status=version.status.value, archival_sha256=version.archival_sha256,
            page_count=version.page_count, resolution_dpi=version.resolution_dpi,
            ocr_confidence=version.ocr_confidence, signed=version.signed,
            failure=version.failure, created_at=version.created_at,
            created_by=version.created_by))
        self._c.execute(insert(t.document_files), [
            {"document_id": version.document_id, "version": version.version,
             "position": f.position, "sha256": f.sha256, "size": f.size,
             "media_type": f.media_type, "filename": f.filename} for f in version.files])

    def set_version_outcome(self, document_id: int, version: int, *, status: VersionStatus,
                            archival_sha256: str | None = None, page_count: int | None = None,
                            resolution_dpi: int | None = None,
                            ocr_confidence: float | None = None, signed: bool = False,
                            failure: str | None = None, suggested: str | None = None) -> None:
        self._c.execute(update(t.document_versions).where(
            _V.document_id == document_id, _V.version == version).values(
            status=status.value, archival_sha256=archival_sha256, page_count=page_count,
            resolution_dpi=resolution_dpi, ocr_confidence=ocr_confidence, signed=signed,
            failure=failure, suggested=suggested))

    def save_pages(self, document_id: int, version: int, pages: Sequence[PageText]) -> None:
        self._c.execute(delete(t.document_pages).where(_P.document_id == document_id,
                                                       _P.version == version))
        if pages:
            self._c.execute(insert(t.document_pages), [
                {"document_id": document_id, "version": version, "number": p.number,
                 "text": p.text, "confidence": p.confidence, "needs_review": p.needs_review,
                 "ocr_done": p.ocr_done} for p in pages])

    def pages(self, document_id: int, version: int) -> list[PageText]:
        rows = self._c.execute(select(t.document_pages).where(
            _P.document_id == document_id, _P.version == version).order_by(_P.number))
        return [PageText(number=r.number, text=r.text, confidence=r.confidence,
                         needs_review=r.needs_review, ocr_done=r.ocr_done) for r in rows]

    def suggested(self, document_id: int, version: int) -> str | None:
        return self._c.execute(select(_V.suggested).where(
            _V.document_id == document_id, _V.version == version)).scalar_one_or_none()

    def _versions(self, document_ids: Sequence[int]) -> dict[int, list[DocumentVersion]]:
        files: dict[tuple[int, int], list[StoredFile]] = {}
        for f in self._c.execute(select(t.document_files).where(
                _F.document_id.in_(document_ids)).order_by(_F.position)):
            files.setdefault((f.document_id, f.version), []).append(StoredFile(
                position=f.position, sha256=f.sha256, size=f.size, media_type=f.media_type,
                filename=f.filename))
        versions: dict[int, list[DocumentVersion]] = {}
        for v in self._c.execute(select(t.document_versions).where(
                _V.document_id.in_(document_ids)).order_by(_V.version)):
            versions.setdefault(v.document_id, []).append(DocumentVersion(
                document_id=v.document_id, version=v.version, status=VersionStatus(v.status),
                files=tuple(files.get((v.document_id, v.version), ())),
                created_at=v.created_at, created_by=v.created_by,
                archival_sha256=v.archival_sha256, page_count=v.page_count,
                resolution_dpi=v.resolution_dpi, ocr_confidence=v.ocr_confidence,
                signed=v.signed, failure=v.failure))
        return versions

    def _documents(self, rows: Sequence[Row[Any]]) -> list[Document]:
        versions = self._versions([r.id for r in rows])
        return [Document(id=r.id, copy_kind=CopyKind(r.copy_kind),
                         reuse_status=ReuseStatus(r.reuse_status),
                         versions=tuple(versions.get(r.id, ())),
                         **{k: getattr(r, k) for k in _DOC_FIELDS}) for r in rows]

    def get_document(self, doc_code: str) -> Document | None:
        rows = list(self._c.execute(select(t.documents).where(_D.doc_code == doc_code)))
        found = self._documents(rows)
        return found[0] if found else None

    def get_document_by_id(self, document_id: int) -> Document | None:
        rows = list(self._c.execute(select(t.documents).where(_D.id == document_id)))
        found = self._documents(rows)
        return found[0] if found else None

    def documents_of(self, dossier_id: int) -> list[Document]:
        rows = list(self._c.execute(select(t.documents).where(_D.dossier_id == dossier_id)
                                    .order_by(_D.id)))
        return self._documents(rows)

    def reuse_counts(self, dossier_id: int) -> dict[ReuseStatus, int]:
        rows = self._c.execute(_REUSE_COUNTS, {"dossier_id": dossier_id})
        return {ReuseStatus(status): int(n) for status, n in rows}

    def ready_version_with_files(self, sha256s: Sequence[str]) -> tuple[int, int] | None:
        """A READY version whose originals are exactly these files, in this order."""
        first = self._c.execute(
            select(_F.document_id, _F.version).join(t.document_versions, (
                _V.document_id == _F.document_id) & (_V.version == _F.version)).where(
                _F.position == 0, _F.sha256 == sha256s[0],
                _V.status == VersionStatus.READY.value).order_by(_F.document_id)).all()
        for document_id, version in first:
            shas = self._c.execute(select(_F.sha256).where(
                _F.document_id == document_id, _F.version == version)
                .order_by(_F.position)).scalars().all()
            if list(shas) == list(sha256s):
                return int(document_id), int(version)
        return None

    def add_blob_intent(self, sha256: str, at: datetime) -> int:
        return int(self._c.execute(insert(t.blob_intents).values(sha256=sha256, created_at=at)
                                   .returning(t.blob_intents.c.id)).scalar_one())

    def drop_blob_intent(self, intent_id: int) -> bool:
        """Remove the intent; whether another intent still names its blob."""
        i = t.blob_intents.c
        sha = self._c.execute(delete(t.blob_intents).where(i.id == intent_id)
                              .returning(i.sha256)).scalar_one_or_none()
        if sha is None:
            return False
        return bool(self._c.execute(select(func.count()).where(i.sha256 == sha))
                    .scalar_one())

    def stale_blob_intents(self, *, before: datetime, limit: int) -> list[tuple[int, str]]:
        i = t.blob_intents.c
        rows = self._c.execute(select(i.id, i.sha256).where(i.created_at < before)
                               .order_by(i.id).limit(limit))
        return [(int(r.id), str(r.sha256)) for r in rows]

    def blob_referenced(self, sha256: str) -> bool:
        """Whether any record still points at the blob (originals, archival copies,
        results): only an unreferenced blob may be removed."""
        refs = union_all(
            select(_F.sha256).where(_F.sha256 == sha256),
            select(_V.archival_sha256).where(_V.archival_sha256 == sha256),
            select(t.results.c.blob_sha256).where(t.results.c.blob_sha256 == sha256),
            select(t.results.c.draft_sha256).where(t.results.c.draft_sha256 == sha256),
            select(t.results.c.signed_sha256).where(t.results.c.signed_sha256 == sha256),
        ).subquery()
        return bool(self._c.execute(select(func.count()).select_from(refs)).scalar_one())
