"""The ``SearchIndex`` contract (records/ports.py), run against every engine.

``tantivy``: ``TantivyIndex`` on disk (generations and the swap are exercised);
``tantivy-memory``: the same in memory; ``elastic``: ``ElasticIndex`` on the server named by
``MOTCUA_TEST_ES_URL``, under an alias of its own, deleted afterwards. The texts are the
administrative Vietnamese the records hold: names, addresses, procedure phrases.
"""

from __future__ import annotations

import os
import threading
import unicodedata
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest
import tantivy

from records.authz import Scope
from records.ports import IndexedDocument, SearchIndex, SearchPage, SearchQuery
from search.tantivy_index import TantivyIndex

ES_SKIP = ("Elasticsearch tests skipped: MOTCUA_TEST_ES_URL is not set (no Elasticsearch "
           "server can be installed on this machine)")
T0 = datetime(2025, 3, 1, 2, 0, tzinfo=UTC)
VN = timezone(timedelta(hours=7))


@pytest.fixture(params=[pytest.param("tantivy", marks=pytest.mark.unit),
                        pytest.param("tantivy-memory", marks=pytest.mark.unit),
                        pytest.param("elastic", marks=pytest.mark.integration)])
def index(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SearchIndex]:
    if request.param == "tantivy":
        yield TantivyIndex(tmp_path / "index")
    elif request.param == "tantivy-memory":
        yield TantivyIndex(None)
    else:
        url = os.environ.get("MOTCUA_TEST_ES_URL")
        if not url:
            pytest.skip(ES_SKIP)
        from elasticsearch import Elasticsearch

        from search.elastic_index import ElasticIndex

        client = Elasticsearch(url)
        alias = f"motcua-test-{uuid.uuid4().hex[:12]}"
        try:
            yield ElasticIndex(client, alias)
        finally:
            # Wildcard deletes are refused by default (action.destructive_requires_name).
            for name in client.indices.get(index=f"{alias}-*", expand_wildcards="all"):
                client.indices.delete(index=name, ignore_unavailable=True)
            client.close()


def doc(n: int, text: str, **fields: object) -> IndexedDocument:
    values: dict[str, object] = {
        "doc_id": f"document:GT-{n:04d}", "version": 1, "kind": "document",
        "owner_id": "001085012345", "dossier_code": "000.00.15.H40-250301-0001",
        "procedure_code": "1.004227", "document_type": "giay_chung_nhan", "status": "ready",
        "branch_code": "MC01", "agency_code": "STNMT", "created_at": T0 + timedelta(hours=n),
        "issued": date(2020, 5, 17), "title": "Giấy tờ kèm theo hồ sơ", "text": text}
    values.update(fields)
    return IndexedDocument(**values)  # type: ignore[arg-type]


def ids(page: SearchPage) -> list[str]:
    return [hit.doc_id for hit in page.hits]


def found(index: SearchIndex, text: str, **filters: object) -> set[str]:
    page = index.search(SearchQuery(text=text, limit=100, **filters))  # type: ignore[arg-type]
    assert page.total == len(page.hits)
    return set(ids(page))


LAND = doc(1, "Giấy chứng nhận quyền sử dụng đất, quyền sở hữu nhà ở và tài sản khác gắn "
              "liền với đất. Thửa đất số 125, tờ bản đồ số 12, xã Hòa Bình.")
HOUSE = doc(2, "Hợp đồng mua bán nhà ở tại số 18 đường Trần Hưng Đạo, phường Hồng Gai, "
               "thành phố Hạ Long, tỉnh Quảng Ninh.")
HUONG = doc(3, "Đơn đề nghị của bà Nguyễn Thị Hương, sinh năm 1985, thường trú tại thôn "
               "Đồng Tâm, xã Quảng Yên.")
HUNG = doc(4, "Tờ khai của ông Nguyễn Văn Hùng, sinh năm 1979, thường trú tại thị trấn "
              "Tiên Yên.")
RECEIPT = doc(5, "Giấy biên nhận hồ sơ và hẹn trả kết quả giải quyết thủ tục hành chính.")
IDCARD = doc(6, "Bản sao chứng minh nhân dân và sổ hộ khẩu của người đề nghị cấp phép.")
CORPUS = (LAND, HOUSE, HUONG, HUNG, RECEIPT, IDCARD)


# -- Vietnamese text ------------------------------------------------------------------------


