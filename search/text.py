"""Vietnamese text handling shared by both search engines.

Text is normalised to NFC before anything else: a decomposed "đất" (NFD, as some scanners,
macOS file names and copy-paste from PDFs give it) is split into pieces by both engines'
tokenizers, which treat combining marks as word breaks (FINDINGS "Queue and search").
"""

from __future__ import annotations

import html
import re
import unicodedata

__all__ = [
    "MAX_QUERY_CHARS",
    "MAX_QUERY_WORDS",
    "MAX_WORD_CHARS",
    "SNIPPET_SCAN_CHARS",
    "fold",
    "make_snippet",
    "mark_html",
    "nfc",
    "sanitize_query",
]

MAX_QUERY_CHARS = 512  # a search box, not a document: longer input is cut, never refused
MAX_QUERY_WORDS = 64  # bounds the clauses a query expands to (ES max_clause_count is 1024)
# A longer "word" is noise (a pasted hash, a run of one letter): dropped from the query. Both
# engines then see the same words; Elasticsearch's tokenizer would cut it into 255-character
# pieces where Tantivy drops it whole.
MAX_WORD_CHARS = 40

# Lucene, Tantivy and simple_query_string operators, and typographic quotes: replaced by
# spaces, so that no engine ever reads them as syntax and both see the same words.
_SYNTAX = re.compile(r"""[+\-&|!(){}\[\]^"'`~*?:\\/<>=“”‘’«»]""")
# Letters without a decomposition that NFKD cannot strip to ASCII. đ is the one Vietnamese
# needs (U+0111 has no decomposition; SQLite FTS5 misses it, FINDINGS "Queue and search").
_UNDECOMPOSABLE = str.maketrans({
    "đ": "d", "ð": "d", "ø": "o", "æ": "ae", "œ": "oe", "ß": "ss", "ł": "l", "þ": "th",
    "ı": "i", "ħ": "h", "ŧ": "t",
})
# Snippets look for matches in the start of a text only: an OCR text can run to megabytes,
# and a snippet is made for every hit of a page (Elasticsearch: max_analyzed_offset).
SNIPPET_SCAN_CHARS = 200_000
_WORD = re.compile(r"\w+")
_ELLIPSIS = "…"


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def fold(text: str) -> str:
    """Lowercase ASCII: combining marks stripped, đ/Đ to d ("Đất đai" -> "dat dai").

    NFKD rather than NFD so that compatibility forms (ligatures, full-width digits) fold too;
    for Vietnamese letters the two are the same. A character left outside ASCII (another
    script) becomes a space, so the neighbouring words never merge.
    """
    # Lowercase between two decompositions: NFKD can yield capitals ("𝐀" -> "A") and
    # lowercasing can yield composed letters again.
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", text).lower())
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    mapped = stripped.translate(_UNDECOMPOSABLE)
    return "".join(c if c.isascii() else " " for c in mapped)


def sanitize_query(text: str, *, max_chars: int = MAX_QUERY_CHARS,
                   max_words: int = MAX_QUERY_WORDS) -> str:
    """The user's words, NFC, with query syntax turned into spaces and the length bounded.

    Operators are never honoured: every engine gets plain words, all of them required.
    Words longer than ``MAX_WORD_CHARS`` are dropped; the result is cut at a word boundary,
    so that the last word is never half a word.
    """
    head = nfc(text[: max_chars * 4])  # bound the work before normalising a huge input
    cleaned = "".join(_clean_char(c) for c in _SYNTAX.sub(" ", head))
    words = [word for word in cleaned.split() if len(word) <= MAX_WORD_CHARS]
    joined = " ".join(words[:max_words])
    if len(joined) <= max_chars:
        return joined
    cut = joined.rfind(" ", 0, max_chars + 1)
    return joined[: cut if cut > 0 else max_chars].rstrip()


def _clean_char(c: str) -> str:
    category = unicodedata.category(c)
    if category == "Cf":  # soft hyphen, zero-width joiners: invisible, inside words
        return ""
    return " " if category[0] in "CZ" else c


def mark_html(text: str, spans: list[tuple[int, int]]) -> str:
    """``text`` HTML-escaped with each (start, end) character span in ``<mark>``."""
    out: list[str] = []
    at = 0
    for start, end in sorted(spans):
        if start < at:  # overlapping spans: keep the first
            continue
        out.append(html.escape(text[at:start]))
        out.append(f"<mark>{html.escape(text[start:end])}</mark>")
        at = end
    out.append(html.escape(text[at:]))
    return "".join(out)


def make_snippet(text: str, query: str, *, max_chars: int = 150) -> str:
    """A fragment of ``text`` around the first word matching ``query`` (compared folded),
    every match in it in ``<mark>``, the rest HTML-escaped; the start of the text when
    nothing matches. For engines or cases without highlighting (filters-only queries, a
    match only in the title)."""
    text = nfc(text[:SNIPPET_SCAN_CHARS])
    wanted = {fold(w).strip() for w in _WORD.findall(nfc(query))}
    matches = [m for m in _WORD.finditer(text)
               if fold(m.group()).strip() in wanted] if wanted else []
    start = 0
    if matches and matches[0].start() > max_chars // 3:
        start = matches[0].start() - max_chars // 3
        space = text.find(" ", start, matches[0].start())
        start = space + 1 if space >= 0 else start
    end = min(len(text), start + max_chars)
    if end < len(text):
        space = text.rfind(" ", start, end)
        end = space if space > start else end
    spans = [(m.start() - start, m.end() - start) for m in matches
             if m.start() >= start and m.end() <= end]
    body = mark_html(text[start:end], spans)
    return (_ELLIPSIS if start > 0 else "") + body + (_ELLIPSIS if end < len(text) else "")
