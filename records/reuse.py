"""Reuse: "never ask again for what the state holds" [Decree 45/2020 Art. 16; DOMAIN.md].

At intake, each paper the procedure requires is matched against the applicant's data store;
the clerk attaches a valid one by reference: a new document version pointing to the same
blobs (no copy), with its reuse source recorded.
"""

from __future__ import annotations

from dataclasses import dataclass

from records.audit import AuditEvent
from records.authz import Action, Principal, authorize, can_see
from records.calendar import VN_TZ
from records.datastore import on_document_ready
from records.documents import DocumentDeps, DocumentView, get_document
from records.errors import Conflict, InvalidInput, NotFound
from records.model import (
    CopyKind,
    Document,
    DocumentVersion,
    ReuseStatus,
    StoredFile,
    StoreItem,
    VersionStatus,
)

__all__ = ["ReuseSuggestion", "attach_reused", "reuse_suggestions"]


@dataclass(frozen=True, kw_only=True, slots=True)
class ReuseSuggestion:
    component_code: str
    component_name: str
    document_type: str
    items: tuple[StoreItem, ...]  # valid papers of that type the state holds for the person


def reuse_suggestions(deps: DocumentDeps, who: Principal,
                      dossier_code: str) -> list[ReuseSuggestion]:
    today = deps.clock.now().astimezone(VN_TZ).date()
    with deps.store.session(readonly=True) as tx:
        dossier = tx.get_dossier(dossier_code)
        if dossier is None or not can_see(who, dossier):
            raise NotFound("dossier_not_found", "Không tìm thấy hồ sơ.")
        procedure = tx.get_procedure(dossier.procedure_code)
        attached = {d.reuse_source for d in tx.documents_of(dossier.id) if d.reuse_source}
        own = {d.doc_code for d in tx.documents_of(dossier.id)}
        suggestions = []
        for component in procedure.components if procedure else ():
            items = tuple(item for item in tx.store_items(dossier.applicant_id,
                                                           document_type=component.document_type)
                          if item.reusable(today) and item.ref not in attached
                          and item.ref not in own)
            suggestions.append(ReuseSuggestion(
                component_code=component.code, component_name=component.name,
                document_type=component.document_type, items=items))
        return suggestions


def _reused_version(tx_document: Document | None, item: StoreItem) -> DocumentVersion:
    if tx_document is None or not tx_document.versions:
        raise NotFound("store_item_not_found", "Không tìm thấy giấy tờ trong kho dữ liệu.")
    return tx_document.versions[-1]


def attach_reused(deps: DocumentDeps, who: Principal, dossier_code: str, component_code: str,
                  item_id: int) -> DocumentView:
    """Attach a paper the state already holds to this dossier, by reference."""
    now = deps.clock.now()
    with deps.store.session() as tx:
        dossier = tx.get_dossier(dossier_code)
        if dossier is None or not can_see(who, dossier):
            raise NotFound("dossier_not_found", "Không tìm thấy hồ sơ.")
        authorize(who, Action.EDIT_DOCUMENTS, dossier)
        procedure = tx.get_procedure(dossier.procedure_code)
        component = next((c for c in procedure.components if c.code == component_code),
                         None) if procedure else None
        item = tx.get_store_item(item_id)
        if component is None:
            raise InvalidInput("unknown_component", f"Thủ tục này không có thành phần hồ sơ "
                               f"«{component_code}».", field="component_code")
        if (item is None or item.owner_id != dossier.applicant_id
                or not item.reusable(now.astimezone(VN_TZ).date())):
            raise NotFound("store_item_not_found", "Không tìm thấy giấy tờ còn hiệu lực của "
                           "người nộp trong kho dữ liệu.")
        if item.document_type != component.document_type:
            raise InvalidInput("wrong_document_type", "Giấy tờ này không đúng loại mà thành "
                               "phần hồ sơ yêu cầu.", field="item_id")
        present = tx.documents_of(dossier.id)
        if item.ref in {d.reuse_source for d in present} | {d.doc_code for d in present}:
            raise Conflict("already_attached", "Giấy tờ này đã có trong hồ sơ.",
                           field="item_id")
        if item.kind == "document":
            source = tx.get_document(item.ref)
            version = _reused_version(source, item)
            files, archival = version.files, version.archival_sha256
            pages = tx.pages(version.document_id, version.version)
            reuse, signed = ReuseStatus.REUSED_FROM_STORE, version.signed
            confidence, dpi = version.ocr_confidence, version.resolution_dpi
            suggested = tx.suggested(version.document_id, version.version)
        else:
            result = tx.get_result(item.ref)
            if result is None:
                raise NotFound("store_item_not_found", "Không tìm thấy kết quả trong kho.")
            files = (StoredFile(position=0, sha256=result.blob_sha256, size=0,
                                media_type="application/pdf", filename=f"{result.code}.pdf"),)
            archival, pages, signed = result.blob_sha256, [], True
            reuse = ReuseStatus.REUSED_FROM_RESULT
            confidence, dpi, suggested = None, None, None
        files = tuple(StoredFile(position=f.position, sha256=f.sha256,
                                 size=f.size or deps.blobs.size(f.sha256),
                                 media_type=f.media_type, filename=f.filename) for f in files)
        seq = tx.next_document_seq(dossier.agency_code, component.document_type)
        document = tx.add_document(Document(
            id=0, dossier_id=dossier.id,
            doc_code=f"{dossier.agency_code}_{component.document_type}_{seq:06d}",
            component_code=component.code, document_type=component.document_type,
            owner_id=dossier.applicant_id, created_at=now, created_by=who.username,
            title=item.title or component.name, number=item.number,
            issue_date=item.issue_date, issuer=item.issuer or None,
            copy_kind=CopyKind.CERTIFIED_COPY, reuse_status=reuse, reuse_source=item.ref))
        tx.add_version(DocumentVersion(
            document_id=document.id, version=1, status=VersionStatus.PROCESSING, files=files,
            created_at=now, created_by=who.username))
        tx.save_pages(document.id, 1, pages)
        tx.set_version_outcome(document.id, 1, status=VersionStatus.READY,
                               archival_sha256=archival, page_count=len(pages) or None,
                               signed=signed, ocr_confidence=confidence, resolution_dpi=dpi,
                               suggested=suggested)
        on_document_ready(tx, document.id, now)
        tx.append_audit(AuditEvent(actor=who.username, action="document.reuse",
                                   object_type="document", object_id=document.doc_code,
                                   detail={"dossier": dossier.code, "source": item.ref,
                                           "kind": item.kind}),
                        at=now, key=deps.audit_key)
        code = document.doc_code
    return get_document(deps, who, code)

