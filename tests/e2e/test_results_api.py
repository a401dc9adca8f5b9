"""E-results over HTTP: drafting, batch signing and sealing (each result its own step,
every attempt audited), certificate and authorisation checks before any signature, the
citizen's download, and public verification.

[DOMAIN.md "E-signatures": the official signs first, the seal custodian seals second under
a written authorisation; the signing software checks the certificate before signing.]
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pikepdf
import pytest

from api.demo import AGENCY_LAND, AGENCY_WARD, DEMO_PASSWORD, PROCEDURES
from records.accounts import create_user
from records.calendar import VN_TZ
from records.certificates import CertificateDeps, grant_seal_authorisation
from records.model import Result, Role
from signing import DemoPki
from signing.demo_pki import DEMO_PASSPHRASE
from tests.fixtures.app import Api, count_rows, is_vietnamese, principal, running_api
from tests.fixtures.pki import forged_result

pytestmark = pytest.mark.e2e

T0 = datetime(2026, 11, 19, 3, 0, tzinfo=UTC)  # Thursday 10:00 in Hà Nội
README = Path(__file__).resolve().parents[2] / "README.md"
RESULT_TYPE = PROCEDURES[0].result_type
SIGNER = "Nguyễn Văn Hùng"
AGENCY_NAME = "Sở Nông nghiệp và Môi trường tỉnh Quảng Ninh"
DRAFT = {"subject": "Về việc cấp Giấy chứng nhận quyền sử dụng đất cho bà Nguyễn Thị Hương",
         "body": ["Cấp Giấy chứng nhận quyền sử dụng đất thửa đất số 125, tờ bản đồ số 07."],
         "signer": "lanhdao"}
RESULT_NOT_FOUND = {"error": {"code": "result_not_found", "field": None,
                              "message": "Không tìm thấy kết quả giải quyết."}}
PUBLIC_NOT_FOUND = {"error": {"code": "result_not_found", "field": None,
                              "message": "Không tìm thấy kết quả, hoặc mã xác minh không đúng."}}
NOT_DRAFT = "Kết quả không ở trạng thái chờ ký (có thể đã được ký)."
NOT_SIGNED = "Văn bản chưa có chữ ký số của người có thẩm quyền, hoặc đã được đóng dấu."
NO_GRANT = ("Bạn chưa được giao (hoặc đã hết hạn) quyền quản lý con dấu thứ hai của cơ "
            "quan.")
# The tables a refused draft or signature must leave as they were (apart from the audit).
RESULT_TABLES = ("results", "result_counters", "dossiers", "dossier_history")


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    with running_api(tmp_path, T0) as running:
        yield running


def code_of(n: int) -> str:
    return f"KQ-{AGENCY_LAND}-2026-{n:06d}"


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def _error(response: Any, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code, error
    assert is_vietnamese(error["message"]), error["message"]
    return str(error["message"])


def _add_user(api: Api, username: str, role: Role, **fields: str) -> None:
    create_user(api.services.accounts, username=username, password=DEMO_PASSWORD,
                display_name=fields.pop("display_name", username), roles=frozenset({role}),
                **fields)


def _in_review(api: Api) -> str:
    """A land dossier opened by the clerk and handed to ``chuyenvien``."""
    clerk = api.login("tiepnhan")
    code = str(_ok(api.create(clerk), 201)["code"])
    _ok(api.move(clerk, code, "complete_digitisation"))
    _ok(api.move(clerk, code, "assign_handler", handler="chuyenvien"))
    return code


def _draft(api: Api, dossier: str, headers: dict[str, str] | None = None,
           **fields: object) -> Any:
    return api.client.post(f"/api/v1/dossiers/{dossier}/result",
                           headers=headers or api.login("chuyenvien"), json={**DRAFT, **fields})


def _submitted(api: Api) -> tuple[str, str]:
    """A dossier whose drafted result awaits ``lanhdao``'s signature: (dossier, result)."""
    dossier = _in_review(api)
    result = str(_ok(_draft(api, dossier), 201)["code"])
    _ok(api.move(api.login("chuyenvien"), dossier, "submit_for_approval", signer="lanhdao"))
    return dossier, result


