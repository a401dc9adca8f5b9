"""The pages' front door: login by staff name or citizen id, CSRF, logout, safe ``next``,
forms kept across an expired session, and two-factor login."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse, Response
from starlette.datastructures import UploadFile

from api.pages.web import SESSION_COOKIE, CsrfChecked, PageUser
from records.accounts import totp_code
from tests.fixtures.app import Api, bearer, running_api
from tests.fixtures.web import PageClient, field_errors, flash_of, form_error, page_text

pytestmark = pytest.mark.e2e

T0 = datetime(2026, 11, 19, 3, 0, tzinfo=UTC)
BAD_LOGIN = "Tên đăng nhập hoặc mật khẩu không đúng."
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
ECHO = "/thu-nghiem/tai-len"  # a test-only page form with an upload, added below
SCAN = b"%PDF-1.4\n% a scanned page, byte for byte\n" + bytes(range(256)) * 8


async def _echo_upload(request: Request, who: PageUser) -> Response:
    """Answers who posted, the note and the uploaded file's name and sha256."""
    form = await request.form()
    upload = form["scan"]
    assert isinstance(upload, UploadFile)
    digest = hashlib.sha256(await upload.read()).hexdigest()
    return PlainTextResponse(f"{who.username}|{form['note']}|{upload.filename}|{digest}")


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    with running_api(tmp_path, T0) as running:
        app = running.client.app
        assert isinstance(app, FastAPI)
        # The page modules are being written; a small form route of our own is stable and
        # lets the test check the uploaded bytes after the replay.
        app.add_api_route(ECHO, _echo_upload, methods=["POST"], dependencies=[CsrfChecked],
                          include_in_schema=False)
        yield running


def _me(api: Api, token: str | None) -> int:
    assert token is not None
    return api.client.get("/api/v1/auth/me", headers=bearer(token)).status_code


# -- logging in ---------------------------------------------------------------------------------
def test_staff_log_in_with_their_name_and_land_on_next(api: Api) -> None:
    page = PageClient.anonymous(api)
    answer = page.login("tiepnhan", next_url="/ho-so?trang=2")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/ho-so?trang=2"
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    assert "HttpOnly" in cookie
    assert "samesite=lax" in cookie.lower()
    assert _me(api, page.session_token) == 200  # the same opaque token as a bearer client's
    assert "Trần Thị Lan" in page_text(page.get("/").text)


def test_citizen_logs_in_with_the_12_digit_personal_id(api: Api) -> None:
    page = PageClient.anonymous(api)
    answer = page.login("022190001234")
    assert answer.status_code == 303
    me = api.client.get("/api/v1/auth/me", headers=bearer(page.session_token or ""))
    assert me.json()["username"] == "congdan"
    assert "Nguyễn Thị Hương" in page_text(page.get("/").text)


@pytest.mark.parametrize(("username", "password"), [
    ("tiepnhan", "sai-mat-khau"),
    ("khongtontai", "sai-mat-khau"),
    ("022190009999", "sai-mat-khau"),  # a well-formed personal id nobody has
])
def test_wrong_password_or_unknown_user_shows_one_message(api: Api, username: str,
                                                          password: str) -> None:
    page = PageClient.anonymous(api)
    answer = page.login(username, password)
    assert answer.status_code == 401
    assert form_error(answer.text) == BAD_LOGIN
    assert page.session_token is None
    assert 'value="' + username + '"' in answer.text  # the name is kept, not the password
    assert password not in answer.text


def test_empty_fields_are_named_next_to_their_input(api: Api) -> None:
    answer = PageClient.anonymous(api).login("", "")
    assert answer.status_code == 422
    assert set(field_errors(answer.text)) == {"username", "password"}


# -- CSRF ---------------------------------------------------------------------------------------
def test_login_without_the_forms_csrf_token_is_refused(api: Api) -> None:
    page = PageClient.anonymous(api)
    page.get("/dang-nhap")  # the anonymous cookie exists, the token is wrong
    for token in ("", "0" * 40):
        answer = page.submit("/dang-nhap", {"username": "tiepnhan", "password": "motcua-demo"},
                             csrf=token)
        assert answer.status_code == 403
        assert "Biểu mẫu đã hết hiệu lực" in page_text(answer.text)
        assert page.session_token is None


