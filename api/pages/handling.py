"""Pages of the handler: the work list; the requests for a supplement (form 02) and a fee;
the one extension with its apology letter (form 04); refusing; the draft result and its
submission for signing. The signer's and seal custodian's pages are in
``api.pages.handling_queues``, included here.

Every step goes through the records use cases, which authorise it.
[Decree 61/2018 Art. 19; Circular 01/2018/TT-VPCP forms 02 and 04]
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from datetime import time as clock_time
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response

from api.bootstrap import Services
from api.pages import handling_queues
from api.pages.handling_steps import (
    RESULT_STATUS,
    DossierCode,
    check_step,
    last_entry,
    may,
    require_role,
)
from api.pages.web import (
    CsrfChecked,
    PageServices,
    PageUser,
    form_errors_of,
    format_vnd,
    redirect,
    render,
)
from records.authz import Action, Principal, authorize
from records.calendar import VN_TZ
from records.errors import DomainError, NotFound
from records.lifecycle import TransitionRequest
from records.model import DossierStatus as S
from records.model import Result, Role
from records.result_reads import open_result
from records.results import DraftRequest, draft_result, letterhead, signer_choices
from records.services import get_dossier, list_dossiers, transition_dossier

__all__ = ["OLD_DUE_MARK", "PAPERS_MARK", "parse_request", "router", "supplement_comment"]

router = APIRouter(include_in_schema=False)
router.include_router(handling_queues.router)

Text = Annotated[str, Form(max_length=4000)]
Codes = Annotated[list[str] | None, Form(max_length=200)]

# States in which a dossier sits on its handler's desk (the work list).
_ON_DESK = frozenset({S.IN_REVIEW, S.SUPPLEMENT_REQUESTED, S.FEE_REQUESTED,
                      S.PENDING_APPROVAL, S.SIGNED, S.SEALED})
# Due dates fall at the centre's closing time, as records.calendar counts them.
_CLOSING = clock_time(17, 0)
# How a request's comment lists the papers, so that form 02 can print them back.
PAPERS_MARK = "Giấy tờ cần bổ sung, hoàn thiện:"
OLD_DUE_MARK = "Ngày hẹn trả trước khi gia hạn:"


# -- the handler's work list --------------------------------------------------------------------
@router.get("/xu-ly")
def work_list(request: Request, services: PageServices, who: PageUser,
              late: Annotated[bool, Query(alias="qua-han")] = False) -> Response:
    require_role(who, Role.HANDLER, "Trang này dành cho chuyên viên xử lý hồ sơ.")
    found = list_dossiers(services.records, who, statuses=_ON_DESK | {S.DIGITISED},
                          overdue_only=late, limit=500)
    mine = sorted((d for d, _ in found if d.handler == who.username and d.status in _ON_DESK),
                  key=lambda d: (d.due_at is None, d.due_at or d.created_at))
    waiting = [d for d, _ in found if d.status is S.DIGITISED and d.handler is None]
    views = [get_dossier(services.records, who, d.code) for d in (*mine, *waiting)]
    return render(request, "pages/handling/work_list.html",
                  {"mine": views[:len(mine)], "waiting": views[len(mine):], "late": late},
                  user=who)


@router.post("/ho-so/{code}/nhan-xu-ly", dependencies=[CsrfChecked])
def take_over(request: Request, services: PageServices, who: PageUser,
              code: DossierCode) -> Response:
    transition_dossier(services.records, who, code, TransitionRequest(
        name="assign_handler", handler=who.username))
    return redirect(request, f"/ho-so/{code}", flash="Bạn đã nhận xử lý hồ sơ.")


# -- one form per step: render, validate, take the step -----------------------------------------
def _form_page(request: Request, services: Services, who: Principal, code: str, step: str,
               template: str, extra: dict[str, Any] | None = None) -> Response:
    view = get_dossier(services.records, who, code)
    check_step(who, view, step)
    return render(request, f"pages/handling/{template}", {"dossier": view, **(extra or {})},
                  user=who)


def _refill(request: Request, services: Services, who: Principal, code: str, template: str,
            form: dict[str, Any], errors: dict[str, str], status: int,
            extra: dict[str, Any] | None = None) -> Response:
    view = get_dossier(services.records, who, code)
    return render(request, f"pages/handling/{template}",
                  {"dossier": view, "form": form, "errors": errors, **(extra or {})},
                  user=who, status_code=status)


def _take(services: Services, who: Principal, code: str, request: TransitionRequest,
          default_field: str) -> tuple[dict[str, str], int]:
    """Take the step; a refusal as the message for its field and its HTTP status (no
    message and 303 when the step was taken)."""
    try:
        transition_dossier(services.records, who, code, request)
    except DomainError as exc:
        return form_errors_of(exc, default_field), exc.http_status
    return {}, 303


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def supplement_comment(reason: str, papers: Sequence[str]) -> str:
    numbered = [f"{n}. {paper}" for n, paper in enumerate(papers, 1)]
    return "\n".join([reason.strip(), PAPERS_MARK, *numbered])


def parse_request(comment: str) -> tuple[str, list[str]]:
    """The reason and the papers of a supplement request (a clerk's free text: no papers)."""
    reason, _, papers = comment.partition("\n" + PAPERS_MARK)
    return reason.strip(), [re.sub(r"^\d+\.\s*", "", line) for line in _lines(papers)]


@router.get("/ho-so/{code}/yeu-cau-bo-sung")
def supplement_form(request: Request, services: PageServices, who: PageUser,
                    code: DossierCode) -> Response:
    return _form_page(request, services, who, code, "request_supplement", "supplement.html")


@router.post("/ho-so/{code}/yeu-cau-bo-sung", dependencies=[CsrfChecked])
def supplement_submit(request: Request, services: PageServices, who: PageUser,
                      code: DossierCode, papers: Codes = None, other: Text = "",
                      comment: Text = "") -> Response:
    view = get_dossier(services.records, who, code)
    names = {c.code: c.name for c in view.procedure.components}
    chosen = [names[c] for c in papers or [] if c in names] + _lines(other)
    form = {"papers": papers or [], "other": other, "comment": comment}
    errors: dict[str, str] = {}
    if not chosen:
        errors["papers"] = "Vui lòng chọn hoặc ghi ít nhất một giấy tờ cần bổ sung."
    if not comment.strip():
        errors["comment"] = "Vui lòng nhập lý do yêu cầu bổ sung, hoàn thiện hồ sơ."
    status = 422
    if not errors:
        errors, status = _take(services, who, code, TransitionRequest(
            name="request_supplement", comment=supplement_comment(comment, chosen)), "_form")
    if errors:
        return _refill(request, services, who, code, "supplement.html", form, errors, status)
    return redirect(request, f"/ho-so/{code}/mau-02", flash="Đã yêu cầu bổ sung hồ sơ. In "
                    "phiếu yêu cầu bổ sung (mẫu 02) để gửi người nộp hồ sơ.")


@router.get("/ho-so/{code}/yeu-cau-phi")
def fee_form(request: Request, services: PageServices, who: PageUser,
             code: DossierCode) -> Response:
    return _form_page(request, services, who, code, "request_fee", "fee.html")


def _amount(text: str) -> int | None:
    digits = re.sub(r"[\s.,]|đồng$|đ$", "", text.strip())
    return int(digits) if digits.isdigit() and 0 < int(digits) < 10**12 else None


@router.post("/ho-so/{code}/yeu-cau-phi", dependencies=[CsrfChecked])
def fee_submit(request: Request, services: PageServices, who: PageUser, code: DossierCode,
               amount: Annotated[str, Form(max_length=30)] = "",
               comment: Text = "") -> Response:
    form = {"amount": amount, "comment": comment}
    errors: dict[str, str] = {}
    value = _amount(amount)
    if value is None:
        errors["amount"] = "Vui lòng nhập số tiền phí, lệ phí phải nộp (đồng), lớn hơn 0."
    if not comment.strip():
        errors["comment"] = "Vui lòng nhập nội dung, căn cứ thu phí, lệ phí."
    status = 422
    if value is not None and not errors:
        text = f"Số tiền phải nộp: {format_vnd(value)}. {comment.strip()}"
        errors, status = _take(services, who, code, TransitionRequest(
            name="request_fee", comment=text), "_form")
    if errors:
        return _refill(request, services, who, code, "fee.html", form, errors, status)
    return redirect(request, f"/ho-so/{code}", flash="Đã gửi yêu cầu nộp phí, lệ phí.")


@router.get("/ho-so/{code}/gia-han")
def extend_form(request: Request, services: PageServices, who: PageUser,
                code: DossierCode) -> Response:
    return _form_page(request, services, who, code, "extend", "extend.html")


def due_words(moment: datetime | None) -> str:
    """A due time as the forms write it: "17 giờ 00 ngày 17/12/2026"."""
    if moment is None:
        return "……"
    local = moment.astimezone(VN_TZ)
    return f"{local:%H} giờ {local:%M} ngày {local:%d/%m/%Y}"


def _day(text: str) -> date | None:
    """A date from the date picker (ISO) or typed as dd/mm/yyyy."""
    found = re.fullmatch(r"(\d{1,2})/(\d{1,2})/(\d{4})", text.strip())
    try:
        if found:
            return date(int(found[3]), int(found[2]), int(found[1]))
        return date.fromisoformat(text.strip())
    except ValueError:
        return None


@router.post("/ho-so/{code}/gia-han", dependencies=[CsrfChecked])
def extend_submit(request: Request, services: PageServices, who: PageUser, code: DossierCode,
                  new_due_at: Annotated[str, Form(max_length=10)] = "",
                  comment: Text = "") -> Response:
    view = get_dossier(services.records, who, code)
    form = {"new_due_at": new_due_at, "comment": comment}
    errors: dict[str, str] = {}
    day = _day(new_due_at)
    if day is None:
        errors["new_due_at"] = "Vui lòng chọn ngày hẹn trả kết quả mới."
    if not comment.strip():
        errors["comment"] = "Vui lòng nhập lý do chậm trễ, gia hạn."
    status = 422
    if day is not None and not errors:
        due = datetime.combine(day, _CLOSING, tzinfo=VN_TZ).astimezone(UTC)
        text = f"{comment.strip()}\n{OLD_DUE_MARK} {due_words(view.dossier.due_at)}"
        # The guard's refusals (already extended, too late) belong to the new date.
        errors, status = _take(services, who, code, TransitionRequest(
            name="extend", comment=text, new_due_at=due), "new_due_at")
    if errors:
        return _refill(request, services, who, code, "extend.html", form, errors, status)
    return redirect(request, f"/ho-so/{code}/mau-04", flash="Đã gia hạn hồ sơ. In phiếu xin "
                    "lỗi và hẹn lại ngày trả kết quả (mẫu 04) để gửi người nộp hồ sơ.")


# Steps that need only a reason: refusing to decide, and the signer's return of the draft.
@dataclass(frozen=True, kw_only=True, slots=True)
class ReasonStep:
    name: str
    path: str
    title: str
    label: str
    done: str
    back: str


REFUSE = ReasonStep(name="refuse", path="tu-choi", title="Từ chối giải quyết hồ sơ",
                    label="Lý do từ chối giải quyết", done="Đã từ chối giải quyết hồ sơ",
                    back="/xu-ly")
RETURN = ReasonStep(name="return_for_revision", path="tra-lai",
                    title="Trả lại dự thảo để hoàn thiện", label="Nội dung cần hoàn thiện",
                    done="Đã trả lại dự thảo cho chuyên viên xử lý", back="/ky-so")


def _reason_form(request: Request, services: Services, who: Principal, code: str,
                 step: ReasonStep) -> Response:
    return _form_page(request, services, who, code, step.name, "reason_form.html",
                      {"step": step})


def _reason_submit(request: Request, services: Services, who: Principal, code: str,
                   step: ReasonStep, comment: str) -> Response:
    errors, status = ({"comment": f"Vui lòng nhập {step.label.lower()}."}, 422) \
        if not comment.strip() else _take(services, who, code, TransitionRequest(
            name=step.name, comment=comment), "_form")
    if errors:
        return _refill(request, services, who, code, "reason_form.html",
                       {"comment": comment}, errors, status, {"step": step})
    return redirect(request, step.back, flash=f"{step.done}: hồ sơ {code}.")


@router.get("/ho-so/{code}/tu-choi")
def refuse_form(request: Request, services: PageServices, who: PageUser,
                code: DossierCode) -> Response:
    return _reason_form(request, services, who, code, REFUSE)


@router.post("/ho-so/{code}/tu-choi", dependencies=[CsrfChecked])
def refuse_submit(request: Request, services: PageServices, who: PageUser, code: DossierCode,
                  comment: Text = "") -> Response:
    return _reason_submit(request, services, who, code, REFUSE, comment)


@router.get("/ho-so/{code}/tra-lai")
def return_form(request: Request, services: PageServices, who: PageUser,
                code: DossierCode) -> Response:
    return _reason_form(request, services, who, code, RETURN)


@router.post("/ho-so/{code}/tra-lai", dependencies=[CsrfChecked])
def return_submit(request: Request, services: PageServices, who: PageUser, code: DossierCode,
                  comment: Text = "") -> Response:
    return _reason_submit(request, services, who, code, RETURN, comment)


# -- the printed forms 02 and 04 ----------------------------------------------------------------
@router.get("/ho-so/{code}/mau-02")
def form_02(request: Request, services: PageServices, who: PageUser,
            code: DossierCode) -> Response:
    view = get_dossier(services.records, who, code)
    entry = last_entry(view, "request_supplement", "request_completion")
    if entry is None:
        raise NotFound("no_supplement_request", "Hồ sơ chưa có yêu cầu bổ sung, hoàn thiện.")
    reason, papers = parse_request(entry.comment)
    return render(request, "pages/handling/form_02.html", {
        "dossier": view, "entry": entry, "reason": reason, "papers": papers,
        "head": letterhead(services.results, who, code)}, user=who)


@router.get("/ho-so/{code}/mau-04")
def form_04(request: Request, services: PageServices, who: PageUser,
            code: DossierCode) -> Response:
    view = get_dossier(services.records, who, code)
    entry = last_entry(view, "extend")
    if entry is None:
        raise NotFound("not_extended", "Hồ sơ chưa được gia hạn.")
    reason, _, old_due = entry.comment.partition("\n" + OLD_DUE_MARK)
    return render(request, "pages/handling/form_04.html", {
        "dossier": view, "entry": entry, "reason": reason.strip(), "old_due": old_due.strip(),
        "new_due": due_words(view.dossier.due_at),
        "head": letterhead(services.results, who, code)}, user=who)


# -- the draft result ---------------------------------------------------------------------------
DEFAULT_RECIPIENTS = "Như trên;\nLưu: VT."
DEFAULT_TITLE_LINES = "KT. GIÁM ĐỐC\nPHÓ GIÁM ĐỐC"


def _current_result(services: Services, who: Principal, code: str) -> Result | None:
    try:
        return open_result(services.results, who, dossier_code=code, download=False).result
    except NotFound:
        return None


def _draft_context(services: Services, who: Principal, code: str) -> dict[str, Any]:
    choices = signer_choices(services.results, who, code)
    result = _current_result(services, who, code)
    chosen = next((c.username for c in choices if result and c.name == result.signer_name),
                  choices[0].username if len(choices) == 1 else "")
    return {"result": result, "signers": [("", "— Chọn người ký —")] + [
        (c.username, c.display_name) for c in choices], "chosen_signer": chosen,
        "result_status": RESULT_STATUS}


@router.get("/ho-so/{code}/du-thao")
def draft_form(request: Request, services: PageServices, who: PageUser,
               code: DossierCode) -> Response:
    view = get_dossier(services.records, who, code)
    authorize(who, Action.EDIT_RESULT, view.dossier)
    ctx = _draft_context(services, who, code)
    result = ctx["result"]
    form = {"subject": result.title if result else "", "body": "",
            "recipients": DEFAULT_RECIPIENTS, "signer": ctx["chosen_signer"],
            "signer_title_lines": result.signer_title.replace(" / ", "\n") if result
            else DEFAULT_TITLE_LINES}
    return render(request, "pages/handling/draft.html",
                  {"dossier": view, "form": form, "may_submit": may(who, view,
                                                                     "submit_for_approval"),
                   **ctx}, user=who)


@router.post("/ho-so/{code}/du-thao", dependencies=[CsrfChecked])
def draft_submit(request: Request, services: PageServices, who: PageUser, code: DossierCode,
                 subject: Annotated[str, Form(max_length=500)] = "",
                 body: Annotated[str, Form(max_length=40000)] = "",
                 recipients: Annotated[str, Form(max_length=2000)] = DEFAULT_RECIPIENTS,
                 signer: Annotated[str, Form(max_length=80)] = "",
                 signer_title_lines: Annotated[str, Form(max_length=400)] = DEFAULT_TITLE_LINES,
                 then: Annotated[str, Form(max_length=10)] = "save") -> Response:
    form = {"subject": subject, "body": body, "recipients": recipients, "signer": signer,
            "signer_title_lines": signer_title_lines}
    errors: dict[str, str] = {}
    if not subject.strip():
        errors["subject"] = "Vui lòng nhập trích yếu của kết quả."
    if not _lines(body):
        errors["body"] = "Vui lòng nhập nội dung kết quả (mỗi đoạn một dòng)."
    if not signer:
        errors["signer"] = "Vui lòng chọn lãnh đạo ký kết quả."
    if not _lines(signer_title_lines) or len(_lines(signer_title_lines)) > 4:
        errors["signer_title_lines"] = "Vui lòng nhập chức danh người ký (1 đến 4 dòng)."
    result, status = None, 422
    if not errors:
        try:
            result = draft_result(services.results, who, code, DraftRequest(
                subject=subject, body=tuple(_lines(body)),
                recipients=tuple(_lines(recipients)), signer=signer,
                signer_title_lines=tuple(_lines(signer_title_lines))))
        except DomainError as exc:
            errors, status = form_errors_of(exc), exc.http_status
    if not errors and then == "submit":
        errors, status = _take(services, who, code, TransitionRequest(
            name="submit_for_approval", signer=signer), "_form")
        if not errors:
            return redirect(request, f"/ho-so/{code}", flash="Đã lưu dự thảo và trình ký "
                            "kết quả.")
    if errors:
        view = get_dossier(services.records, who, code)
        return render(request, "pages/handling/draft.html", {
            "dossier": view, "form": form, "errors": errors,
            "may_submit": may(who, view, "submit_for_approval"),
            **_draft_context(services, who, code)},
            user=who, status_code=status)
    number = result.number if result else ""
    return redirect(request, f"/ho-so/{code}/du-thao",
                    flash=f"Đã lưu dự thảo kết quả số {number}. Xem bản PDF trước khi trình ký.")


@router.post("/ho-so/{code}/trinh-ky", dependencies=[CsrfChecked])
def submit_draft(request: Request, services: PageServices, who: PageUser, code: DossierCode,
                 signer: Annotated[str, Form(max_length=80)] = "") -> Response:
    errors, status = ({"signer": "Vui lòng chọn lãnh đạo ký kết quả."}, 422) if not signer \
        else _take(services, who, code, TransitionRequest(name="submit_for_approval",
                                                          signer=signer), "_form")
    if errors:
        view = get_dossier(services.records, who, code)
        ctx = _draft_context(services, who, code)
        return render(request, "pages/handling/draft.html", {
            "dossier": view, "errors": errors, "may_submit": True, **ctx,
            "form": {"subject": ctx["result"].title if ctx["result"] else "",
                     "recipients": DEFAULT_RECIPIENTS, "signer": signer,
                     "signer_title_lines": DEFAULT_TITLE_LINES}},
            user=who, status_code=status)
    return redirect(request, f"/ho-so/{code}", flash="Đã trình ký kết quả.")
