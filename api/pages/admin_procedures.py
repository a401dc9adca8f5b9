"""Pages: administration of procedures and the papers each requires (/quan-tri/thu-tuc).
Included in ``api.pages.admin``'s router, under its /quan-tri prefix."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from api.bootstrap import Services
from api.pages.admin_common import Admin, Code, Text, admin_deps, field_errors, refusal_status
from api.pages.web import CsrfChecked, FormErrors, PageServices, redirect, render
from records.admin import list_agencies
from records.admin_procedures import (
    ComponentDraft,
    ProcedureDraft,
    create_procedure,
    get_procedure,
    list_procedures,
    update_procedure,
)
from records.authz import Principal
from records.errors import DomainError
from records.model import Procedure

router = APIRouter(include_in_schema=False)

BLANK_COMPONENT_ROWS = 3
Rows = Annotated[list[str], Form(max_length=500)]


@router.get("/thu-tuc")
def procedures(request: Request, services: PageServices, who: Admin) -> Response:
    deps = admin_deps(services)
    agencies = {a.code: a.name for a in list_agencies(deps, who)}
    return render(request, "pages/admin/procedures.html",
                  {"procedures": list_procedures(deps, who), "agencies": agencies}, user=who)


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
    agencies = list_agencies(admin_deps(services), who)
    return render(request, "pages/admin/procedure_form.html",
                  {"form": {**form, "components": rows}, "editing": editing,
                   "errors": errors or {},
                   "agency_options": [("", "— Chọn cơ quan —"),
                                      *((a.code, a.name) for a in agencies)]},
                  user=who, status_code=status_code)


def _procedure_draft(code: str, name: str, agency_code: str, processing_days: str,
                     fee_vnd: str, result_type: str, comp_code: list[str],
                     comp_name: list[str], comp_type: list[str], comp_mandatory: list[str],
                     comp_order: list[str]) -> tuple[ProcedureDraft, dict[str, Any]]:
    count = max(len(comp_code), len(comp_name), len(comp_type))

    def at(values: list[str], n: int, default: str = "") -> str:
        return values[n] if n < len(values) else default

    rows = [ComponentDraft(code=at(comp_code, n), name=at(comp_name, n),
                           document_type=at(comp_type, n),
                           mandatory=at(comp_mandatory, n, "1") == "1",
                           order=at(comp_order, n)) for n in range(count)]
    draft = ProcedureDraft(code=code, name=name, agency_code=agency_code,
                           processing_days=processing_days, fee_vnd=fee_vnd,
                           result_type=result_type, components=tuple(rows))
    form = {"code": code, "name": name, "agency_code": agency_code,
            "processing_days": processing_days, "fee_vnd": fee_vnd, "result_type": result_type,
            "components": [{"code": r.code, "name": r.name, "document_type": r.document_type,
                            "mandatory": r.mandatory, "order": r.order} for r in rows]}
    return draft, form


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
        created = create_procedure(admin_deps(services), who, draft)
    except DomainError as exc:
        if exc.http_status not in (409, 422):
            raise
        return _procedure_page(request, services, who, form=form, editing=False,
                               errors=field_errors(exc), status_code=refusal_status(exc))
    return redirect(request, "/quan-tri/thu-tuc",
                    flash=f"Đã thêm thủ tục «{created.name}» ({created.code}).")


@router.get("/thu-tuc/{code}")
def procedure_edit(request: Request, services: PageServices, who: Admin,
                   code: Code) -> Response:
    procedure = get_procedure(admin_deps(services), who, code)
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
        updated = update_procedure(admin_deps(services), who, code, draft)
    except DomainError as exc:
        if exc.http_status not in (409, 422):
            raise
        return _procedure_page(request, services, who, form=form, editing=True,
                               errors=field_errors(exc), status_code=refusal_status(exc))
    return redirect(request, "/quan-tri/thu-tuc",
                    flash=f"Đã cập nhật thủ tục «{updated.name}».")