def test_logout_with_a_foreign_csrf_token_changes_nothing(api: Api) -> None:
    clerk = PageClient.logged_in(api, "tiepnhan")
    other = PageClient.logged_in(api, "chuyenvien")
    stolen = other.csrf("/")  # a valid token, but bound to another session
    answer = clerk.submit("/dang-xuat", csrf=stolen)
    assert answer.status_code == 403
    assert _me(api, clerk.session_token) == 200
    assert clerk.session_token is not None


def test_logout_revokes_the_sessions_token(api: Api) -> None:
    clerk = PageClient.logged_in(api, "tiepnhan")
    token = clerk.session_token
    answer = clerk.submit("/dang-xuat", form_page="/")
    assert (answer.status_code, answer.headers["location"]) == (303, "/")
    assert clerk.session_token is None  # the cookie is deleted
    assert _me(api, token) == 401  # and the token itself is dead, even if a copy was kept
    clerk.client.cookies.set(SESSION_COOKIE, token or "")
    assert "Đăng nhập" in page_text(clerk.get("/").text)


# -- where the login leads ----------------------------------------------------------------------
@pytest.mark.parametrize("target", [
    "https://evil.example/dang-nhap",
    "//evil.example/x",
    "/\\evil.example",
    "javascript:alert(1)",
    "evil.example",
])
def test_next_never_leaves_the_site(api: Api, target: str) -> None:
    page = PageClient.anonymous(api)
    form = page.get("/dang-nhap", params={"next": target})
    assert 'name="next" value="/"' in form.text
    answer = page.login("tiepnhan", next_url=target)
    assert (answer.status_code, answer.headers["location"]) == (303, "/")


def test_a_logged_in_user_sent_to_the_login_page_goes_to_a_safe_next(api: Api) -> None:
    clerk = PageClient.logged_in(api, "tiepnhan")
    answer = clerk.get("/dang-nhap", params={"next": "//evil.example"})
    assert (answer.status_code, answer.headers["location"]) == (303, "/")


# -- forms kept across an expired session -------------------------------------------------------
def _post_scan(page: PageClient, *, csrf: str) -> httpx.Response:
    return page.client.post(ECHO, data={"note": "Hồ sơ đất đai ông Nguyễn Văn An", "csrf": csrf},
                            files={"scan": ("trang-1.pdf", SCAN, "application/pdf")},
                            headers={"referer": "http://testserver/tiep-nhan?buoc=2"},
                            follow_redirects=False)


def _park(api: Api) -> tuple[PageClient, str, str]:
    """A clerk whose session expires while posting a scan: the client, the parked id and the
    login page it was sent to."""
    clerk = PageClient.logged_in(api, "tiepnhan")
    csrf = clerk.csrf("/")
    api.clock.advance(timedelta(minutes=api.services.settings.token_ttl_minutes, seconds=1))
    answer = _post_scan(clerk, csrf=csrf)
    assert answer.status_code == 303
    target = answer.headers["location"]
    query = parse_qs(urlsplit(target).query)
    assert urlsplit(target).path == "/dang-nhap"
    assert query["next"] == ["/tiep-nhan"]
    return clerk, query["giu"][0], target


def test_an_expired_session_keeps_the_posted_form_and_its_upload(api: Api) -> None:
    clerk, giu, login_page = _park(api)
    form = clerk.get(login_page)
    assert flash_of(form.text) == ("Phiên đăng nhập đã hết hạn. Vui lòng đăng nhập lại; biểu "
                                   "mẫu bạn vừa gửi đã được giữ lại.")
    assert f'name="giu" value="{giu}"' in form.text

    answer = clerk.submit("/dang-nhap", {"username": "tiepnhan", "password": "motcua-demo",
                                         "next": "/tiep-nhan", "giu": giu},
                          form_page=login_page)
    assert (answer.status_code, answer.headers["location"]) == (303, f"/khoi-phuc/{giu}")

    offer = clerk.get(f"/khoi-phuc/{giu}")
    assert offer.status_code == 200
    assert "1 tệp tải lên" in page_text(offer.text)
    assert "trang-1.pdf" in page_text(offer.text)

    sent = clerk.submit(f"/khoi-phuc/{giu}", {"action": "send"})
    assert sent.status_code == 200
    assert sent.text == ("tiepnhan|Hồ sơ đất đai ông Nguyễn Văn An|trang-1.pdf|"
                         + hashlib.sha256(SCAN).hexdigest())
    assert clerk.get(f"/khoi-phuc/{giu}").status_code == 404  # sent once, then dropped


