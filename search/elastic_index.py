"""``SearchIndex`` on Elasticsearch 8: the scale-out engine (records/ports.py).

Everything goes through the alias ``{alias}``, which names one concrete index
``{alias}-{n}``; ``rebuild`` fills ``{alias}-{n+1}`` and moves the alias in one
``update_aliases`` call (remove + add are atomic), so a search sees the old index or the
new one. Stale writes are refused by Elasticsearch itself: the document's ``version`` is an
external version (``external_gte``: a lower version is a conflict, which we swallow; an
equal one is re-applied, as in the embedded engine).

Text is NFC-normalised here, before Elasticsearch sees it: the standard tokenizer keeps NFD
combining marks inside a word, and ``asciifolding`` does not strip a lone combining mark,
so a decomposed "đất" would not fold to "dat" (FINDINGS "Queue and search").
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from elasticsearch import BadRequestError, Elasticsearch, NotFoundError, helpers

from records.ports import IndexedDocument, SearchHit, SearchPage, SearchQuery
from search.common import newest_per_id, page_window, sees_nothing, utc
from search.text import (
    MAX_WORD_CHARS,
    SNIPPET_SCAN_CHARS,
    make_snippet,
    nfc,
    sanitize_query,
)

__all__ = ["INDEX_TEMPLATE", "ElasticIndex", "IndexWriteError"]

KEYWORD_FIELDS = ("doc_id", "kind", "owner_id", "dossier_code", "procedure_code",
                  "document_type", "status", "branch_code", "agency_code")
_FILTERS = ("owner_id", "procedure_code", "document_type", "kind", "status", "branch_code")
_ALIAS = re.compile(r"[a-z0-9][a-z0-9._-]{0,200}")
_MAX_TOKEN_CHARS = 4 * MAX_WORD_CHARS  # longer tokens are OCR noise (as the embedded engine)
_SNIPPET_CHARS = 150
_CONFLICT, _MISSING = 409, 404

_TEXT = {"type": "text", "analyzer": "vi_accented",
         "fields": {"folded": {"type": "text", "analyzer": "vi_folded"}}}
INDEX_TEMPLATE: dict[str, Any] = {
    # One shard: a million records of a few kB is a few GB, well inside one shard, and
    # term statistics stay exact (several shards skew the ranking of small indices).
    "settings": {"number_of_shards": 1, "analysis": {
        "filter": {"vi_length": {"type": "length", "max": _MAX_TOKEN_CHARS}},
        "analyzer": {
            # Folding alone merges "nhân" and "nhận": keep an accented field beside it.
            "vi_accented": {"type": "custom", "tokenizer": "standard",
                            "filter": ["lowercase", "vi_length"]},
            # asciifolding maps đ (U+0111) to d, which SQLite FTS5 does not.
            "vi_folded": {"type": "custom", "tokenizer": "standard",
                          "filter": ["lowercase", "asciifolding", "vi_length"]},
        }}},
    "mappings": {"dynamic": "strict", "properties": {
        **{name: {"type": "keyword"} for name in KEYWORD_FIELDS},
        "version": {"type": "long"},
        "created_at": {"type": "date"},
        "issued": {"type": "date"},
        "title": _TEXT,
        "text": _TEXT,
    }},
}
_HIGHLIGHT = {
    "pre_tags": ["<mark>"], "post_tags": ["</mark>"],
    "encoder": "html",  # escape the text, then insert the tags
    "max_analyzed_offset": SNIPPET_SCAN_CHARS,  # a huge text is highlighted in part, never fails
    "fields": {name: {"number_of_fragments": 1, "fragment_size": _SNIPPET_CHARS}
               for name in ("text", "text.folded")},
}


class IndexWriteError(RuntimeError):
    """Elasticsearch refused some writes (other than stale versions and missing deletes)."""


class ElasticIndex:
    """Search over documents and results on Elasticsearch. Nothing is sent before the
    first call; the first call creates ``{alias}-1`` and the alias if they are missing."""

    def __init__(self, client: Elasticsearch, alias: str) -> None:
        if not _ALIAS.fullmatch(alias):
            raise ValueError(f"not a valid Elasticsearch alias: {alias!r}")
        self._client = client
        self._alias = alias
        self._ready = False

    # -- indices -----------------------------------------------------------------------

    def ensure(self) -> None:
        if self._ready:
            return
        if not self._client.indices.exists_alias(name=self._alias):
            try:
                self._create(self._next_index_name(), alias=True)
            except BadRequestError as exc:  # another process created it first
                if exc.error != "resource_already_exists_exception":
                    raise
        self._ready = True

    def _create(self, name: str, *, alias: bool) -> None:
        self._client.indices.create(index=name, settings=INDEX_TEMPLATE["settings"],
                                    mappings=INDEX_TEMPLATE["mappings"],
                                    aliases={self._alias: {}} if alias else None)

    def _next_index_name(self) -> str:
        existing = self._client.indices.get(index=f"{self._alias}-*", expand_wildcards="all")
        pattern = re.compile(re.escape(self._alias) + r"-(\d+)")
        numbers = [int(m.group(1)) for name in existing if (m := pattern.fullmatch(name))]
        return f"{self._alias}-{max(numbers, default=0) + 1}"

    def _aliased(self) -> list[str]:
        return list(self._client.indices.get_alias(name=self._alias))

    # -- writing -----------------------------------------------------------------------

    def _bulk(self, actions: Iterable[dict[str, Any]], *, tolerated: int,
              **options: Any) -> None:
        failures = []
        for ok, item in helpers.streaming_bulk(self._client, actions, raise_on_error=False,
                                               max_retries=3, **options):
            outcome = next(iter(item.values()))
            if not ok and outcome.get("status") != tolerated:
                failures.append(outcome)
        if failures:
            raise IndexWriteError(f"{len(failures)} writes refused, first: {failures[0]}")

    def _actions(self, index: str, documents: Iterable[IndexedDocument]
                 ) -> Iterable[dict[str, Any]]:
        for doc in documents:
            yield {"_op_type": "index", "_index": index, "_id": doc.doc_id,
                   "version": doc.version, "version_type": "external_gte",
                   "_source": _source(doc)}

    def upsert(self, documents: Sequence[IndexedDocument]) -> None:
        # Built before sending: a bad document (a naive datetime) fails the whole batch.
        actions = list(self._actions(self._alias, newest_per_id(documents).values()))
        if actions:
            self.ensure()
            # A 409 is a stale version: ignored, as the contract asks.
            self._bulk(actions, tolerated=_CONFLICT, refresh="wait_for")

    def delete(self, doc_ids: Sequence[str]) -> None:
        if doc_ids:
            self.ensure()
            actions = ({"_op_type": "delete", "_index": self._alias, "_id": doc_id}
                       for doc_id in doc_ids)
            self._bulk(actions, tolerated=_MISSING, refresh="wait_for")

    def rebuild(self, documents: Iterable[IndexedDocument]) -> None:
        """Fill a new index, then move the alias. The old index is write-blocked meanwhile:
        an upsert during a rebuild fails (and is retried by its caller) rather than landing
        in an index about to be dropped."""
        self.ensure()
        old = self._aliased()
        new = self._next_index_name()
        self._create(new, alias=False)
        try:
            for name in old:
                self._client.indices.add_block(index=name, block="write")
            self._bulk(self._actions(new, documents), tolerated=_CONFLICT)
            self._client.indices.refresh(index=new)
            self._client.indices.update_aliases(actions=[
                *({"remove": {"index": name, "alias": self._alias}} for name in old),
                {"add": {"index": new, "alias": self._alias}}])
        except BaseException:
            for name in old:
                self._client.indices.put_settings(index=name,
                                                  settings={"index.blocks.write": False})
            self._client.indices.delete(index=new, ignore_unavailable=True)
            raise
        for name in old:
            self._client.indices.delete(index=name, ignore_unavailable=True)

    # -- reading -----------------------------------------------------------------------

    def search(self, query: SearchQuery) -> SearchPage:
        if sees_nothing(query.scope):
            return SearchPage(total=0, hits=())
        self.ensure()
        window = page_window(query)
        words = sanitize_query(query.text)
        must = [{"multi_match": {
            "query": words,
            # Per analyzer group, every word in the title or the text: all words required.
            "type": "cross_fields", "operator": "and",
            "fields": ["title^2", "text^2", "title.folded", "text.folded"],
            "zero_terms_query": "all",  # only noise tokens: filters only, as the embedded one
        }}] if words else []
        response = self._client.search(
            index=self._alias,
            query={"bool": {"must": must, "filter": _filters(query)}},
            from_=window.offset if window.fetch else 0, size=window.limit,
            track_total_hits=True,
            sort=[*(["_score"] if words else []), {"created_at": "desc"}, {"doc_id": "asc"}],
            highlight=_HIGHLIGHT if words and window.fetch else None)
        hits = tuple(_hit(raw, words) for raw in response["hits"]["hits"])
        return SearchPage(total=int(response["hits"]["total"]["value"]), hits=hits)

    def get(self, doc_id: str) -> IndexedDocument | None:
        try:
            response = self._client.get(index=self._alias, id=doc_id)
        except NotFoundError:
            return None
        return _document(response["_source"])

    def count(self) -> int:
        self.ensure()
        return int(self._client.count(index=self._alias)["count"])


def _filters(query: SearchQuery) -> list[dict[str, Any]]:
    clauses: list[dict[str, Any]] = [{"term": {name: value}} for name in _FILTERS
                                     if (value := getattr(query, name)) is not None]
    bounds = {op: utc(moment).isoformat() for op, moment in (("gte", query.created_from),
                                                             ("lte", query.created_to))
              if moment is not None}
    if bounds:
        clauses.append({"range": {"created_at": bounds}})
    scope = query.scope
    if scope is not None:
        clauses.append({"bool": {"minimum_should_match": 1, "should": [
            {"terms": {field: sorted(values)}}
            for field, values in (("branch_code", scope.branch_codes),
                                  ("agency_code", scope.agency_codes),
                                  ("owner_id", scope.owner_ids)) if values]}})
    return clauses


def _source(doc: IndexedDocument) -> dict[str, Any]:
    return {**{name: getattr(doc, name) for name in KEYWORD_FIELDS},
            "version": doc.version, "created_at": utc(doc.created_at).isoformat(),
            "issued": doc.issued.isoformat() if doc.issued else None,
            "title": nfc(doc.title), "text": nfc(doc.text)}


def _document(source: dict[str, Any]) -> IndexedDocument:
    return IndexedDocument(
        **{name: str(source[name]) for name in KEYWORD_FIELDS},
        version=int(source["version"]),
        created_at=datetime.fromisoformat(source["created_at"]),
        issued=date.fromisoformat(source["issued"]) if source.get("issued") else None,
        title=str(source["title"]), text=str(source["text"]))


def _hit(raw: dict[str, Any], words: str) -> SearchHit:
    document = _document(raw["_source"])
    marked = raw.get("highlight", {})
    fragments = marked.get("text") or marked.get("text.folded")  # accented matches first
    return SearchHit(doc_id=document.doc_id, document=document,
                     score=float(raw.get("_score") or 0.0) if words else 0.0,
                     snippet=fragments[0] if fragments else make_snippet(document.text, words))
