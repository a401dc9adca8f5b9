"""The pages in a real browser: home, login, logout, and the public verification form."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from api.demo import DEMO_PASSWORD
from tests.fixtures.browser import LiveServer, shot

pytestmark = pytest.mark.e2e


def test_home_login_and_logout_in_a_browser(live_server: LiveServer, browser: Browser) -> None:
    page = browser.new_page(viewport={"width": 1366, "height": 768})
    page.goto(live_server.url + "/")
    expect(page.get_by_role("heading", name="Một cửa điện tử")).to_be_visible()
    shot(page, "home-anonymous")

    page.get_by_role("link", name="Đăng nhập").first.click()
    page.get_by_label("Tên đăng nhập hoặc số định danh cá nhân").fill("tiepnhan")
    page.get_by_label("Mật khẩu").fill("sai-mat-khau")
    page.get_by_role("button", name="Đăng nhập").click()
    expect(page.get_by_role("alert")).to_contain_text("Tên đăng nhập hoặc mật khẩu không đúng")

    page.get_by_label("Mật khẩu").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    expect(page.get_by_role("heading", name="Xin chào")).to_contain_text("Trần Thị Lan")
    shot(page, "home-clerk")

    page.get_by_role("button", name="Đăng xuất").click()
    expect(page.get_by_role("status")).to_contain_text("Bạn đã đăng xuất")
    page.close()


def test_a_citizen_logs_in_with_the_personal_id_on_a_phone(live_server: LiveServer,
                                                          browser: Browser) -> None:
    page = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True)
    page.goto(live_server.url + "/dang-nhap")
    page.get_by_label("Tên đăng nhập hoặc số định danh cá nhân").fill("022190001234")
    page.get_by_label("Mật khẩu").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    expect(page.get_by_role("heading", name="Xin chào")).to_contain_text("Nguyễn Thị Hương")
    shot(page, "home-citizen-phone")
    page.close()