def test_a_query_without_diacritics_finds_text_with_them(index: SearchIndex) -> None:
    index.upsert(CORPUS)
    assert found(index, "dat") == {LAND.doc_id}
    assert found(index, "quyen su dung dat") == {LAND.doc_id}
    assert found(index, "DAT") == {LAND.doc_id}
    assert found(index, "Đất") == {LAND.doc_id}
    assert found(index, "tran hung dao") == {HOUSE.doc_id}  # Đạo: đ folds to d


def test_a_name_typed_without_diacritics_finds_the_person(index: SearchIndex) -> None:
    index.upsert(CORPUS)
    assert found(index, "nguyen thi huong") == {HUONG.doc_id}  # every word required
    assert found(index, "NGUYỄN THỊ HƯƠNG") == {HUONG.doc_id}
    assert found(index, "nguyen") == {HUONG.doc_id, HUNG.doc_id}


def test_an_accented_query_ranks_exact_accents_first(index: SearchIndex) -> None:
    index.upsert(CORPUS)
    receipt_first = index.search(SearchQuery(text="nhận"))
    assert set(ids(receipt_first)) >= {RECEIPT.doc_id, IDCARD.doc_id}  # folded: nhan
    assert ids(receipt_first).index(RECEIPT.doc_id) < ids(receipt_first).index(IDCARD.doc_id)
    idcard_first = ids(index.search(SearchQuery(text="nhân")))
    assert idcard_first.index(IDCARD.doc_id) < idcard_first.index(RECEIPT.doc_id)


def test_decomposed_text_indexes_and_queries_as_composed(index: SearchIndex) -> None:
    decomposed = replace(LAND, text=unicodedata.normalize("NFD", LAND.text))
    index.upsert([decomposed, HOUSE])
    assert decomposed.text != LAND.text
    assert found(index, "quyền sử dụng đất") == {LAND.doc_id}
    assert found(index, unicodedata.normalize("NFD", "quyền sử dụng đất")) == {LAND.doc_id}
    assert found(index, "dat") == {LAND.doc_id}
    stored = index.get(LAND.doc_id)
    assert stored is not None
    assert stored.text == LAND.text


def test_words_may_be_split_between_title_and_text(index: SearchIndex) -> None:
    index.upsert([replace(HUONG, title="Đơn đăng ký biến động đất đai")])
    assert found(index, "bien dong") == {HUONG.doc_id}  # only in the title
    assert found(index, "bien dong huong") == {HUONG.doc_id}  # title and text
    assert found(index, "bien dong hung") == set()


# -- filters and scope -----------------------------------------------------------------------