def _batch(api: Api, who: str, stage: str, codes: list[str],
           pin: str | None = DEMO_PASSPHRASE) -> Any:
    return _ok(api.client.post(f"/api/v1/results/{stage}", headers=api.login(who),
                               json={"codes": codes, "pin": pin}))


def _signed(api: Api) -> tuple[str, str]:
    dossier, result = _submitted(api)
    report = _batch(api, "lanhdao", "sign", [result])
    assert report["signed"] == 1, report
    return dossier, result


def _sealed(api: Api) -> tuple[str, str]:
    dossier, result = _signed(api)
    report = _batch(api, "vanthu", "seal", [result])
    assert report["signed"] == 1, report
    return dossier, result


def _stored(api: Api, code: str) -> Result:
    with api.services.records.store.session(readonly=True) as tx:
        found = tx.get_result(code)
    assert found is not None, code
    return found


def _audit(api: Api, code: str) -> list[tuple[str, str, dict[str, Any]]]:
    api.services.results.audit.flush()  # reads reach the chain a moment later
    with api.services.records.store.session(readonly=True) as tx:
        entries = tx.audit_for_object("result", code)
    return [(e.actor, e.action, json.loads(e.detail)) for e in entries]


def _actions(api: Api, code: str) -> list[str]:
    return [action for _, action, _ in _audit(api, code)]


def _dossier_status(api: Api, dossier: str) -> str:
    return str(_ok(api.client.get(f"/api/v1/dossiers/{dossier}",
                                  headers=api.login("quantri")))["status"])


def _rows(api: Api) -> dict[str, int]:
    return count_rows(api.services.engine, *RESULT_TABLES)


def _failed(item: dict[str, Any], code: str, error_code: str, message: str | None = None
            ) -> None:
    assert (item["code"], item["ok"], item["error_code"]) == (code, False, error_code), item
    assert is_vietnamese(item["message"]), item
    if message is not None:
        assert item["message"] == message


# -- drafting ------------------------------------------------------------------------------


def test_only_the_assigned_handler_drafts_and_redrafting_keeps_the_code(api: Api) -> None:
    _add_user(api, "chuyenvien2", Role.HANDLER, agency_code=AGENCY_LAND)
    _add_user(api, "chuyenvienphuong", Role.HANDLER, agency_code=AGENCY_WARD)
    _add_user(api, "congdankhac", Role.CITIZEN, owner_id="001190009999")
    dossier = _in_review(api)
    heads = {who: api.login(who) for who in ("chuyenvien2", "tiepnhan", "lanhdao", "congdan",
                                              "congdankhac", "chuyenvienphuong")}
    before, audit_before = _rows(api), api.counts()["audit_log"]
    for who, status, code in (("chuyenvien2", 403, "forbidden"),  # not the assigned one
                              ("tiepnhan", 403, "forbidden"),  # the clerk sees, drafts not
                              ("lanhdao", 403, "forbidden"),  # the signer signs, drafts not
                              ("congdan", 403, "forbidden"),  # the applicant sees it
                              ("congdankhac", 404, "dossier_not_found"),
                              ("chuyenvienphuong", 404, "dossier_not_found")):
        _error(_draft(api, dossier, heads[who]), status, code)
    assert (_rows(api), api.counts()["audit_log"]) == (before, audit_before)

    drafted = _ok(_draft(api, dossier), 201)
    assert {k: drafted[k] for k in ("code", "number", "issue_date", "title", "result_type",
                                    "status", "signer_name", "signed_by", "sealed_by")} == {
        "code": code_of(1), "number": "1/2026/KQ", "issue_date": "2026-11-19",
        "title": DRAFT["subject"], "result_type": RESULT_TYPE, "status": "draft",
        "signer_name": SIGNER, "signed_by": None, "sealed_by": None}
    assert drafted["page_count"] == 1
    assert _actions(api, code_of(1)) == ["result.draft"]

    for who in ("chuyenvien", "lanhdao", "vanthu", "tiepnhan"):
        response = api.client.get(f"/api/v1/results/{code_of(1)}/file",
                                  headers=api.login(who))
        assert response.status_code == 200, (who, response.text)
        assert response.headers["content-type"] == "application/pdf"
        assert response.content.startswith(b"%PDF")
        assert hashlib.sha256(response.content).hexdigest() == drafted["sha256"]
        with pikepdf.open(io.BytesIO(response.content)) as pdf:
            assert len(pdf.pages) == drafted["page_count"]
            meta = pdf.open_metadata()
            assert (meta.get("pdfaid:part"), meta.get("pdfaid:conformance")) == ("2", "B")

    redrafted = _ok(_draft(api, dossier, subject="Về việc cấp Giấy chứng nhận (sửa)"), 201)
    assert (redrafted["code"], redrafted["number"], redrafted["status"]) == (
        code_of(1), "1/2026/KQ", "draft")
    assert redrafted["title"] == "Về việc cấp Giấy chứng nhận (sửa)"
    assert redrafted["sha256"] != drafted["sha256"]
    shown = _ok(api.client.get(f"/api/v1/dossiers/{dossier}/result",
                               headers=api.login("chuyenvien")))
    assert shown == redrafted
    # Each read of the result is logged as what it was: the file, or its facts.
    assert _actions(api, code_of(1)) == ["result.draft", *["result.download"] * 4,
                                         "result.draft", "result.view"]

    second = _ok(_draft(api, _in_review(api)), 201)
    assert (second["code"], second["number"]) == (code_of(2), "2/2026/KQ")


