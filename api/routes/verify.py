"""Verification anyone can use: the page a result's QR code opens, and upload-to-verify."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Query, Request, UploadFile
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.templating import Jinja2Templates

from api.deps import AppServices
from api.errors import error_response
from api.schemas import ErrorPublic
from api.verification import ReportCache, report_payload
from records.errors import NotFound
from records.result_reads import public_result
from signing import VerificationOutcome, verify_pdf

router = APIRouter(tags=["verification"])
templates = Jinja2Templates(directory=Path(__file__).resolve().parent.parent / "templates")

MAX_VERIFY_BYTES = 50 * 1024 * 1024


def _report_cache(request: Request, services: AppServices) -> ReportCache:
    """One cache per application (a test's app never sees another's reports), timed by the
    service's clock (validation moved to another day is validation afresh)."""
    cache: ReportCache | None = getattr(request.app.state, "verification_cache", None)
    if cache is None:
        clock = services.clock
        cache = request.app.state.verification_cache = ReportCache(
            clock=lambda: clock.now().timestamp())
    return cache


def _wants_json(request: Request, format_: str | None) -> bool:
    return format_ == "json" or "application/json" in request.headers.get("accept", "")


@router.get("/xac-minh/{code}", response_class=HTMLResponse,
            responses={404: {"model": ErrorPublic}, 422: {"model": ErrorPublic}})
def check_result(
    request: Request,
    code: Annotated[str, PathParam(max_length=80)],
    services: AppServices,
    d: Annotated[str, Query(max_length=64, description="the digest printed in the QR code")],
    format_: Annotated[str | None, Query(alias="format", max_length=10)] = None,
) -> Response:
    """What the QR code on a result opens: the result's public facts and its signatures,
    never the document itself."""
    try:
        found = public_result(services.results, code, d)
    except NotFound as exc:
        if _wants_json(request, format_):
            return error_response(404, exc.code, exc.message)
        return templates.TemplateResponse(request, "verify.html", {
            "result": None, "message": exc.message}, status_code=404)
    payload = _report_cache(request, services).payload(
        services.blobs.get(found.result.blob_sha256),
        lambda pdf: verify_pdf(pdf, validation=services.trust.validation()))
    if _wants_json(request, format_):
        result = found.result
        return JSONResponse({
            "code": result.code, "number": result.number,
            "issue_date": result.issue_date.isoformat(), "result_type": result.result_type,
            "title": result.title, "agency": found.agency_name, **payload})
    return templates.TemplateResponse(request, "verify.html", {
        "result": found.result, "agency": found.agency_name, "verdict": payload["outcome"],
        "message": payload["message"], "signatures": payload["signatures"]})


@router.post("/api/v1/verify", responses={413: {"model": ErrorPublic},
                                          422: {"model": ErrorPublic}},
             openapi_extra={"requestBody": {"content": {"multipart/form-data": {"examples": {
                 "result": {"summary": "Quyết định cấp Giấy chứng nhận quyền sử dụng đất đã "
                                       "ký số, tải về từ Cổng dịch vụ công",
                            "value": {"file": "KQ-000.00.15.H40-2026-000001.pdf"}}}}}}})
def verify_upload(services: AppServices,
                  file: Annotated[UploadFile, File(description="A signed PDF")]) -> Any:
    """Upload a PDF and see whether it is genuine: who signed it, for which agency, when."""
    data = file.file.read(MAX_VERIFY_BYTES + 1)
    if len(data) > MAX_VERIFY_BYTES:
        return error_response(413, "file_too_large", "Tệp vượt quá 50 MB.", "file")
    report = verify_pdf(data, validation=services.trust.validation())
    if report.outcome is VerificationOutcome.NOT_A_PDF:
        return error_response(422, "not_a_pdf", report.message, "file")
    return report_payload(report)
