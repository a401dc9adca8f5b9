"""Search, reuse at intake, the citizen's data store and access log, and agency queries."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi import Path as PathParam
from fastapi.responses import Response
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from api.deps import AppServices, CurrentUser
from api.routes.documents import DocumentPublic
from api.schemas import ErrorPublic
from records.agency import AgencyRequest, access_log, agency_documents, agency_fetch
from records.datastore import store_of
from records.indexing import index_lag, search
from records.model import Role, StoreItem
from records.ports import SearchQuery
from records.reuse import attach_reused, reuse_suggestions

router = APIRouter(tags=["search and reuse"])

_ERRORS: dict[int | str, dict[str, object]] = {
    code: {"model": ErrorPublic} for code in (401, 403, 404, 409, 422)
}
Code = Annotated[str, PathParam(max_length=60)]


class HitPublic(BaseModel):
    doc_id: str
    kind: str
    dossier_code: str
    owner_id: str
    document_type: str
    title: str
    status: str
    created_at: datetime
    score: float
    snippet: str


class SearchPublic(BaseModel):
    total: int
    hits: list[HitPublic]
    index_lag_seconds: float
    pending_updates: int


@router.get("/api/v1/search", response_model=SearchPublic, responses=_ERRORS)
def search_archive(
    services: AppServices,
    who: CurrentUser,
    q: Annotated[str, Query(max_length=10_000)] = "",
    owner: Annotated[str | None, Query(max_length=13)] = None,
    procedure: Annotated[str | None, Query(max_length=40)] = None,
    document_type: Annotated[str | None, Query(alias="type", max_length=80)] = None,
    status: Annotated[str | None, Query(max_length=20)] = None,
    branch: Annotated[str | None, Query(max_length=40)] = None,
    created_from: Annotated[AwareDatetime | None, Query(alias="from")] = None,
    created_to: Annotated[AwareDatetime | None, Query(alias="to")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=10_000)] = 0,
) -> SearchPublic:
    """Search digitised papers and results, typed with or without diacritics; only what the
    asker may open is ever counted or shown."""
    page = search(services.search, who, SearchQuery(
        text=q, owner_id=owner, procedure_code=procedure, document_type=document_type,
        status=status, branch_code=branch, created_from=created_from, created_to=created_to,
        limit=limit, offset=offset))
    lag = index_lag(services.search)
    staff = not who.roles <= {Role.CITIZEN, Role.AGENCY}
    return SearchPublic(total=page.total, index_lag_seconds=lag.seconds if staff else 0.0,
                        pending_updates=lag.pending if staff else 0, hits=[HitPublic(
                            doc_id=h.doc_id, kind=h.document.kind,
                            dossier_code=h.document.dossier_code, owner_id=h.document.owner_id,
                            document_type=h.document.document_type, title=h.document.title,
                            status=h.document.status, created_at=h.document.created_at,
                            score=h.score, snippet=h.snippet) for h in page.hits])


class StoreItemPublic(BaseModel):
    id: int
    kind: str
    ref: str
    document_type: str
    title: str
    issuer: str
    number: str | None
    issue_date: date | None
    expiry_date: date | None
    source_dossier: str
    status: str

    @classmethod
    def of(cls, item: StoreItem) -> StoreItemPublic:
        return cls(id=item.id, kind=item.kind, ref=item.ref, document_type=item.document_type,
                   title=item.title, issuer=item.issuer, number=item.number,
                   issue_date=item.issue_date, expiry_date=item.expiry_date,
                   source_dossier=item.source_dossier, status=item.status.value)


class SuggestionPublic(BaseModel):
    component_code: str
    component_name: str
    document_type: str
    items: list[StoreItemPublic]


@router.get("/api/v1/dossiers/{code}/reuse", response_model=list[SuggestionPublic],
            responses=_ERRORS)
def suggestions(code: Code, services: AppServices,
                who: CurrentUser) -> list[SuggestionPublic]:
    """For each paper the procedure requires: what the state already holds for the person."""
    return [SuggestionPublic(component_code=s.component_code, component_name=s.component_name,
                             document_type=s.document_type,
                             items=[StoreItemPublic.of(i) for i in s.items])
            for s in reuse_suggestions(services.documents, who, code)]


class ReuseCreate(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"component_code": "CCCD", "item_id": 1},
    ]})

    component_code: str = Field(min_length=1, max_length=40)
    item_id: int = Field(ge=1)


@router.post("/api/v1/dossiers/{code}/reuse", status_code=201, response_model=DocumentPublic,
             responses=_ERRORS)
def reuse(code: Code, body: ReuseCreate, services: AppServices,
          who: CurrentUser) -> DocumentPublic:
    """Attach a held paper by reference instead of scanning it again."""
    return DocumentPublic.of(attach_reused(services.documents, who, code, body.component_code,
                                           body.item_id))


@router.get("/api/v1/me/data-store", response_model=list[StoreItemPublic], responses=_ERRORS)
def my_data_store(services: AppServices, who: CurrentUser) -> list[StoreItemPublic]:
    """The citizen's papers and results that the state holds."""
    return [StoreItemPublic.of(i) for i in store_of(services.records.store, who)]


