"""The citizen's electronic data store: what the state holds for each person, kept for reuse.

Every digitised paper that becomes ready, and every e-result handed over, is registered for
its owner [Decree 45/2020 Art. 16 as amended; DOMAIN.md "Reuse"]. These hooks run inside the
transaction that changes the record, together with the outbox row for the search index.
"""

from __future__ import annotations

from datetime import datetime

from records.authz import Principal
from records.errors import Forbidden
from records.indexing import document_key, result_key
from records.model import ReuseStatus, Role, StoreItem, StoreStatus
from records.repository import RecordsSession, RecordsStore

__all__ = ["on_document_ready", "on_result_returned", "on_result_sealed", "store_of"]


def on_document_ready(tx: RecordsSession, document_id: int, now: datetime) -> None:
    document = tx.get_document_by_id(document_id)
    dossier = tx.get_dossier_by_id(document.dossier_id) if document else None
    if document is None or dossier is None:
        return
    tx.add_outbox(document_key(document.doc_code), now=now)
    if document.reuse_status is not ReuseStatus.NEW:
        return  # a reused paper is already in the store, under its first registration
    tx.add_store_item(StoreItem(
        id=0, owner_id=document.owner_id, kind="document", ref=document.doc_code,
        document_type=document.document_type, title=document.title,
        source_dossier=dossier.code, status=StoreStatus.VALID, created_at=now,
        issuer=document.issuer or "", number=document.number,
        issue_date=document.issue_date))


def on_result_sealed(tx: RecordsSession, code: str, now: datetime) -> None:
    tx.add_outbox(result_key(code), now=now)


def on_result_returned(tx: RecordsSession, dossier_id: int, now: datetime) -> None:
    """The result is handed over: it goes into the citizen's data store."""
    result = tx.result_of_dossier(dossier_id)
    dossier = tx.get_dossier_by_id(dossier_id)
    if result is None or dossier is None:
        return
    agency = tx.get_agency(dossier.agency_code)
    tx.add_store_item(StoreItem(
        id=0, owner_id=dossier.applicant_id, kind="result", ref=result.code,
        document_type=result.result_type, title=result.title, source_dossier=dossier.code,
        status=StoreStatus.VALID, created_at=now, issuer=agency.name if agency else "",
        number=result.number, issue_date=result.issue_date))
    tx.add_outbox(result_key(result.code), now=now)


def store_of(store: RecordsStore, who: Principal) -> list[StoreItem]:
    """The citizen's own data store: every paper and result the state holds for them."""
    if not who.has(Role.CITIZEN) or who.owner_id is None:
        raise Forbidden("forbidden", "Chỉ công dân xem được kho dữ liệu của mình.")
    with store.session(readonly=True) as tx:
        return tx.store_items(who.owner_id)
