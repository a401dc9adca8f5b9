"""What the handler, the signer and the seal custodian may do to a dossier now: the checks
that decide which forms and buttons the pages show, and the actions on the dossier page.

The use cases authorise every step again when it is taken; these checks only spare a user a
form they could not send. They ask the workflow table and ``records.authz`` the same
questions the engine asks, in the same order; guards (the supplement window, the one
extension) are left to the step itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated

from fastapi import Path as PathParam

from api.pages.web import templates
from records.authz import Action, Principal, authorize
from records.calendar import VN_TZ
from records.errors import DomainError, Forbidden, TransitionRefused
from records.lifecycle import resolve_spec
from records.model import DossierStatus as S
from records.model import HistoryEntry, ResultStatus, Role
from records.services import DossierView

__all__ = [
    "HANDLED_HERE",
    "RESULT_STATUS",
    "ActionLink",
    "DossierCode",
    "check_step",
    "handling_actions",
    "last_entry",
    "may",
    "require_role",
    "step_refusal",
    "vn_date",
]

DossierCode = Annotated[str, PathParam(min_length=1, max_length=60)]

# Steps these pages take with their own forms (a due date, the papers, a signer, a PIN):
# a generic transition button for them on the dossier page would skip what they ask for.
HANDLED_HERE = frozenset({"request_supplement", "request_fee", "extend", "refuse",
                          "submit_for_approval", "return_for_revision", "publish_result"})

RESULT_STATUS = {ResultStatus.DRAFT: "Dự thảo, chờ ký", ResultStatus.SIGNED: "Đã ký số",
                 ResultStatus.SEALED: "Đã đóng dấu số", ResultStatus.ISSUED: "Đã ban hành",
                 ResultStatus.REVOKED: "Đã thu hồi"}


# -- what the dossier page offers ---------------------------------------------------------------
@dataclass(frozen=True, kw_only=True, slots=True)
class ActionLink:
    href: str
    label: str
    post: bool = False  # a button posting a form (with its CSRF token), else a link
    primary: bool = False


def step_refusal(who: Principal, view: DossierView, name: str) -> DomainError | None:
    """Why ``who`` may not take step ``name`` now (role, local role, state), as the
    workflow engine would say; guards are checked when the step is taken."""
    spec = resolve_spec(name)
    try:
        authorize(who, Action.TRANSITION, view.dossier, transition=spec)
    except DomainError as exc:
        return exc
    if view.dossier.status not in spec.sources:
        return TransitionRefused("transition_not_allowed", f"Không thể thực hiện «{spec.label}» "
                                 f"khi hồ sơ đang ở trạng thái «{view.staff_label}».")
    return None


def may(who: Principal, view: DossierView, name: str) -> bool:
    return step_refusal(who, view, name) is None


def check_step(who: Principal, view: DossierView, name: str) -> None:
    refusal = step_refusal(who, view, name)
    if refusal is not None:
        raise refusal


def last_entry(view: DossierView, *actions: str) -> HistoryEntry | None:
    return next((e for e in reversed(view.history) if e.action in actions), None)


def handling_actions(who: Principal | None, view: DossierView) -> list[ActionLink]:
    """The handler's, signer's and seal custodian's actions on the dossier page."""
    if who is None or who.roles == {Role.CITIZEN}:
        return []
    base = f"/ho-so/{view.dossier.code}"
    links: list[ActionLink] = []
    if (who.has(Role.HANDLER) and view.dossier.handler is None
            and may(who, view, "assign_handler")):
        links.append(ActionLink(href=f"{base}/nhan-xu-ly", label="Nhận xử lý hồ sơ",
                                post=True, primary=True))
    if may(who, view, "submit_for_approval"):
        links.append(ActionLink(href=f"{base}/du-thao", label="Dự thảo kết quả, trình ký",
                                primary=True))
    for name, path, label in (("request_supplement", "yeu-cau-bo-sung", "Yêu cầu bổ sung hồ sơ"),
                              ("request_fee", "yeu-cau-phi", "Yêu cầu nộp phí, lệ phí"),
                              ("refuse", "tu-choi", "Từ chối giải quyết")):
        if may(who, view, name):
            links.append(ActionLink(href=f"{base}/{path}", label=label))
    if view.dossier.extended_at is None and may(who, view, "extend"):
        links.append(ActionLink(href=f"{base}/gia-han", label="Gia hạn, xin lỗi (mẫu 04)"))
    if who.has(Role.HANDLER) and view.dossier.status is S.PENDING_APPROVAL \
            and view.dossier.handler == who.username:
        links.append(ActionLink(href=f"{base}/xem-ket-qua", label="Xem dự thảo đã trình ký"))
    if who.has(Role.SIGNER) and may(who, view, "sign"):
        links.append(ActionLink(href=f"{base}/xem-ket-qua", label="Xem dự thảo và ký số",
                                primary=True))
    if may(who, view, "return_for_revision"):
        links.append(ActionLink(href=f"{base}/tra-lai", label="Trả lại để hoàn thiện"))
    if who.has(Role.SEAL_CUSTODIAN) and may(who, view, "seal"):
        links.append(ActionLink(href=f"{base}/xem-ket-qua", label="Xem và đóng dấu số",
                                primary=True))
    if who.has(Role.SEAL_CUSTODIAN) and may(who, view, "publish_result"):
        links.append(ActionLink(href=f"{base}/chuyen-mot-cua", post=True, primary=True,
                                label="Chuyển kết quả về bộ phận một cửa"))
    if last_entry(view, "request_supplement", "request_completion"):
        links.append(ActionLink(href=f"{base}/mau-02", label="In phiếu yêu cầu bổ sung (mẫu 02)"))
    if view.dossier.extended_at is not None:
        links.append(ActionLink(href=f"{base}/mau-04", label="In phiếu xin lỗi, hẹn lại (mẫu 04)"))
    return links


templates.env.globals["handling_actions"] = handling_actions


def vn_date(value: datetime | date | None) -> str:
    """A date as the administrative forms write it: "ngày 19 tháng 11 năm 2026"."""
    if value is None:
        return "ngày …… tháng …… năm ……"
    if isinstance(value, datetime):
        value = value.astimezone(VN_TZ).date()
    return f"ngày {value.day:02d} tháng {value.month:02d} năm {value.year}"


templates.env.filters["vn_date"] = vn_date


def require_role(who: Principal, role: Role, message: str) -> None:
    if not who.has(role):
        raise Forbidden("forbidden", message)
