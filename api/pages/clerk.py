"""Pages of the one-stop clerk (cán bộ một cửa), and the dossier page every staff role shares.

Intake at the desk, the dossier list, the dossier page (papers, scans, OCR progress, reuse,
history and the steps this user may take), a document's page, the receipt and appointment
slip [Circular 01/2018 form 01], and the hand-over of the result. Every route goes through a
use case of ``records``; nothing here reads the store.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Annotated
from urllib.parse import urlencode
from uuid import uuid4

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi import Path as PathParam
from fastapi.responses import Response
from jinja2 import TemplateNotFound

from api.files import send_blob, spooled_uploads
from api.pages.web import (
    CsrfChecked,
    PageServices,
    PageUser,
    form_errors_of,
    format_date,
    redirect,
    render,
    templates,
)
from records.authz import Principal
from records.documents import (
    DossierPaper,
    PaperState,
    add_document,
    dossier_documents,
    get_document,
    open_document_file,
    review_page,
)
from records.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    TooLarge,
    TransitionRefused,
)
from records.identifiers import validate_owner_id
from records.lifecycle import TransitionRequest
from records.model import CopyKind, DossierStatus, RequiredComponent, Role, StoreItem
from records.result_reads import open_result
from records.reuse import attach_reused, reuse_suggestions
from records.services import (
    CreateDossier,
    Desk,
    allowed_actions,
    create_dossier,
    get_dossier,
    intake_desk,
    list_dossier_rows,
    list_procedures,
    receipt_of,
    transition_dossier,
)
from records.workflow import STATES, TransitionSpec, transition_named

router = APIRouter(include_in_schema=False)

Code = Annotated[str, PathParam(min_length=1, max_length=60)]
DocCode = Annotated[str, PathParam(min_length=1, max_length=120)]
PAGE_SIZE = 25
INTAKE_FIELDS = ("procedure_code", "applicant_id", "applicant_name", "phone", "email",
                 "address")
_STAFF = frozenset({Role.CLERK, Role.HANDLER, Role.SIGNER, Role.SEAL_CUSTODIAN, Role.ADMIN})
# Where the result can be downloaded by staff: once it carries the seal.
_RESULT_STATES = frozenset({DossierStatus.SEALED, DossierStatus.RESULT_READY,
                            DossierStatus.RETURNED})

PAPER_LABELS = {
    PaperState.PROCESSING: "Đang nhận dạng chữ (OCR)",
    PaperState.NEEDS_REVIEW: "Cần kiểm tra",
    PaperState.READY: "Đã số hóa",
    PaperState.FAILED: "Lỗi số hóa",
}
COPY_LABELS = {
    CopyKind.ORIGINAL: "Bản chính",
    CopyKind.COPY: "Bản sao",
    CopyKind.CERTIFIED_COPY: "Bản sao chứng thực",
}


# Steps the handling pages take with their own (printable) forms, through the partial the
# dossier page includes; offered here as plain buttons only while that partial is absent.
HANDLING_PARTIAL = "pages/handling/_dossier_actions.html"
_HANDLED_THERE = frozenset({"request_supplement", "request_fee", "refuse", "extend",
                            "submit_for_approval", "return_for_revision", "publish_result"})


@cache
def _handling_partial() -> bool:
    try:
        templates.get_template(HANDLING_PARTIAL)
    except TemplateNotFound:
        return False
    return True


def _generic(who: Principal, steps: Sequence[TransitionSpec]) -> list[TransitionSpec]:
    """The steps the dossier page offers as plain buttons."""
    skipped = {"return_result"}  # its own panel, beside the result
    if _handling_partial():
        skipped |= _HANDLED_THERE
        if not who.has(Role.CLERK):
            skipped.add("assign_handler")  # a handler takes the dossier up in the partial
    return [t for t in steps if t.name not in skipped]


def _staff_only(who: Principal) -> None:
    if not who.roles & _STAFF:
        raise Forbidden("forbidden", "Trang này dành cho cán bộ. Công dân xem hồ sơ của mình "
                        "tại mục «Hồ sơ của tôi».")


# -- intake -----------------------------------------------------------------------------------
def _intake(request: Request, who: Principal, desk: Desk, form: dict[str, str], *,
            errors: dict[str, str] | None = None, status_code: int = 200) -> Response:
    options = [("", "— Chọn thủ tục hành chính —")] + [
        (p.code, f"{p.name} ({p.processing_days} ngày làm việc)") for p in desk.procedures]
    return render(request, "pages/clerk/intake.html",
                  {"desk": desk, "options": options, "form": form, "errors": errors or {}},
                  user=who, status_code=status_code)


@router.get("/tiep-nhan")
def intake_form(request: Request, services: PageServices, who: PageUser) -> Response:
    desk = intake_desk(services.records, who)
    # The key that makes a double submission of this form open one dossier.
    return _intake(request, who, desk, {"idempotency_key": str(uuid4())})


def _missing(form: dict[str, str]) -> dict[str, str]:
    """Every empty or malformed required field at once (the use case stops at the first)."""
    errors = {}
    if not form["procedure_code"]:
        errors["procedure_code"] = "Vui lòng chọn thủ tục hành chính."
    try:
        validate_owner_id(form["applicant_id"])
    except InvalidInput as exc:
        errors["applicant_id"] = exc.message
    if not form["applicant_name"].strip():
        errors["applicant_name"] = "Vui lòng nhập họ và tên người nộp hồ sơ."
    return errors


Text = Annotated[str, Form(max_length=500)]


@router.post("/tiep-nhan", dependencies=[CsrfChecked])
def intake_submit(
    request: Request,
    services: PageServices,
    who: PageUser,
    procedure_code: Annotated[str, Form(max_length=40)] = "",
    applicant_id: Annotated[str, Form(max_length=20)] = "",
    applicant_name: Annotated[str, Form(max_length=200)] = "",
    phone: Annotated[str, Form(max_length=20)] = "",
    email: Annotated[str, Form(max_length=200)] = "",
    address: Text = "",
    idempotency_key: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    desk = intake_desk(services.records, who)
    form = {"procedure_code": procedure_code, "applicant_id": applicant_id.strip(),
            "applicant_name": applicant_name, "phone": phone, "email": email,
            "address": address, "idempotency_key": idempotency_key or str(uuid4())}
    errors = _missing(form)
    if errors:
        return _intake(request, who, desk, form, errors=errors, status_code=422)
    try:
        view = create_dossier(services.records, who, CreateDossier(
            procedure_code=procedure_code, applicant_id=form["applicant_id"],
            applicant_name=applicant_name, phone=phone or None, email=email or None,
            address=address or None, idempotency_key=form["idempotency_key"]))
    except (InvalidInput, Conflict) as exc:
        shown = form_errors_of(exc)
        if not set(shown) <= set(INTAKE_FIELDS):
            shown = {"_form": exc.message}
        return _intake(request, who, desk, form, errors=shown, status_code=exc.http_status)
    code = view.dossier.code
    if view.replayed:
        flash = (f"Biểu mẫu đã được gửi hai lần: hồ sơ {code} đã được tiếp nhận ở lần gửi "
                 "đầu, không tạo thêm hồ sơ mới.")
    else:
        due = view.dossier.due_at
        flash = f"Đã tiếp nhận hồ sơ {code}." + (
            f" Hẹn trả kết quả: {format_date(due)}." if due else "")
    return redirect(request, f"/ho-so/{code}", flash=flash)


# -- the dossier list -------------------------------------------------------------------------
@router.get("/ho-so")
def dossier_list(
    request: Request,
    services: PageServices,
    who: PageUser,
    trang_thai: Annotated[str, Query(max_length=30)] = "",
    thu_tuc: Annotated[str, Query(max_length=40)] = "",
    qua_han: Annotated[str, Query(max_length=2)] = "",
    trang: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> Response:
    _staff_only(who)
    try:
        status = DossierStatus(trang_thai) if trang_thai else None
    except ValueError as exc:
        raise InvalidInput("invalid_status", "Trạng thái lọc không hợp lệ.",
                           field="trang_thai") from exc
    rows = list_dossier_rows(services.records, who,
                             statuses=frozenset({status}) if status else None,
                             procedure_code=thu_tuc or None, overdue_only=qua_han == "1",
                             limit=PAGE_SIZE + 1, offset=(trang - 1) * PAGE_SIZE)
    procedures = list_procedures(services.records, who)
    filters = {"trang_thai": trang_thai, "thu_tuc": thu_tuc, "qua_han": qua_han}
    query = urlencode({k: v for k, v in filters.items() if v})
    return render(request, "pages/clerk/list.html", {
        "rows": rows[:PAGE_SIZE], "page": trang, "has_next": len(rows) > PAGE_SIZE,
        "filters": filters, "query": query,
        "status_options": [("", "Tất cả trạng thái")]
        + [(s.value, spec.staff_label) for s, spec in STATES.items()],
        "procedure_options": [("", "Tất cả thủ tục")] + [(p.code, p.name) for p in procedures],
    }, user=who)


# -- the dossier page -------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True, slots=True)
class PaperRow:
    """One required paper of the procedure, with what the dossier holds for it."""

    component: RequiredComponent
    documents: tuple[DossierPaper, ...]
    offers: tuple[StoreItem, ...]


def _paper_rows(components: Sequence[RequiredComponent], papers: Sequence[DossierPaper],
                offers: dict[str, tuple[StoreItem, ...]]) -> list[PaperRow]:
    return [PaperRow(component=c,
                     documents=tuple(p for p in papers if p.document.component_code == c.code),
                     offers=offers.get(c.code, ())) for c in components]


def _dossier_page(request: Request, services: PageServices, who: Principal, code: str, *,
                  errors: dict[str, str] | None = None, form: dict[str, str] | None = None,
                  failed: str = "", status_code: int = 200) -> Response:
    _staff_only(who)
    view = get_dossier(services.records, who, code)
    papers = dossier_documents(services.documents, who, code)
    allowed = allowed_actions(who, view.dossier)
    offers: dict[str, tuple[StoreItem, ...]] = {}
    if allowed.edit_documents:
        offers = {s.component_code: s.items
                  for s in reuse_suggestions(services.documents, who, code)}
    transitions = allowed.transitions
    return render(request, "pages/clerk/dossier.html", {
        "dossier": view,
        "who": who,
        "rows": _paper_rows(view.procedure.components, papers, offers),
        "papers": papers,
        "pending": any(p.pending for p in papers),
        "done": not any(p.pending for p in papers),
        "flagged": [p for p in papers if p.pages_to_review],
        "allowed": allowed,
        "transitions": transitions,
        "generic": _generic(who, transitions),
        "can_return": any(t.name == "return_result" for t in transitions),
        "has_result": view.dossier.status in _RESULT_STATES,
        "paper_labels": PAPER_LABELS,
        "copy_kinds": list(COPY_LABELS.items()),
        "action_label": _action_label,
        "state_label": lambda s: STATES[s].staff_label if s else "—",
        "errors": errors or {},
        "form": form or {},
        "failed": failed,
    }, user=who, status_code=status_code)


def _action_label(action: str) -> str:
    spec = transition_named(action)
    return spec.label if spec else action


@router.get("/ho-so/{code}")
def dossier_page(request: Request, services: PageServices, who: PageUser,
                 code: Code) -> Response:
    return _dossier_page(request, services, who, code)


@router.get("/ho-so/{code}/tien-do")
def progress_fragment(request: Request, services: PageServices, who: PageUser,
                      code: Code) -> Response:
    """OCR progress, page by page: the dossier page polls it until no job is pending."""
    papers = dossier_documents(services.documents, who, code)
    return render(request, "pages/clerk/_progress.html",
                  {"papers": papers, "done": not any(p.pending for p in papers),
                   "paper_labels": PAPER_LABELS}, user=who)


def _chosen(files: Sequence[UploadFile]) -> list[UploadFile]:
    # An empty file input still sends one part, with an empty file name and no content.
    return [f for f in files if f.filename or f.size]


@router.post("/ho-so/{code}/tai-len", dependencies=[CsrfChecked])
def upload_paper(
    request: Request,
    services: PageServices,
    who: PageUser,
    code: Code,
    component_code: Annotated[str, Form(min_length=1, max_length=40)],
    files: Annotated[list[UploadFile], File()] = [],  # noqa: B006 - FastAPI copies defaults
    copy_kind: Annotated[CopyKind, Form()] = CopyKind.COPY,
) -> Response:
    form = {"component_code": component_code, "copy_kind": copy_kind.value}
    chosen = _chosen(files)
    try:
        if not chosen:
            raise InvalidInput("no_files", "Vui lòng chọn tệp ảnh quét (PDF, JPEG, PNG, TIFF) "
                               "cần tải lên.", field="files")
        with spooled_uploads(services, who, code, chosen) as uploads:
            view = add_document(services.documents, who, code, component_code, uploads,
                                copy_kind=copy_kind)
    except (InvalidInput, TooLarge, Conflict) as exc:
        return _dossier_page(request, services, who, code, errors={"files": exc.message},
                             form=form, failed=f"upload:{component_code}",
                             status_code=exc.http_status)
    n = len(view.version.files)
    return redirect(request, f"/ho-so/{code}",
                    flash=f"Đã nhận {n} tệp cho «{view.document.title}» "
                          f"({view.document.doc_code}); hệ thống đang nhận dạng chữ.")


@router.post("/ho-so/{code}/dung-lai", dependencies=[CsrfChecked])
def reuse_paper(
    request: Request,
    services: PageServices,
    who: PageUser,
    code: Code,
    component_code: Annotated[str, Form(min_length=1, max_length=40)],
    item_id: Annotated[int, Form(ge=1)],
) -> Response:
    try:
        view = attach_reused(services.documents, who, code, component_code, item_id)
    except (InvalidInput, Conflict, NotFound) as exc:
        # A dossier gone from view answers 404 again when the page is drawn.
        return _dossier_page(request, services, who, code, errors={"_form": exc.message},
                             status_code=exc.http_status)
    return redirect(request, f"/ho-so/{code}",
                    flash=f"Đã dùng lại «{view.document.title}» từ kho dữ liệu của người nộp; "
                          "không cần scan lại.")


@router.post("/ho-so/{code}/chuyen", dependencies=[CsrfChecked])
def move_dossier(
    request: Request,
    services: PageServices,
    who: PageUser,
    code: Code,
    transition: Annotated[str, Form(min_length=1, max_length=60)],
    comment: Annotated[str, Form(max_length=4000)] = "",
    handler: Annotated[str, Form(max_length=80)] = "",
    signer: Annotated[str, Form(max_length=80)] = "",
) -> Response:
    try:
        view = transition_dossier(services.records, who, code, TransitionRequest(
            name=transition, comment=comment, handler=handler.strip() or None,
            signer=signer.strip() or None))
    except (InvalidInput, Conflict, TransitionRefused) as exc:
        errors = form_errors_of(exc)
        if not set(errors) <= {"comment", "handler", "signer"}:
            errors = {"_form": exc.message}
        return _dossier_page(request, services, who, code, errors=errors,
                             form={"comment": comment, "handler": handler, "signer": signer},
                             failed=transition, status_code=exc.http_status)
    if transition == "return_result":
        flash = "Đã trả kết quả cho người nộp hồ sơ; kết quả đã vào kho dữ liệu của họ."
    else:
        flash = f"Đã thực hiện «{_action_label(transition)}»: hồ sơ {view.staff_label.lower()}."
    return redirect(request, f"/ho-so/{code}", flash=flash)


@router.get("/ho-so/{code}/ket-qua")
def result_file(services: PageServices, who: PageUser, code: Code) -> Response:
    """The result PDF as it stands (sealed once it reaches the desk); the access is logged."""
    found = open_result(services.results, who, dossier_code=code)
    return Response(services.blobs.get(found.sha256), media_type="application/pdf",
                    headers={"Content-Disposition":
                             f'attachment; filename="{found.result.code}.pdf"'})


# -- the receipt and appointment slip ---------------------------------------------------------
@router.get("/ho-so/{code}/phieu-tiep-nhan")
def receipt(request: Request, services: PageServices, who: PageUser, code: Code) -> Response:
    _staff_only(who)
    slip = receipt_of(services.records, who, code)
    lines = []
    for component in slip.view.procedure.components:
        docs = [d for d in slip.documents if d.component_code == component.code]
        kinds = sorted({COPY_LABELS[d.copy_kind] for d in docs})
        pages = sum((d.versions[-1].page_count or 0) for d in docs if d.versions)
        lines.append({"name": component.name, "mandatory": component.mandatory,
                      "count": len(docs), "pages": pages, "kinds": ", ".join(kinds),
                      "reused": sum(d.reuse_status.value != "new" for d in docs)})
    return render(request, "pages/clerk/receipt.html", {"slip": slip, "lines": lines},
                  user=who)


# -- a document -------------------------------------------------------------------------------
def _document_page(request: Request, services: PageServices, who: Principal, doc_code: str,
                   *, errors: dict[str, str] | None = None, failed_page: int = 0,
                   form: dict[str, str] | None = None, status_code: int = 200) -> Response:
    _staff_only(who)
    view = get_document(services.documents, who, doc_code)
    dossier = get_dossier(services.records, who, view.dossier_code)
    return render(request, "pages/clerk/document.html", {
        "doc": view, "dossier": dossier,
        "can_edit": allowed_actions(who, dossier.dossier).edit_documents,
        "copy_labels": COPY_LABELS, "errors": errors or {}, "failed_page": failed_page,
        "form": form or {},
    }, user=who, status_code=status_code)


@router.get("/tai-lieu/{doc_code}")
def document_page(request: Request, services: PageServices, who: PageUser,
                  doc_code: DocCode) -> Response:
    return _document_page(request, services, who, doc_code)


@router.post("/tai-lieu/{doc_code}/trang/{number}", dependencies=[CsrfChecked])
def review_flagged_page(
    request: Request,
    services: PageServices,
    who: PageUser,
    doc_code: DocCode,
    number: Annotated[int, PathParam(ge=1, le=10_000)],
    action: Annotated[str, Form(max_length=10)] = "confirm",
    text: Annotated[str, Form(max_length=100_000)] = "",
) -> Response:
    try:
        review_page(services.documents, who, doc_code, number,
                    text=text if action == "correct" else None)
    except (InvalidInput, Conflict) as exc:
        return _document_page(request, services, who, doc_code,
                              errors={"text": exc.message}, failed_page=number,
                              form={"text": text}, status_code=exc.http_status)
    done = "Đã lưu nội dung sửa của" if action == "correct" else "Đã xác nhận"
    return redirect(request, f"/tai-lieu/{doc_code}", flash=f"{done} trang {number}.")


@router.get("/tai-lieu/{doc_code}/goc/{position}")
def original_file(services: PageServices, who: PageUser, doc_code: DocCode,
                  position: Annotated[int, PathParam(ge=0, le=10_000)]) -> Response:
    """An untouched original, byte for byte as it was uploaded; the access is logged."""
    chosen = open_document_file(services.documents, who, doc_code, archival=False,
                                position=position)
    return send_blob(services, chosen.sha256, chosen.media_type, chosen.filename)


@router.get("/tai-lieu/{doc_code}/luu-tru")
def archival_file(services: PageServices, who: PageUser, doc_code: DocCode) -> Response:
    """The two-layer PDF/A preservation copy; the access is logged."""
    chosen = open_document_file(services.documents, who, doc_code, archival=True)
    return send_blob(services, chosen.sha256, chosen.media_type, chosen.filename)
