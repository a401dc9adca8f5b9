"""The handler's, signer's and seal custodian's pages, driven like a browser (no mocks):
the work list, the supplement, fee, extension and refusal forms with their messages, the
printed forms 02 and 04, draft and submission, batch signing and sealing with real PAdES
signatures of the demo PKI, progress, and every refusal.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from api.demo import AGENCY_LAND, AGENCY_WARD, DEMO_PASSWORD, PROCEDURES
from api.pages.handling_steps import handling_actions
from api.pages.web import templates
from records.accounts import create_user
from records.calendar import VN_TZ
from records.errors import NotFound
from records.model import Result, ResultStatus, Role
from records.result_reads import queue_entries
from records.results import letterhead, signer_choices
from records.services import DossierView, get_dossier
from signing.demo_pki import DEMO_PASSPHRASE
from tests.fixtures.app import Api, principal, running_api
from tests.fixtures.web import PageClient, field_errors, flash_of, form_error, page_text

pytestmark = pytest.mark.e2e

T0 = datetime(2026, 11, 19, 3, 0, tzinfo=UTC)  # Thursday 10:00 in Hà Nội
LAND = PROCEDURES[0]
AGENCY_NAME = "Sở Nông nghiệp và Môi trường tỉnh Quảng Ninh"
DRAFT = {"subject": "Về việc cấp Giấy chứng nhận quyền sử dụng đất cho bà Nguyễn Thị Hương",
         "body": ["Cấp Giấy chứng nhận quyền sử dụng đất thửa đất số 125, tờ bản đồ số 07."],
         "signer": "lanhdao"}
FORBIDDEN = "Bạn không có quyền thực hiện thao tác này."
WRONG_PIN = "Mật khẩu tệp chứng thư số không đúng hoặc tệp bị hỏng."


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    with running_api(tmp_path, T0) as running:
        yield running


# -- set-up through the JSON API, as in test_results_api ---------------------------------------
def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def _digitised(api: Api) -> str:
    clerk = api.login("tiepnhan")
    code = str(_ok(api.create(clerk), 201)["code"])
    _ok(api.move(clerk, code, "complete_digitisation"))
    return code


def _in_review(api: Api) -> str:
    code = _digitised(api)
    _ok(api.move(api.login("tiepnhan"), code, "assign_handler", handler="chuyenvien"))
    return code


def _submitted(api: Api) -> tuple[str, str]:
    dossier = _in_review(api)
    handler = api.login("chuyenvien")
    result = _ok(api.client.post(f"/api/v1/dossiers/{dossier}/result", headers=handler,
                                 json=DRAFT), 201)["code"]
    _ok(api.move(handler, dossier, "submit_for_approval", signer="lanhdao"))
    return dossier, str(result)


def _signed(api: Api) -> tuple[str, str]:
    dossier, result = _submitted(api)
    report = _ok(api.client.post("/api/v1/results/sign", headers=api.login("lanhdao"),
                                 json={"codes": [result], "pin": DEMO_PASSPHRASE}))
    assert report["signed"] == 1, report
    return dossier, result


def _view(api: Api, code: str) -> DossierView:
    return get_dossier(api.services.records, principal(api.services, "quantri"), code)


def _stored(api: Api, code: str) -> Result:
    with api.services.records.store.session(readonly=True) as tx:
        found = tx.get_result(code)
    assert found is not None, code
    return found


def _add_user(api: Api, username: str, role: Role, **fields: str) -> None:
    create_user(api.services.accounts, username=username, password=DEMO_PASSWORD,
                display_name=fields.pop("display_name", username), roles=frozenset({role}),
                **fields)


def _refused(answer: Any, status: int, message: str) -> None:
    assert answer.status_code == status, answer.text
    assert message in page_text(answer.text), page_text(answer.text)


def _wait_for_batch(page: PageClient, location: str, timeout: float = 90.0) -> str:
    """Poll the progress fragment as motcua.js does, until it says it is done."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        fragment = page.get(f"{location}/tien-do")
        assert fragment.status_code == 200, fragment.text
        if 'data-done="1"' in fragment.text:
            return fragment.text
        assert re.search(r"đã xử lý [0-2]/2 kết quả", page_text(fragment.text)), fragment.text
        time.sleep(0.2)
    raise AssertionError(f"batch {location} did not finish in {timeout} s")


