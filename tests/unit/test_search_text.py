"""Vietnamese text handling for search: NFC, folding, the query sanitiser, snippets."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from search.tantivy_schema import ANALYZERS, FOLDED
from search.text import (
    MAX_QUERY_CHARS,
    MAX_QUERY_WORDS,
    MAX_WORD_CHARS,
    fold,
    make_snippet,
    mark_html,
    nfc,
    sanitize_query,
)

pytestmark = pytest.mark.unit

BASES = {"a": "aàáảãạ", "ă": "ăằắẳẵặ", "â": "âầấẩẫậ", "e": "eèéẻẽẹ", "ê": "êềếểễệ",
         "i": "iìíỉĩị", "o": "oòóỏõọ", "ô": "ôồốổỗộ", "ơ": "ơờớởỡợ", "u": "uùúủũụ",
         "ư": "ưừứửữự", "y": "yỳýỷỹỵ"}
_LOWER = [(letter, unicodedata.normalize("NFD", base)[0]) for base, letters in BASES.items()
          for letter in letters] + [("đ", "d")]
VIETNAMESE = _LOWER + [(letter.upper(), ascii_base) for letter, ascii_base in _LOWER]
SYNTAX = set('+-&|!(){}[]^"\'`~*?:\\/<>=“”‘’«»')


def test_nfc_composes_decomposed_text() -> None:
    decomposed = unicodedata.normalize("NFD", "Quyền sử dụng đất")
    assert len(decomposed) > len("Quyền sử dụng đất")
    assert nfc(decomposed) == "Quyền sử dụng đất"


@pytest.mark.parametrize(("letter", "expected"), VIETNAMESE)
def test_every_vietnamese_letter_folds_to_its_ascii_base(letter: str, expected: str) -> None:
    assert len(VIETNAMESE) == 2 * (12 * 6 + 1)
    assert fold(letter) == expected
    assert fold(unicodedata.normalize("NFD", letter)) == expected


@pytest.mark.parametrize(("letter", "expected"), VIETNAMESE)
def test_fold_agrees_with_the_tantivy_folding_analyzer(letter: str, expected: str) -> None:
    # The embedded engine folds with Tantivy's ascii_fold; our fold (snippets, the bench's
    # folded queries) must give the same word, đ included.
    assert ANALYZERS[FOLDED].analyze(f"x{letter}x") == [f"x{fold(letter)}x"]


def test_fold_names_and_phrases() -> None:
    assert fold("Nguyễn Thị Hương") == "nguyen thi huong"
    assert fold("QUYỀN SỬ DỤNG ĐẤT") == "quyen su dung dat"
    assert fold("Đường Trần Hưng Đạo") == "duong tran hung dao"
    assert fold("nhân") == fold("nhận") == "nhan"  # why an accented field stays beside it


def test_fold_is_ascii_whatever_the_input() -> None:
    assert fold("ﬁ ² Ｗ ß Ø") == "fi 2 w ss o"
    assert fold("中文 đất") == "   dat"  # other scripts become spaces, never merge words
    assert fold("") == ""


@given(st.text())
def test_fold_always_gives_lowercase_ascii(text: str) -> None:
    folded = fold(text)
    assert folded.isascii()
    assert folded == folded.lower()


def test_sanitize_turns_syntax_into_spaces() -> None:
    assert sanitize_query('"đất:" (AND) OR -x* ~2 \\ /') == "đất AND OR x 2"
    assert sanitize_query("title:đất^3") == "title đất 3"
    assert sanitize_query("  \t\n ") == ""
    assert sanitize_query("đất\x00nền\u200bđai") == "đất nềnđai"  # controls, zero-width
    assert sanitize_query(unicodedata.normalize("NFD", "Hương")) == "Hương"


def test_sanitize_bounds_the_query() -> None:
    long = sanitize_query("quyền sử dụng đất " * 1000)
    assert len(long) <= MAX_QUERY_CHARS
    assert len(long.split()) <= MAX_QUERY_WORDS
    assert long.split()[-1] in {"quyền", "sử", "dụng", "đất"}  # never half a word
    assert sanitize_query("x" * 10_000) == ""  # not a word: dropped
    assert sanitize_query("đất " + "y" * (MAX_WORD_CHARS + 1)) == "đất"
    assert sanitize_query("a" * 30 + " " + "b" * 30, max_chars=40) == "a" * 30


@given(st.text(max_size=3_000))
def test_sanitize_always_gives_bounded_plain_words(text: str) -> None:
    clean = sanitize_query(text)
    assert len(clean) <= MAX_QUERY_CHARS
    assert not SYNTAX & set(clean)
    assert clean == nfc(clean)
    assert clean == clean.strip()
    assert all(unicodedata.category(c)[0] not in "CZ" for c in clean.replace(" ", ""))
    assert all(len(word) <= MAX_WORD_CHARS for word in clean.split())


def test_mark_html_escapes_and_marks() -> None:
    assert mark_html("a <b> đất & c", [(6, 9)]) == "a &lt;b&gt; <mark>đất</mark> &amp; c"
    assert mark_html("đất đai", [(4, 7), (0, 3), (1, 2)]) == (
        "<mark>đất</mark> <mark>đai</mark>")  # sorted, the overlapping span skipped


def test_snippet_marks_folded_matches_and_escapes() -> None:
    text = "<script>x</script> Thửa đất số 7, giáp đường Đất Đỏ"
    snippet = make_snippet(text, "dat")
    assert snippet.count("<mark>") == 2
    assert "<mark>đất</mark>" in snippet
    assert "<mark>Đất</mark>" in snippet
    assert "&lt;script&gt;" in snippet


def test_snippet_centres_on_a_late_match_and_cuts_at_words() -> None:
    text = "Ủy ban nhân dân xã tiếp nhận hồ sơ. " * 20 + "Thửa đất số 12. " + "Các bên. " * 30
    snippet = make_snippet(text, "đất", max_chars=100)
    assert snippet.startswith("…")
    assert snippet.endswith("…")
    assert "<mark>đất</mark>" in snippet
    inner = snippet.strip("…").replace("<mark>", "").replace("</mark>", "")
    assert len(inner) <= 100
    assert text.find(inner) >= 0


def test_snippet_without_a_match_is_the_start() -> None:
    assert make_snippet("Hợp đồng <b>thuê</b> nhà", "") == "Hợp đồng &lt;b&gt;thuê&lt;/b&gt; nhà"
    assert make_snippet("a " * 200, "zzz", max_chars=20).endswith("…")
