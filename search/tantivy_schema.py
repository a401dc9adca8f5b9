"""The Tantivy side of the search index: schema, analyzers, documents, queries, snippets.

The title and the text, NFC, are indexed together twice: ``body`` through an accented
analyzer (lowercase only) and ``body_folded`` through a folding one (lowercase +
``ascii_fold``, which maps đ to d). Folding alone would merge "nhân" and "nhận" (FINDINGS
"Queue and search"), so each word must match folded and scores again when it matches with
its accents. One field pair rather than one per title and text, and the accented term as a
score-only clause: at a million documents this took the p95 of a three-word query from 31 ms
to within the 20 ms target (bench/search.py). Title and text are stored apart, unindexed.

Queries are built from analysed terms, never through Tantivy's query parser: the user's
punctuation cannot become syntax, and no query can fail to parse.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import tantivy

from records.ports import IndexedDocument, SearchQuery
from search.common import utc
from search.text import (
    MAX_WORD_CHARS,
    SNIPPET_SCAN_CHARS,
    make_snippet,
    mark_html,
    nfc,
    sanitize_query,
)

__all__ = [
    "KEYWORD_FIELDS",
    "Matcher",
    "build_query",
    "from_document",
    "open_index",
    "snippet_for",
    "to_document",
]

ACCENTED = "vi_accented"
FOLDED = "vi_folded"
# Stored and indexed whole (the raw tokenizer): filters and the scope match them exactly.
KEYWORD_FIELDS = ("doc_id", "kind", "owner_id", "dossier_code", "procedure_code",
                  "document_type", "status", "branch_code", "agency_code")
_FILTERS = ("owner_id", "procedure_code", "document_type", "kind", "status", "branch_code")
ACCENT_BOOST = 2.0
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_WIDEN = 40  # bytes a snippet may grow by to end on whole words
# Tokens past this are OCR noise or base64. Bytes: 4 per character at most, so no query word
# (at most MAX_WORD_CHARS characters) is ever dropped.
_MAX_TOKEN_BYTES = 4 * MAX_WORD_CHARS


def _analyzer(*, folded: bool) -> tantivy.TextAnalyzer:
    # The simple tokenizer splits on anything not alphanumeric, so text must be NFC first:
    # NFD combining marks would cut "đất" into "đa" + "t".
    builder = (tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
               .filter(tantivy.Filter.remove_long(_MAX_TOKEN_BYTES))
               .filter(tantivy.Filter.lowercase()))
    if folded:
        builder = builder.filter(tantivy.Filter.ascii_fold())
    return builder.build()


ANALYZERS = {ACCENTED: _analyzer(folded=False), FOLDED: _analyzer(folded=True)}


def _schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    for name in KEYWORD_FIELDS:
        builder.add_text_field(name, stored=True, tokenizer_name="raw")
    builder.add_text_field("issued", stored=True, tokenizer_name="raw")
    builder.add_integer_field("version", stored=True, indexed=True, fast=True)
    # Microseconds since the epoch, UTC: exact round trip, range filters and sorting.
    builder.add_integer_field("created_us", stored=True, indexed=True, fast=True)
    for name in ("title", "text"):  # bytes: the binding has no stored-only text field
        builder.add_bytes_field(name, stored=True, indexed=False)
    builder.add_text_field("body", stored=False, tokenizer_name=ACCENTED)
    builder.add_text_field("body_folded", stored=False, tokenizer_name=FOLDED)
    return builder.build()


SCHEMA = _schema()


def open_index(path: Path | None) -> tantivy.Index:
    """Open (or create) the index at ``path``, in memory for None. Custom analyzers are not
    persisted by Tantivy: they are registered on every open."""
    index = tantivy.Index(SCHEMA, path=None if path is None else str(path), reuse=True)
    for name, analyzer in ANALYZERS.items():
        index.register_tokenizer(name, analyzer)
    # Readers reload before every read (25 us when nothing changed), so a search sees every
    # commit, this process's or another's, rather than after the watcher's delay.
    index.config_reader("manual")
    return index


def _micros(moment: dt.datetime) -> int:
    return (utc(moment) - _EPOCH) // dt.timedelta(microseconds=1)


def to_document(doc: IndexedDocument) -> tantivy.Document:
    out = tantivy.Document()
    for name in KEYWORD_FIELDS:
        out.add_text(name, getattr(doc, name))
    if doc.issued is not None:
        out.add_text("issued", doc.issued.isoformat())
    out.add_integer("version", doc.version)
    out.add_integer("created_us", _micros(doc.created_at))
    title, text = nfc(doc.title), nfc(doc.text)
    out.add_bytes("title", title.encode())
    out.add_bytes("text", text.encode())
    for field in ("body", "body_folded"):
        out.add_text(field, title)
        out.add_text(field, text)  # a second value: no phrase spans the title and the text
    return out


def from_document(stored: tantivy.Document) -> IndexedDocument:
    def first(name: str) -> str:
        value = stored.get_first(name)
        if isinstance(value, bytes):
            return value.decode()
        return "" if value is None else str(value)

    issued = first("issued")
    return IndexedDocument(
        doc_id=first("doc_id"), kind=first("kind"), owner_id=first("owner_id"),
        dossier_code=first("dossier_code"), procedure_code=first("procedure_code"),
        document_type=first("document_type"), status=first("status"),
        branch_code=first("branch_code"), agency_code=first("agency_code"),
        version=int(stored.get_first("version") or 0),
        created_at=_EPOCH + dt.timedelta(microseconds=int(stored.get_first("created_us") or 0)),
        issued=dt.date.fromisoformat(issued) if issued else None,
        title=first("title"), text=first("text"))


def query_terms(text: str) -> list[tuple[str, str]]:
    """(accented, folded) term pairs of the user's words, each word once, in order."""
    pairs: list[tuple[str, str]] = []
    for token in dict.fromkeys(ANALYZERS[ACCENTED].analyze(sanitize_query(text))):
        folded = ANALYZERS[FOLDED].analyze(token)
        pairs.append((token, folded[0] if folded else token))
    return pairs


