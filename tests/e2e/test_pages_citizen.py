"""The citizen's portal and the public verification page, through the pages as a browser
uses them: my dossiers in plain words, the timeline and what is asked of me, the sealed
e-result to download, my data store and who has looked at it, the satisfaction rating and
its refusals; and anyone checking a PDF or an e-result code without logging in.

[DOMAIN.md: "the citizen sees a plain-language Vietnamese status for each state"; "the
citizen can see that log, as Estonia's Data Tracker shows who looked at whose data".]
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from api.demo import DEMO_PASSWORD, PROCEDURES
from records.accounts import create_user
from records.model import (
    CopyKind,
    Document,
    DocumentVersion,
    Result,
    Role,
    StoredFile,
    VersionStatus,
)
from records.workflow import STATES
from signing.demo_pki import DEMO_PASSPHRASE
from tests.fixtures.app import Api, running_api
from tests.fixtures.web import PageClient, field_errors, flash_of, form_error, page_text

pytestmark = pytest.mark.e2e

T0 = datetime(2026, 11, 19, 3, 0, tzinfo=UTC)  # Thursday 10:00 in Hà Nội
LAND = PROCEDURES[0]
OWNER_ID = "022190001234"
OTHER_ID = "001190009999"
AGENCY = "Sở Nông nghiệp và Môi trường tỉnh Quảng Ninh"
SIGNER = "Nguyễn Văn Hùng"
SUPPLEMENT = "Đề nghị bổ sung trích đo địa chính thửa đất."
NOT_FOUND = "Không tìm thấy hồ sơ."
DRAFT = {"subject": "Về việc cấp Giấy chứng nhận quyền sử dụng đất cho bà Nguyễn Thị Hương",
         "body": ["Cấp Giấy chứng nhận quyền sử dụng đất thửa đất số 125, tờ bản đồ số 07."],
         "signer": "lanhdao"}


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    with running_api(tmp_path, T0) as running:
        create_user(running.services.accounts, username="congdankhac", password=DEMO_PASSWORD,
                    display_name="Lê Văn Nam", roles=frozenset({Role.CITIZEN}),
                    owner_id=OTHER_ID)
        yield running


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def _opened(api: Api, owner_id: str = OWNER_ID, name: str = "Nguyễn Thị Hương") -> str:
    """A land dossier received at the desk and handed to ``chuyenvien``."""
    clerk = api.login("tiepnhan")
    code = str(_ok(api.create(clerk, applicant_id=owner_id, applicant_name=name), 201)["code"])
    _ok(api.move(clerk, code, "complete_digitisation"))
    _ok(api.move(clerk, code, "assign_handler", handler="chuyenvien"))
    return code


def _ready(api: Api) -> tuple[str, str]:
    """A dossier whose result is signed, sealed and ready to hand over: (dossier, result)."""
    code = _opened(api)
    handler = api.login("chuyenvien")
    result = str(_ok(api.client.post(f"/api/v1/dossiers/{code}/result", headers=handler,
                                     json=DRAFT), 201)["code"])
    _ok(api.move(handler, code, "submit_for_approval", signer="lanhdao"))
    for who, stage in (("lanhdao", "sign"), ("vanthu", "seal")):
        done = _ok(api.client.post(f"/api/v1/results/{stage}", headers=api.login(who),
                                   json={"codes": [result], "pin": DEMO_PASSPHRASE}))
        assert done["signed"] == 1, done
    _ok(api.move(api.login("vanthu"), code, "publish_result"))
    return code, result


def _returned(api: Api) -> tuple[str, str]:
    code, result = _ready(api)
    _ok(api.move(api.login("tiepnhan"), code, "return_result"))
    return code, result


def _stored(api: Api, code: str) -> Result:
    with api.services.records.store.session(readonly=True) as tx:
        found = tx.get_result(code)
    assert found is not None
    return found


def _audit(api: Api, object_type: str, object_id: str) -> list[tuple[str, str]]:
    api.services.results.audit.flush()  # records of reads reach the chain a moment later
    with api.services.records.store.session(readonly=True) as tx:
        return [(e.actor, e.action) for e in tx.audit_for_object(object_type, object_id)]


# -- my dossiers ------------------------------------------------------------------------------


def test_my_dossiers_are_listed_in_plain_words_and_only_mine(api: Api) -> None:
    mine = _opened(api)
    asked = _opened(api)
    _ok(api.move(api.login("chuyenvien"), asked, "request_supplement", comment=SUPPLEMENT))
    theirs = _opened(api, OTHER_ID, "Lê Văn Nam")

    page = PageClient.logged_in(api, "congdan").get("/cong-dan")
    assert page.status_code == 200, page.text
    text = page_text(page.text)
    assert f"{mine} {LAND.name}" in text
    assert "Hồ sơ đang được giải quyết" in text
    assert "Cơ quan yêu cầu bổ sung giấy tờ (xem nội dung yêu cầu)" in text
    assert theirs not in text
    assert 'class="responsive"' in page.text  # the table stacks on a phone
    assert text.index(asked) < text.index(mine)  # newest first

    other = page_text(PageClient.logged_in(api, "congdankhac").get("/cong-dan").text)
    assert theirs in other
    assert mine not in other


def test_staff_and_strangers_do_not_get_the_portal(api: Api) -> None:
    refused = PageClient.logged_in(api, "tiepnhan").get("/cong-dan")
    assert refused.status_code == 403
    assert "Trang này dành cho công dân" in page_text(refused.text)
    anonymous = PageClient.anonymous(api).get("/cong-dan/kho-du-lieu")
    assert anonymous.status_code == 303
    assert anonymous.headers["location"] == "/dang-nhap?next=%2Fcong-dan%2Fkho-du-lieu"


def test_the_dossier_page_shows_the_timeline_and_what_is_asked(api: Api) -> None:
    code = _opened(api)
    _ok(api.move(api.login("chuyenvien"), code, "request_supplement", comment=SUPPLEMENT))
    citizen = PageClient.logged_in(api, "congdan")
    page = citizen.get(f"/cong-dan/ho-so/{code}")
    assert page.status_code == 200, page.text
    text = page_text(page.text)
    timeline = text.split("Quá trình giải quyết", 1)[1]
    labels = [STATES[s].citizen_label for s in ("received", "digitised", "in_review",
                                                 "supplement_requested")]
    positions = [timeline.index(label) for label in labels]
    assert positions == sorted(positions), timeline
    assert "19/11/2026 10:00" in timeline
    assert f"Cơ quan đề nghị bạn {SUPPLEMENT}" in text
    assert "Ngày hẹn trả kết quả 17/12/2026 17:00" in text  # 20 working days
    assert "Tải kết quả" not in text
    assert "Đánh giá sự hài lòng" not in text  # not settled yet
    assert "tiepnhan" not in text
    assert "chuyenvien" not in text

    # Someone else's dossier reads exactly like one that does not exist.
    other = PageClient.logged_in(api, "congdankhac")
    hidden, missing = other.get(f"/cong-dan/ho-so/{code}"), other.get("/cong-dan/ho-so/KHONG")
    assert hidden.status_code == missing.status_code == 404
    assert page_text(hidden.text) == page_text(missing.text)
    assert NOT_FOUND in page_text(hidden.text)
    assert other.get(f"/cong-dan/ho-so/{code}/ket-qua").status_code == 404


def test_the_sealed_result_is_downloaded_once_it_is_ready(api: Api) -> None:
    code = _opened(api)
    citizen = PageClient.logged_in(api, "congdan")
    assert citizen.get(f"/cong-dan/ho-so/{code}/ket-qua").status_code == 404

    code, result = _ready(api)
    page = page_text(citizen.get(f"/cong-dan/ho-so/{code}").text)
    assert "Đã có kết quả, mời nhận kết quả" in page
    assert "Tải kết quả (PDF)" in page
    got = citizen.get(f"/cong-dan/ho-so/{code}/ket-qua")
    assert got.status_code == 200, got.text
    assert got.headers["content-type"] == "application/pdf"
    assert got.headers["content-disposition"] == f'attachment; filename="{result}.pdf"'
    assert hashlib.sha256(got.content).hexdigest() == _stored(api, result).blob_sha256
    assert _audit(api, "result", result)[-1] == ("congdan", "result.download")
    other = PageClient.logged_in(api, "congdankhac")
    assert other.get(f"/cong-dan/ho-so/{code}/ket-qua").status_code == 404


# -- data store and access log ----------------------------------------------------------------


def _held_paper(api: Api, dossier_code: str, blob_sha256: str) -> str:
    """A digitised CCCD of the citizen, ready and in the data store (as OCR would leave it;
    here without running tesseract)."""
    from records.datastore import on_document_ready

    with api.services.records.store.session() as tx:
        dossier = tx.get_dossier(dossier_code)
        assert dossier is not None
        document = tx.add_document(Document(
            id=0, dossier_id=dossier.id, doc_code=f"{dossier.agency_code}_can_cuoc_cong_dan_"
            "000001", component_code="CCCD", document_type="can_cuoc_cong_dan",
            owner_id=OWNER_ID, created_at=T0, created_by="tiepnhan",
            title="Căn cước công dân của người đề nghị", copy_kind=CopyKind.CERTIFIED_COPY))
        tx.add_version(DocumentVersion(
            document_id=document.id, version=1, status=VersionStatus.PROCESSING,
            files=(StoredFile(position=0, sha256=blob_sha256, size=1,
                              media_type="application/pdf", filename="cccd.pdf"),),
            created_at=T0, created_by="tiepnhan"))
        tx.set_version_outcome(document.id, 1, status=VersionStatus.READY,
                               archival_sha256=blob_sha256, page_count=1)
        on_document_ready(tx, document.id, T0)
        tx.add_agency_scope("coquankhac", LAND.code)
        return document.doc_code


def test_my_data_store_and_who_has_looked_at_it(api: Api) -> None:
    code, result = _returned(api)
    paper = _held_paper(api, code, _stored(api, result).blob_sha256)
    citizen = PageClient.logged_in(api, "congdan")
    before = page_text(citizen.get("/cong-dan/kho-du-lieu").text)
    assert DRAFT["subject"] in before
    assert result in before
    assert "Kết quả giải quyết" in before
    assert "Còn hiệu lực" in before
    assert "Căn cước công dân của người đề nghị" in before
    assert "Chưa có cơ quan nào tra cứu dữ liệu của bạn." in before

    api.clock.set(T0 + timedelta(hours=2))  # within the session's lifetime
    body = {"procedure_code": LAND.code, "dossier_code": "000.00.00.H40-261120-0007",
            "purpose": "Xác định nghĩa vụ tài chính về đất đai", "officer": "Trần Văn Thuế",
            "legal_basis": "Điều 11 Nghị định 13/2023/NĐ-CP"}
    agency = api.login("coquankhac")
    found = _ok(api.client.post(f"/api/v1/agency/persons/{OWNER_ID}/documents",
                                headers=agency, json=body))
    assert [item["ref"] for item in found] == [paper]
    fetched = api.client.post(f"/api/v1/agency/persons/{OWNER_ID}/documents/{paper}/file",
                              headers=agency, json=body)
    assert fetched.status_code == 200, fetched.text

    page = citizen.get("/cong-dan/kho-du-lieu")
    assert page.status_code == 200, page.text
    log = page_text(page.text).split("Ai đã xem dữ liệu của tôi", 1)[-1]
    agency_name = "Cục Thuế tỉnh Quảng Ninh (hệ thống)"
    assert (f"19/11/2026 12:00 {agency_name} Cán bộ: Trần Văn Thuế Lấy bản điện tử Căn cước "
            f"công dân của người đề nghị Xác định nghĩa vụ tài chính về đất đai Thủ tục "
            f"{LAND.code}") in log
    assert f"{agency_name} Cán bộ: Trần Văn Thuế Tra cứu Căn cước công dân" in log
    assert log.index("Lấy bản điện tử") < log.index("Tra cứu")  # newest first

    other = page_text(PageClient.logged_in(api, "congdankhac").get("/cong-dan/kho-du-lieu")
                      .text)
    assert result not in other
    assert agency_name not in other


# -- satisfaction rating ----------------------------------------------------------------------


def test_a_settled_dossier_is_rated_once_by_its_applicant(api: Api) -> None:
    early = _opened(api)
    citizen = PageClient.logged_in(api, "congdan")
    too_early = citizen.submit(f"/cong-dan/ho-so/{early}/danh-gia", {"score": "5"},
                               form_page=f"/cong-dan/ho-so/{early}")
    assert too_early.status_code == 409
    assert form_error(too_early.text) == ("Hồ sơ chưa giải quyết xong: chỉ đánh giá được sau "
                                          "khi có kết quả.")

    code, _ = _returned(api)
    url, page_url = f"/cong-dan/ho-so/{code}/danh-gia", f"/cong-dan/ho-so/{code}"
    assert "Gửi đánh giá" in citizen.get(page_url).text
    wrong = citizen.submit(url, {"score": "9", "comment": "x"}, form_page=page_url)
    assert wrong.status_code == 422
    assert field_errors(wrong.text) == {"score": "Vui lòng chọn mức độ hài lòng từ 1 đến 5."}
    assert 'value="9"' not in wrong.text
    assert ">x</textarea>" in wrong.text

    other = PageClient.logged_in(api, "congdankhac")
    hidden = other.submit(url, {"score": "1"}, form_page="/cong-dan")
    assert hidden.status_code == 404
    assert NOT_FOUND in page_text(hidden.text)
    staff = PageClient.logged_in(api, "tiepnhan")
    assert staff.submit(url, {"score": "1"}, form_page="/").status_code == 403

    done = citizen.submit(url, {"score": "4", "comment": "  Cán bộ hướng dẫn tận tình.  "},
                          form_page=page_url)
    assert done.status_code == 303, done.text
    assert done.headers["location"] == page_url
    shown = citizen.get(page_url)
    assert flash_of(shown.text) == ("Cảm ơn bạn đã đánh giá sự hài lòng về việc giải quyết "
                                    "hồ sơ.")
    text = page_text(shown.text)
    assert "Bạn đã đánh giá: 4/5 — Hài lòng «Cán bộ hướng dẫn tận tình.»" in text
    assert "Gửi đánh giá" not in text

    again = citizen.submit(url, {"score": "1"}, form_page=page_url)
    assert again.status_code == 409
    assert form_error(again.text) == ("Bạn đã đánh giá hồ sơ này rồi; mỗi hồ sơ chỉ được "
                                      "đánh giá một lần.")
    with api.services.records.store.session(readonly=True) as tx:
        dossier = tx.get_dossier(code)
        assert dossier is not None
        rating = tx.get_rating(dossier.id)
    assert rating is not None
    assert (rating.score, rating.comment, rating.owner_id) == (
        4, "Cán bộ hướng dẫn tận tình.", OWNER_ID)
    assert _audit(api, "dossier", code)[-1] == ("congdan", "dossier.rate")


def test_a_rating_form_without_its_csrf_token_is_refused(api: Api) -> None:
    code, _ = _returned(api)
    citizen = PageClient.logged_in(api, "congdan")
    refused = citizen.client.post(f"/cong-dan/ho-so/{code}/danh-gia", data={"score": "5"})
    assert refused.status_code == 403
    with api.services.records.store.session(readonly=True) as tx:
        dossier = tx.get_dossier(code)
        assert dossier is not None
        assert tx.get_rating(dossier.id) is None


# -- public verification ----------------------------------------------------------------------


def test_anyone_verifies_an_uploaded_result(api: Api) -> None:
    _, result = _ready(api)
    sealed = api.services.blobs.get(_stored(api, result).blob_sha256)
    visitor = PageClient.anonymous(api)
    form = visitor.get("/xac-minh")
    assert form.status_code == 200
    assert 'enctype="multipart/form-data"' in form.text

    good = visitor.submit("/xac-minh", files={"file": ("ket-qua.pdf", sealed,
                                                       "application/pdf")})
    assert good.status_code == 200, good.text
    text = page_text(good.text)
    assert "Tất cả chữ ký số trên văn bản đều hợp lệ." in text
    personal = text.split("Chữ ký số của người có thẩm quyền", 1)[1]
    seal = personal.split("Chữ ký số của tổ chức (con dấu)", 1)[1]
    assert f"Người ký {SIGNER} Cơ quan, tổ chức {AGENCY}" in personal
    assert f"Người ký {AGENCY}" in seal
    assert "Toàn vẹn nội dung Nguyên vẹn" in seal
    assert "Mức PAdES B-LT" in seal
    assert "Thời điểm ký 2026-11-19T10:00:00+07:00" in personal

    bad = visitor.submit("/xac-minh", files={"file": ("ghi-chu.pdf", b"hello",
                                                      "application/pdf")})
    assert bad.status_code == 422
    assert field_errors(bad.text) == {"file": "Tệp không phải là văn bản PDF đọc được."}
    empty = visitor.submit("/xac-minh", {})
    assert field_errors(empty.text) == {"file": "Vui lòng chọn tệp PDF cần kiểm tra."}
    forged = visitor.client.post("/xac-minh", files={"file": ("a.pdf", sealed)})
    assert forged.status_code == 403  # no CSRF token


def test_a_result_code_and_digest_open_the_qr_page(api: Api) -> None:
    _, result = _ready(api)
    digest = _stored(api, result).digest
    visitor = PageClient.anonymous(api)
    found = visitor.get(f"/xac-minh?ma={result}&d={digest}")
    assert found.status_code == 303
    assert found.headers["location"] == f"/xac-minh/{result}?d={digest}"
    assert SIGNER in visitor.get(found.headers["location"]).text
    half = visitor.get(f"/xac-minh?ma={result}")
    assert half.status_code == 422
    assert field_errors(half.text) == {"d": "Vui lòng nhập mã kiểm tra in cạnh mã QR."}
    assert json.dumps(result)[1:-1] in half.text  # the code typed is kept
