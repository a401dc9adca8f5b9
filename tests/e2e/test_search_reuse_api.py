"""Search, reuse at intake, the citizen's data store and the agency path, through the HTTP API.

One installation is built once for the module (``world``): a clerk of the provincial centre
digitises the citizen's CCCD (real tesseract on a half-A4 page), a ward clerk digitises two
birth declarations, a land dossier is taken to ``returned``, a household business dossier
reuses the CCCD the state already holds, a second CCCD is superseded and then revoked, and
one more paper is uploaded to watch the index lag. Every step that changes what exists is
taken in the fixture and its answers recorded, so that each test only reads (the agency
tests add audit entries, which nothing else counts) and the tests do not depend on order.

The background runner and indexer are stopped as soon as the app is up: OCR jobs run in the
test's thread (``runner.wait_for``) and the index is written only by ``publish_outbox``, so
the lag before publishing is observable.

What exists at the end (branch A: the provincial centre, branch B: the ward's desk)::

    D1 land       A  congdan  CCCD1 (scanned)
    D2 household  A  congdan  CCCD reused from CCCD1, GIAYDENGHI (uploaded for the lag)
    D3 land       A  congdan  CCCD2 (same scan again; its store item ends revoked), result
    D4 birth      B  other    TOKHAI (scanned)
    D5 birth      B  congdan  TOKHAI (same scan again)
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from httpx import Response
from sqlalchemy import func, select

from api.demo import BRANCH_WARD, DEMO_PASSWORD, PROCEDURES
from records.accounts import create_user
from records.adapters.jobs_local import LocalJobRunner
from records.adapters.sql import tables
from records.calendar import VN_TZ
from records.indexing import SearchDeps, index_lag, publish_outbox, rebuild_index, search
from records.model import Role, StoreStatus
from records.ports import SearchQuery
from search.tantivy_index import TantivyIndex
from tests.fixtures.app import Api, principal, running_api
from tests.fixtures.pages import PageSize, PageSpec, make_page, save_page

pytestmark = [
    pytest.mark.e2e,
]

T0 = datetime(2026, 11, 19, 3, 0, tzinfo=UTC)  # Thursday 10:00 in Hà Nội
LAND, BIRTH, HOUSEHOLD = (p.code for p in PROCEDURES)
assert HOUSEHOLD == "2.000575.000.00.00.H40"
LAND_TYPES = {c.document_type for c in PROCEDURES[0].components}
OWNER_ID, OWNER = "022190001234", "Nguyễn Thị Hương"
OTHER_ID, OTHER = "038190004321", "Lê Văn Nam"
BRANCH_A, BRANCH_B = "TTPVHCC-QN", BRANCH_WARD
CCCD_TYPE = "can_cuoc_cong_dan"
CCCD_NAME = "Căn cước công dân của người đề nghị"
AGENCY_NAME = "Cục Thuế tỉnh Quảng Ninh (hệ thống)"
LEGAL_BASIS = "Điều 11 Nghị định 13/2023/NĐ-CP"

# The papers' national codes: {agency}_{type}_{sequence}.
CCCD1 = "000.00.15.H40_can_cuoc_cong_dan_000001"
CCCD2 = "000.00.15.H40_can_cuoc_cong_dan_000002"
REUSED = "000.01.02.H40_can_cuoc_cong_dan_000001"
GIAYDENGHI = "000.01.02.H40_giay_de_nghi_dang_ky_hkd_000001"
TOKHAI_OTHER = "000.01.02.H40_to_khai_khai_sinh_000001"
TOKHAI_OWNER = "000.01.02.H40_to_khai_khai_sinh_000002"


def _doc(code: str) -> str:
    return f"document:{code}"


# --- the installation ------------------------------------------------------------------------


@dataclass
class World:
    api: Api
    dossiers: dict[str, str]  # D1..D5 -> dossier code
    result_code: str
    cccd1: dict[str, Any]  # the CCCD's document view after OCR
    cccd2_item: int  # store item id of the second CCCD (superseded, then revoked)
    seen: dict[str, Any] = field(default_factory=dict)  # answers recorded along the way

    @property
    def services(self) -> Any:
        return self.api.services

    def get(self, username: str, path: str, **params: Any) -> Response:
        return self.api.client.get(path, params=params, headers=self.api.login(username))

    def search(self, username: str, **params: Any) -> dict[str, Any]:
        return _ok(self.get(username, "/api/v1/search", **params))


def _ok(response: Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def _error(response: Response, status: int, code: str, error_field: str | None) -> None:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert (error["code"], error["field"]) == (code, error_field), error


def _open(api: Api, headers: dict[str, str], procedure: str, owner_id: str = OWNER_ID,
          name: str = OWNER) -> str:
    return str(_ok(api.create(headers, procedure_code=procedure, applicant_id=owner_id,
                              applicant_name=name), 201)["code"])


def _upload(api: Api, headers: dict[str, str], dossier: str, component: str, filename: str,
            body: bytes) -> dict[str, Any]:
    response = api.client.post(f"/api/v1/dossiers/{dossier}/documents",
                               data={"component_code": component},
                               files=[("files", (filename, body, "image/png"))],
                               headers=headers)
    uploaded: dict[str, Any] = _ok(response, 202)
    return uploaded


def _job_of(api: Api, doc_code: str) -> int:
    d, j = tables.documents.c, tables.jobs.c
    with api.services.engine.connect() as connection:
        return int(connection.execute(select(j.id).join(tables.documents, d.id == j.document_id)
                                      .where(d.doc_code == doc_code)).scalar_one())


def _run(api: Api, *doc_codes: str) -> None:
    """Run the OCR jobs of these documents here, in this thread, to the end."""
    runner = api.services.runner
    assert isinstance(runner, LocalJobRunner)
    jobs = [_job_of(api, code) for code in doc_codes]
    assert runner.wait_for(jobs, timeout=120)
    assert api.services.jobs.jobs.job_states(set(jobs)) == dict.fromkeys(jobs, "done")


def _blob_files(api: Api) -> list[str]:
    root = api.services.settings.data_dir / "blobs"
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def _document_row(api: Api, doc_code: str) -> tuple[str, str | None]:
    d = tables.documents.c
    with api.services.engine.connect() as connection:
        row = connection.execute(select(d.reuse_status, d.reuse_source)
                                 .where(d.doc_code == doc_code)).one()
    return row.reuse_status, row.reuse_source


def _audit_count(api: Api, *actions: str) -> int:
    log = tables.audit_log.c
    with api.services.engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(tables.audit_log)
                                      .where(log.action.in_(actions))).scalar_one())


def _store_item(api: Api, ref: str) -> int:
    with api.services.records.store.session(readonly=True) as tx:
        item = tx.store_item_by_ref(ref)
    assert item is not None, ref
    return item.id


def _set_store_status(api: Api, item_id: int, status: StoreStatus) -> None:
    with api.services.records.store.session() as tx:
        tx.set_store_status(item_id, status)


def _return(api: Api, code: str) -> str:
    """Take a land dossier all the way to ``returned``, each step by its owner."""
    for name, actor, extra in [("complete_digitisation", "tiepnhan", {}),
                               ("assign_handler", "tiepnhan", {"handler": "chuyenvien"})]:
        _ok(api.move(api.login(actor), code, name, **extra))
    result = str(_ok(api.client.post(
        f"/api/v1/dossiers/{code}/result", headers=api.login("chuyenvien"),
        json={"subject": "Cấp giấy chứng nhận quyền sử dụng đất",
              "body": ["Cấp giấy chứng nhận."], "signer": "lanhdao"}), 201)["code"])
    _ok(api.move(api.login("chuyenvien"), code, "submit_for_approval", signer="lanhdao"))
    for actor, stage in (("lanhdao", "sign"), ("vanthu", "seal")):
        report = _ok(api.client.post(f"/api/v1/results/{stage}", headers=api.login(actor),
                                     json={"codes": [result], "pin": DEMO_PASSWORD}))
        assert report["signed"] == 1, report
    for name, actor in (("publish_result", "vanthu"), ("return_result", "tiepnhan")):
        _ok(api.move(api.login(actor), code, name))
    return result


def _add_user(api: Api, username: str, role: Role, **fields: str) -> None:
    create_user(api.services.accounts, username=username, password=DEMO_PASSWORD,
                display_name=fields.pop("display_name", username), roles=frozenset({role}),
                actor="test", **fields)


@pytest.fixture(scope="module")
def scans(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """Half-A4 scans at 300 dpi: the land application page (it names the citizen and her
    personal id, and speaks of "đất"), used as the CCCD scan; a birth declaration."""
    folder = tmp_path_factory.mktemp("scans")
    return {name: save_page(make_page(PageSpec(size=PageSize.HALF, document=n)),
                            folder / name).read_bytes()
            for name, n in (("cccd.png", 0), ("to-khai.png", 1))}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory,
          scans: dict[str, bytes]) -> Iterator[World]:
    with running_api(tmp_path_factory.mktemp("search-reuse"), T0) as api:
        api.services.indexer.stop()  # only publish_outbox below writes the index
        api.services.runner.stop()  # jobs run in this thread, in _run
        _add_user(api, "tiepnhan_phuong", Role.CLERK, branch_code=BRANCH_B,
                  display_name="Vũ Thị Mai (một cửa phường)")
        _add_user(api, "congdan_khac", Role.CITIZEN, owner_id=OTHER_ID, display_name=OTHER)
        clerk, ward = api.login("tiepnhan"), api.login("tiepnhan_phuong")
        d = {"D1": _open(api, clerk, LAND), "D4": _open(api, ward, BIRTH, OTHER_ID, OTHER)}
        assert _upload(api, clerk, d["D1"], "CCCD", "cccd.png",
                       scans["cccd.png"])["doc_code"] == CCCD1
        assert _upload(api, ward, d["D4"], "TOKHAI", "to-khai.png",
                       scans["to-khai.png"])["doc_code"] == TOKHAI_OTHER
        _run(api, CCCD1, TOKHAI_OTHER)
        # The same scans again, in other dossiers: digitised once, ready at once.
        d["D5"] = _open(api, ward, BIRTH)
        d["D3"] = _open(api, clerk, LAND)
        assert _upload(api, ward, d["D5"], "TOKHAI", "to-khai.png",
                       scans["to-khai.png"])["doc_code"] == TOKHAI_OWNER
        assert _upload(api, clerk, d["D3"], "CCCD", "cccd-2.png",
                       scans["cccd.png"])["doc_code"] == CCCD2
        _run(api, TOKHAI_OWNER, CCCD2)
        result_code = _return(api, d["D3"])
        assert publish_outbox(api.services.search) > 0
        cccd1 = _ok(api.client.get(f"/api/v1/documents/{CCCD1}", headers=clerk))
        world = World(api=api, dossiers=d, result_code=result_code, cccd1=cccd1,
                      cccd2_item=_store_item(api, CCCD2))
        seen = world.seen

        # Reuse at intake: a household business for the same person needs her CCCD.
        d["D2"] = _open(api, clerk, HOUSEHOLD)
        reuse = f"/api/v1/dossiers/{d['D2']}/reuse"
        seen["offered_before"] = _ok(api.client.get(reuse, headers=clerk))
        seen["blobs_before"] = _blob_files(api)
        seen["documents_before"] = _count(api, "documents")
        seen["attach"] = api.client.post(reuse, headers=clerk, json={
            "component_code": "CCCD", "item_id": _store_item(api, CCCD1)})
        seen["blobs_after"] = _blob_files(api)
        seen["offered_after"] = _ok(api.client.get(reuse, headers=clerk))
        seen["reused_text"] = api.client.get(f"/api/v1/documents/{REUSED}/text",
                                             headers=clerk)
        for status in (StoreStatus.SUPERSEDED, StoreStatus.REVOKED):
            _set_store_status(api, world.cccd2_item, status)
            seen[f"offered_{status.value}"] = _ok(api.client.get(reuse, headers=clerk))
            seen[f"attach_{status.value}"] = api.client.post(reuse, headers=clerk, json={
                "component_code": "CCCD", "item_id": world.cccd2_item})
        seen["documents_after"] = _count(api, "documents")

        # The index lags until the outbox is published.
        publish_outbox(api.services.search)
        seen["lag_published"] = index_lag(api.services.search)
        seen["search_published"] = world.search("tiepnhan", q="", limit=100)
        assert _upload(api, clerk, d["D2"], "GIAYDENGHI", "giay-de-nghi.png",
                       scans["cccd.png"])["doc_code"] == GIAYDENGHI
        _run(api, GIAYDENGHI)
        seen["lag_pending"] = index_lag(api.services.search)
        seen["search_pending"] = world.search("tiepnhan", q="", limit=100)
        seen["published"] = publish_outbox(api.services.search)
        seen["lag_after"] = index_lag(api.services.search)
        seen["search_after"] = world.search("tiepnhan", q="", limit=100)
        yield world


def _count(api: Api, table: str) -> int:
    with api.services.engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(
            getattr(tables, table))).scalar_one())


def _ids(page: dict[str, Any]) -> set[str]:
    return {hit["doc_id"] for hit in page["hits"]}


# Who may find what, by the table in the module's docstring.
BRANCH_A_DOCS = {_doc(CCCD1), _doc(REUSED), _doc(GIAYDENGHI), _doc(CCCD2)}
BRANCH_B_DOCS = {_doc(TOKHAI_OTHER), _doc(TOKHAI_OWNER)}


# --- digitised, in the data store, searchable ------------------------------------------------


def test_the_scanned_cccd_is_in_the_citizens_data_store(world: World) -> None:
    page = world.cccd1["pages"][0]["text"]
    assert (world.cccd1["status"], world.cccd1["document_type"]) == ("ready", CCCD_TYPE)
    for words in (f"Họ và tên: {OWNER}", f"Số định danh cá nhân: {OWNER_ID}", "đất"):
        assert words in page
    store = _ok(world.get("congdan", "/api/v1/me/data-store"))
    [item] = [i for i in store if i["ref"] == CCCD1]
    assert item == {"id": item["id"], "kind": "document", "ref": CCCD1,
                    "document_type": CCCD_TYPE, "title": CCCD_NAME, "issuer": "",
                    "number": None, "issue_date": None, "expiry_date": None,
                    "source_dossier": world.dossiers["D1"], "status": "valid"}
    # Everything the state holds for her, and only hers; a reused copy is not a new paper.
    assert sorted((i["kind"], i["ref"], i["status"]) for i in store) == sorted([
        ("document", CCCD1, "valid"), ("document", CCCD2, "revoked"),
        ("document", TOKHAI_OWNER, "valid"), ("document", GIAYDENGHI, "valid"),
        ("result", world.result_code, "valid")])
    other = _ok(world.get("congdan_khac", "/api/v1/me/data-store"))
    assert [(i["ref"], i["source_dossier"]) for i in other] == [
        (TOKHAI_OTHER, world.dossiers["D4"])]
    refused = world.get("tiepnhan", "/api/v1/me/data-store")
    _error(refused, 403, "forbidden", None)


def test_a_name_is_found_typed_with_or_without_diacritics(world: World) -> None:
    plain = world.search("tiepnhan", q="nguyen thi huong", limit=100)
    accented = world.search("tiepnhan", q="Nguyễn Thị Hương", limit=100)
    # Every copy of the page names her: the CCCD, its reuse, the second CCCD, GIAYDENGHI.
    assert _ids(plain) == _ids(accented) == BRANCH_A_DOCS
    assert plain["total"] == accented["total"] == 4
    for page in (plain, accented):
        hit = next(h for h in page["hits"] if h["doc_id"] == _doc(CCCD1))
        assert (hit["kind"], hit["dossier_code"], hit["owner_id"], hit["document_type"],
                hit["status"], hit["title"]) == (
            "document", world.dossiers["D1"], OWNER_ID, CCCD_TYPE, "ready", CCCD_NAME)
        assert re.search(r"<mark>Nguyễn</mark> <mark>Thị</mark> <mark>Hương</mark>",
                         hit["snippet"]), hit["snippet"]
        assert hit["score"] > 0


def test_dat_without_diacritics_finds_the_page_that_says_dat(world: World) -> None:
    found = world.search("tiepnhan", q="dat", limit=100)
    # The land paper's words, and the land certificate's title; no birth declaration.
    assert _ids(found) == BRANCH_A_DOCS | {f"result:{world.result_code}"}
    hit = next(h for h in found["hits"] if h["doc_id"] == _doc(CCCD1))
    assert hit["dossier_code"] == world.dossiers["D1"]
    assert hit["owner_id"] == OWNER_ID
    marked = re.findall(r"<mark>([^<]*)</mark>", hit["snippet"])
    assert marked, hit["snippet"]
    assert {m.lower() for m in marked} <= {"đất"}, marked
    assert world.search("tiepnhan", q="đất")["total"] == found["total"] == 5


# --- reuse at intake -------------------------------------------------------------------------


def _offered(suggestions: list[dict[str, Any]]) -> dict[str, list[str]]:
    return {s["component_code"]: [i["ref"] for i in s["items"]] for s in suggestions}


def test_reuse_offers_the_held_cccd_and_attaches_it_by_reference(world: World) -> None:
    seen, d = world.seen, world.dossiers
    before = seen["offered_before"]
    assert [(s["component_code"], s["document_type"]) for s in before] == [
        ("GIAYDENGHI", "giay_de_nghi_dang_ky_hkd"), ("CCCD", CCCD_TYPE),
        ("HOPDONGTHUE", "hop_dong_thue")]
    assert _offered(before) == {"GIAYDENGHI": [], "CCCD": [CCCD2, CCCD1], "HOPDONGTHUE": []}
    offered = next(i for i in before[1]["items"] if i["ref"] == CCCD1)
    assert (offered["kind"], offered["source_dossier"], offered["status"]) == (
        "document", d["D1"], "valid")

    attached = _ok(seen["attach"], 201)
    assert (attached["doc_code"], attached["dossier_code"], attached["component_code"],
            attached["document_type"], attached["owner_id"], attached["status"]) == (
        REUSED, d["D2"], "CCCD", CCCD_TYPE, OWNER_ID, "ready")
    assert (attached["title"], attached["copy_kind"], attached["version"], attached["job"]) == (
        CCCD_NAME, "certified_copy", 1, None)
    # The same blobs: the original and the archival copy, nothing stored again.
    first = world.cccd1
    assert [(f["sha256"], f["size"], f["media_type"]) for f in attached["files"]] == [
        (f["sha256"], f["size"], f["media_type"]) for f in first["files"]]
    assert attached["archival_sha256"] == first["archival_sha256"]
    # The metadata of the digitisation comes along with the reused paper.
    assert (attached["ocr_confidence"], attached["suggested"]) == (
        first["ocr_confidence"], first["suggested"])
    assert attached["ocr_confidence"] is not None
    assert seen["blobs_after"] == seen["blobs_before"]
    stored = {Path(name).name for name in seen["blobs_before"]}
    assert {first["files"][0]["sha256"], first["archival_sha256"]} <= stored
    assert [p["text"] for p in attached["pages"]] == [p["text"] for p in first["pages"]]
    assert seen["reused_text"].status_code == 200
    assert OWNER in seen["reused_text"].text
    assert _document_row(world.api, REUSED) == ("reused_from_store", CCCD1)
    # Offered no more for this dossier; the other CCCD still was, until superseded.
    assert _offered(seen["offered_after"])["CCCD"] == [CCCD2]


def test_a_superseded_or_revoked_paper_is_never_offered_nor_attached(world: World) -> None:
    seen = world.seen
    for status in ("superseded", "revoked"):
        assert _offered(seen[f"offered_{status}"]) == {
            "GIAYDENGHI": [], "CCCD": [], "HOPDONGTHUE": []}, status
        _error(seen[f"attach_{status}"], 404, "store_item_not_found", None)
    # One document was added while reusing: the valid CCCD; the refused ones added nothing.
    assert seen["documents_after"] == seen["documents_before"] + 1


def test_reuse_of_another_persons_paper_or_the_wrong_type_is_refused(world: World) -> None:
    api, clerk = world.api, world.api.login("tiepnhan")
    reuse = f"/api/v1/dossiers/{world.dossiers['D2']}/reuse"
    before = (_count(api, "documents"), _audit_count(api, "document.reuse"))
    theirs = api.client.post(reuse, headers=clerk, json={
        "component_code": "CCCD", "item_id": _store_item(api, TOKHAI_OTHER)})
    _error(theirs, 404, "store_item_not_found", None)
    missing = api.client.post(reuse, headers=clerk, json={"component_code": "CCCD",
                                                          "item_id": 999_999})
    assert (missing.status_code, missing.json()) == (404, theirs.json())
    wrong = api.client.post(reuse, headers=clerk, json={
        "component_code": "GIAYDENGHI", "item_id": _store_item(api, CCCD1)})
    _error(wrong, 422, "wrong_document_type", "item_id")
    unknown = api.client.post(reuse, headers=clerk, json={
        "component_code": "SOHONG", "item_id": _store_item(api, CCCD1)})
    _error(unknown, 422, "unknown_component", "component_code")
    # A clerk of another desk cannot see the dossier: it answers as a missing one.
    elsewhere = api.client.post(reuse, headers=api.login("tiepnhan_phuong"), json={
        "component_code": "CCCD", "item_id": _store_item(api, CCCD1)})
    _error(elsewhere, 404, "dossier_not_found", None)
    assert (_count(api, "documents"), _audit_count(api, "document.reuse")) == before


def test_a_paper_already_in_the_dossier_is_not_attached_again(
        tmp_path: Path, scans: dict[str, bytes]) -> None:
    """What is not offered cannot be attached: not a paper the dossier already reused (a
    second click), nor the dossier's own paper. Its own installation: the world's counts
    must not depend on this outcome."""
    with running_api(tmp_path, T0) as api:
        api.services.indexer.stop()
        api.services.runner.stop()
        clerk = api.login("tiepnhan")
        first = _open(api, clerk, LAND)
        assert _upload(api, clerk, first, "CCCD", "cccd.png",
                       scans["cccd.png"])["doc_code"] == CCCD1
        _run(api, CCCD1)
        item = _store_item(api, CCCD1)
        second = _open(api, clerk, HOUSEHOLD)
        body = {"component_code": "CCCD", "item_id": item}
        _ok(api.client.post(f"/api/v1/dossiers/{second}/reuse", headers=clerk, json=body), 201)
        before = (_count(api, "documents"), _audit_count(api, "document.reuse"))
        for dossier in (second, first):
            suggestions = _ok(api.client.get(f"/api/v1/dossiers/{dossier}/reuse",
                                             headers=clerk))
            assert _offered(suggestions)["CCCD"] == [], dossier
            again = api.client.post(f"/api/v1/dossiers/{dossier}/reuse", headers=clerk,
                                    json=body)
            _error(again, 409, "already_attached", "item_id")
        assert (_count(api, "documents"), _audit_count(api, "document.reuse")) == before


def test_a_returned_result_enters_the_data_store(world: World) -> None:
    store = _ok(world.get("congdan", "/api/v1/me/data-store"))
    [item] = [i for i in store if i["kind"] == "result"]
    assert (item["ref"], item["document_type"], item["source_dossier"], item["status"],
            item["issuer"]) == (world.result_code, PROCEDURES[0].result_type,
                                world.dossiers["D3"], "valid",
                                "Sở Nông nghiệp và Môi trường tỉnh Quảng Ninh")
    assert item["number"]
    found = world.search("congdan", q=world.result_code)
    assert [(h["doc_id"], h["kind"], h["dossier_code"], h["owner_id"], h["status"])
            for h in found["hits"]] == [(f"result:{world.result_code}", "result",
                                         world.dossiers["D3"], OWNER_ID, "sealed")]


# --- who finds what --------------------------------------------------------------------------


EVERYTHING = {
    "tiepnhan": BRANCH_A_DOCS | {"result"},  # the clerk of branch A
    "tiepnhan_phuong": BRANCH_B_DOCS,  # the clerk of branch B
    "chuyenvien": {_doc(CCCD1), _doc(CCCD2), "result"},  # the land agency's handler
    "congdan": BRANCH_A_DOCS | {_doc(TOKHAI_OWNER), "result"},
    "congdan_khac": {_doc(TOKHAI_OTHER)},
    "quantri": BRANCH_A_DOCS | BRANCH_B_DOCS | {"result"},
    "coquankhac": set(),  # an agency client reaches papers only through the agency API
}


def _expected(world: World, username: str) -> set[str]:
    return {f"result:{world.result_code}" if key == "result" else key
            for key in EVERYTHING[username]}


@pytest.mark.parametrize("username", list(EVERYTHING))
def test_an_empty_query_counts_exactly_what_the_asker_may_open(world: World,
                                                               username: str) -> None:
    expected = _expected(world, username)
    page = world.search(username, q="", limit=100)
    assert (page["total"], _ids(page)) == (len(expected), expected)
    # Paging never reaches beyond the scope either.
    first = world.search(username, q="", limit=1)
    assert first["total"] == len(expected)
    assert len(first["hits"]) == min(1, len(expected))
    assert world.search(username, q="", offset=len(expected))["hits"] == []


def test_the_owner_filter_never_widens_the_scope(world: World) -> None:
    assert world.search("congdan", owner=OTHER_ID) == {
        "total": 0, "hits": [], "index_lag_seconds": 0.0, "pending_updates": 0}
    assert world.search("congdan", q="nguyen thi huong", owner=OTHER_ID)["total"] == 0
    assert _ids(world.search("congdan", owner=OWNER_ID, limit=100)) == _expected(
        world, "congdan")
    ward = world.search("tiepnhan_phuong", owner=OWNER_ID)
    assert (ward["total"], _ids(ward)) == (1, {_doc(TOKHAI_OWNER)})
    assert world.search("tiepnhan", owner=OTHER_ID)["total"] == 0


def test_bad_search_input_is_a_query_or_a_422_never_a_5xx(world: World) -> None:
    dat = world.search("tiepnhan", q="đất")["total"]
    assert dat == 5
    long = world.get("tiepnhan", "/api/v1/search", q="đất " * 2500)
    assert len("đất " * 2500) == 10_000
    assert long.status_code == 200, long.text
    assert long.json()["total"] == dat  # truncated, still the same words
    syntax = world.search("tiepnhan", q='"đất:" (AND) -x*')
    assert syntax["total"] == world.search("tiepnhan", q="đất and x")["total"]
    # Quotes, a minus and a star are text: "-hương*" does not exclude her.
    quoted = world.search("tiepnhan", q='"nguyễn" (thị) -hương*', limit=100)
    assert (quoted["total"], _ids(quoted)) == (4, BRANCH_A_DOCS)
    _error(world.get("tiepnhan", "/api/v1/search", offset=100_000), 422,
           "invalid_request", "offset")
    _error(world.get("tiepnhan", "/api/v1/search", limit=0), 422, "invalid_request", "limit")
    _error(world.get("tiepnhan", "/api/v1/search", limit=101), 422, "invalid_request", "limit")
    _error(world.get("tiepnhan", "/api/v1/search", q="x" * 10_001), 422, "invalid_request",
           "q")
    assert world.api.client.get("/api/v1/search", params={"q": "dat"}).status_code == 401


def test_created_filters_take_aware_times_and_refuse_naive_ones(world: World) -> None:
    """Every paper here was created at T0 (the clock stands still in the fixture)."""
    everything = len(_expected(world, "tiepnhan"))
    second = timedelta(seconds=1)
    for bounds, total in (({"from": T0, "to": T0}, everything),
                          ({"from": T0 + second}, 0),
                          ({"to": T0 - second}, 0),
                          ({"from": T0.astimezone(VN_TZ) - second}, everything)):
        query = {name: moment.isoformat() for name, moment in bounds.items()}
        assert world.search("tiepnhan", **query)["total"] == total, query
    # A time without its offset is ambiguous (UTC? Hà Nội?): refused, not a 500.
    for name in ("from", "to"):
        naive = world.get("tiepnhan", "/api/v1/search", **{name: "2026-11-19T10:00:00"})
        _error(naive, 422, "invalid_request", name)


# --- the agency path -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def agency(world: World) -> World:
    """``coquankhac`` may ask for the land procedure only."""
    with world.services.records.store.session() as tx:
        tx.add_agency_scope("coquankhac", LAND)
    return world


def _query(**fields: str) -> dict[str, str]:
    body = {"procedure_code": LAND, "dossier_code": "TCT-2026-000123",
            "purpose": "Xác định nghĩa vụ tài chính về đất đai",
            "officer": "Hoàng Văn Thuế", "legal_basis": LEGAL_BASIS}
    body.update(fields)
    return body


def _ask(world: World, username: str, owner_id: str = OWNER_ID, ref: str | None = None,
         **fields: str) -> Response:
    path = f"/api/v1/agency/persons/{owner_id}/documents"
    if ref is not None:
        path += f"/{ref}/file"
    return world.api.client.post(path, json=_query(**fields),
                                 headers=world.api.login(username))


@pytest.mark.parametrize(("fields", "code", "error_field"), [
    pytest.param({"purpose": ""}, "purpose_required", "purpose", id="no-purpose"),
    pytest.param({"purpose": "   "}, "purpose_required", "purpose", id="blank-purpose"),
    pytest.param({"officer": ""}, "purpose_required", "purpose", id="no-officer"),
    pytest.param({"dossier_code": ""}, "dossier_required", "dossier_code", id="no-dossier"),
    pytest.param({"legal_basis": "", "consent_ref": ""}, "legal_basis_required",
                 "legal_basis", id="no-basis-nor-consent"),
])
def test_an_agency_query_without_its_grounds_is_refused_and_not_logged(
        agency: World, fields: dict[str, str], code: str, error_field: str) -> None:
    before = _audit_count(agency.api, "agency.query", "agency.fetch")
    _error(_ask(agency, "coquankhac", **fields), 422, code, error_field)
    _error(_ask(agency, "coquankhac", ref=CCCD1, **fields), 422, code, error_field)
    assert _audit_count(agency.api, "agency.query", "agency.fetch") == before


def test_an_agency_query_out_of_scope_or_by_staff_is_forbidden(agency: World) -> None:
    before = _audit_count(agency.api, "agency.query", "agency.fetch")
    _error(_ask(agency, "coquankhac", procedure_code=BIRTH), 403, "procedure_out_of_scope",
           None)
    _error(_ask(agency, "coquankhac", ref=TOKHAI_OWNER, procedure_code=BIRTH), 403,
           "procedure_out_of_scope", None)
    for staff in ("tiepnhan", "chuyenvien", "quantri", "congdan"):
        _error(_ask(agency, staff), 403, "forbidden", None)
        _error(_ask(agency, staff, ref=CCCD1), 403, "forbidden", None)
    bad_owner = _ask(agency, "coquankhac", owner_id="12345")
    assert (bad_owner.status_code, bad_owner.json()["error"]["code"]) == (422,
                                                                          "invalid_owner_id")
    assert _audit_count(agency.api, "agency.query", "agency.fetch") == before
    assert agency.api.client.post(f"/api/v1/agency/persons/{OWNER_ID}/documents",
                                  json=_query()).status_code == 401


def test_an_agency_query_and_fetch_are_answered_and_shown_to_the_citizen(
        agency: World) -> None:
    api = agency.api
    log_before = _ok(agency.get("congdan", "/api/v1/me/access-log"))
    asked_at = api.clock.now() + timedelta(minutes=1)
    api.clock.set(asked_at)
    listed = _ok(_ask(agency, "coquankhac", legal_basis="", consent_ref="DY-2026-0042"))
    # Only the valid papers of the types the land procedure requires: not the revoked CCCD,
    # the birth declaration, the household business form nor the result.
    assert [(i["ref"], i["kind"], i["document_type"], i["status"]) for i in listed] == [
        (CCCD1, "document", CCCD_TYPE, "valid")]
    assert {i["document_type"] for i in listed} <= LAND_TYPES

    fetched_at = asked_at + timedelta(minutes=1)
    api.clock.set(fetched_at)
    fetched = _ask(agency, "coquankhac", ref=CCCD1)
    assert fetched.status_code == 200, fetched.text
    assert fetched.headers["content-type"] == "application/pdf"
    assert f'filename="{CCCD1}.pdf"' in fetched.headers["content-disposition"]
    assert fetched.content.startswith(b"%PDF")
    assert hashlib.sha256(fetched.content).hexdigest() == agency.cccd1["archival_sha256"]

    # Outside the allowed list: another type, the revoked CCCD, another person's paper.
    before = _audit_count(api, "agency.query", "agency.fetch")
    for ref in (agency.result_code, GIAYDENGHI, CCCD2, TOKHAI_OTHER, "khong-co"):
        _error(_ask(agency, "coquankhac", ref=ref), 404, "store_item_not_found", None)
    assert _audit_count(api, "agency.query", "agency.fetch") == before

    log = _ok(agency.get("congdan", "/api/v1/me/access-log"))
    assert len(log) == len(log_before) + 2
    assert log[2:] == log_before
    fetch_entry, query_entry = log[0], log[1]
    assert {**fetch_entry, "at": datetime.fromisoformat(fetch_entry["at"])} == {
        "at": fetched_at, "agency": AGENCY_NAME, "officer": "Hoàng Văn Thuế",
        "purpose": "Xác định nghĩa vụ tài chính về đất đai", "procedure_code": LAND,
        "documents": [CCCD1], "action": "agency.fetch"}
    assert {**query_entry, "at": datetime.fromisoformat(query_entry["at"])} == {
        "at": asked_at, "agency": AGENCY_NAME, "officer": "Hoàng Văn Thuế",
        "purpose": "Xác định nghĩa vụ tài chính về đất đai", "procedure_code": LAND,
        "documents": [CCCD1], "action": "agency.query"}
    # Nobody asked about the other person; only a citizen reads an access log.
    assert _ok(agency.get("congdan_khac", "/api/v1/me/access-log")) == []
    _error(agency.get("coquankhac", "/api/v1/me/access-log"), 403, "forbidden", None)


# --- the index is derived data ---------------------------------------------------------------


def test_the_index_lags_until_the_outbox_is_published(world: World) -> None:
    seen = world.seen
    assert (seen["lag_published"].pending, seen["lag_published"].seconds) == (0, 0.0)
    assert seen["search_published"]["pending_updates"] == 0
    # GIAYDENGHI is ready in the records but not yet in the index.
    assert seen["lag_pending"].pending == 1
    assert seen["lag_pending"].oldest == T0
    assert seen["search_pending"]["pending_updates"] == 1
    assert _doc(GIAYDENGHI) not in _ids(seen["search_pending"])
    assert seen["search_pending"]["total"] == len(BRANCH_A_DOCS)  # + result - GIAYDENGHI
    assert seen["published"] == 1
    assert seen["lag_after"].pending == 0
    assert (seen["search_after"]["pending_updates"], seen["search_after"]["total"]) == (0, 5)
    assert _doc(GIAYDENGHI) in _ids(seen["search_after"])


QUERIES = ("", "nguyen thi huong", "Nguyễn Thị Hương", "dat", "khai sinh", "giay chung nhan")


def _totals(deps: SearchDeps, world: World) -> dict[tuple[str, str], tuple[int, set[str]]]:
    found = {}
    for username in EVERYTHING:
        who = principal(world.services, username)
        for text in QUERIES:
            page = search(deps, who, SearchQuery(text=text, limit=100))
            found[username, text] = (page.total, {h.doc_id for h in page.hits})
    return found


def test_a_rebuilt_index_answers_as_the_published_one(world: World, tmp_path: Path) -> None:
    live = world.services.search
    published = _totals(live, world)
    assert published["quantri", ""][0] == 7
    assert published["congdan_khac", "khai sinh"] == (1, {_doc(TOKHAI_OTHER)})
    # From scratch, in an empty directory, from the records alone.
    fresh = SearchDeps(store=live.store, clock=live.clock, index=TantivyIndex(tmp_path / "ix"))
    assert fresh.index.count() == 0
    assert rebuild_index(fresh) == 7
    assert fresh.index.count() == 7
    assert _totals(fresh, world) == published
    # In place, behind the running API: the same answers, nothing pending.
    assert rebuild_index(live) == 7
    assert _totals(live, world) == published
    assert index_lag(live).pending == 0
    for username in EVERYTHING:
        page = world.search(username, q="", limit=100)
        assert (page["total"], _ids(page), page["pending_updates"]) == (
            len(_expected(world, username)), _expected(world, username), 0)

