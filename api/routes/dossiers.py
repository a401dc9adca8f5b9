"""Dossiers: open, read, list, move through the workflow, and their history."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Path, Query, Response

from api.deps import AppServices, CurrentUser
from api.schemas import (
    DossierCreate,
    DossierPublic,
    DossierSummary,
    ErrorPublic,
    HistoryPublic,
    TransitionCreate,
)
from records.lifecycle import TransitionRequest
from records.model import DossierStatus
from records.services import (
    CreateDossier,
    create_dossier,
    get_dossier,
    list_dossiers,
    transition_dossier,
)

router = APIRouter(prefix="/api/v1/dossiers", tags=["dossiers"])

_ERRORS: dict[int | str, dict[str, object]] = {
    code: {"model": ErrorPublic} for code in (401, 403, 404, 409, 422)
}
Code = Annotated[str, Path(min_length=1, max_length=60)]


@router.post("", status_code=201, response_model=DossierPublic, responses=_ERRORS)
def open_dossier(
    body: DossierCreate,
    services: AppServices,
    who: CurrentUser,
    response: Response,
    idempotency_key: Annotated[str | None, Header(
        max_length=100, description="Any unique string (a UUID): the same key sent again "
        "by the same user returns the dossier the first request opened")] = None,
) -> DossierPublic:
    """Open a dossier. A request repeated with the same ``Idempotency-Key`` opens nothing:
    it is answered like the first one (201, the same dossier), with the header
    ``Idempotent-Replayed: true``; the same key with another procedure or applicant is a 409.
    """
    view = create_dossier(services.records, who, CreateDossier(
        **body.model_dump(), idempotency_key=idempotency_key))
    if view.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return DossierPublic.of(view)


@router.get("", response_model=list[DossierSummary], responses=_ERRORS)
def list_visible(
    services: AppServices,
    who: CurrentUser,
    status: Annotated[list[DossierStatus] | None, Query()] = None,
    procedure_code: Annotated[str | None, Query(max_length=40)] = None,
    overdue: bool = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[DossierSummary]:
    """The dossiers the caller may see, newest first, filtered by status, procedure or
    overdue, a page at a time (``limit``, ``offset``)."""
    found = list_dossiers(services.records, who,
                          statuses=frozenset(status) if status else None,
                          procedure_code=procedure_code, overdue_only=overdue, limit=limit,
                          offset=offset)
    return [DossierSummary(code=d.code, procedure_code=d.procedure_code,
                           applicant_id=d.applicant_id, status=d.status,
                           received_at=d.received_at, due_at=d.due_at, overdue=late)
            for d, late in found]


@router.get("/{code}", response_model=DossierPublic, responses=_ERRORS)
def read_dossier(code: Code, services: AppServices, who: CurrentUser) -> DossierPublic:
    """One dossier: its status, deadline, handler and signer, papers and history; a dossier
    the caller may not see is answered like a missing one (404)."""
    return DossierPublic.of(get_dossier(services.records, who, code))


@router.get("/{code}/history", response_model=list[HistoryPublic], responses=_ERRORS)
def read_history(code: Code, services: AppServices, who: CurrentUser) -> list[HistoryPublic]:
    """Every step the dossier went through, oldest first: who, when, from which status to
    which, and their comment."""
    return DossierPublic.of(get_dossier(services.records, who, code)).history


@router.post("/{code}/transitions", response_model=DossierPublic, responses=_ERRORS)
def move_dossier(code: Code, body: TransitionCreate, services: AppServices,
                 who: CurrentUser) -> DossierPublic:
    """Move the dossier one step through the workflow (``GET /api/v1/workflow`` lists the
    transitions and who may make them); the answer is the dossier after the step."""
    request = TransitionRequest(name=body.transition, comment=body.comment,
                                handler=body.handler, signer=body.signer,
                                new_due_at=body.new_due_at)
    return DossierPublic.of(transition_dossier(services.records, who, code, request))