# -- the work list -----------------------------------------------------------------------------
def test_the_work_list_shows_my_dossiers_and_those_awaiting_a_handler(api: Api) -> None:
    mine, waiting = _in_review(api), _digitised(api)
    handler = PageClient.logged_in(api, "chuyenvien")
    page = handler.get("/xu-ly")
    assert page.status_code == 200
    text = page_text(page.text)
    assert "Hồ sơ tôi đang xử lý (1)" in text
    assert "Hồ sơ chờ phân công xử lý (1)" in text
    assert f'href="/ho-so/{mine}"' in page.text
    assert f'href="/ho-so/{waiting}"' in page.text
    assert LAND.name in text
    assert "Nguyễn Thị Hương" in text
    assert "Quá hạn" not in text

    api.clock.set(T0 + timedelta(days=40))
    handler = PageClient.logged_in(api, "chuyenvien")  # the morning's session has expired
    late = handler.get("/xu-ly?qua-han=1")
    assert "Quá hạn" in page_text(late.text)
    assert f'href="/ho-so/{mine}"' in late.text
    assert '<tr class="late">' in late.text

    taken = handler.submit(f"/ho-so/{waiting}/nhan-xu-ly", form_page="/xu-ly")
    assert (taken.status_code, taken.headers["location"]) == (303, f"/ho-so/{waiting}")
    assert (_view(api, waiting).dossier.status.value, _view(api, waiting).dossier.handler) == (
        "in_review", "chuyenvien")

    for who in ("tiepnhan", "lanhdao"):
        _refused(PageClient.logged_in(api, who).get("/xu-ly"), 403,
                 "Trang này dành cho chuyên viên xử lý hồ sơ.")


# -- the supplement request and form 02 --------------------------------------------------------
def test_a_supplement_request_checks_its_fields_and_prints_form_02(api: Api) -> None:
    code = _in_review(api)
    handler = PageClient.logged_in(api, "chuyenvien")
    url = f"/ho-so/{code}/yeu-cau-bo-sung"
    form = handler.get(url)
    assert form.status_code == 200
    for component in LAND.components:
        assert component.name in page_text(form.text)

    empty = handler.submit(url, {"comment": "  "})
    assert empty.status_code == 422
    assert field_errors(empty.text) == {
        "papers": "Vui lòng chọn hoặc ghi ít nhất một giấy tờ cần bổ sung.",
        "comment": "Vui lòng nhập lý do yêu cầu bổ sung, hoàn thiện hồ sơ."}
    assert _view(api, code).dossier.status.value == "in_review"

    reason = "Đơn đăng ký chưa ghi diện tích thửa đất; bản sao căn cước bị mờ."
    sent = handler.submit(url, {"papers": ["DON", "CCCD"], "other": "Sơ đồ thửa đất\n",
                                "comment": reason})
    assert (sent.status_code, sent.headers["location"]) == (303, f"/ho-so/{code}/mau-02")
    view = _view(api, code)
    assert view.dossier.status.value == "supplement_requested"
    assert view.history[-1].comment.startswith(reason)

    printed = handler.get(f"/ho-so/{code}/mau-02")
    assert printed.status_code == 200
    assert "mẫu 02" in (flash_of(printed.text) or "")
    text = page_text(printed.text)
    for expected in ("PHIẾU YÊU CẦU BỔ SUNG, HOÀN THIỆN HỒ SƠ",
                     "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc",
                     "UBND TỈNH QUẢNG NINH", AGENCY_NAME,
                     "Quảng Ninh, ngày 19 tháng 11 năm 2026", f"Mã hồ sơ: {code}",
                     "Hồ sơ của: Nguyễn Thị Hương", f"Nội dung yêu cầu giải quyết: {LAND.name}",
                     f"1. {LAND.components[0].name}", f"2. {LAND.components[2].name}",
                     "3. Sơ đồ thửa đất", f"Lý do: {reason}", "NGƯỜI HƯỚNG DẪN",
                     "Phạm Văn Minh"):
        assert expected in _numbered(printed.text, text), expected
    # The request is made once: the dossier is no longer in review.
    _refused(handler.get(url), 409, "Không thể thực hiện «Yêu cầu bổ sung hồ sơ» khi hồ sơ đang"
                                    " ở trạng thái «Yêu cầu bổ sung»")


