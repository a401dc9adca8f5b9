"""Login hardening: throttling failed logins per address and per name (API and pages),
client credentials for other agencies' systems, the one-time code on the API, and the
identity-provider port that both login doors go through."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from api.demo import DEMO_PASSWORD
from records.accounts import IssuedToken, totp_code
from records.errors import Unauthenticated
from records.identity import Credentials, ExternalAssertion, LocalPasswords, PasswordLogin
from tests.fixtures.app import Api, bearer, is_vietnamese, running_api
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


# -- client credentials -------------------------------------------------------------------------
BAD_CLIENT = {"error": {"code": "invalid_client", "field": None,
                        "message": "Mã ứng dụng (client_id) hoặc khóa bí mật (client_secret) "
                                   "không đúng."}}


def _client_grant(client: TestClient, client_id: str,
                  secret: str = DEMO_PASSWORD) -> Response:
    return client.post("/api/v1/auth/token", data={
        "grant_type": "client_credentials", "client_id": client_id, "client_secret": secret})


def test_an_agency_system_gets_a_token_with_client_credentials(api: Api) -> None:
    answer = _client_grant(api.client, "coquankhac")
    assert answer.status_code == 200
    body = answer.json()
    assert (body["token_type"], body["username"], body["roles"]) == (
        "bearer", "coquankhac", ["agency"])
    me = api.client.get("/api/v1/auth/me", headers=bearer(body["access_token"]))
    assert me.json()["roles"] == ["agency"]
    # The agency API takes it as the agency's (its procedure scope is a separate matter).
    query = api.client.post("/api/v1/agency/persons/022190001234/documents",
                            headers=bearer(body["access_token"]),
                            json={"procedure_code": "1.012736.000.00.00.H40",
                                  "purpose": "Xác minh nghĩa vụ thuế",
                                  "officer": "Lê Văn Bình, Cục Thuế",
                                  "dossier_code": "TCT-2026-000123",
                                  "legal_basis": "Luật Quản lý thuế 2019, Điều 98"})
    assert query.status_code != 401, query.text


def test_client_credentials_may_come_as_http_basic(api: Api) -> None:
    pair = base64.b64encode(f"coquankhac:{DEMO_PASSWORD}".encode()).decode()
    answer = api.client.post("/api/v1/auth/token", data={"grant_type": "client_credentials"},
                             headers={"Authorization": f"Basic {pair}"})
    assert (answer.status_code, answer.json()["username"]) == (200, "coquankhac")


@pytest.mark.parametrize("client_id", ["tiepnhan", "quantri", "congdan", "022190001234"])
def test_people_may_not_use_client_credentials(api: Api, client_id: str) -> None:
    # The right password, the wrong grant: refused exactly like a wrong secret.
    answer = _client_grant(api.client, client_id)
    assert (answer.status_code, answer.json()) == (401, BAD_CLIENT)
    assert answer.headers["www-authenticate"] == "Bearer"


def test_a_wrong_secret_or_unknown_client_is_one_answer(api: Api) -> None:
    assert _client_grant(api.client, "coquankhac", "sai").json() == BAD_CLIENT
    assert _client_grant(api.client, "khongtontai", "sai").json() == BAD_CLIENT


def test_client_failures_are_throttled_and_lock_the_client(api: Api) -> None:
    for _ in range(5):
        assert _client_grant(api.client, "coquankhac", "sai").status_code == 401
    locked = _client_grant(api.client, "coquankhac")
    assert locked.json()["error"]["code"] == "account_locked"
    for n in range(LIMIT - 5):
        assert _client_grant(api.client, f"he-thong-{n}", "sai").status_code == 401
    _assert_throttled(_client_grant(api.client, "he-thong-moi", "sai"))


def test_an_agency_client_enrolled_in_totp_cannot_use_client_credentials(api: Api) -> None:
    with api.services.records.store.session() as tx:
        user = tx.get_user("coquankhac")
        assert user is not None
        tx.update_user(replace(user, totp_secret="JBSWY3DPEHPK3PXP"))
    assert _client_grant(api.client, "coquankhac").json() == BAD_CLIENT


def test_the_password_grant_stays_the_default_and_named(api: Api) -> None:
    assert _token(api.client, "tiepnhan").status_code == 200
    named = api.client.post("/api/v1/auth/token", data={
        "grant_type": "password", "username": "tiepnhan", "password": DEMO_PASSWORD})
    assert named.status_code == 200
    # An agency account may still use the password grant (the original way in).
    assert _token(api.client, "coquankhac").status_code == 200


@pytest.mark.parametrize(("data", "status", "code", "field"), [
    ({"grant_type": "authorization_code", "code": "x"}, 400, "unsupported_grant_type",
     "grant_type"),
    ({"grant_type": "client_credentials", "client_id": "coquankhac"}, 422, "invalid_request",
     "client_secret"),
    ({"grant_type": "client_credentials", "client_secret": "x"}, 422, "invalid_request",
     "client_id"),
    ({"password": "x"}, 422, "invalid_request", "username"),
    ({"username": "tiepnhan", "password": ""}, 422, "invalid_request", "password"),
])
def test_malformed_token_requests_name_the_field(api: Api, data: dict[str, str], status: int,
                                                 code: str, field: str) -> None:
    answer = api.client.post("/api/v1/auth/token", data=data)
    error = answer.json()["error"]
    assert (answer.status_code, error["code"], error["field"]) == (status, code, field)
    assert is_vietnamese(error["message"])


# -- the one-time code on the API ---------------------------------------------------------------
def test_the_api_password_grant_takes_the_one_time_code(api: Api) -> None:
    secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
    with api.services.records.store.session() as tx:
        user = tx.get_user("lanhdao")
        assert user is not None
        tx.update_user(replace(user, totp_secret=secret))
    asked = _token(api.client, "lanhdao")
    assert (asked.status_code, asked.json()["error"]["code"], asked.json()["error"]["field"]) \
        == (401, "otp_required", "otp")
    code = totp_code(secret, api.clock.now())
    answer = api.client.post("/api/v1/auth/token", data={
        "username": "lanhdao", "password": DEMO_PASSWORD, "otp": code})
    assert answer.status_code == 200


# -- the identity-provider port -----------------------------------------------------------------
class RecordingProvider:
    """The local provider, noting what each login presented (a fake that keeps the
    contract, not a mock)."""

    name = "recording"

    def __init__(self, inner: LocalPasswords) -> None:
        self.inner = inner
        self.seen: list[Credentials] = []

    def login(self, credentials: Credentials) -> IssuedToken:
        self.seen.append(credentials)
        return self.inner.login(credentials)


def test_the_configured_provider_is_local_passwords(api: Api) -> None:
    identity = api.services.identity
    assert api.services.settings.identity_provider == "local"
    assert isinstance(identity, LocalPasswords)
    issued = identity.login(PasswordLogin(username="022190001234", password=DEMO_PASSWORD))
    assert issued.principal.username == "congdan"
    with pytest.raises(Unauthenticated) as refused:
        identity.login(PasswordLogin(username="congdan", password="sai"))
    assert refused.value.code == "invalid_credentials"


def test_the_local_provider_refuses_external_assertions(api: Api) -> None:
    with pytest.raises(Unauthenticated) as refused:
        api.services.identity.login(ExternalAssertion(issuer="https://vneid.gov.vn",
                                                      token="eyJhbGciOi.x.y"))
    assert refused.value.code == "unsupported_credentials"
    assert is_vietnamese(refused.value.message)


def test_both_login_doors_go_through_the_identity_provider(api: Api) -> None:
    from api.app import create_app

    local = api.services.identity
    assert isinstance(local, LocalPasswords)
    provider = RecordingProvider(local)
    client = TestClient(create_app(replace(api.services, identity=provider)),
                        follow_redirects=False)  # no lifespan: the services stay api's
    assert _token(client, "tiepnhan").status_code == 200
    page = PageClient(client)
    assert page.login("022190001234", otp="").status_code == 303
    # Client credentials are for machines and do not pass through it.
    assert _client_grant(client, "coquankhac").status_code == 200
    assert provider.seen == [
        PasswordLogin(username="tiepnhan", password=DEMO_PASSWORD),
        PasswordLogin(username="022190001234", password=DEMO_PASSWORD),
    ]