def test_a_parked_form_can_be_dropped(api: Api) -> None:
    clerk, giu, login_page = _park(api)
    clerk.submit("/dang-nhap", {"username": "tiepnhan", "password": "motcua-demo",
                                "giu": giu}, form_page=login_page)
    answer = clerk.submit(f"/khoi-phuc/{giu}", {"action": "drop"})
    assert (answer.status_code, answer.headers["location"]) == (303, "/")
    assert clerk.get(f"/khoi-phuc/{giu}").status_code == 404


def test_a_real_page_form_is_parked_too_logout(api: Api) -> None:
    # /dang-xuat is a page POST that exists today: replaying it logs out the new session.
    clerk = PageClient.logged_in(api, "tiepnhan")
    csrf = clerk.csrf("/")
    api.clock.advance(timedelta(hours=9))
    answer = clerk.client.post("/dang-xuat", data={"csrf": csrf}, follow_redirects=False)
    giu = parse_qs(urlsplit(answer.headers["location"]).query)["giu"][0]
    clerk.submit("/dang-nhap", {"username": "tiepnhan", "password": "motcua-demo", "giu": giu},
                 form_page=answer.headers["location"])
    token = clerk.session_token
    assert _me(api, token) == 200
    replayed = clerk.submit(f"/khoi-phuc/{giu}", {"action": "send"})
    assert (replayed.status_code, replayed.headers["location"]) == (303, "/")
    assert _me(api, token) == 401


def test_nobody_else_can_resume_a_parked_form(api: Api) -> None:
    _, giu, login_page = _park(api)
    other = PageClient.anonymous(api)
    answer = other.submit("/dang-nhap", {"username": "chuyenvien", "password": "motcua-demo",
                                         "next": "/tiep-nhan", "giu": giu},
                          form_page=login_page)
    assert (answer.status_code, answer.headers["location"]) == (303, "/tiep-nhan")
    assert other.get(f"/khoi-phuc/{giu}").status_code == 404
    for action in ("send", "drop"):
        assert other.submit(f"/khoi-phuc/{giu}", {"action": action},
                            form_page="/").status_code == 404
    # still there for its owner
    owner = PageClient.anonymous(api)
    owner.submit("/dang-nhap", {"username": "tiepnhan", "password": "motcua-demo",
                                "giu": giu}, form_page=login_page)
    assert owner.get(f"/khoi-phuc/{giu}").status_code == 200


def test_a_post_without_any_session_parks_nothing(api: Api) -> None:
    page = PageClient.anonymous(api)
    answer = _post_scan(page, csrf=page.csrf("/dang-nhap"))
    assert answer.status_code == 303
    assert "giu" not in parse_qs(urlsplit(answer.headers["location"]).query)
    assert not (api.services.settings.data_dir / "parked").exists()


# -- two-factor login ---------------------------------------------------------------------------
def _enrol_totp(api: Api, username: str) -> None:
    with api.services.records.store.session() as tx:
        user = tx.get_user(username)
        assert user is not None
        tx.update_user(replace(user, totp_secret=TOTP_SECRET))


