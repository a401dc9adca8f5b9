"""Pages: administration (/quan-tri) — procedures and their papers, users and roles with
two-factor login, agencies and their desks, certificates and seal authorisations, public
holidays. Administrators only: every route refuses anyone else with the 403 page.

This module holds the overview, agencies and desks, and holidays, and includes the routers of
``api.pages.admin_procedures``, ``api.pages.admin_accounts`` and ``api.pages.admin_seals``
under the same prefix.

A refused form is shown again with what was typed and a message next to each wrong field;
nothing is changed (the use case raises before it writes).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response

from api.bootstrap import Services
from api.pages import admin_accounts, admin_procedures, admin_seals
from api.pages.admin_common import Admin, Code, Text, admin_deps, field_errors, refusal_status
from api.pages.web import CsrfChecked, FormErrors, PageServices, redirect, render
from records.admin import (
    AdminDeps,
    add_holiday,
    create_agency,
    create_branch,
    list_agencies,
    list_branches,
    list_holidays,
    overview,
    remove_holiday,
    rename_agency,
    rename_branch,
)
from records.authz import Principal
from records.calendar import VN_TZ
from records.errors import DomainError, InvalidInput, NotFound
from records.model import Agency, Branch

__all__ = ["router"]

router = APIRouter(prefix="/quan-tri", include_in_schema=False)
for _module in (admin_procedures, admin_accounts, admin_seals):
    router.include_router(_module.router)

WEEKDAYS = ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ nhật")


# -- overview ---------------------------------------------------------------------------------
@router.get("")
def index(request: Request, services: PageServices, who: Admin) -> Response:
    return render(request, "pages/admin/index.html",
                  {"o": overview(admin_deps(services), who)}, user=who)


# -- agencies and branches --------------------------------------------------------------------
def _agencies_page(request: Request, services: Services, who: Principal, *,
                   form: dict[str, Any] | None = None, errors: FormErrors | None = None,
                   status_code: int = 200) -> Response:
    deps = admin_deps(services)
    agencies = list_agencies(deps, who)
    return render(request, "pages/admin/agencies.html",
                  {"agencies": agencies, "branches": list_branches(deps, who),
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
        created = create_agency(admin_deps(services), who, code=code, name=name)
    except DomainError as exc:
        if exc.http_status not in (409, 422):
            raise
        return _agencies_page(request, services, who, form={"code": code, "name": name},
                              errors=field_errors(exc), status_code=refusal_status(exc))
    return redirect(request, "/quan-tri/co-quan", flash=f"Đã thêm cơ quan «{created.name}».")


@router.post("/bo-phan", dependencies=[CsrfChecked])
def branch_create(request: Request, services: PageServices, who: Admin,
                  code: Text = "", name: Text = "", agency_code: Text = "") -> Response:
    try:
        created = create_branch(admin_deps(services), who, code=code, name=name,
                                agency_code=agency_code)
    except DomainError as exc:
        if exc.http_status not in (409, 422):
            raise
        # The branch form's fields carry a prefix: both forms share one page.
        errors = {f"branch_{k}" if k != "_form" else k: v
                  for k, v in field_errors(exc).items()}
        form = {"branch_code": code, "branch_name": name, "branch_agency_code": agency_code}
        return _agencies_page(request, services, who, form=form, errors=errors,
                              status_code=refusal_status(exc))
    return redirect(request, "/quan-tri/co-quan",
                    flash=f"Đã thêm bộ phận tiếp nhận «{created.name}».")


@dataclass(frozen=True, kw_only=True, slots=True)
class _Unit:
    """An agency or a desk on the rename page: the same form, told apart by these."""

    kind: str  # the path segment, which the page posts back to
    listing: Callable[[AdminDeps, Principal], Sequence[Agency | Branch]]
    rename: Callable[[AdminDeps, Principal, str, str], Agency | Branch]
    not_found: str  # the NotFound error's code
    not_found_message: str
    done: str  # the flash message once renamed


_AGENCY = _Unit(kind="co-quan", listing=list_agencies, rename=rename_agency,
                not_found="agency_not_found", not_found_message="Không có cơ quan này.",
                done="Đã đổi tên cơ quan.")
_BRANCH = _Unit(kind="bo-phan", listing=list_branches, rename=rename_branch,
                not_found="branch_not_found",
                not_found_message="Không có bộ phận tiếp nhận này.",
                done="Đã đổi tên bộ phận tiếp nhận.")


def _rename_page(request: Request, who: Principal, unit: _Unit, *, code: str, name: str,
                 errors: FormErrors | None = None, status_code: int = 200) -> Response:
    return render(request, "pages/admin/rename.html",
                  {"kind": unit.kind, "code": code, "form": {"name": name},
                   "errors": errors or {}}, user=who, status_code=status_code)


def _rename_form(request: Request, services: Services, who: Principal, unit: _Unit,
                 code: str) -> Response:
    found = {u.code: u for u in unit.listing(admin_deps(services), who)}.get(code)
    if found is None:
        raise NotFound(unit.not_found, unit.not_found_message)
    return _rename_page(request, who, unit, code=code, name=found.name)


def _rename(request: Request, services: Services, who: Principal, unit: _Unit,
            code: str, name: str) -> Response:
    try:
        unit.rename(admin_deps(services), who, code, name)
    except InvalidInput as exc:
        return _rename_page(request, who, unit, code=code, name=name,
                            errors=field_errors(exc), status_code=422)
    return redirect(request, "/quan-tri/co-quan", flash=unit.done)


@router.get("/co-quan/{code}")
def agency_edit(request: Request, services: PageServices, who: Admin, code: Code) -> Response:
    return _rename_form(request, services, who, _AGENCY, code)


@router.post("/co-quan/{code}", dependencies=[CsrfChecked])
def agency_rename(request: Request, services: PageServices, who: Admin, code: Code,
                  name: Text = "") -> Response:
    return _rename(request, services, who, _AGENCY, code, name)


@router.get("/bo-phan/{code}")
def branch_edit(request: Request, services: PageServices, who: Admin, code: Code) -> Response:
    return _rename_form(request, services, who, _BRANCH, code)


@router.post("/bo-phan/{code}", dependencies=[CsrfChecked])
def branch_rename(request: Request, services: PageServices, who: Admin, code: Code,
                  name: Text = "") -> Response:
    return _rename(request, services, who, _BRANCH, code, name)


# -- public holidays --------------------------------------------------------------------------
def _holidays_page(request: Request, services: Services, who: Principal, year: int, *,
                   form: dict[str, Any] | None = None, errors: FormErrors | None = None,
                   status_code: int = 200) -> Response:
    days = list_holidays(admin_deps(services), who, year)
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
        added = add_holiday(admin_deps(services), who, day=day, name=name, working=working == "1")
    except DomainError as exc:
        if exc.http_status not in (409, 422):
            raise
        year = _year_of(day) or services.clock.now().astimezone(VN_TZ).year
        return _holidays_page(request, services, who, year,
                              form={"day": day, "name": name, "working": working == "1"},
                              errors=field_errors(exc), status_code=refusal_status(exc))
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
    remove_holiday(admin_deps(services), who, day)
    return redirect(request, f"/quan-tri/ngay-nghi?nam={day.year}",
                    flash=f"Đã xóa ngày {day:%d/%m/%Y} khỏi danh sách.")