def test_a_bad_draft_is_refused_and_writes_nothing(api: Api) -> None:
    _add_user(api, "lanhdaophuong", Role.SIGNER, agency_code=AGENCY_WARD)
    dossier = _in_review(api)
    handler = api.login("chuyenvien")
    before, audit_before = _rows(api), api.counts()["audit_log"]
    _error(_draft(api, dossier, handler, body=[]), 422, "invalid_request")
    _error(_draft(api, dossier, handler, body=["   ", "\n"]), 422, "empty_draft")
    _error(_draft(api, dossier, handler, subject="  "), 422, "empty_draft")
    for signer in ("lanhdaophuong", "chuyenvien", "khongtontai"):
        message = _error(_draft(api, dossier, handler, signer=signer), 422, "invalid_signer")
        assert message == ("Vui lòng chọn lãnh đạo có thẩm quyền ký của cơ quan giải quyết "
                           "hồ sơ.")
    submitted = api.move(handler, dossier, "submit_for_approval", signer="lanhdao")
    assert _error(submitted, 409, "no_draft_result") == "Chưa có dự thảo kết quả để trình ký."
    assert (_rows(api), api.counts()["audit_log"]) == (before, audit_before)
    assert _dossier_status(api, dossier) == "in_review"


# -- signing -------------------------------------------------------------------------------