def _varied() -> list[IndexedDocument]:
    owners, procedures, types = ("001", "002"), ("1.004227", "2.000889"), ("gcn", "cccd")
    kinds, statuses, branches = ("document", "result"), ("ready", "issued", "revoked"), (
        "MC01", "MC02", "MC03")
    return [doc(n, f"Hồ sơ đất đai số {n}", owner_id=owners[n % 2],
                procedure_code=procedures[n // 2 % 2], document_type=types[n // 3 % 2],
                kind=kinds[n // 5 % 2], status=statuses[n % 3], branch_code=branches[n // 4 % 3],
                agency_code=f"AG{n % 4}") for n in range(24)]


@pytest.mark.parametrize("field", ["owner_id", "procedure_code", "document_type", "kind",
                                   "status", "branch_code"])
def test_each_filter_narrows_exactly(index: SearchIndex, field: str) -> None:
    docs = _varied()
    index.upsert(docs)
    for value in {getattr(d, field) for d in docs}:
        expected = {d.doc_id for d in docs if getattr(d, field) == value}
        assert found(index, "", **{field: value}) == expected
        assert found(index, "dat dai", **{field: value}) == expected
    assert found(index, "dat", **{field: "no-such-value"}) == set()


def test_filters_combine_and_the_date_range_is_inclusive(index: SearchIndex) -> None:
    docs = _varied()
    index.upsert(docs)
    start, end = T0 + timedelta(hours=3), T0 + timedelta(hours=9)
    assert found(index, "", created_from=start, created_to=end) == {
        d.doc_id for d in docs if start <= d.created_at <= end}
    assert found(index, "", created_from=start.astimezone(VN)) == {  # any timezone
        d.doc_id for d in docs if d.created_at >= start}
    assert found(index, "", created_to=start) == {d.doc_id for d in docs
                                                   if d.created_at <= start}
    assert found(index, "ho so", owner_id="001", document_type="gcn", status="ready") == {
        d.doc_id for d in docs
        if (d.owner_id, d.document_type, d.status) == ("001", "gcn", "ready")}


def test_a_scope_never_shows_or_counts_what_is_outside_it(index: SearchIndex) -> None:
    docs = _varied()
    index.upsert(docs)
    branch_a = Scope(branch_codes=frozenset({"MC01"}))
    in_a = {d.doc_id for d in docs if d.branch_code == "MC01"}
    for text in ("", "dat", "ho so dat dai"):
        page = index.search(SearchQuery(text=text, scope=branch_a, limit=100))
        assert page.total == len(in_a)
        assert set(ids(page)) == in_a
    small = index.search(SearchQuery(text="dat", scope=branch_a, limit=2))
    assert small.total == len(in_a)
    assert len(small.hits) == 2
    outside = index.search(SearchQuery(text="dat", scope=branch_a, branch_code="MC02"))
    assert outside.total == 0
    assert outside.hits == ()


def test_a_scope_is_the_union_of_its_sets(index: SearchIndex) -> None:
    docs = _varied()
    index.upsert(docs)
    scope = Scope(branch_codes=frozenset({"MC01"}), agency_codes=frozenset({"AG3"}),
                        owner_ids=frozenset({"002"}))
    expected = {d.doc_id for d in docs
                if d.branch_code == "MC01" or d.agency_code == "AG3" or d.owner_id == "002"}
    assert expected != {d.doc_id for d in docs}
    assert found(index, "", scope=scope) == expected
    assert found(index, "dat", scope=scope) == expected
    nobody = Scope()
    assert index.search(SearchQuery(scope=nobody)) == SearchPage(total=0, hits=())
    assert found(index, "", scope=None) == {d.doc_id for d in docs}  # None: everyone's


# -- queries that are not words --------------------------------------------------------------


@pytest.mark.parametrize("text", [
    '"đất:" (AND) OR -x* ~2 \\ /', "title:đất", "[1 TO 5]", "a && b || !c", "NOT đất",
    "đất AND", "đất~2", "ho*so", "nhà:đất",
])
def test_query_syntax_is_text_never_an_operator(index: SearchIndex, text: str) -> None:
    index.upsert(CORPUS)
    page = index.search(SearchQuery(text=text, limit=100))
    words = "".join(c if c.isalnum() else " " for c in text)
    assert page == index.search(SearchQuery(text=words, limit=100))  # the same plain words
    assert page.total == len(page.hits)


@pytest.mark.parametrize("text", [
    "đất:", "(đất)", "đất~", "^đất", "đất*", "+đất", '"đất', "{đất}", "[đất]", "đất\\",
    "đất/", "“đất”", "'đất'", "đất\x00\u200b", "!đất", "đất?", "đất" + "x" * 600,
])
def test_punctuation_around_a_word_is_ignored(index: SearchIndex, text: str) -> None:
    index.upsert(CORPUS)
    assert ids(index.search(SearchQuery(text=text.replace("x" * 600, " " + "x" * 600))
                            )) == [LAND.doc_id]


@pytest.mark.parametrize("text", ["\\", "/", "<>=", "*", "?", "…", "()", "x" * 600])
def test_a_query_without_words_is_the_empty_query(index: SearchIndex, text: str) -> None:
    index.upsert(CORPUS)
    assert index.search(SearchQuery(text=text)) == index.search(SearchQuery())


def test_operators_are_words_not_negations(index: SearchIndex) -> None:
    index.upsert(CORPUS)
    assert found(index, "-nhà đất") == found(index, "nhà đất") == {LAND.doc_id}
    assert found(index, "đất OR hương") == set()  # "or" is one more required word


def test_an_empty_query_returns_everything_in_scope_newest_first(index: SearchIndex) -> None:
    index.upsert(CORPUS)
    for text in ("", "   ", "\n\t", "()"):
        page = index.search(SearchQuery(text=text, limit=100))
        assert page.total == len(CORPUS)
        assert ids(page) == [d.doc_id for d in sorted(CORPUS, key=lambda d: d.created_at,
                                                      reverse=True)]
    assert found(index, "", owner_id=HUONG.owner_id) == {d.doc_id for d in CORPUS}


def test_an_over_long_query_is_accepted(index: SearchIndex) -> None:
    index.upsert(CORPUS)
    assert len("đất " * 2500) == 10_000
    assert found(index, "đất " * 2500) == {LAND.doc_id}
    page = index.search(SearchQuery(text="x" * 10_000))
    assert page.total == len(page.hits)


# -- pages and snippets ----------------------------------------------------------------------


def test_pages_cover_the_matches_once_and_a_page_beyond_the_end_is_empty(
        index: SearchIndex) -> None:
    docs = [doc(n, f"Thửa đất số {n} tại xã Hòa Bình") for n in range(25)]
    index.upsert(docs)
    pages = [index.search(SearchQuery(text="thua dat", limit=10, offset=o)) for o in (0, 10, 20)]
    assert [len(p.hits) for p in pages] == [10, 10, 5]
    assert {p.total for p in pages} == {25}
    assert sorted(i for p in pages for i in ids(p)) == sorted(d.doc_id for d in docs)
    for offset in (25, 30, 9_995, 1_000_000):
        beyond = index.search(SearchQuery(text="thua dat", limit=10, offset=offset))
        assert beyond == SearchPage(total=25, hits=())
    assert index.search(SearchQuery(limit=0)) == SearchPage(total=25, hits=())


def test_a_snippet_marks_the_match_and_escapes_the_text(index: SearchIndex) -> None:
    hostile = doc(9, "<script>alert('x')</script> Thửa đất số 7 & lô B <b>giáp</b> đường.")
    index.upsert([hostile])
    for text in ("dat", "đất", "thửa đất"):
        (hit,) = index.search(SearchQuery(text=text)).hits
        assert "<mark>đất</mark>" in hit.snippet
        assert "<script>" not in hit.snippet
        assert "&lt;script&gt;" in hit.snippet
        assert "<b>" not in hit.snippet
        assert "&amp;" in hit.snippet
    (plain,) = index.search(SearchQuery()).hits  # no words: the text's start, escaped
    assert "<script>" not in plain.snippet
    assert "&lt;script&gt;" in plain.snippet


def test_an_accented_snippet_marks_the_word_typed(index: SearchIndex) -> None:
    index.upsert([doc(1, "Biên nhận hồ sơ của người nhận thay, không phải nhân viên.")])
    (hit,) = index.search(SearchQuery(text="nhận")).hits
    assert "<mark>nhận</mark>" in hit.snippet
    assert "<mark>nhân</mark>" not in hit.snippet


def test_a_huge_text_is_found_and_its_snippet_stays_short(index: SearchIndex) -> None:
    filler = "Các bên cam kết thực hiện đúng nội dung hợp đồng. " * 12_000  # 600,000 characters
    index.upsert([doc(1, "Thửa đất số 7. " + filler), doc(2, filler + "Giấy phép xây dựng.")])
    (early,) = index.search(SearchQuery(text="thua dat")).hits
    assert "<mark>đất</mark>" in early.snippet
    assert len(early.snippet) < 1_000
    (late,) = index.search(SearchQuery(text="giay phep xay dung")).hits
    assert late.doc_id == "document:GT-0002"  # found, though past what snippets look at
    assert len(late.snippet) < 1_000


# -- writes ----------------------------------------------------------------------------------


def test_get_returns_the_stored_document(index: SearchIndex) -> None:
    local = replace(HUONG, created_at=datetime(2025, 3, 1, 9, 30, 15, 123456, tzinfo=VN))
    undated = replace(HUNG, issued=None, kind="result", doc_id="result:KQ-0001")
    index.upsert([local, undated])
    assert index.get(local.doc_id) == local  # the same instant, whatever the timezone
    assert index.get(undated.doc_id) == undated
    assert index.get("document:missing") is None
    assert index.count() == 2


def test_a_write_is_visible_to_the_next_search(index: SearchIndex) -> None:
    index.upsert([LAND])
    assert found(index, "dat") == {LAND.doc_id}
    index.upsert([replace(LAND, version=2, text="Hợp đồng thuê nhà")])
    assert found(index, "dat") == set()
    assert found(index, "thue nha") == {LAND.doc_id}
    assert index.count() == 1


def test_a_stale_upsert_never_overwrites_a_newer_one(index: SearchIndex) -> None:
    newer = replace(LAND, version=5, text="Bản mới: thửa đất đã tách")
    index.upsert([newer])
    index.upsert([replace(LAND, version=4, text="Bản cũ: thửa đất chưa tách")])
    assert index.get(LAND.doc_id) == newer
    assert found(index, "chua tach") == set()
    index.upsert([replace(LAND, version=9, text="Bản cũ"), replace(LAND, version=6)])
    stored = index.get(LAND.doc_id)
    assert stored is not None
    assert stored.version == 9
    assert index.count() == 1


def test_a_bad_batch_writes_nothing(index: SearchIndex) -> None:
    naive = replace(HOUSE, created_at=datetime(2025, 3, 1, 9, 0))  # noqa: DTZ001
    with pytest.raises(ValueError, match="naive"):
        index.upsert([LAND, naive])
    assert index.count() == 0
    assert index.get(LAND.doc_id) is None


def test_delete_removes(index: SearchIndex) -> None:
    index.upsert(CORPUS)
    index.delete([LAND.doc_id, "document:never-indexed"])
    assert index.get(LAND.doc_id) is None
    assert found(index, "dat") == set()
    assert index.count() == len(CORPUS) - 1
    index.delete([])


def test_rebuild_replaces_everything(index: SearchIndex) -> None:
    index.upsert(CORPUS)
    fresh = [doc(100 + n, f"Quyết định giao đất số {n}") for n in range(30)]
    index.rebuild(iter([*fresh, replace(fresh[0], version=0, text="cũ")]))
    assert index.count() == len(fresh)
    assert index.get(LAND.doc_id) is None
    assert found(index, "nguyen") == set()
    assert found(index, "quyet dinh giao dat") == {d.doc_id for d in fresh}
    assert index.get(fresh[0].doc_id) == fresh[0]  # the stale duplicate was ignored
    index.upsert([HOUSE])  # writes go to the new index
    assert index.count() == len(fresh) + 1
    index.rebuild([])
    assert index.count() == 0
    assert index.search(SearchQuery()).total == 0


def test_a_failed_rebuild_leaves_the_old_index(index: SearchIndex) -> None:
    index.upsert(CORPUS)

    def failing() -> Iterator[IndexedDocument]:
        yield doc(200, "Quyết định giao đất")
        raise RuntimeError("the records database went away")

    with pytest.raises(RuntimeError, match="went away"):
        index.rebuild(failing())
    assert index.count() == len(CORPUS)
    assert found(index, "dat") == {LAND.doc_id}
    index.upsert([replace(LAND, version=2, text="Hợp đồng thuê nhà")])  # still writable
    assert found(index, "thue nha") == {LAND.doc_id}


# -- the embedded engine's own clauses: generations on disk, one writer at a time -----------


@pytest.mark.unit
def test_a_reader_in_another_process_sees_the_swap(tmp_path: Path) -> None:
    writer, reader = TantivyIndex(tmp_path), TantivyIndex(tmp_path)  # as two processes would
    writer.upsert(CORPUS)
    assert reader.count() == len(CORPUS)
    writer.rebuild([doc(300, "Giấy phép xây dựng")])
    assert reader.count() == 1
    assert found(reader, "giay phep") == {"document:GT-0300"}
    writer.rebuild([doc(301, "Giấy phép kinh doanh")])
    generations = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("gen-"))
    assert len(generations) == 2  # the current one and the one just replaced
    assert (tmp_path / "current").resolve().name == generations[-1]


@pytest.mark.unit
def test_writers_take_turns(tmp_path: Path) -> None:
    first, second = TantivyIndex(tmp_path), TantivyIndex(tmp_path)
    errors: list[BaseException] = []

    def write(target: TantivyIndex, start: int) -> None:
        try:
            for n in range(start, start + 20):
                target.upsert([doc(n, f"Thửa đất số {n}")])
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(first, 0)),
               threading.Thread(target=write, args=(second, 100))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert first.count() == second.count() == 40


@pytest.mark.unit
def test_an_index_of_an_older_schema_is_replaced_by_an_empty_one(tmp_path: Path) -> None:
    builder = tantivy.SchemaBuilder()
    builder.add_text_field("body", stored=True)
    (tmp_path / "gen-old").mkdir()
    tantivy.Index(builder.build(), path=str(tmp_path / "gen-old"))
    (tmp_path / "current").symlink_to("gen-old")
    index = TantivyIndex(tmp_path)
    assert index.count() == 0
    index.upsert([LAND])
    assert found(index, "dat") == {LAND.doc_id}
    assert os.readlink(tmp_path / "current") != "gen-old"
