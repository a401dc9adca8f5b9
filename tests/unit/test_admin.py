"""Administration use cases against a real SQLite store on the demo data: procedures,
accounts and their second factor, agencies and desks, holidays, seal authorisations; every
refusal leaves the records and the audit trail unchanged."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from api.bootstrap import Services
from api.demo import AGENCY_LAND, AGENCY_WARD, BRANCH_WARD, DEMO_PASSWORD, PROCEDURES
from records import admin as uc
from records.accounts import authenticate, login, totp_code
from records.adapters.clock import ManualClock
from records.admin_accounts import (
    UserDraft,
    create_account,
    enrol_totp,
    list_accounts,
    new_totp_secret,
    remove_totp,
    reset_password,
    set_account_active,
    totp_uri,
    update_account,
)
from records.admin_procedures import (
    ComponentDraft,
    ProcedureDraft,
    create_procedure,
    get_procedure,
    list_procedures,
    update_procedure,
)
from records.admin_seals import (
    AuthorisationDraft,
    grant_authorisation,
    list_authorisations,
    list_certificates,
)
from records.authz import Principal
from records.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthenticated
from records.model import CertificateKind, Role
from tests.fixtures.app import count_rows, is_vietnamese, principal, seeded

pytestmark = pytest.mark.unit

T0 = datetime(2026, 11, 19, 3, 0, tzinfo=UTC)  # Thursday 10:00 in Hà Nội
TABLES = ("agencies", "branches", "procedures", "procedure_components", "users", "holidays",
          "seal_authorisations", "audit_log")


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    built = seeded(tmp_path, clock=ManualClock(T0))
    yield built
    built.close()


@pytest.fixture
def deps(services: Services) -> uc.AdminDeps:
    a = services.accounts
    return uc.AdminDeps(store=a.store, clock=a.clock, hasher=a.hasher, audit_key=a.audit_key)


@pytest.fixture
def admin(services: Services) -> Principal:
    return principal(services, "quantri")


def _counts(services: Services) -> dict[str, int]:
    return count_rows(services.engine, *TABLES)


def _draft(**overrides: Any) -> ProcedureDraft:
    base = ProcedureDraft(
        code="1.000894.000.00.00.H40", name="Đăng ký kết hôn", agency_code=AGENCY_WARD,
        processing_days="3", fee_vnd="0", result_type="Giấy chứng nhận kết hôn",
        components=(
            ComponentDraft(code="TOKHAI", name="Tờ khai đăng ký kết hôn",
                           document_type="to_khai_ket_hon", order="2"),
            ComponentDraft(code="CCCD", name="Căn cước của hai bên",
                           document_type="can_cuoc_cong_dan", order="1"),
            ComponentDraft(),  # a blank row of the form
            ComponentDraft(code="XNTTHN", name="Giấy xác nhận tình trạng hôn nhân",
                           document_type="xac_nhan_tthn", mandatory=False, order="3"),
        ))
    return replace(base, **overrides)


def _staff(**overrides: Any) -> UserDraft:
    base = UserDraft(username="nguyenvana", display_name="Nguyễn Văn A",
                     roles=("handler",), agency_code=AGENCY_LAND, password="mat-khau-9")
    return replace(base, **overrides)


# -- who may administer -----------------------------------------------------------------------
REFUSABLE: dict[str, Callable[[uc.AdminDeps, Principal], object]] = {
    "overview": uc.overview,
    "list_procedures": list_procedures,
    "create_procedure": lambda d, w: create_procedure(d, w, _draft()),
    "update_procedure": lambda d, w: update_procedure(d, w, PROCEDURES[1].code, _draft()),
    "list_accounts": list_accounts,
    "create_account": lambda d, w: create_account(d, w, _staff()),
    "update_account": lambda d, w: update_account(d, w, "tiepnhan", _staff()),
    "deactivate": lambda d, w: set_account_active(d, w, "tiepnhan", active=False),
    "reset_password": lambda d, w: reset_password(d, w, "tiepnhan", "mat-khau-moi"),
    "enrol_totp": lambda d, w: enrol_totp(d, w, "tiepnhan", secret=new_totp_secret(),
                                          code="000000"),
    "remove_totp": lambda d, w: remove_totp(d, w, "tiepnhan"),
    "create_agency": lambda d, w: uc.create_agency(d, w, code="000.00.20.H40", name="Sở Y tế"),
    "rename_agency": lambda d, w: uc.rename_agency(d, w, AGENCY_WARD, "Tên mới"),
    "create_branch": lambda d, w: uc.create_branch(d, w, code="MC-X", name="Một cửa X",
                                                   agency_code=AGENCY_WARD),
    "rename_branch": lambda d, w: uc.rename_branch(d, w, BRANCH_WARD, "Tên mới"),
    "list_holidays": lambda d, w: uc.list_holidays(d, w, 2026),
    "add_holiday": lambda d, w: uc.add_holiday(d, w, day="2026-12-31", name="Nghỉ",
                                               working=False),
    "remove_holiday": lambda d, w: uc.remove_holiday(d, w, date(2026, 9, 2)),
    "list_certificates": list_certificates,
    "list_authorisations": list_authorisations,
    "grant_authorisation": lambda d, w: grant_authorisation(d, w, AuthorisationDraft()),
}


@pytest.fixture(scope="module")
def untouched(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    """One seeded store for the refusals: a refusal changes nothing, which they check."""
    built = seeded(tmp_path_factory.mktemp("refusals"), clock=ManualClock(T0))
    yield built
    built.close()


@pytest.mark.parametrize("name", sorted(REFUSABLE))
def test_only_administrators_may_administer(untouched: Services, name: str) -> None:
    a = untouched.accounts
    deps = uc.AdminDeps(store=a.store, clock=a.clock, hasher=a.hasher, audit_key=a.audit_key)
    before = _counts(untouched)
    for username in ("tiepnhan", "chuyenvien", "lanhdao", "vanthu", "congdan", "coquankhac"):
        with pytest.raises(Forbidden) as refused:
            REFUSABLE[name](deps, principal(untouched, username))
        assert is_vietnamese(refused.value.message)
    assert _counts(untouched) == before


# -- procedures -------------------------------------------------------------------------------
def test_procedure_is_created_with_papers_in_order_and_audited(
        services: Services, deps: uc.AdminDeps, admin: Principal) -> None:
    before = _counts(services)
    created = create_procedure(deps, admin, _draft(fee_vnd="100.000"))
    assert [c.code for c in created.components] == ["CCCD", "TOKHAI", "XNTTHN"]
    assert created.fee_vnd == 100_000
    with pytest.raises(uc.InvalidFields) as odd_fee:
        create_procedure(deps, admin, _draft(code="1.000001.H40", fee_vnd="1,5"))
    assert set(odd_fee.value.fields) == {"fee_vnd"}
    stored = get_procedure(deps, admin, created.code)
    assert stored == created
    assert not stored.components[2].mandatory
    after = _counts(services)
    assert after["procedures"] == before["procedures"] + 1
    assert after["procedure_components"] == before["procedure_components"] + 3
    with services.records.store.session(readonly=True) as tx:
        entries = tx.audit_for_object("procedure", created.code)
    assert [e.action for e in entries] == ["procedure.create"]


def test_invalid_procedure_reports_every_field_and_writes_nothing(
        services: Services, deps: uc.AdminDeps, admin: Principal) -> None:
    before = _counts(services)
    bad_rows = (ComponentDraft(code="CCCD", name="A", document_type="can_cuoc"),
                ComponentDraft(code="CCCD", name="", document_type="Loại Sai", order="x"))
    with pytest.raises(uc.InvalidFields) as refused:
        create_procedure(deps, admin, _draft(
            code="mã sai", name=" ", agency_code="000.99.99.H40", processing_days="0",
            fee_vnd="-5", components=bad_rows))
    assert set(refused.value.fields) == {
        "code", "name", "agency_code", "processing_days", "fee_vnd", "components.1.code",
        "components.1.name", "components.1.document_type", "components.1.order"}
    assert all(is_vietnamese(m) for m in refused.value.fields.values())
    assert _counts(services) == before


@pytest.mark.parametrize("days", ["", "abc", "1.5", "-2", "0", "366"])
def test_processing_days_must_be_a_positive_whole_number(
        services: Services, deps: uc.AdminDeps, admin: Principal, days: str) -> None:
    with pytest.raises(uc.InvalidFields) as refused:
        create_procedure(deps, admin, _draft(processing_days=days))
    assert set(refused.value.fields) == {"processing_days"}


def test_duplicate_procedure_code_is_a_conflict_on_the_code(
        services: Services, deps: uc.AdminDeps, admin: Principal) -> None:
    before = _counts(services)
    with pytest.raises(Conflict) as refused:
        create_procedure(deps, admin, _draft(code=PROCEDURES[0].code))
    assert refused.value.field == "code"
    assert PROCEDURES[0].code in refused.value.message
    assert _counts(services) == before


def test_procedure_update_replaces_papers_and_keeps_the_code(
        services: Services, deps: uc.AdminDeps, admin: Principal) -> None:
    code = PROCEDURES[1].code
    updated = update_procedure(deps, admin, code, _draft(
        code="ignored", processing_days="2",
        components=(ComponentDraft(code="TOKHAI", name="Tờ khai (mẫu mới)",
                                   document_type="to_khai_khai_sinh"),)))
    assert updated.code == code
    stored = get_procedure(deps, admin, code)
    assert stored.processing_days == 2
    assert [(c.code, c.name) for c in stored.components] == [("TOKHAI", "Tờ khai (mẫu mới)")]
    with pytest.raises(NotFound):
        update_procedure(deps, admin, "9.999999.000.00.00.H40", _draft())


# -- accounts ---------------------------------------------------------------------------------
def test_account_is_created_and_can_log_in(services: Services, deps: uc.AdminDeps,
                                           admin: Principal) -> None:
    created = create_account(deps, admin, _staff(username="  NguyenVanA "))
    assert created.username == "nguyenvana"
    issued = login(services.accounts, "nguyenvana", "mat-khau-9")
    assert issued.principal.roles == frozenset({Role.HANDLER})
    assert issued.principal.agency_code == AGENCY_LAND
    with pytest.raises(Conflict) as duplicate:
        create_account(deps, admin, _staff())
    assert duplicate.value.field == "username"


@pytest.mark.parametrize(("overrides", "fields"), [
    ({"password": "ngan"}, {"password"}),
    ({"username": "a"}, {"username"}),
    ({"roles": ()}, {"roles"}),
    ({"roles": ("superuser",)}, {"roles"}),
    ({"roles": ("clerk",), "agency_code": ""}, {"branch_code"}),
    ({"roles": ("signer",), "agency_code": ""}, {"agency_code"}),
    ({"roles": ("citizen",), "agency_code": "", "owner_id": "123"}, {"owner_id"}),
    ({"roles": ("citizen",), "agency_code": "", "owner_id": "022190001234"}, {"owner_id"}),
    ({"roles": ("citizen", "clerk"), "branch_code": BRANCH_WARD, "owner_id": "001190009999"},
     {"roles"}),
    ({"branch_code": "KHONG-CO"}, {"branch_code"}),
])
def test_invalid_accounts_are_refused_field_by_field(
        services: Services, deps: uc.AdminDeps, admin: Principal,
        overrides: dict[str, Any], fields: set[str]) -> None:
    before = _counts(services)
    with pytest.raises(uc.InvalidFields) as refused:
        create_account(deps, admin, _staff(**overrides))
    assert set(refused.value.fields) == fields
    assert all(is_vietnamese(m) for m in refused.value.fields.values())
    assert _counts(services) == before


def test_citizen_account_keeps_its_personal_id(services: Services, deps: uc.AdminDeps,
                                               admin: Principal) -> None:
    citizen = create_account(deps, admin, _staff(
        username="tranvanb", roles=("citizen",), agency_code="", owner_id="001190009999"))
    assert citizen.owner_id == "001190009999"
    assert login(services.accounts, "001190009999", "mat-khau-9").principal.username \
        == "tranvanb"


def test_roles_change_and_an_administrator_keeps_their_own(
        services: Services, deps: uc.AdminDeps, admin: Principal) -> None:
    changed = update_account(deps, admin, "chuyenvien", UserDraft(
        display_name="Phạm Văn Minh", roles=("handler", "signer"), agency_code=AGENCY_LAND))
    assert changed.roles == frozenset({Role.HANDLER, Role.SIGNER})
    assert principal(services, "chuyenvien").has(Role.SIGNER)
    with pytest.raises(uc.InvalidFields) as refused:
        update_account(deps, admin, "quantri", UserDraft(
            display_name="Đỗ Quang Huy", roles=("clerk",), branch_code=BRANCH_WARD))
    assert set(refused.value.fields) == {"roles"}
    assert principal(services, "quantri").has(Role.ADMIN)


def test_deactivation_ends_sessions_and_reactivation_restores_login(
        services: Services, deps: uc.AdminDeps, admin: Principal) -> None:
    token = login(services.accounts, "tiepnhan", DEMO_PASSWORD).token
    set_account_active(deps, admin, "tiepnhan", active=False)
    with pytest.raises(Unauthenticated):
        authenticate(services.accounts, token)
    with pytest.raises(Unauthenticated):
        login(services.accounts, "tiepnhan", DEMO_PASSWORD)
    set_account_active(deps, admin, "tiepnhan", active=True)
    assert login(services.accounts, "tiepnhan", DEMO_PASSWORD).principal.username == "tiepnhan"
    with pytest.raises(InvalidInput):
        set_account_active(deps, admin, "quantri", active=False)


def test_password_reset_lifts_lockout_and_ends_sessions(
        services: Services, deps: uc.AdminDeps, admin: Principal) -> None:
    token = login(services.accounts, "tiepnhan", DEMO_PASSWORD).token
    for _ in range(5):
        with pytest.raises(Unauthenticated):
            login(services.accounts, "tiepnhan", "sai-mat-khau")
    with pytest.raises(uc.InvalidFields):
        reset_password(deps, admin, "tiepnhan", "ngan")
    reset_password(deps, admin, "tiepnhan", "mat-khau-moi")
    with pytest.raises(Unauthenticated):
        authenticate(services.accounts, token)
    assert login(services.accounts, "tiepnhan", "mat-khau-moi").principal.username == "tiepnhan"


def test_totp_is_saved_only_after_a_current_code(services: Services, deps: uc.AdminDeps,
                                                 admin: Principal) -> None:
    secret = new_totp_secret()
    before = _counts(services)
    with pytest.raises(InvalidInput) as wrong:
        enrol_totp(deps, admin, "lanhdao", secret=secret,
                   code=totp_code(secret, T0 + timedelta(minutes=5)))
    assert wrong.value.field == "code"
    with pytest.raises(InvalidInput):
        enrol_totp(deps, admin, "lanhdao", secret="not base32!", code="123456")
    assert _counts(services) == before
    enrol_totp(deps, admin, "lanhdao", secret=secret, code=totp_code(secret, T0))
    with pytest.raises(Unauthenticated) as asked:
        login(services.accounts, "lanhdao", DEMO_PASSWORD)
    assert asked.value.code == "otp_required"
    assert login(services.accounts, "lanhdao", DEMO_PASSWORD, otp=totp_code(secret, T0))
    remove_totp(deps, admin, "lanhdao")
    assert login(services.accounts, "lanhdao", DEMO_PASSWORD)


def test_totp_uri_is_what_authenticator_apps_read() -> None:
    secret = new_totp_secret()
    assert len(secret) == 32
    uri = totp_uri(secret, "lanhdao")
    parts = urlsplit(uri)
    assert (parts.scheme, parts.netloc, parts.path) == ("otpauth", "totp", "/Motcua%3Alanhdao")
    assert parse_qs(parts.query) == {"secret": [secret], "issuer": ["Motcua"],
                                     "algorithm": ["SHA1"], "digits": ["6"], "period": ["30"]}


# -- agencies, branches, holidays -------------------------------------------------------------
def test_agencies_and_branches(services: Services, deps: uc.AdminDeps,
                               admin: Principal) -> None:
    uc.create_agency(deps, admin, code="000.00.20.H40", name="Sở Y tế tỉnh Quảng Ninh")
    with pytest.raises(Conflict):
        uc.create_agency(deps, admin, code="000.00.20.H40", name="Trùng")
    uc.rename_agency(deps, admin, "000.00.20.H40", "Sở Y tế Quảng Ninh")
    assert {a.code: a.name for a in uc.list_agencies(deps, admin)}["000.00.20.H40"] \
        == "Sở Y tế Quảng Ninh"
    with pytest.raises(uc.InvalidFields) as refused:
        uc.create_branch(deps, admin, code="MC-CAMPHA", name="", agency_code="không có")
    assert set(refused.value.fields) == {"name", "agency_code"}
    uc.create_branch(deps, admin, code="MC-CAMPHA", name="Một cửa Cẩm Phả",
                     agency_code="000.00.20.H40")
    uc.rename_branch(deps, admin, "MC-CAMPHA", "Bộ phận một cửa Cẩm Phả")
    assert "Bộ phận một cửa Cẩm Phả" in [b.name for b in uc.list_branches(deps, admin)]
    with pytest.raises(NotFound):
        uc.rename_branch(deps, admin, "KHONG-CO", "Tên")


def test_holidays_feed_the_working_calendar(services: Services, deps: uc.AdminDeps,
                                            admin: Principal) -> None:
    uc.add_holiday(deps, admin, day="2026-12-31", name="Nghỉ cuối năm", working=False)
    uc.add_holiday(deps, admin, day="2026-12-26", name="Làm bù", working=True)  # Saturday
    with services.records.store.session(readonly=True) as tx:
        off, working = tx.holidays()
    assert date(2026, 12, 31) in off
    assert date(2026, 12, 26) in working
    with pytest.raises(Conflict) as duplicate:
        uc.add_holiday(deps, admin, day="2026-12-31", name="Lại", working=False)
    assert duplicate.value.field == "day"
    with pytest.raises(uc.InvalidFields) as weekday:
        uc.add_holiday(deps, admin, day="2026-12-30", name="Làm bù", working=True)
    assert set(weekday.value.fields) == {"day"}
    with pytest.raises(uc.InvalidFields) as bad:
        uc.add_holiday(deps, admin, day="31/12/2026", name="", working=False)
    assert set(bad.value.fields) == {"day", "name"}
    uc.remove_holiday(deps, admin, date(2026, 12, 31))
    assert date(2026, 12, 31) not in [h.day for h in uc.list_holidays(deps, admin, 2026)]
    with pytest.raises(NotFound):
        uc.remove_holiday(deps, admin, date(2026, 12, 31))
    assert [h.day.year for h in uc.list_holidays(deps, admin, 2027)] == [2027]


# -- seal authorisations, overview ------------------------------------------------------------
def test_seal_authorisation_checks_fields_then_the_registry(
        services: Services, deps: uc.AdminDeps, admin: Principal) -> None:
    seal = next(c for c in list_certificates(deps, admin)
                if c.kind is CertificateKind.ORGANISATION and c.agency_code == AGENCY_LAND)
    before = _counts(services)
    with pytest.raises(uc.InvalidFields) as refused:
        grant_authorisation(deps, admin, AuthorisationDraft(
            certificate_id=str(seal.id), custodian_username="vanthu",
            valid_from="2026-12-01", valid_to="2026-11-30"))
    assert set(refused.value.fields) == {"valid_to", "reference", "handover_reference"}
    with pytest.raises(InvalidInput) as wrong_person:
        grant_authorisation(deps, admin, AuthorisationDraft(
            certificate_id=str(seal.id), custodian_username="tiepnhan",
            valid_from="2026-12-01", valid_to="2026-12-31", reference="QĐ 1",
            handover_reference="BB 1"))
    assert wrong_person.value.field == "custodian_username"
    assert _counts(services) == before
    granted = grant_authorisation(deps, admin, AuthorisationDraft(
        certificate_id=str(seal.id), custodian_username="vanthu", valid_from="2026-12-01",
        valid_to="2026-12-31", reference="Quyết định số 20/QĐ-SNNMT",
        handover_reference="Biên bản số 03/BB"))
    # The whole of the last day, Vietnam time.
    assert granted.covers(datetime(2026, 12, 31, 16, 59, tzinfo=UTC))
    assert not granted.covers(datetime(2026, 12, 31, 17, 0, tzinfo=UTC))
    assert granted.covers(datetime(2026, 11, 30, 17, 0, tzinfo=UTC))


def test_overview_counts(services: Services, deps: uc.AdminDeps, admin: Principal) -> None:
    seen = uc.overview(deps, admin)
    assert (seen.agencies, seen.branches, seen.procedures) == (3, 2, 3)
    assert (seen.users.total, seen.users.active, seen.users.two_factor) == (7, 7, 0)
    assert seen.certificates == 3
    assert seen.authorisations_in_force == 1
    assert seen.holidays_this_year == 11
    assert seen.year == 2026
