"""Verification for anyone, without logging in: upload a PDF to see whether its signatures
hold (who signed, the organisation's seal, when, whether the content is intact), or type an
e-result's code and check digest to open its public page (what the QR code opens)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, File, Query, Request, UploadFile
from fastapi.responses import Response

from api.pages.web import CsrfChecked, OptionalPageUser, PageServices, redirect, render
from api.routes.verify import MAX_VERIFY_BYTES
from api.verification import report_payload
from signing import VerificationOutcome, verify_pdf

router = APIRouter(include_in_schema=False)

_VERDICT_CLASS = {
    VerificationOutcome.ALL_PASSED: "ok",
    VerificationOutcome.PROBLEMS: "late",
    VerificationOutcome.NO_SIGNATURES: "warn",
}


def _form(request: Request, who: OptionalPageUser, *, errors: dict[str, str] | None = None,
          form: dict[str, str] | None = None, status_code: int = 200,
          **context: object) -> Response:
    return render(request, "pages/public/verify.html",
                  {"errors": errors or {}, "form": form or {}, **context},
                  user=who, status_code=status_code)


@router.get("/xac-minh")
def verify_form(request: Request, who: OptionalPageUser,
                ma: Annotated[str, Query(max_length=80)] = "",
                d: Annotated[str, Query(max_length=64)] = "") -> Response:
    """The form; with an e-result code and its check digest, their public page."""
    code, digest = ma.strip(), d.strip()
    if not code and not digest:
        return _form(request, who)
    errors = {}
    if not code:
        errors["ma"] = "Vui lòng nhập mã kết quả in trên văn bản."
    if not digest:
        errors["d"] = "Vui lòng nhập mã kiểm tra in cạnh mã QR."
    if errors:
        return _form(request, who, errors=errors, form={"ma": code, "d": digest},
                     status_code=422)
    return redirect(request, f"/xac-minh/{quote(code, safe='')}?d={quote(digest, safe='')}")


@router.post("/xac-minh", dependencies=[CsrfChecked])
def verify_upload(request: Request, services: PageServices, who: OptionalPageUser,
                  file: Annotated[UploadFile | None, File()] = None) -> Response:
    if file is None or not file.filename:
        return _form(request, who, errors={"file": "Vui lòng chọn tệp PDF cần kiểm tra."},
                     status_code=422)
    data = file.file.read(MAX_VERIFY_BYTES + 1)
    if len(data) > MAX_VERIFY_BYTES:
        return _form(request, who, errors={"file": "Tệp vượt quá 50 MB."}, status_code=413)
    report = verify_pdf(data, validation=services.trust.validation())
    if report.outcome is VerificationOutcome.NOT_A_PDF:
        return _form(request, who, errors={"file": report.message}, status_code=422)
    return _form(request, who, report=report_payload(report), filename=file.filename,
                 verdict_class=_VERDICT_CLASS.get(report.outcome, "warn"))
