"""Every error leaves the API as ``{"error": {"code", "message", "field"}}`` with a stable
code and a Vietnamese message."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from records.adapters.blob_fs import BlobStoreFull
from records.errors import DomainError, Unauthenticated
from records.ports import BlobStoreUnavailable

__all__ = ["error_response", "install_error_handlers", "is_page"]

log = logging.getLogger(__name__)

_HTTP_MESSAGES = {
    404: ("not_found", "Không tìm thấy trang hoặc tài nguyên yêu cầu."),
    405: ("method_not_allowed", "Phương thức không được hỗ trợ."),
    413: ("too_large", "Dữ liệu gửi lên quá lớn."),
}


def error_response(status: int, code: str, message: str, field: str | None = None,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(status_code=status, headers=headers,
                        content={"error": {"code": code, "message": message, "field": field}})


def is_page(request: Request) -> bool:
    """Pages answer in HTML; the API (and the interactive docs) in JSON."""
    path = request.url.path
    return not (path.startswith("/api/") or path in {"/openapi.json", "/docs", "/redoc"})


def _page_error(request: Request, status: int, message: str) -> Response:
    from api.pages.web import render

    return render(request, "pages/error.html", {"message": message, "status": status},
                  status_code=status)


def install_error_handlers(app: FastAPI) -> None:
    from api.pages.web import LoginRequired, login_redirect

    @app.exception_handler(LoginRequired)
    async def _login(request: Request, exc: LoginRequired) -> Response:
        return login_redirect(request, exc)

    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> Response:
        if is_page(request):
            return _page_error(request, exc.http_status, exc.message)
        headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, Unauthenticated) else None
        return error_response(exc.http_status, exc.code, exc.message, exc.field, headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        first = exc.errors()[0] if exc.errors() else {}
        # Positions (ints) locate a character of malformed JSON, not a field.
        location = [part for part in first.get("loc", ())
                    if isinstance(part, str) and part != "body"]
        field = location[-1] if location else None
        if is_page(request):
            return _page_error(request, 422, "Dữ liệu gửi lên không hợp lệ. Vui lòng kiểm tra "
                               "lại biểu mẫu.")
        return error_response(422, "invalid_request",
                              f"Dữ liệu không hợp lệ ở trường «{field}»." if field
                              else "Dữ liệu gửi lên không hợp lệ.", field)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        code, message = _HTTP_MESSAGES.get(exc.status_code, ("http_error", "Yêu cầu không hợp "
                                                              "lệ."))
        if is_page(request):
            return _page_error(request, exc.status_code, message)
        return error_response(exc.status_code, code, message)

    @app.exception_handler(BlobStoreUnavailable)
    async def _storage(request: Request, exc: BlobStoreUnavailable) -> Response:
        log.warning("blob store unavailable: %s", exc)
        message = "Kho lưu trữ tạm thời không truy cập được. Vui lòng thử lại sau ít phút."
        if is_page(request):
            return _page_error(request, 503, message)
        return error_response(503, "storage_unavailable", message,
                              headers={"Retry-After": "30"})

    @app.exception_handler(BlobStoreFull)
    async def _full(request: Request, exc: BlobStoreFull) -> Response:
        # RFC 4918 §11.5: 507 Insufficient Storage; the client may send it again later.
        log.error("blob volume full: %s", exc)
        message = ("Kho lưu trữ đã hết dung lượng, tệp chưa được lưu. Vui lòng báo quản trị "
                   "hệ thống và thử lại sau.")
        if is_page(request):
            return _page_error(request, 507, message)
        return error_response(507, "storage_full", message, headers={"Retry-After": "300"})
