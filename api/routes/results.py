"""E-results: draft, the signer's and the seal custodian's queues, batch signing, download."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi import Path as PathParam
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from api.deps import AppServices, CurrentUser
from api.schemas import ErrorPublic
from records.model import Result
from records.result_reads import open_result, queue
from records.results import BatchItem, DraftRequest, draft_result, seal_results, sign_results

router = APIRouter(tags=["results"])

_ERRORS: dict[int | str, dict[str, object]] = {
    code: {"model": ErrorPublic} for code in (401, 403, 404, 409, 422)
}
Code = Annotated[str, PathParam(min_length=1, max_length=80)]


class DraftCreate(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "subject": "Về việc cấp Giấy chứng nhận quyền sử dụng đất cho bà Nguyễn Thị Hương",
        "body": ["Cấp Giấy chứng nhận quyền sử dụng đất thửa đất số 125, tờ bản đồ số 07."],
        "signer": "lanhdao",
    }]})

    subject: str = Field(min_length=1, max_length=500)
    body: list[Annotated[str, Field(max_length=4000)]] = Field(min_length=1, max_length=50)
    recipients: list[Annotated[str, Field(max_length=300)]] = Field(
        default_factory=lambda: ["Như trên;", "Lưu: VT."], max_length=20)
    signer: str | None = Field(default=None, max_length=80)
    signer_title_lines: list[Annotated[str, Field(max_length=100)]] = Field(
        default_factory=lambda: ["KT. GIÁM ĐỐC", "PHÓ GIÁM ĐỐC"], min_length=1, max_length=4)


class ResultPublic(BaseModel):
    code: str
    number: str
    issue_date: date
    title: str
    result_type: str
    status: str
    page_count: int
    signer_name: str
    signed_by: str | None
    signed_at: datetime | None
    sealed_by: str | None
    sealed_at: datetime | None
    sha256: str

    @classmethod
    def of(cls, r: Result) -> ResultPublic:
        return cls(code=r.code, number=r.number, issue_date=r.issue_date, title=r.title,
                   result_type=r.result_type, status=r.status.value, page_count=r.page_count,
                   signer_name=r.signer_name, signed_by=r.signed_by, signed_at=r.signed_at,
                   sealed_by=r.sealed_by, sealed_at=r.sealed_at, sha256=r.blob_sha256)


class BatchCreate(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"codes": ["KQ-000.00.15.H40-2026-000001", "KQ-000.00.15.H40-2026-000002"],
         "pin": "123456"},
        {"codes": ["KQ-000.00.15.H40-2026-000001"]},
    ]})

    codes: list[Annotated[str, Field(min_length=1, max_length=80)]] = Field(
        min_length=1, max_length=200)
    pin: str | None = Field(default=None, max_length=128,
                            description="The token PIN or key passphrase, entered once")


class BatchItemPublic(BaseModel):
    code: str
    ok: bool
    error_code: str | None
    message: str | None


class BatchPublic(BaseModel):
    signed: int
    failed: int
    items: list[BatchItemPublic]

    @classmethod
    def of(cls, items: list[BatchItem]) -> BatchPublic:
        return cls(signed=sum(i.ok for i in items), failed=sum(not i.ok for i in items),
                   items=[BatchItemPublic(code=i.code, ok=i.ok, error_code=i.error_code,
                                          message=i.message) for i in items])


@router.post("/api/v1/dossiers/{code}/result", status_code=201, response_model=ResultPublic,
             responses=_ERRORS)
def draft(code: Annotated[str, PathParam(max_length=60)], body: DraftCreate,
          services: AppServices, who: CurrentUser) -> ResultPublic:
    """The handler drafts the result from the template; it gets its number and date."""
    result = draft_result(services.results, who, code, DraftRequest(
        subject=body.subject, body=tuple(body.body), recipients=tuple(body.recipients),
        signer=body.signer, signer_title_lines=tuple(body.signer_title_lines)))
    return ResultPublic.of(result)


@router.get("/api/v1/dossiers/{code}/result", response_model=ResultPublic, responses=_ERRORS)
def read(code: Annotated[str, PathParam(max_length=60)], services: AppServices,
         who: CurrentUser) -> ResultPublic:
    """The dossier's result: its number, date and how far it is signed and sealed (the PDF
    is at ``/api/v1/results/{code}/file``)."""
    return ResultPublic.of(open_result(services.results, who, dossier_code=code,
                                       download=False).result)


@router.get("/api/v1/results/{code}/file", responses=_ERRORS,
            response_class=Response)
def download(code: Code, services: AppServices, who: CurrentUser) -> Response:
    """The result PDF as it stands (draft, signed, or sealed)."""
    found = open_result(services.results, who, code=code)
    return Response(services.blobs.get(found.sha256), media_type="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{code}.pdf"'})


@router.get("/api/v1/results", response_model=list[ResultPublic], responses=_ERRORS)
def awaiting(services: AppServices, who: CurrentUser,
             stage: Annotated[Literal["sign", "seal"], Query()]) -> list[ResultPublic]:
    """The signer's queue (``stage=sign``) or the seal custodian's (``stage=seal``)."""
    return [ResultPublic.of(r) for r in queue(services.results, who, stage)]


@router.post("/api/v1/results/sign", response_model=BatchPublic, responses=_ERRORS)
def sign(body: BatchCreate, services: AppServices, who: CurrentUser) -> BatchPublic:
    """Sign one or many results with the signer's personal certificate (PIN once)."""
    return BatchPublic.of(sign_results(services.results, who, body.codes, secret=body.pin))


@router.post("/api/v1/results/seal", response_model=BatchPublic, responses=_ERRORS)
def seal(body: BatchCreate, services: AppServices, who: CurrentUser) -> BatchPublic:
    """Apply the agency's organisational certificate (second seal) to signed results."""
    return BatchPublic.of(seal_results(services.results, who, body.codes, secret=body.pin))
