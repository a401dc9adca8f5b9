"""The dossier API end to end: the whole flow, refusals that write nothing, who sees what,
and overdue dossiers. Login, lockout and tokens are in ``test_api_auth.py``."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from api.demo import AGENCY_WARD, DEMO_PASSWORD, PROCEDURES
from records.accounts import create_user
from records.model import Dossier, DossierStatus, Person, Role
from tests.fixtures.app import Api, is_vietnamese, running_api

pytestmark = pytest.mark.e2e

T0 = datetime(2026, 11, 19, 3, 0, tzinfo=UTC)  # Thursday 10:00 in Hà Nội
CODE = re.compile(r"^000\.00\.15\.H40-\d{6}-\d{4}$")
BIRTH = PROCEDURES[1].code  # ward agency, one working day
NOT_FOUND = {"error": {"code": "dossier_not_found", "message": "Không tìm thấy hồ sơ.",
                       "field": None}}
MISSING = "000.00.15.H40-261119-9999"


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    with running_api(tmp_path, T0) as running:
        yield running


def _ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


def _at(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _open(api: Api, steps: int = 0) -> str:
    """A land dossier opened by the clerk, moved ``steps`` steps (max 2: to in_review)."""
    clerk = api.login("tiepnhan")
    code = str(_ok(api.create(clerk), 201)["code"])
    for name, extra in [("complete_digitisation", {}),
                        ("assign_handler", {"handler": "chuyenvien"})][:steps]:
        _ok(api.move(clerk, code, name, **extra))
    return code


def _return(api: Api, code: str) -> None:
    """Take a fresh land dossier all the way to ``returned``, each step by its owner."""
    for name, actor, extra in [("complete_digitisation", "tiepnhan", {}),
                               ("assign_handler", "tiepnhan", {"handler": "chuyenvien"})]:
        _ok(api.move(api.login(actor), code, name, **extra))
    result = _ok(api.client.post(f"/api/v1/dossiers/{code}/result",
                                 headers=api.login("chuyenvien"),
                                 json={"subject": "Cấp giấy chứng nhận",
                                       "body": ["Cấp giấy chứng nhận."], "signer": "lanhdao"}),
                 201)["code"]
    _ok(api.move(api.login("chuyenvien"), code, "submit_for_approval", signer="lanhdao"))
    for actor, stage in (("lanhdao", "sign"), ("vanthu", "seal")):
        report = _ok(api.client.post(f"/api/v1/results/{stage}", headers=api.login(actor),
                                     json={"codes": [result], "pin": "motcua-demo"}))
        assert report["signed"] == 1, report
    for name, actor in (("publish_result", "vanthu"), ("return_result", "tiepnhan")):
        _ok(api.move(api.login(actor), code, name))


def test_procedures_are_listed_with_their_components_in_order(api: Api) -> None:
    assert api.client.get("/api/v1/procedures").status_code == 401
    listed = _ok(api.client.get("/api/v1/procedures", headers=api.login("congdan")))
    assert [p["code"] for p in listed] == sorted(p.code for p in PROCEDURES)
    land = next(p for p in listed if p["code"] == PROCEDURES[0].code)
    assert (land["name"], land["processing_days"], land["fee_vnd"]) == (
        PROCEDURES[0].name, 20, 100_000)
    assert [(c["code"], c["mandatory"]) for c in land["components"]] == [
        ("DON", True), ("GTNGUONGOC", True), ("CCCD", True), ("NGHIAVUTC", False)]


def test_the_whole_flow_each_step_by_its_owner(api: Api) -> None:
    who = {u: api.login(u) for u in ("tiepnhan", "chuyenvien")}
    created = _ok(api.create(who["tiepnhan"], phone="0912345678"), 201)
    code = created["code"]
    assert CODE.match(code)
    assert code == "000.00.15.H40-261119-0001"
    assert (created["status"], created["status_label"], created["national_status_code"]) == (
        "received", "Đã tiếp nhận", 2)
    assert (created["online"], created["applicant_name"], len(created["history"])) == (
        False, "Nguyễn Thị Hương", 1)
    assert _at(created["received_at"]) == T0
    assert _at(created["due_at"]) == datetime(2026, 12, 17, 10, tzinfo=UTC)  # 20 working days

    first = [
        ("tiepnhan", "complete_digitisation", {}, "digitised", "Đã số hóa"),
        ("tiepnhan", "assign_handler", {"handler": "chuyenvien"}, "in_review", "Đang xử lý"),
        ("chuyenvien", "request_supplement", {"comment": "Bổ sung trích đo địa chính."},
         "supplement_requested", "Yêu cầu bổ sung"),
    ]
    then = [
        ("congdan", "supply_supplement", {"comment": "Đã nộp trích đo."}, "in_review",
         "Đang xử lý"),
        ("chuyenvien", "submit_for_approval", {"signer": "lanhdao"}, "pending_approval",
         "Chờ phê duyệt"),
    ]
    last = [
        ("vanthu", "publish_result", {}, "result_ready", "Có kết quả, chờ trả"),
        ("tiepnhan", "return_result", {}, "returned", "Đã trả kết quả"),
    ]
    view = created
    for actor, name, extra, status, label in first:
        view = _ok(api.move(who[actor], code, name, **extra))
        assert (view["status"], view["status_label"]) == (status, label), name
        assert view["history"][-1]["action"] == name
    assert view["handler"] == "chuyenvien"
    assert view["citizen_status_label"].startswith("Cơ quan yêu cầu bổ sung giấy tờ")

    api.clock.advance(timedelta(days=1))  # the citizen brings the paper the next day
    who = {u: api.login(u) for u in ("tiepnhan", "chuyenvien", "congdan", "lanhdao", "vanthu")}
    for actor, name, extra, status, label in then:
        if name == "submit_for_approval":  # the handler drafts the result first
            drafted = _ok(api.client.post(f"/api/v1/dossiers/{code}/result", headers=who[
                "chuyenvien"], json={"subject": "Về việc cấp Giấy chứng nhận", "body": [
                    "Cấp Giấy chứng nhận quyền sử dụng đất thửa đất số 125."],
                "signer": "lanhdao"}), 201)
            assert (drafted["status"], drafted["code"]) == ("draft",
                                                            "KQ-000.00.15.H40-2026-000001")
        view = _ok(api.move(who[actor], code, name, **extra))
        assert (view["status"], view["status_label"]) == (status, label), name
        assert view["history"][-1]["action"] == name
        if name == "supply_supplement":  # the clock restarts: 20 working days from Friday
            assert _at(view["due_at"]) == datetime(2026, 12, 18, 10, tzinfo=UTC)
    # Signing and sealing go through the signing endpoints, never a bare transition.
    refused = api.move(who["lanhdao"], code, "sign")
    assert (refused.status_code, refused.json()["error"]["code"]) == (409, "use_signing")
    for actor, stage, status, label in (("lanhdao", "sign", "signed", "Đã ký số"),
                                        ("vanthu", "seal", "sealed", "Đã đóng dấu số")):
        queue = _ok(api.client.get(f"/api/v1/results?stage={stage}", headers=who[actor]))
        assert [r["code"] for r in queue] == ["KQ-000.00.15.H40-2026-000001"]
        report = _ok(api.client.post(f"/api/v1/results/{stage}", headers=who[actor], json={
            "codes": ["KQ-000.00.15.H40-2026-000001"], "pin": "motcua-demo"}))
        assert (report["signed"], report["failed"]) == (1, 0), report
        view = _ok(api.client.get(f"/api/v1/dossiers/{code}", headers=who[actor]))
        assert (view["status"], view["status_label"]) == (status, label)
    for actor, name, extra, status, label in last:
        view = _ok(api.move(who[actor], code, name, **extra))
        assert (view["status"], view["status_label"]) == (status, label), name

    assert (view["signer"], view["national_status_code"], view["overdue"]) == (
        "lanhdao", 10, False)
    assert _at(view["finished_at"]) == T0 + timedelta(days=1)
    assert (view["finished_late"], view["citizen_status_label"]) == (False, "Đã trả kết quả")
    history = _ok(api.client.get(f"/api/v1/dossiers/{code}/history", headers=who["congdan"]))
    assert history == view["history"]
    assert len(history) == 10
    assert [(h["actor"], h["action"]) for h in history] == [
        ("tiepnhan", "receive_at_desk"),
        *((actor, name) for actor, name, *_ in first + then),
        ("lanhdao", "sign"), ("vanthu", "seal"),
        *((actor, name) for actor, name, *_ in last)]
    assert history[3]["comment"] == "Bổ sung trích đo địa chính."
    assert (history[4]["from_status"], history[4]["to_status"]) == (
        "supplement_requested", "in_review")


NEW = {"procedure_code": PROCEDURES[0].code, "applicant_id": "022190001234",
       "applicant_name": "Nguyễn Thị Hương"}
BAD_INPUT = [
    pytest.param("tiepnhan", None, {**NEW, "procedure_code": "9.999999.000.00.00.H40"},
                 422, "unknown_procedure", id="unknown-procedure"),
    pytest.param("tiepnhan", None, {**NEW, "applicant_id": "02219000123"}, 422,
                 "invalid_owner_id", id="personal-id-of-11-digits"),
    pytest.param("tiepnhan", None, {**NEW, "applicant_name": ""}, 422, "invalid_request",
                 id="empty-name"),
    pytest.param("tiepnhan", None, {**NEW, "applicant_name": "   "}, 422,
                 "invalid_applicant_name", id="blank-name"),
    pytest.param("tiepnhan", None, b'{"procedure_code": "1.012736', 422, "invalid_request",
                 id="malformed-json"),
    pytest.param("tiepnhan", "taken", {**NEW, "applicant_id": "038190004321"}, 409,
                 "duplicate_dossier_code", id="refused-after-taking-a-number"),
    pytest.param("tiepnhan", 0, {"transition": "return_result"}, 409,
                 "transition_not_allowed", id="not-allowed-in-state"),
    pytest.param("congdan", 0, {"transition": "complete_digitisation"}, 403, "forbidden",
                 id="wrong-role"),
    pytest.param("tiepnhan", 0, {"transition": "bay_len_troi"}, 422, "unknown_transition",
                 id="unknown-transition"),
    pytest.param("chuyenvien", 2, {"transition": "request_supplement"}, 422,
                 "comment_required", id="supplement-without-comment"),
    pytest.param("chuyenvien", 2, {"transition": "request_supplement", "comment": "  \n"},
                 422, "comment_required", id="supplement-with-blank-comment"),
    pytest.param("tiepnhan", 1, {"transition": "assign_handler", "handler": "lanhdao"}, 422,
                 "invalid_handler", id="handler-who-is-a-signer"),
]


def _take_code(api: Api, code: str) -> None:
    with api.services.records.store.session() as tx:
        tx.save_person(Person(owner_id="022190001234", name="Nguyễn Thị Hương"))
        tx.add_dossier(Dossier(id=0, code=code, procedure_code=PROCEDURES[0].code,
                               agency_code="000.00.15.H40", branch_code="TTPVHCC-QN",
                               applicant_id="022190001234", status=DossierStatus.RECEIVED,
                               created_at=T0, created_by="nhaplieu"))


@pytest.mark.parametrize(("actor", "steps", "body", "status", "code"), BAD_INPUT)
def test_bad_input_is_refused_in_vietnamese_and_writes_nothing(
        api: Api, actor: str, steps: int | str | None, body: dict[str, str] | bytes, status: int,
        code: str) -> None:
    if steps == "taken":  # the day's next code is already used: refused after writing
        _take_code(api, "000.00.15.H40-261119-0001")
    target = _open(api, steps) if isinstance(steps, int) else None
    headers = api.login(actor)
    url = f"/api/v1/dossiers/{target}/transitions" if target else "/api/v1/dossiers"
    seen = f"/api/v1/dossiers/{target}" if target else "/api/v1/dossiers"
    before, before_view = api.counts(), _ok(api.client.get(seen, headers=headers))
    if isinstance(body, bytes):
        response = api.client.post(url, content=body,
                                   headers={**headers, "Content-Type": "application/json"})
    else:
        response = api.client.post(url, json=body, headers=headers)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert is_vietnamese(error["message"]), error["message"]
    assert api.counts() == before
    assert _ok(api.client.get(seen, headers=headers)) == before_view


def _add_user(api: Api, username: str, **fields: Any) -> None:
    create_user(api.services.accounts, username=username, password=DEMO_PASSWORD,
                display_name=fields.pop("display_name"), **fields)


def _listed(api: Api, headers: dict[str, str], query: str = "") -> list[str]:
    return [d["code"] for d in _ok(api.client.get(f"/api/v1/dossiers{query}", headers=headers))]


def test_each_user_sees_only_the_dossiers_they_may(api: Api) -> None:
    _add_user(api, "congdankhac", display_name="Lê Văn Nam", roles=frozenset({Role.CITIZEN}),
              owner_id="001190009999")
    _add_user(api, "chuyenvienphuong", display_name="Hoàng Văn Tú",
              roles=frozenset({Role.HANDLER}), agency_code=AGENCY_WARD)
    land = _open(api)
    ward = _ok(api.create(api.login("tiepnhan"), procedure_code=BIRTH,
                          applicant_id="038190004321", applicant_name="Vũ Minh Khang"), 201)
    ward_code = ward["code"]
    heads = {u: api.login(u) for u in ("tiepnhan", "chuyenvien", "congdan", "congdankhac",
                                       "chuyenvienphuong", "quantri", "vanthu")}

    own = _ok(api.client.get(f"/api/v1/dossiers/{land}", headers=heads["congdan"]))
    assert (own["code"], own["citizen_status_label"]) == (land, "Hồ sơ đã được tiếp nhận")
    missing = api.client.get(f"/api/v1/dossiers/{MISSING}", headers=heads["congdan"])
    assert (missing.status_code, missing.json()) == (404, NOT_FOUND)
    for outsider in ("congdankhac", "chuyenvienphuong"):
        for path in (f"/api/v1/dossiers/{land}", f"/api/v1/dossiers/{land}/history"):
            hidden = api.client.get(path, headers=heads[outsider])
            assert (hidden.status_code, hidden.json()) == (404, NOT_FOUND), (outsider, path)
        moved = api.move(heads[outsider], land, "supply_supplement", comment="x")
        assert (moved.status_code, moved.json()) == (404, NOT_FOUND), outsider

    assert _listed(api, heads["congdan"]) == [land]
    assert _listed(api, heads["congdankhac"]) == []
    assert _listed(api, heads["chuyenvienphuong"]) == [ward_code]
    assert _listed(api, heads["chuyenvien"]) == [land]
    assert _listed(api, heads["vanthu"]) == [land]
    assert _listed(api, heads["tiepnhan"]) == [ward_code, land]
    assert _listed(api, heads["quantri"]) == [ward_code, land]
    assert _listed(api, heads["tiepnhan"], f"?procedure_code={BIRTH}") == [ward_code]
    assert _listed(api, heads["tiepnhan"], "?status=digitised") == []

    for name in ("tiepnhan", "chuyenvien", "congdan", "vanthu"):
        refused = api.client.get("/api/v1/audit/verify", headers=heads[name])
        assert (refused.status_code, refused.json()["error"]["code"]) == (403, "forbidden")
    entries = api.counts()["audit_log"]
    assert _ok(api.client.get("/api/v1/audit/verify", headers=heads["quantri"])) == {
        "intact": True, "checked": entries, "problem": None, "seq": None,
        "message": "audit chain intact"}


def test_who_may_open_a_dossier_and_act_on_it(api: Api) -> None:
    _add_user(api, "chuyenvien2", display_name="Đinh Thị Mai", roles=frozenset({Role.HANDLER}),
              agency_code="000.00.15.H40")
    citizen, clerk, handler = api.login("congdan"), api.login("tiepnhan"), api.login("chuyenvien")
    online = _ok(api.create(citizen, branch_code="TTPVHCC-QN"), 201)
    assert (online["status"], online["online"], online["due_at"]) == ("submitted", True, None)
    before = api.counts()
    for headers, fields in ((citizen, {"applicant_id": "001190009999",
                                       "branch_code": "TTPVHCC-QN"}),  # someone else's
                            (clerk, {"branch_code": "MC-HALONG"}),  # another desk
                            (handler, {"branch_code": "TTPVHCC-QN"})):
        refused = api.create(headers, **fields)
        assert (refused.status_code, refused.json()["error"]["code"]) == (403, "forbidden")
    assert api.counts() == before

    assigned = _open(api, steps=2)  # handled by chuyenvien
    colleague = api.move(api.login("chuyenvien2"), assigned, "request_supplement",
                         comment="Bổ sung bản sao.")
    assert (colleague.status_code, colleague.json()["error"]["code"]) == (403, "forbidden")
    assert api.move(handler, assigned, "request_supplement",
                    comment="Bổ sung bản sao.").status_code == 200


def test_an_unknown_transition_on_a_hidden_dossier_looks_like_a_missing_one(api: Api) -> None:
    _add_user(api, "congdankhac", display_name="Lê Văn Nam", roles=frozenset({Role.CITIZEN}),
              owner_id="001190009999")
    land = _open(api)
    outsider = api.login("congdankhac")
    hidden = api.move(outsider, land, "bay_len_troi")
    missing = api.move(outsider, MISSING, "bay_len_troi")
    assert (missing.status_code, missing.json()) == (404, NOT_FOUND)
    assert (hidden.status_code, hidden.json()) == (404, NOT_FOUND)


def test_a_dossier_past_its_due_time_is_overdue(api: Api) -> None:
    clerk = api.login("tiepnhan")
    birth = _ok(api.create(clerk, procedure_code=BIRTH), 201)
    land = _open(api)
    done = _open(api)
    _return(api, done)
    assert _at(birth["due_at"]) == datetime(2026, 11, 20, 10, tzinfo=UTC)  # Friday 17:00
    assert _listed(api, clerk, "?overdue=true") == []

    api.clock.set(datetime(2026, 11, 20, 10, 0, 1, tzinfo=UTC))
    clerk = api.login("tiepnhan")
    assert _ok(api.client.get(f"/api/v1/dossiers/{birth['code']}", headers=clerk))["overdue"]
    assert not _ok(api.client.get(f"/api/v1/dossiers/{land}", headers=clerk))["overdue"]
    assert _listed(api, clerk, "?overdue=true") == [birth["code"]]

    api.clock.set(datetime(2026, 12, 17, 10, 0, 1, tzinfo=UTC))
    clerk = api.login("tiepnhan")
    assert _ok(api.client.get(f"/api/v1/dossiers/{land}", headers=clerk))["overdue"] is True
    summaries = _ok(api.client.get("/api/v1/dossiers?overdue=true", headers=clerk))
    assert [(d["code"], d["overdue"]) for d in summaries] == [(land, True),
                                                              (birth["code"], True)]
    assert _ok(api.client.get(f"/api/v1/dossiers/{done}", headers=clerk))["overdue"] is False


def test_overdue_filter_applies_before_paging(api: Api) -> None:
    clerk = api.login("tiepnhan")
    birth = _ok(api.create(clerk, procedure_code=BIRTH), 201)["code"]
    _open(api)  # newer, and not yet due
    api.clock.set(datetime(2026, 11, 20, 10, 0, 1, tzinfo=UTC))
    assert _listed(api, api.login("tiepnhan"), "?overdue=true&limit=1") == [birth]


def test_malformed_json_names_no_field(api: Api) -> None:
    response = api.client.post("/api/v1/dossiers", content=b'{"procedure_code": "1.01',
                               headers={**api.login("tiepnhan"),
                                        "content-type": "application/json"})
    assert response.status_code == 422
    assert response.json() == {"error": {"code": "invalid_request", "field": None,
                                         "message": "Dữ liệu gửi lên không hợp lệ."}}
