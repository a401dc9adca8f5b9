"""Login hardening: throttling failed logins per address and per name (API and pages)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from api.demo import DEMO_PASSWORD
from tests.fixtures.app import Api, is_vietnamese, running_api
from tests.fixtures.web import PageClient, form_error

pytestmark = pytest.mark.e2e

T0 = datetime(2026, 11, 19, 3, 0, tzinfo=UTC)
LIMIT = 10  # the default MOTCUA_LOGIN_RATE_PER_MINUTE


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    with running_api(tmp_path, T0) as running:
        yield running


def _from(api: Api, address: str) -> TestClient:
    """A client at another network address (the throttle keys on ``request.client``)."""
    return TestClient(api.client.app, client=(address, 40000))


def _token(client: TestClient, username: str, password: str = DEMO_PASSWORD) -> Response:
    return client.post("/api/v1/auth/token", data={"username": username, "password": password})


def _assert_throttled(answer: Response) -> None:
    assert answer.status_code == 429
    error = answer.json()["error"]
    assert error["code"] == "too_many_attempts"
    assert error["message"].startswith("Quá nhiều lần đăng nhập")
    assert is_vietnamese(error["message"])
    assert 1 <= int(answer.headers["retry-after"]) <= 60


# -- throttling ---------------------------------------------------------------------------------
def test_one_address_guessing_across_many_names_is_throttled(api: Api) -> None:
    for n in range(LIMIT):  # a different name each time: the per-account lockout never trips
        assert _token(api.client, f"nguoi{n}", "doan-mo").status_code == 401
    _assert_throttled(_token(api.client, "nguoi-moi", "doan-mo"))
    # Even the right password waits: the check comes before the password is tried.
    _assert_throttled(_token(api.client, "tiepnhan"))
    # Another address is not concerned.
    assert _token(_from(api, "203.0.113.7"), "tiepnhan").status_code == 200


def test_the_window_slides(api: Api) -> None:
    for _ in range(LIMIT // 2):
        assert _token(api.client, "khongtontai", "sai").status_code == 401
    api.clock.advance(timedelta(seconds=30))
    for _ in range(LIMIT - LIMIT // 2):
        assert _token(api.client, "khongtontai2", "sai").status_code == 401
    answer = _token(api.client, "tiepnhan")
    _assert_throttled(answer)
    assert answer.headers["retry-after"] == "30"  # the first five leave the window then
    api.clock.advance(timedelta(seconds=29))
    _assert_throttled(_token(api.client, "tiepnhan"))
    api.clock.advance(timedelta(seconds=1))
    assert _token(api.client, "tiepnhan").status_code == 200


def test_one_name_guessed_from_many_addresses_is_throttled(api: Api) -> None:
    # A name nobody has: no lockout protects it, the per-name window does.
    for n in range(LIMIT):
        assert _token(_from(api, f"198.51.100.{n}"), "Quan_Tri_Cu", "sai").status_code == 401
    _assert_throttled(_token(_from(api, "198.51.100.200"), " quan_tri_cu ", "sai"))


def test_successful_logins_are_not_counted(api: Api) -> None:
    # A centre's clerks share one public address at the start of the day.
    for _ in range(3 * LIMIT):
        assert _token(api.client, "tiepnhan").status_code == 200


def test_locked_account_and_missing_otp_are_not_counted_as_guesses(api: Api) -> None:
    for _ in range(5):
        assert _token(api.client, "chuyenvien", "sai").status_code == 401
    for _ in range(LIMIT):  # locked: the password is not even tried
        answer = _token(api.client, "chuyenvien")
        assert answer.json()["error"]["code"] == "account_locked"
    assert _token(api.client, "lanhdao").status_code == 200


def test_lockout_still_applies_below_the_throttle(api: Api) -> None:
    for _ in range(5):
        assert _token(api.client, "vanthu", "sai").status_code == 401
    assert _token(api.client, "vanthu").json()["error"]["code"] == "account_locked"


def test_the_login_page_shows_the_throttle_in_the_form(api: Api) -> None:
    page = PageClient.anonymous(api)
    for n in range(LIMIT):
        assert page.login(f"nguoi{n}", "sai").status_code == 401
    answer = page.login("tiepnhan")
    assert answer.status_code == 429
    assert answer.headers["retry-after"] == "60"
    message = form_error(answer.text) or ""
    assert message.startswith("Quá nhiều lần đăng nhập không thành công.")
    assert 'value="tiepnhan"' in answer.text
    assert page.session_token is None
    api.clock.advance(timedelta(minutes=1))
    assert page.login("tiepnhan").status_code == 303


def test_page_and_api_share_one_window_per_address(api: Api) -> None:
    page = PageClient.anonymous(api)
    for n in range(LIMIT):
        assert page.login(f"nguoi{n}", "sai").status_code == 401
    _assert_throttled(_token(api.client, "tiepnhan"))



def test_the_limit_is_a_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from api.app import create_app
    from api.bootstrap import bootstrap
    from api.demo import seed_demo
    from api.settings import Settings
    from records.adapters.clock import ManualClock
    from tests.fixtures.app import FAST_ARGON2

    monkeypatch.setenv("MOTCUA_LOGIN_RATE_PER_MINUTE", "2")
    settings = Settings(_env_file=None, data_dir=tmp_path,  # type: ignore[call-arg]
                        password_time_cost=FAST_ARGON2["password_time_cost"],
                        password_memory_kib=FAST_ARGON2["password_memory_kib"])
    assert settings.login_rate_per_minute == 2
    services = bootstrap(settings, clock=ManualClock(T0))
    seed_demo(services)
    with TestClient(create_app(services)) as client:
        for _ in range(2):
            assert _token(client, "khongtontai", "sai").status_code == 401
        _assert_throttled(_token(client, "tiepnhan"))
