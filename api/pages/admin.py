"""Pages: administration (/quan-tri) — procedures and their papers, users and roles with
two-factor login, agencies and their desks, certificates and seal authorisations, public
holidays. Administrators only: every route refuses anyone else with the 403 page.

A refused form is shown again with what was typed and a message next to each wrong field;
nothing is changed (the use case raises before it writes).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any
from urllib.parse import quote

import segno
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi import Path as PathParam
from fastapi.responses import Response

from api.bootstrap import Services
from api.pages.web import (
    ROLE_LABELS,
    CsrfChecked,
    FormErrors,
    PageServices,
    PageUser,
    form_errors_of,
    redirect,
    render,
)
from records import admin as uc
from records.authz import Action, Principal, authorize
from records.calendar import VN_TZ
from records.certificates import register_certificate
from records.errors import DomainError, InvalidInput, NotFound
from records.model import CertificateKind, Procedure, Role
from records.repository import User
from signing.service import describe_certificate

router = APIRouter(prefix="/quan-tri", include_in_schema=False)

MAX_CERTIFICATE_BYTES = 64 * 1024
BLANK_COMPONENT_ROWS = 3
WEEKDAYS = ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ nhật")
ROLE_CHOICES = tuple(ROLE_LABELS.items())


def _admin(who: PageUser) -> Principal:
    authorize(who, Action.ADMINISTER)
    return who


Admin = Annotated[Principal, Depends(_admin)]


def _deps(services: Services) -> uc.AdminDeps:
    accounts = services.accounts
    return uc.AdminDeps(store=accounts.store, clock=accounts.clock, hasher=accounts.hasher,
                        audit_key=accounts.audit_key)


def _errors(exc: DomainError, default_field: str = "_form") -> FormErrors:
    if isinstance(exc, uc.InvalidFields):
        return dict(exc.fields)
    return form_errors_of(exc, default_field)


def _status(exc: DomainError) -> int:
    return exc.http_status if exc.http_status in (409, 422) else 422


Text = Annotated[str, Form(max_length=500)]
Code = Annotated[str, PathParam(max_length=80)]


# -- overview ---------------------------------------------------------------------------------
@router.get("")
def index(request: Request, services: PageServices, who: Admin) -> Response:
    return render(request, "pages/admin/index.html",
                  {"o": uc.overview(_deps(services), who)}, user=who)


# -- procedures -------------------------------------------------------------------------------
@router.get("/thu-tuc")
def procedures(request: Request, services: PageServices, who: Admin) -> Response:
    deps = _deps(services)
    agencies = {a.code: a.name for a in uc.list_agencies(deps, who)}
    return render(request, "pages/admin/procedures.html",
                  {"procedures": uc.list_procedures(deps, who), "agencies": agencies}, user=who)


def _procedure_form(procedure: Procedure) -> dict[str, Any]:
    return {"code": procedure.code, "name": procedure.name,
            "agency_code": procedure.agency_code,
            "processing_days": str(procedure.processing_days),
            "fee_vnd": str(procedure.fee_vnd), "result_type": procedure.result_type,
            "components": [{"code": c.code, "name": c.name, "document_type": c.document_type,
                            "mandatory": c.mandatory, "order": str(n + 1)}
                           for n, c in enumerate(procedure.components)]}


def _procedure_page(request: Request, services: Services, who: Principal, *,
                    form: dict[str, Any], editing: bool, errors: FormErrors | None = None,
                    status_code: int = 200) -> Response:
    rows = list(form.get("components", []))
    rows += [{"code": "", "name": "", "document_type": "", "mandatory": True, "order": ""}
             for _ in range(BLANK_COMPONENT_ROWS)]
    agencies = uc.list_agencies(_deps(services), who)
    return render(request, "pages/admin/procedure_form.html",
                  {"form": {**form, "components": rows}, "editing": editing,
                   "errors": errors or {},
                   "agency_options": [("", "— Chọn cơ quan —"),
                                      *((a.code, a.name) for a in agencies)]},
                  user=who, status_code=status_code)


def _procedure_draft(code: str, name: str, agency_code: str, processing_days: str,
                     fee_vnd: str, result_type: str, comp_code: list[str],
                     comp_name: list[str], comp_type: list[str], comp_mandatory: list[str],
                     comp_order: list[str]) -> tuple[uc.ProcedureDraft, dict[str, Any]]:
    count = max(len(comp_code), len(comp_name), len(comp_type))

    def at(values: list[str], n: int, default: str = "") -> str:
        return values[n] if n < len(values) else default

    rows = [uc.ComponentDraft(code=at(comp_code, n), name=at(comp_name, n),
                              document_type=at(comp_type, n),
                              mandatory=at(comp_mandatory, n, "1") == "1",
                              order=at(comp_order, n)) for n in range(count)]
    draft = uc.ProcedureDraft(code=code, name=name, agency_code=agency_code,
                              processing_days=processing_days, fee_vnd=fee_vnd,
                              result_type=result_type, components=tuple(rows))
    form = {"code": code, "name": name, "agency_code": agency_code,
            "processing_days": processing_days, "fee_vnd": fee_vnd, "result_type": result_type,
            "components": [{"code": r.code, "name": r.name, "document_type": r.document_type,
                            "mandatory": r.mandatory, "order": r.order} for r in rows]}
    return draft, form


Rows = Annotated[list[str], Form(max_length=500)]


@router.get("/thu-tuc/moi")
def procedure_new(request: Request, services: PageServices, who: Admin) -> Response:
    return _procedure_page(request, services, who, form={"fee_vnd": "0"}, editing=False)


@router.post("/thu-tuc/moi", dependencies=[CsrfChecked])
def procedure_create(request: Request, services: PageServices, who: Admin,
                     code: Text = "", name: Text = "", agency_code: Text = "",
                     processing_days: Text = "", fee_vnd: Text = "", result_type: Text = "",
                     comp_code: Rows = [], comp_name: Rows = [],  # noqa: B006 - FastAPI copies
                     comp_type: Rows = [], comp_mandatory: Rows = [],  # noqa: B006
                     comp_order: Rows = []) -> Response:  # noqa: B006
    draft, form = _procedure_draft(code, name, agency_code, processing_days, fee_vnd,
                                   result_type, comp_code, comp_name, comp_type,
                                   comp_mandatory, comp_order)
    try:
        created = uc.create_procedure(_deps(services), who, draft)
    except DomainError as exc:
        if exc.http_status not in (409, 422):
            raise
        return _procedure_page(request, services, who, form=form, editing=False,
                               errors=_errors(exc), status_code=_status(exc))
    return redirect(request, "/quan-tri/thu-tuc",
                    flash=f"Đã thêm thủ tục «{created.name}» ({created.code}).")


@router.get("/thu-tuc/{code}")
def procedure_edit(request: Request, services: PageServices, who: Admin,
                   code: Code) -> Response:
    procedure = uc.get_procedure(_deps(services), who, code)
    return _procedure_page(request, services, who, form=_procedure_form(procedure),
                           editing=True)


@router.post("/thu-tuc/{code}", dependencies=[CsrfChecked])
def procedure_update(request: Request, services: PageServices, who: Admin, code: Code,
                     name: Text = "", agency_code: Text = "", processing_days: Text = "",
                     fee_vnd: Text = "", result_type: Text = "",
                     comp_code: Rows = [], comp_name: Rows = [],  # noqa: B006
                     comp_type: Rows = [], comp_mandatory: Rows = [],  # noqa: B006
                     comp_order: Rows = []) -> Response:  # noqa: B006
    draft, form = _procedure_draft(code, name, agency_code, processing_days, fee_vnd,
                                   result_type, comp_code, comp_name, comp_type,
                                   comp_mandatory, comp_order)
    try:
        updated = uc.update_procedure(_deps(services), who, code, draft)
    except DomainError as exc:
        if exc.http_status not in (409, 422):
            raise
        return _procedure_page(request, services, who, form=form, editing=True,
                               errors=_errors(exc), status_code=_status(exc))
    return redirect(request, "/quan-tri/thu-tuc",
                    flash=f"Đã cập nhật thủ tục «{updated.name}».")


# -- users ------------------------------------------------------------------------------------
def _user_options(services: Services, who: Principal) -> dict[str, Any]:
    deps = _deps(services)
    agencies = uc.list_agencies(deps, who)
    branches = uc.list_branches(deps, who)
    return {"agency_options": [("", "— Không thuộc cơ quan —"),
                               *((a.code, a.name) for a in agencies)],
            "branch_options": [("", "— Không thuộc bộ phận —"),
                               *((b.code, b.name) for b in branches)],
            "role_choices": ROLE_CHOICES}


def _user_state(user: User, services: Services) -> str:
    if not user.active:
        return "Đã khóa"
    if user.locked_until is not None and user.locked_until > services.clock.now():
        return "Tạm khóa (đăng nhập sai nhiều lần)"
    return "Hoạt động"


@router.get("/nguoi-dung")
def users(request: Request, services: PageServices, who: Admin,
          q: Annotated[str, Query(max_length=100)] = "",
          vai_tro: Annotated[str, Query(max_length=40)] = "") -> Response:
    role = Role(vai_tro) if vai_tro in {r.value for r in Role} else None
    accounts = uc.list_accounts(_deps(services), who, query=q, role=role)
    rows = [{"user": u, "state": _user_state(u, services)} for u in accounts]
    return render(request, "pages/admin/users.html",
                  {"rows": rows, "q": q, "vai_tro": role.value if role else "",
                   "role_options": [("", "Mọi vai trò"), *ROLE_CHOICES]}, user=who)


def _user_form_page(request: Request, services: Services, who: Principal, *,
                    form: dict[str, Any], account: User | None = None,
                    errors: FormErrors | None = None, status_code: int = 200) -> Response:
    context = {"form": form, "account": account, "errors": errors or {},
               **_user_options(services, who)}
    if account is not None:
        context["state"] = _user_state(account, services)
    return render(request, "pages/admin/user_form.html", context, user=who,
                  status_code=status_code)


@router.get("/nguoi-dung/moi")
def user_new(request: Request, services: PageServices, who: Admin) -> Response:
    return _user_form_page(request, services, who, form={"roles": []})


RoleList = Annotated[list[str], Form(max_length=40)]


@router.post("/nguoi-dung/moi", dependencies=[CsrfChecked])
def user_create(request: Request, services: PageServices, who: Admin,
                username: Text = "", display_name: Text = "",
                roles: RoleList = [],  # noqa: B006 - FastAPI copies the default
                agency_code: Text = "", branch_code: Text = "", owner_id: Text = "",
                password: Annotated[str, Form(max_length=200)] = "") -> Response:
    draft = uc.UserDraft(username=username, display_name=display_name, roles=tuple(roles),
                         agency_code=agency_code, branch_code=branch_code, owner_id=owner_id,
                         password=password)
    try:
        created = uc.create_account(_deps(services), who, draft)
    except DomainError as exc:
        if exc.http_status not in (409, 422):
            raise
        form = {"username": username, "display_name": display_name, "roles": roles,
                "agency_code": agency_code, "branch_code": branch_code, "owner_id": owner_id}
        return _user_form_page(request, services, who, form=form, errors=_errors(exc),
                               status_code=_status(exc))
    return redirect(request, f"/quan-tri/nguoi-dung/{quote(created.username)}",
                    flash=f"Đã tạo tài khoản «{created.username}».")


def _account_form(user: User) -> dict[str, Any]:
    return {"username": user.username, "display_name": user.display_name,
            "roles": sorted(r.value for r in user.roles), "agency_code": user.agency_code or "",
            "branch_code": user.branch_code or "", "owner_id": user.owner_id or ""}


Username = Annotated[str, PathParam(max_length=80)]


@router.get("/nguoi-dung/{username}")
def user_edit(request: Request, services: PageServices, who: Admin,
              username: Username) -> Response:
    account = uc.get_account(_deps(services), who, username)
    return _user_form_page(request, services, who, form=_account_form(account),
                           account=account)


@router.post("/nguoi-dung/{username}", dependencies=[CsrfChecked])
def user_update(request: Request, services: PageServices, who: Admin, username: Username,
                display_name: Text = "",
                roles: RoleList = [],  # noqa: B006 - FastAPI copies the default
                agency_code: Text = "", branch_code: Text = "",
                owner_id: Text = "") -> Response:
    deps = _deps(services)
    draft = uc.UserDraft(display_name=display_name, roles=tuple(roles),
                         agency_code=agency_code, branch_code=branch_code, owner_id=owner_id)
    try:
        uc.update_account(deps, who, username, draft)
    except DomainError as exc:
        if exc.http_status not in (409, 422):
            raise
        account = uc.get_account(deps, who, username)
        form = {"username": username, "display_name": display_name, "roles": roles,
                "agency_code": agency_code, "branch_code": branch_code, "owner_id": owner_id}
        return _user_form_page(request, services, who, form=form, account=account,
                               errors=_errors(exc), status_code=_status(exc))
    return redirect(request, f"/quan-tri/nguoi-dung/{quote(username)}",
                    flash="Đã lưu thay đổi tài khoản.")


@router.post("/nguoi-dung/{username}/trang-thai", dependencies=[CsrfChecked])
def user_active(request: Request, services: PageServices, who: Admin, username: Username,
                action: Annotated[str, Form(max_length=10)] = "") -> Response:
    if action not in {"khoa", "mo"}:
        raise InvalidInput("invalid_action", "Thao tác không hợp lệ.")
    active = action == "mo"
    uc.set_account_active(_deps(services), who, username, active=active)
    return redirect(request, f"/quan-tri/nguoi-dung/{quote(username)}",
                    flash="Đã mở lại tài khoản." if active else
                    "Đã khóa tài khoản; các phiên đăng nhập của tài khoản đã kết thúc.")


@router.post("/nguoi-dung/{username}/mat-khau", dependencies=[CsrfChecked])
def user_password(request: Request, services: PageServices, who: Admin, username: Username,
                  password: Annotated[str, Form(max_length=200)] = "") -> Response:
    deps = _deps(services)
    try:
        uc.reset_password(deps, who, username, password)
    except InvalidInput as exc:
        account = uc.get_account(deps, who, username)
        return _user_form_page(request, services, who, form=_account_form(account),
                               account=account, errors=_errors(exc), status_code=422)
    return redirect(request, f"/quan-tri/nguoi-dung/{quote(username)}",
                    flash="Đã đặt lại mật khẩu; người dùng cần đăng nhập lại bằng mật khẩu "
                          "mới.")


def _totp_page(request: Request, services: Services, who: Principal, account: User,
               secret: str, errors: FormErrors | None = None,
               status_code: int = 200) -> Response:
    uri = uc.totp_uri(secret, account.username)
    qr = segno.make(uri, error="m").svg_inline(scale=4, title="Mã QR xác thực hai bước")
    grouped = " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))
    return render(request, "pages/admin/user_totp.html",
                  {"account": account, "secret": secret, "secret_grouped": grouped,
                   "uri": uri, "qr": qr, "errors": errors or {}},
                  user=who, status_code=status_code)


@router.get("/nguoi-dung/{username}/xac-thuc")
def user_totp(request: Request, services: PageServices, who: Admin,
              username: Username) -> Response:
    account = uc.get_account(_deps(services), who, username)
    return _totp_page(request, services, who, account, uc.new_totp_secret())


@router.post("/nguoi-dung/{username}/xac-thuc", dependencies=[CsrfChecked])
def user_totp_confirm(request: Request, services: PageServices, who: Admin,
                      username: Username, secret: Annotated[str, Form(max_length=64)] = "",
                      code: Annotated[str, Form(max_length=12)] = "") -> Response:
    deps = _deps(services)
    try:
        uc.enrol_totp(deps, who, username, secret=secret, code=code)
    except InvalidInput as exc:
        account = uc.get_account(deps, who, username)
        fresh = exc.code == "invalid_totp_secret"
        return _totp_page(request, services, who, account,
                          uc.new_totp_secret() if fresh else secret.strip().upper(),
                          errors=_errors(exc, "code"), status_code=422)
    return redirect(request, f"/quan-tri/nguoi-dung/{quote(username)}",
                    flash="Đã bật xác thực hai bước: từ lần đăng nhập sau, tài khoản cần "
                          "thêm mã 6 số.")


@router.post("/nguoi-dung/{username}/xac-thuc/go", dependencies=[CsrfChecked])
def user_totp_remove(request: Request, services: PageServices, who: Admin,
                     username: Username) -> Response:
    uc.remove_totp(_deps(services), who, username)
    return redirect(request, f"/quan-tri/nguoi-dung/{quote(username)}",
                    flash="Đã gỡ xác thực hai bước của tài khoản.")


# -- agencies and branches --------------------------------------------------------------------
def _agencies_page(request: Request, services: Services, who: Principal, *,
                   form: dict[str, Any] | None = None, errors: FormErrors | None = None,
                   status_code: int = 200) -> Response:
    deps = _deps(services)
    agencies = uc.list_agencies(deps, who)
    return render(request, "pages/admin/agencies.html",
                  {"agencies": agencies, "branches": uc.list_branches(deps, who),
                   "agency_names": {a.code: a.name for a in agencies},
                   "agency_options": [("", "— Chọn cơ quan —"),
                                      *((a.code, a.name) for a in agencies)],
                   "form": form or {}, "errors": errors or {}},
                  user=who, status_code=status_code)


@router.get("/co-quan")
def agencies(request: Request, services: PageServices, who: Admin) -> Response:
    return _agencies_page(request, services, who)


@router.post("/co-quan", dependencies=[CsrfChecked])
def agency_create(request: Request, services: PageServices, who: Admin,
                  code: Text = "", name: Text = "") -> Response:
    try:
        created = uc.create_agency(_deps(services), who, code=code, name=name)
    except DomainError as exc:
        if exc.http_status not in (409, 422):
            raise
        return _agencies_page(request, services, who, form={"code": code, "name": name},
                              errors=_errors(exc), status_code=_status(exc))
    return redirect(request, "/quan-tri/co-quan", flash=f"Đã thêm cơ quan «{created.name}».")


@router.post("/bo-phan", dependencies=[CsrfChecked])
def branch_create(request: Request, services: PageServices, who: Admin,
                  code: Text = "", name: Text = "", agency_code: Text = "") -> Response:
    try:
        created = uc.create_branch(_deps(services), who, code=code, name=name,
                                   agency_code=agency_code)
    except DomainError as exc:
        if exc.http_status not in (409, 422):
            raise
        # The branch form's fields carry a prefix: both forms share one page.
        errors = {f"branch_{k}" if k != "_form" else k: v for k, v in _errors(exc).items()}
        form = {"branch_code": code, "branch_name": name, "branch_agency_code": agency_code}
        return _agencies_page(request, services, who, form=form, errors=errors,
                              status_code=_status(exc))
    return redirect(request, "/quan-tri/co-quan",
                    flash=f"Đã thêm bộ phận tiếp nhận «{created.name}».")


def _rename_page(request: Request, who: Principal, *, kind: str, code: str, name: str,
                 errors: FormErrors | None = None, status_code: int = 200) -> Response:
    return render(request, "pages/admin/rename.html",
                  {"kind": kind, "code": code, "form": {"name": name},
                   "errors": errors or {}}, user=who, status_code=status_code)


@router.get("/co-quan/{code}")
def agency_edit(request: Request, services: PageServices, who: Admin, code: Code) -> Response:
    found = {a.code: a for a in uc.list_agencies(_deps(services), who)}.get(code)
    if found is None:
        raise NotFound("agency_not_found", "Không có cơ quan này.")
    return _rename_page(request, who, kind="co-quan", code=code, name=found.name)


@router.post("/co-quan/{code}", dependencies=[CsrfChecked])
def agency_rename(request: Request, services: PageServices, who: Admin, code: Code,
                  name: Text = "") -> Response:
    try:
        uc.rename_agency(_deps(services), who, code, name)
    except InvalidInput as exc:
        return _rename_page(request, who, kind="co-quan", code=code, name=name,
                            errors=_errors(exc), status_code=422)
    return redirect(request, "/quan-tri/co-quan", flash="Đã đổi tên cơ quan.")


@router.get("/bo-phan/{code}")
def branch_edit(request: Request, services: PageServices, who: Admin, code: Code) -> Response:
    found = {b.code: b for b in uc.list_branches(_deps(services), who)}.get(code)
    if found is None:
        raise NotFound("branch_not_found", "Không có bộ phận tiếp nhận này.")
    return _rename_page(request, who, kind="bo-phan", code=code, name=found.name)


@router.post("/bo-phan/{code}", dependencies=[CsrfChecked])
def branch_rename(request: Request, services: PageServices, who: Admin, code: Code,
                  name: Text = "") -> Response:
    try:
        uc.rename_branch(_deps(services), who, code, name)
    except InvalidInput as exc:
        return _rename_page(request, who, kind="bo-phan", code=code, name=name,
                            errors=_errors(exc), status_code=422)
    return redirect(request, "/quan-tri/co-quan", flash="Đã đổi tên bộ phận tiếp nhận.")


# -- certificates and seal authorisations -----------------------------------------------------
@router.get("/chung-thu-so")
def certificates(request: Request, services: PageServices, who: Admin) -> Response:
    deps = _deps(services)
    now = services.clock.now()
    certs = uc.list_certificates(deps, who)
    by_id = {c.id: c for c in certs}
    agencies = {a.code: a.name for a in uc.list_agencies(deps, who)}
    return render(request, "pages/admin/certificates.html",
                  {"certificates": certs, "by_id": by_id, "agencies": agencies,
                   "authorisations": uc.list_authorisations(deps, who), "now": now,
                   "soon": now + uc.EXPIRY_WARNING}, user=who)


def _people(services: Services, who: Principal, role: Role) -> list[tuple[str, str]]:
    return [(u.username, f"{u.display_name} ({u.username})")
            for u in uc.list_accounts(_deps(services), who, role=role, limit=1000)
            if u.active]


def _certificate_page(request: Request, services: Services, who: Principal, *,
                      form: dict[str, Any] | None = None, errors: FormErrors | None = None,
                      status_code: int = 200) -> Response:
    agencies = uc.list_agencies(_deps(services), who)
    return render(request, "pages/admin/certificate_form.html",
                  {"form": form or {"kind": "organisation", "store": "pkcs12"},
                   "errors": errors or {},
                   "owner_options": [("", "— Lãnh đạo sở hữu chứng thư —"),
                                     *_people(services, who, Role.SIGNER)],
                   "agency_options": [("", "— Cơ quan sở hữu con dấu —"),
                                      *((a.code, a.name) for a in agencies)]},
                  user=who, status_code=status_code)


@router.get("/chung-thu-so/dang-ky")
def certificate_new(request: Request, services: PageServices, who: Admin) -> Response:
    return _certificate_page(request, services, who)


def _pem_of(data: bytes) -> bytes:
    """The certificate of a PEM or DER file, as PEM; ValueError if it is neither."""
    if b"-----BEGIN CERTIFICATE-----" in data:
        return x509.load_pem_x509_certificate(data).public_bytes(Encoding.PEM)
    return x509.load_der_x509_certificate(data).public_bytes(Encoding.PEM)


@router.post("/chung-thu-so/dang-ky", dependencies=[CsrfChecked])
def certificate_register(request: Request, services: PageServices, who: Admin,
                         file: Annotated[UploadFile | None, File()] = None,
                         kind: Annotated[str, Form(max_length=20)] = "",
                         owner_username: Text = "", agency_code: Text = "",
                         store: Annotated[str, Form(max_length=20)] = "",
                         location: Text = "", label: Text = "") -> Response:
    form = {"kind": kind, "owner_username": owner_username, "agency_code": agency_code,
            "store": store, "location": location, "label": label}
    errors: FormErrors = {}
    data = file.file.read(MAX_CERTIFICATE_BYTES + 1) if file is not None else b""
    pem = b""
    if not data:
        errors["file"] = "Vui lòng chọn tệp chứng thư số (.pem, .crt hoặc .cer)."
    elif len(data) > MAX_CERTIFICATE_BYTES:
        errors["file"] = "Tệp quá lớn để là một chứng thư số."
    else:
        try:
            pem = _pem_of(data)
        except ValueError:
            errors["file"] = "Tệp không phải chứng thư số X.509 dạng PEM hoặc DER."
    if kind not in {k.value for k in CertificateKind}:
        errors["kind"] = "Vui lòng chọn loại chứng thư số."
    if not location.strip():
        errors["location"] = ("Vui lòng nhập nơi lưu khóa bí mật (đường dẫn tệp PKCS#12 hoặc "
                              "thư viện PKCS#11).")
    if errors:
        return _certificate_page(request, services, who, form=form, errors=errors,
                                 status_code=422)
    personal = kind == CertificateKind.PERSONAL.value
    record = describe_certificate(
        pem, kind=CertificateKind(kind), store=store, location=location.strip(),
        label=label.strip(), owner_username=owner_username.strip() if personal else None,
        agency_code=None if personal else agency_code.strip())
    try:
        stored = register_certificate(uc.certificate_deps(_deps(services)), who, record)
    except DomainError as exc:
        if exc.http_status not in (409, 422):
            raise
        return _certificate_page(request, services, who, form=form,
                                 errors=_errors(exc, "file"), status_code=_status(exc))
    return redirect(request, "/quan-tri/chung-thu-so",
                    flash=f"Đã đăng ký chứng thư số «{stored.subject}».")


def _authorisation_page(request: Request, services: Services, who: Principal, *,
                        form: dict[str, Any] | None = None, errors: FormErrors | None = None,
                        status_code: int = 200) -> Response:
    deps = _deps(services)
    now = services.clock.now()
    agencies = {a.code: a.name for a in uc.list_agencies(deps, who)}
    seals = [(str(c.id), f"{c.subject} — {agencies.get(c.agency_code or '', c.agency_code)}")
             for c in uc.list_certificates(deps, who)
             if c.kind is CertificateKind.ORGANISATION and c.not_after > now]
    today = now.astimezone(VN_TZ).date()
    return render(request, "pages/admin/authorisation_form.html",
                  {"form": form or {"valid_from": today.isoformat(),
                                    "valid_to": (today + timedelta(days=365)).isoformat()},
                   "errors": errors or {},
                   "certificate_options": [("", "— Chọn chứng thư số tổ chức —"), *seals],
                   "custodian_options": [("", "— Chọn văn thư —"),
                                         *_people(services, who, Role.SEAL_CUSTODIAN)]},
                  user=who, status_code=status_code)


@router.get("/chung-thu-so/uy-quyen")
def authorisation_new(request: Request, services: PageServices, who: Admin) -> Response:
    return _authorisation_page(request, services, who)


@router.post("/chung-thu-so/uy-quyen", dependencies=[CsrfChecked])
def authorisation_grant(request: Request, services: PageServices, who: Admin,
                        certificate_id: Annotated[str, Form(max_length=20)] = "",
                        custodian_username: Text = "",
                        valid_from: Annotated[str, Form(max_length=20)] = "",
                        valid_to: Annotated[str, Form(max_length=20)] = "",
                        reference: Text = "", handover_reference: Text = "") -> Response:
    draft = uc.AuthorisationDraft(certificate_id=certificate_id,
                                  custodian_username=custodian_username,
                                  valid_from=valid_from, valid_to=valid_to,
                                  reference=reference, handover_reference=handover_reference)
    try:
        granted = uc.grant_authorisation(_deps(services), who, draft)
    except DomainError as exc:
        if exc.http_status not in (409, 422):
            raise
        form = {"certificate_id": certificate_id, "custodian_username": custodian_username,
                "valid_from": valid_from, "valid_to": valid_to, "reference": reference,
                "handover_reference": handover_reference}
        return _authorisation_page(request, services, who, form=form, errors=_errors(exc),
                                   status_code=_status(exc))
    return redirect(request, "/quan-tri/chung-thu-so",
                    flash=f"Đã giao quyền sử dụng con dấu số cho «{granted.custodian_username}».")


# -- public holidays --------------------------------------------------------------------------
def _holidays_page(request: Request, services: Services, who: Principal, year: int, *,
                   form: dict[str, Any] | None = None, errors: FormErrors | None = None,
                   status_code: int = 200) -> Response:
    days = uc.list_holidays(_deps(services), who, year)
    rows = [{"holiday": h, "weekday": WEEKDAYS[h.day.weekday()]} for h in days]
    return render(request, "pages/admin/holidays.html",
                  {"rows": rows, "year": year, "form": form or {}, "errors": errors or {}},
                  user=who, status_code=status_code)


@router.get("/ngay-nghi")
def holidays(request: Request, services: PageServices, who: Admin,
             nam: Annotated[int | None, Query(ge=2000, le=2100)] = None) -> Response:
    year = nam or services.clock.now().astimezone(VN_TZ).year
    return _holidays_page(request, services, who, year)


@router.post("/ngay-nghi", dependencies=[CsrfChecked])
def holiday_add(request: Request, services: PageServices, who: Admin,
                day: Annotated[str, Form(max_length=20)] = "", name: Text = "",
                working: Annotated[str, Form(max_length=5)] = "") -> Response:
    try:
        added = uc.add_holiday(_deps(services), who, day=day, name=name, working=working == "1")
    except DomainError as exc:
        if exc.http_status not in (409, 422):
            raise
        year = _year_of(day) or services.clock.now().astimezone(VN_TZ).year
        return _holidays_page(request, services, who, year,
                              form={"day": day, "name": name, "working": working == "1"},
                              errors=_errors(exc), status_code=_status(exc))
    kind = "ngày làm bù" if added.working else "ngày nghỉ"
    return redirect(request, f"/quan-tri/ngay-nghi?nam={added.day.year}",
                    flash=f"Đã thêm {kind} {added.day:%d/%m/%Y}: {added.name}.")


def _year_of(text: str) -> int | None:
    try:
        return date.fromisoformat(text.strip()).year
    except ValueError:
        return None


@router.post("/ngay-nghi/{day}/xoa", dependencies=[CsrfChecked])
def holiday_remove(request: Request, services: PageServices, who: Admin,
                   day: date) -> Response:
    uc.remove_holiday(_deps(services), who, day)
    return redirect(request, f"/quan-tri/ngay-nghi?nam={day.year}",
                    flash=f"Đã xóa ngày {day:%d/%m/%Y} khỏi danh sách.")
