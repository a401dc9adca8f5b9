"""The whole journey in a real browser, each person in their own browser context (their own
cookies), on a live server that OCRs and signs for real:

clerk receives and scans → hands over to the handler → handler drafts and submits → signer
signs from the queue → custodian applies the second seal and sends it back to the desk →
clerk returns the result → citizen downloads it on a phone → anyone verifies it, by the QR
link and by uploading the file. Then each role's refusals.

Screenshots of every step are kept in ``test-artifacts/screenshots/journey-*.png``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from api.demo import DEMO_PASSWORD, PROCEDURES
from tests.fixtures.browser import LiveServer, shot
from tests.fixtures.pages import PageSize, PageSpec, make_page, save_page

pytestmark = pytest.mark.e2e

OFFICE = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}
CITIZEN_ID = "022190001234"
LAND = PROCEDURES[0]
OCR_TIMEOUT_MS = 120_000
SIGN_TIMEOUT_MS = 60_000


class People:
    """One browser context per person, opened on demand and closed at the end."""

    def __init__(self, browser: Browser, server: LiveServer) -> None:
        self.browser = browser
        self.server = server
        self.contexts: list[BrowserContext] = []

    def page(self, *, phone: bool = False) -> Page:
        context = self.browser.new_context(
            viewport=PHONE if phone else OFFICE, is_mobile=phone, accept_downloads=True,
            base_url=self.server.url, locale="vi-VN")
        context.set_default_timeout(15_000)
        self.contexts.append(context)
        page = context.new_page()
        page.on("dialog", lambda dialog: dialog.accept())  # "Xác nhận ...?" prompts: yes
        return page

    def login(self, username: str, *, phone: bool = False) -> Page:
        page = self.page(phone=phone)
        page.goto("/dang-nhap")
        page.get_by_label("Tên đăng nhập hoặc số định danh cá nhân").fill(username)
        page.get_by_label("Mật khẩu").fill(DEMO_PASSWORD)
        page.get_by_role("button", name="Đăng nhập").click()
        expect(page.get_by_role("heading", name="Xin chào")).to_be_visible()
        return page

    def close(self) -> None:
        for context in self.contexts:
            context.close()


@pytest.fixture
def people(browser: Browser, live_server: LiveServer) -> Iterator[People]:
    crowd = People(browser, live_server)
    try:
        yield crowd
    finally:
        crowd.close()


def _scan(tmp_path: Path) -> Path:
    return save_page(make_page(PageSpec(size=PageSize.HALF, document=0)), tmp_path / "cccd.png")


def _dossier_code(page: Page) -> str:
    found = re.search(r"/ho-so/([^/?#]+)$", page.url)
    assert found, f"not on a dossier page: {page.url}"
    return found.group(1)


def test_the_whole_journey_from_the_desk_to_the_citizen_and_the_public(
        people: People, live_server: LiveServer, tmp_path: Path) -> None:
    # -- the clerk receives the dossier and scans the citizen's identity card ----------------
    clerk = people.login("tiepnhan")
    clerk.get_by_role("link", name="Tiếp nhận hồ sơ").first.click()
    clerk.get_by_label("Thủ tục hành chính").select_option(LAND.code)
    clerk.get_by_label("Số định danh cá nhân / mã số thuế").fill(CITIZEN_ID)
    clerk.get_by_label("Họ và tên (tên tổ chức)").fill("Nguyễn Thị Hương")
    clerk.get_by_label("Số điện thoại").fill("0912345678")
    shot(clerk, "journey-01-intake-form")
    clerk.get_by_role("button", name="Tiếp nhận hồ sơ").click()
    expect(clerk.get_by_role("status")).to_be_visible()
    code = _dossier_code(clerk)

    clerk.locator("#f-files-CCCD").set_input_files(str(_scan(tmp_path)))
    clerk.locator("form", has=clerk.locator("#f-files-CCCD")) \
        .get_by_role("button", name="Tải lên").click()
    # OCR runs in the service's embedded runner; the page follows its progress.
    expect(clerk.locator(".badge", has_text=re.compile("Đã số hóa|Cần kiểm tra")).first) \
        .to_be_visible(timeout=OCR_TIMEOUT_MS)
    clerk.reload()
    shot(clerk, "journey-02-dossier-scanned")

    clerk.get_by_role("button", name="Hoàn thành số hóa").click()
    clerk.get_by_label("Chuyên viên xử lý (tên đăng nhập)").fill("chuyenvien")
    clerk.get_by_role("button", name="Chuyển xử lý").click()
    expect(clerk.locator("body")).to_contain_text("Đã thực hiện «Chuyển xử lý»")

    clerk.goto(f"/ho-so/{code}/phieu-tiep-nhan")
    expect(clerk.locator("body")).to_contain_text("GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ")
    shot(clerk, "journey-03-receipt")

    # -- the handler drafts the result and submits it for signature --------------------------
    handler = people.login("chuyenvien")
    handler.get_by_role("link", name="Hồ sơ cần xử lý").first.click()
    handler.get_by_role("link", name=code).first.click()
    handler.get_by_role("link", name="Dự thảo kết quả, trình ký").click()
    handler.get_by_label("Trích yếu (V/v …)").fill(
        "V/v cấp Giấy chứng nhận quyền sử dụng đất thửa số 125")
    handler.get_by_label("Nội dung (mỗi đoạn một dòng)").fill(
        "Căn cứ hồ sơ đề nghị của bà Nguyễn Thị Hương.\nĐồng ý cấp Giấy chứng nhận.")
    title = handler.get_by_label("Chức danh người ký (mỗi dòng một dòng in)")
    if not title.input_value():
        title.fill("KT. GIÁM ĐỐC\nPHÓ GIÁM ĐỐC")
    shot(handler, "journey-04-draft")
    handler.get_by_role("button", name="Lưu và trình ký").click()
    expect(handler.locator("body")).to_contain_text("Chờ phê duyệt")

    # -- the signer signs it from the queue ------------------------------------------------
    signer = people.login("lanhdao")
    signer.get_by_role("link", name="Trình ký").first.click()
    row = signer.get_by_role("row").filter(has_text=code)
    row.get_by_role("checkbox").check()
    signer.get_by_label("Mã PIN chứng thư số cá nhân").fill(DEMO_PASSWORD)
    shot(signer, "journey-05-sign-queue")
    signer.get_by_role("button", name="Ký số các kết quả đã chọn").click()
    expect(signer.locator(".badge.ok", has_text="Đã ký số")).to_be_visible(
        timeout=SIGN_TIMEOUT_MS)
    shot(signer, "journey-06-signed")

    # -- the custodian applies the agency's second seal and sends it to the desk -----------
    custodian = people.login("vanthu")
    custodian.get_by_role("link", name="Đóng dấu số").first.click()
    custodian.get_by_role("row").filter(has_text=code).get_by_role("checkbox").check()
    custodian.get_by_label("Mã PIN chứng thư số của cơ quan").fill(DEMO_PASSWORD)
    custodian.get_by_role("button", name="Đóng dấu số các kết quả đã chọn").click()
    expect(custodian.locator(".badge.ok", has_text="Đã đóng dấu số")).to_be_visible(
        timeout=SIGN_TIMEOUT_MS)
    custodian.goto("/dong-dau")
    custodian.get_by_role("row").filter(has_text=code).get_by_role("checkbox").check()
    custodian.get_by_role("button", name="Chuyển kết quả về bộ phận một cửa").click()
    expect(custodian.get_by_role("status")).to_be_visible()
    shot(custodian, "journey-07-sealed-and-sent")

    # -- the clerk hands the result back ---------------------------------------------------
    clerk.goto(f"/ho-so/{code}")
    clerk.get_by_role("button", name="Trả kết quả").click()
    expect(clerk.locator("body")).to_contain_text("Đã trả kết quả")
    shot(clerk, "journey-08-returned")

    # -- the citizen follows the dossier on a phone and downloads the e-result -------------
    citizen = people.login(CITIZEN_ID, phone=True)
    citizen.get_by_role("link", name="Hồ sơ của tôi").first.click()
    citizen.get_by_role("link", name=code).first.click()
    expect(citizen.locator("body")).to_contain_text("Quá trình giải quyết")
    shot(citizen, "journey-09-citizen-dossier")
    with citizen.expect_download() as download_info:
        citizen.get_by_role("link", name="Tải kết quả (PDF)").click()
    result_pdf = tmp_path / "ket-qua.pdf"
    download_info.value.save_as(result_pdf)
    assert result_pdf.read_bytes().startswith(b"%PDF")

    # -- anyone verifies it: the QR link, and the upload form -------------------------------
    with live_server.services.records.store.session(readonly=True) as tx:
        dossier = tx.get_dossier(code)
        assert dossier is not None
        assert dossier.id is not None
        result = tx.result_of_dossier(dossier.id)
    assert result is not None
    public = people.page(phone=True)
    public.goto(f"/xac-minh/{result.code}?d={result.digest}")
    expect(public.locator("body")).to_contain_text(result.code)
    expect(public.locator("body")).to_contain_text("Chữ ký số của tổ chức (con dấu)")
    expect(public.locator("body")).to_contain_text("Chữ ký số của người có thẩm quyền")
    shot(public, "journey-10-qr-verification")

    public.goto("/xac-minh")
    public.locator("input[type=file]").set_input_files(str(result_pdf))
    public.get_by_role("button", name="Kiểm tra").click()
    expect(public.locator("body")).to_contain_text("Nguyên vẹn")
    shot(public, "journey-11-upload-verification")


def _status(page: Page, path: str) -> int:
    answer = page.goto(path)
    assert answer is not None
    return answer.status


def test_each_role_is_refused_what_is_not_theirs(people: People) -> None:
    anonymous = people.page()
    anonymous.goto("/tiep-nhan")
    expect(anonymous).to_have_url(re.compile(r"/dang-nhap\?next=%2Ftiep-nhan"))

    clerk = people.login("tiepnhan")
    for path in ("/ky-so", "/dong-dau", "/quan-tri", "/thong-ke"):
        assert _status(clerk, path) == 403, path
        expect(clerk.get_by_role("heading", name="Không có quyền")).to_be_visible()
    shot(clerk, "journey-refused-clerk")

    signer = people.login("lanhdao")
    assert _status(signer, "/dong-dau") == 403

    citizen = people.login(CITIZEN_ID, phone=True)
    for path in ("/tiep-nhan", "/ho-so", "/xu-ly"):
        assert _status(citizen, path) == 403, path
    assert _status(citizen, "/cong-dan/ho-so/000.00.00.H40-261122-9999") == 404
    shot(citizen, "journey-refused-citizen")
