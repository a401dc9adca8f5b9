"""``SearchIndex`` on Tantivy, embedded: the default engine (records/ports.py).

On disk the index is a set of generations under ``directory``, ``current`` being a symlink
to the one in use::

    directory/current -> gen-00001717000000000000-1a2b3c4d
    directory/gen-00001717000000000000-1a2b3c4d/   (a Tantivy index)

``rebuild`` writes a new generation beside the old one and swaps the symlink with one
``rename``, so a reader sees the old index or the new one, never a half-built one; a reader
in another process notices the swap on its next search and reopens.

One writer at a time: a thread lock in this process, Tantivy's lock file across processes
(a writer elsewhere is waited for up to ``lock_timeout`` seconds). A writer is taken per
batch and released after its commit, so several processes can take turns writing.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import tantivy

from records.ports import IndexedDocument, SearchHit, SearchPage, SearchQuery
from search.common import newest_per_id, page_window, sees_nothing
from search.tantivy_schema import (
    SCHEMA,
    build_query,
    from_document,
    open_index,
    snippet_for,
    to_document,
)

__all__ = ["IndexBusy", "TantivyIndex"]

log = logging.getLogger(__name__)

CURRENT = "current"
_GENERATION = "gen-"
_WRITE_HEAP = 32_000_000  # per batch, one thread: Tantivy needs at least 15 MB a thread
_REBUILD_HEAP = 256_000_000  # split among Tantivy's indexing threads


class IndexBusy(RuntimeError):
    """Another process held the index writer for longer than ``lock_timeout``."""


@dataclass(frozen=True, slots=True)
class _Generation:
    name: str | None  # None: in memory
    index: tantivy.Index


class TantivyIndex:
    """Search over documents and results, Vietnamese-aware; ``directory`` None keeps the
    index in memory (tests, demos)."""

    def __init__(self, directory: Path | None, *, lock_timeout: float = 30.0) -> None:
        self._root = directory
        self._lock_timeout = lock_timeout
        self._lock = threading.RLock()  # one writer per index in this process
        self._generation = self._open_current()

    # -- generations -------------------------------------------------------------------

    def _open_current(self) -> _Generation:
        if self._root is None:
            return _Generation(None, open_index(None))
        self._root.mkdir(parents=True, exist_ok=True)
        link = self._root / CURRENT
        if not link.is_symlink():
            name = self._new_generation_name()
            open_index(self._root / name)
            try:
                os.symlink(name, link)
            except FileExistsError:  # another process initialised it first
                shutil.rmtree(self._root / name, ignore_errors=True)
        name = os.readlink(link)
        try:
            return _Generation(name, open_index(self._root / name))
        except ValueError as exc:
            if "schema does not match" not in str(exc):
                raise
        # Written by another version of this module. The index is derived data: start an
        # empty generation and say so; `motcua reindex` refills it.
        log.warning("search index %s has an older schema: starting empty, run a reindex",
                    self._root / name)
        fresh = self._new_generation_name()
        generation = _Generation(fresh, open_index(self._root / fresh))
        self._swap(generation)
        return generation

    def _new_generation_name(self) -> str:
        name = f"{_GENERATION}{time.time_ns():020d}-{uuid.uuid4().hex[:8]}"
        if self._root is not None:
            (self._root / name).mkdir()
        return name

    def _current(self) -> _Generation:
        """The generation ``current`` names, reopened if a rebuild elsewhere swapped it."""
        held = self._generation
        if self._root is None:
            return held
        name = os.readlink(self._root / CURRENT)
        if name != held.name:
            held = _Generation(name, open_index(self._root / name))
            self._generation = held
        return held

    # -- writing -----------------------------------------------------------------------

    def _acquire(self) -> tuple[_Generation, tantivy.IndexWriter]:
        """The writer of the current generation, waiting for another process's writer."""
        deadline = time.monotonic() + self._lock_timeout
        while True:
            generation = self._current()
            try:
                writer = generation.index.writer(heap_size=_WRITE_HEAP, num_threads=1)
            except ValueError as exc:
                if "LockBusy" not in str(exc):
                    raise
                if time.monotonic() >= deadline:
                    raise IndexBusy(f"search index writer busy for {self._lock_timeout}s"
                                    ) from exc
                time.sleep(0.05)
                continue
            if self._current().name == generation.name:
                generation.index.reload()  # see every commit made before we took the lock
                return generation, writer
            del writer  # a rebuild swapped generations meanwhile: write to the new one

    @contextmanager
    def _writing(self) -> Iterator[tuple[tantivy.Index, tantivy.IndexWriter]]:
        """Commit if the block ends normally; on an exception drop the writer, which
        discards what it had not committed (its context manager would commit)."""
        with self._lock:
            generation, writer = self._acquire()
            try:
                yield generation.index, writer
                writer.commit()
                # Consumes the writer, releasing the lock, once the merges its commit started
                # are done: a writer dropped at once would abandon them and segments pile up.
                writer.wait_merging_threads()
            finally:
                del writer
            generation.index.reload()

    def upsert(self, documents: Sequence[IndexedDocument]) -> None:
        prepared = [(doc, to_document(doc)) for doc in newest_per_id(documents).values()]
        if not prepared:
            return
        with self._writing() as (index, writer):
            searcher = index.searcher()
            for doc, entry in prepared:
                held = _stored_version(searcher, doc.doc_id)
                if held is not None and doc.version < held:
                    continue  # stale: an out-of-order write never overwrites a newer one
                writer.delete_documents_by_term("doc_id", doc.doc_id)
                writer.add_document(entry)

    def delete(self, doc_ids: Sequence[str]) -> None:
        if not doc_ids:
            return
        with self._writing() as (_, writer):
            for doc_id in doc_ids:
                writer.delete_documents_by_term("doc_id", doc_id)

    def rebuild(self, documents: Iterable[IndexedDocument]) -> None:
        """Build a new generation, then swap it in. The old generation's writer is held
        throughout, so no upsert lands in an index about to be replaced."""
        with self._lock:
            old, hold = self._acquire()
            try:
                fresh = self._build(documents)
                self._swap(fresh)
            finally:
                del hold
            self._collect(keep={fresh.name, old.name})

    def _build(self, documents: Iterable[IndexedDocument]) -> _Generation:
        name = self._new_generation_name() if self._root is not None else None
        path = None if self._root is None or name is None else self._root / name
        try:
            index = open_index(path)
            writer = index.writer(heap_size=_REBUILD_HEAP)
            try:
                _fill(writer, documents)
                writer.commit()
                writer.wait_merging_threads()
            finally:
                del writer  # the traceback must not keep the lock alive
            index.reload()
        except BaseException:
            if path is not None:
                shutil.rmtree(path, ignore_errors=True)
            raise
        return _Generation(name, index)

    def _swap(self, fresh: _Generation) -> None:
        if self._root is not None and fresh.name is not None:
            temporary = self._root / f".{CURRENT}-{uuid.uuid4().hex}"
            os.symlink(fresh.name, temporary)
            os.replace(temporary, self._root / CURRENT)  # rename(2): atomic
            descriptor = os.open(self._root, os.O_RDONLY)
            try:
                os.fsync(descriptor)  # the swap survives a power cut
            finally:
                os.close(descriptor)
        self._generation = fresh

    def _collect(self, *, keep: set[str | None]) -> None:
        """Delete older generations. The one just replaced stays until the next rebuild:
        a process that has not searched since the swap still has it open."""
        if self._root is None:
            return
        for entry in self._root.iterdir():
            if entry.name.startswith(_GENERATION) and entry.name not in keep:
                shutil.rmtree(entry, ignore_errors=True)

    # -- reading -----------------------------------------------------------------------

    def _searcher(self) -> tantivy.Searcher:
        index = self._current().index
        index.reload()
        return index.searcher()

    def search(self, query: SearchQuery) -> SearchPage:
        if sees_nothing(query.scope):
            return SearchPage(total=0, hits=())
        window = page_window(query)
        matcher = build_query(query)
        searcher = self._searcher()
        # Tantivy panics on a limit of 0; a count-only search fetches one hit from the top.
        limit, offset = max(window.limit, 1), window.offset if window.fetch else 0
        if matcher.has_words:
            result = searcher.search(matcher.query, limit, count=True, offset=offset)
        else:  # filters only: newest first, there is no score to rank by
            result = searcher.search(matcher.query, limit, count=True, offset=offset,
                                     order_by_field="created_us", order=tantivy.Order.Desc)
        total = int(result.count)  # type: ignore[attr-defined]  # missing from the stub
        if not window.fetch:
            return SearchPage(total=total, hits=())
        generators = [(field, tantivy.SnippetGenerator.create(searcher, matcher.query, SCHEMA,
                                                              field))
                      for field in ("body", "body_folded")] if matcher.has_words else []
        hits = []
        for score, address in result.hits:
            document = from_document(searcher.doc(address))
            hits.append(SearchHit(
                doc_id=document.doc_id, document=document,
                score=float(score) if matcher.has_words else 0.0,
                snippet=snippet_for(generators, document.text, matcher.text)))
        return SearchPage(total=total, hits=tuple(hits))

    def get(self, doc_id: str) -> IndexedDocument | None:
        searcher = self._searcher()
        result = searcher.search(tantivy.Query.term_query(SCHEMA, "doc_id", doc_id), 1)
        return from_document(searcher.doc(result.hits[0][1])) if result.hits else None

    def count(self) -> int:
        return self._searcher().num_docs


def _fill(writer: tantivy.IndexWriter, documents: Iterable[IndexedDocument]) -> None:
    versions: dict[str, int] = {}
    for doc in documents:
        held = versions.get(doc.doc_id)
        if held is not None:
            if doc.version < held:
                continue
            writer.delete_documents_by_term("doc_id", doc.doc_id)
        versions[doc.doc_id] = doc.version
        writer.add_document(to_document(doc))


def _stored_version(searcher: tantivy.Searcher, doc_id: str) -> int | None:
    result = searcher.search(tantivy.Query.term_query(SCHEMA, "doc_id", doc_id), 1)
    if not result.hits:
        return None
    values = searcher.fast_field_values("version", [result.hits[0][1]])
    return None if values[0] is None else int(values[0])