def test_a_batch_signs_the_good_results_and_leaves_the_bad_one_as_it_was(api: Api) -> None:
    (d1, r1), (d2, r2), (d3, r3) = (_submitted(api) for _ in range(3))
    # The signer sends the second back: its dossier is in review again, its draft unsigned.
    _ok(api.move(api.login("lanhdao"), d2, "return_for_revision",
                 comment="Đề nghị ghi rõ diện tích thửa đất."))
    draft2 = _stored(api, r2)
    queued = _ok(api.client.get("/api/v1/results?stage=sign", headers=api.login("lanhdao")))
    assert [r["code"] for r in queued] == [r1, r3]

    report = _batch(api, "lanhdao", "sign", [r1, r2, r3])
    assert (report["signed"], report["failed"]) == (2, 1), report
    assert [(i["code"], i["ok"]) for i in report["items"]] == [(r1, True), (r2, False),
                                                               (r3, True)]
    assert report["items"][0]["error_code"] is report["items"][0]["message"] is None
    _failed(report["items"][1], r2, "transition_not_allowed",
            "Không thể thực hiện «Ký số kết quả» khi hồ sơ đang ở trạng thái «Đang xử lý».")

    assert _stored(api, r2) == draft2
    assert _dossier_status(api, d2) == "in_review"
    for dossier, result in ((d1, r1), (d3, r3)):
        signed = _stored(api, result)
        assert (signed.status.value, signed.signed_by) == ("signed", "lanhdao")
        assert signed.signed_sha256 == signed.blob_sha256 != signed.draft_sha256
        assert signed.signed_at == T0
        assert _dossier_status(api, dossier) == "signed"
        assert _actions(api, result) == ["result.draft", "result.sign"]
        assert _audit(api, result)[-1] == ("lanhdao", "result.sign", {
            "dossier": dossier, "sha256": signed.blob_sha256})
    assert _audit(api, r2)[1:] == [("lanhdao", "result.sign_refused",
                                    {"reason": "transition_not_allowed"})]
    signs = [a for r in (r1, r2, r3) for a in _actions(api, r) if a.startswith("result.sign")]
    assert sorted(signs) == ["result.sign", "result.sign", "result.sign_refused"]
    assert _ok(api.client.get("/api/v1/results?stage=sign", headers=api.login("lanhdao"))) == []

    # Signing a signed result again is refused and changes nothing.
    before = _stored(api, r1)
    again = _batch(api, "lanhdao", "sign", [r1])
    assert (again["signed"], again["failed"]) == (0, 1)
    _failed(again["items"][0], r1, "result_not_draft", NOT_DRAFT)
    assert _stored(api, r1) == before
    assert _actions(api, r1) == ["result.draft", "result.sign", "result.sign_refused"]


def test_a_wrong_or_missing_pin_signs_nothing(api: Api) -> None:
    dossier, result = _submitted(api)
    draft = _stored(api, result)
    wrong = _batch(api, "lanhdao", "sign", [result], pin="sai-mat-khau")
    assert (wrong["signed"], wrong["failed"]) == (0, 1)
    _failed(wrong["items"][0], result, "passphrase_incorrect",
            "Mật khẩu tệp chứng thư số không đúng hoặc tệp bị hỏng.")
    missing = _batch(api, "lanhdao", "sign", [result], pin=None)
    _failed(missing["items"][0], result, "pin_required", "Vui lòng nhập mật khẩu chứng thư số.")
    assert _stored(api, result) == draft
    assert _dossier_status(api, dossier) == "pending_approval"
    assert _audit(api, result)[1:] == [
        ("lanhdao", "result.sign_refused", {"reason": "passphrase_incorrect"}),
        ("lanhdao", "result.sign_refused", {"reason": "pin_required"})]
    # The right PIN still signs: a refused one is not remembered.
    assert _batch(api, "lanhdao", "sign", [result])["signed"] == 1


def test_only_the_assigned_signer_with_a_certificate_signs(api: Api) -> None:
    _add_user(api, "lanhdao2", Role.SIGNER, agency_code=AGENCY_LAND)
    dossier, result = _submitted(api)
    draft = _stored(api, result)
    for who, code in (("chuyenvien", "forbidden"), ("vanthu", "forbidden"),
                      ("lanhdao2", "no_certificate")):
        report = _batch(api, who, "sign", [result])
        assert (report["signed"], report["failed"]) == (0, 1), who
        _failed(report["items"][0], result, code)
    assert _stored(api, result) == draft
    assert _dossier_status(api, dossier) == "pending_approval"


def _revoke_lanhdao(api: Api, at: datetime) -> None:
    pki = DemoPki.load(api.services.settings.data_dir / "pki")
    pki.revoke(pki.holders["lanhdao"].certificate.serial_number, at=at)


def test_a_revoked_certificate_is_refused_before_any_signature(api: Api) -> None:
    dossier, result = _submitted(api)
    draft = _stored(api, result)
    _revoke_lanhdao(api, T0 - timedelta(minutes=1))
    report = _batch(api, "lanhdao", "sign", [result])
    assert (report["signed"], report["failed"]) == (0, 1)
    _failed(report["items"][0], result, "revoked", "Chứng thư số đã bị thu hồi ngày 19/11/2026.")
    assert _stored(api, result) == draft
    assert _dossier_status(api, dossier) == "pending_approval"
    assert _audit(api, result)[1:] == [("lanhdao", "result.sign_refused",
                                        {"reason": "revoked"})]