def _numbered(html: str, text: str) -> str:
    """The page text with the list items numbered as a printed <ol> shows them."""
    items = re.findall(r"<li>(.*?)</li>", html)
    return text + " " + " ".join(f"{n}. {item}" for n, item in enumerate(items, 1))


def test_a_supplement_is_refused_after_three_working_days(api: Api) -> None:
    code = _in_review(api)
    api.clock.set(T0 + timedelta(days=6))  # Wednesday: four working days later
    handler = PageClient.logged_in(api, "chuyenvien")
    late = handler.submit(f"/ho-so/{code}/yeu-cau-bo-sung",
                          {"papers": ["DON"], "comment": "Thiếu đơn."})
    assert late.status_code == 409
    assert form_error(late.text) == ("Đã quá 3 ngày làm việc kể từ khi tiếp nhận: không còn "
                                     "được yêu cầu bổ sung hồ sơ.")
    assert 'value="DON" checked' in late.text
    assert "Thiếu đơn." in late.text
    assert _view(api, code).dossier.status.value == "in_review"
    missing = handler.get(f"/ho-so/{code}/mau-02")
    _refused(missing, 404, "Hồ sơ chưa có yêu cầu bổ sung, hoàn thiện.")


# -- fee ---------------------------------------------------------------------------------------
def test_a_fee_request_needs_an_amount_and_a_reason(api: Api) -> None:
    code = _in_review(api)
    handler = PageClient.logged_in(api, "chuyenvien")
    url = f"/ho-so/{code}/yeu-cau-phi"
    assert 'value="100000"' in handler.get(url).text  # the procedure's fee, proposed
    bad = handler.submit(url, {"amount": "một trăm", "comment": ""})
    assert bad.status_code == 422
    assert field_errors(bad.text) == {
        "amount": "Vui lòng nhập số tiền phí, lệ phí phải nộp (đồng), lớn hơn 0.",
        "comment": "Vui lòng nhập nội dung, căn cứ thu phí, lệ phí."}
    sent = handler.submit(url, {"amount": "150.000", "comment": "Lệ phí cấp giấy chứng nhận."})
    assert (sent.status_code, sent.headers["location"]) == (303, f"/ho-so/{code}")
    view = _view(api, code)
    assert view.dossier.status.value == "fee_requested"
    assert view.history[-1].comment == ("Số tiền phải nộp: 150.000 đồng. Lệ phí cấp giấy "
                                        "chứng nhận.")


# -- the one extension and form 04 -------------------------------------------------------------
def _due_words(moment: datetime) -> str:
    local = moment.astimezone(VN_TZ)
    return f"17 giờ 00 ngày {local:%d/%m/%Y}"


