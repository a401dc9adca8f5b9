"""Rules both engines follow the same way: the page window, the empty scope, the newest
version of each document in a batch, timestamps."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from records.authz import Scope
from records.ports import IndexedDocument, SearchQuery

__all__ = [
    "MAX_LIMIT",
    "MAX_RESULT_WINDOW",
    "PageWindow",
    "newest_per_id",
    "page_window",
    "sees_nothing",
    "utc",
]

# Elasticsearch refuses from + size beyond index.max_result_window (10,000 by default); the
# embedded engine keeps the same window so that both answer a deep page alike: no hits, the
# exact total. records.indexing.search already refuses offsets beyond 10,000.
MAX_RESULT_WINDOW = 10_000
MAX_LIMIT = 1_000


@dataclass(frozen=True, kw_only=True, slots=True)
class PageWindow:
    offset: int
    limit: int  # 0: count only, no hits to fetch

    @property
    def fetch(self) -> bool:
        return self.limit > 0


def page_window(query: SearchQuery) -> PageWindow:
    offset = max(query.offset, 0)
    limit = min(max(query.limit, 0), MAX_LIMIT, max(MAX_RESULT_WINDOW - offset, 0))
    return PageWindow(offset=offset, limit=limit)


def sees_nothing(scope: Scope | None) -> bool:
    """A scope with every set empty matches no document (None is everyone's)."""
    return scope is not None and not (scope.branch_codes or scope.agency_codes
                                      or scope.owner_ids)


def newest_per_id(documents: Iterable[IndexedDocument]) -> dict[str, IndexedDocument]:
    """One document per id, the highest version (the later one among equals)."""
    newest: dict[str, IndexedDocument] = {}
    for doc in documents:
        held = newest.get(doc.doc_id)
        if held is None or doc.version >= held.version:
            newest[doc.doc_id] = doc
    return newest


def utc(moment: datetime) -> datetime:
    """``moment`` in UTC; a naive datetime is a programming error (STYLE: aware datetimes)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"naive datetime {moment.isoformat()}: search needs aware datetimes")
    return moment.astimezone(UTC)
