"""The citizen's portal, made for a phone: my dossiers in plain words, what each one asks of
me, the e-result to download, my data store and who has looked at it, and a satisfaction
rating once a dossier is settled.

Someone else's dossier answers exactly like a missing one (the use cases decide that).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi import Path as PathParam
from fastapi.responses import Response

from api.pages.web import CsrfChecked, PageServices, PageUser, redirect, render
from records.agency import access_log
from records.authz import Principal
from records.datastore import store_of
from records.errors import Conflict, Forbidden, InvalidInput, TransitionRefused
from records.model import DossierStatus, HistoryEntry, Role
from records.ratings import MAX_COMMENT, RatingRequest, may_rate, rate_dossier, rating_of
from records.result_reads import open_result
from records.services import DossierView, get_dossier, list_dossiers
from records.workflow import STATES

router = APIRouter(include_in_schema=False)

Code = Annotated[str, PathParam(max_length=60)]

# Steps whose comment is addressed to the citizen; other comments are the staff's own notes.
_TOLD_TO_CITIZEN = frozenset({"request_completion", "refuse_intake", "request_supplement",
                              "request_fee", "refuse", "extend", "request_withdrawal"})
# The steps that ask the citizen to do something, while the dossier waits in their state.
_ASKS = {
    DossierStatus.INCOMPLETE_AT_INTAKE: "request_completion",
    DossierStatus.SUPPLEMENT_REQUESTED: "request_supplement",
    DossierStatus.FEE_REQUESTED: "request_fee",
}
_REASONS = {DossierStatus.REFUSED: "refuse", DossierStatus.REFUSED_AT_INTAKE: "refuse_intake"}
_RESULT_READY = frozenset({DossierStatus.RESULT_READY, DossierStatus.RETURNED})
SCORE_LABELS = (
    (5, "Rất hài lòng"), (4, "Hài lòng"), (3, "Bình thường"), (2, "Không hài lòng"),
    (1, "Rất không hài lòng"),
)


@dataclass(frozen=True, kw_only=True, slots=True)
class Step:
    at: datetime
    label: str
    comment: str


def _citizen(who: Principal) -> Principal:
    if not who.has(Role.CITIZEN) or who.owner_id is None:
        raise Forbidden("forbidden", "Trang này dành cho công dân, tổ chức tra cứu hồ sơ của "
                        "mình.")
    return who


def _steps(history: tuple[HistoryEntry, ...]) -> list[Step]:
    steps = []
    for entry in history:
        label = STATES[entry.to_status].citizen_label
        if entry.action == "extend":
            label = "Cơ quan gia hạn thời gian giải quyết và gửi thư xin lỗi"
        comment = entry.comment if entry.action in _TOLD_TO_CITIZEN else ""
        steps.append(Step(at=entry.at, label=label, comment=comment))
    return steps


def _latest_comment(history: tuple[HistoryEntry, ...], action: str | None) -> str:
    for entry in reversed(history):
        if entry.action == action:
            return entry.comment
    return ""


def _detail(request: Request, services: PageServices, who: Principal, view: DossierView,
            *, errors: dict[str, str] | None = None, form: dict[str, str] | None = None,
            status_code: int = 200) -> Response:
    dossier = view.dossier
    finished = may_rate(dossier)
    rating = rating_of(services.records, who, dossier.code) if finished else None
    return render(request, "pages/citizen/dossier.html", {
        "view": view, "steps": _steps(view.history),
        "asked": _latest_comment(view.history, _ASKS.get(dossier.status)),
        "reason": _latest_comment(view.history, _REASONS.get(dossier.status)),
        "result_ready": dossier.status in _RESULT_READY,
        "may_rate": finished and rating is None, "rating": rating,
        "score_labels": SCORE_LABELS, "max_comment": MAX_COMMENT,
        "errors": errors or {}, "form": form or {},
    }, user=who, status_code=status_code)


@router.get("/cong-dan")
def my_dossiers(request: Request, services: PageServices, who: PageUser) -> Response:
    citizen = _citizen(who)
    found = list_dossiers(services.records, citizen, limit=100)
    # A citizen has a handful of dossiers: each is read whole, with its procedure's name.
    views = [(get_dossier(services.records, citizen, d.code), overdue) for d, overdue in found]
    return render(request, "pages/citizen/dossiers.html", {"views": views}, user=who)


@router.get("/cong-dan/ho-so/{code}")
def my_dossier(request: Request, services: PageServices, who: PageUser, code: Code) -> Response:
    citizen = _citizen(who)
    return _detail(request, services, citizen, get_dossier(services.records, citizen, code))


@router.get("/cong-dan/ho-so/{code}/ket-qua")
def my_result(services: PageServices, who: PageUser, code: Code) -> Response:
    """The sealed e-result, as the signatures left it."""
    found = open_result(services.results, _citizen(who), dossier_code=code)
    return Response(services.blobs.get(found.sha256), media_type="application/pdf",
                    headers={"Content-Disposition": "attachment; filename="
                             f"{json.dumps(found.result.code + '.pdf')}",
                             "Cache-Control": "no-store"})


@router.post("/cong-dan/ho-so/{code}/danh-gia", dependencies=[CsrfChecked])
def rate(request: Request, services: PageServices, who: PageUser, code: Code,
         score: Annotated[str, Form(max_length=2)] = "",
         comment: Annotated[str, Form(max_length=MAX_COMMENT + 200)] = "") -> Response:
    citizen = _citizen(who)
    form = {"score": score, "comment": comment}
    try:
        rate_dossier(services.records, citizen, code, RatingRequest(
            score=int(score) if score.isdigit() else 0, comment=comment))
    except InvalidInput as exc:
        view = get_dossier(services.records, citizen, code)
        return _detail(request, services, citizen, view, errors={exc.field or "_form":
                                                                  exc.message},
                       form=form, status_code=422)
    except (Conflict, TransitionRefused) as exc:
        view = get_dossier(services.records, citizen, code)
        return _detail(request, services, citizen, view, errors={"_form": exc.message},
                       form=form, status_code=409)
    return redirect(request, f"/cong-dan/ho-so/{code}",
                    flash="Cảm ơn bạn đã đánh giá sự hài lòng về việc giải quyết hồ sơ.")


@router.get("/cong-dan/kho-du-lieu")
def my_data(request: Request, services: PageServices, who: PageUser) -> Response:
    citizen = _citizen(who)
    items = store_of(services.records.store, citizen)
    titles = {item.ref: item.title or item.document_type for item in items}
    return render(request, "pages/citizen/data_store.html", {
        "items": items, "log": access_log(services.agency, citizen), "titles": titles,
    }, user=who)