def test_a_dossier_is_extended_once_with_an_apology_letter(api: Api) -> None:
    code = _in_review(api)
    old_due = _view(api, code).dossier.due_at
    assert old_due is not None
    handler = PageClient.logged_in(api, "chuyenvien")
    url = f"/ho-so/{code}/gia-han"
    assert handler.get(url).status_code == 200

    empty = handler.submit(url, {"new_due_at": "", "comment": ""})
    assert empty.status_code == 422
    assert field_errors(empty.text) == {"new_due_at": "Vui lòng chọn ngày hẹn trả kết quả mới.",
                                        "comment": "Vui lòng nhập lý do chậm trễ, gia hạn."}
    earlier = old_due.astimezone(VN_TZ).date() - timedelta(days=1)
    before = handler.submit(url, {"new_due_at": earlier.isoformat(), "comment": "Cần xác minh."})
    assert before.status_code == 422
    assert field_errors(before.text) == {
        "new_due_at": "Ngày hẹn trả mới phải sau ngày hẹn trả hiện tại."}

    new_day = old_due.astimezone(VN_TZ).date() + timedelta(days=7)
    reason = "Cần xác minh thực địa ranh giới thửa đất với hộ liền kề."
    sent = handler.submit(url, {"new_due_at": new_day.strftime("%d/%m/%Y"), "comment": reason})
    assert (sent.status_code, sent.headers["location"]) == (303, f"/ho-so/{code}/mau-04")
    view = _view(api, code)
    assert view.dossier.extended_at == T0
    assert view.dossier.due_at == datetime(new_day.year, new_day.month, new_day.day, 17,
                                           tzinfo=VN_TZ)

    printed = handler.get(f"/ho-so/{code}/mau-04")
    text = page_text(printed.text)
    for expected in ("PHIẾU XIN LỖI VÀ HẸN LẠI NGÀY TRẢ KẾT QUẢ", "Kính gửi: Nguyễn Thị Hương",
                     f"Mã hồ sơ: {code}", f"Ngày 19/11/2026, {AGENCY_NAME} tiếp nhận",
                     f"Thời gian hẹn trả kết quả giải quyết hồ sơ: {_due_words(old_due)}.",
                     f"Lý do: {reason}", "xin lỗi Ông/Bà/tổ chức",
                     f"vào 17 giờ 00 ngày {new_day:%d/%m/%Y}.", "THỦ TRƯỞNG CƠ QUAN"):
        assert expected in text, expected

    again = handler.submit(url, {"new_due_at": (new_day + timedelta(days=3)).isoformat(),
                                 "comment": "Chưa xong."})
    assert again.status_code == 409
    assert field_errors(again.text) == {
        "new_due_at": "Hồ sơ đã được gia hạn một lần, không thể gia hạn thêm."}
    assert _view(api, code).dossier.due_at == view.dossier.due_at


# -- refusals of the handler's forms -----------------------------------------------------------
def test_only_the_assigned_handler_opens_the_dossiers_forms(api: Api) -> None:
    _add_user(api, "chuyenvien2", Role.HANDLER, agency_code=AGENCY_LAND)
    _add_user(api, "chuyenvienphuong", Role.HANDLER, agency_code=AGENCY_WARD)
    code = _in_review(api)
    other = PageClient.logged_in(api, "chuyenvien2")
    for path in ("yeu-cau-bo-sung", "yeu-cau-phi", "gia-han", "du-thao", "tu-choi"):
        _refused(other.get(f"/ho-so/{code}/{path}"), 403, FORBIDDEN)
    _refused(other.submit(f"/ho-so/{code}/yeu-cau-phi", {"amount": "1000", "comment": "Phí."},
                          form_page="/xu-ly"), 403, FORBIDDEN)
    _refused(other.submit(f"/ho-so/{code}/nhan-xu-ly", form_page="/xu-ly"), 409,
             "Không thể thực hiện «Chuyển xử lý» khi hồ sơ đang ở trạng thái «Đang xử lý».")
    stranger = PageClient.logged_in(api, "chuyenvienphuong")
    for path in ("yeu-cau-bo-sung", "gia-han", "du-thao", "mau-02"):
        _refused(stranger.get(f"/ho-so/{code}/{path}"), 404, "Không tìm thấy hồ sơ.")
    clerk = PageClient.logged_in(api, "tiepnhan")
    _refused(clerk.get(f"/ho-so/{code}/du-thao"), 403, FORBIDDEN)
    view = _view(api, code)
    assert (view.dossier.status.value, view.dossier.handler, len(view.history)) == (
        "in_review", "chuyenvien", 3)


def test_refusing_to_decide_needs_a_reason(api: Api) -> None:
    code = _in_review(api)
    handler = PageClient.logged_in(api, "chuyenvien")
    url = f"/ho-so/{code}/tu-choi"
    empty = handler.submit(url, {"comment": ""})
    assert field_errors(empty.text) == {"comment": "Vui lòng nhập lý do từ chối giải quyết."}
    done = handler.submit(url, {"comment": "Thửa đất đang có tranh chấp."})
    assert (done.status_code, done.headers["location"]) == (303, "/xu-ly")
    assert _view(api, code).dossier.status.value == "refused"


