"""The clerk's pages, end to end through the login form and CSRF-checked forms: intake (with
its validation and idempotency key), the dossier list with overdue marking, the dossier page
(papers, real scans read by tesseract, progress, flagged pages, reuse, steps, hand-over), the
document page, the receipt slip, and the refusals. Plus ``Idempotency-Key`` on the API.

The embedded job runner is stopped: OCR runs only when a test calls ``finish_jobs``, so the
progress the pages show between upload and OCR is deterministic.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PIL import Image

from api.demo import BRANCH_WARD, DEMO_PASSWORD, PROCEDURES
from records.accounts import create_user
from records.documents import dossier_documents
from records.model import Role
from records.services import CreateDossier, create_dossier
from tests.fixtures.app import Api, count_rows, is_vietnamese, principal, running_api
from tests.fixtures.pages import PageSize, PageSpec, make_page, save_page
from tests.fixtures.web import PageClient, field_errors, flash_of, form_error, page_text

pytestmark = pytest.mark.e2e

T0 = datetime(2026, 11, 19, 3, 0, tzinfo=UTC)  # Thursday 10:00 in Hà Nội
LAND, BIRTH, HOUSEHOLD = (p.code for p in PROCEDURES)
OWNER_ID, OWNER = "022190001234", "Nguyễn Thị Hương"
DOCUMENT_TABLES = ("documents", "document_versions", "document_files", "jobs")
_KEY = re.compile(r'name="idempotency_key" value="([^"]+)"')
_CODE = re.compile(r"^/ho-so/([^/]+)$")


def _applicant(procedure: str = LAND, **extra: str) -> dict[str, str]:
    return {"procedure_code": procedure, "applicant_id": OWNER_ID, "applicant_name": OWNER,
            "phone": "0912345678", "email": "huong@example.vn",
            "address": "Số 18, đường Trần Hưng Đạo, phường Hạ Long", **extra}


def _key(clerk: PageClient) -> str:
    found = _KEY.search(clerk.get("/tiep-nhan").text)
    assert found is not None
    return found.group(1)


def _receive(clerk: PageClient, procedure: str = LAND, **extra: str) -> str:
    """Receive a dossier through the intake form; its code."""
    answer = clerk.submit("/tiep-nhan", {**_applicant(procedure, **extra),
                                         "idempotency_key": _key(clerk)})
    assert answer.status_code == 303, field_errors(answer.text) or form_error(answer.text)
    found = _CODE.match(answer.headers["location"])
    assert found is not None, answer.headers["location"]
    return found.group(1)


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG", dpi=(300, 300))
    return out.getvalue()


@dataclass
class Desk:
    api: Api
    clerk: PageClient
    scans: dict[str, bytes]

    def counts(self, *tables: str) -> dict[str, int]:
        return count_rows(self.api.services.engine, *tables)

    def ocr(self, code: str) -> None:
        """Run the pending OCR jobs of dossier ``code`` here, to the end."""
        papers = dossier_documents(self.api.services.documents,
                                   principal(self.api.services, "tiepnhan"), code)
        self.api.services.finish_jobs([p.job.id for p in papers if p.job], timeout=300)

    def blobs(self) -> list[str]:
        root = self.api.services.settings.data_dir / "blobs"
        return sorted(str(p) for p in root.rglob("*") if p.is_file())


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    folder = tmp_path_factory.mktemp("scans")
    scans = {
        # The land application names the citizen and her personal id: it stands for her CCCD.
        "cccd.png": save_page(make_page(PageSpec(size=PageSize.HALF, document=0)),
                              folder / "cccd.png").read_bytes(),
        "trang-trang.png": _png(Image.new("RGB", (1240, 877), (255, 255, 255))),
    }
    with running_api(tmp_path_factory.mktemp("clerk-pages"), T0) as api:
        api.services.runner.stop()
        api.services.indexer.stop()
        create_user(api.services.accounts, username="tiepnhan_phuong", password=DEMO_PASSWORD,
                    display_name="Vũ Thị Mai", roles=frozenset({Role.CLERK}),
                    branch_code=BRANCH_WARD, actor="test")
        yield Desk(api=api, clerk=PageClient.logged_in(api, "tiepnhan"), scans=scans)


# --- intake ----------------------------------------------------------------------------------


def test_the_intake_form_offers_the_procedures_and_a_fresh_key_each_time(desk: Desk) -> None:
    page = desk.clerk.get("/tiep-nhan")
    assert page.status_code == 200
    text = page_text(page.text)
    assert "Tiếp nhận hồ sơ tại quầy" in text
    assert "Trung tâm Phục vụ hành chính công tỉnh Quảng Ninh" in text
    for procedure in PROCEDURES:
        assert f'value="{procedure.code}"' in page.text
        assert procedure.name in text
    assert _key(desk.clerk) != _key(desk.clerk)


def test_missing_and_malformed_fields_are_named_next_to_each_field(desk: Desk) -> None:
    before = desk.counts("dossiers", "persons", "idempotency_keys")
    answer = desk.clerk.submit("/tiep-nhan", {"procedure_code": "", "applicant_id": "12345",
                                              "applicant_name": "  ", "idempotency_key": "k1"})
    assert answer.status_code == 422
    errors = field_errors(answer.text)
    assert set(errors) == {"procedure_code", "applicant_id", "applicant_name"}
    assert all(is_vietnamese(message) for message in errors.values()), errors
    assert "12 chữ số" in errors["applicant_id"]
    assert 'value="12345"' in answer.text  # what was typed is kept
    for extra, name in (({"phone": "gọi tôi"}, "phone"), ({"email": "huong@"}, "email")):
        refused = desk.clerk.submit("/tiep-nhan", {**_applicant(**extra),
                                                   "idempotency_key": "k2"})
        assert refused.status_code == 422
        assert list(field_errors(refused.text)) == [name]
        assert is_vietnamese(field_errors(refused.text)[name])
    unknown = desk.clerk.submit("/tiep-nhan", {**_applicant("9.999999.000.00.00.H40"),
                                               "idempotency_key": "k3"})
    assert unknown.status_code == 422
    assert "Không có thủ tục hành chính" in field_errors(unknown.text)["procedure_code"]
    assert desk.counts("dossiers", "persons", "idempotency_keys") == before


def test_a_dossier_received_at_the_desk_opens_with_a_flash(desk: Desk) -> None:
    code = _receive(desk.clerk)
    page = desk.clerk.get(f"/ho-so/{code}")
    assert page.status_code == 200
    flash = flash_of(page.text)
    assert flash is not None
    assert f"Đã tiếp nhận hồ sơ {code}." in flash
    assert "Hẹn trả kết quả: 17/12/2026" in flash  # 20 working days after 19/11/2026
    assert flash_of(desk.clerk.get(f"/ho-so/{code}").text) is None  # shown once
    text = page_text(page.text)
    for fact in (PROCEDURES[0].name, OWNER, OWNER_ID, "0912345678", "huong@example.vn",
                 "Đã tiếp nhận", "19/11/2026 10:00", "17/12/2026 17:00", "Chưa phân công",
                 "Tiếp nhận hồ sơ tại quầy"):
        assert fact in text, fact


def test_the_same_form_sent_twice_opens_one_dossier(desk: Desk) -> None:
    before = desk.counts("dossiers", "idempotency_keys")
    form = {**_applicant(HOUSEHOLD), "idempotency_key": _key(desk.clerk)}
    first = desk.clerk.submit("/tiep-nhan", form)
    second = desk.clerk.submit("/tiep-nhan", form)
    assert (first.status_code, second.status_code) == (303, 303)
    assert first.headers["location"] == second.headers["location"]
    after = desk.counts("dossiers", "idempotency_keys")
    assert after == {"dossiers": before["dossiers"] + 1,
                     "idempotency_keys": before["idempotency_keys"] + 1}
    flash = flash_of(desk.clerk.get(second.headers["location"]).text)
    assert flash is not None
    assert "gửi hai lần" in flash
    # The same key for another applicant is a mistake, not a repeat: refused, nothing opened.
    other = desk.clerk.submit("/tiep-nhan", {**form, "applicant_id": "038190004321"})
    assert other.status_code == 409
    assert "đã được dùng cho hồ sơ khác" in (form_error(other.text) or "")
    assert desk.counts("dossiers", "idempotency_keys") == after


def test_the_api_answers_a_repeated_idempotency_key_with_the_first_dossier(desk: Desk) -> None:
    """Chosen behaviour: 201 both times with the same dossier, the replay marked by the
    ``Idempotent-Replayed: true`` header; another body under the same key is a 409."""
    api = desk.api
    headers = {**api.login("tiepnhan"), "Idempotency-Key": "api-0c6f6f1e"}
    before = desk.counts("dossiers", "idempotency_keys")
    first, second = api.create(headers), api.create(headers)
    assert (first.status_code, second.status_code) == (201, 201)
    assert first.json()["code"] == second.json()["code"]
    assert "idempotent-replayed" not in first.headers
    assert second.headers["idempotent-replayed"] == "true"
    assert desk.counts("dossiers", "idempotency_keys") == {
        "dossiers": before["dossiers"] + 1, "idempotency_keys": before["idempotency_keys"] + 1}
    clash = api.create(headers, procedure_code=BIRTH)
    assert clash.status_code == 409
    assert clash.json()["error"]["code"] == "idempotency_key_reused"
    # Keys belong to their user: another clerk's identical key opens its own dossier.
    ward = {**api.login("tiepnhan_phuong"), "Idempotency-Key": "api-0c6f6f1e"}
    assert api.create(ward, procedure_code=BIRTH).status_code == 201
    assert api.create(headers | {"Idempotency-Key": "x" * 101}).status_code == 422
    without = api.create(api.login("tiepnhan"))
    assert without.status_code == 201
    assert without.json()["code"] != first.json()["code"]


# --- papers: upload, OCR progress, flagged pages, document page, reuse ------------------------


def test_scans_are_uploaded_read_and_their_flagged_page_confirmed(desk: Desk) -> None:
    clerk = desk.clerk
    code = _receive(clerk)
    page = clerk.get(f"/ho-so/{code}")
    assert page.text.count('action="/ho-so/' + code + '/tai-len"') == len(
        PROCEDURES[0].components)
    answer = clerk.submit(f"/ho-so/{code}/tai-len", {"component_code": "CCCD",
                                                      "copy_kind": "certified_copy"},
                          files=[("files", ("cccd.png", desk.scans["cccd.png"], "image/png")),
                                 ("files", ("trang-trang.png", desk.scans["trang-trang.png"],
                                            "image/png"))],
                          form_page=f"/ho-so/{code}")
    assert answer.status_code == 303, field_errors(answer.text) or form_error(answer.text)
    page = clerk.get(f"/ho-so/{code}")
    assert "Đã nhận 2 tệp cho «Căn cước công dân của người đề nghị»" in (flash_of(page.text)
                                                                       or "")
    assert f'data-poll="/ho-so/{code}/tien-do"' in page.text
    assert "Đang nhận dạng chữ (OCR)" in page_text(page.text)
    progress = clerk.get(f"/ho-so/{code}/tien-do")
    assert progress.status_code == 200
    assert 'data-done="0"' in progress.text

    desk.ocr(code)
    progress = clerk.get(f"/ho-so/{code}/tien-do")
    assert 'data-done="1"' in progress.text
    assert "2/2 trang" in page_text(progress.text)
    page = clerk.get(f"/ho-so/{code}")
    text = page_text(page.text)
    assert "data-poll" not in page.text
    assert "Cần kiểm tra" in text
    assert "Trang cần kiểm tra" in text
    doc_code = re.findall(r'href="/tai-lieu/([^"#]+)#trang-2"', page.text)[0]

    document = clerk.get(f"/tai-lieu/{doc_code}")
    assert document.status_code == 200
    text = page_text(document.text)
    for fact in (f"{doc_code}_V1", code, OWNER, "Bản sao chứng thực", "300 dpi", "Trang 1",
                 "Trang 2", "Trang trắng?", "Số định danh cá nhân: 022190001234"):
        assert fact in text, fact
    original = clerk.get(f"/tai-lieu/{doc_code}/goc/0")
    assert (original.status_code, original.content) == (200, desk.scans["cccd.png"])
    archival = clerk.get(f"/tai-lieu/{doc_code}/luu-tru")
    assert archival.status_code == 200
    assert archival.content.startswith(b"%PDF")

    flagged = re.findall(rf'action="/tai-lieu/{re.escape(doc_code)}/trang/(\d+)"',
                         document.text)
    assert "2" in flagged
    for number in flagged:
        confirmed = clerk.submit(f"/tai-lieu/{doc_code}/trang/{number}",
                                 {"action": "confirm"}, form_page=f"/tai-lieu/{doc_code}")
        assert confirmed.status_code == 303
    document = clerk.get(f"/tai-lieu/{doc_code}")
    assert f"Đã xác nhận trang {flagged[-1]}." == flash_of(document.text)
    assert "/trang/" not in document.text
    page = clerk.get(f"/ho-so/{code}")
    assert "Trang cần kiểm tra" not in page_text(page.text)
    assert "Đã số hóa" in page_text(page.text)

    slip = clerk.get(f"/ho-so/{code}/phieu-tiep-nhan")
    text = page_text(slip.text)
    assert "Căn cước công dân của người đề nghị Bản sao chứng thực 1 bộ, 2 trang" in text


def test_a_paper_the_state_holds_is_reused_instead_of_scanned(desk: Desk) -> None:
    clerk = desk.clerk
    land = _receive(clerk)
    assert clerk.submit(f"/ho-so/{land}/tai-len", {"component_code": "CCCD"},
                        files=[("files", ("cccd.png", desk.scans["cccd.png"], "image/png"))],
                        form_page=f"/ho-so/{land}").status_code == 303
    desk.ocr(land)
    household = _receive(clerk, HOUSEHOLD)
    page = clerk.get(f"/ho-so/{household}")
    offers = re.findall(r'name="component_code" value="(\w+)">\s*<input type="hidden" '
                        r'name="item_id" value="(\d+)">', page.text)
    assert offers, page_text(page.text)
    component, item = offers[0]
    assert component == "CCCD"
    assert "Kho dữ liệu có:" in page_text(page.text)
    blobs = desk.blobs()
    before = desk.counts("documents")["documents"]
    answer = clerk.submit(f"/ho-so/{household}/dung-lai",
                          {"component_code": component, "item_id": item},
                          form_page=f"/ho-so/{household}")
    assert answer.status_code == 303
    page = clerk.get(f"/ho-so/{household}")
    assert "Đã dùng lại «" in (flash_of(page.text) or "")
    row = page.text.split('id="tp-CCCD"', 1)[1].split("</tr>", 1)[0]
    assert "Dùng lại" in row
    assert f'name="item_id" value="{item}"' not in page.text  # offered no more
    assert desk.counts("documents")["documents"] == before + 1
    assert desk.blobs() == blobs  # by reference: no copy of the scan
    again = clerk.submit(f"/ho-so/{household}/dung-lai",
                         {"component_code": component, "item_id": item},
                         form_page=f"/ho-so/{household}")
    assert again.status_code == 409
    assert form_error(again.text) == "Giấy tờ này đã có trong hồ sơ."


def test_a_text_file_is_refused_next_to_the_file_field_and_nothing_is_stored(
        desk: Desk) -> None:
    code = _receive(desk.clerk)
    before, blobs = desk.counts(*DOCUMENT_TABLES), desk.blobs()
    answer = desk.clerk.submit(f"/ho-so/{code}/tai-len", {"component_code": "DON"},
                               files=[("files", ("ghi-chu.txt", b"khong phai anh quet",
                                                 "text/plain"))],
                               form_page=f"/ho-so/{code}")
    assert answer.status_code == 422
    errors = field_errors(answer.text)
    assert list(errors) == ["files"]
    assert errors["files"].startswith("«ghi-chu.txt»: ")
    assert is_vietnamese(errors["files"])
    # Shown in the DON paper's form, not in another paper's.
    don = answer.text.split('id="tp-DON"', 1)[1].split("</tr>", 1)[0]
    assert 'id="e-files"' in don
    empty = desk.clerk.submit(f"/ho-so/{code}/tai-len", {"component_code": "DON"},
                              form_page=f"/ho-so/{code}")
    assert empty.status_code == 422
    assert "Vui lòng chọn tệp" in field_errors(empty.text)["files"]
    assert (desk.counts(*DOCUMENT_TABLES), desk.blobs()) == (before, blobs)


# --- steps, receipt, hand-over ---------------------------------------------------------------


def test_the_step_panel_offers_this_users_steps_and_names_errors_by_field(desk: Desk) -> None:
    clerk = desk.clerk
    code = _receive(clerk)
    page = clerk.get(f"/ho-so/{code}")
    steps = set(re.findall(r'name="transition" value="(\w+)"', page.text))
    assert steps == {"complete_digitisation", "request_withdrawal"}
    withdrawal = clerk.submit(f"/ho-so/{code}/chuyen", {"transition": "request_withdrawal",
                                                        "comment": " "},
                              form_page=f"/ho-so/{code}")
    assert withdrawal.status_code == 422
    assert "Vui lòng nhập lý do" in field_errors(withdrawal.text)["comment"]
    done = clerk.submit(f"/ho-so/{code}/chuyen", {"transition": "complete_digitisation"},
                        form_page=f"/ho-so/{code}")
    assert done.status_code == 303
    page = clerk.get(f"/ho-so/{code}")
    assert flash_of(page.text) == "Đã thực hiện «Hoàn thành số hóa»: hồ sơ đã số hóa."
    missing = clerk.submit(f"/ho-so/{code}/chuyen", {"transition": "assign_handler"},
                           form_page=f"/ho-so/{code}")
    assert missing.status_code == 422
    assert field_errors(missing.text) == {"handler": "Vui lòng chọn chuyên viên xử lý."}
    wrong = clerk.submit(f"/ho-so/{code}/chuyen", {"transition": "assign_handler",
                                                   "handler": "lanhdao"},
                         form_page=f"/ho-so/{code}")
    assert wrong.status_code == 422
    assert "không phải chuyên viên xử lý" in field_errors(wrong.text)["handler"]
    assert clerk.submit(f"/ho-so/{code}/chuyen", {"transition": "assign_handler",
                                                  "handler": "chuyenvien"},
                        form_page=f"/ho-so/{code}").status_code == 303
    history = page_text(clerk.get(f"/ho-so/{code}").text).split("Quá trình xử lý", 1)[1]
    for step in ("Tiếp nhận hồ sơ tại quầy", "Hoàn thành số hóa", "Chuyển xử lý"):
        assert step in history
    # A step the workflow does not allow now is refused at the top of the page.
    late = clerk.submit(f"/ho-so/{code}/chuyen", {"transition": "complete_digitisation"},
                        form_page=f"/ho-so/{code}")
    assert late.status_code in (403, 409)
    # The handler sees the same page with the handler's steps (as plain buttons, or as the
    # handling pages' own forms), never the signing ones, and no upload form.
    handler = PageClient.logged_in(desk.api, "chuyenvien")
    page = handler.get(f"/ho-so/{code}")
    assert page.status_code == 200
    assert "Yêu cầu bổ sung hồ sơ" in page_text(page.text)
    steps = set(re.findall(r'name="transition" value="(\w+)"', page.text))
    assert not steps & {"sign", "seal", "complete_digitisation", "return_result"}
    assert 'action="/ho-so/' + code + '/tai-len"' not in page.text


def test_the_receipt_slip_prints_form_01(desk: Desk) -> None:
    code = _receive(desk.clerk)
    slip = desk.clerk.get(f"/ho-so/{code}/phieu-tiep-nhan")
    assert slip.status_code == 200
    text = page_text(slip.text)
    for fact in ("GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ", f"Mã hồ sơ: {code}", OWNER,
                 OWNER_ID, PROCEDURES[0].name, "Đơn đăng ký đất đai", "20 ngày làm việc",
                 "10 giờ 00 phút, ngày 19/11/2026", "17 giờ 00 phút, ngày 17/12/2026",
                 "Trần Thị Lan", "100.000 đồng", "NGƯỜI TIẾP NHẬN HỒ SƠ"):
        assert fact in text, fact
    assert "window.print()" in slip.text
    assert "@media print" in slip.text


def test_the_clerk_hands_over_a_sealed_result(desk: Desk) -> None:
    api = desk.api
    code = _receive(desk.clerk)
    for name, actor, extra in (("complete_digitisation", "tiepnhan", {}),
                               ("assign_handler", "tiepnhan", {"handler": "chuyenvien"})):
        assert api.move(api.login(actor), code, name, **extra).status_code == 200
    drafted = api.client.post(f"/api/v1/dossiers/{code}/result", headers=api.login(
        "chuyenvien"), json={"subject": "Cấp giấy chứng nhận quyền sử dụng đất",
                             "body": ["Cấp giấy chứng nhận."], "signer": "lanhdao"})
    assert drafted.status_code == 201, drafted.text
    result = drafted.json()["code"]
    assert api.move(api.login("chuyenvien"), code, "submit_for_approval",
                    signer="lanhdao").status_code == 200
    for actor, stage in (("lanhdao", "sign"), ("vanthu", "seal")):
        report = api.client.post(f"/api/v1/results/{stage}", headers=api.login(actor),
                                 json={"codes": [result], "pin": DEMO_PASSWORD})
        assert report.json()["signed"] == 1, report.text
    assert api.move(api.login("vanthu"), code, "publish_result").status_code == 200

    page = desk.clerk.get(f"/ho-so/{code}")
    text = page_text(page.text)
    assert "Có kết quả, chờ trả" in text
    assert "Trả kết quả" in text
    assert f'href="/ho-so/{code}/ket-qua"' in page.text
    pdf = desk.clerk.get(f"/ho-so/{code}/ket-qua")
    assert pdf.status_code == 200
    assert pdf.content.startswith(b"%PDF")
    assert f'filename="{result}.pdf"' in pdf.headers["content-disposition"]
    handed = desk.clerk.submit(f"/ho-so/{code}/chuyen", {"transition": "return_result"},
                               form_page=f"/ho-so/{code}")
    assert handed.status_code == 303
    page = desk.clerk.get(f"/ho-so/{code}")
    assert "Đã trả kết quả cho người nộp hồ sơ" in (flash_of(page.text) or "")
    assert "Đã trả kết quả" in page_text(page.text)
    assert 'value="return_result"' not in page.text


# --- refusals --------------------------------------------------------------------------------


@pytest.mark.parametrize("username", ["congdan", "chuyenvien", "quantri"])
def test_only_a_clerk_at_a_desk_opens_the_intake_form(desk: Desk, username: str) -> None:
    user = PageClient.logged_in(desk.api, username)
    before = desk.counts("dossiers")
    page = user.get("/tiep-nhan")
    assert page.status_code == 403
    assert "Chỉ cán bộ một cửa" in page_text(page.text)
    posted = user.submit("/tiep-nhan", {**_applicant(), "idempotency_key": "x"},
                         form_page="/")
    assert posted.status_code == 403
    assert desk.counts("dossiers") == before


def test_another_branchs_dossier_answers_exactly_like_a_missing_one(desk: Desk) -> None:
    ward = PageClient.logged_in(desk.api, "tiepnhan_phuong")
    theirs = _receive(ward, BIRTH)
    missing = theirs[:-4] + "9999"
    for suffix in ("", "/tien-do", "/phieu-tiep-nhan", "/ket-qua"):
        seen = desk.clerk.get(f"/ho-so/{theirs}{suffix}")
        absent = desk.clerk.get(f"/ho-so/{missing}{suffix}")
        assert (seen.status_code, absent.status_code) == (404, 404), suffix
        if suffix != "/ket-qua":
            assert page_text(seen.text) == page_text(absent.text), suffix
    posted = desk.clerk.submit(f"/ho-so/{theirs}/chuyen",
                               {"transition": "complete_digitisation"}, form_page="/")
    assert posted.status_code == 404
    upload = desk.clerk.submit(f"/ho-so/{theirs}/tai-len", {"component_code": "TOKHAI"},
                               files=[("files", ("a.png", desk.scans["trang-trang.png"],
                                                 "image/png"))], form_page="/")
    assert upload.status_code == 404


def test_a_citizen_is_sent_away_from_the_staff_dossier_page(desk: Desk) -> None:
    code = _receive(desk.clerk)
    citizen = PageClient.logged_in(desk.api, "congdan")
    assert citizen.get(f"/ho-so/{code}").status_code == 403
    assert citizen.get("/ho-so").status_code == 403


# --- the list --------------------------------------------------------------------------------


def test_the_list_marks_overdue_dossiers_filters_and_pages(tmp_path: Path) -> None:
    with running_api(tmp_path, T0) as api:
        api.services.runner.stop()
        clerk = PageClient.logged_in(api, "tiepnhan")
        birth, land = _receive(clerk, BIRTH), _receive(clerk, LAND)
        api.clock.advance(timedelta(days=4))  # Monday: the 1-day birth dossier is late
        clerk = PageClient.logged_in(api, "tiepnhan")  # the session of Thursday has expired
        page = clerk.get("/ho-so")
        assert page.status_code == 200
        rows = {code: row for row in page.text.split("<tr")[2:]
                for code in re.findall(r'href="/ho-so/([^"]+)"', row)}
        assert rows[birth].startswith(' class="late"')
        assert "Quá hạn" in page_text("<body>" + rows[birth])
        assert "late" not in rows[land]
        assert OWNER in page_text(page.text)
        assert "Đăng ký khai sinh" in page_text(page.text)

        late_only = clerk.get("/ho-so?qua_han=1")
        assert birth in late_only.text
        assert land not in late_only.text
        by_procedure = clerk.get(f"/ho-so?thu_tuc={LAND}")
        assert (land in by_procedure.text, birth in by_procedure.text) == (True, False)
        assert birth not in clerk.get("/ho-so?trang_thai=returned").text
        assert clerk.get("/ho-so?trang_thai=khong-co").status_code == 422

        who = principal(api.services, "tiepnhan")
        for _ in range(25):
            create_dossier(api.services.records, who, CreateDossier(
                procedure_code=LAND, applicant_id=OWNER_ID, applicant_name=OWNER))
        first = clerk.get("/ho-so")
        assert first.text.count('<td data-label="Mã hồ sơ">') == 25
        assert 'href="/ho-so?trang=2"' in first.text
        second = clerk.get("/ho-so?trang=2")
        assert second.text.count('<td data-label="Mã hồ sơ">') == 2
        assert "Trang sau" not in page_text(second.text)
        assert birth in second.text  # oldest last
