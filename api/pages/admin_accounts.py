"""Pages: administration of user accounts (/quan-tri/nguoi-dung): their roles, agency and
desk, active state, password and two-factor login. Included in ``api.pages.admin``'s router,
under its /quan-tri prefix."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

import segno
from fastapi import APIRouter, Form, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import Response

from api.bootstrap import Services
from api.pages.admin_common import Admin, Text, admin_deps, field_errors, refusal_status
from api.pages.web import ROLE_LABELS, CsrfChecked, FormErrors, PageServices, redirect, render
from records.admin import list_agencies, list_branches
from records.admin_accounts import (
    UserDraft,
    create_account,
    enrol_totp,
    get_account,
    list_accounts,
    new_totp_secret,
    remove_totp,
    reset_password,
    set_account_active,
    totp_uri,
    update_account,
)
from records.authz import Principal
from records.errors import DomainError, InvalidInput
from records.model import Role
from records.repository import User

router = APIRouter(include_in_schema=False)

ROLE_CHOICES = tuple(ROLE_LABELS.items())
RoleList = Annotated[list[str], Form(max_length=40)]
Username = Annotated[str, PathParam(max_length=80)]


def _user_options(services: Services, who: Principal) -> dict[str, Any]:
    deps = admin_deps(services)
    agencies = list_agencies(deps, who)
    branches = list_branches(deps, who)
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
    accounts = list_accounts(admin_deps(services), who, query=q, role=role)
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


@router.post("/nguoi-dung/moi", dependencies=[CsrfChecked])
def user_create(request: Request, services: PageServices, who: Admin,
                username: Text = "", display_name: Text = "",
                roles: RoleList = [],  # noqa: B006 - FastAPI copies the default
                agency_code: Text = "", branch_code: Text = "", owner_id: Text = "",
                password: Annotated[str, Form(max_length=200)] = "") -> Response:
    draft = UserDraft(username=username, display_name=display_name, roles=tuple(roles),
                      agency_code=agency_code, branch_code=branch_code, owner_id=owner_id,
                      password=password)
    try:
        created = create_account(admin_deps(services), who, draft)
    except DomainError as exc:
        if exc.http_status not in (409, 422):
            raise
        form = {"username": username, "display_name": display_name, "roles": roles,
                "agency_code": agency_code, "branch_code": branch_code, "owner_id": owner_id}
        return _user_form_page(request, services, who, form=form, errors=field_errors(exc),
                               status_code=refusal_status(exc))
    return redirect(request, f"/quan-tri/nguoi-dung/{quote(created.username)}",
                    flash=f"Đã tạo tài khoản «{created.username}».")


def _account_form(user: User) -> dict[str, Any]:
    return {"username": user.username, "display_name": user.display_name,
            "roles": sorted(r.value for r in user.roles), "agency_code": user.agency_code or "",
            "branch_code": user.branch_code or "", "owner_id": user.owner_id or ""}


@router.get("/nguoi-dung/{username}")
def user_edit(request: Request, services: PageServices, who: Admin,
              username: Username) -> Response:
    account = get_account(admin_deps(services), who, username)
    return _user_form_page(request, services, who, form=_account_form(account),
                           account=account)


@router.post("/nguoi-dung/{username}", dependencies=[CsrfChecked])
def user_update(request: Request, services: PageServices, who: Admin, username: Username,
                display_name: Text = "",
                roles: RoleList = [],  # noqa: B006 - FastAPI copies the default
                agency_code: Text = "", branch_code: Text = "",
                owner_id: Text = "") -> Response:
    deps = admin_deps(services)
    draft = UserDraft(display_name=display_name, roles=tuple(roles),
                      agency_code=agency_code, branch_code=branch_code, owner_id=owner_id)
    try:
        update_account(deps, who, username, draft)
    except DomainError as exc:
        if exc.http_status not in (409, 422):
            raise
        account = get_account(deps, who, username)
        form = {"username": username, "display_name": display_name, "roles": roles,
                "agency_code": agency_code, "branch_code": branch_code, "owner_id": owner_id}
        return _user_form_page(request, services, who, form=form, account=account,
                               errors=field_errors(exc), status_code=refusal_status(exc))
    return redirect(request, f"/quan-tri/nguoi-dung/{quote(username)}",
                    flash="Đã lưu thay đổi tài khoản.")


@router.post("/nguoi-dung/{username}/trang-thai", dependencies=[CsrfChecked])
def user_active(request: Request, services: PageServices, who: Admin, username: Username,
                action: Annotated[str, Form(max_length=10)] = "") -> Response:
    if action not in {"khoa", "mo"}:
        raise InvalidInput("invalid_action", "Thao tác không hợp lệ.")
    active = action == "mo"
    set_account_active(admin_deps(services), who, username, active=active)
    return redirect(request, f"/quan-tri/nguoi-dung/{quote(username)}",
                    flash="Đã mở lại tài khoản." if active else
                    "Đã khóa tài khoản; các phiên đăng nhập của tài khoản đã kết thúc.")


@router.post("/nguoi-dung/{username}/mat-khau", dependencies=[CsrfChecked])
def user_password(request: Request, services: PageServices, who: Admin, username: Username,
                  password: Annotated[str, Form(max_length=200)] = "") -> Response:
    deps = admin_deps(services)
    try:
        reset_password(deps, who, username, password)
    except InvalidInput as exc:
        account = get_account(deps, who, username)
        return _user_form_page(request, services, who, form=_account_form(account),
                               account=account, errors=field_errors(exc), status_code=422)
    return redirect(request, f"/quan-tri/nguoi-dung/{quote(username)}",
                    flash="Đã đặt lại mật khẩu; người dùng cần đăng nhập lại bằng mật khẩu "
                          "mới.")


def _totp_page(request: Request, services: Services, who: Principal, account: User,
               secret: str, errors: FormErrors | None = None,
               status_code: int = 200) -> Response:
    uri = totp_uri(secret, account.username)
    qr = segno.make(uri, error="m").svg_inline(scale=4, title="Mã QR xác thực hai bước")
    grouped = " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))
    return render(request, "pages/admin/user_totp.html",
                  {"account": account, "secret": secret, "secret_grouped": grouped,
                   "uri": uri, "qr": qr, "errors": errors or {}},
                  user=who, status_code=status_code)


@router.get("/nguoi-dung/{username}/xac-thuc")
def user_totp(request: Request, services: PageServices, who: Admin,
              username: Username) -> Response:
    account = get_account(admin_deps(services), who, username)
    return _totp_page(request, services, who, account, new_totp_secret())


@router.post("/nguoi-dung/{username}/xac-thuc", dependencies=[CsrfChecked])
def user_totp_confirm(request: Request, services: PageServices, who: Admin,
                      username: Username, secret: Annotated[str, Form(max_length=64)] = "",
                      code: Annotated[str, Form(max_length=12)] = "") -> Response:
    deps = admin_deps(services)
    try:
        enrol_totp(deps, who, username, secret=secret, code=code)
    except InvalidInput as exc:
        account = get_account(deps, who, username)
        fresh = exc.code == "invalid_totp_secret"
        return _totp_page(request, services, who, account,
                          new_totp_secret() if fresh else secret.strip().upper(),
                          errors=field_errors(exc, "code"), status_code=422)
    return redirect(request, f"/quan-tri/nguoi-dung/{quote(username)}",
                    flash="Đã bật xác thực hai bước: từ lần đăng nhập sau, tài khoản cần "
                          "thêm mã 6 số.")


@router.post("/nguoi-dung/{username}/xac-thuc/go", dependencies=[CsrfChecked])
def user_totp_remove(request: Request, services: PageServices, who: Admin,
                     username: Username) -> Response:
    remove_totp(admin_deps(services), who, username)
    return redirect(request, f"/quan-tri/nguoi-dung/{quote(username)}",
                    flash="Đã gỡ xác thực hai bước của tài khoản.")
