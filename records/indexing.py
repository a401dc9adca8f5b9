"""The search index is derived data: written from the transactional outbox after the
records commit (never inside a request), rebuilt from the records by ``motcua reindex``.

An outbox row names a document or a result whose searchable state changed; the publisher
reads pending rows, builds each entry from the records as they are now, and upserts it with
the row's id as its version, so that a slow publisher can never overwrite a newer entry.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from records.authz import Principal, reach_of
from records.errors import InvalidInput
from records.model import ResultStatus, VersionStatus
from records.ports import (
    Clock,
    IndexedDocument,
    SearchIndex,
    SearchPage,
    SearchQuery,
)
from records.repository import RecordsSession, RecordsStore

__all__ = [
    "IndexLag",
    "SearchDeps",
    "build_entry",
    "document_key",
    "index_lag",
    "publish_outbox",
    "rebuild_index",
    "result_key",
    "search",
]

MAX_QUERY = 1000


@dataclass(frozen=True, kw_only=True)
class SearchDeps:
    store: RecordsStore
    clock: Clock
    index: SearchIndex


def document_key(doc_code: str) -> str:
    return f"document:{doc_code}"


def result_key(code: str) -> str:
    return f"result:{code}"


def build_entry(tx: RecordsSession, key: str, version: int) -> IndexedDocument | None:
    """The index entry for ``key`` as the records stand, or None if nothing to index."""
    kind, _, ref = key.partition(":")
    if kind == "document":
        document = tx.get_document(ref)
        dossier = tx.get_dossier_by_id(document.dossier_id) if document else None
        if document is None or dossier is None or not document.versions:
            return None
        latest = document.versions[-1]
        if latest.status is not VersionStatus.READY:
            return None
        text = "\n".join(p.text for p in tx.pages(document.id, latest.version))
        return IndexedDocument(
            doc_id=key, version=version, kind="document", owner_id=document.owner_id,
            dossier_code=dossier.code, procedure_code=dossier.procedure_code,
            document_type=document.document_type, status=latest.status.value,
            branch_code=dossier.branch_code, agency_code=dossier.agency_code,
            created_at=document.created_at, issued=document.issue_date, title=document.title,
            text=text)
    if kind == "result":
        result = tx.get_result(ref)
        dossier = tx.get_dossier_by_id(result.dossier_id) if result else None
        if result is None or dossier is None or result.status is ResultStatus.DRAFT:
            return None
        agency = tx.get_agency(dossier.agency_code)
        return IndexedDocument(
            doc_id=key, version=version, kind="result", owner_id=dossier.applicant_id,
            dossier_code=dossier.code, procedure_code=dossier.procedure_code,
            document_type=result.result_type, status=result.status.value,
            branch_code=dossier.branch_code, agency_code=dossier.agency_code,
            created_at=result.created_at, issued=result.issue_date, title=result.title,
            text="\n".join([result.title, result.result_type, f"Số: {result.number}",
                            result.code, result.signer_name,
                            agency.name if agency else ""]))
    return None


def publish_outbox(deps: SearchDeps, *, limit: int = 500) -> int:
    """Index what the outbox names; return how many rows were handled."""
    with deps.store.session(readonly=True) as tx:
        pending = tx.pending_outbox(limit)
        entries = [(row_id, key, build_entry(tx, key, row_id)) for row_id, key in pending]
    if not pending:
        return 0
    fresh = [entry for _, _, entry in entries if entry is not None]
    gone = [key for _, key, entry in entries if entry is None]
    if fresh:
        deps.index.upsert(fresh)
    if gone:
        deps.index.delete(gone)
    with deps.store.session() as tx:
        tx.mark_outbox_processed([row_id for row_id, _, _ in entries], now=deps.clock.now())
    return len(entries)


def rebuild_index(deps: SearchDeps) -> int:
    """Rebuild the whole index from the records; the old index serves until the swap."""
    with deps.store.session(readonly=True) as tx:
        pending = tx.pending_outbox(1_000_000)
        version = max((row_id for row_id, _ in pending), default=0) + 1
        entries = [entry for key in tx.index_keys()
                   if (entry := build_entry(tx, key, version)) is not None]
    deps.index.rebuild(entries)
    with deps.store.session() as tx:
        tx.mark_outbox_processed([row_id for row_id, _ in pending], now=deps.clock.now())
    return len(entries)


@dataclass(frozen=True, kw_only=True, slots=True)
class IndexLag:
    pending: int
    oldest: datetime | None
    seconds: float


def index_lag(deps: SearchDeps) -> IndexLag:
    with deps.store.session(readonly=True) as tx:
        pending, oldest = tx.outbox_lag()
    seconds = (deps.clock.now() - oldest).total_seconds() if oldest else 0.0
    return IndexLag(pending=pending, oldest=oldest, seconds=max(seconds, 0.0))


def search(deps: SearchDeps, who: Principal, query: SearchQuery) -> SearchPage:
    """Search in Vietnamese, with or without diacritics, within what ``who`` may open."""
    if not 1 <= query.limit <= 100 or query.offset < 0 or query.offset > 10_000:
        raise InvalidInput("invalid_page", "Tham số phân trang không hợp lệ.", field="limit")
    text = query.text[:MAX_QUERY]
    return deps.index.search(replace(query, text=text, scope=reach_of(who)))