def test_a_revocation_outlives_the_next_days_crl(api: Api) -> None:
    # The server has already validated with the demo PKI when the operator revokes.
    _, signed = _signed(api)
    dossier, result = _submitted(api)
    _revoke_lanhdao(api, T0)
    api.clock.advance(timedelta(days=1))  # the server issues the day's CRLs
    report = _batch(api, "lanhdao", "sign", [result])
    _failed(report["items"][0], result, "revoked", "Chứng thư số đã bị thu hồi ngày 19/11/2026.")
    assert _stored(api, result).status.value == "draft"
    assert _dossier_status(api, dossier) == "pending_approval"
    assert _stored(api, signed).status.value == "signed"


def test_an_expired_certificate_is_refused_before_any_signature(api: Api) -> None:
    dossier, result = _submitted(api)
    draft = _stored(api, result)
    # The demo certificates live two years from an hour before T0 (2028 is a leap year).
    api.clock.set(T0 + timedelta(days=731))
    report = _batch(api, "lanhdao", "sign", [result])
    _failed(report["items"][0], result, "expired", "Chứng thư số đã hết hạn ngày 18/11/2028.")
    assert _stored(api, result) == draft
    assert _dossier_status(api, dossier) == "pending_approval"
    assert _audit(api, result)[1:] == [("lanhdao", "result.sign_refused",
                                        {"reason": "expired"})]


def test_signatures_follow_the_services_clock(tmp_path: Path) -> None:
    """On an injected clock (a test, a scripted demo) the demo PKI issues its CRLs and its
    timestamps at the clock's time, so the signatures must be made and checked at that time
    too, whatever the wall clock says (here a month later)."""
    start = (datetime.now(UTC) - timedelta(days=30)).replace(microsecond=0)
    with running_api(tmp_path, start) as api:
        _, result = _sealed(api)
        stored = _stored(api, result)
        assert (stored.signed_at, stored.sealed_at) == (start, start)
        found = _ok(api.client.get(f"/xac-minh/{result}?d={stored.digest}&format=json"))
        assert found["outcome"] == "all_passed", found
        at = start.astimezone(VN_TZ).isoformat(timespec="seconds")
        assert [(s["signing_time"], s["timestamp"]) for s in found["signatures"]] == [
            (at, at), (at, at)]


# -- sealing -------------------------------------------------------------------------------


def test_only_an_authorised_custodian_seals_a_signed_result(api: Api) -> None:
    _add_user(api, "vanthu2", Role.SEAL_CUSTODIAN, agency_code=AGENCY_LAND)
    dossier, result = _submitted(api)
    draft = _stored(api, result)
    early = _batch(api, "vanthu", "seal", [result])
    assert (early["signed"], early["failed"]) == (0, 1)
    _failed(early["items"][0], result, "result_not_signed", NOT_SIGNED)
    assert _stored(api, result) == draft
    assert _dossier_status(api, dossier) == "pending_approval"

    assert _batch(api, "lanhdao", "sign", [result])["signed"] == 1
    signed = _stored(api, result)
    other = _signed(api)[1]
    refused = _batch(api, "vanthu2", "seal", [result, other])
    assert (refused["signed"], refused["failed"]) == (0, 2)
    for item, code in zip(refused["items"], (result, other), strict=True):
        _failed(item, code, "no_seal_authorisation", NO_GRANT)
    for who in ("lanhdao", "chuyenvien"):
        _failed(_batch(api, who, "seal", [result])["items"][0], result, "forbidden")
    assert _stored(api, result) == signed
    assert _dossier_status(api, dossier) == "signed"
    queued = _ok(api.client.get("/api/v1/results?stage=seal", headers=api.login("vanthu")))
    assert [r["code"] for r in queued] == [result, other]

    report = _batch(api, "vanthu", "seal", [result, other])
    assert (report["signed"], report["failed"]) == (2, 0), report
    sealed = _stored(api, result)
    assert (sealed.status.value, sealed.sealed_by, sealed.sealed_at) == ("sealed", "vanthu", T0)
    assert sealed.signed_sha256 == signed.blob_sha256 != sealed.blob_sha256
    assert _dossier_status(api, dossier) == "sealed"
    assert _ok(api.client.get("/api/v1/results?stage=seal", headers=api.login("vanthu"))) == []
    assert _actions(api, result) == ["result.draft", "result.seal_refused", "result.sign",
                                     "result.seal_refused", "result.seal"]
    assert [d for _, a, d in _audit(api, result) if a == "result.seal_refused"] == [
        {"reason": "result_not_signed"}, {"reason": "no_seal_authorisation"}]