# -- the draft and its submission --------------------------------------------------------------
def test_the_handler_drafts_previews_and_submits_the_result(api: Api) -> None:
    code = _in_review(api)
    handler = PageClient.logged_in(api, "chuyenvien")
    url = f"/ho-so/{code}/du-thao"
    form = handler.get(url)
    assert form.status_code == 200
    assert '<option value="lanhdao" selected>Nguyễn Văn Hùng (Phó Giám đốc Sở)</option>' \
        in form.text

    empty = handler.submit(url, {"subject": "", "body": "\n", "signer": ""})
    assert empty.status_code == 422
    assert field_errors(empty.text) == {
        "subject": "Vui lòng nhập trích yếu của kết quả.",
        "body": "Vui lòng nhập nội dung kết quả (mỗi đoạn một dòng).",
        "signer": "Vui lòng chọn lãnh đạo ký kết quả."}
    wrong = handler.submit(url, {"subject": DRAFT["subject"], "body": "Cấp giấy.",
                                 "signer": "chuyenvien"})
    assert wrong.status_code == 422
    assert field_errors(wrong.text) == {"signer": "Vui lòng chọn lãnh đạo có thẩm quyền ký của "
                                                  "cơ quan giải quyết hồ sơ."}

    body = "Cấp Giấy chứng nhận thửa đất số 125, tờ bản đồ số 07.\nGiao bộ phận một cửa trả."
    saved = handler.submit(url, {"subject": DRAFT["subject"], "body": body, "signer": "lanhdao",
                                 "then": "save"})
    assert (saved.status_code, saved.headers["location"]) == (303, url)
    page = handler.get(url)
    text = page_text(page.text)
    assert "Đã lưu dự thảo kết quả số 1/2026/KQ" in (flash_of(page.text) or "")
    for expected in ("1/2026/KQ", f"KQ-{AGENCY_LAND}-2026-000001", "Dự thảo, chờ ký",
                     "Xem bản PDF dự thảo", "Trình ký"):
        assert expected in text, expected
    pdf = handler.get(f"/ho-so/{code}/ket-qua.pdf")
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.headers["content-disposition"].startswith("inline")
    assert pdf.content.startswith(b"%PDF")
    preview = handler.get(f"/ho-so/{code}/xem-ket-qua")
    assert f'<iframe src="/ho-so/{code}/ket-qua.pdf"' in preview.text
    assert 'name="pin"' not in preview.text  # the handler signs nothing

    assert field_errors(handler.submit(f"/ho-so/{code}/trinh-ky", {"signer": ""},
                                       form_page=url).text) == {
        "signer": "Vui lòng chọn lãnh đạo ký kết quả."}
    sent = handler.submit(f"/ho-so/{code}/trinh-ky", {"signer": "lanhdao"}, form_page=url)
    assert (sent.status_code, sent.headers["location"]) == (303, f"/ho-so/{code}")
    view = _view(api, code)
    assert (view.dossier.status.value, view.dossier.signer) == ("pending_approval", "lanhdao")


def test_save_and_submit_in_one_step(api: Api) -> None:
    code = _in_review(api)
    handler = PageClient.logged_in(api, "chuyenvien")
    sent = handler.submit(f"/ho-so/{code}/du-thao", {
        "subject": DRAFT["subject"], "body": DRAFT["body"][0], "signer": "lanhdao",
        "then": "submit"})
    assert (sent.status_code, sent.headers["location"]) == (303, f"/ho-so/{code}")
    assert _view(api, code).dossier.status.value == "pending_approval"


