"""The administrator's pages (/quan-tri) through their forms: procedures and papers, users,
roles and two-factor login, agencies and desks, certificates and seal authorisations,
holidays. Everyone else meets the 403 page on every route, and a refused form changes no
row."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from api.demo import AGENCY_LAND, AGENCY_WARD, BRANCH_WARD, PROCEDURES
from records.accounts import totp_code
from tests.fixtures.app import Api, count_rows, is_vietnamese, running_api
from tests.fixtures.web import PageClient, field_errors, flash_of, page_text

pytestmark = pytest.mark.e2e

T0 = datetime(2026, 11, 19, 3, 0, tzinfo=UTC)
TABLES = ("agencies", "branches", "procedures", "procedure_components", "users", "holidays",
          "certificates", "seal_authorisations", "api_tokens", "audit_log")
BIRTH = PROCEDURES[1].code

GET_ROUTES = [
    "/quan-tri", "/quan-tri/thu-tuc", "/quan-tri/thu-tuc/moi", f"/quan-tri/thu-tuc/{BIRTH}",
    "/quan-tri/nguoi-dung", "/quan-tri/nguoi-dung/moi", "/quan-tri/nguoi-dung/tiepnhan",
    "/quan-tri/nguoi-dung/tiepnhan/xac-thuc", "/quan-tri/co-quan",
    f"/quan-tri/co-quan/{AGENCY_WARD}", f"/quan-tri/bo-phan/{BRANCH_WARD}",
    "/quan-tri/chung-thu-so", "/quan-tri/chung-thu-so/dang-ky",
    "/quan-tri/chung-thu-so/uy-quyen", "/quan-tri/ngay-nghi", "/quan-tri/ngay-nghi?nam=2027",
]
POST_ROUTES = [
    "/quan-tri/thu-tuc/moi", f"/quan-tri/thu-tuc/{BIRTH}", "/quan-tri/nguoi-dung/moi",
    "/quan-tri/nguoi-dung/chuyenvien", "/quan-tri/nguoi-dung/chuyenvien/trang-thai",
    "/quan-tri/nguoi-dung/chuyenvien/mat-khau", "/quan-tri/nguoi-dung/chuyenvien/xac-thuc",
    "/quan-tri/nguoi-dung/chuyenvien/xac-thuc/go", "/quan-tri/co-quan",
    f"/quan-tri/co-quan/{AGENCY_WARD}", "/quan-tri/bo-phan", f"/quan-tri/bo-phan/{BRANCH_WARD}",
    "/quan-tri/chung-thu-so/dang-ky", "/quan-tri/chung-thu-so/uy-quyen", "/quan-tri/ngay-nghi",
    "/quan-tri/ngay-nghi/2026-09-02/xoa",
]
# What a careless or hostile post would carry: enough to change something if allowed.
POST_DATA = {"code": "NEW.1", "name": "Tên mới", "agency_code": AGENCY_WARD,
             "processing_days": "3", "username": "moi1", "display_name": "Người mới",
             "roles": "admin", "password": "mat-khau-dai", "action": "khoa",
             "day": "2026-12-31", "reference": "QĐ 1", "handover_reference": "BB 1"}


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    with running_api(tmp_path, T0) as running:
        yield running


@pytest.fixture(scope="module")
def shared_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """One app for the refusal tests: a refusal changes nothing, which they check."""
    with running_api(tmp_path_factory.mktemp("admin-pages"), T0) as running:
        yield running


def _counts(api: Api) -> dict[str, int]:
    return count_rows(api.services.engine, *TABLES)


# -- refusals ---------------------------------------------------------------------------------
@pytest.mark.parametrize("username", ["tiepnhan", "lanhdao", "vanthu", "congdan"])
def test_every_admin_page_refuses_everyone_else(shared_api: Api, username: str) -> None:
    someone = PageClient.logged_in(shared_api, username)
    token = someone.csrf("/")
    before = _counts(shared_api)
    for url in GET_ROUTES:
        answer = someone.get(url)
        assert answer.status_code == 403, url
        assert "Không có quyền" in page_text(answer.text), url
    for url in POST_ROUTES:
        answer = someone.submit(url, POST_DATA, csrf=token)
        assert answer.status_code == 403, url
        assert "Không có quyền" in page_text(answer.text), url
    assert _counts(shared_api) == before
    assert "/quan-tri" not in someone.get("/").text  # no menu entry either


def test_anonymous_visitors_are_sent_to_log_in(shared_api: Api) -> None:
    visitor = PageClient.anonymous(shared_api)
    for url in GET_ROUTES:
        answer = visitor.get(url)
        assert answer.status_code == 303, url
        assert answer.headers["location"].startswith("/dang-nhap?next="), url


def test_admin_pages_render_in_vietnamese(shared_api: Api) -> None:
    admin = PageClient.logged_in(shared_api, "quantri")
    for url in GET_ROUTES:
        answer = admin.get(url)
        assert answer.status_code == 200, url
        assert is_vietnamese(page_text(answer.text)), url
    overview = page_text(admin.get("/quan-tri").text)
    assert "3 thủ tục hành chính" in overview
    assert "7 tài khoản đang hoạt động" in overview
    assert "1 ủy quyền con dấu thứ hai đang hiệu lực" in overview
    assert '<a href="/quan-tri"' in admin.get("/").text


# -- procedures -------------------------------------------------------------------------------
def _procedure_form(**overrides: object) -> dict[str, object]:
    form: dict[str, object] = {
        "code": "1.000894.000.00.00.H40", "name": "Đăng ký kết hôn",
        "agency_code": AGENCY_WARD, "processing_days": "3", "fee_vnd": "0",
        "result_type": "Giấy chứng nhận kết hôn",
        "comp_order": ["1", "2", ""], "comp_code": ["TOKHAI", "CCCD", ""],
        "comp_name": ["Tờ khai đăng ký kết hôn", "Căn cước của hai bên", ""],
        "comp_type": ["to_khai_ket_hon", "can_cuoc_cong_dan", ""],
        "comp_mandatory": ["1", "0", "1"]}
    form.update(overrides)
    return form


def test_procedure_is_created_and_edited_through_the_form(api: Api) -> None:
    admin = PageClient.logged_in(api, "quantri")
    answer = admin.submit("/quan-tri/thu-tuc/moi", _procedure_form())
    assert answer.status_code == 303
    listing = admin.get(answer.headers["location"]).text
    assert "Đã thêm thủ tục «Đăng ký kết hôn»" in (flash_of(listing) or "")
    assert "1.000894.000.00.00.H40" in listing
    with api.services.records.store.session(readonly=True) as tx:
        stored = tx.get_procedure("1.000894.000.00.00.H40")
    assert stored is not None
    assert [(c.code, c.mandatory) for c in stored.components] == [("TOKHAI", True),
                                                                  ("CCCD", False)]
    edit_url = "/quan-tri/thu-tuc/1.000894.000.00.00.H40"
    assert 'value="Căn cước của hai bên"' in admin.get(edit_url).text
    answer = admin.submit(edit_url, _procedure_form(
        processing_days="5", comp_order=["2", "1", "3"],
        comp_code=["TOKHAI", "CCCD", "XNTTHN"],
        comp_name=["Tờ khai đăng ký kết hôn", "", "Giấy xác nhận tình trạng hôn nhân"],
        comp_type=["to_khai_ket_hon", "", "xac_nhan_tthn"]))
    # The second row has a code but no name: refused, shown next to that row.
    assert answer.status_code == 422
    assert set(field_errors(answer.text)) == {"components.1.name", "components.1.document_type"}
    answer = admin.submit(edit_url, _procedure_form(
        processing_days="5", comp_order=["2", "", "1"], comp_code=["TOKHAI", "", "XNTTHN"],
        comp_name=["Tờ khai đăng ký kết hôn", "", "Giấy xác nhận tình trạng hôn nhân"],
        comp_type=["to_khai_ket_hon", "", "xac_nhan_tthn"]))
    assert answer.status_code == 303
    with api.services.records.store.session(readonly=True) as tx:
        stored = tx.get_procedure("1.000894.000.00.00.H40")
    assert stored is not None
    assert stored.processing_days == 5
    assert [c.code for c in stored.components] == ["XNTTHN", "TOKHAI"]


@pytest.mark.parametrize(("overrides", "field", "words"), [
    ({"processing_days": "ba"}, "processing_days", "số nguyên dương"),
    ({"processing_days": "0"}, "processing_days", "số nguyên dương"),
    ({"code": PROCEDURES[0].code}, "code", "đã tồn tại"),
    ({"name": ""}, "name", "Vui lòng nhập tên thủ tục"),
    ({"agency_code": ""}, "agency_code", "cơ quan"),
    ({"comp_type": ["Tờ khai", "can_cuoc_cong_dan", ""]}, "components.0.document_type",
     "Loại giấy tờ"),
])
def test_invalid_procedure_form_shows_the_message_and_changes_nothing(
        shared_api: Api, overrides: dict[str, object], field: str, words: str) -> None:
    admin = PageClient.logged_in(shared_api, "quantri")
    before = _counts(shared_api)
    answer = admin.submit("/quan-tri/thu-tuc/moi", _procedure_form(**overrides))
    assert answer.status_code in (409, 422)
    errors = field_errors(answer.text)
    assert words in errors[field]
    assert 'value="Đăng ký kết hôn"' in answer.text or field == "name"  # typed values kept
    assert _counts(shared_api) == before


# -- users ------------------------------------------------------------------------------------
def test_user_is_created_edited_deactivated_and_reset(api: Api) -> None:
    admin = PageClient.logged_in(api, "quantri")
    answer = admin.submit("/quan-tri/nguoi-dung/moi", {
        "username": "hoangthic", "display_name": "Hoàng Thị C", "roles": ["clerk"],
        "branch_code": BRANCH_WARD, "password": "mat-khau-ban-dau"})
    assert answer.status_code == 303
    assert answer.headers["location"] == "/quan-tri/nguoi-dung/hoangthic"
    clerk = PageClient.logged_in(api, "hoangthic", "mat-khau-ban-dau")
    assert clerk.get("/").status_code == 200
    assert "hoangthic" in page_text(admin.get("/quan-tri/nguoi-dung?q=hoang").text)

    answer = admin.submit("/quan-tri/nguoi-dung/hoangthic", {
        "display_name": "Hoàng Thị C", "roles": ["clerk", "handler"],
        "branch_code": BRANCH_WARD, "agency_code": ""})
    assert answer.status_code == 422
    assert "thuộc một cơ quan" in field_errors(answer.text)["agency_code"]
    answer = admin.submit("/quan-tri/nguoi-dung/hoangthic", {
        "display_name": "Hoàng Thị C", "roles": ["clerk", "handler"],
        "branch_code": BRANCH_WARD, "agency_code": AGENCY_WARD})
    assert answer.status_code == 303
    listing = page_text(admin.get("/quan-tri/nguoi-dung?vai_tro=handler").text)
    assert "hoangthic" in listing
    assert "Chuyên viên xử lý" in listing

    answer = admin.submit("/quan-tri/nguoi-dung/hoangthic/trang-thai", {"action": "khoa"},
                          form_page="/quan-tri/nguoi-dung/hoangthic")
    assert answer.status_code == 303
    assert clerk.get("/quan-tri/nguoi-dung").status_code == 303  # the session has ended
    assert PageClient.anonymous(api).login("hoangthic", "mat-khau-ban-dau").status_code == 401
    admin.submit("/quan-tri/nguoi-dung/hoangthic/trang-thai", {"action": "mo"},
                 form_page="/quan-tri/nguoi-dung/hoangthic")

    answer = admin.submit("/quan-tri/nguoi-dung/hoangthic/mat-khau", {"password": "ngan"},
                          form_page="/quan-tri/nguoi-dung/hoangthic")
    assert answer.status_code == 422
    assert "ít nhất 8 ký tự" in field_errors(answer.text)["password"]
    answer = admin.submit("/quan-tri/nguoi-dung/hoangthic/mat-khau",
                          {"password": "mat-khau-moi-2"},
                          form_page="/quan-tri/nguoi-dung/hoangthic")
    assert answer.status_code == 303
    assert PageClient.logged_in(api, "hoangthic", "mat-khau-moi-2").session_token


@pytest.mark.parametrize(("form", "field"), [
    ({"username": "tiepnhan"}, "username"),
    ({"password": "1234567"}, "password"),
    ({"roles": []}, "roles"),
    ({"roles": ["citizen"], "owner_id": "12345"}, "owner_id"),
    ({"roles": ["clerk"], "branch_code": ""}, "branch_code"),
])
def test_invalid_user_form_shows_the_message_and_changes_nothing(
        shared_api: Api, form: dict[str, object], field: str) -> None:
    admin = PageClient.logged_in(shared_api, "quantri")
    before = _counts(shared_api)
    data: dict[str, object] = {"username": "nguoimoi", "display_name": "Người Mới",
                               "roles": ["clerk"], "branch_code": BRANCH_WARD,
                               "password": "mat-khau-dai", **form}
    answer = admin.submit("/quan-tri/nguoi-dung/moi", data)
    assert answer.status_code in (409, 422)
    assert is_vietnamese(field_errors(answer.text)[field])
    assert _counts(shared_api) == before


def test_administrator_cannot_lock_themselves_out(shared_api: Api) -> None:
    admin = PageClient.logged_in(shared_api, "quantri")
    before = _counts(shared_api)
    answer = admin.submit("/quan-tri/nguoi-dung/quantri", {
        "display_name": "Đỗ Quang Huy", "roles": ["clerk"], "branch_code": BRANCH_WARD})
    assert "quản trị" in field_errors(answer.text)["roles"]
    answer = admin.submit("/quan-tri/nguoi-dung/quantri/trang-thai", {"action": "khoa"},
                          form_page="/quan-tri/nguoi-dung/quantri")
    assert answer.status_code == 422
    assert _counts(shared_api) == before


_SECRET = re.compile(r'name="secret" value="([A-Z2-7]+)"')


def test_two_factor_enrolment_needs_a_current_code(api: Api) -> None:
    admin = PageClient.logged_in(api, "quantri")
    url = "/quan-tri/nguoi-dung/lanhdao/xac-thuc"
    page = admin.get(url).text
    assert "<svg" in page
    assert "otpauth://totp/Motcua%3Alanhdao?secret=" in page
    found = _SECRET.search(page)
    assert found is not None
    secret = found.group(1)
    before = _counts(api)
    wrong = totp_code(secret, api.clock.now() + timedelta(minutes=10))
    answer = admin.submit(url, {"secret": secret, "code": wrong})
    assert answer.status_code == 422
    assert "không đúng" in field_errors(answer.text)["code"]
    assert f'value="{secret}"' in answer.text  # the same QR code stays valid
    assert _counts(api) == before

    answer = admin.submit(url, {"secret": secret, "code": totp_code(secret, api.clock.now())})
    assert answer.status_code == 303
    signer = PageClient.anonymous(api)
    assert signer.login("lanhdao").status_code == 401  # now asks for the code
    assert signer.login("lanhdao", otp=totp_code(secret, api.clock.now())).status_code == 303
    assert "Đã bật" in page_text(admin.get("/quan-tri/nguoi-dung/lanhdao").text)

    answer = admin.submit(f"{url}/go", {}, form_page="/quan-tri/nguoi-dung/lanhdao")
    assert answer.status_code == 303
    assert PageClient.anonymous(api).login("lanhdao").status_code == 303


# -- agencies and branches --------------------------------------------------------------------
def test_agencies_and_branches_are_created_and_renamed(api: Api) -> None:
    admin = PageClient.logged_in(api, "quantri")
    answer = admin.submit("/quan-tri/co-quan", {"code": "000.00.20.H40",
                                                "name": "Sở Y tế tỉnh Quảng Ninh"})
    assert answer.status_code == 303
    before = _counts(api)
    answer = admin.submit("/quan-tri/co-quan", {"code": "000.00.20.H40", "name": "Trùng mã"},
                          form_page="/quan-tri/co-quan")
    assert answer.status_code == 409
    assert "đã tồn tại" in field_errors(answer.text)["code"]
    answer = admin.submit("/quan-tri/bo-phan", {"code": "MC CAM PHA", "name": "",
                                                "agency_code": ""},
                          form_page="/quan-tri/co-quan")
    assert answer.status_code == 422
    assert set(field_errors(answer.text)) == {"branch_code", "branch_name",
                                              "branch_agency_code"}
    assert _counts(api) == before
    answer = admin.submit("/quan-tri/bo-phan", {"code": "MC-CAMPHA", "name": "Một cửa Cẩm Phả",
                                                "agency_code": "000.00.20.H40"},
                          form_page="/quan-tri/co-quan")
    assert answer.status_code == 303
    answer = admin.submit("/quan-tri/co-quan/000.00.20.H40", {"name": ""})
    assert answer.status_code == 422
    assert "name" in field_errors(answer.text)
    answer = admin.submit("/quan-tri/co-quan/000.00.20.H40", {"name": "Sở Y tế Quảng Ninh"})
    assert answer.status_code == 303
    answer = admin.submit("/quan-tri/bo-phan/MC-CAMPHA", {"name": "Bộ phận một cửa Cẩm Phả"})
    assert answer.status_code == 303
    text = page_text(admin.get("/quan-tri/co-quan").text)
    assert "Sở Y tế Quảng Ninh" in text
    assert "Bộ phận một cửa Cẩm Phả" in text
    assert admin.get("/quan-tri/co-quan/000.99.99.H40").status_code == 404


# -- certificates and seal authorisations -----------------------------------------------------
def _certificate(common_name: str) -> x509.Certificate:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, common_name)])
    return (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(T0 - timedelta(days=1)).not_valid_after(T0 + timedelta(days=20))
            .sign(key, hashes.SHA256()))


def test_certificate_upload_and_seal_authorisation(api: Api) -> None:
    admin = PageClient.logged_in(api, "quantri")
    url = "/quan-tri/chung-thu-so/dang-ky"
    fields = {"kind": "organisation", "agency_code": AGENCY_WARD, "store": "pkcs11",
              "location": "/usr/lib/softhsm/libsofthsm2.so", "label": "UBND-HALONG"}
    before = _counts(api)
    garbage = admin.submit(url, fields, files={"file": ("seal.pem", b"not a certificate",
                                                        "application/x-pem-file")})
    assert garbage.status_code == 422
    assert "PEM hoặc DER" in field_errors(garbage.text)["file"]
    no_file = admin.submit(url, {**fields, "location": ""})
    assert set(field_errors(no_file.text)) == {"file", "location"}
    der = _certificate("UBND phường Hạ Long").public_bytes(Encoding.DER)
    personal = admin.submit(url, {**fields, "kind": "personal", "owner_username": "tiepnhan"},
                            files={"file": ("seal.cer", der, "application/pkix-cert")})
    assert "lãnh đạo" in field_errors(personal.text)["owner_username"]
    assert _counts(api) == before

    answer = admin.submit(url, fields, files={"file": ("seal.cer", der,
                                                       "application/pkix-cert")})
    assert answer.status_code == 303
    listing = admin.get("/quan-tri/chung-thu-so")
    text = page_text(listing.text)
    assert "UBND phường Hạ Long" in text
    assert "Sắp hết hạn" in text
    again = admin.submit(url, fields, files={"file": ("seal.cer", der, "application/pkix-cert")})
    assert again.status_code == 409
    assert "đã được đăng ký" in field_errors(again.text)["file"]
    pem = _certificate("Nguyễn Văn Hùng").public_bytes(Encoding.PEM)
    answer = admin.submit(url, {**fields, "kind": "personal", "owner_username": "lanhdao",
                                "store": "pkcs12", "location": "/srv/keys/lanhdao.p12"},
                          files={"file": ("lanhdao.pem", pem, "application/x-pem-file")})
    assert answer.status_code == 303

    with api.services.records.store.session(readonly=True) as tx:
        seal = next(c for c in tx.certificates(agency_code=AGENCY_LAND))
    grant = "/quan-tri/chung-thu-so/uy-quyen"
    before = _counts(api)
    answer = admin.submit(grant, {"certificate_id": str(seal.id), "custodian_username": "vanthu",
                                  "valid_from": "2026-12-01", "valid_to": "2027-11-30",
                                  "reference": "", "handover_reference": ""})
    assert answer.status_code == 422
    assert set(field_errors(answer.text)) == {"reference", "handover_reference"}
    assert _counts(api) == before
    answer = admin.submit(grant, {"certificate_id": str(seal.id), "custodian_username": "vanthu",
                                  "valid_from": "2026-12-01", "valid_to": "2027-11-30",
                                  "reference": "Quyết định số 20/QĐ-SNNMT ngày 25/11/2026",
                                  "handover_reference": "Biên bản số 03/BB ngày 26/11/2026"})
    assert answer.status_code == 303
    text = page_text(admin.get("/quan-tri/chung-thu-so").text)
    assert "Quyết định số 20/QĐ-SNNMT ngày 25/11/2026" in text
    assert "Chưa đến ngày" in text


# -- holidays ---------------------------------------------------------------------------------
def test_holidays_are_added_listed_by_year_and_removed(api: Api) -> None:
    admin = PageClient.logged_in(api, "quantri")
    page = page_text(admin.get("/quan-tri/ngay-nghi?nam=2026").text)
    assert "Tết Nguyên đán" in page
    assert "Quốc khánh" in page
    before = _counts(api)
    answer = admin.submit("/quan-tri/ngay-nghi", {"day": "2026-12-30", "name": "Làm bù",
                                                  "working": "1"})
    assert answer.status_code == 422
    assert "thứ Bảy hoặc Chủ nhật" in field_errors(answer.text)["day"]
    answer = admin.submit("/quan-tri/ngay-nghi", {"day": "2026-09-02", "name": "Quốc khánh"})
    assert answer.status_code == 409
    assert "đã có" in field_errors(answer.text)["day"]
    answer = admin.submit("/quan-tri/ngay-nghi", {"day": "", "name": ""})
    assert set(field_errors(answer.text)) == {"day", "name"}
    assert _counts(api) == before
    answer = admin.submit("/quan-tri/ngay-nghi", {"day": "2027-02-06", "name": "Làm bù Tết",
                                                  "working": "1"})
    assert answer.status_code == 303
    assert answer.headers["location"] == "/quan-tri/ngay-nghi?nam=2027"
    page = page_text(admin.get("/quan-tri/ngay-nghi?nam=2027").text)
    assert "06/02/2027 Thứ Bảy Làm bù Tết Ngày làm bù" in page
    answer = admin.submit("/quan-tri/ngay-nghi/2027-02-06/xoa", {},
                          form_page="/quan-tri/ngay-nghi?nam=2027")
    assert answer.status_code == 303
    assert "Làm bù Tết" not in page_text(admin.get("/quan-tri/ngay-nghi?nam=2027").text)