def test_an_expired_authorisation_seals_nothing(api: Api) -> None:
    _add_user(api, "vanthu2", Role.SEAL_CUSTODIAN, agency_code=AGENCY_LAND)
    with api.services.records.store.session(readonly=True) as tx:
        land = next(c for c in tx.certificates() if c.agency_code == AGENCY_LAND)
    deps = CertificateDeps(store=api.services.records.store, clock=api.clock,
                           audit_key=api.services.records.audit_key)
    grant_seal_authorisation(deps, principal(api.services, "quantri"),
                             certificate_id=land.id, custodian_username="vanthu2",
                             valid_from=T0 - timedelta(days=1), valid_to=T0 + timedelta(days=30),
                             reference="Quyết định số 16/QĐ-SNNMT",
                             handover_reference="Biên bản bàn giao số 03/BB-TTPVHCC")
    (_, r1), (d2, r2), (d3, r3) = (_signed(api) for _ in range(3))
    assert _batch(api, "vanthu2", "seal", [r1])["signed"] == 1  # while the grant lasts

    api.clock.set(T0 + timedelta(days=31))
    signed = _stored(api, r2)
    _failed(_batch(api, "vanthu2", "seal", [r2])["items"][0], r2, "no_seal_authorisation",
            NO_GRANT)
    assert _stored(api, r2) == signed
    assert _dossier_status(api, d2) == "signed"
    assert _audit(api, r2)[-1] == ("vanthu2", "result.seal_refused",
                                   {"reason": "no_seal_authorisation"})

    api.clock.set(T0 + timedelta(days=730, minutes=1))  # past vanthu's two-year grant
    signed = _stored(api, r3)
    _failed(_batch(api, "vanthu", "seal", [r3])["items"][0], r3, "no_seal_authorisation",
            NO_GRANT)
    assert _stored(api, r3) == signed
    assert _dossier_status(api, d3) == "signed"
    assert _audit(api, r3)[-1] == ("vanthu", "result.seal_refused",
                                   {"reason": "no_seal_authorisation"})


# -- the citizen's download ------------------------------------------------------------------


def test_the_citizen_downloads_the_result_only_once_it_is_ready(api: Api) -> None:
    _add_user(api, "congdankhac", Role.CITIZEN, owner_id="001190009999")
    dossier, result = _sealed(api)
    url = f"/api/v1/results/{result}/file"
    for who in ("congdan", "congdankhac"):
        hidden = api.client.get(url, headers=api.login(who))
        assert (hidden.status_code, hidden.json()) == (404, RESULT_NOT_FOUND), who
    _ok(api.move(api.login("vanthu"), dossier, "publish_result"))
    got = api.client.get(url, headers=api.login("congdan"))
    assert got.status_code == 200, got.text
    assert hashlib.sha256(got.content).hexdigest() == _stored(api, result).blob_sha256
    assert _audit(api, result)[-1] == ("congdan", "result.download",
                                       {"sha256": _stored(api, result).blob_sha256})
    for who, path in (("congdankhac", url),
                      ("congdankhac", f"/api/v1/dossiers/{dossier}/result"),
                      ("congdan", f"/api/v1/results/{code_of(99)}/file")):
        hidden = api.client.get(path, headers=api.login(who))
        assert (hidden.status_code, hidden.json()) == (404, RESULT_NOT_FOUND), (who, path)