class AccessPublic(BaseModel):
    at: datetime
    agency: str
    officer: str
    purpose: str
    procedure_code: str
    documents: list[str]
    action: str


@router.get("/api/v1/me/access-log", response_model=list[AccessPublic], responses=_ERRORS)
def my_access_log(services: AppServices, who: CurrentUser) -> list[AccessPublic]:
    """"Ai đã xem dữ liệu của tôi": each agency query and fetch of the citizen's data."""
    return [AccessPublic(at=e.at, agency=e.agency, officer=e.officer, purpose=e.purpose,
                         procedure_code=e.procedure_code, documents=list(e.documents),
                         action=e.action) for e in access_log(services.agency, who)]


class AgencyQuery(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "procedure_code": "1.012736.000.00.00.H40",
        "dossier_code": "000.00.15.H40-261122-0001",
        "purpose": "Xác định nghĩa vụ tài chính về đất đai của bà Nguyễn Thị Hương",
        "officer": "Phạm Văn Minh, Cục Thuế tỉnh Quảng Ninh",
        "legal_basis": "Điều 11 Nghị định 13/2023/NĐ-CP",
        "consent_ref": "",
    }, {
        "procedure_code": "2.000575.000.00.00.H40",
        "dossier_code": "000.01.02.H40-261123-0007",
        "purpose": "Đăng ký thuế cho hộ kinh doanh của bà Nguyễn Thị Hương",
        "officer": "Lê Thị Mai, Cục Thuế tỉnh Quảng Ninh",
        "consent_ref": "Phiếu đồng ý chia sẻ dữ liệu số 0123/2026",
    }]})

    procedure_code: str = Field(min_length=1, max_length=40)
    dossier_code: str = Field(default="", max_length=60)
    purpose: str = Field(default="", max_length=500)
    officer: str = Field(default="", max_length=200)
    legal_basis: str = Field(default="", max_length=500)
    consent_ref: str = Field(default="", max_length=200)


def _request(owner_id: str, body: AgencyQuery) -> AgencyRequest:
    return AgencyRequest(owner_id=owner_id, **body.model_dump())


@router.post("/api/v1/agency/persons/{owner_id}/documents",
             response_model=list[StoreItemPublic], responses=_ERRORS)
def agency_query(owner_id: Annotated[str, PathParam(max_length=20)], body: AgencyQuery,
                 services: AppServices, who: CurrentUser) -> list[StoreItemPublic]:
    """Another agency asks which reusable documents a person has, for a named dossier,
    purpose and legal basis (or consent); the query is logged where the citizen sees it."""
    return [StoreItemPublic.of(i)
            for i in agency_documents(services.agency, who, _request(owner_id, body))]


@router.post("/api/v1/agency/persons/{owner_id}/documents/{ref}/file", responses=_ERRORS,
             response_class=Response)
def agency_file(owner_id: Annotated[str, PathParam(max_length=20)],
                ref: Annotated[str, PathParam(max_length=120)], body: AgencyQuery,
                services: AppServices, who: CurrentUser) -> Response:
    """Fetch one of those documents (its archival copy); logged for the citizen."""
    chosen = agency_fetch(services.agency, who, _request(owner_id, body), ref)
    return Response(services.blobs.get(chosen.sha256), media_type=chosen.media_type,
                    headers={"Content-Disposition":
                             f"attachment; filename={json.dumps(chosen.filename)}"})