# -- the signer --------------------------------------------------------------------------------
def test_the_signer_signs_a_batch_and_sees_its_progress(api: Api) -> None:
    (d1, r1), (d2, r2) = _submitted(api), _submitted(api)
    signer = PageClient.logged_in(api, "lanhdao")
    queue = signer.get("/ky-so")
    assert queue.status_code == 200
    text = page_text(queue.text)
    for expected in (r1, r2, d1, d2, "1/2026/KQ", "2/2026/KQ", DRAFT["subject"]):
        assert expected in text, expected
    assert 'data-select-all="codes"' in queue.text
    assert f'href="/ho-so/{d1}/xem-ket-qua"' in queue.text

    preview = signer.get(f"/ho-so/{d1}/xem-ket-qua")
    assert f'<iframe src="/ho-so/{d1}/ket-qua.pdf"' in preview.text
    assert 'name="pin"' in preview.text
    assert f'href="/ho-so/{d1}/tra-lai"' in preview.text

    none = signer.submit("/ky-so", {"pin": ""})
    assert none.status_code == 422
    assert field_errors(none.text) == {
        "codes": "Vui lòng chọn ít nhất một kết quả để ký số.",
        "pin": "Vui lòng nhập mã PIN (mật khẩu) của chứng thư số."}

    wrong = signer.submit("/ky-so", {"codes": [r1, r2], "pin": "sai-ma-pin"})
    assert wrong.status_code == 422
    assert field_errors(wrong.text) == {"pin": WRONG_PIN}
    assert f'value="{r1}" aria-label="Chọn {r1}" checked' in wrong.text  # the choice is kept
    assert [_stored(api, r).status for r in (r1, r2)] == [ResultStatus.DRAFT] * 2

    started = signer.submit("/ky-so", {"codes": [r1, r2], "pin": DEMO_PASSPHRASE})
    assert started.status_code == 303
    location = started.headers["location"]
    assert re.fullmatch(r"/ky-so/lo/[\w-]+", location), location
    page = signer.get(location)
    assert page.status_code == 200
    fragment = _wait_for_batch(signer, location)
    text = page_text(fragment)
    assert "Đã xong: 2/2 kết quả đã được ký số." in text
    assert text.count("Đã ký số") == 2
    assert f'href="/ho-so/{d2}"' in fragment
    for result, dossier in ((r1, d1), (r2, d2)):
        stored = _stored(api, result)
        assert (stored.status, stored.signed_by) == (ResultStatus.SIGNED, "lanhdao")
        assert _view(api, dossier).dossier.status.value == "signed"
    assert 'data-poll' not in signer.get(location).text  # done: the page stops polling
    assert "Không có kết quả nào đang chờ ký số." in page_text(signer.get("/ky-so").text)

    # Another user cannot watch this batch.
    _refused(PageClient.logged_in(api, "vanthu").get(location), 404, "Không tìm thấy lượt")


def test_a_batch_reports_each_refusal_in_vietnamese(api: Api) -> None:
    (_, r1), (d2, r2) = _submitted(api), _submitted(api)
    signer = PageClient.logged_in(api, "lanhdao")
    _ok(api.client.post("/api/v1/results/sign", headers=api.login("lanhdao"),
                        json={"codes": [r1], "pin": DEMO_PASSPHRASE}))
    # r1 was signed meanwhile (another window): it is refused, r2 is signed.
    started = signer.submit("/ky-so", {"codes": [r1, r2], "pin": DEMO_PASSPHRASE},
                            form_page="/")
    assert started.status_code == 303
    text = page_text(_wait_for_batch(signer, started.headers["location"]))
    assert "Đã xong: 1/2 kết quả đã được ký số, 1 kết quả không thực hiện được." in text
    assert "Kết quả không ở trạng thái chờ ký (có thể đã được ký)." in text
    assert _view(api, d2).dossier.status.value == "signed"


def test_the_signer_returns_a_draft_for_revision(api: Api) -> None:
    dossier, result = _submitted(api)
    signer = PageClient.logged_in(api, "lanhdao")
    url = f"/ho-so/{dossier}/tra-lai"
    assert field_errors(signer.submit(url, {"comment": ""}).text) == {
        "comment": "Vui lòng nhập nội dung cần hoàn thiện."}
    sent = signer.submit(url, {"comment": "Ghi rõ diện tích thửa đất trong nội dung."})
    assert (sent.status_code, sent.headers["location"]) == (303, "/ky-so")
    assert _view(api, dossier).dossier.status.value == "in_review"
    assert _stored(api, result).status is ResultStatus.DRAFT
    assert result not in signer.get("/ky-so").text
    # The handler may edit the draft again and submit it anew.
    assert PageClient.logged_in(api, "chuyenvien").get(f"/ho-so/{dossier}/du-thao"
                                                       ).status_code == 200