# -- public verification ----------------------------------------------------------------------


def test_the_public_page_verifies_a_sealed_result_only(api: Api) -> None:
    _, draft_code = _submitted(api)
    _, signed_code = _signed(api)
    _, result = _sealed(api)
    digest = _stored(api, result).digest
    assert re.fullmatch(r"[0-9a-f]{20}", digest)

    found = _ok(api.client.get(f"/xac-minh/{result}?d={digest}&format=json"))
    assert {k: found[k] for k in ("code", "number", "issue_date", "result_type", "title",
                                  "agency", "outcome")} == {
        "code": result, "number": "3/2026/KQ", "issue_date": "2026-11-19",
        "result_type": RESULT_TYPE, "title": DRAFT["subject"], "agency": AGENCY_NAME,
        "outcome": "all_passed"}
    assert [(s["kind"], s["field"], s["signer"], s["organisation"], s["indication"],
             s["level"], s["intact"], s["chain"]) for s in found["signatures"]] == [
        ("personal", "ChuKyNguoiCoThamQuyen", SIGNER, AGENCY_NAME, "TOTAL-PASSED", "B-LT",
         True, "trusted"),
        ("organisation", "DauCoQuan", AGENCY_NAME, AGENCY_NAME, "TOTAL-PASSED", "B-LT", True,
         "trusted")]
    assert _audit(api, result)[-1] == ("public", "result.public_check", {})

    for code, d in ((result, "0" * 20), (result, digest[:-1]), (code_of(99), digest),
                    (draft_code, _stored(api, draft_code).digest),
                    (signed_code, _stored(api, signed_code).digest)):
        hidden = api.client.get(f"/xac-minh/{code}?d={d}&format=json")
        assert (hidden.status_code, hidden.json()) == (404, PUBLIC_NOT_FOUND), code
    by_header = api.client.get(f"/xac-minh/{result}?d={'0' * 20}",
                               headers={"Accept": "application/json"})
    assert (by_header.status_code, by_header.json()) == (404, PUBLIC_NOT_FOUND)

    page = api.client.get(f"/xac-minh/{result}?d={digest}")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    for text in ("Xác minh kết quả", SIGNER, AGENCY_NAME, result, "3/2026/KQ",
                 "Tất cả chữ ký số trên văn bản đều hợp lệ."):
        assert text in page.text, text
    refused = api.client.get(f"/xac-minh/{draft_code}?d={_stored(api, draft_code).digest}")
    assert refused.status_code == 404
    assert PUBLIC_NOT_FOUND["error"]["message"] in refused.text
    assert SIGNER not in refused.text


def test_an_uploaded_pdf_is_verified_and_a_forgery_is_caught(api: Api) -> None:
    _, result = _sealed(api)
    sealed = api.services.blobs.get(_stored(api, result).blob_sha256)

    def upload(data: bytes) -> Any:
        return api.client.post("/api/v1/verify",
                               files={"file": ("ket-qua.pdf", data, "application/pdf")})

    good = _ok(upload(sealed))
    assert good["outcome"] == "all_passed"
    assert [(s["signer"], s["indication"], s["level"]) for s in good["signatures"]] == [
        (SIGNER, "TOTAL-PASSED", "B-LT"), (AGENCY_NAME, "TOTAL-PASSED", "B-LT")]

    text = upload(README.read_bytes())
    assert text.status_code == 422
    assert text.json() == {"error": {"code": "not_a_pdf", "field": "file",
                                     "message": "Tệp không phải là văn bản PDF đọc được."}}

    forged = _ok(upload(forged_result(sealed)))
    assert forged["outcome"] != "all_passed"
    personal = forged["signatures"][0]
    assert (personal["kind"], personal["signer"], personal["indication"], personal["intact"]
            ) == ("personal", SIGNER, "TOTAL-FAILED", False)
    assert forged["signatures"][1]["indication"] == "TOTAL-FAILED"  # the seal covers it too
