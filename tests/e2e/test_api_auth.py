"""The HTTP API's front door: health, documentation, login, lockout, expiry and logout."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from api.demo import DEMO_PASSWORD, DEMO_USERS, DemoUser
from tests.fixtures.app import Api, bearer, is_vietnamese, running_api, token_for

pytestmark = pytest.mark.e2e

T0 = datetime(2026, 11, 19, 3, 0, tzinfo=UTC)
BAD_LOGIN = {"error": {"code": "invalid_credentials", "field": None,
                       "message": "Tên đăng nhập hoặc mật khẩu không đúng."}}


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    with running_api(tmp_path, T0) as running:
        yield running


def _login(api: Api, username: str, password: str = DEMO_PASSWORD) -> tuple[int, Any]:
    response = api.client.post("/api/v1/auth/token",
                               data={"username": username, "password": password})
    return response.status_code, response.json()


def _error(api: Api, path: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
    response = api.client.get(path, headers=headers or {})
    error = response.json()["error"]
    assert is_vietnamese(error["message"]), error
    return response.status_code, error["code"]


def test_health_docs_and_openapi_are_served(api: Api) -> None:
    health = api.client.get("/health")
    assert (health.status_code, health.json()) == (200, {"status": "ok", "database": "ok"})
    docs = api.client.get("/docs")
    assert docs.status_code == 200
    assert docs.headers["content-type"].startswith("text/html")
    assert "/openapi.json" in docs.text
    schema = api.client.get("/openapi.json")
    assert schema.status_code == 200
    assert schema.json()["info"]["title"] == "Motcua"
    assert {"/api/v1/auth/token", "/api/v1/dossiers", "/api/v1/dossiers/{code}/transitions",
            "/api/v1/audit/verify", "/health"} <= set(schema.json()["paths"])


@pytest.mark.parametrize("user", DEMO_USERS, ids=lambda u: u.username)
def test_each_demo_user_logs_in(api: Api, user: DemoUser) -> None:
    status, body = _login(api, user.username)
    assert status == 200
    who = {"username": user.username, "display_name": user.display_name,
           "roles": [user.role.value]}
    assert {k: v for k, v in body.items() if k != "access_token"} == {
        "token_type": "bearer", "expires_at": "2026-11-19T11:00:00Z", **who}
    me = api.client.get("/api/v1/auth/me", headers=bearer(body["access_token"]))
    assert me.json() == {**who, "agency_code": user.agency_code,
                         "branch_code": user.branch_code}


def test_wrong_password_and_unknown_user_get_one_and_the_same_401(api: Api) -> None:
    wrong = api.client.post("/api/v1/auth/token",
                            data={"username": "tiepnhan", "password": "sai-mat-khau"})
    assert wrong.status_code == 401
    assert wrong.headers["www-authenticate"] == "Bearer"
    assert wrong.json() == BAD_LOGIN
    assert is_vietnamese(wrong.json()["error"]["message"])
    assert _login(api, "khongtontai", "sai-mat-khau") == (401, BAD_LOGIN)


def test_five_wrong_passwords_lock_the_account_for_fifteen_minutes(api: Api) -> None:
    for _ in range(4):
        assert _login(api, "chuyenvien", "sai")[0] == 401
    assert _login(api, "chuyenvien")[0] == 200  # a success resets the count
    for _ in range(4):
        assert _login(api, "chuyenvien", "sai") == (401, BAD_LOGIN)
    assert _login(api, "chuyenvien", "sai") == (401, BAD_LOGIN)  # the fifth locks

    status, body = _login(api, "chuyenvien")  # now even the right password is refused
    assert (status, body["error"]["code"]) == (401, "account_locked")
    assert is_vietnamese(body["error"]["message"])
    assert _login(api, "lanhdao")[0] == 200  # only that account
    api.clock.advance(timedelta(minutes=14, seconds=59))
    assert _login(api, "chuyenvien")[1]["error"]["code"] == "account_locked"
    api.clock.advance(timedelta(seconds=1))
    assert _login(api, "chuyenvien")[0] == 200


def test_missing_unknown_and_expired_tokens_are_refused(api: Api) -> None:
    assert _error(api, "/api/v1/auth/me") == (401, "not_authenticated")
    assert _error(api, "/api/v1/dossiers") == (401, "not_authenticated")
    assert _error(api, "/api/v1/auth/me", bearer("khong-phai-token")) == (401, "session_expired")
    headers = bearer(token_for(api.client, "tiepnhan"))
    api.clock.advance(timedelta(hours=7, minutes=59))
    assert api.client.get("/api/v1/auth/me", headers=headers).status_code == 200
    api.clock.advance(timedelta(hours=1, minutes=1))  # 9 hours after login
    assert _error(api, "/api/v1/auth/me", headers) == (401, "session_expired")
    assert _error(api, "/api/v1/dossiers", headers) == (401, "session_expired")


def test_logout_revokes_only_that_token(api: Api) -> None:
    first = bearer(token_for(api.client, "tiepnhan"))
    second = bearer(token_for(api.client, "tiepnhan"))
    assert api.client.post("/api/v1/auth/logout", headers=first).status_code == 204
    assert _error(api, "/api/v1/auth/me", first) == (401, "session_expired")
    assert api.client.post("/api/v1/auth/logout", headers=first).status_code == 401
    assert api.client.get("/api/v1/auth/me", headers=second).json()["username"] == "tiepnhan"
    assert api.client.post("/api/v1/auth/logout").status_code == 401