# -- the seal custodian ------------------------------------------------------------------------
def test_the_custodian_seals_a_batch_and_sends_it_to_the_desk(api: Api) -> None:
    (d1, r1), (d2, r2) = _signed(api), _signed(api)
    signer = PageClient.logged_in(api, "lanhdao")
    _refused(signer.get("/dong-dau"), 403, "Trang này dành cho văn thư được giao quản lý con "
                                           "dấu thứ hai.")
    _refused(signer.submit("/dong-dau", {"codes": [r1], "pin": DEMO_PASSPHRASE},
                           form_page="/ky-so"), 403, "văn thư")
    assert _stored(api, r1).status is ResultStatus.SIGNED

    custodian = PageClient.logged_in(api, "vanthu")
    queue = custodian.get("/dong-dau")
    assert queue.status_code == 200
    assert r1 in queue.text
    assert r2 in queue.text
    assert "Không có kết quả nào chờ chuyển." in page_text(queue.text)
    wrong = custodian.submit("/dong-dau", {"codes": [r1, r2], "pin": "sai"})
    assert field_errors(wrong.text) == {"pin": WRONG_PIN}
    assert _stored(api, r1).status is ResultStatus.SIGNED

    started = custodian.submit("/dong-dau", {"codes": [r1, r2], "pin": DEMO_PASSPHRASE})
    location = started.headers["location"]
    assert re.fullmatch(r"/dong-dau/lo/[\w-]+", location), location
    fragment = _wait_for_batch(custodian, location)
    assert "Đã xong: 2/2 kết quả đã được đóng dấu số." in page_text(fragment)
    assert "Chuyển 2 kết quả về bộ phận một cửa" in page_text(fragment)
    for result in (r1, r2):
        assert (_stored(api, result).status, _stored(api, result).sealed_by) == (
            ResultStatus.SEALED, "vanthu")

    listed = custodian.get("/dong-dau")
    assert "Đã đóng dấu, chờ chuyển về bộ phận một cửa (2)" in page_text(listed.text)
    empty = custodian.submit("/dong-dau/chuyen-mot-cua", {}, form_page="/dong-dau")
    assert field_errors(empty.text) == {"dossiers": "Vui lòng chọn ít nhất một hồ sơ để chuyển."}
    moved = custodian.submit("/dong-dau/chuyen-mot-cua", {"dossiers": [d1, d2]},
                             form_page=location)
    assert (moved.status_code, moved.headers["location"]) == (303, "/dong-dau")
    assert "Đã chuyển 2 kết quả về bộ phận một cửa" in (flash_of(custodian.get("/dong-dau").text)
                                                        or "")
    assert [_view(api, d).dossier.status.value for d in (d1, d2)] == ["result_ready"] * 2


def test_a_signer_cannot_seal_and_a_clerk_opens_neither_queue(api: Api) -> None:
    _, result = _signed(api)
    clerk = PageClient.logged_in(api, "tiepnhan")
    for path in ("/ky-so", "/dong-dau"):
        answer = clerk.get(path)
        assert answer.status_code == 403
        assert "Không có quyền" in page_text(answer.text)
    _refused(clerk.submit("/ky-so", {"codes": [result], "pin": DEMO_PASSPHRASE},
                          form_page="/"), 403, "lãnh đạo có thẩm quyền")
    handler = PageClient.logged_in(api, "chuyenvien")
    _refused(handler.get("/ky-so"), 403, "Trang này dành cho lãnh đạo có thẩm quyền ký kết quả.")
    # The signer's own preview offers no seal.
    preview = PageClient.logged_in(api, "lanhdao").get(
        f"/ho-so/{_stored_dossier(api, result)}/xem-ket-qua")
    assert preview.status_code == 200
    assert "Đóng dấu số" not in page_text(preview.text)
    assert _stored(api, result).status is ResultStatus.SIGNED