def _term(field: str, value: str, boost: float = 1.0) -> tantivy.Query:
    query = tantivy.Query.term_query(SCHEMA, field, value)
    return query if boost == 1.0 else tantivy.Query.boost_query(query, boost)


def _word(accented: str, folded: str) -> list[tuple[tantivy.Occur, tantivy.Query]]:
    """One word: required folded, in the title or the text; with its accents it scores
    again (the folded matches include the accented ones)."""
    return [(tantivy.Occur.Must, _term("body_folded", folded)),
            (tantivy.Occur.Should, _term("body", accented, ACCENT_BOOST))]


def _filter(query: tantivy.Query) -> tantivy.Query:
    return tantivy.Query.const_score_query(query, 0.0)  # narrows, never ranks


def _filters(query: SearchQuery) -> list[tantivy.Query]:
    clauses = [_term(name, value) for name in _FILTERS
               if (value := getattr(query, name)) is not None]
    if query.created_from is not None or query.created_to is not None:
        clauses.append(tantivy.Query.range_query(
            SCHEMA, "created_us", tantivy.FieldType.Integer,
            None if query.created_from is None else _micros(query.created_from),
            None if query.created_to is None else _micros(query.created_to)))
    scope = query.scope
    if scope is not None:
        sets = [tantivy.Query.term_set_query(SCHEMA, field, sorted(values))
                for field, values in (("branch_code", scope.branch_codes),
                                      ("agency_code", scope.agency_codes),
                                      ("owner_id", scope.owner_ids)) if values]
        clauses.append(tantivy.Query.boolean_query(
            [(tantivy.Occur.Should, q) for q in sets], minimum_number_should_match=1))
    return [_filter(q) for q in clauses]


@dataclass(frozen=True, kw_only=True, slots=True)
class Matcher:
    """A built query: ``has_words`` False means filters only (ordered newest first)."""

    query: tantivy.Query
    has_words: bool
    text: str


def build_query(query: SearchQuery) -> Matcher:
    """The user's words (all required) and every filter and the scope, as one query, so that
    the engine's count is the count of what the asker may see."""
    words = [clause for a, f in query_terms(query.text) for clause in _word(a, f)]
    clauses = words or [(tantivy.Occur.Must, tantivy.Query.all_query())]
    clauses += [(tantivy.Occur.Must, q) for q in _filters(query)]
    return Matcher(query=tantivy.Query.boolean_query(clauses), has_words=bool(words),
                   text=query.text)


def _render(snippet: tantivy.Snippet, text: str) -> str:
    """``<mark>`` around the highlights, the rest escaped: ``Snippet.to_html`` uses ``<b>``
    and the binding cannot change the tags. Ranges are UTF-8 byte offsets, the fragment's
    into the text and the highlights' into the fragment; the fragment ends on tokens, so it
    is widened to whole whitespace-separated words ("<script>" not "<script")."""
    raw = text.encode()
    whole = snippet.fragment_range()
    start, end = whole.start, whole.end
    while start > max(whole.start - _WIDEN, 0) and not raw[start - 1: start].isspace():
        start -= 1
    while end < min(whole.end + _WIDEN, len(raw)) and not raw[end: end + 1].isspace():
        end += 1
    shift = whole.start - start

    def chars(at: int) -> int:
        return len(raw[start: start + shift + at].decode(errors="ignore"))

    spans = [(chars(r.start), chars(r.end)) for r in snippet.highlighted()]
    body = mark_html(raw[start:end].decode(errors="ignore"), spans)
    return ("…" if start > 0 else "") + body + ("…" if end < len(raw) else "")


def snippet_for(generators: Sequence[tuple[str, tantivy.SnippetGenerator]], text: str,
                query_text: str) -> str:
    """Accented highlights first (an accented query marks only its exact word), then folded
    ones, else our own snippet maker (filters-only queries, a match only in the title)."""
    text = text[:SNIPPET_SCAN_CHARS]
    for field, generator in generators:
        snippet = generator.snippet_from_doc(tantivy.Document(**{field: text}))
        if snippet.highlighted():
            return _render(snippet, text)
    return make_snippet(text, query_text)
