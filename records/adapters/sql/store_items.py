"""The outbox, the citizen's data store and agency scopes in the records database."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Row, func, insert, select, update

from records.adapters.sql import tables as t
from records.model import StoreItem, StoreStatus

__all__ = ["StoreRows"]

_O, _S = t.outbox.c, t.store_items.c
_ITEM_FIELDS = ("owner_id", "kind", "ref", "document_type", "title", "issuer", "number",
                "issue_date", "expiry_date", "source_dossier", "created_at")


def _item(row: Row[Any]) -> StoreItem:
    m = row._mapping
    return StoreItem(id=m["id"], status=StoreStatus(m["status"]),
                     **{k: m[k] for k in _ITEM_FIELDS})


class StoreRows:
    """Session methods (mixed into ``SqlRecordsSession``)."""

    _c: Connection

    # -- outbox ---------------------------------------------------------------------------
    def add_outbox(self, doc_id: str, *, now: datetime) -> None:
        self._c.execute(insert(t.outbox).values(doc_id=doc_id, created_at=now))

    def pending_outbox(self, limit: int) -> list[tuple[int, str]]:
        rows = self._c.execute(select(_O.id, _O.doc_id).where(_O.processed_at.is_(None))
                               .order_by(_O.id).limit(limit))
        return [(int(r.id), str(r.doc_id)) for r in rows]

    def mark_outbox_processed(self, ids: list[int], *, now: datetime) -> None:
        if ids:
            self._c.execute(update(t.outbox).where(_O.id.in_(ids)).values(processed_at=now))

    def outbox_lag(self) -> tuple[int, datetime | None]:
        """How many writes await the indexer, and since when the oldest has waited."""
        row = self._c.execute(select(func.count(), func.min(_O.created_at))
                              .where(_O.processed_at.is_(None))).one()
        oldest = row[1]
        # SQLite's MIN() loses the column type: a naive ISO string in UTC comes back.
        if isinstance(oldest, str):
            oldest = datetime.fromisoformat(oldest)
        if isinstance(oldest, datetime) and oldest.tzinfo is None:
            oldest = oldest.replace(tzinfo=UTC)
        return int(row[0]), oldest

    def index_keys(self) -> list[str]:
        """Every record the search index may hold, as outbox keys."""
        docs = self._c.execute(select(t.documents.c.doc_code).order_by(t.documents.c.id))
        results = self._c.execute(select(t.results.c.code).where(
            t.results.c.status != "draft").order_by(t.results.c.id))
        return ([f"document:{r.doc_code}" for r in docs]
                + [f"result:{r.code}" for r in results])

    # -- data store -----------------------------------------------------------------------
    def add_store_item(self, item: StoreItem) -> StoreItem:
        existing = self._c.execute(select(t.store_items).where(_S.ref == item.ref)).first()
        if existing is not None:
            return _item(existing)
        new_id = self._c.execute(insert(t.store_items).values(
            status=item.status.value, **{k: getattr(item, k) for k in _ITEM_FIELDS})
            .returning(_S.id)).scalar_one()
        return replace(item, id=int(new_id))

    def get_store_item(self, item_id: int) -> StoreItem | None:
        row = self._c.execute(select(t.store_items).where(_S.id == item_id)).first()
        return _item(row) if row else None

    def store_item_by_ref(self, ref: str) -> StoreItem | None:
        row = self._c.execute(select(t.store_items).where(_S.ref == ref)).first()
        return _item(row) if row else None

    def store_items(self, owner_id: str, *, document_type: str | None = None,
                    status: StoreStatus | None = None) -> list[StoreItem]:
        stmt = select(t.store_items).where(_S.owner_id == owner_id).order_by(_S.id.desc())
        if document_type is not None:
            stmt = stmt.where(_S.document_type == document_type)
        if status is not None:
            stmt = stmt.where(_S.status == status.value)
        return [_item(r) for r in self._c.execute(stmt)]

    def set_store_status(self, item_id: int, status: StoreStatus) -> None:
        self._c.execute(update(t.store_items).where(_S.id == item_id)
                        .values(status=status.value))

    # -- agency scopes --------------------------------------------------------------------
    def agency_procedures(self, username: str) -> frozenset[str]:
        rows = self._c.execute(select(t.agency_scopes.c.procedure_code)
                               .where(t.agency_scopes.c.username == username))
        return frozenset(str(r.procedure_code) for r in rows)

    def add_agency_scope(self, username: str, procedure_code: str) -> None:
        self._c.execute(insert(t.agency_scopes).values(username=username,
                                                       procedure_code=procedure_code))