def test_a_user_enrolled_in_totp_must_enter_the_code(api: Api) -> None:
    _enrol_totp(api, "lanhdao")
    page = PageClient.anonymous(api)

    asked = page.login("lanhdao")
    assert asked.status_code == 401
    assert form_error(asked.text) == ("Nhập mã xác thực 6 số từ ứng dụng xác thực trên điện "
                                      "thoại của bạn.")
    assert 'name="otp"' in asked.text
    assert page.session_token is None

    now = api.clock.now()
    wrong = f"{(int(totp_code(TOTP_SECRET, now)) + 1) % 1_000_000:06d}"
    refused = page.login("lanhdao", otp=wrong)
    assert refused.status_code == 401
    assert field_errors(refused.text) == {"otp": "Mã xác thực không đúng hoặc đã hết hạn."}
    assert page.login("lanhdao", otp=totp_code(TOTP_SECRET, now, offset=2)).status_code == 401
    assert page.session_token is None

    answer = page.login("lanhdao", otp=totp_code(TOTP_SECRET, now))
    assert answer.status_code == 303
    assert _me(api, page.session_token) == 200


def test_a_phone_clock_one_step_off_is_accepted(api: Api) -> None:
    _enrol_totp(api, "lanhdao")
    now = api.clock.now()
    for offset in (-1, 1):
        page = PageClient.anonymous(api)
        assert page.login("lanhdao", otp=totp_code(TOTP_SECRET, now, offset=offset)) \
            .status_code == 303


def test_a_wrong_code_counts_towards_the_lockout(api: Api) -> None:
    _enrol_totp(api, "lanhdao")
    page = PageClient.anonymous(api)
    for _ in range(5):
        assert page.login("lanhdao", otp="000000").status_code == 401
    locked = page.login("lanhdao", otp=totp_code(TOTP_SECRET, api.clock.now()))
    assert locked.status_code == 401
    assert "tạm thời bị khóa" in (form_error(locked.text) or "")


def test_a_scan_uploaded_on_an_expired_session_is_stored_after_logging_in(
        api: Api, tmp_path: Path) -> None:
    """The clerk's real upload form: the scan survives the expired session, is sent once
    after logging in again, and nothing is stored before that."""
    from tests.fixtures.pages import PageSize, PageSpec, make_page, save_page

    created = api.create(api.login("tiepnhan"))
    code = created.json()["code"]
    scan = save_page(make_page(PageSpec(size=PageSize.HALF, document=0)),
                     tmp_path / "cccd.png").read_bytes()
    clerk = PageClient.logged_in(api, "tiepnhan")
    csrf = clerk.csrf(f"/ho-so/{code}")
    api.clock.advance(timedelta(hours=9))  # past the session's lifetime
    answer = clerk.client.post(f"/ho-so/{code}/tai-len",
                               data={"csrf": csrf, "component_code": "CCCD",
                                     "copy_kind": "copy"},
                               files=[("files", ("cccd.png", scan, "image/png"))],
                               follow_redirects=False)
    assert answer.status_code == 303
    login_page = answer.headers["location"]
    giu = parse_qs(urlsplit(login_page).query)["giu"][0]
    assert api.client.get(f"/api/v1/dossiers/{code}",
                          headers=api.login("tiepnhan")).json()["papers_scanned"] == 0

    back = clerk.submit("/dang-nhap", {"username": "tiepnhan", "password": "motcua-demo",
                                       "giu": giu}, form_page=login_page)
    assert back.headers["location"] == f"/khoi-phuc/{giu}"
    assert "cccd.png" in page_text(clerk.get(f"/khoi-phuc/{giu}").text)
    sent = clerk.submit(f"/khoi-phuc/{giu}", {"action": "send"})
    assert (sent.status_code, sent.headers["location"]) == (303, f"/ho-so/{code}")

    dossier = api.client.get(f"/api/v1/dossiers/{code}", headers=api.login("tiepnhan")).json()
    assert dossier["papers_scanned"] == 1
    doc_codes = set(re.findall(r'href="/tai-lieu/([^"/]+)"', clerk.get(f"/ho-so/{code}").text))
    assert len(doc_codes) == 1
    document = api.client.get(f"/api/v1/documents/{doc_codes.pop()}",
                              headers=api.login("tiepnhan")).json()
    # The stored original is the very file the clerk sent before the session ran out.
    assert [f["sha256"] for f in document["files"]] == [
        hashlib.sha256(scan).hexdigest()]
    assert clerk.get(f"/khoi-phuc/{giu}").status_code == 404