def _stored_dossier(api: Api, result: str) -> str:
    entries = queue_entries(api.services.results, principal(api.services, "vanthu"), "seal")
    return next(e.dossier_code for e in entries if e.result.code == result)


# -- the actions offered on the dossier page ---------------------------------------------------
def _labels(api: Api, username: str, code: str) -> list[str]:
    who = principal(api.services, username)
    return [a.label for a in handling_actions(who, get_dossier(api.services.records, who, code))]


def test_the_dossier_page_offers_each_role_its_actions(api: Api) -> None:
    _add_user(api, "chuyenvien2", Role.HANDLER, agency_code=AGENCY_LAND)
    code = _in_review(api)
    assert _labels(api, "chuyenvien", code) == [
        "Dự thảo kết quả, trình ký", "Yêu cầu bổ sung hồ sơ", "Yêu cầu nộp phí, lệ phí",
        "Từ chối giải quyết", "Gia hạn, xin lỗi (mẫu 04)"]
    assert _labels(api, "chuyenvien2", code) == []
    assert _labels(api, "lanhdao", code) == []
    waiting = _digitised(api)
    assert _labels(api, "chuyenvien2", waiting) == ["Nhận xử lý hồ sơ"]
    assert _labels(api, "tiepnhan", waiting) == []

    dossier, _ = _submitted(api)
    assert _labels(api, "lanhdao", dossier) == ["Xem dự thảo và ký số", "Trả lại để hoàn thiện"]
    assert _labels(api, "chuyenvien", dossier) == ["Gia hạn, xin lỗi (mẫu 04)",
                                                   "Xem dự thảo đã trình ký"]
    assert _labels(api, "vanthu", dossier) == []

    who = principal(api.services, "lanhdao")
    html = templates.get_template("pages/handling/_dossier_actions.html").render(
        user=who, dossier=get_dossier(api.services.records, who, dossier), transitions=(),
        csrf="t", csrf_field="csrf")
    assert f'href="/ho-so/{dossier}/xem-ket-qua">Xem dự thảo và ký số</a>' in html
    citizen = principal(api.services, "congdan")
    assert templates.get_template("pages/handling/_dossier_actions.html").render(
        user=citizen, dossier=get_dossier(api.services.records, citizen, dossier),
        transitions=(), csrf="t", csrf_field="csrf").strip() == ""


# -- the small use cases behind the pages ------------------------------------------------------
def test_signer_choices_are_the_agencys_signers_with_a_certificate(api: Api) -> None:
    _add_user(api, "lanhdao2", Role.SIGNER, agency_code=AGENCY_LAND)  # no certificate yet
    code = _in_review(api)
    handler = principal(api.services, "chuyenvien")
    assert [(c.username, c.name) for c in signer_choices(api.services.results, handler, code)
            ] == [("lanhdao", "Nguyễn Văn Hùng")]
    head = letterhead(api.services.results, handler, code)
    assert (head.parent, head.agency, head.place) == ("UBND TỈNH QUẢNG NINH", AGENCY_NAME,
                                                      "Quảng Ninh")
    _add_user(api, "chuyenvienphuong", Role.HANDLER, agency_code=AGENCY_WARD)
    stranger = principal(api.services, "chuyenvienphuong")
    with pytest.raises(NotFound, match="Không tìm thấy hồ sơ"):
        signer_choices(api.services.results, stranger, code)
    with pytest.raises(NotFound, match="Không tìm thấy hồ sơ"):
        letterhead(api.services.results, stranger, code)
    dossier, result = _submitted(api)
    entries = queue_entries(api.services.results, principal(api.services, "lanhdao"), "sign")
    assert [(e.result.code, e.dossier_code, e.applicant_name, e.procedure_name) for e in entries
            ] == [(result, dossier, "Nguyễn Thị Hương", LAND.name)]
    assert queue_entries(api.services.results, handler, "sign") == []
